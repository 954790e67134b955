"""`fpig-trecvid browse` without a browser: the site's data against the qrels and `score`, the
thumbnail cache, placeholders, and bad input refused with one line and nothing written."""
import csv
import io
import json
import shutil

import pytest
from PIL import Image
from support.browse import DEPTH, RUNS, pooled_at
from support.cli import invoke


def script_data(path):
    """The JSON a data/*.js file assigns (``window.NAME = {...};``)."""
    text = path.read_text(encoding="utf-8")
    return json.loads(text[text.index("=") + 1:].strip().rstrip(";"))


def test_every_topic_page_shows_the_runs_tops_with_the_qrels_classes(site, expected):
    out, result = site
    assert result.exit_code == 0, result.output + result.stderr
    pages = {p.name[len("topic-"):-len(".js")]: script_data(p)
             for p in (out / "data").glob("topic-*.js")}
    assert sorted(pages) == sorted(expected)
    for topic, runs in expected.items():
        for want, got in zip(runs, pages[topic]["runs"]):
            assert [(e["shot"], e["class"]) for e in got["shots"]] == want["top"]
            assert [e["ranks"][runs.index(want)] for e in got["shots"]] == \
                list(range(1, len(want["top"]) + 1))
            assert got["missed_total"] == len(want["missed"])
            missed = [e["shot"] for e in got["missed"]]
            assert len(missed) == min(DEPTH, len(want["missed"]))
            assert set(missed) <= want["missed"] and len(set(missed)) == len(missed)


def test_infap_and_the_means_are_what_score_prints(site):
    out, _ = site
    scored = invoke("score", "--qrels", "tv21", "-q", "--format", "csv", *RUNS)
    rows = list(csv.DictReader(io.StringIO(scored.stdout)))
    data = script_data(out / "data" / "site.js")
    for index, run in enumerate(data["runs"]):
        mine = [r for r in rows if r["run"] == str(RUNS[index])]
        means = {r["topic"]: float(r["infAP"]) for r in mine}
        assert run["infAP"] == means.pop("all")
        assert {t["topic"]: t["infAP"][index] for t in data["topics"]} == means
    table = invoke("score", "--qrels", "tv21", *RUNS).stdout
    index_html = (out / "index.html").read_text(encoding="utf-8")
    for run in data["runs"]:
        shown = f"{run['infAP']:.4f}"
        assert shown in table and f'<td class="num">{shown}</td>' in index_html


def test_pooled_at_100_is_the_share_of_each_top_100_in_the_pool(site):
    out, _ = site
    data = script_data(out / "data" / "site.js")
    for index, run in enumerate(RUNS):
        want = pooled_at(run)
        assert {t["topic"]: t["pooled"][index] for t in data["topics"]} == pytest.approx(want)
        mean = data["runs"][index]["pooled"]
        assert mean == pytest.approx(sum(want.values()) / len(want))
        assert f'<td class="num">{mean:.4f}</td>' in (out / "index.html").read_text()


def test_shots_without_a_keyframe_get_a_placeholder_and_a_count(site, keyframes):
    out, _ = site
    have = {p.name.rsplit("_", 1)[0] for p in keyframes[0].rglob("*.jpg")}
    shown, without = set(), set()
    for path in (out / "data").glob("topic-*.js"):
        page = script_data(path)
        shown |= set(page["thumbs"])
        without |= {s for s, file in page["thumbs"].items() if file is None}
        assert all((out / f).is_file() for f in page["thumbs"].values() if f)
    assert without == shown - have and without >= keyframes[1] & shown
    assert f"{len(without)} shots without a keyframe" in (out / "index.html").read_text()


def test_thumbnails_are_jpegs_at_the_thumb_size(site):
    out, _ = site
    thumbs = sorted((out / "thumbs").rglob("*.jpg"))
    assert thumbs
    with Image.open(thumbs[0]) as image:
        assert image.format == "JPEG" and image.size == (96, 54)


def test_a_rerun_decodes_nothing_and_another_run_reuses_the_cache(site, keyframes, tmp_path):
    out, first = site
    copy = tmp_path / "site"
    shutil.copytree(out, copy)
    before = sorted(p.name for p in (copy / "thumbs").rglob("*.jpg"))
    again = invoke("browse", *RUNS, "--qrels", "tv21", "--keyframes", keyframes[0], "--depth",
                   DEPTH, "--thumb-size", 96, "--workers", 0, "--out", copy)
    assert "(0 made" in again.stdout and "(0 made" not in first.stdout
    assert tree(copy) == tree(out)                      # the same inputs give the same bytes
    one = invoke("browse", RUNS[1], "--qrels", "tv21", "--keyframes", keyframes[0], "--depth",
                 DEPTH, "--thumb-size", 96, "--workers", 0, "--out", copy)
    assert "(0 made" in one.stdout
    assert sorted(p.name for p in (copy / "thumbs").rglob("*.jpg")) == before
    assert len(script_data(copy / "data" / "site.js")["runs"]) == 1


def tree(folder):
    return {p.relative_to(folder).as_posix(): p.read_bytes()
            for p in folder.rglob("*") if p.is_file()}


def refused(*args):
    result = invoke("browse", *args, ok=False)
    assert result.exit_code == 2, result.output + result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("fpig-trecvid: error: "), result.stderr
    return lines[0]


@pytest.mark.parametrize("extra, message", [
    (("--keyframes", "{tmp}/none"), "no such keyframe directory"),
    (("--keyframes", "{kf}", "--labels", "a,b,c"), "--labels gives 3 label(s) for 2 run(s)"),
    (("--keyframes", "{kf}", "--labels", "a,a"), "gives a label twice"),
    (("--keyframes", "{kf}", "--videos", "{tmp}"), "give one input"),
])
def test_bad_input_is_one_line_and_writes_nothing(keyframes, tmp_path, extra, message):
    extra = [a.format(tmp=tmp_path, kf=keyframes[0]) for a in extra]
    line = refused(*RUNS, "--qrels", "tv21", *extra, "--out", tmp_path / "site")
    assert message in line
    assert not (tmp_path / "site").exists()


def test_more_than_four_runs_are_refused(keyframes, tmp_path):
    line = refused(*RUNS, *RUNS, RUNS[0], "--qrels", "tv21", "--keyframes", keyframes[0],
                   "--out", tmp_path / "site")
    assert "browse shows 1 to 4 runs side by side, got 5" in line
    assert not (tmp_path / "site").exists()


@pytest.mark.parametrize("workers", [0, 2])
def test_an_unreadable_keyframe_names_the_file_and_leaves_the_old_site(site, keyframes,
                                                                        tmp_path, workers):
    out, _ = site
    copy, frames = tmp_path / "site", tmp_path / "keyframes"
    shutil.copytree(out, copy)
    shutil.copytree(keyframes[0], frames)
    page = script_data(out / "data" / "topic-1661.js")
    top = page["runs"][0]["shots"][0]["shot"]
    broken = next(frames.rglob(f"{top}_*.jpg"))
    broken.write_bytes(b"not a jpeg at all")
    index = (copy / "index.html").read_bytes()
    line = refused(*RUNS, "--qrels", "tv21", "--keyframes", frames, "--depth", DEPTH,
                   "--workers", workers, "--out", copy)
    assert str(broken) in line and "cannot decode image" in line
    assert (copy / "index.html").read_bytes() == index
    assert sorted(p.name for p in copy.iterdir() if p.name.startswith(".")) == []


def test_a_folder_that_is_not_a_site_is_never_replaced(keyframes, tmp_path):
    mine = tmp_path / "mine"
    mine.mkdir()
    (mine / "notes.txt").write_text("keep me")
    line = refused(*RUNS, "--qrels", "tv21", "--keyframes", keyframes[0], "--out", mine)
    assert "is not a browse site" in line
    assert [p.name for p in mine.iterdir()] == ["notes.txt"]


@pytest.mark.parametrize("name", ["judgments.txt", "data/run.txt", "thumbs/ab/notes.txt"])
def test_a_site_holding_a_file_of_the_users_is_never_replaced(site, keyframes, tmp_path, name):
    """A rebuild replaces DIR whole: judgments saved beside the pages would be deleted."""
    out, _ = site
    copy = tmp_path / "site"
    shutil.copytree(out, copy)
    mine = copy / name
    mine.parent.mkdir(parents=True, exist_ok=True)
    mine.write_text("1661 shot99999_1 1\n")
    (copy / ".DS_Store").write_bytes(b"Finder's")
    index = (copy / "index.html").read_bytes()
    line = refused(RUNS[0], "--qrels", "tv21", "--keyframes", keyframes[0], "--extra-qrels",
                   mine, "--out", copy)
    assert f"{copy}: holds {name}, which browse did not write" in line
    assert mine.read_text() == "1661 shot99999_1 1\n"
    assert (copy / "index.html").read_bytes() == index
    mine.unlink()
    again = invoke("browse", RUNS[0], "--qrels", "tv21", "--keyframes", keyframes[0],
                   "--depth", DEPTH, "--thumb-size", 96, "--workers", 0, "--out", copy)
    assert again.exit_code == 0, again.output + again.stderr


def test_labels_are_text_never_markup_and_the_api_builds_from_runs_in_memory(keyframes, tmp_path):
    from trecvid_fpig.api import browse
    from trecvid_fpig.formats.runs import Run

    runs = [Run.from_file(r) for r in RUNS]
    result = browse(runs, "tv21", tmp_path / "site", keyframes=keyframes[0],
                                 labels=["<b>A</b>", "B&C"], depth=DEPTH, workers=0)
    assert result.index == tmp_path / "site" / "index.html" and result.topics == 20
    index = result.index.read_text(encoding="utf-8")
    assert "&lt;b&gt;A&lt;/b&gt;" in index and "<b>A</b>" not in index and "B&amp;C" in index
    assert [r["label"] for r in script_data(tmp_path / "site" / "data" / "site.js")["runs"]] == \
        ["<b>A</b>", "B&C"]


def test_a_second_writer_of_the_same_site_is_refused(keyframes, tmp_path):
    from trecvid_fpig.base.locks import output_lock

    with output_lock(tmp_path / "site"):
        line = refused(RUNS[0], "--qrels", "tv21", "--keyframes", keyframes[0], "--out",
                       tmp_path / "site")
    assert "is writing this output now" in line and not (tmp_path / "site").exists()


def test_topics_of_another_year_are_said_once_and_the_site_still_built(keyframes, tmp_path):
    result = invoke("browse", RUNS[0], "--qrels", "tv21", "--topics", "tv23", "--keyframes",
                    keyframes[0], "--depth", 2, "--workers", 0, "--out", tmp_path / "site")
    assert result.exit_code == 0, result.output + result.stderr
    assert result.stderr.strip().splitlines() == [
        "fpig-trecvid: warning: tv23: none of its topics is one the site shows (1661 …): "
        "the pages show no topic text"]
    assert "(no topic text: --topics gives it)" in (tmp_path / "site" / "topic-1661.html").read_text()
