"""`score --coverage`, the API's `coverage=True`, and the low-coverage warning (issue 34)."""
import csv
import gzip
import io
import json

import pytest
from support.cli import invoke

import trecvid_fpig as tf
from trecvid_fpig.evaluate.coverage import coverage
from trecvid_fpig.formats.qrels import load_qrels
from trecvid_fpig.formats.runs import read_any_run

POOL_COLUMNS = ["pooled@10", "pooled@100", "pooled@1000", "judged@10", "judged@100", "judged@1000",
                "unpooled_ret", "infAP_condensed"]


@pytest.fixture(scope="module")
def run_b(data_dir):
    return str(data_dir / "tv21.runB.txt.gz")


@pytest.fixture
def low_run(data_dir, tmp_path):
    """runA (all of it pooled) under 100 shots no one pooled a topic: pooled@100 = 0, and the
    condensed run is runA itself."""
    lines = gzip.open(data_dir / "tv21.runA.txt.gz", "rt").read().splitlines()
    topics = sorted({line.split()[0] for line in lines})
    unpooled = [f"{t} Q0 shot99999_{i} 0 {5000 - i} LOW" for t in topics for i in range(1, 101)]
    path = tmp_path / "low.txt"
    path.write_text("\n".join(unpooled + lines) + "\n")
    return str(path)


@pytest.mark.parametrize("fmt", ["json", "csv"])
def test_coverage_columns_carry_the_coverage_per_run_and_per_topic(run_b, fmt):
    want = coverage(read_any_run(run_b), load_qrels("tv21"))
    out = invoke("score", "--qrels", "tv21", "--coverage", "-q", "--format", fmt, run_b).stdout
    rows = json.loads(out)["rows"] if fmt == "json" else list(csv.DictReader(io.StringIO(out)))
    assert [r["topic"] for r in rows] == [t.topic for t in want.topics] + ["all"]
    for row, expected in zip(rows, [want.values(t) for t in want.topics] + [want.values()]):
        assert {c: float(row[c]) for c in POOL_COLUMNS} == pytest.approx(expected, abs=0, rel=0)
    assert float(rows[-1]["infAP_condensed"]) > float(rows[-1]["infAP"])   # runB leaves the pool


def test_table_and_markdown_add_the_columns_only_when_asked(run_b):
    plain = invoke("score", "--qrels", "tv21", run_b).stdout.splitlines()[0].split()
    assert not set(POOL_COLUMNS) & set(plain)
    table = invoke("score", "--qrels", "tv21", "--coverage", run_b).stdout.splitlines()
    assert table[0].split() == plain[:-1] + POOL_COLUMNS + ["topics"]
    md = invoke("score", "--qrels", "tv21", "--coverage", "--format", "markdown", run_b).stdout
    assert "| pooled@10 | pooled@100 |" in md and "| 250.0000 |" in md


def test_sample_eval_refuses_coverage_and_stays_nist(run_b, data_dir):
    result = invoke("score", "--qrels", "tv21", "--coverage", "--format", "sample-eval", run_b, ok=False)
    assert result.exit_code == 2 and "--coverage cannot be printed in --format sample-eval" in result.output
    plain = invoke("score", "--qrels", "tv21", "--format", "sample-eval", run_b).stdout
    assert plain == (data_dir / "tv21.runB.sample_eval.out").read_text()


def test_low_coverage_warns_in_one_line_with_the_condensed_figure(low_run, data_dir):
    [row] = json.loads(invoke("score", "--qrels", "tv21", "--coverage", "--format", "json",
                              low_run).stdout)["rows"]
    assert row["pooled@100"] == 0.0 and f"{row['infAP_condensed']:.4f}" == "0.0866"   # runA's, as NIST
    for args in ([], ["--coverage"], ["--format", "sample-eval"]):
        result = invoke("score", "--qrels", "tv21", *args, low_run)
        warnings = [line for line in result.stderr.splitlines() if "pooled@100" in line]
        assert warnings == [f"fpig-trecvid: warning: {low_run}: mean pooled@100 is 0.00 (below 0.5): "
                            f"infAP {row['infAP']:.4f} underestimates this run; infAP_condensed 0.0866"]
    assert "infAP\t\tall\t\t0.0866" in (data_dir / "tv21.runA.sample_eval.out").read_text()


def test_well_pooled_runs_do_not_warn(run_b, data_dir):
    result = invoke("score", "--qrels", "tv21", str(data_dir / "tv21.runA.txt.gz"), run_b)
    assert "pooled@100" not in result.stderr


def test_api_coverage_columns(run_b):
    frame = tf.score(run_b, "tv21", coverage=True)
    assert list(frame.columns[9:17]) == POOL_COLUMNS
    want = coverage(read_any_run(run_b), load_qrels("tv21")).values()
    assert frame.loc[0, POOL_COLUMNS].to_dict() == want
    per_topic = tf.score(run_b, "tv21", coverage=True, per_topic=True)
    assert list(per_topic.columns[10:18]) == POOL_COLUMNS and (per_topic["unpooled_ret"] == 250).all()
    assert "pooled@10" not in tf.score(run_b, "tv21").columns
    with pytest.raises(tf.InputError, match="coverage"):
        tf.score(run_b, "tv21", coverage="yes")
