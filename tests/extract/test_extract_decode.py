"""Video decoding that always advances, on videos made as x264 makes them (keyframes 250 frames
apart by default, or 1, 12 and 600): a long shot sampled sparsely, a shard cut inside a video,
shots that leave gaps, a shot past the end. The frames taken must be the frames a sequential
decode of the whole video gives at those numbers. Every read and extraction runs in a subprocess
with a timeout, so a decoder that stops advancing fails the test instead of hanging it."""
import pickle
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from support import REPO
from support.extraction import FPS, cli_script, write_boundaries

pytestmark = pytest.mark.slow

SECONDS = 60
FRAMES = SECONDS * FPS
TIMEOUT = 120
#: x264's default keyframe interval is 250; None leaves the encoder at its default.
GOPS = (None, 1, 12, 600)
ENV = {"PYTHONPATH": str(REPO), "OMP_NUM_THREADS": "1"}


def x264_video(path: Path, frames: int, gop=None, size=(64, 48), open_gop=False) -> Path:
    """A textured video that moves a pixel a frame (so P and B frames carry real residuals),
    encoded by libx264 with its defaults (B-frames, scene cuts) and keyframes `gop` apart;
    `open_gop`: B-frames before each keyframe (in display order) refer to the GOP before."""
    import av

    texture = np.random.default_rng(0).integers(0, 256, size=(size[1], 2 * size[0], 3),
                                                dtype=np.uint8)
    with av.open(str(path), "w") as container:
        stream = container.add_stream("libx264", rate=FPS)
        stream.width, stream.height, stream.pix_fmt = size[0], size[1], "yuv420p"
        stream.options = {**({} if gop is None else {"g": str(gop)}),
                          **({"x264-params": "open-gop=1"} if open_gop else {})}
        for n in range(frames):
            pixels = np.ascontiguousarray(np.roll(texture, n, axis=1)[:, :size[0]])
            for packet in stream.encode(av.VideoFrame.from_ndarray(pixels, format="rgb24")):
                container.mux(packet)
        for packet in stream.encode():
            container.mux(packet)
    return path


def sequential_frames(path: Path) -> np.ndarray:
    """The reference: every frame of the video decoded in order from the start, numbered by
    its place in that order, converted to RGB as the reader converts it."""
    import av

    with av.open(str(path)) as container:
        return np.stack([np.asarray(f.to_image()) for f in container.decode(video=0)])


def clip4clip_numbers(first: int, last: int, frames: int = 12) -> list:
    """One frame a second from the shot's first (25 fps), `frames` of them kept by linspace."""
    per_second = list(range(first, last + 1, FPS))
    keep = np.linspace(0, len(per_second) - 1, min(frames, len(per_second)), dtype=int)
    return [per_second[i] for i in keep]


READ = """\
import pickle, sys
import numpy as np
from trecvid_fpig.extract import reader
from trecvid_fpig.extract.reader import read_shots
from trecvid_fpig.extract.shots import Shot
path, units, sampling, frames, gop_buffer_bytes = pickle.loads(sys.stdin.buffer.read())
reader.GOP_BUFFER_BYTES = gop_buffer_bytes or reader.GOP_BUFFER_BYTES
out = []
for unit in units:
    shots = [Shot(f"s{a}_{b}", path, frames=(a, b)) for a, b in unit]
    out.append([(r.taken, [np.asarray(i) for i in r.images]) if hasattr(r, "taken")
                else r.reason for r in read_shots(shots, sampling, frames)])
sys.stdout.buffer.write(pickle.dumps(out))
"""


def read_in_subprocess(path: Path, units, sampling="clip4clip", frames=12,
                       gop_buffer_bytes=None):
    """``read_shots`` on each unit (a list of inclusive frame ranges of one video), in a child
    process that must finish within TIMEOUT seconds."""
    spec = (str(path), units, sampling, frames, gop_buffer_bytes)
    done = subprocess.run([sys.executable, "-c", READ], env=ENV, capture_output=True,
                          input=pickle.dumps(spec),
                          timeout=TIMEOUT, check=True)
    return pickle.loads(done.stdout)


@pytest.fixture(scope="module", params=GOPS, ids=lambda g: f"gop{g or 'default'}")
def video(request, tmp_path_factory):
    path = x264_video(tmp_path_factory.mktemp("gop") / "00001.mp4", FRAMES, request.param)
    return path, sequential_frames(path)


UNITS = [[(0, FRAMES - 1)],                      # a 60 s shot: 12 frames about 5 s apart
         [(900, 924), (925, 1199)],              # a shard that starts mid-video, far from a key
         [(0, 24), (700, 710), (1400, 1424)],    # --shots leaving gaps
         [(1490, 1600)],                         # runs past the end: the frames before it
         [(1200, 1210), (1600, 1700)]]           # a shot wholly past the end fails alone


@pytest.mark.parametrize("gop_buffer_bytes", [None, 1], ids=["skipping", "no-buffer"])
def test_every_unit_takes_the_sequential_decodes_frames(video, gop_buffer_bytes):
    """With a 1-byte GOP buffer every GOP is decoded as it streams (a file without keyframe
    flags): the same frames."""
    path, reference = video
    assert len(reference) == FRAMES
    results = read_in_subprocess(path, UNITS, gop_buffer_bytes=gop_buffer_bytes)
    for unit, unit_results in zip(UNITS, results):
        for (first, last), result in zip(unit, unit_results):
            expected = [n for n in clip4clip_numbers(first, last) if n < FRAMES]
            if not expected:
                assert result == f"the video has no frame {first} (it ends before the shot)"
                continue
            taken, images = result
            assert list(taken) == expected
            assert np.array_equal(np.stack(images), reference[expected])


def test_uniform_sampling_of_every_frame_near_keyframes(video):
    """Every frame of a stretch that crosses keyframes of each GOP, frame for frame."""
    path, reference = video
    (result,), = read_in_subprocess(path, [[(230, 270)]], sampling="uniform", frames=41)
    assert list(result[0]) == list(range(230, 271))
    assert np.array_equal(np.stack(result[1]), reference[230:271])


def test_open_gop_leading_frames_after_a_skipped_gop(tmp_path):
    """Frames 9-11 of each 12 are decoded after the keyframe 12 and refer to the GOP before it;
    after GOPs were skipped that GOP is decoded again first, or they would be lost."""
    path = x264_video(tmp_path / "open.mkv", 300, gop=12, open_gop=True)
    reference = sequential_frames(path)
    units = [[(a, a + 3)] for a in (10, 107, 178, 250)]
    for ((first, last),), (result,) in zip(units, read_in_subprocess(path, units, "uniform", 4)):
        assert list(result[0]) == list(range(first, last + 1))
        assert np.array_equal(np.stack(result[1]), reference[first:last + 1])


SHOTS = [(0, 24), (25, 299), (300, 324), (325, 899),         # a 23 s shot, 12 frames 2 s apart
         (900, 924), (925, 1199), (1200, 1224), (1225, FRAMES - 1)]


@pytest.fixture(scope="module")
def collection(tmp_path_factory):
    root = tmp_path_factory.mktemp("v3c")
    (root / "videos").mkdir()
    x264_video(root / "videos" / "00001.mp4", FRAMES)
    write_boundaries(root / "msb" / "00001.tsv", SHOTS)
    return root


def extract(root: Path, out: Path, *options) -> subprocess.CompletedProcess:
    args = ["features", "extract", "--checkpoint", "x.pt", "--videos", str(root / "videos"),
            "--boundaries", str(root / "msb"), "--keep-frames", "--quiet", *map(str, options)]
    return subprocess.run([sys.executable, str(cli_script(out.parent, 0.0)), *args, str(out)],
                          env=ENV, capture_output=True, text=True, timeout=TIMEOUT)


STORE_FILES = ("features.npy", "ids.npy", "frames.npy", "frame_offsets.npy")


def test_a_shard_cut_inside_a_video_gives_the_unsharded_store(tmp_path, collection):
    whole, cut = tmp_path / "whole.fpig", tmp_path / "cut.fpig"
    for out, options in ((whole, ()), (cut, ("--shard-size", 4, "--workers", 1))):
        done = extract(collection, out, *options)
        assert done.returncode == 0, done.stderr
    for name in STORE_FILES:
        assert (cut / name).read_bytes() == (whole / name).read_bytes(), name


def test_shots_that_leave_gaps_give_the_same_rows(tmp_path, collection):
    from trecvid_fpig.formats.store import read_features

    whole, gaps = tmp_path / "whole.fpig", tmp_path / "gaps.fpig"
    listed = tmp_path / "shots.txt"
    listed.write_text("shot00001_2\nshot00001_6\nshot00001_8\n")
    assert extract(collection, whole).returncode == 0
    done = extract(collection, gaps, "--shots", listed, "--workers", 0)
    assert done.returncode == 0, done.stderr
    full, part = read_features(whole), read_features(gaps)
    rows = [full.ids.index(s) for s in part.ids]
    assert part.ids == ("shot00001_2", "shot00001_6", "shot00001_8")
    assert np.asarray(part.matrix).tobytes() == np.asarray(full.matrix)[rows].tobytes()


def test_a_shot_past_the_end_fails_with_its_id(tmp_path, collection):
    root = tmp_path / "late"
    (root / "videos").mkdir(parents=True)
    (root / "videos" / "00001.mp4").symlink_to(collection / "videos" / "00001.mp4")
    write_boundaries(root / "msb" / "00001.tsv", SHOTS[:2] + [(1600, 1700), (1800, 4000)])
    out = tmp_path / "late.fpig"
    done = extract(root, out)
    assert done.returncode == 1 and not out.exists()
    failed = (tmp_path / "late.fpig.failed.tsv").read_text().splitlines()[1:]
    assert [row.split("\t")[0] for row in failed] == ["shot00001_3", "shot00001_4"]
    assert failed[0].endswith("the video has no frame 1600 (it ends before the shot)")


WHOLE_NUMBERS = ("startframe and endframe must be whole numbers, starttime and endtime numbers "
                 "(ASCII digits)")


@pytest.mark.parametrize("row,message", [
    ("0\t0\t99999999999999999999999\t1", "endframe 99999999999999999999999 is past any real "
                                         "video (the largest frame number accepted is "
                                         "1,000,000,000)"),
    ("-5\t0\t10\t0.4", WHOLE_NUMBERS),
    ("10\t0.4\t-3\t0", WHOLE_NUMBERS),
    ("30\t1.2\t29\t1.2", "endframe 29 is before startframe 30"),
], ids=["huge", "negative", "negative-end", "backwards"])
def test_absurd_boundaries_are_a_file_line_error_before_decoding(tmp_path, collection, row,
                                                                 message):
    """An unbounded end once made clip4clip list a frame per second up to it (24 GB)."""
    root = tmp_path / "absurd"
    (root / "videos").mkdir(parents=True)
    (root / "videos" / "00001.mp4").symlink_to(collection / "videos" / "00001.mp4")
    (root / "msb").mkdir()
    (root / "msb" / "00001.tsv").write_text(
        f"startframe\tstarttime\tendframe\tendtime\n0\t0\t24\t1\n{row}\n")
    done = extract(root, tmp_path / "o.fpig")
    assert done.returncode == 2, done.stderr
    assert done.stderr.strip().splitlines() == [
        f"fpig-trecvid: error: {root / 'msb' / '00001.tsv'}:3: {message}"]


def test_absurd_shot_table_ends_are_a_file_line_error(tmp_path):
    from trecvid_fpig.errors import InputError
    from trecvid_fpig.extract.shots import table_shots

    table = tmp_path / "t.csv"
    for end, reason in (("inf", "start and end must be seconds"),     # read as text, not
                        ("nan", "start and end must be seconds"),     # as pandas' floats
                        ("1e30", "needs 0 <= start < end <= 10,000,000 "),
                        ("-1", "needs 0 <= start < end <= 10,000,000 ")):
        table.write_text(f"shot_id,video,start,end\nok,v.mp4,0,2\nbad,v.mp4,0,{end}\n")
        with pytest.raises(InputError, match=rf"t.csv:3: {reason}"):
            table_shots(table)


def test_the_longest_accepted_shot_samples_without_listing_its_seconds():
    import tracemalloc

    from trecvid_fpig.extract.reader import clip4clip_frames
    from trecvid_fpig.extract.shots import MAX_FRAME

    tracemalloc.start()
    try:
        taken = clip4clip_frames(0, MAX_FRAME, 25.0, 3)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    seconds = MAX_FRAME // 25 + 1
    assert taken == [0, (seconds - 1) // 2 * 25, (seconds - 1) * 25]
    assert peak < 1 << 20                    # not a list of its 40 million seconds


def variable_rate_video(path: Path, frames: int) -> Path:
    """x264 frames shown 80 ms, 40 ms, 40 ms, 80 ms, …: their pts times the average rate skip
    numbers and repeat them, while a sequential decode counts every frame once."""
    import av
    from fractions import Fraction

    texture = np.random.default_rng(0).integers(0, 256, size=(48, 128, 3), dtype=np.uint8)
    with av.open(str(path), "w") as container:
        stream = container.add_stream("libx264", rate=FPS)
        stream.width, stream.height, stream.pix_fmt = 64, 48, "yuv420p"
        stream.codec_context.time_base = Fraction(1, 1000)
        shown = 0
        for n in range(frames):
            frame = av.VideoFrame.from_ndarray(
                np.ascontiguousarray(np.roll(texture, n, axis=1)[:, :64]), format="rgb24")
            frame.pts, frame.time_base = shown, Fraction(1, 1000)
            shown += 40 if n % 3 else 80
            for packet in stream.encode(frame):
                container.mux(packet)
        for packet in stream.encode():
            container.mux(packet)
    return path


def cut_before_a_keyframe(source: Path, path: Path, packets: int) -> Path:
    """`source` remuxed without its first `packets` packets: a recording that starts inside a
    GOP, whose first pictures cannot be decoded."""
    import av

    with av.open(str(source)) as given, av.open(str(path), "w") as cut:
        stream = given.streams.video[0]
        out = cut.add_stream_from_template(stream)
        for n, packet in enumerate(p for p in given.demux(stream) if p.size):
            if n >= packets:
                packet.stream = out
                cut.mux(packet)
    return path


#: x264's defaults (keyframes 250 frames apart, B-frames), 24 s: units cross a keyframe.
IRREGULAR = {
    "avi-bframes": lambda root: x264_video(root / "00001.avi", 600),
    "variable-rate": lambda root: variable_rate_video(root / "00002.mp4", 600),
    # keyframes 12 apart: cut inside x264's first default GOP, no decoder (the reference's
    # neither) starts again before frame 250; the reader then fails the file's shots in a line
    "ts-cut-in-a-gop": lambda root: cut_before_a_keyframe(
        x264_video(root / "whole.ts", 600, gop=12), root / "00003.ts", 5),
    "raw-h264": lambda root: x264_video(root / "00004.h264", 600)}


@pytest.mark.parametrize("kind", IRREGULAR)
def test_files_whose_timestamps_do_not_number_their_frames_are_counted(tmp_path, kind):
    """AVI stores no presentation times (its B-frames came out numbered out of order), a
    variable rate skips and repeats numbers, a cut stream's first pictures never decode, a raw
    stream has no pts: each is decoded again from the start, its frames counted."""
    path = IRREGULAR[kind](tmp_path)
    reference = sequential_frames(path)
    units = [[(0, 40), (100, 140)], [(150, 151), (240, 260), (500, len(reference) - 1)]]
    for unit, results in zip(units, read_in_subprocess(path, units, "uniform", 5)):
        for (first, last), (taken, images) in zip(unit, results):
            assert taken[0] == first and taken[-1] == last
            assert np.array_equal(np.stack(images), reference[list(taken)])


def test_regular_files_are_numbered_by_their_timestamps(video, tmp_path):
    """Counting decodes every frame: x264 in mp4, and open GOPs in mkv, keep the fast path
    that skips the GOPs no shot needs."""
    import av
    from fractions import Fraction

    from trecvid_fpig.extract import reader

    path, reference = video
    for name in (path, x264_video(tmp_path / "open.mkv", 300, gop=12, open_gop=True)):
        with av.open(str(name)) as container:
            stream = reader._video_stream(container, 1)
            wanted = [0, 11, 12, 13, 140, 299]
            found = reader._frames_by_timestamp(container, stream, Fraction(FPS), wanted, 1)
        assert sorted(found) == wanted
