"""`fpig-trecvid demo`: builds its workspace offline, runs tv21, prints the infAP table."""
import json
import xml.etree.ElementTree as ET

import pytest
from click.testing import CliRunner

from trecvid_fpig.cli import cli
from trecvid_fpig.evaluate.coverage import coverage
from trecvid_fpig.formats.qrels import load_qrels
from trecvid_fpig.formats.runs import read_any_run
from trecvid_fpig.formats.store import read_features


@pytest.mark.slow       # the whole demo: a checkpoint, a collection, a run and its score
def test_demo_runs_scores_and_says_it_is_synthetic(tmp_path):
    work = tmp_path / "ws"
    result = CliRunner().invoke(cli, ["demo", "--workdir", str(work), "--distractors", "500",
                                      "--format", "csv", "--quiet", "--no-video"])
    assert result.exit_code == 0, result.output
    assert "SYNTHETIC" in result.output and "video side" not in result.output
    assert not (work / "v3c1-mini.fpig").exists()           # --no-video leaves it out
    lines = result.output.splitlines()
    per_topic = [l.split(",") for l in lines if l.startswith("demo,16") or l.startswith("demo,17")]
    assert [row[1] for row in per_topic] == [str(t) for t in range(1661, 1681)]
    header = lines[lines.index(next(l for l in lines if l.startswith("run,topic")))]
    assert header.split(",")[:3] == ["run", "topic", "infAP"]
    assert next(l for l in lines if l.startswith("demo,all,"))          # as sample_eval.pl -q
    summary = next(l for l in lines if l.startswith("demo,") and l.split(",")[1] not in
                   {row[1] for row in per_topic} | {"all"}).split(",")
    mean_infap = float(summary[1])
    assert abs(mean_infap - sum(float(r[2]) for r in per_topic) / 20) < 1e-4
    assert 0.05 < mean_infap < 0.95        # planted: better than chance, not perfect

    # The workspace holds a real-layout checkpoint, a store with the whole TV21 pool, the run.
    qrels = load_qrels("tv21")
    store = read_features(work / "v3c1-synthetic.fpig")
    pool = {s for tj in qrels.topics.values() for s in tj.rows}
    assert pool <= set(store.ids) and store.count == len(pool) + 500
    assert (work / "model_best.pt").stat().st_size > 0
    run_dir = work / "runs" / "demo"
    assert len(ET.parse(run_dir / "tv21.xml").getroot()[0]) == 20
    sidecar = json.loads((run_dir / "tv21.json").read_text())
    assert sidecar["query"]["checkpoint_layout"] == "hf-clip"
    rescored = CliRunner().invoke(cli, ["score", "--qrels", "tv21", "--format", "csv",
                                        str(run_dir / "tv21.txt")])
    assert rescored.exit_code == 0
    assert f"{float(rescored.output.splitlines()[1].split(',')[1]):.4f}" == f"{mean_infap:.4f}"
    # its pool coverage: the distractors it ranks were never pooled
    [line] = [l for l in lines if l.startswith("pool coverage (")]
    pool_coverage = coverage(read_any_run(run_dir / "tv21.txt"), qrels)
    assert line.endswith(f"): {pool_coverage.summary()}") and pool_coverage.unpooled_ret > 0
