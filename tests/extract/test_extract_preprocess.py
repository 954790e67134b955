"""``--preprocess device`` (workers send full-size frames, exact_resize runs beside the tower)
writes the store that ``--preprocess cpu`` (PIL in the workers) writes, byte for byte: keyframes
of every image mode and size, and videos."""
import errno
import glob
import json
import os

import numpy as np
import pytest
from support.cli import invoke
from support.extraction import FakeVideoEncoder, write_boundaries

from trecvid_fpig.extract import job, shared_frames
from trecvid_fpig.extract.runner import DecodeSpec, work_units
from trecvid_fpig.extract.shots import keyframe_shots

STORE_FILES = ("features.npy", "ids.npy", "frames.npy", "frame_offsets.npy")


def _mode_keyframes(root):
    """One shot per Pillow mode, each with frames of two sizes (portrait and landscape, one
    that Pillow resizes vertical pass first), and a plain RGB shot of three same-size frames."""
    from PIL import Image

    rng = np.random.default_rng(4)

    def rgb(height, width):
        return Image.fromarray(rng.integers(0, 256, (height, width, 3), dtype=np.uint8))

    def in_mode(mode, height, width):
        image = rgb(height, width)
        alpha = Image.fromarray(rng.integers(0, 256, (height, width), dtype=np.uint8))
        if mode in ("P", "PA"):
            image = image.quantize(64).convert(mode) if mode == "PA" else image.quantize(64)
        elif mode == "I;16":
            return Image.fromarray(rng.integers(0, 65536, (height, width)).astype(np.uint16))
        elif mode != "RGB":
            image = image.convert({"LA": "L", "RGBA": "RGB"}.get(mode, mode))
        if mode in ("PA", "RGBA", "LA"):
            image.putalpha(alpha)
        return image

    suffix = {"CMYK": "jpg", "PA": "tif"}
    for number, mode in enumerate(("RGB", "L", "P", "PA", "RGBA", "LA", "CMYK", "I;16"), 1):
        folder = root / "00001"
        folder.mkdir(parents=True, exist_ok=True)
        for k, (height, width) in enumerate(((45, 70), (61, 29)), 1):
            in_mode(mode, height, width).save(
                folder / f"shot00001_{number}_{k}.{suffix.get(mode, 'png')}")
    for k in range(1, 4):
        rgb(36, 64).save(root / "00001" / f"shot00001_9_{k}.png")
    return root


def _extract(out, preprocess, workers, *inputs):
    invoke("features", "extract", "--checkpoint", "x.pt", *inputs, "--device", "cpu",
           "--preprocess", preprocess, "--workers", workers, "--keep-frames", "--quiet", out)
    return json.loads((out / "manifest.json").read_text())["extract"]


def _same_store(a, b):
    for name in STORE_FILES:
        assert (a / name).read_bytes() == (b / name).read_bytes(), name


@pytest.mark.parametrize("workers", [0, pytest.param(2, marks=pytest.mark.slow)])
def test_every_image_mode_gives_the_cpu_store_bytes(tmp_path, fake_tower, workers):
    root = _mode_keyframes(tmp_path / "kf")
    cpu = _extract(tmp_path / "cpu.fpig", "cpu", workers, "--keyframes", root)
    device = _extract(tmp_path / "device.fpig", "device", workers, "--keyframes", root)
    _same_store(tmp_path / "device.fpig", tmp_path / "cpu.fpig")
    assert device["preprocess"] == "device" and cpu["preprocess"] == "cpu"
    # Where the resize ran is not a setting: a store resumes across it.
    assert device["settings_sha256"] == cpu["settings_sha256"]
    # The tower's time split into preparing the batch (here: the resize) and the tower.
    stages = device["timings"]["shard_stage_sums_s"]
    assert 0 < stages["encode_prepare"] and 0 < stages["encode_tower"]
    assert stages["encode_prepare"] + stages["encode_tower"] <= stages["encode"] + 0.01


def _no_space(fd, size):
    raise OSError(errno.ENOSPC, "No space left on device")


@pytest.mark.slow
def test_workers_send_full_size_frames_through_shared_memory_and_leave_none(
        tmp_path, fake_tower, monkeypatch):
    root = _mode_keyframes(tmp_path / "kf")
    received = []
    take = shared_frames.take

    def spy(items):
        received.extend(type(getattr(item, "pixels", None)).__name__ for item in items)
        return take(items)

    monkeypatch.setattr(shared_frames, "take", spy)
    _extract(tmp_path / "shm.fpig", "device", 2, "--keyframes", root)
    assert "SharedPixels" in received
    assert not glob.glob(f"/dev/shm/{shared_frames.PREFIX}-{os.getpid()}-*")
    # A full /dev/shm (posix_fallocate refuses in the forked workers): the pipe carries them.
    monkeypatch.setattr(shared_frames, "_reserve", _no_space)
    received.clear()
    _extract(tmp_path / "pipe.fpig", "device", 2, "--keyframes", root)
    assert "SharedPixels" not in received and "ndarray" in received
    _same_store(tmp_path / "pipe.fpig", tmp_path / "shm.fpig")
    assert not glob.glob(f"/dev/shm/{shared_frames.PREFIX}-{os.getpid()}-*")


def test_auto_preprocesses_in_the_workers_on_the_cpu(tmp_path, fake_tower, keyframes):
    record = _extract(tmp_path / "auto.fpig", "auto", 0, "--keyframes", keyframes)
    assert record["preprocess"] == "cpu"


class _BilinearTower(FakeVideoEncoder):
    def preprocess(self):
        from torchvision.transforms import Compose, InterpolationMode, Normalize, Resize, \
            ToTensor

        return Compose([Resize((16, 16), interpolation=InterpolationMode.BILINEAR),
                        ToTensor(), Normalize(self.mean, self.std)])


def test_device_preprocessing_of_another_transform_is_one_line(tmp_path, keyframes,
                                                               monkeypatch):
    monkeypatch.setattr(job, "open_encoder", lambda *a, **k: _BilinearTower())
    result = invoke("features", "extract", "--checkpoint", "x.pt", "--keyframes", keyframes,
                    "--device", "cpu", "--preprocess", "device", "--quiet",
                    tmp_path / "o.fpig", ok=False)
    assert result.exit_code != 0
    assert "--preprocess device needs open_clip's eval transform" in result.output
    assert "Traceback" not in result.output


def test_full_size_units_hold_at_most_48_frames(tmp_path, keyframes):
    from trecvid_fpig.extract.mapper import split_transform

    shots = keyframe_shots(str(keyframes))
    preprocess = split_transform(FakeVideoEncoder().preprocess())
    resized = work_units(shots, DecodeSpec("keyframes", 12, preprocess))
    full = work_units(shots, DecodeSpec("keyframes", 12, preprocess, full_size=True))
    assert [s for u in full for s in u] == [s for u in resized for s in u]
    many = [shots[0]] * 40                      # 40 shots of up to 3 images
    assert max(sum(len(s.images) for s in u) for u in work_units(
        many, DecodeSpec("keyframes", 12, preprocess, full_size=True))) <= 48


def _textured_video(path, frames, size=(64, 48)):
    """Lossless frames of moving noise, so every resampled pixel counts."""
    import av

    texture = np.random.default_rng(1).integers(0, 256, (size[1], 2 * size[0], 3), np.uint8)
    path.parent.mkdir(parents=True, exist_ok=True)
    with av.open(str(path), "w") as container:
        stream = container.add_stream("libx264rgb", rate=25)
        stream.width, stream.height, stream.pix_fmt = size[0], size[1], "rgb24"
        stream.options = {"crf": "0"}
        for n in range(frames):
            frame = np.ascontiguousarray(np.roll(texture, 3 * n, axis=1)[:, :size[0]])
            for packet in stream.encode(av.VideoFrame.from_ndarray(frame, format="rgb24")):
                container.mux(packet)
        for packet in stream.encode():
            container.mux(packet)
    return path


@pytest.mark.slow
def test_videos_give_the_cpu_store_bytes(tmp_path, fake_tower):
    _textured_video(tmp_path / "videos" / "00001.mp4", 120)
    _textured_video(tmp_path / "videos" / "00002.mp4", 80, size=(40, 72))
    write_boundaries(tmp_path / "msb" / "00001.tsv", [(0, 30), (31, 119)])
    write_boundaries(tmp_path / "msb" / "00002.tsv", [(0, 79)])
    inputs = ("--videos", tmp_path / "videos", "--boundaries", tmp_path / "msb")
    _extract(tmp_path / "cpu.fpig", "cpu", 2, *inputs)
    _extract(tmp_path / "device.fpig", "device", 2, *inputs)
    _same_store(tmp_path / "device.fpig", tmp_path / "cpu.fpig")


def test_an_unknown_preprocess_is_refused_before_the_tower_loads(tmp_path, keyframes):
    from trecvid_fpig.errors import InputError

    with pytest.raises(InputError, match="--preprocess must be one of auto, cpu, device"):
        job.extract_features(job.ExtractRequest(checkpoint="missing.pt", out=str(tmp_path / "o"),
                                                keyframes=str(keyframes), preprocess="gpu"))


def test_a_batch_of_mixed_sizes_is_resized_in_chunks_to_open_clips_tensors(monkeypatch):
    import torch
    from PIL import Image

    from trecvid_fpig.extract import mapper

    transform = FakeVideoEncoder().preprocess()
    preprocess = mapper.split_transform(transform)
    rng = np.random.default_rng(8)
    shots = [rng.integers(0, 256, (3, 30, 40, 3), dtype=np.uint8),
             (rng.integers(0, 256, (50, 20, 1), dtype=np.uint8),
              rng.integers(0, 256, (16, 16, 3), dtype=np.uint8)),
             rng.integers(0, 256, (2, 30, 40, 3), dtype=np.uint8)]
    monkeypatch.setattr(mapper, "RESIZE_CHUNK", 2)
    got = preprocess.resize_to_tensor(shots, "cpu")
    expected = torch.stack([transform(Image.fromarray(f[:, :, 0] if f.shape[2] == 1 else f))
                            for shot in shots for f in shot])
    assert torch.equal(got, expected)


def test_a_size_exact_resize_cannot_match_falls_back_to_pil_beside_the_tower(monkeypatch):
    import torch
    from PIL import Image

    from trecvid_fpig.extract import exact_resize, mapper

    monkeypatch.setattr(exact_resize, "pass_order", lambda *size: None)     # neither order
    transform = FakeVideoEncoder().preprocess()
    frames = np.random.default_rng(9).integers(0, 256, (2, 30, 40, 3), dtype=np.uint8)
    got = mapper.split_transform(transform).resize_to_tensor([frames], "cpu")
    expected = torch.stack([transform(Image.fromarray(f)) for f in frames])
    assert torch.equal(got, expected)
