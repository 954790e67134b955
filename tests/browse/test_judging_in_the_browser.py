"""Judging the shots NIST never pooled, in Debian's chromium: by keys and clicks, undo, marks that
survive a reload, the counters, the downloaded file line for line, and that file scored by
`score --extra-qrels` exactly as `score` scores the merged qrels (`qrels merge`).

A screenshot of a topic page mid-assessment goes to $FPIG_BROWSE_SCREENSHOTS (else tmp_path).
"""
import csv
import hashlib
import io

import pytest
from support.browse import DEPTH, QRELS, RUNS, Page
from support.cli import invoke

pytestmark = [pytest.mark.browser, pytest.mark.slow]

RUN_B = 1                                   # run A's tops are all in NIST's pool
HEADER = ["# fpig-trecvid browse: your judgments of shots NIST never pooled",
          f"# qrels: tv21 (sha256 {hashlib.sha256(QRELS.read_bytes()).hexdigest()})"]
ORDER = "# topic shot judgment (1 relevant, 0 not relevant), by topic, then shot id"


def unpooled(runs, run):
    return [s for s, c in runs[run]["top"] if c == "unpooled"]


def shown_unpooled(runs):
    return {s for run in runs for s, c in run["top"] if c == "unpooled"}


def shot_order(line):
    topic, shot, _ = line.split()
    video, number = shot[len("shot"):].split("_")
    return int(topic), int(video), int(number)


@pytest.fixture
def topic(expected):
    """The topic whose run-B top holds the most unpooled shots (at least three)."""
    best = max(sorted(expected, key=int), key=lambda t: len(unpooled(expected[t], RUN_B)))
    assert len(unpooled(expected[best], RUN_B)) >= 3
    return best


def judged(page):
    """{shot: (your judgment, from where)} of the cards in the runs' tops."""
    return dict(page.eval_on_selector_all("#runs figure[data-yours]", """fs => fs.map(f =>
        [f.dataset.shot, [Number(f.dataset.yours), f.dataset.yoursFrom]])"""))


def focused(page):
    return page.evaluate("[Number(document.activeElement.dataset.run), "
                         "document.activeElement.dataset.shot]")


def counters(page, topic):
    return (page.inner_text(f".judging [data-progress='{topic}']"),
            page.inner_text("#yours-progress"))


def download(page):
    with page.expect_download() as saved:
        page.click("#download")
    assert saved.value.suggested_filename == "judgments.txt"
    return open(saved.value.path(), encoding="utf-8").read()


def test_keys_judge_unpooled_shots_undo_one_and_the_marks_survive_a_reload(
        page, expected, topic, screenshots):
    shots = unpooled(expected[topic], RUN_B)
    total = sum(len(shown_unpooled(runs)) for runs in expected.values())
    here = len(shown_unpooled(expected[topic]))
    shown = page.open(f"topic-{topic}.html")
    assert counters(shown, topic) == (f"0 / {here}", f"judged by you: 0 of {total} unpooled shots shown")
    assert shown.is_disabled("#download")
    shown.focus(f"#runs figure[data-run='{RUN_B}'][data-shot='{shots[0]}']")
    shown.keyboard.press("1")              # each judgment moves on to the next unjudged one
    assert focused(shown) == [RUN_B, shots[1]]
    shown.keyboard.press("0")
    assert focused(shown) == [RUN_B, shots[2]]
    shown.keyboard.press("1")
    assert judged(shown) == {shots[0]: [1, "page"], shots[1]: [0, "page"], shots[2]: [1, "page"]}
    shown.screenshot(path=str(screenshots / f"topic-{topic}-judging.png"))
    shown.keyboard.press("u")              # undoes the last, and goes back to it
    assert focused(shown) == [RUN_B, shots[2]]
    assert "Undone" in shown.inner_text("#judge-status")
    want = {shots[0]: [1, "page"], shots[1]: [0, "page"]}
    assert judged(shown) == want
    run_b = f"#runs .run[data-run='{RUN_B}'] .yours-count"
    assert shown.inner_text(run_b) == "by you: ✓ 1 relevant, ✗ 1 not"
    for _ in range(2):                     # now, and after a reload
        assert judged(shown) == want
        assert counters(shown, topic) == (f"2 / {here}",
                                          f"judged by you: 2 of {total} unpooled shots shown")
        assert shown.get_attribute(f"#runs figure[data-shot='{shots[0]}'] .yours-1",
                                   "aria-pressed") == "true"
        shown.reload()
    index = page.open("index.html")
    assert index.inner_text(f"#topics td[data-progress='{topic}']") == f"2 / {here}"
    index.click("#topics th[data-key=judged] button")     # the most judged topic first
    assert index.eval_on_selector("#topics tbody tr", "r => r.dataset.topic") == topic
    page.check_clean()


def test_the_download_is_the_extra_judgments_file_and_scores_as_the_merged_qrels(
        page, expected, topic, tmp_path, screenshots):
    shots = unpooled(expected[topic], RUN_B)
    other = next(t for t in sorted(expected, key=int, reverse=True)
                 if t != topic and unpooled(expected[t], RUN_B))
    shown = page.open(f"topic-{other}.html")
    shown.click(f"#runs figure[data-shot='{unpooled(expected[other], RUN_B)[0]}'] .yours-0")
    shown = page.open(f"topic-{topic}.html")
    for shot, value in zip(shots, (1, 0, 1)):       # by click this time
        shown.click(f"#runs figure[data-run='{RUN_B}'][data-shot='{shot}'] .yours-{value}")
    shown.screenshot(path=str(screenshots / f"topic-{topic}-clicked.png"))
    text = download(shown)
    lines = sorted([f"{topic} {shots[0]} 1", f"{topic} {shots[1]} 0", f"{topic} {shots[2]} 1",
                    f"{other} {unpooled(expected[other], RUN_B)[0]} 0"], key=shot_order)
    assert text.splitlines() == HEADER + [ORDER] + lines and text.endswith("\n")
    mine = tmp_path / "judgments.txt"
    mine.write_text(text, encoding="utf-8")
    merged = tmp_path / "merged.qrels"
    invoke("qrels", "merge", "tv21", mine, "--out", merged)
    for fmt in ("sample-eval", "csv"):
        extra = invoke("score", "--qrels", "tv21", "--extra-qrels", mine, "-q", "--format", fmt,
                       *RUNS)
        assert extra.stdout == invoke("score", "--qrels", merged, "-q", "--format", fmt,
                                      *RUNS).stdout
    plain = invoke("score", "--qrels", "tv21", "-q", "--format", "csv", *RUNS).stdout

    def infap(output):
        return {(r["run"], r["topic"]): float(r["infAP"]) for r in csv.DictReader(io.StringIO(output))}

    before, after = infap(plain), infap(extra.stdout)
    changed = {key for key in before if before[key] != after[key]}
    assert (str(RUNS[RUN_B]), topic) in changed and after[str(RUNS[RUN_B]), topic] > \
        before[str(RUNS[RUN_B]), topic]
    assert {t for _, t in changed} <= {topic, other, "all"}
    page.check_clean()


def test_shots_in_nists_pool_refuse_a_judgment_and_say_why(page, expected):
    topic = next(t for t in sorted(expected, key=int)
                 if any(c == "unsampled" for r in expected[t] for _, c in r["top"]))
    shown = page.open(f"topic-{topic}.html")
    for cls, why in (("unsampled", "would bias the random sample of NIST's stratum"),
                     ("relevant", "NIST judged this shot"),
                     ("not-relevant", "NIST judged this shot")):
        figures = shown.query_selector_all(f"#runs figure[data-class='{cls}']")
        if not figures:
            continue
        assert figures[0].query_selector(".judge button") is None
        assert why in figures[0].query_selector(".judge.locked").get_attribute("title")
        figures[0].focus()
        for key in ("1", "0"):
            shown.keyboard.press(key)
            assert figures[0].get_attribute("data-yours") is None
        assert "not judgeable" in shown.inner_text("#judge-status")
        assert why in shown.inner_text("#preview")
    shown.focus("#missed figure.shot")     # NIST's relevant shots a run missed: not yours either
    shown.keyboard.press("1")
    assert judged(shown) == {} and shown.evaluate("localStorage.length") == 0
    assert shown.is_disabled("#download")
    page.check_clean()


def test_earlier_judgments_from_extra_qrels_show_as_yours_and_a_new_mark_overrides_them(
        browser, expected, topic, tmp_path, screenshots):
    shots = unpooled(expected[topic], RUN_B)
    earlier = tmp_path / "earlier.txt"
    earlier.write_text(f"{topic} {shots[0]} 1\n{topic} {shots[1]} 0\n")
    table = tmp_path / "no-pictures.csv"
    table.write_text("shot_id,video,start,end\n")
    invoke("browse", *RUNS, "--qrels", "tv21", "--shot-table", table, "--depth", DEPTH,
           "--extra-qrels", earlier, "--out", tmp_path / "site")
    opened = Page(browser, tmp_path / "site")
    try:
        shown = opened.open(f"topic-{topic}.html")
        assert judged(shown) == {shots[0]: [1, "file"], shots[1]: [0, "file"]}
        here = len(shown_unpooled(expected[topic]))
        assert counters(shown, topic)[0] == f"2 / {here}"
        shown.focus(f"#runs figure[data-run='{RUN_B}'][data-shot='{shots[0]}']")
        shown.keyboard.press("0")          # the page's newer judgment wins
        assert judged(shown)[shots[0]] == [0, "page"]
        shown.screenshot(path=str(screenshots / f"topic-{topic}-extra-qrels.png"))
        from_file = HEADER + [f"# with the judgments of {earlier} (sha256 "
                              f"{hashlib.sha256(earlier.read_bytes()).hexdigest()})", ORDER]
        lines = sorted([f"{topic} {shots[0]} 0", f"{topic} {shots[1]} 0"], key=shot_order)
        assert download(shown).splitlines() == from_file + lines
        shown.keyboard.press("u")          # and undo goes back to the file's
        assert judged(shown)[shots[0]] == [1, "file"]
        lines = sorted([f"{topic} {shots[0]} 1", f"{topic} {shots[1]} 0"], key=shot_order)
        assert download(shown).splitlines() == from_file + lines
        assert counters(shown, topic)[0] == f"2 / {here}"
        opened.check_clean()
    finally:
        opened.context.close()


def test_a_stored_entry_that_is_not_ours_reads_as_no_marks(page, topic):
    shown = page.open(f"topic-{topic}.html")
    shown.evaluate("""sha => { localStorage.setItem(
        "fpig-trecvid-browse/judgments/v1/" + sha + "/" + %r, "{not json"); }""" % topic,
                   shown.evaluate("window.FPIG_SITE.qrels_sha256"))
    shown.reload()
    assert judged(shown) == {} and shown.is_disabled("#download")
    shown.focus("#runs figure[data-judgeable='true']")
    shown.keyboard.press("1")
    assert len(judged(shown)) == 1
    page.check_clean()


def test_an_index_open_in_another_tab_counts_the_judgments_as_they_are_made(page, expected, topic):
    here = len(shown_unpooled(expected[topic]))
    index = page.open("index.html")
    shown = page.context.new_page()
    shown.goto((page.site / f"topic-{topic}.html").as_uri())
    shown.focus("#runs figure[data-judgeable='true']")
    shown.keyboard.press("1")
    shown.keyboard.press("0")
    index.wait_for_function(f"""document.querySelector("#topics td[data-progress='{topic}']")
                                .textContent === "2 / {here}" """)
    assert index.inner_text("#yours-progress").startswith("judged by you: 2 of ")
    shown.keyboard.press("u")
    index.wait_for_function(f"""document.querySelector("#topics td[data-progress='{topic}']")
                                .textContent === "1 / {here}" """)
    assert not index.is_disabled("#download")
    page.check_clean()


def test_without_local_storage_judging_still_works_and_the_bar_says_to_download(
        page, expected, topic):
    page.context.add_init_script("""Object.defineProperty(window, "localStorage", {
        get() { throw new DOMException("denied", "SecurityError"); }});""")
    shown = page.open(f"topic-{topic}.html")
    assert "download before leaving the page" in shown.inner_text("#yours-progress")
    shot = unpooled(expected[topic], RUN_B)[0]
    shown.focus(f"#runs figure[data-run='{RUN_B}'][data-shot='{shot}']")
    shown.keyboard.press("1")
    assert judged(shown) == {shot: [1, "page"]}
    assert download(shown).splitlines()[-1] == f"{topic} {shot} 1"
    page.check_clean()


def test_a_shot_id_with_a_quote_or_backslash_is_judged_undone_and_refocused(browser, tmp_path):
    """Shot ids may hold " and \\ (the id rule refuses only white space and controls): undo
    found its card with a selector built from the id, which threw (a judgment was kept but
    not shown); so did the key "."""
    odd = ['shot"9_1', "shot\\9_2"]
    run = tmp_path / "run.txt"
    run.write_text("".join(f"1661 Q0 {s} {i} {9 - i} odd\n" for i, s in enumerate(odd, 1)))
    (tmp_path / "none.csv").write_text("shot_id,video,start,end\n")
    built = invoke("browse", run, "--qrels", "tv21", "--shot-table", tmp_path / "none.csv",
                   "--depth", 5, "--out", tmp_path / "site")
    assert built.exit_code == 0, built.output + built.stderr
    opened = Page(browser, tmp_path / "site")
    page = opened.open("topic-1661.html")
    for shot in odd:
        page.evaluate("""s => Array.from(document.querySelectorAll("#runs figure"))
            .find(f => f.dataset.shot === s).focus()""", shot)
        page.keyboard.press("1")
        assert judged(page) == {shot: [1, "page"]}
        page.keyboard.press("u")
        assert focused(page) == [0, shot] and judged(page) == {}
    page.keyboard.press('"')
    opened.check_clean()
    opened.context.close()
