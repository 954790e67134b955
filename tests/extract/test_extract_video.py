"""`features extract` on videos generated here: lossless frames whose colour spells their number
prove which frames were taken; failures, worker/batch invariance, and resume after SIGKILL."""
import os
import signal
import subprocess
import sys
import time

import numpy as np
import pytest
from support import REPO
from support.cli import invoke
from support.extraction import (FPS, FakeVideoEncoder, cli_script, colour_number, v3c_collection,
                                write_boundaries, write_video)

from trecvid_fpig.extract import job
from trecvid_fpig.extract.reader import read_shots
from trecvid_fpig.extract.shots import table_shots, video_shots
from trecvid_fpig.formats.store import read_features

pytestmark = pytest.mark.slow

SHOTS = {"00001": [(0, 0), (1, 24), (25, 50), (51, 400)],      # 1 frame, 1 s, 1 s + 1, 14 s
         "00002": [(0, 9), (10, 30)]}


@pytest.fixture(scope="module")
def collection(tmp_path_factory):
    return v3c_collection(tmp_path_factory.mktemp("v3c"), SHOTS)


def numbers(result):
    return [colour_number(image) for image in result.images]


def expected_clip4clip(first, last, frames=12):
    per_second = list(range(first, last + 1, FPS))          # 25 fps: one frame a second
    if len(per_second) > frames:
        per_second = [per_second[i] for i in np.linspace(0, len(per_second) - 1, frames,
                                                         dtype=int)]
    return per_second


def test_frames_taken_are_the_ones_boundaries_and_rule_ask_for(collection):
    shots = video_shots(*collection)
    assert [s.shot_id for s in shots] == ["shot00001_1", "shot00001_2", "shot00001_3",
                                          "shot00001_4", "shot00002_1", "shot00002_2"]
    for shot, result in zip(shots, read_shots(shots[:4], "clip4clip", 12) +
                            read_shots(shots[4:], "clip4clip", 12)):
        first, last = shot.frames
        assert numbers(result) == list(result.taken) == expected_clip4clip(first, last)
    for shot, result in zip(shots, read_shots(shots[:4], "uniform", 5) +
                            read_shots(shots[4:], "uniform", 5)):
        first, last = shot.frames
        taken = numbers(result)
        assert taken[0] == first and taken[-1] == last      # both ends of the shot
        assert taken == sorted(set(int(np.floor(x + 0.5)) for x in
                                   np.linspace(first, last, 5)))


def test_far_apart_shots_skip_gops_and_still_get_exact_frames(tmp_path):
    path = write_video(tmp_path / "00007.mp4", 900, gop=30)
    (tmp_path / "msb").mkdir()
    rows = [(0, 10), (11, 799), (800, 899)]
    (tmp_path / "msb" / "00007.tsv").write_text(
        "startframe\tstarttime\tendframe\tendtime\n" +
        "".join(f"{a}\t{a / FPS}\t{b}\t{b / FPS}\n" for a, b in rows))
    shots = video_shots(tmp_path, tmp_path / "msb")
    assert shots[0].source == str(path)                      # flat DIR/VVVVV.mp4 layout
    late, early = read_shots([shots[2], shots[0]], "uniform", 3)     # results in given order
    assert numbers(early) == [0, 5, 10] and numbers(late) == [800, 850, 899]


def test_shot_table_seconds_map_to_frames(tmp_path, collection):
    video = collection[0] / "00001" / "00001.mp4"
    table = tmp_path / "t.csv"
    table.write_text(f"shot_id,video,start,end\nclip,{video},2.0,4.0\n")
    result, = read_shots(table_shots(table), "uniform", 3)
    assert numbers(result) == [50, 75, 99]                 # [2 s, 4 s) = frames 50 .. 99


def test_missing_and_corrupt_videos_go_to_failed_tsv(tmp_path, collection, monkeypatch):
    monkeypatch.setattr(job, "open_encoder", lambda c, d, p, t=None: FakeVideoEncoder())
    videos, msb = tmp_path / "videos", tmp_path / "msb"
    msb.mkdir()
    for video in ("00001", "00003", "00004"):
        (msb / f"{video}.tsv").write_text("startframe\tstarttime\tendframe\tendtime\n0\t0\t9\t0.4\n")
    (videos / "00001").mkdir(parents=True)
    (videos / "00001" / "00001.mp4").write_bytes(
        (collection[0] / "00001" / "00001.mp4").read_bytes())
    (videos / "00004.mp4").write_bytes(b"\x00\x00\x00\x18ftypmp42 garbage" * 10)
    out = tmp_path / "s.fpig"
    result = invoke("features", "extract", "--checkpoint", "x.pt", "--videos", videos,
                    "--boundaries", msb, "--workers", "1", "--quiet", out, ok=False)
    assert result.exit_code == 1 and not out.exists()
    rows = [line.split("\t") for line in
            (tmp_path / "s.fpig.failed.tsv").read_text().splitlines()[1:]]
    assert [r[0] for r in rows] == ["shot00003_1", "shot00004_1"]
    assert rows[0][2] == "no such video file"
    assert rows[1][1].endswith("00004.mp4") and rows[1][2].startswith("cannot open video")


def test_workers_and_batch_sizes_give_identical_bytes(tmp_path, collection, monkeypatch):
    monkeypatch.setattr(job, "open_encoder", lambda c, d, p, t=None: FakeVideoEncoder())
    digests = set()
    for workers, batch in ((0, 32), (1, 1), (2, 3)):
        out = tmp_path / f"w{workers}b{batch}.fpig"
        invoke("features", "extract", "--checkpoint", "x.pt", "--videos", collection[0],
               "--boundaries", collection[1], "--workers", workers, "--batch-size", batch,
               "--shard-size", 2, "--keep-frames", "--quiet", out)
        digests.add(tuple((out / n).read_bytes() for n in
                          ("features.npy", "ids.npy", "frames.npy", "frame_offsets.npy")))
    assert len(digests) == 1
    store = read_features(out)
    assert store.ids == ("shot00001_1", "shot00001_2", "shot00001_3", "shot00001_4",
                         "shot00002_1", "shot00002_2")


def test_resume_after_sigkill_gives_identical_bytes(tmp_path, collection):
    args = ["features", "extract", "--checkpoint", "x.pt", "--videos", str(collection[0]),
            "--boundaries", str(collection[1]), "--shard-size", "1", "--batch-size", "1",
            "--workers", "1", "--quiet"]
    env = dict(os.environ, PYTHONPATH=str(REPO))
    clean = tmp_path / "clean.fpig"
    subprocess.run([sys.executable, str(cli_script(tmp_path, 0.0)), *args, str(clean)],
                   check=True, env=env)
    out = tmp_path / "killed.fpig"
    slow = subprocess.Popen([sys.executable, str(cli_script(tmp_path, 0.5)), *args, str(out)],
                            env=env, start_new_session=True)
    shards = tmp_path / "killed.fpig.shards"
    deadline = time.time() + 120
    while len(list(shards.glob("shard-*"))) < 2 and time.time() < deadline:
        time.sleep(0.05)
    os.killpg(slow.pid, signal.SIGKILL)
    slow.wait()
    done = len(list(shards.glob("shard-*")))
    assert 2 <= done < 6 and not out.exists()
    resumed = subprocess.run([sys.executable, str(cli_script(tmp_path, 0.0)),
                              *[a for a in args if a != "--quiet"], str(out)],
                             check=True, env=env, capture_output=True, text=True)
    assert f"{6 - done} shard(s) run, {done} reused" in resumed.stdout
    for name in ("features.npy", "ids.npy"):
        assert (out / name).read_bytes() == (clean / name).read_bytes()
    assert not shards.exists()


def _die(unit, spec):
    os._exit(3)


def test_a_dead_decode_worker_is_an_error_not_a_hang(tmp_path, collection, monkeypatch):
    from trecvid_fpig.extract import engines

    monkeypatch.setattr(job, "open_encoder", lambda c, d, p, t=None: FakeVideoEncoder())
    monkeypatch.setattr(engines, "decode_unit", _die)
    result = invoke("features", "extract", "--checkpoint", "x.pt", "--videos", collection[0],
                    "--boundaries", collection[1], "--workers", "1", "--quiet",
                    tmp_path / "o.fpig", ok=False)
    assert result.exit_code == 2 and "decode worker process died" in result.stderr


def test_a_worker_forked_after_decoding_here_still_decodes(tmp_path):
    """PyAV keeps one swscale context per thread, and a forked child inherits it without the
    slice threads it owns: the child's first frame of another size waited forever to join them
    (a Python session that extracted with --workers 0, then with --workers 2, hung)."""
    from trecvid_fpig.base.workers import process_pool

    for name, size in (("00001", (64, 48)), ("00002", (96, 72))):      # yuv420p, as V3C's
        write_video(tmp_path / f"{name}.mp4", 30, size=size, codec="libx264", gop=250)
        write_boundaries(tmp_path / "msb" / f"{name}.tsv", [(0, 29)])
    here, there = video_shots(tmp_path, tmp_path / "msb")
    assert read_shots([here], "uniform", 2)[0].images[0].size == (64, 48)
    with process_pool(1) as pool:
        result = pool.submit(read_shots, [there], "uniform", 2).result(timeout=60)
    assert [image.size for image in result[0].images] == [(96, 72)] * 2
    assert result[0].taken == (0, 29)                   # the shot's first and last frames
    in_process = read_shots([there], "uniform", 2)[0]
    assert [np.asarray(i).tobytes() for i in result[0].images] == \
        [np.asarray(i).tobytes() for i in in_process.images]


def _threads_while_converting(monkeypatch, shot, threads):
    """This process's threads counted while the reader converts each frame, and the pixels."""
    from trecvid_fpig.extract import reader

    convert, counts = reader.rgb_image, []

    def counting(frame, threads=0):
        counts.append(len(os.listdir("/proc/self/task")))
        return convert(frame, threads)

    monkeypatch.setattr(reader, "rgb_image", counting)
    before = len(os.listdir("/proc/self/task"))
    result = read_shots([shot], "uniform", 4, threads)[0]
    return before, counts, [np.asarray(i).tobytes() for i in result.images]


@pytest.mark.skipif(not os.path.isdir("/proc/self/task"), reason="counts threads in /proc")
def test_decoder_threads_reach_ffmpeg_and_never_change_a_pixel(tmp_path, monkeypatch):
    """Each decode worker gets its share of the cores: with one thread FFmpeg starts none of its
    own (left to itself it starts one per core, which 16 workers on 16 cores multiply by 16)."""
    write_video(tmp_path / "00001.mp4", 75, size=(160, 120), codec="libx264", gop=250)
    write_boundaries(tmp_path / "msb" / "00001.tsv", [(0, 74)])
    [shot] = video_shots(tmp_path, tmp_path / "msb")
    before, one, pixels_one = _threads_while_converting(monkeypatch, shot, 1)
    assert one and max(one) == before
    if len(os.sched_getaffinity(0)) > 1:        # FFmpeg's own choice: threads to spare
        before, auto, pixels_auto = _threads_while_converting(monkeypatch, shot, 0)
        assert max(auto) > before
        assert pixels_auto == pixels_one


def test_decode_workers_share_the_cores_out(monkeypatch):
    from trecvid_fpig.extract import reader

    monkeypatch.setattr(reader, "usable_cores", lambda: 16)
    assert [reader.decoder_threads(n) for n in (0, 1, 2, 3, 16, 40)] == [0, 16, 8, 5, 1, 1]


def test_each_decode_worker_is_told_its_share_of_the_cores(tmp_path, collection, monkeypatch):
    from trecvid_fpig.extract import reader, runner

    monkeypatch.setattr(job, "open_encoder", lambda c, d, p, t=None: FakeVideoEncoder())
    told = tmp_path / "threads"
    read = runner.read_shots

    def telling(shots, sampling, frames, threads=0):
        with open(told, "a") as fh:                 # workers are other processes
            fh.write(f"{threads}\n")
        return read(shots, sampling, frames, threads)

    monkeypatch.setattr(runner, "read_shots", telling)
    for workers in (0, 2):
        told.write_text("")
        invoke("features", "extract", "--checkpoint", "x.pt", "--videos", collection[0],
               "--boundaries", collection[1], "--workers", workers, "--quiet",
               tmp_path / f"w{workers}.fpig")
        assert set(told.read_text().split()) == {str(reader.decoder_threads(workers))}


def test_an_avi_of_x264_numbers_its_frames_from_its_first(tmp_path):
    """AVI's stream starts one tick before an x264 AVI's first frame: numbered from the start,
    frame n was frame n - 1, and a shot's first frame taken was the shot before's last."""
    path = write_video(tmp_path / "00001.avi", 60, gop=12)
    write_boundaries(tmp_path / "msb" / "00001.tsv", [(0, 29), (30, 59)])
    shots = video_shots(tmp_path, tmp_path / "msb")
    assert shots[0].source == str(path)
    for shot, result in zip(shots, read_shots(shots, "uniform", 4)):
        assert numbers(result) == list(result.taken)
        assert result.taken[0] == shot.frames[0] and result.taken[-1] == shot.frames[1]


def test_a_raw_stream_without_timestamps_is_numbered_by_count(tmp_path):
    """A raw .h264 stream's frames have no pts: its shots failed as if the video ended before
    them. Its frames are now numbered by their place in a sequential decode."""
    write_video(tmp_path / "00001.h264", 60)
    write_boundaries(tmp_path / "msb" / "00001.tsv", [(0, 29), (30, 59)])
    for result in read_shots(video_shots(tmp_path, tmp_path / "msb"), "uniform", 4):
        assert numbers(result) == list(result.taken)
    assert [r.taken for r in read_shots(video_shots(tmp_path, tmp_path / "msb"), "uniform",
                                        4)] == [(0, 10, 19, 29), (30, 40, 49, 59)]