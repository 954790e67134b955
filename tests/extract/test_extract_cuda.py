"""The video towers and `features extract` on a CUDA GPU (skipped without one): fp16 autocast
stays close to the CPU's float32, and a shot's vector does not depend on its batch, the batch
size or the number of decode workers, down to the bytes of the store."""
import numpy as np
import pytest
from support.cli import invoke
from support.extraction import keyframe_collection

torch = pytest.importorskip("torch")
if not torch.cuda.is_available():
    pytest.skip("no CUDA GPU", allow_module_level=True)
pytestmark = pytest.mark.cuda

from trecvid_fpig.demo.checkpoints import save_random_checkpoint  # noqa: E402
from trecvid_fpig.encode.video_encoder import load_video_encoder  # noqa: E402
from trecvid_fpig.formats.store import read_features  # noqa: E402

LAYOUTS = [("open_clip", "meanP"), ("hf-clip", "meanP"), ("clip4clip", "meanP"),
           ("clip4clip", "seqTransf")]
#: Forty shots of 1-6 real frames in 6 slots.
MASK = torch.arange(6)[None, :] < (torch.arange(40) % 6 + 1)[:, None]


def _checkpoint(tmp_path, layout, temporal):
    return save_random_checkpoint(tmp_path / "m.pt", layout, temporal=temporal, seed=5,
                                  vision_width=128, vision_layers=2, image_size=64,
                                  patch_size=16, embed_dim=64)


def _frames(encoder, seed=0):
    generator = torch.Generator().manual_seed(seed)
    return torch.randn((*MASK.shape, 3, encoder.image_size, encoder.image_size),
                       generator=generator)


@pytest.mark.parametrize("layout,temporal", LAYOUTS)
def test_cuda_fp16_is_close_to_cpu_float32(tmp_path, layout, temporal):
    path = _checkpoint(tmp_path, layout, temporal)
    frames = _frames(load_video_encoder(path, device="cpu"))
    cpu_shots, cpu_frames = load_video_encoder(path, device="cpu").encode(frames, MASK)
    gpu_shots, gpu_frames = load_video_encoder(path, device="cuda").encode(frames, MASK)
    assert gpu_shots.device.type == "cpu" and gpu_shots.dtype == torch.float32
    assert (cpu_shots * gpu_shots).sum(-1).min() > 0.999
    assert (cpu_frames[MASK] * gpu_frames[MASK]).sum(-1).min() > 0.999
    assert not gpu_frames[~MASK].any()


@pytest.mark.parametrize("layout,temporal", LAYOUTS)
def test_cuda_shot_is_the_same_bits_alone_or_in_any_batch(tmp_path, layout, temporal):
    encoder = load_video_encoder(_checkpoint(tmp_path, layout, temporal), device="cuda")
    frames = _frames(encoder, seed=1)
    shots, per_frame = encoder.encode(frames, MASK)
    for rows in (slice(0, 1), slice(7, 8), slice(3, 11), slice(5, 40)):
        part, part_frames = encoder.encode(frames[rows], MASK[rows])
        assert torch.equal(part, shots[rows])
        assert torch.equal(part_frames[MASK[rows]], per_frame[rows][MASK[rows]])
    # Garbage in the padded slots changes nothing.
    noisy = frames.clone()
    noisy[~MASK] = 7.0
    assert torch.equal(encoder.encode(noisy, MASK)[0], shots)


def test_cuda_store_is_byte_identical_whatever_batch_size_and_workers(tmp_path):
    checkpoint = _checkpoint(tmp_path, "clip4clip", "seqTransf")
    counts = {f"shot{v:05d}_{n}": 1 + (v * 7 + n) % 5 for v in range(1, 4) for n in range(1, 16)}
    root = keyframe_collection(tmp_path / "kf", counts, size=(80, 60))
    stores = []
    for batch, workers in ((1, 0), (7, 2), (64, 3)):
        out = tmp_path / f"b{batch}-w{workers}.fpig"
        invoke("features", "extract", "--checkpoint", checkpoint, "--keyframes", root,
               "--frames", "4", "--device", "cuda", "--workers", workers, "--batch-size",
               batch, "--keep-frames", "--quiet", out)
        stores.append(out)
    names = sorted(p.name for p in stores[0].iterdir() if p.suffix == ".npy")
    assert "features.npy" in names and "frames.npy" in names
    for out in stores[1:]:
        for name in names:
            assert (out / name).read_bytes() == (stores[0] / name).read_bytes(), (out, name)
    store = read_features(stores[0])
    assert len(store.ids) == len(counts)
    np.testing.assert_allclose(np.linalg.norm(store.matrix, axis=1), 1.0, atol=1e-5)


def _full_size_frames():
    """Shots of full-size frames as the decode workers send them with --preprocess device:
    RGB and L (as [H,W,1]) of sizes Pillow resizes either pass first, and saturated content."""
    rng = np.random.default_rng(6)
    sizes = [(360, 640, 3), (640, 360, 3), (451, 225, 1), (196, 29, 3), (1080, 1920, 3),
             (224, 224, 3), (1, 1, 1), (99, 43, 3)]
    shots = []
    for height, width, channels in sizes:
        noise = rng.integers(0, 256, (3, height, width, channels), dtype=np.uint8)
        noise[1] = np.where(noise[1] < 128, 0, 255)
        shots.append(noise)
    return shots


def test_cuda_preprocessing_is_the_cpus_bits():
    """exact_resize's integer passes and the float32 scale and normalise give the CPU's bits."""
    from open_clip.transform import image_transform

    from trecvid_fpig.extract.mapper import split_transform

    preprocess = split_transform(image_transform(224, is_train=False))
    shots = _full_size_frames()
    cpu = preprocess.resize_to_tensor(shots, "cpu")
    gpu = preprocess.resize_to_tensor(shots, "cuda")
    assert gpu.device.type == "cuda" and torch.equal(gpu.cpu(), cpu)


def test_cuda_device_preprocessing_writes_the_cpu_preprocessing_store(tmp_path):
    checkpoint = _checkpoint(tmp_path, "open_clip", "meanP")
    counts = {f"shot{v:05d}_{n}": 1 + (v + n) % 3 for v in range(1, 3) for n in range(1, 9)}
    root = keyframe_collection(tmp_path / "kf", counts, size=(97, 61))
    stores = []
    for preprocess in ("cpu", "device"):
        out = tmp_path / f"{preprocess}.fpig"
        invoke("features", "extract", "--checkpoint", checkpoint, "--keyframes", root,
               "--device", "cuda", "--preprocess", preprocess, "--workers", 2,
               "--keep-frames", "--quiet", out)
        stores.append(out)
    for name in ("features.npy", "ids.npy", "frames.npy", "frame_offsets.npy"):
        assert (stores[0] / name).read_bytes() == (stores[1] / name).read_bytes(), name
