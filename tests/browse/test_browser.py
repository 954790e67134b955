"""The browse site in a real browser: Debian's chromium driven by Playwright, pages opened from
file://. Skipped when chromium or Playwright is missing (`.ci/run` installs both).

Screenshots of the index and of a topic page go to $FPIG_BROWSE_SCREENSHOTS when set (else the
test's tmp_path): look at them when the pages change.
"""
import pytest
from support.browse import DEPTH, Page, cards

pytestmark = [pytest.mark.browser, pytest.mark.slow]


def test_the_index_opens_from_disk_with_no_error_and_no_network(page, expected, screenshots):
    index = page.open("index.html")
    topics = index.eval_on_selector_all("#topics tbody tr", "rows => rows.map(r => r.dataset.topic)")
    assert sorted(topics) == sorted(expected)
    means = index.eval_on_selector_all("#means tbody td:nth-child(2)", "c => c.map(x => x.textContent)")
    assert len(means) == 2 and all(len(m) == 6 and m.startswith("0.") for m in means)
    index.screenshot(path=str(screenshots / "index.png"), full_page=True)
    page.check_clean()


def test_each_topic_shows_the_runs_tops_and_misses_with_the_qrels_classes(page, expected):
    for topic, runs in expected.items():
        shown = page.open(f"topic-{topic}.html")
        tops, missed = cards(shown, "#runs"), cards(shown, "#missed")
        for index, run in enumerate(runs):
            assert [(s, c) for r, s, c, _, _ in tops if r == index] == run["top"]
            mine = [(s, c) for r, s, c, _, _ in missed if r == index]
            assert len(mine) == min(DEPTH, len(run["missed"]))
            assert all(c == "relevant" and s in run["missed"] for s, c in mine)
        assert len(shown.query_selector_all("figure.shot")) == len(tops) + len(missed)
    page.check_clean()


def test_the_index_sorts_by_disagreement_first_then_by_any_column(page):
    index = page.open("index.html")

    def column(n):
        return index.eval_on_selector_all(
            f"#topics tbody tr td:nth-child({n})", "c => c.map(x => x.dataset.value)")

    delta = [abs(float(v)) for v in column(4)]           # topic, infAP A, infAP B, delta
    assert delta == sorted(delta, reverse=True) and len(set(delta)) > 1
    index.click("#topics th[data-key=topic] button")
    assert column(1) == sorted(column(1), key=int)
    index.click("#topics th[data-key=infAP-1] button")
    values = [float(v) for v in column(3)]
    assert values == sorted(values, reverse=True)
    index.click("#topics th[data-key=infAP-1] button")
    assert [float(v) for v in column(3)] == sorted(values)
    assert index.get_attribute("#topics th[data-key=infAP-1]", "aria-sort") == "ascending"
    index.click("#topics th[data-key=text] button")
    texts = [v.lower() for v in column(8)]     # after the judged-by-you column
    assert texts == sorted(texts)
    index.focus("#topics th[data-key=topic] button")      # the keyboard sorts too
    index.keyboard.press("Enter")
    assert column(1) == sorted(column(1), key=int)
    index.keyboard.press("Space")
    assert column(1) == sorted(column(1), key=int, reverse=True)
    index.keyboard.press("Tab")
    assert index.evaluate("document.activeElement.closest('th').dataset.key") == "infAP-0"
    page.check_clean()


def test_filters_show_only_relevant_unpooled_or_disagreeing_shots(page, expected):
    topic = max(expected, key=lambda t: sum(c == "unpooled" for r in expected[t]
                                            for _, c in r["top"]))
    runs = expected[topic]
    shown = page.open(f"topic-{topic}.html")
    for value, wanted in (("relevant", "relevant"), ("unpooled", "unpooled")):
        shown.check(f"input[name=show][value={value}]")
        visible = [(r, s, c) for r, s, c, _, v in cards(shown, "#runs") if v]
        assert visible == [(i, s, c) for i, run in enumerate(runs) for s, c in run["top"]
                           if c == wanted]
    shown.check("input[name=show][value=all]")
    # the disagreement filter on the topic where the runs share most shots
    topic = max(expected, key=lambda t: len(set.intersection(
        *(set(s for s, _ in r["top"]) for r in expected[t]))))
    runs = expected[topic]
    tops = [set(s for s, _ in r["top"]) for r in runs]
    shown = page.open(f"topic-{topic}.html")
    shown.check("input[name=disagree]")
    visible = [(r, s) for r, s, _, _, v in cards(shown, "#runs") if v]
    assert visible == [(i, s) for i, run in enumerate(runs) for s, _ in run["top"]
                       if any(s not in tops[j] for j in range(len(runs)) if j != i)]
    assert visible and len(visible) < sum(len(t) for t in tops)
    assert "showing" in shown.inner_text("#runs .run .shown")
    page.check_clean()


def test_keyboard_alone_moves_through_a_grid_and_between_topics(page, expected, screenshots):
    topics = sorted(expected)
    shown = page.open(f"topic-{topics[0]}.html")
    for _ in range(12):                    # Tab from the top of the page to the first grid
        shown.keyboard.press("Tab")
        if shown.evaluate("document.activeElement.matches('figure.shot')"):
            break
    focused = "[document.activeElement.dataset.run, document.activeElement.dataset.shot]"
    assert shown.evaluate(focused) == ["0", expected[topics[0]][0]["top"][0][0]]
    shown.keyboard.press("ArrowRight")
    assert shown.evaluate(focused)[1] == expected[topics[0]][0]["top"][1][0]
    shown.keyboard.press("j")
    shown.keyboard.press("k")
    assert shown.evaluate(focused)[1] == expected[topics[0]][0]["top"][1][0]
    assert shown.is_visible("#preview")
    assert expected[topics[0]][0]["top"][1][0] in shown.inner_text("#preview")
    shown.screenshot(path=str(screenshots / f"topic-{topics[0]}.png"), full_page=False)
    shown.keyboard.press("Escape")
    assert not shown.is_visible("#preview")
    shown.keyboard.press("Tab")            # on to the second run's grid
    assert shown.evaluate(focused) == ["1", expected[topics[0]][1]["top"][0][0]]
    shown.keyboard.press("n")
    shown.wait_for_url(f"**/topic-{topics[1]}.html")
    shown.keyboard.press("p")
    shown.wait_for_url(f"**/topic-{topics[0]}.html")
    page.check_clean()


def test_a_phone_sized_screen_stacks_the_runs(browser, site, expected, screenshots):
    phone = Page(browser, site[0], viewport=(390, 844))
    try:
        shown = phone.open(f"topic-{sorted(expected)[0]}.html")
        columns = shown.eval_on_selector_all(
            "#runs > .run", "s => s.map(x => x.getBoundingClientRect().left)")
        assert len(columns) == 2 and columns[0] == columns[1]
        assert shown.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
        shown.screenshot(path=str(screenshots / "topic-phone.png"))
        phone.check_clean()
    finally:
        phone.context.close()


def test_a_phone_sized_index_shows_each_topics_text_under_its_number(browser, site, expected,
                                                                    screenshots):
    phone = Page(browser, site[0], viewport=(390, 844))
    try:
        index = phone.open("index.html")
        first = index.eval_on_selector_all("#topics tbody tr", """rows => rows.map(r => {
            const cell = r.querySelector('td'), text = cell.querySelector('.topic-text');
            const box = text.getBoundingClientRect();
            return [r.dataset.topic, text.textContent, r.querySelector('td.text').dataset.value,
                    box.width > 0 && box.left >= 0 && box.right <= window.innerWidth];
        })""")
        assert sorted(t for t, _, _, _ in first) == sorted(expected)
        assert all(shown == text and text and inside for _, shown, text, inside in first)
        assert not index.is_visible("#topics td.text") and not index.is_visible(
            "#topics th[data-key=text]")
        index.screenshot(path=str(screenshots / "index-phone.png"))
        phone.check_clean()
    finally:
        phone.context.close()
    wide = Page(browser, site[0])
    try:
        index = wide.open("index.html")
        assert index.is_visible("#topics td.text") and not index.is_visible("#topics .topic-text")
    finally:
        wide.context.close()


def test_enter_plays_a_video_shot_from_its_boundaries(browser, video_site):
    out, result, videos = video_site
    assert result.exit_code == 0, result.output + result.stderr
    opened = Page(browser, out)
    try:
        shown = opened.open("topic-1661.html")
        shown.focus("#runs figure.shot")            # shot00001_2, frames 10..29 at 25 fps
        shown.keyboard.press("Enter")
        src = shown.get_attribute("#preview video", "src")
        path, fragment = src.split("#")
        assert fragment == "t=0.4,1.2"
        assert (out / path).resolve() == (videos / "00001" / "00001.mp4").resolve()
        shown.focus("#preview video")                 # its controls keep it open
        assert shown.is_visible("#preview video")
        shown.keyboard.press("Escape")
        assert not shown.is_visible("#preview")
        opened.check_clean()
    finally:
        opened.context.close()
