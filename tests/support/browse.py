"""What a browse site built from the tv21 test runs must show, computed from the qrels and run
files without the toolkit, generated 640x360 JPEG keyframes for it, and a page in Debian's
chromium that records what it logs and asks for (tests/browse)."""
import gzip
import os
from pathlib import Path

import numpy as np
from support import DATA, REPO

#: Shots shown per run and topic in these tests: small, so that building is quick.
DEPTH = 5
RUNS = (DATA / "tv21.runA.txt.gz", DATA / "tv21.runB.txt.gz")
QRELS = REPO / "topics" / "qrels" / "avs.qrels.tv21.gz"
CLASS = {1: "relevant", 0: "not-relevant", -1: "unsampled"}


def read_qrels():
    """{topic: {shot: judgment}} as the qrels file writes it."""
    judged = {}
    with gzip.open(QRELS, "rt") as fh:
        for line in fh:
            topic, _, shot, _, judgment = line.split()
            judged.setdefault(topic, {})[shot] = int(judgment)
    return judged


def read_ranking(path):
    """{topic: [shot, ...]} in sample_eval's order: score descending, then shot id descending;
    a repeated shot keeps its last score."""
    scores = {}
    with gzip.open(path, "rt") as fh:
        for line in fh:
            topic, _, shot, _, score, _ = line.split()
            scores.setdefault(topic, {})[shot] = float(score)
    ranked = {}
    for topic, shots in scores.items():
        by_id = sorted(shots, reverse=True)
        ranked[topic] = sorted(by_id, key=lambda s: -shots[s])
    return ranked


def expected_site(depth=DEPTH):
    """{topic: [per run: {"top": [(shot, class)], "missed": relevant shots not in its top}]}
    for every topic the qrels judge and a run answers."""
    judged = read_qrels()
    rankings = [read_ranking(run) for run in RUNS]
    pages = {}
    for topic in sorted(judged):
        if not any(topic in r for r in rankings):
            continue
        relevant = {s for s, j in judged[topic].items() if j > 0}
        pages[topic] = []
        for ranking in rankings:
            top = ranking.get(topic, [])[:depth]
            pages[topic].append({
                "top": [(s, CLASS.get(judged[topic].get(s), "unpooled")) for s in top],
                "missed": relevant - set(top)})
    return pages


def top_shots(expected):
    """The shots of the runs' tops (the missed relevant shots, thousands, get no keyframe)."""
    return {s for runs in expected.values() for run in runs for s, _ in run["top"]}


def write_keyframes(root: Path, shots, skip_every=9):
    """``root/VVVVV/shotVVVVV_N_RKF.jpg`` 640x360 JPEGs, one colour each; every `skip_every`-th
    shot gets none (a placeholder on the page)."""
    from PIL import Image

    rng = np.random.default_rng(0)
    left_out = []
    for number, shot in enumerate(sorted(shots)):
        if number % skip_every == skip_every - 1:
            left_out.append(shot)
            continue
        path = root / shot[4:].split("_")[0] / f"{shot}_RKF.jpg"
        path.parent.mkdir(parents=True, exist_ok=True)
        colour = tuple(int(c) for c in rng.integers(30, 226, size=3))
        Image.new("RGB", (640, 360), colour).save(path, quality=85)
    return left_out


def pooled_at(run, k=100):
    """{topic: the share of the run's first k shots that the qrels hold at all}."""
    judged = read_qrels()
    return {topic: sum(s in judged[topic] for s in shots[:k]) / len(shots[:k])
            for topic, shots in read_ranking(run).items() if topic in judged}


CHROMIUM = os.environ.get("FPIG_CHROMIUM", "/usr/bin/chromium")
#: No sandbox (CI runs as root), and nothing a fresh profile would fetch in the background.
CHROMIUM_ARGS = ["--no-sandbox", "--disable-background-networking", "--disable-component-update",
                 "--no-first-run", "--disable-sync", "--metrics-recording-only",
                 "--disable-default-apps", "--disable-extensions", "--no-default-browser-check"]


class Page:
    """A page that records console errors, uncaught exceptions and every request made."""

    def __init__(self, browser, site, viewport=(1366, 800)):
        self.context = browser.new_context(viewport={"width": viewport[0], "height": viewport[1]},
                                           accept_downloads=True)
        self.context.route("**/*", self._route)
        self.page = self.context.new_page()
        self.site, self.errors, self.requests, self.blocked = site, [], [], []
        self.page.on("console", lambda m: self.errors.append(m.text) if m.type == "error" else None)
        self.page.on("pageerror", lambda e: self.errors.append(str(e)))
        self.page.on("request", lambda r: self.requests.append(r.url))

    def _route(self, route):
        if route.request.url.startswith(LOCAL):
            route.continue_()
        else:
            self.blocked.append(route.request.url)
            route.abort()

    def open(self, name):
        self.page.goto((self.site / name).as_uri())
        return self.page

    def check_clean(self):
        assert self.errors == []
        assert self.blocked == [] and all(u.startswith(LOCAL) for u in self.requests)


#: What a page may ask for: files beside it, and the blob: URL a download is saved from.
LOCAL = ("file://", "blob:")


def cards(page, where):
    """(run, shot, class, disagree, visible) of each thumbnail under `where`, in page order."""
    return page.eval_on_selector_all(f"{where} figure.shot", """figures => figures.map(f => [
        Number(f.dataset.run), f.dataset.shot, f.dataset.class, f.dataset.disagree === "true",
        !f.parentNode.hidden])""")
