"""`features extract` without videos: sampling rules, shot listing, keyframes end to end (with a
fake tower of the agreed interface), failures, resume refusal, and the CLI's errors."""
import json

import numpy as np
import pytest
from support.cli import invoke
from support.extraction import keyframe_collection

from trecvid_fpig.errors import InputError
from trecvid_fpig.extract.reader import clip4clip_frames, thin, uniform_frames
from trecvid_fpig.extract.shots import keyframe_shots, read_boundaries, select, table_shots
from trecvid_fpig.formats.store import read_features


def clip4clip_reference(first, last, fps, frames):
    """CLIP4Clip's loader, re-stated: one frame per second (sec*fps from the start, while in
    the shot), then np.linspace(0, n-1, frames, dtype=int) of them when there are more."""
    per_second, sec = [], 0
    while first + int(sec * fps) <= last:
        per_second.append(first + int(sec * fps))
        sec += 1
    if len(per_second) > frames:
        per_second = [per_second[i] for i in np.linspace(0, len(per_second) - 1, frames,
                                                         dtype=int)]
    return per_second


@pytest.mark.parametrize("first,last,fps,frames,expected", [
    (0, 0, 25, 12, [0]),                       # one-frame shot
    (100, 124, 25, 12, [100]),                 # shorter than a second: its first frame
    (100, 125, 25, 12, [100, 125]),            # a second and one frame
    (0, 299, 25, 12, list(range(0, 300, 25))),  # 12 s: exactly 12 seconds
    (0, 749, 25, 12, [0, 50, 125, 175, 250, 325, 375, 450, 525, 575, 650, 725]),  # 30 s
    (7, 100, 29.97, 3, [7, 7 + 29, 7 + 89]),   # NTSC: int(k*fps); 4 seconds -> positions 0, 1, 3
])
def test_clip4clip_sampler(first, last, fps, frames, expected):
    assert clip4clip_frames(first, last, fps, frames) == expected
    assert clip4clip_frames(first, last, fps, frames) == clip4clip_reference(first, last, fps,
                                                                             frames)


def test_clip4clip_sampler_matches_reference_on_many_shots():
    rng = np.random.default_rng(0)
    for _ in range(300):
        first = int(rng.integers(0, 1000))
        last = first + int(rng.integers(0, 2000))
        fps = float(rng.choice([23.976, 25, 29.97, 30, 50, 59.94]))
        frames = int(rng.integers(1, 20))
        assert clip4clip_frames(first, last, fps, frames) == \
            clip4clip_reference(first, last, fps, frames)


@pytest.mark.parametrize("first,last,frames,expected", [
    (10, 20, 3, [10, 15, 20]),
    (0, 10, 4, [0, 3, 7, 10]),                 # 3.33 -> 3, 6.67 -> 7
    (0, 2, 5, [0, 1, 2]),                      # fewer frames than asked: each once
    (5, 5, 12, [5]),
    (0, 99, 1, [0]),
])
def test_uniform_sampler_takes_first_and_last(first, last, frames, expected):
    assert uniform_frames(first, last, frames) == expected


def test_thin_keeps_all_or_spreads_with_both_ends():
    assert thin(3, 12) == [0, 1, 2]
    assert thin(10, 4) == [0, 3, 6, 9]


def test_keyframes_match_by_prefix_shot_1_never_takes_shot_12(tmp_path):
    root = tmp_path / "kf"
    for name in ("00001/shot00001_1_RKF.png", "00001/shot00001_1_3.jpg",
                 "00001/shot00001_12_RKF.png", "00001/shot00001_2_RKF.webp",
                 "00001/shot00001_10_RKF.JPEG", "00001/notes.txt", "00001/shot00001_1.png",
                 "shot00002_1_RKF.png"):                 # a flat file beside the tree
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_bytes(b"x")
    shots = keyframe_shots(root)
    assert [s.shot_id for s in shots] == ["shot00001_1", "shot00001_2", "shot00001_10",
                                          "shot00001_12", "shot00002_1"]
    images = {s.shot_id: [p.split("/")[-1] for p in s.images] for s in shots}
    assert images["shot00001_1"] == ["shot00001_1_3.jpg", "shot00001_1_RKF.png"]
    assert images["shot00001_12"] == ["shot00001_12_RKF.png"]


def test_boundaries_errors_name_file_and_line(tmp_path):
    bad_header = tmp_path / "00001.tsv"
    bad_header.write_text("start\tend\n0\t10\n")
    with pytest.raises(InputError, match=r"00001.tsv:1: expected the header"):
        read_boundaries(bad_header)
    short_row = tmp_path / "00002.tsv"
    short_row.write_text("startframe\tstarttime\tendframe\tendtime\n0\t0.0\t9\t0.4\n10\t0.4\t20\n")
    with pytest.raises(InputError, match=r"00002.tsv:3: expected 4 columns"):
        read_boundaries(short_row)
    backwards = tmp_path / "00003.tsv"
    backwards.write_text("startframe\tstarttime\tendframe\tendtime\n9\t0.4\t3\t0.1\n")
    with pytest.raises(InputError, match=r"00003.tsv:2: endframe 3 is before startframe 9"):
        read_boundaries(backwards)
    fine = tmp_path / "00004.tsv"
    fine.write_text("startframe starttime endframe endtime\n0 0 4 0.2\n5 0.2 5 0.24\n")
    assert read_boundaries(fine) == [(0, 4), (5, 5)]


def test_boundaries_error_reaches_the_cli_as_file_line(tmp_path):
    (tmp_path / "v").mkdir()
    (tmp_path / "b").mkdir()
    (tmp_path / "b" / "00001.tsv").write_text("frame\ttime\n")
    result = invoke("features", "extract", "--checkpoint", "none.pt", "--videos", tmp_path / "v",
                    "--boundaries", tmp_path / "b", tmp_path / "out.fpig", ok=False)
    assert result.exit_code == 2
    assert f"{tmp_path / 'b' / '00001.tsv'}:1: expected the header" in result.stderr


def test_select_orders_by_shots_list_excludes_and_reports_unknown(tmp_path):
    shots = keyframe_shots(keyframe_collection(tmp_path, {"shot00001_1": 1, "shot00001_2": 1,
                                                          "shot00002_1": 1}))
    kept, missing = select(shots, ["shot00002_1", "shot00009_9", "shot00001_1", "shot00001_2"],
                           {"shot00001_2"})
    assert [s.shot_id for s in kept] == ["shot00002_1", "shot00001_1"]
    assert [m.shot_id for m in missing] == ["shot00009_9"]


def test_shot_table_reads_seconds_and_names_bad_rows(tmp_path):
    table = tmp_path / "clips.csv"
    table.write_text("shot_id,video,start,end\nvideo7,video7.mp4,0,10.5\nvideo8,v/8.mp4,2,3\n")
    shots = table_shots(table)
    assert [(s.shot_id, s.seconds) for s in shots] == [("video7", (0.0, 10.5)),
                                                       ("video8", (2.0, 3.0))]
    assert shots[1].source == str(tmp_path / "v" / "8.mp4")
    table.write_text("shot_id,video,start,end\nvideo7,video7.mp4,5,1\n")
    with pytest.raises(InputError, match=r"clips.csv:2: needs 0 <= start < end"):
        table_shots(table)
    table.write_text("shot,video,start,end\n")
    with pytest.raises(InputError, match="lacks column"):
        table_shots(table)


def test_keyframes_store_matches_the_tower_on_open_clip_preprocessed_images(tmp_path, fake_tower):
    import torch
    from PIL import Image

    counts = {"shot00001_1": 3, "shot00001_2": 1, "shot00001_12": 14, "shot00002_1": 2}
    root = keyframe_collection(tmp_path / "kf", counts)
    out = tmp_path / "kf.fpig"
    result = invoke("features", "extract", "--checkpoint", "x.pt", "--keyframes", root,
                    "--frames", "4", "--workers", "1", "--quiet", "--keep-frames", out)
    assert result.stdout == ""
    store = read_features(out)
    assert store.ids == ("shot00001_1", "shot00001_2", "shot00001_12", "shot00002_1")
    offsets = np.load(out / "frame_offsets.npy")
    assert offsets.tolist() == [0, 3, 4, 8, 10]          # shot 12's 14 images thinned to 4
    frames = np.load(out / "frames.npy")
    transform = fake_tower.preprocess()       # open_clip's whole transform, on the PIL image
    for row, shot in enumerate(store.ids):
        paths = sorted((root / shot[4:9]).glob(f"{shot}_*"),
                       key=lambda p: int(p.name.split("_")[2]))
        paths = [paths[i] for i in thin(len(paths), 4)]
        pixels = torch.stack([transform(Image.open(p)) for p in paths])[None]
        shot_vec, frame_vecs = fake_tower.encode(pixels, torch.ones(1, len(paths), dtype=bool))
        np.testing.assert_array_equal(store.matrix[row], shot_vec[0].numpy())
        np.testing.assert_array_equal(frames[offsets[row]:offsets[row + 1]], frame_vecs[0].numpy())
    manifest = store.manifest
    assert manifest["extract"]["sampling"] == "keyframes"
    assert manifest["extract"]["tower"]["kind"] == "fake"
    assert manifest["extract"]["decoder"]["pillow"]
    assert not (tmp_path / "kf.fpig.shards").exists()


def test_corrupt_image_fails_the_shot_then_allow_missing_leaves_it_out(tmp_path, fake_tower):
    root = keyframe_collection(tmp_path / "kf", {"shot00001_1": 1, "shot00001_2": 2,
                                                 "shot00001_3": 1})
    (root / "00001" / "shot00001_2_2_RKF.png").write_bytes(b"\x89PNG\r\n\x1a\nbroken")
    out = tmp_path / "kf.fpig"
    args = ("features", "extract", "--checkpoint", "x.pt", "--keyframes", root, "--workers", "0",
            "--quiet", out)
    result = invoke(*args, ok=False)
    assert result.exit_code == 1
    assert "shot00001_2" in result.stderr and "--allow-missing" in result.stderr
    assert not out.exists()
    failed = (tmp_path / "kf.fpig.failed.tsv").read_text().splitlines()
    assert failed[0] == "shot\tfile\treason"
    shot, path, reason = failed[1].split("\t")
    assert (shot, path.endswith("shot00001_2_2_RKF.png")) == ("shot00001_2", True)
    assert reason.startswith("cannot decode image")
    invoke(*args, "--allow-missing")
    store = read_features(out)
    assert store.ids == ("shot00001_1", "shot00001_3")
    assert store.manifest["extract"]["failed"][0][0] == "shot00001_2"
    assert (tmp_path / "kf.fpig.failed.tsv").exists()


def test_resume_with_other_settings_is_refused_naming_them(tmp_path, fake_tower):
    root = keyframe_collection(tmp_path / "kf", {"shot00001_1": 1, "shot00001_2": 1})
    (root / "00001" / "shot00001_2_1_RKF.png").write_bytes(b"not a png")
    out = tmp_path / "kf.fpig"
    base = ("features", "extract", "--checkpoint", "x.pt", "--keyframes", root, "--workers", "0",
            "--quiet", out)
    assert invoke(*base, "--frames", "2", ok=False).exit_code == 1   # leaves its shards
    refused = invoke(*base, "--frames", "3", ok=False)
    assert refused.exit_code == 2
    assert "different settings (frames: 2 -> 3)" in refused.stderr
    assert "--overwrite" in refused.stderr
    assert invoke(*base, "--frames", "3", "--overwrite", ok=False).exit_code == 1


def test_existing_store_needs_overwrite_and_bad_inputs_are_one_line(tmp_path, fake_tower):
    root = keyframe_collection(tmp_path / "kf", {"shot00001_1": 1})
    out = tmp_path / "kf.fpig"
    invoke("features", "extract", "--checkpoint", "x.pt", "--keyframes", root, "--quiet", out)
    again = invoke("features", "extract", "--checkpoint", "x.pt", "--keyframes", root, out,
                   ok=False)
    assert again.exit_code == 2 and "pass --overwrite" in again.stderr
    none = invoke("features", "extract", "--checkpoint", "x.pt", tmp_path / "o.fpig", ok=False)
    assert "give one input" in none.stderr
    videos = invoke("features", "extract", "--checkpoint", "x.pt", "--videos", tmp_path,
                    tmp_path / "o.fpig", ok=False)
    assert "--videos needs --boundaries" in videos.stderr
    wrong = invoke("features", "extract", "--checkpoint", "x.pt", "--keyframes", root,
                   "--sampling", "uniform", tmp_path / "o.fpig", ok=False)
    assert "does not fit --keyframes" in wrong.stderr


def test_summary_line_and_manifest_settings(tmp_path, fake_tower):
    root = keyframe_collection(tmp_path / "kf", {"shot00001_1": 2, "shot00001_2": 1})
    out = tmp_path / "kf.fpig"
    result = invoke("features", "extract", "--checkpoint", "x.pt", "--keyframes", root,
                    "--dtype", "float16", "--workers", "0", out)
    assert f"wrote {out}: 2 shots x 8 float16 (fake, keyframes" in result.stdout
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["dtype"] == "float16" and manifest["count"] == 2
    assert manifest["extract"]["settings"]["frames"] == 12
    assert read_features(out).matrix.dtype == np.float16
    invoke("features", "inspect", "--verify", out)      # the manifest's hashes hold


def test_second_extraction_into_the_same_store_is_refused_and_files_respect_the_umask(
        tmp_path, fake_tower):
    import os
    import subprocess
    import sys

    root = keyframe_collection(tmp_path / "kf", {"shot00001_1": 1, "shot00001_2": 2})
    out = tmp_path / "kf.fpig"
    holder = subprocess.Popen(
        [sys.executable, "-c", "import sys, time\nfrom trecvid_fpig.base.locks import output_lock\n"
         "with output_lock(sys.argv[1]):\n    print('held', flush=True)\n    time.sleep(60)\n",
         str(out)], stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "held"
        refused = invoke("features", "extract", "--checkpoint", "x.pt", "--keyframes", root,
                         "--quiet", out, ok=False)
        assert refused.exit_code == 2 and f"pid {holder.pid}" in refused.stderr
        assert not out.exists() and not (tmp_path / "kf.fpig.shards").exists()
    finally:
        holder.kill()
        holder.wait()
    old = os.umask(0o022)
    try:
        invoke("features", "extract", "--checkpoint", "x.pt", "--keyframes", root, "--quiet", out)
    finally:
        os.umask(old)
    assert out.stat().st_mode & 0o777 == 0o755
    assert {p.name: p.stat().st_mode & 0o777 for p in out.iterdir()} == {
        "manifest.json": 0o644, "features.npy": 0o644, "ids.npy": 0o644}
    assert sorted(p.name for p in tmp_path.iterdir()) == ["kf", "kf.fpig"]


def test_a_rerun_on_other_keyframes_redoes_the_shards_made_from_the_first(tmp_path, fake_tower):
    """Resuming keeps a shard only if its shots come from the same files: rerun on a second
    copy of the collection (other pixels, the same names), the store was half the first's."""
    shots = {f"shot00001_{n}": 1 for n in range(1, 5)}
    first = keyframe_collection(tmp_path / "first", shots, seed=1)
    second = keyframe_collection(tmp_path / "second", shots, seed=2)
    (first / "00001" / "shot00001_4_1_RKF.png").write_bytes(b"broken")

    def extract(root, out, ok=True):
        return invoke("features", "extract", "--checkpoint", "x.pt", "--keyframes", root,
                      "--workers", "0", "--shard-size", "2", "--quiet", out, ok=ok)

    assert extract(first, tmp_path / "kf.fpig", ok=False).exit_code == 1   # shard 0 is done
    extract(second, tmp_path / "kf.fpig")
    extract(second, tmp_path / "fresh.fpig")
    for name in ("features.npy", "ids.npy"):
        assert (tmp_path / "kf.fpig" / name).read_bytes() == \
            (tmp_path / "fresh.fpig" / name).read_bytes()


def test_a_shots_plan_names_its_files_absolutely_and_its_frames(tmp_path, monkeypatch):
    """Corrected boundaries (the same shot ids) or the same files named from elsewhere."""
    from trecvid_fpig.extract.shots import Shot

    monkeypatch.chdir(tmp_path)
    shot = Shot("shot00001_1", "v/00001.mp4", frames=(0, 24))
    assert shot.plan() != Shot("shot00001_1", "v/00001.mp4", frames=(0, 25)).plan()
    assert shot.plan() == Shot("shot00001_1", str(tmp_path / "v/00001.mp4"),
                               frames=(0, 24)).plan()
