"""`browse --extra-qrels`: earlier judgments of unpooled shots go into the site's data as judged
by you (read by the qrels' own extra-judgments reader), and a bad file is refused before anything
is written. The judging itself is tested in the browser (test_browser.py)."""
import hashlib
import json

import pytest
from support.browse import DEPTH, RUNS, read_qrels
from support.cli import invoke

from trecvid_fpig.base.files import file_sha256
from trecvid_fpig.formats.topics import resolve_qrels


def script_data(path):
    text = path.read_text(encoding="utf-8")
    return json.loads(text[text.index("=") + 1:].strip().rstrip(";"))


@pytest.fixture
def no_pictures(tmp_path):
    """A shot table with no rows: every shot a placeholder, so building takes no decoding."""
    table = tmp_path / "no-pictures.csv"
    table.write_text("shot_id,video,start,end\n")
    return table


def unpooled(expected, topic):
    return [s for run in expected[topic] for s, c in run["top"] if c == "unpooled"]


def build(out, table, *extra):
    return invoke("browse", *RUNS, "--qrels", "tv21", "--shot-table", table, "--depth", DEPTH,
                  *[a for e in extra for a in ("--extra-qrels", e)], "--out", out, ok=False)


def test_earlier_judgments_are_in_the_site_data_as_judged_by_you(expected, no_pictures, tmp_path):
    topics = [t for t in sorted(expected, key=int) if unpooled(expected, t)][:2]
    a, b = unpooled(expected, topics[0])[:2]
    c = unpooled(expected, topics[1])[0]
    first, second = tmp_path / "first.txt", tmp_path / "second.txt"
    first.write_text(f"# mine\n{topics[1]} {c} 0\n{topics[0]} {b} 1\n")
    second.write_text(f"{topics[0]} {a} 0\n{topics[0]} {b} 1   # again, the same: allowed\n")
    result = build(tmp_path / "site", no_pictures, first, second)
    assert result.exit_code == 0, result.output + result.stderr
    site = script_data(tmp_path / "site" / "data" / "site.js")
    assert site["judged_by_you"] == {topics[0]: {a: 0, b: 1}, topics[1]: {c: 0}}
    assert site["extra_qrels"] == [
        {"path": str(f), "sha256": hashlib.sha256(f.read_bytes()).hexdigest()}
        for f in (first, second)]
    manifest = json.loads((tmp_path / "site" / "site.json").read_text())
    assert manifest["extra_qrels"] == site["extra_qrels"]
    judged = read_qrels()
    for row in site["topics"]:             # what the counters count: the tops' unpooled shots
        want = {s for run in expected[row["topic"]] for s, _ in run["top"]
                if s not in judged[row["topic"]]}
        assert sorted(row["unpooled"]) == sorted(want) and len(row["unpooled"]) == len(want)


def test_a_site_without_extra_judgments_has_none(site):
    data = script_data(site[0] / "data" / "site.js")
    assert data["judged_by_you"] == {} and data["extra_qrels"] == []


def pooled_shot(judgment):
    judged = read_qrels()
    topic = "1661"
    return topic, next(s for s, j in sorted(judged[topic].items()) if j == judgment)


@pytest.mark.parametrize("line, message", [
    ("{pooled_minus1}", "pooled but not sampled (-1)"),
    ("{pooled_0}", "NIST judged it"),
    ("1661 {free} 2", "judgment must be 1 (relevant) or 0"),
    ("9999 {free} 1", "topic 9999 is not in the qrels"),
    ("1661 {free} 1\r", "CRLF"),
])
def test_a_bad_judgments_file_is_refused_by_the_qrels_reader_and_nothing_written(
        expected, no_pictures, tmp_path, line, message):
    topic, minus1 = pooled_shot(-1)
    _, zero = pooled_shot(0)
    bad = tmp_path / "bad.txt"
    bad.write_text("# header\n" + line.format(pooled_minus1=f"{topic} {minus1} 1",
                                              pooled_0=f"{topic} {zero} 0",
                                              free=unpooled(expected, "1661")[0]) + "\n")
    result = build(tmp_path / "site", no_pictures, bad)
    assert result.exit_code == 2, result.output + result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith(f"fpig-trecvid: error: {bad}:2: "), lines
    assert message in lines[0]
    assert not (tmp_path / "site").exists()


def test_two_files_that_contradict_each_other_are_refused_and_the_old_site_kept(
        expected, no_pictures, tmp_path):
    shot = unpooled(expected, "1661")[0]
    yes, no = tmp_path / "yes.txt", tmp_path / "no.txt"
    yes.write_text(f"1661 {shot} 1\n")
    no.write_text(f"1661 {shot} 0\n")
    assert build(tmp_path / "site", no_pictures, yes).exit_code == 0
    before = (tmp_path / "site" / "data" / "site.js").read_bytes()
    result = build(tmp_path / "site", no_pictures, yes, no)
    assert result.exit_code == 2
    assert result.stderr.strip().splitlines() == [
        f"fpig-trecvid: error: {no}:1: shot {shot} of topic 1661 is judged 0 here and 1 in "
        f"{yes}:1"]
    assert (tmp_path / "site" / "data" / "site.js").read_bytes() == before


def test_the_api_takes_extra_judgments_too(expected, no_pictures, tmp_path):
    from trecvid_fpig.api import browse

    shot = unpooled(expected, "1661")[0]
    mine = tmp_path / "mine.txt"
    mine.write_text(f"1661 {shot} 1\n")
    browse(RUNS, "tv21", tmp_path / "site", shot_table=no_pictures, depth=DEPTH, workers=0,
           extra_qrels=mine)
    assert script_data(tmp_path / "site" / "data" / "site.js")["judged_by_you"] == \
        {"1661": {shot: 1}}


def test_a_merged_qrels_gives_the_site_of_its_base_with_the_files(expected, no_pictures,
                                                                   tmp_path):
    """Its sidecar says which stratum is yours: the pages show it as yours, not as NIST's, and
    keep in-page judgments under the base's sha256, with or without the files at hand."""
    shots = unpooled(expected, "1661")[:2]
    mine, merged = tmp_path / "mine.txt", tmp_path / "merged.qrels"
    mine.write_text(f"1661 {shots[0]} 1\n1661 {shots[1]} 0\n")
    assert invoke("qrels", "merge", "tv21", mine, "--out", merged).exit_code == 0
    assert build(tmp_path / "apart", no_pictures, mine).exit_code == 0
    listed = [{"path": str(mine), "sha256": hashlib.sha256(mine.read_bytes()).hexdigest()}]
    mine.unlink()
    result = invoke("browse", *RUNS, "--qrels", merged, "--shot-table", no_pictures, "--depth",
                    DEPTH, "--out", tmp_path / "merged", ok=False)
    assert result.exit_code == 0, result.output + result.stderr
    sites = [tmp_path / "apart", tmp_path / "merged"]
    files = [sorted(p.relative_to(site) for p in site.rglob("*") if p.is_file()) for site in sites]
    assert files[0] == files[1]
    for name in files[0]:
        if name.name in ("site.js", "site.json"):       # the qrels as given differ
            apart, together = (script_data(site / name) if name.suffix == ".js" else
                               json.loads((site / name).read_text()) for site in sites)
            assert together.pop("qrels") == str(merged)
            assert apart.pop("qrels") == str(resolve_qrels("tv21"))
            assert together["qrels_sha256"] == file_sha256(resolve_qrels("tv21"))
            assert together["extra_qrels"] == listed
        else:
            apart, together = ((site / name).read_bytes() for site in sites)
        assert apart == together, name
    site = script_data(sites[1] / "data" / "site.js")
    assert site["qrels_name"] == "tv21"
    assert site["judged_by_you"] == {"1661": {shots[0]: 1, shots[1]: 0}}
    more = invoke("browse", *RUNS, "--qrels", merged, "--extra-qrels", merged, "--shot-table",
                  no_pictures, "--out", tmp_path / "more", ok=False)
    assert more.exit_code == 2 and len(more.stderr.strip().splitlines()) == 1
    assert "merge every file into tv21 at once" in more.stderr
    assert not (tmp_path / "more").exists()
