"""`fpig-trecvid tables`: Tables S1/S2 from a manifest, equal to what score and recall compute."""
import csv
import functools
import io
import json

import numpy as np
import pytest
from support import REPO
from support.cli import invoke

from trecvid_fpig.evaluate.recall import recall_metrics
from trecvid_fpig.evaluate.score import score_runs
from trecvid_fpig.formats.qrels import load_qrels
from trecvid_fpig.report import cells
from trecvid_fpig.report.published import load_published

PAPER = (REPO / "runs" / "paper.toml").as_posix()


@functools.lru_cache(maxsize=None)
def xinfap(data_dir, year, run):
    """What `score` reports for one shipped test run."""
    return score_runs(load_qrels(year), [data_dir / f"{year}.{run}.txt.gz"])[0].result.infAP


@pytest.fixture(scope="module")
def sims():
    rng = np.random.default_rng(0)
    return {"1k": rng.normal(size=(1000, 1000)).astype(np.float32),      # MSR-VTT 1k-A's shape
            "3k": rng.normal(size=(40, 20)).astype(np.float32)}


def write_manifest(tmp_path, data_dir, sims):
    np.save(tmp_path / "b3k.npy", sims["3k"])
    (tmp_path / "a1k.json").write_text(json.dumps(recall_metrics(sims["1k"], captions_per_video=1)))
    (tmp_path / "m.toml").write_text(f'''
published = "{PAPER}"

[baselines]
s1 = ["CLIP4Clip", "CLIP-ViP"]
s2 = ["X-CLIP", "PIG"]

[[model]]
name = "A"
paper = {{ s1 = "F-Pig", s2 = "PIG" }}
trecvid.tv21 = "{(data_dir / 'tv21.runA.txt.gz').as_posix()}"
trecvid.tv23 = "{(data_dir / 'tv23.runA.txt.gz').as_posix()}"
recall.msrvtt-1k = "a1k.json"

[[model]]
name = "B"
trecvid.tv21 = {{ run = "{(data_dir / 'tv21.runB.txt.gz').as_posix()}", qrels = "tv21" }}
trecvid.tv23 = "{(data_dir / 'tv23.runB.txt.gz').as_posix()}"
trecvid.tv19 = "missing.run.txt"
recall.msrvtt-3k = {{ sims = "b3k.npy", captions_per_video = 2 }}
''')
    return tmp_path / "m.toml"


@pytest.fixture(scope="module")
def manifest(tmp_path_factory, data_dir, sims):
    """Shared by tests that only read, so that its cache spares recomputing every cell."""
    return write_manifest(tmp_path_factory.mktemp("shared"), data_dir, sims)


@pytest.fixture
def fresh_manifest(tmp_path, data_dir, sims):
    return write_manifest(tmp_path, data_dir, sims)




def tables(*args, ok=True):
    return invoke("tables", *args, ok=ok)


def as_json(manifest, *args):
    return {t["key"]: t for t in json.loads(tables(manifest, "--format", "json", *args).stdout)["tables"]}


def row(table, model):
    return next(r for r in table["rows"] if r["Model"] == model)


def test_s1_cells_equal_score_and_mean_is_over_present_years(manifest, data_dir):
    s1 = as_json(manifest)["s1"]
    for model, run in (("A", "runA"), ("B", "runB")):
        a21, a23 = xinfap(data_dir, "tv21", run), xinfap(data_dir, "tv23", run)
        assert row(s1, model)["TV21"] == a21
        assert row(s1, model)["TV23"] == a23
        assert row(s1, model)["Mean"] == pytest.approx((a21 + a23) / 2, abs=1e-15)
        assert row(s1, model)["TV19"] is None and row(s1, model)["TV22"] is None
    assert row(s1, "CLIP4Clip")["TV21"] == 0.183 and row(s1, "CLIP4Clip")["Mean"] == 0.150


def test_s2_cells_equal_recall(manifest, sims):
    got = as_json(manifest)
    one_k = recall_metrics(sims["1k"], captions_per_video=1)
    three_k = recall_metrics(sims["3k"], captions_per_video=2)
    for k in ("R@1", "R@5", "R@10"):
        assert row(got["s2"], "A")[f"1k {k}"] == one_k["v2t"][k]
        assert row(got["s2-t2v"], "A")[f"1k {k}"] == one_k["t2v"][k]
        assert row(got["s2"], "B")[f"3k {k}"] == three_k["v2t"][k]
        assert row(got["s2-t2v"], "B")[f"3k {k}"] == three_k["t2v"][k]
        assert row(got["s2"], "A")[f"3k {k}"] is None
    assert row(got["s2"], "PIG")["1k R@1"] == 47.5


def markdown_rows(text):
    """{model: [cells]} of the first Markdown table in `text`, bold markers kept."""
    lines = [l for l in text.splitlines() if l.startswith("| ")]
    return {cells[0]: cells[1:] for cells in
            ([c.strip() for c in l.strip("|").split("|")] for l in lines[1:])}


def latex_rows(text):
    lines = text.split(r"\midrule", 1)[1].split(r"\bottomrule")[0].splitlines()
    return {cells[0]: cells[1:] for cells in
            ([c.strip() for c in l.rstrip(" \\").split("&")] for l in lines if "&" in l)}


@pytest.mark.parametrize("key,decimals", [("s1", 3), ("s2", 1), ("s2-t2v", 1)])
def test_three_formats_print_the_same_rounded_values(manifest, key, decimals):
    """Markdown, LaTeX and CSV show the JSON values (equal to score / recall, tested above)."""
    table = as_json(manifest, "--table", key)[key]
    md = markdown_rows(tables(manifest, "--table", key).stdout)
    tex = latex_rows(tables(manifest, "--table", key, "--format", "latex").stdout)
    csv_rows = {r["Model"]: r for r in csv.DictReader(io.StringIO(
        tables(manifest, "--table", key, "--format", "csv").stdout))}
    columns = table["columns"][1:]
    assert len(columns) == 6 and len(table["rows"]) >= 2
    for r in table["rows"]:
        for i, c in enumerate(columns):
            value = r[c]
            shown = "–" if value is None else f"{value:.{decimals}f}"
            assert md[r["Model"]][i].strip("*") == shown
            assert tex[r["Model"]][i].replace(r"\textbf{", "").rstrip("}") == shown.replace("–", "--")
            assert csv_rows[r["Model"]][c] == ("" if value is None else shown)


def test_best_per_column_is_bold(manifest, data_dir):
    md = markdown_rows(tables(manifest, "--table", "s1").stdout)
    b21 = xinfap(data_dir, "tv21", "runB")
    assert b21 > 0.183            # run B beats the published TV21 baselines
    assert md["B"][2] == f"**{b21:.3f}**"
    assert md["CLIP4Clip"][2] == "0.183"
    assert md["CLIP-ViP"][0] == "**0.143**"       # only baselines have TV19
    # a mean over two years is not comparable with a five-year mean: never bold
    assert not md["B"][5].startswith("**") and md["CLIP4Clip"][5] == "**0.150**"
    tex = tables(manifest, "--table", "s1", "--format", "latex").stdout
    assert rf"\textbf{{{b21:.3f}}}" in tex
    assert tex.count(r"\toprule") == 1 and tex.count(r"\bottomrule") == 1
    assert tex.count(r"\midrule") == 2            # under the header, and below the baselines


def test_missing_cells_print_a_dash_and_say_what_to_supply(manifest):
    out = tables(manifest, "--table", "s1").stdout
    assert "avs.qrels.tv19" in out and "avs.qrels.tv20" in out and "avs.qrels.tv22" in out
    resolved = (manifest.parent / "missing.run.txt").resolve()
    assert f"run file missing.run.txt (looked for {resolved}) not found" in out
    note = next(l for l in out.splitlines() if "TV20" in l and "avs.qrels.tv20" in l)
    assert note.startswith("- – A TV20, B TV20:")
    result = tables(manifest, "--table", "s1", "--format", "csv")
    assert "avs.qrels.tv19" in result.stderr and "avs.qrels" not in result.stdout
    s2 = tables(manifest, "--table", "s2").stdout
    assert "fpig-trecvid recall" in s2           # how to supply a missing R@K result


def test_against_paper_adds_published_value_and_difference(manifest, data_dir):
    s1 = as_json(manifest, "--against-paper")["s1"]
    a = row(s1, "A")
    assert a["TV21 (paper)"] == 0.216
    assert a["TV21 Δ"] == pytest.approx(xinfap(data_dir, "tv21", "runA") - 0.216, abs=1e-15)
    assert a["TV19 (paper)"] == 0.159 and a["TV19 Δ"] is None
    assert a["Mean (paper)"] == 0.173 and a["Mean Δ"] is None     # a two-year mean is not compared
    assert row(s1, "B")["TV21 (paper)"] is None                   # B names no published row
    assert any("B: no published row" in n for n in s1["footnotes"])
    s2 = as_json(manifest, "--against-paper")["s2"]
    assert row(s2, "A")["1k R@1 (paper)"] == 47.5
    assert row(s2, "A")["1k R@1 Δ"] == pytest.approx(row(s2, "A")["1k R@1"] - 47.5)
    md = tables(manifest, "--against-paper", "--table", "s1").stdout
    assert "| TV21 | TV21 (paper) | TV21 Δ |" in md


def test_output_file_is_deterministic_and_the_same_from_the_cache(manifest, tmp_path):
    tables(manifest, "--format", "latex", "--out", tmp_path / "one.tex", "--no-cache")
    tables(manifest, "--format", "latex", "--out", tmp_path / "two.tex")
    assert (tmp_path / "one.tex").read_bytes() == (tmp_path / "two.tex").read_bytes()
    assert (tmp_path / "one.tex").read_text().count(r"\begin{tabular}") == 3


def test_second_call_reads_the_cache_and_edits_invalidate_it(fresh_manifest, tmp_path, data_dir,
                                                             monkeypatch):
    manifest = fresh_manifest
    calls = []
    real = cells.score_run
    monkeypatch.setattr(cells, "score_run", lambda *a, **k: calls.append(1) or real(*a, **k))
    first = tables(manifest, "--format", "json").stdout
    assert len(calls) == 4
    cached = sorted(p.name for p in (tmp_path / ".fpig-cache").iterdir())
    assert len([c for c in cached if c.startswith("xinfap-")]) == 4
    assert len([c for c in cached if c.startswith("recall-")]) == 1
    assert tables(manifest, "--format", "json").stdout == first
    assert len(calls) == 4                                   # nothing recomputed
    # the same bytes under another name hit the cache; one changed byte does not
    copy = tmp_path / "copy.txt.gz"
    copy.write_bytes((data_dir / "tv21.runA.txt.gz").read_bytes())
    original = (data_dir / "tv21.runA.txt.gz").as_posix()
    manifest.write_text(manifest.read_text().replace(original, "copy.txt.gz"))
    tables(manifest, "--format", "json")
    assert len(calls) == 4
    import gzip
    text = gzip.decompress(copy.read_bytes()).decode().replace(" 1000 RUNA", " 1000.5 RUNA", 1)
    copy.write_text(text)
    tables(manifest, "--format", "json")
    assert len(calls) == 5
    tables(manifest, "--format", "json", "--no-cache")
    assert len(calls) == 9


def test_recall_matrix_is_cached(fresh_manifest, monkeypatch):
    manifest = fresh_manifest
    from trecvid_fpig.evaluate import recall
    calls = []
    real = recall.recall_from_files
    monkeypatch.setattr(recall, "recall_from_files", lambda **k: calls.append(1) or real(**k))
    tables(manifest, "--table", "s2")
    tables(manifest, "--table", "s2")
    assert calls == [1]


def test_corrupt_cache_entry_is_recomputed(fresh_manifest, tmp_path):
    manifest = fresh_manifest
    first = tables(manifest, "--format", "json", "--table", "s1").stdout
    for entry in (tmp_path / ".fpig-cache").iterdir():
        entry.write_text("{not json")
    assert tables(manifest, "--format", "json", "--table", "s1").stdout == first


def test_published_numbers_are_the_papers():
    """runs/paper.toml against Tables S1 and S2 as printed in the paper (copied in the issue)."""
    published = load_published(PAPER)
    s1 = {"CLIP4Clip": [0.142, 0.161, 0.183, 0.127, 0.139, 0.150],
          "CLIP-ViP": [0.143, 0.148, 0.175, 0.109, 0.088, 0.133],
          "F-Pig": [0.159, 0.186, 0.216, 0.158, 0.146, 0.173]}
    keys = ["tv19", "tv20", "tv21", "tv22", "tv23", "mean"]
    assert {n: [r[k] for k in keys] for n, r in published.tables["s1"].rows.items()} == s1
    for values in s1.values():                   # the published means agree with the years
        assert round(sum(values[:5]) / 5, 3) == values[5]
    s2 = {"CLIP4Clip": [41.4, 70.6, 80.5, 50.8, 78.5, 87.0], "TS2-Net": [41.4, 68.0, 77.8, 53.0, 82.5, 89.8],
          "X-CLIP": [43.4, 72.2, 82.6, 56.1, 84.3, 92.3], "CLIP-ViP": [44.5, 73.1, 81.7, 54.6, 84.1, 92.7],
          "TeachCLIP": [44.3, 73.6, 83.7, 55.2, 81.9, 90.3], "PIG": [47.5, 72.9, 82.2, 56.6, 84.5, 92.1]}
    keys = [f"msrvtt-{s} R@{k}" for s in ("1k", "3k") for k in (1, 5, 10)]
    assert {n: [r[k] for k in keys] for n, r in published.tables["s2"].rows.items()} == s2
    assert "LPD" in published.tables["s1"].source


def test_example_manifest_runs(tmp_path):
    """runs/example.toml, as the docs use it (its cache goes to a copy, not into the repo)."""
    import shutil
    shutil.copytree(REPO / "runs", tmp_path / "runs", ignore=shutil.ignore_patterns(".fpig-cache"))
    shutil.copytree(REPO / "tests" / "data", tmp_path / "tests" / "data")
    out = tables(tmp_path / "runs" / "example.toml", "--format", "csv").stdout
    assert out.splitlines()[0] == "Model,TV19,TV20,TV21,TV22,TV23,Mean"


@pytest.mark.parametrize("body,message", [
    ("[[model]]\nname = 'A'\ntrecvid.tv18 = 'x'\n", "unknown TRECVID year 'tv18'"),
    ("[[model]]\nname = 'A'\n[[model]]\nname = 'A'\n", "model name 'A' is used twice"),
    ("[[model]]\nname = 'A'\nrecall.msrvtt-1k = { result = 'a', sims = 'b' }\n", "exactly one of"),
    ("[[model]]\nname = 'A'\nrecall.msrvtt-1k = { sims = 'b' }\n", "captions_per_video"),
    ("[[model]]\nname = 'A'\nrecall.msrvtt-1k = { sims = 'b', captions_per_video = 'x' }\n", "whole number"),
    ("[[model]]\nname = 'A'\nrecall.didemo = 'a'\n", "unknown recall setting"),
    ("[[model]]\nnam = 'A'\n", "unknown key 'nam'"),
    ("colour = 1\n", "unknown key 'colour'"),
    ("[[model]]\nname = \n", "not valid TOML"),
    ("[baselines]\ns1 = ['Nobody']\n[[model]]\nname = 'A'\ntrecvid.tv21 = 'r'\n", "baseline 'Nobody'"),
    ("[baselines]\ns1 = ['F-Pig']\n[[model]]\nname = 'A'\npaper = 'Nobody'\ntrecvid.tv21 = 'r'\n",
     "'Nobody' names no row"),
    ("", "empty manifest"),
    ("[[model]]\nname = 'A'\n", "names no runs"),
])
def test_bad_manifest_is_one_clear_error(tmp_path, body, message):
    path = tmp_path / "bad.toml"
    path.write_text(f'published = "{PAPER}"\n' + body if body else "")
    result = tables(path, ok=False)
    assert result.exit_code == 2
    assert result.stderr.startswith("fpig-trecvid: error: ") and message in result.stderr
    assert str(path) in result.stderr and "Traceback" not in result.stderr


def test_malformed_run_is_an_error_not_a_dash(tmp_path):
    (tmp_path / "r.txt").write_text("1661 Q0 shot00001_1 1 high X\n")
    (tmp_path / "m.toml").write_text("[[model]]\nname = 'A'\ntrecvid.tv21 = 'r.txt'\n")
    result = tables(tmp_path / "m.toml", ok=False)
    assert result.exit_code == 2 and "r.txt:1" in result.stderr


def test_against_paper_refuses_a_result_of_another_shape(tmp_path, sims):
    small = recall_metrics(sims["1k"][:30, :30], captions_per_video=1)
    (tmp_path / "1k.json").write_text(json.dumps(small))
    three_k = dict(small, meta=dict(small["meta"], shape=[59_800, 2_990],
                                    ground_truth={"captions_per_video": 20}))
    (tmp_path / "3k.json").write_text(json.dumps(three_k))
    (tmp_path / "m.toml").write_text(f'''
published = "{PAPER}"
[[model]]
name = "A"
paper = "PIG"
recall.msrvtt-3k = "3k.json"
''')
    assert row(as_json(tmp_path / "m.toml", "--against-paper")["s2"], "A")["3k R@1 (paper)"] is not None
    assert tables(tmp_path / "m.toml", "--format", "json").exit_code == 0     # no comparison, no check
    for setting, result, message in (
            ("1k", "1k.json", "the matrix is 30 x 30 with 1 caption(s) a video, but MSR-VTT 1k is "
                              "1,000 x 1,000 with 1 caption(s) a video"),
            ("3k", "1k.json", "MSR-VTT 3k is 59,800 x 2,990 with 20 caption(s) a video")):
        text = (tmp_path / "m.toml").read_text().replace('recall.msrvtt-3k = "3k.json"',
                                                         f'recall.msrvtt-{setting} = "{result}"')
        (tmp_path / "bad.toml").write_text(text)
        failed = tables(tmp_path / "bad.toml", "--against-paper", ok=False)
        assert failed.exit_code == 2 and message in failed.stderr and "1k.json" in failed.stderr
    one_caption = dict(three_k, meta=dict(three_k["meta"], ground_truth={"captions_per_video": 1}))
    (tmp_path / "3k.json").write_text(json.dumps(one_caption))
    failed = tables(tmp_path / "m.toml", "--against-paper", ok=False)
    assert "with 1 caption(s) a video, but MSR-VTT 3k" in failed.stderr


def test_years_show_a_subset_with_its_mean_and_say_so(manifest, data_dir):
    s1 = as_json(manifest, "--years", "tv23,tv21", "--against-paper")["s1"]
    assert [c for c in s1["columns"] if " " not in c] == ["Model", "TV21", "TV23", "Mean"]
    a = row(s1, "A")
    runs = [xinfap(data_dir, "tv21", "runA"), xinfap(data_dir, "tv23", "runA")]
    assert a["Mean"] == pytest.approx(sum(runs) / 2)
    assert a["Mean (paper)"] == pytest.approx((0.216 + a["TV23 (paper)"]) / 2)
    assert a["Mean Δ"] == pytest.approx(a["Mean"] - a["Mean (paper)"])
    clip = row(s1, "CLIP4Clip")
    assert clip["Mean"] == pytest.approx((clip["TV21"] + clip["TV23"]) / 2)
    assert any(n.startswith("Mean: over TV21, TV23 only, a subset of the paper's five years")
               for n in s1["footnotes"])
    (manifest.parent / "y.toml").write_text(manifest.read_text().replace(
        'published =', 'years = ["tv21", "tv23"]\npublished ='))
    assert as_json(manifest.parent / "y.toml", "--against-paper")["s1"] == s1
    failed = tables(manifest, "--years", "tv24", ok=False)
    assert failed.exit_code == 2 and "unknown TRECVID year 'tv24'" in failed.stderr


def test_paper_row_named_once_is_looked_up_in_each_table(tmp_path, data_dir, sims):
    (tmp_path / "r.json").write_text(json.dumps(recall_metrics(sims["1k"], captions_per_video=1)))
    (tmp_path / "m.toml").write_text(f'''
published = "{PAPER}"
[[model]]
name = "A"
paper = "F-Pig"
recall.msrvtt-1k = "r.json"
''')
    s2 = as_json(tmp_path / "m.toml", "--against-paper")["s2"]
    assert row(s2, "A")["1k R@1 (paper)"] is None
    assert any("'F-Pig' is not a row of the published S2" in n for n in s2["footnotes"])
