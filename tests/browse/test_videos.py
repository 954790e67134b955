"""`browse --videos --boundaries`: a shot's thumbnail is its middle frame, decoded by extract's
reader, and its clip is the media fragment of its boundaries; no video file, a placeholder."""
import json
import shutil

import pytest
from PIL import Image
from support.cli import invoke
from support.extraction import FPS, colour_number

pytestmark = pytest.mark.slow


def topic_data(out):
    text = (out / "data" / "topic-1661.js").read_text(encoding="utf-8")
    return json.loads(text[text.index("=") + 1:].strip().rstrip(";"))


def test_thumbnails_are_the_middle_frames_and_clips_their_boundaries(video_site):
    out, result, videos = video_site
    assert result.exit_code == 0, result.output + result.stderr
    page = topic_data(out)
    # uniform thirds of frames 0..9, 10..29 and 0..14: the middle ones are 5, 20 and 7
    for shot, frames, middle in (("shot00001_1", (0, 9), 5), ("shot00001_2", (10, 29), 20),
                                 ("shot00002_1", (0, 14), 7)):
        with Image.open(out / page["thumbs"][shot]) as image:
            assert abs(colour_number(image.convert("RGB")) - middle) <= 2
        src, start, end = page["clips"][shot]
        assert (out / src).resolve() == (videos / shot[4:9] / f"{shot[4:9]}.mp4").resolve()
        assert (start, end) == (frames[0] / FPS, (frames[1] + 1) / FPS)
    assert page["thumbs"]["shot00003_1"] is None and page["thumbs"]["shot00009_1"] is None
    assert "shot00003_1" not in page["clips"]
    assert "without a video" in (out / "index.html").read_text(encoding="utf-8")


def test_a_rerun_with_the_same_videos_decodes_nothing(video_site, tmp_path):
    out, _, videos = video_site
    copy = tmp_path / "site"
    shutil.copytree(out, copy)
    again = invoke("browse", out.parent / "run.txt", "--qrels", "tv21", "--videos", videos,
                   "--boundaries", videos.parent / "msb", "--depth", 10, "--workers", 0,
                   "--out", copy)
    assert "(0 made" in again.stdout
    for shot, (src, start, end) in topic_data(copy)["clips"].items():
        first = topic_data(out)["clips"][shot]
        assert (copy / src).resolve() == (out / first[0]).resolve() and [start, end] == first[1:]


def test_a_video_that_cannot_be_opened_is_one_line_naming_it(video_site, tmp_path):
    out, _, videos = video_site
    broken = tmp_path / "videos"
    shutil.copytree(videos, broken)
    (broken / "00002" / "00002.mp4").write_bytes(b"not a video")
    result = invoke("browse", out.parent / "run.txt", "--qrels", "tv21", "--videos", broken,
                    "--boundaries", videos.parent / "msb", "--workers", 0,
                    "--out", tmp_path / "site", ok=False)
    assert result.exit_code == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and str(broken / "00002" / "00002.mp4") in lines[0], result.stderr
    assert not (tmp_path / "site").exists()


def test_a_shot_table_gives_the_middle_frame_and_its_seconds(video_site, tmp_path):
    out, _, videos = video_site
    table = tmp_path / "shots.csv"
    table.write_text("shot_id,video,start,end\nshot00001_2,00001,0.4,1.2\n")
    result = invoke("browse", out.parent / "run.txt", "--qrels", "tv21", "--shot-table", table,
                    "--videos", videos, "--workers", 0, "--out", tmp_path / "site")
    assert result.exit_code == 0, result.output + result.stderr
    page = topic_data(tmp_path / "site")
    with Image.open(tmp_path / "site" / page["thumbs"]["shot00001_2"]) as image:
        assert abs(colour_number(image.convert("RGB")) - 20) <= 2   # frames 10..29: 20
    assert page["clips"]["shot00001_2"][1:] == [0.4, 1.2]
    assert page["thumbs"]["shot00001_1"] is None                   # not in the table
