"""Numbers made with private judgments in the reports (issue 35): `tables`, `compare` and `plot`
on a qrels written by `qrels merge` say so, with the line `score` prints, and the cell cache never
serves a merged file's numbers for its base qrels or the other way round."""
import csv
import gzip
import hashlib
import io
import json

import pytest
from support.cli import invoke
from support.pool import nist_ranking, qrels_pool

RUN_A, RUN_B = "tv21.runA.txt.gz", "tv21.runB.txt.gz"


@pytest.fixture
def merged(tmp_path, data_dir):
    """tv21 plus the first three unpooled shots of each topic of runB, judged relevant: the
    merged file, and the line score prints for it."""
    pool = qrels_pool("tv21")
    ranked = nist_ranking(gzip.open(data_dir / RUN_B, "rt").read().splitlines())
    extra = tmp_path / "mine.txt"
    extra.write_text("".join(f"{topic} {shot} 1\n" for topic, shots in ranked.items()
                             for shot in [s for s in shots if s not in pool[topic]][:3]))
    out = tmp_path / "merged.qrels"
    invoke("qrels", "merge", "tv21", extra, "--out", out)
    sha = hashlib.sha256(extra.read_bytes()).hexdigest()
    line = (f"scored with extra judgments: tv21 plus stratum 4 from {extra} (sha256 {sha}); "
            "not comparable with NIST's numbers unless these are shared")
    return out, line


def _infap(qrels, run):
    rows = json.loads(invoke("score", "--qrels", qrels, "--format", "json", run).stdout)["rows"]
    return rows[0]["infAP"]


def _manifest(tmp_path, data_dir, qrels_a):
    path = tmp_path / "m.toml"
    qrels = f'\nqrels = "{qrels_a}"' if qrels_a else ""
    path.write_text(f'''years = ["tv21"]

[[model]]
name = "A"
[model.trecvid.tv21]
run = "{(data_dir / RUN_B).as_posix()}"{qrels}

[[model]]
name = "B"
trecvid.tv21 = "{(data_dir / RUN_B).as_posix()}"
''')
    return path


def _md_cells(md, model):
    [row] = [line for line in md.splitlines() if line.startswith(f"| {model} |")]
    return [c.strip() for c in row.strip("|").split("|")]


def test_tables_mark_cells_scored_with_extra_judgments(tmp_path, data_dir, merged):
    out, line = merged
    manifest = _manifest(tmp_path, data_dir, out.name)
    first = invoke("tables", manifest).stdout
    assert invoke("tables", manifest).stdout == first          # the cached cells are marked too
    a, b = _md_cells(first, "A"), _md_cells(first, "B")
    assert a[1] == f"{_infap(out, data_dir / RUN_B):.3f}¶" and a[2].endswith("¶")  # TV21, Mean
    # not comparable: never the column's best (bold), though higher than B's
    assert b[1] == f"**{_infap('tv21', data_dir / RUN_B):.3f}**" and "¶" not in "".join(b)
    assert f"- ¶ A TV21, A Mean: {line}" in first.splitlines()
    latex = invoke("tables", manifest, "--format", "latex").stdout
    assert r"\P{}" in latex and f"% ¶ A TV21, A Mean: {line}" in latex
    [table] = json.loads(invoke("tables", manifest, "--format", "json").stdout)["tables"]
    assert table["extra_judgments"] == [[0, "Mean"], [0, "TV21"]]
    assert f"¶ A TV21, A Mean: {line}" in table["footnotes"]
    as_csv = invoke("tables", manifest, "--format", "csv")
    assert "¶" not in as_csv.stdout and f"fpig-trecvid: s1: ¶ A TV21, A Mean: {line}" in as_csv.stderr


def test_tables_without_extra_judgments_have_no_mark(tmp_path, data_dir):
    manifest = _manifest(tmp_path, data_dir, None)
    for fmt in ("markdown", "latex", "table", "json", "csv"):
        result = invoke("tables", manifest, "--format", fmt)
        assert "¶" not in result.stdout + result.stderr
        assert "extra judgments" not in result.stdout + result.stderr
        assert "extra_judgments" not in result.stdout


def test_the_cache_keeps_a_merged_file_and_its_base_apart(tmp_path, data_dir, merged):
    """Same run, same cache folder: the base's cached cell is not served for the merged file,
    nor the merged file's for the base."""
    out, _ = merged
    want = {None: _infap("tv21", data_dir / RUN_B), out.name: _infap(out, data_dir / RUN_B)}
    assert want[None] != want[out.name]
    for qrels in (None, out.name, None, out.name):
        manifest = _manifest(tmp_path, data_dir, qrels)
        [table] = json.loads(invoke("tables", manifest, "--format", "json").stdout)["tables"]
        assert table["rows"][0]["TV21"] == want[qrels]
        assert ("extra_judgments" in table) == (qrels is not None)
    assert list((tmp_path / ".fpig-cache").glob("xinfap-*.json"))


def test_compare_says_the_numbers_use_extra_judgments(data_dir, merged):
    out, line = merged
    args = ("--permutations", "100", "--bootstrap", "100", data_dir / RUN_A, data_dir / RUN_B)
    score_line = invoke("score", "--qrels", out, data_dir / RUN_A).stdout.splitlines()[0]
    assert score_line == line                                   # the one line, as score prints it
    assert invoke("compare", "--qrels", out, *args).stdout.splitlines()[0] == line
    md = invoke("compare", "--qrels", out, "--format", "markdown", *args).stdout
    assert md.splitlines()[0] == line
    assert invoke("compare", "--qrels", out, "--format", "latex", *args).stdout.startswith(
        f"% {line}\n")
    as_csv = invoke("compare", "--qrels", out, "--format", "csv", *args)
    assert as_csv.stderr.splitlines()[0] == f"fpig-trecvid: note: {line}"
    assert list(csv.reader(io.StringIO(as_csv.stdout)))[0][0] == "topic"      # data first
    meta = json.loads(invoke("compare", "--qrels", out, "--format", "json", *args).stdout)["meta"]
    assert meta["extra_qrels"] == json.loads(
        invoke("score", "--qrels", out, "--format", "json", data_dir / RUN_A).stdout
    )["meta"]["extra_qrels"]
    for fmt in ("table", "csv", "json", "markdown"):
        plain = invoke("compare", "--qrels", "tv21", "--format", fmt, *args)
        assert "extra judgments" not in plain.stdout + plain.stderr
        assert "extra_qrels" not in plain.stdout


def test_the_api_compare_lists_the_extra_judgments_as_score_does(data_dir, merged):
    import trecvid_fpig as tf

    out, _ = merged
    runs = [str(data_dir / RUN_A), str(data_dir / RUN_B)]
    pairs = tf.compare(runs, qrels=out, permutations=100, bootstrap=100)
    assert pairs.attrs["extra_qrels"] == tf.score(runs[0], str(out)).attrs["extra_qrels"]
    assert len(pairs.attrs["extra_qrels"]) == 1
    assert "extra_qrels" not in tf.compare(runs, qrels="tv21", permutations=100,
                                           bootstrap=100).attrs


@pytest.mark.slow
def test_plot_says_the_numbers_use_extra_judgments(tmp_path, data_dir, merged):
    out, line = merged
    result = invoke("plot", "topics", "--qrels", out, "--out", tmp_path / "fig", data_dir / RUN_A)
    assert f"fpig-trecvid: note: {line}" in result.stderr.splitlines()
    assert b"with extra judgments" in (tmp_path / "fig.svg").read_bytes()
    plain = invoke("plot", "topics", "--qrels", "tv21", "--out", tmp_path / "nist", data_dir / RUN_A)
    assert "extra judgments" not in plain.stderr
    assert b"extra judgments" not in (tmp_path / "nist.svg").read_bytes()
