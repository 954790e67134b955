"""How long `fpig-trecvid browse` takes on 20 TV21 topics x 2 runs x top 100 from 640x360 JPEG
keyframes, how long a rerun takes with the thumbnail cache, how soon a topic page first paints in
headless Chromium, and how large the site is.

Every shot the site shows (the runs' top 100s and the relevant shots they missed) gets its own
keyframe, as in a real collection. The issue's targets on a 2-core machine: a build <= 30 s, a
rerun <= 5 s, a first paint <= 1 s.

    python benchmarks/bench_browse.py [--workers N] [--keep DIR]
"""
from __future__ import annotations

import argparse
import io
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
RUNS = [REPO / "tests" / "data" / "tv21.runA.txt.gz", REPO / "tests" / "data" / "tv21.runB.txt.gz"]
CHROMIUM = os.environ.get("FPIG_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = ["--no-sandbox", "--disable-background-networking", "--disable-component-update",
                 "--no-first-run", "--disable-sync", "--metrics-recording-only",
                 "--disable-default-apps"]


def shown_shots(depth: int) -> list:
    """The shots the site will show, from the toolkit's own page data."""
    sys.path.insert(0, str(REPO))
    from trecvid_fpig.browse.site import topic_pages
    from trecvid_fpig.evaluate.score import score_runs
    from trecvid_fpig.formats.qrels import load_qrels

    qrels = load_qrels("tv21")
    pages = topic_pages(qrels, score_runs(qrels, [str(r) for r in RUNS]), {}, depth)
    return sorted({e["shot"] for p in pages for r in p["runs"] for e in r["shots"] + r["missed"]})


def write_keyframes(root: Path, shots: list) -> None:
    """640x360 JPEGs, one per shot: 64 pictures, each file made distinct by trailing bytes after
    the JPEG's end (decoders ignore them), so every one is decoded like a real keyframe."""
    import numpy as np
    from PIL import Image

    rng = np.random.default_rng(0)
    pictures = []
    for _ in range(64):
        pixels = rng.integers(0, 256, size=(45, 80, 3), dtype=np.uint8)
        image = Image.fromarray(pixels).resize((640, 360), Image.Resampling.BILINEAR)
        buffer = io.BytesIO()
        image.save(buffer, "JPEG", quality=90)
        pictures.append(buffer.getvalue())
    for number, shot in enumerate(shots):
        path = root / shot[4:].split("_")[0] / f"{shot}_RKF.jpg"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(pictures[number % len(pictures)] + shot.encode())


def build(keyframes: Path, out: Path, workers) -> tuple:
    """Wall seconds of one `browse` (process start included) and the CPU seconds it used, its
    workers' included: on a machine shared with other work the wall time says little alone."""
    command = [sys.executable, "-m", "trecvid_fpig", "browse", *map(str, RUNS), "--qrels", "tv21",
               "--keyframes", str(keyframes), "--out", str(out)]
    command += ["--workers", str(workers)] if workers is not None else []
    before, start = resource.getrusage(resource.RUSAGE_CHILDREN), time.perf_counter()
    done = subprocess.run(command, check=True, capture_output=True, text=True,
                          env={**os.environ, "PYTHONPATH": str(REPO)})
    seconds, after = time.perf_counter() - start, resource.getrusage(resource.RUSAGE_CHILDREN)
    print(f"  {done.stdout.strip()}")
    return seconds, (after.ru_utime + after.ru_stime) - (before.ru_utime + before.ru_stime)


def first_paint(out: Path, topic: str, repeat: int = 5) -> tuple:
    """Median first-contentful-paint and load of a topic page, in ms, in headless Chromium."""
    from playwright.sync_api import sync_playwright

    paints, loads = [], []
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        for _ in range(repeat):
            context = browser.new_context(viewport={"width": 1366, "height": 800})
            page = context.new_page()
            page.goto((out / f"topic-{topic}.html").as_uri(), wait_until="load")
            paints.append(page.evaluate("""() => new Promise(resolve => new PerformanceObserver(
                list => list.getEntriesByName('first-contentful-paint').forEach(
                    e => resolve(e.startTime))).observe({type: 'paint', buffered: true}))"""))
            loads.append(page.evaluate("performance.getEntriesByType('navigation')[0].loadEventEnd"))
            context.close()
        browser.close()
    return sorted(paints)[len(paints) // 2], sorted(loads)[len(loads) // 2]


def size_of(folder: Path) -> int:
    return sum(p.stat().st_size for p in folder.rglob("*") if p.is_file())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--workers", type=int, default=None, help="browse --workers")
    parser.add_argument("--keep", type=Path, default=None, help="keep the site and keyframes here")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        root = args.keep or Path(tmp)
        keyframes, out = root / "keyframes", root / "site"
        shots = shown_shots(100)
        if not keyframes.is_dir():
            write_keyframes(keyframes, shots)
        shutil.rmtree(out, ignore_errors=True)        # the first build makes every thumbnail
        print(f"{len(shots)} shots shown, each with a 640x360 JPEG keyframe; {os.cpu_count()} cores")
        load = os.getloadavg()[0]
        first, cpu = build(keyframes, out, args.workers)
        print(f"build:                {first:6.2f} s (target <= 30 s), {cpu:.1f} CPU s; "
              f"load average {load:.1f} before")
        again, cpu = build(keyframes, out, args.workers)
        print(f"rerun with the cache: {again:6.2f} s (target <= 5 s), {cpu:.1f} CPU s")
        topic = sorted(p.stem[len("topic-"):] for p in out.glob("topic-*.html"))[0]
        if Path(CHROMIUM).is_file():
            paint, load = first_paint(out, topic)
            print(f"topic {topic} in headless Chromium: first contentful paint {paint:.0f} ms "
                  f"(target <= 1000 ms), load {load:.0f} ms")
        else:
            print(f"no chromium at {CHROMIUM}: first paint not measured")
        thumbs = size_of(out / "thumbs")
        print(f"site: {size_of(out) / 1e6:.1f} MB, of which thumbnails {thumbs / 1e6:.1f} MB "
              f"({sum(1 for _ in (out / 'thumbs').rglob('*.jpg'))} files)")


if __name__ == "__main__":
    main()
