"""exact_resize against open_clip's own eval transform on PIL images: the same float32 bits.

The reference is ``open_clip.transform.image_transform(size, is_train=False)`` applied to the
PIL image (torchvision's Resize -> ``PIL.Image.resize(BICUBIC)``, CenterCrop, RGB, ToTensor,
Normalize), so any departure from Pillow's fixed-point arithmetic shows as a changed bit.
"""
import numpy as np
import pytest
import torch
from hypothesis import example, given, settings
from hypothesis import strategies as st
from PIL import Image, ImageDraw

from trecvid_fpig.extract.exact_resize import open_clip_transform, pil_weights, resize_crop


def _reference(size):
    from open_clip.transform import image_transform

    transform = image_transform(size, is_train=False)
    normalize = transform.transforms[-1]
    return transform, normalize.mean, normalize.std


REFERENCES = {}


def _check(pixels: np.ndarray, size: int = 224) -> None:
    """`pixels` ``uint8 [H,W,3]`` (RGB) or ``[H,W]`` (L): exact_resize == open_clip, bit for bit."""
    if size not in REFERENCES:
        REFERENCES[size] = _reference(size)
    transform, mean, std = REFERENCES[size]
    expected = transform(Image.fromarray(pixels, "RGB" if pixels.ndim == 3 else "L"))
    frames = torch.from_numpy(pixels).reshape(1, *pixels.shape[:2], -1)
    got = open_clip_transform(frames, size, mean, std)[0]
    assert got.dtype == expected.dtype and got.shape == expected.shape
    if not torch.equal(got, expected):
        differ = (got != expected).sum().item()
        pytest.fail(f"{pixels.shape} -> {size}: {differ} values differ, "
                    f"max {(got - expected).abs().max().item()}")


def _noise(height, width, channels, seed):
    shape = (height, width, 3) if channels == 3 else (height, width)
    return np.random.default_rng(seed).integers(0, 256, shape, dtype=np.uint8)


def _content(height, width, kind):
    """Real-looking frames: gradients, drawn text, saturated edges (bicubic overshoot that the
    clipping to 0..255 must catch), and a mix of them with noise."""
    y, x = np.mgrid[0:height, 0:width]
    if kind == "gradient":
        r = (x * 255 // max(width - 1, 1)).astype(np.uint8)
        g = (y * 255 // max(height - 1, 1)).astype(np.uint8)
        return np.stack([r, g, ((r.astype(int) + g) // 2).astype(np.uint8)], axis=-1)
    if kind == "edges":       # 0/255 stripes and a checkerboard: every overshoot clips
        stripes = np.where((x // 3) % 2 == 0, 255, 0)
        checker = np.where(((x // 7) + (y // 5)) % 2 == 0, 255, 0)
        return np.stack([stripes, checker, 255 - stripes], axis=-1).astype(np.uint8)
    image = Image.new("RGB", (width, height), (250, 250, 245))
    draw = ImageDraw.Draw(image)
    for row in range(0, height, 14):
        draw.text((2 + row % 11, row), "TRECVID AVS shot00001_7 0123456789 " * 4,
                  fill=(row % 256, 20, 200))
    draw.rectangle([width // 4, height // 4, width // 2, height // 2], outline=(0, 0, 0),
                   width=3)
    pixels = np.array(image)
    if kind == "text":
        return pixels
    noisy = pixels.astype(int) + np.random.default_rng(7).integers(-40, 41, pixels.shape)
    return np.clip(noisy, 0, 255).astype(np.uint8)


EDGE_SIZES = [
    (1, 1), (1, 5), (5, 1), (2, 2), (3, 7),                 # upscales from almost nothing
    (224, 224), (224, 225), (225, 224), (224, 1000),        # equal to the target on a side
    (1000, 224), (223, 224), (224, 223),
    (360, 640), (640, 360), (480, 640), (720, 1280),        # video and keyframe sizes
    (227, 229), (333, 501), (999, 7), (7, 999),             # odd, extreme aspect ratios
    (448, 448), (449, 897),
    (451, 225), (196, 29), (300, 301),                      # Pillow 13 runs vertical first
]


@pytest.mark.parametrize("height,width", EDGE_SIZES)
@pytest.mark.parametrize("channels", [3, 1], ids=["RGB", "L"])
def test_edge_sizes_are_bit_identical(height, width, channels):
    _check(_noise(height, width, channels, seed=height * 7919 + width))


@pytest.mark.parametrize("kind", ["gradient", "text", "edges", "text+noise"])
@pytest.mark.parametrize("height,width", [(360, 640), (150, 97), (1080, 1920)])
def test_real_looking_content_is_bit_identical(kind, height, width):
    pixels = _content(height, width, kind)
    _check(pixels)
    _check(np.ascontiguousarray(pixels[:, :, 1]))      # the same content as L


@pytest.mark.parametrize("size", [256, 336])
def test_other_tower_sizes(size):
    _check(_noise(360, 640, 3, seed=size), size)
    _check(_content(200, 130, "text"), size)


@settings(max_examples=30, deadline=None, derandomize=True)
@given(height=st.integers(1, 400), width=st.integers(1, 400), rgb=st.booleans())
def test_random_small_sizes_are_bit_identical(height, width, rgb):
    _check(_noise(height, width, 3 if rgb else 1, seed=height * 1009 + width))


@pytest.mark.slow
@settings(max_examples=320, deadline=None, derandomize=True)
@given(height=st.integers(1, 1080), width=st.integers(1, 1920), rgb=st.booleans())
@example(height=1080, width=1920, rgb=True).via("the largest frame")
@example(height=1920, width=1080, rgb=False).via("portrait")
def test_random_sizes_up_to_1080p_are_bit_identical(height, width, rgb):
    _check(_noise(height, width, 3 if rgb else 1, seed=height * 1009 + width))


def test_a_batch_equals_its_frames_one_by_one():
    frames = torch.from_numpy(np.stack([_noise(90, 160, 3, seed=s) for s in range(5)]))
    whole = resize_crop(frames, 224)
    for row in range(len(frames)):
        assert torch.equal(whole[row], resize_crop(frames[row:row + 1], 224)[0])


def test_weights_are_pillows_fixed_point_sums():
    """Every window's weights sum to about 1 << 22; taps outside it weigh nothing."""
    index, weight = pil_weights(640, 398, 0, 398)
    sums = weight.astype(np.int64).sum(axis=1)
    assert np.all(np.abs(sums - (1 << 22)) <= weight.shape[1])
    assert index.min() >= 0 and index.max() <= 639
    # At most Pillow's ksize, ceil(2 * 640/398) * 2 + 1 = 9 taps; no tap that nothing uses.
    assert weight.shape[1] <= 9 and np.any(weight[:, -1] != 0)


def test_a_frame_that_is_not_rgb_or_l_is_refused():
    with pytest.raises(ValueError, match=r"\[N,H,W,1 or 3\]"):
        resize_crop(torch.zeros((1, 10, 10, 4), dtype=torch.uint8), 224)
