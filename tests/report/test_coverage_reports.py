"""Pool coverage in the reports (issue 34): `tables` marks a cell whose run the pool barely covers
and explains the mark in a footnote; `compare --coverage` sets both runs' coverage beside each pair."""
import csv
import gzip
import io
import json

import pytest
from support.cli import invoke

from trecvid_fpig.evaluate.coverage import coverage
from trecvid_fpig.formats.qrels import load_qrels
from trecvid_fpig.formats.runs import read_any_run


@pytest.fixture(scope="module")
def low_run(data_dir, tmp_path_factory):
    """tv21 runA under 100 unpooled shots a topic: mean pooled@100 is 0."""
    lines = gzip.open(data_dir / "tv21.runA.txt.gz", "rt").read().splitlines()
    topics = sorted({line.split()[0] for line in lines})
    path = tmp_path_factory.mktemp("low") / "low.txt"
    path.write_text("\n".join([f"{t} Q0 shot99999_{i} 0 {5000 - i} LOW" for t in topics
                               for i in range(1, 101)] + lines) + "\n")
    return path


def _manifest(tmp_path, data_dir, tv21_b):
    path = tmp_path / "m.toml"
    path.write_text(f'''
[[model]]
name = "A"
trecvid.tv21 = "{(data_dir / 'tv21.runA.txt.gz').as_posix()}"
trecvid.tv23 = "{(data_dir / 'tv23.runA.txt.gz').as_posix()}"

[[model]]
name = "B"
trecvid.tv21 = "{tv21_b.as_posix()}"
trecvid.tv23 = "{(data_dir / 'tv23.runB.txt.gz').as_posix()}"
''')
    return path


def test_tables_mark_a_low_coverage_cell_and_explain_it(tmp_path, data_dir, low_run):
    manifest = _manifest(tmp_path, data_dir, low_run)
    pool = coverage(read_any_run(low_run), load_qrels("tv21"))
    md = invoke("tables", manifest, "--years", "tv21,tv23").stdout
    [b_row] = [line for line in md.splitlines() if line.startswith("| B |")]
    cells = [c.strip() for c in b_row.strip("|").split("|")]
    assert cells[1].endswith("§") and not cells[2].endswith("§")        # TV21 marked, TV23 not
    [note] = [line for line in md.splitlines() if line.startswith("- §")]
    assert note.startswith(f"- § B TV21 (pooled@100 0.00, infAP_condensed {pool.infAP_condensed:.4f}): "
                           "mean pooled@100 below 0.5")
    assert "underestimates" in note
    latex = invoke("tables", manifest, "--years", "tv21,tv23", "--format", "latex").stdout
    assert r"\S{}" in latex and "% § B TV21" in latex
    tables = json.loads(invoke("tables", manifest, "--years", "tv21,tv23", "--format", "json",
                               ).stdout)["tables"]
    assert tables[0]["low_coverage"] == [[1, "TV21"]]
    result = invoke("tables", manifest, "--years", "tv21,tv23", "--format", "csv")
    assert "§" not in result.stdout and "s1: § B TV21" in result.stderr     # CSV keeps numbers


def test_tables_without_low_coverage_have_no_mark(tmp_path, data_dir):
    manifest = _manifest(tmp_path, data_dir, data_dir / "tv21.runB.txt.gz")
    for fmt in ("markdown", "latex", "table", "json"):
        out = invoke("tables", manifest, "--format", fmt, "--years", "tv21,tv23").stdout
        assert "§" not in out and r"\S{}" not in out and "low_coverage" not in out


def test_compare_coverage_sets_both_runs_coverage_beside_each_pair(data_dir, low_run):
    runs = [str(data_dir / "tv21.runA.txt.gz"), str(data_dir / "tv21.runB.txt.gz"), str(low_run)]
    qrels = load_qrels("tv21")
    want = {r: coverage(read_any_run(r), qrels) for r in runs}
    args = ("--qrels", "tv21", "--permutations", "200", "--bootstrap", "200", "--no-per-topic")
    rows = list(csv.DictReader(io.StringIO(invoke("compare", *args, "--coverage", "--format", "csv",
                                                  *runs).stdout)))
    assert len(rows) == 3
    names = {r.split("/")[-1]: r for r in runs}
    for row in rows:
        a, b = want[names[row["run A"]]], want[names[row["run B"]]]
        assert float(row["pooled@100 A"]) == pytest.approx(a.pooled[1])
        assert float(row["pooled@100 B"]) == pytest.approx(b.pooled[1])
        assert float(row["infAP_condensed A"]) == pytest.approx(a.infAP_condensed)
        assert float(row["infAP_condensed B"]) == pytest.approx(b.infAP_condensed)
    table = invoke("compare", *args, "--coverage", *runs).stdout
    assert "pooled@100 A" in table.splitlines()[0] and "infAP without the unpooled shots" in table
    plain = invoke("compare", *args, "--format", "json", *runs).stdout
    assert "pooled@100" not in plain
