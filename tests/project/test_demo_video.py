"""`fpig-trecvid demo` (its video side, on by default): generated videos -> features extract -> run -> score, offline.
Skipped until the video towers are in this checkout."""
import pytest
from support.cli import invoke

from trecvid_fpig.formats.store import read_features

video_encoder = pytest.importorskip("trecvid_fpig.encode.video_encoder")
if not hasattr(video_encoder, "load_video_encoder"):
    pytest.skip("video towers not in this checkout yet", allow_module_level=True)


@pytest.mark.slow
def test_demo_video_side_extracts_runs_and_scores(tmp_path):
    work = tmp_path / "ws"
    result = invoke("demo", "--workdir", work, "--distractors", "100", "--format", "csv",
                    "--quiet")
    assert "video side: features extract -> run -> score on" in result.stdout
    assert "CHAIN CHECK" in result.stdout
    assert any(line.startswith("demo-video,") for line in result.stdout.splitlines())
    store = read_features(work / "v3c1-mini.fpig")
    assert store.manifest["extract"]["sampling"] == "clip4clip"
    assert store.count == sum(1 for _ in (work / "v3c1-mini" / "keyframes").rglob("*.png"))
    assert (work / "runs" / "demo-video" / "tv21.txt").stat().st_size > 0
    # and a browse site of both runs, its thumbnails from the generated videos
    assert f"browse site: {work / 'browse' / 'index.html'}" in result.stdout
    assert sum(1 for _ in (work / "browse" / "thumbs").rglob("*.jpg")) == store.count
