"""open_clip's eval transform as integer tensor ops, bit-identical to Pillow, on any torch device.

open_clip resizes a frame's short side to the tower's size with torchvision's ``Resize``
(``PIL.Image.resize(..., BICUBIC)``), centre-crops it, converts it to RGB, scales by 1/255 and
normalises. Pillow's resampling (``src/libImaging/Resample.c``) is fixed-point arithmetic:

- per output pixel, bicubic weights (a = -0.5, support scaled by the downscale factor) are
  computed in float64 and normalised (``precompute_coeffs``), then turned into 22-bit integers
  rounded half away from zero (``normalize_coeffs_8bpc``, ``PRECISION_BITS = 32 - 8 - 2``);
- a horizontal and a vertical pass (each only when that side's size changes; which one runs
  first depends on the Pillow version and the size: :func:`pass_order`), each summing
  ``pixel * weight`` in an int32 that starts at ``1 << 21``, shifted right by 22 and clipped
  to 0..255, with 8-bit pixels between the passes.

Here the weights are computed once per (input size, output size) on the CPU with the same float64
operations in the same order (Python floats are IEEE doubles, as Pillow's are on x86-64, whose
builds do not contract to FMA), and each pass is a loop over the filter's taps of
gather x weight, accumulated in int32: integers, so every device gives the same bits. Only the
output pixels the centre crop keeps are computed (each output pixel is independent of the
others), and the first pass only over the lines the second reads, as Pillow does.

Frames are ``uint8`` tensors ``[N, H, W, C]`` (``C = 3`` for RGB, ``1`` for L), one size per
call; an L frame comes out as RGB (its value in the three channels), as ``convert("RGB")``
gives it. The 32-bit, 16-bit and float modes and the premultiplied-alpha and palette paths of
Pillow are not reproduced: callers keep Pillow for those.
"""
from __future__ import annotations

from functools import lru_cache
from typing import TYPE_CHECKING, Optional, Sequence, Tuple

import numpy as np

if TYPE_CHECKING:  # pragma: no cover
    import torch

PRECISION_BITS = 32 - 8 - 2
BICUBIC_SUPPORT = 2.0


def resized_size(height: int, width: int, size: int) -> Tuple[int, int]:
    """torchvision's ``Resize(size)`` for an int `size`: the short side becomes `size`, the
    long side ``int(size * long / short)`` (``_compute_resized_output_size``, no max_size)."""
    if width <= height:
        return int(size * height / width), size
    return size, int(size * width / height)


def crop_start(length: int, crop: int) -> int:
    """torchvision's ``center_crop`` offset: ``int(round((length - crop) / 2.0))``."""
    return int(round((length - crop) / 2.0))


def _bicubic(x: np.ndarray) -> np.ndarray:
    """Pillow's ``bicubic_filter`` (a = -0.5), the same float64 operations in the same order."""
    x = np.abs(x)
    near = ((-0.5 + 2.0) * x - (-0.5 + 3.0)) * x * x + 1
    far = (((x - 5) * x + 8) * x - 4) * -0.5
    return np.where(x < 1.0, near, np.where(x < 2.0, far, 0.0))


@lru_cache(maxsize=256)
def pil_weights(in_size: int, out_size: int, first: int, count: int
                ) -> Tuple[np.ndarray, np.ndarray]:
    """Pillow's fixed-point weights for outputs ``first .. first+count-1`` of an
    `in_size` -> `out_size` bicubic resize: ``(index [count, K] int64, weight [count, K]
    int32)``, taps past an output's window given weight 0 (and a valid index).

    ``precompute_coeffs`` with ``box = (0, in_size)``, then ``normalize_coeffs_8bpc``.
    """
    scale = float(in_size) / out_size
    filterscale = max(scale, 1.0)
    support = BICUBIC_SUPPORT * filterscale
    ksize = int(np.ceil(support)) * 2 + 1
    ss = 1.0 / filterscale
    center = 0.0 + (np.arange(first, first + count, dtype=np.float64) + 0.5) * scale
    xmin = np.maximum((center - support + 0.5).astype(np.int64), 0)    # C's (int): truncation
    xmax = np.minimum((center + support + 0.5).astype(np.int64), in_size) - xmin
    taps = np.arange(ksize)
    inside = taps[None, :] < xmax[:, None]
    weights = np.where(inside, _bicubic(((taps[None, :] + xmin[:, None]) - center[:, None]
                                         + 0.5) * ss), 0.0)
    total = np.zeros(count)
    for tap in range(ksize):               # Pillow sums the taps in order: so does this
        total = total + weights[:, tap]
    weights = np.where(total[:, None] != 0.0,
                       weights / np.where(total == 0.0, 1.0, total)[:, None], weights)
    scaled = weights * (1 << PRECISION_BITS)
    fixed = np.where(weights < 0, np.trunc(-0.5 + scaled), np.trunc(0.5 + scaled))
    used = int(xmax.max())                # the widest window: the taps a pass loops over
    index = np.minimum(xmin[:, None] + taps[None, :used], in_size - 1)
    return index.astype(np.int64), fixed[:, :used].astype(np.int32)


@lru_cache(maxsize=256)
def _device_weights(in_size: int, out_size: int, first: int, count: int, offset: int,
                    channels: int, device: str) -> Tuple["torch.Tensor", "torch.Tensor"]:
    """:func:`pil_weights` on `device`, its indices counted from source pixel `offset`; with
    `channels` > 1, for rows of interleaved channels: output column ``j*C + c`` reads input
    columns ``i*C + c`` with output pixel j's weights."""
    import torch

    index, weight = pil_weights(in_size, out_size, first, count)
    index = index - offset
    if channels > 1:
        index = (index[:, None, :] * channels
                 + np.arange(channels)[None, :, None]).reshape(count * channels, -1)
        weight = np.repeat(weight, channels, axis=0)
    return torch.from_numpy(index).to(device), torch.from_numpy(weight).to(device)


def _resample(pixels: "torch.Tensor", dim: int, in_size: int, out_size: int,
              first: int, count: int, offset: int = 0) -> "torch.Tensor":
    """One of Pillow's passes along `dim` (1: rows, 2: columns) of ``uint8 [N,H,W,C]`` whose
    index 0 is source pixel `offset`, for outputs ``first .. first+count-1``:
    ``clip8((1 << 21) + sum(pixel * weight)) >> 22`` per output, summed in int32 over the
    taps, each tap one gather of whole rows (``index_select`` on a 2-D or 3-D view)."""
    import torch

    n, height, width, channels = pixels.shape
    if dim == 2:        # columns: a [N*H, W*C] matrix whose columns interleave the channels
        source = pixels.reshape(n * height, width * channels)
        index, weight = _device_weights(in_size, out_size, first, count, offset, channels,
                                        str(pixels.device))
        out_shape, weight_view = (n * height, count * channels), (1, -1)
    else:               # rows: [N, H, W*C], one weight per output row
        source = pixels.reshape(n, height, width * channels)
        index, weight = _device_weights(in_size, out_size, first, count, offset, 1,
                                        str(pixels.device))
        out_shape, weight_view = (n, count, width * channels), (1, -1, 1)
    acc = torch.full(out_shape, 1 << (PRECISION_BITS - 1), dtype=torch.int32,
                     device=pixels.device)
    for tap in range(index.shape[1]):
        taken = source.index_select(1, index[:, tap]).to(torch.int32)   # 8-bit until here
        acc.add_(taken.mul_(weight[:, tap].view(weight_view)))
    out = acc.bitwise_right_shift_(PRECISION_BITS).clamp_(0, 255).to(torch.uint8)
    return out.reshape(n, height, count, channels) if dim == 2 else \
        out.reshape(n, count, width, channels)


class NotExact(ValueError):
    """Pillow resizes this size in an order neither of the two passes' orders reproduces."""


def resize_crop(frames: "torch.Tensor", size: int) -> "torch.Tensor":
    """``uint8 [N,H,W,C]`` -> ``uint8 [N,size,size,3]``: torchvision's ``Resize(size,
    BICUBIC)`` on the PIL image, ``CenterCrop(size)`` and ``convert("RGB")``, bit for bit."""
    if frames.dim() != 4 or frames.shape[3] not in (1, 3):
        raise ValueError(f"frames must be uint8 [N,H,W,1 or 3], got {tuple(frames.shape)}")
    height, width = int(frames.shape[1]), int(frames.shape[2])
    new_h, new_w = resized_size(height, width, size)
    # (dim, source length, resized length, first output kept by the crop) of each pass
    passes = {1: (1, height, new_h, crop_start(new_h, size)),
              2: (2, width, new_w, crop_start(new_w, size))}
    out = frames
    for dim, length, resized, first in list(passes.values()):
        if resized == length:              # no pass on this side: Pillow copies, we crop
            out = out.narrow(dim, first, size)
            del passes[dim]
    if len(passes) == 2:
        first_pass = pass_order(height, width, new_h, new_w)
        if first_pass is None:
            raise NotExact(f"Pillow's bicubic resize of {width}x{height} to {new_w}x{new_h} "
                           f"is neither pass order of exact_resize")
        order = (1, 2) if first_pass == "vertical" else (2, 1)
        lead, follow = (passes[d] for d in order)
        # The first pass only over the source lines the second reads, as Pillow does.
        index, _ = pil_weights(follow[1], follow[2], follow[3], size)
        start = int(index.min())
        out = out.narrow(follow[0], start, int(index.max()) + 1 - start)
        out = _resample(out, *lead, size)
        out = _resample(out, *follow, size, offset=start)
    elif passes:
        out = _resample(out, *next(iter(passes.values())), size)
    if out.shape[3] == 1:
        out = out.expand(-1, -1, -1, 3)
    return out.contiguous()


@lru_cache(maxsize=256)
def pass_order(height: int, width: int, new_h: int, new_w: int) -> Optional[str]:
    """Which pass Pillow runs first for this resize: ``"horizontal"`` or ``"vertical"``.

    Pillow's source up to 13.0.0.dev0 always runs the horizontal pass first; 13.0.0 runs the
    vertical one first "if height is scaled down significantly more than width"
    (python-pillow/Pillow PR #9549, merged after 13.0.0.dev0): every vertical downscale with a
    horizontal upscale, some downscales of both sides, by a threshold in ``Resample.c`` that
    later releases may tune. The arithmetic of each pass is the same either way, so rather
    than copy that threshold the order is asked of the installed Pillow, once per size: it
    resizes a probe image of this size (noise) and the order that gives its bytes is taken;
    when both orders do, a second probe (black-and-white noise, whose overshoots clip) decides,
    and horizontal is taken if both still do. None (cached too) when neither does:
    :func:`resize_crop` then raises :class:`NotExact`.
    """
    import torch
    from PIL import Image

    rng = np.random.default_rng(height * 65537 + width)
    probes = (lambda: rng.integers(0, 256, (height, width), dtype=np.uint8),
              lambda: np.where(rng.random((height, width)) < 0.5, 0, 255).astype(np.uint8))
    fits = {"horizontal": True, "vertical": True}
    for make_probe in probes:
        if not all(fits.values()):
            break
        probe = make_probe()
        expected = torch.from_numpy(np.array(
            Image.fromarray(probe, "L").resize((new_w, new_h), Image.Resampling.BICUBIC)))
        pixels = torch.from_numpy(probe).view(1, height, width, 1)
        for order, dims in (("horizontal", (2, 1)), ("vertical", (1, 2))):
            if fits[order]:
                out = pixels
                for dim in dims:
                    length, resized = (width, new_w) if dim == 2 else (height, new_h)
                    out = _resample(out, dim, length, resized, 0, resized)
                fits[order] = torch.equal(out[0, :, :, 0], expected)
    for order, fit in fits.items():
        if fit:
            return order
    return None


def normalize(pixels: "torch.Tensor", mean: Sequence[float], std: Sequence[float]
              ) -> "torch.Tensor":
    """``uint8 [N,H,W,3]`` -> the tower's ``float32 [N,3,H,W]``: ``ToTensor`` (to float, /255)
    and ``Normalize`` (``sub_(mean).div_(std)`` per channel), the operations torchvision
    applies per image, on the whole batch at once, written into one buffer."""
    import torch

    x = torch.empty((pixels.shape[0], pixels.shape[3], *pixels.shape[1:3]),
                    dtype=torch.get_default_dtype(), device=pixels.device)
    x.copy_(pixels.permute(0, 3, 1, 2)).div_(255)
    mean_t, std_t = (torch.as_tensor(v, dtype=x.dtype, device=x.device).view(-1, 1, 1)
                     for v in (mean, std))
    return x.sub_(mean_t).div_(std_t)


def open_clip_transform(frames: "torch.Tensor", size: int, mean: Sequence[float],
                        std: Sequence[float]) -> "torch.Tensor":
    """open_clip's eval transform (``image_transform(size, is_train=False)``) on a batch of
    one size: ``uint8 [N,H,W,1 or 3]`` -> ``float32 [N,3,size,size]``, on `frames`' device."""
    return normalize(resize_crop(frames, size), mean, std)
