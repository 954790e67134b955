"""The same inputs give byte-identical JSON on any machine and in any checkout: what `score`,
`compare` and `tables` record of their inputs is what the user gave (``tv21``, a path as spelt),
never where a file happens to live."""
import json
import shutil

from support.cli import invoke

RUNS = ("tv21.runA.txt.gz", "tv21.runB.txt.gz")


def _checkout(root, data_dir, monkeypatch):
    """Runs, a judgments file merged into tv21 and a manifest, all named relative to `root`."""
    root.mkdir(parents=True)
    for run in RUNS:
        shutil.copy(data_dir / run, root / run)
    (root / "mine.txt").write_text("1661 shot99999_1 1\n1662 shot99999_2 0\n")
    (root / "m.toml").write_text(
        'years = ["tv21"]\n\n[[model]]\nname = "A"\n[model.trecvid.tv21]\n'
        f'run = "{RUNS[0]}"\nqrels = "merged.qrels"\n\n[[model]]\nname = "B"\n'
        f'trecvid.tv21 = "{RUNS[1]}"\n')
    monkeypatch.chdir(root)
    invoke("qrels", "merge", "tv21", "mine.txt", "--out", "merged.qrels")


def _outputs():
    compare = ("--permutations", "50", "--bootstrap", "50", "--format", "json")
    return [invoke(*args).stdout for args in (
        ("score", "--qrels", "tv21", "--format", "json", *RUNS),
        ("score", "--qrels", "merged.qrels", "--format", "json", "-q", RUNS[0]),
        ("score", "--qrels", "tv21", "--extra-qrels", "mine.txt", "--format", "json", RUNS[0]),
        ("compare", "--qrels", "tv21", *compare, *RUNS),
        ("compare", "--qrels", "merged.qrels", *compare, *RUNS),
        ("compare", "--manifest", "m.toml", "--no-cache", *compare),
        ("tables", "m.toml", "--format", "json", "--no-cache"))]


def test_score_json_records_the_qrels_as_given(data_dir):
    for spec in ("tv21", "tv23"):
        run = data_dir / f"{spec}.runA.txt.gz"
        meta = json.loads(invoke("score", "--qrels", spec, "--format", "json", run).stdout)["meta"]
        assert meta["qrels"] == spec


def test_json_outputs_are_the_same_bytes_in_two_checkouts(tmp_path, data_dir, monkeypatch):
    seen = []
    for root in (tmp_path / "one", tmp_path / "elsewhere" / "two"):
        _checkout(root, data_dir, monkeypatch)
        seen.append(_outputs())
    assert seen[0] == seen[1]
    assert json.loads(seen[0][1])["meta"]["qrels"] == "merged.qrels"
    assert str(tmp_path) not in "".join(seen[0])
