"""A browse site built once from the tv21 test runs and generated keyframes, what it must
show (tests/support/browse.py), and Debian's chromium to open it in."""
import os
import shutil
from pathlib import Path

import pytest
from support.browse import (CHROMIUM, CHROMIUM_ARGS, DEPTH, RUNS, Page, expected_site, top_shots,
                            write_keyframes)
from support.cli import invoke


@pytest.fixture(scope="session")
def expected():
    return expected_site()


@pytest.fixture(scope="session")
def keyframes(tmp_path_factory, expected):
    root = tmp_path_factory.mktemp("browse") / "keyframes"
    left_out = write_keyframes(root, top_shots(expected))
    return root, set(left_out)


@pytest.fixture(scope="session")
def site(tmp_path_factory, keyframes):
    out = tmp_path_factory.mktemp("browse-site") / "site"
    result = invoke("browse", *RUNS, "--qrels", "tv21", "--keyframes", keyframes[0],
                    "--depth", DEPTH, "--thumb-size", 96, "--workers", 2, "--out", out)
    return out, result


#: Generated videos and their shots' inclusive frame ranges; 00003 has boundaries but no file.
VIDEOS = {"00001": [(0, 9), (10, 29)], "00002": [(0, 14)]}
VIDEO_RUN_SHOTS = ("shot00001_2", "shot00002_1", "shot00001_1", "shot00003_1", "shot00009_1")


@pytest.fixture(scope="session")
def video_site(tmp_path_factory):
    """A site for a one-topic run over generated videos (25 fps), with --videos --boundaries."""
    from support.extraction import v3c_collection, write_boundaries

    root = tmp_path_factory.mktemp("browse-videos")
    videos, boundaries = v3c_collection(root, VIDEOS)
    write_boundaries(boundaries / "00003.tsv", [(0, 9)])
    run = root / "run.txt"
    run.write_text("".join(f"1661 Q0 {shot} {rank} {100 - rank} V\n"
                           for rank, shot in enumerate(VIDEO_RUN_SHOTS, 1)))
    out = root / "site"
    result = invoke("browse", run, "--qrels", "tv21", "--videos", videos, "--boundaries",
                    boundaries, "--depth", 10, "--workers", 0, "--out", out)
    return out, result, videos


@pytest.fixture(scope="module")
def browser():
    sync_api = pytest.importorskip("playwright.sync_api")
    if not (Path(CHROMIUM).is_file() or shutil.which(CHROMIUM)):
        pytest.skip(f"no chromium at {CHROMIUM} (apt-get install chromium)")
    with sync_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


@pytest.fixture
def page(browser, site):
    out, result = site
    assert result.exit_code == 0, result.output + result.stderr
    opened = Page(browser, out)
    yield opened
    opened.context.close()


@pytest.fixture(scope="module")
def screenshots(tmp_path_factory):
    """$FPIG_BROWSE_SCREENSHOTS when set, else a temporary folder: look at them when the
    pages change."""
    folder = os.environ.get("FPIG_BROWSE_SCREENSHOTS")
    path = Path(folder) if folder else tmp_path_factory.mktemp("screenshots")
    path.mkdir(parents=True, exist_ok=True)
    return path
