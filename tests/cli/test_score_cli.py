"""`fpig-trecvid score` and `topics`: formats, --strict, trec_eval measures, bad input at the CLI."""
import csv
import io
import json
import subprocess
import sys

import pytest
from click.testing import CliRunner
from support.sample_eval import nist_all

from trecvid_fpig.cli import cli
from trecvid_fpig.evaluate.score import score_runs
from trecvid_fpig.formats.qrels import load_qrels


def invoke(*args):
    return CliRunner().invoke(cli, list(args))


@pytest.fixture(scope="module")
def runs(data_dir):
    return [str(data_dir / "tv21.runA.txt.gz"), str(data_dir / "tv21.runB.txt.gz")]


def test_json_and_csv_carry_the_reference_values(runs, data_dir):
    result = invoke("score", "--qrels", "tv21", "--format", "json", *runs)
    assert result.exit_code == 0, result.output
    rows = json.loads(result.stdout)["rows"]
    for row, name in zip(rows, ["tv21.runA", "tv21.runB"]):
        ref = nist_all(data_dir, name)
        for measure in ("infAP", "infNDCG", "iP10", "iP100", "iP1000", "inum_rel", "inum_rel_ret"):
            assert round(row[measure], 4) == ref[measure]
        assert row["num_ret"] == ref["num_ret"] and row["topics"] == 20
    table = list(csv.DictReader(io.StringIO(invoke("score", "--qrels", "tv21", "--format", "csv", *runs).stdout)))
    assert [float(r["infAP"]) for r in table] == [r["infAP"] for r in rows]       # full precision
    assert [float(r["inum_rel"]) for r in table] == [r["inum_rel"] for r in rows]


def test_per_topic_csv_and_json_carry_every_field_and_the_all_row(runs, data_dir):
    reference = {}
    for line in (data_dir / "tv21.runA.sample_eval_q.out").read_text().splitlines():
        key, topic, value = line.split()
        reference.setdefault(topic, {})[key] = float(value)
    for fmt in ("json", "csv"):
        output = invoke("score", "--qrels", "tv21", "-q", "--format", fmt, runs[0]).output
        rows = (json.loads(output)["rows"] if fmt == "json"
                else list(csv.DictReader(io.StringIO(output))))
        assert [r["topic"] for r in rows] == [str(t) for t in range(1661, 1681)] + ["all"]
        for row in rows:
            ref = reference[row["topic"]]
            for field in ("infAP", "infNDCG", "iP10", "iP100", "iP1000", "inum_rel", "inum_rel_ret"):
                assert round(float(row[field]), 4) == ref[field]
            assert int(row["num_ret"]) == ref["num_ret"]
    table = invoke("score", "--qrels", "tv21", "-q", runs[0]).output
    assert all(len(cell.split(".")[1]) == 4 for cell in table.splitlines()[2].split()[2:7])


def test_sample_eval_of_several_runs_separates_identical_blocks(runs, data_dir):
    one = invoke("score", "--qrels", "tv21", "--format", "sample-eval", runs[0]).output
    assert one == (data_dir / "tv21.runA.sample_eval.out").read_text()
    both = invoke("score", "--qrels", "tv21", "--format", "sample-eval", *runs).output
    assert both == "".join(f"# RUN {run}\n" + (data_dir / f"{name}.sample_eval.out").read_text()
                           for run, name in zip(runs, ["tv21.runA", "tv21.runB"]))


def test_per_topic_rows_match_q_output(runs, data_dir):
    result = invoke("score", "--qrels", "tv21", "-q", "--format", "json", runs[0])
    rows = json.loads(result.stdout)["rows"]
    assert [r["topic"] for r in rows] == [str(t) for t in range(1661, 1681)] + ["all"]
    rows = rows[:-1]
    ref = [line.split()[-1] for line in (data_dir / "tv21.runA.sample_eval_q.out").read_text().splitlines()
           if line.startswith("infAP") and "all" not in line]
    assert [f"{r['infAP']:.4f}" for r in rows] == ref


def test_human_and_markdown_tables(runs):
    table = invoke("score", "--qrels", "tv21", *runs).stdout.splitlines()
    assert table[0].split() == ["run", "infAP", "infNDCG", "iP10", "iP100", "iP1000", "inum_rel",
                                "inum_rel_ret", "num_ret", "topics"]
    assert len(table) == 4 and "0.0866" in table[2] and "0.1945" in table[3]
    md = invoke("score", "--qrels", "tv21", "--format", "markdown", *runs).stdout.splitlines()
    assert md[0].startswith("| run | infAP") and md[1].startswith("|---|---:")


def test_strict_lists_violations_and_scores_missing_topics_zero(tmp_path, data_dir):
    lines = [line for line in
             __import__("gzip").open(data_dir / "tv21.runB.txt.gz", "rt").read().splitlines()
             if not line.startswith("1680")]
    lines.append(lines[0])                                  # a repeated shot
    path = tmp_path / "sub.txt"
    path.write_text("\n".join(lines) + "\n")
    result = CliRunner().invoke(cli, ["score", "--qrels", "tv21", "--strict", "--format", "json", str(path)])
    assert result.exit_code == 1
    assert f"{path}: 1 topic(s) of the qrels missing: 1680" in result.stderr
    assert f"{path}: line 1001: topic 1661 has more than 1000 shots from here on" in result.stderr
    assert f"{path}: line {len(lines)}: shot {lines[0].split()[2]} repeats line 1 in topic" \
        in result.stderr
    strict = json.loads(result.stdout)["rows"][0]
    lenient = json.loads(invoke("score", "--qrels", "tv21", "--format", "json", str(path)).stdout)["rows"][0]
    assert strict["topics"] == 20 and lenient["topics"] == 19
    assert strict["infAP"] == pytest.approx(lenient["infAP"] * 19 / 20)


def test_trec_measures_through_ir_measures(data_dir):
    import ir_measures
    qrels = load_qrels("tv21")
    [scored] = score_runs(qrels, [data_dir / "tv21.runA.txt.gz"], measures=["AP", "P@10"])
    judged = {t: {s: int(g > 0) for s, g in zip(tj.rows, tj.grade) if g >= 0} for t, tj in qrels.topics.items()}
    ranking = {t: {s: -i for i, s in enumerate(r.shots[:1000])} for t, r in scored.run.topics.items()}
    expected = ir_measures.calc_aggregate([ir_measures.AP, ir_measures.P @ 10], judged, ranking)
    assert scored.trec_means["AP"] == pytest.approx(expected[ir_measures.AP])
    assert scored.trec_means["P@10"] == pytest.approx(expected[ir_measures.P @ 10])
    result = invoke("score", "--qrels", "tv21", "--measure", "Bogus@@", str(data_dir / "tv21.runA.txt.gz"))
    assert result.exit_code == 2 and "unknown trec_eval measure 'Bogus@@'" in result.output


@pytest.mark.parametrize("content,needle", [
    ("1661 Q0 shot00001_1 1 0.5\n", ":1: expected 6 whitespace-separated fields"),
    ("1661 Q0 shot00001_1 1 x T\n", ":1: score (column 5) must be a finite number, got 'x'"),
    ("", "empty run file"),
    ("9999 Q0 shot00001_1 1 1 T\n", "none of the run's topics (9999) is in the qrels"),
])
def test_bad_runs_exit_2_without_traceback(tmp_path, content, needle):
    path = tmp_path / "bad.txt"
    path.write_text(content)
    result = subprocess.run([sys.executable, "-m", "trecvid_fpig", "score", "--qrels", "tv21", str(path)],
                            capture_output=True, text=True)
    assert result.returncode == 2
    assert needle in result.stderr and str(path) in result.stderr
    assert "Traceback" not in result.stderr and result.stdout == ""


def test_missing_qrels_and_runs(tmp_path):
    assert invoke("score", "--qrels", str(tmp_path / "nope"), str(tmp_path)).exit_code == 2
    result = invoke("score", "--qrels", "tv20", str(tmp_path / "run.txt"))
    assert result.exit_code == 2 and "fpig-trecvid qrels fetch tv20" in result.output


def test_topics_list():
    out = invoke("topics", "list", "tv19").output.splitlines()
    assert len(out) == 30 and out[0].split("\t")[:2] == ["611", "1611"]
    assert "tv23" in invoke("topics", "list").output


@pytest.mark.slow       # a process pool
def test_parallel_scoring_equals_serial_and_reports_bad_file(tmp_path, runs):
    qrels = load_qrels("tv21")
    serial = score_runs(qrels, runs * 2, workers=1)
    parallel = score_runs(qrels, runs * 2, workers=2)
    assert [s.result for s in serial] == [s.result for s in parallel]
    bad = tmp_path / "bad.txt"
    bad.write_text("1661 Q0 shot00001_1 1 0.5 T\n1661 Q0 shot00001_2 1 zero T\n")
    from trecvid_fpig.errors import InputError
    with pytest.raises(InputError) as err:
        score_runs(qrels, [runs[0], str(bad)], workers=2)
    assert (err.value.path, err.value.line) == (str(bad), 2)


def test_a_bad_run_on_standard_input_is_named_and_the_others_are_scored(runs):
    from support.cli import runner

    result = runner().invoke(cli, ["score", "--qrels", "tv21", "--format", "csv", runs[0], "-",
                                   runs[1]], input="garbage line\n")
    assert result.exit_code == 2
    scored = [line.split(",")[0] for line in result.stdout.splitlines()[1:]]
    assert scored == runs
    assert "-:1: expected 6 whitespace-separated fields" in result.stderr
    assert "(this run is not scored above)" in result.stderr


def test_trec_measure_named_like_ours_gets_its_own_column(data_dir):
    path = str(data_dir / "tv21.runA.txt.gz")
    rows = json.loads(invoke("score", "--qrels", "tv21", "--format", "json", "--measure", "infAP", path).output)["rows"]
    assert round(rows[0]["infAP"], 4) == nist_all(data_dir, "tv21.runA")["infAP"]
    assert "infAP (trec_eval)" in rows[0] and rows[0]["infAP (trec_eval)"] != rows[0]["infAP"]


def test_score_and_help_keep_heavy_libraries_unloaded(data_dir):
    """`score` must start fast: no torch, open_clip, pandas, pyarrow, scipy or matplotlib."""
    code = ("import sys\nfrom click.testing import CliRunner\nfrom trecvid_fpig.cli import cli\n"
            f"assert CliRunner().invoke(cli, ['score', '--qrels', 'tv21', {str(data_dir / 'tv21.runA.txt.gz')!r}]).exit_code == 0\n"
            "assert CliRunner().invoke(cli, ['--help']).exit_code == 0\n"
            "heavy = {'torch', 'open_clip', 'pandas', 'pyarrow', 'scipy', 'matplotlib', 'transformers'}\n"
            "print(sorted(heavy & set(sys.modules)))\n")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "[]"
