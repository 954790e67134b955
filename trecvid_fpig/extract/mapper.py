"""The video tower on a batch of shots: loaded once, called per batch (and, later, a Ray UDF).

The tower's own preprocessing is open_clip's eval transform (``encoder.preprocess()``). It is
split at its ``ToTensor``: the PIL steps (resize, crop, RGB) run in the decode workers, which
then send small ``uint8`` images instead of float tensors; the tensor steps (scale, normalise)
run here on the same values, so the result is exactly the whole transform's.
"""
from __future__ import annotations

import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Callable, List, Optional, Sequence, Tuple

import numpy as np

from ..errors import InputError

if TYPE_CHECKING:  # pragma: no cover
    import torch


@dataclass(frozen=True)
class Preprocess:
    """open_clip's transform cut in two: `pil_steps` (workers) and `tensor_steps` (here).

    When the tensor steps are exactly ``ToTensor, Normalize`` (open_clip's), `normalize` holds
    that Normalize's mean and std and a whole batch is converted at once, on the tower's
    device, with the same operations in the same order as torchvision applies them per image.
    """
    pil_steps: Tuple[Callable, ...]
    tensor_steps: Tuple[Callable, ...]
    normalize: Optional[Tuple[Tuple[float, ...], Tuple[float, ...]]] = None

    def to_pixels(self, image) -> np.ndarray:
        """A PIL image as opened -> ``uint8 [H,W,3]`` after the PIL steps (open_clip's end with
        its RGB conversion; a transform that could not be split is given RGB pixels)."""
        for step in self.pil_steps:
            image = step(image)
        if image.mode != "RGB":
            image = image.convert("RGB")
        return np.asarray(image, dtype=np.uint8)

    def to_tensor(self, shots: Sequence[np.ndarray], device: str = "cpu") -> "torch.Tensor":
        """Shots' ``uint8 [T,H,W,3]`` -> the tower's input ``float32 [sum T,3,H,W]``."""
        import torch

        if self.normalize is None:
            return torch.stack([self._steps(p) for shot in shots for p in shot]).to(device)
        # ToTensor: permute, to float, / 255; Normalize: sub_(mean).div_(std) per channel. The
        # same operations, written into one float buffer (fresh buffers cost page faults).
        pixels = _on_device(shots, device)
        x = torch.empty((pixels.shape[0], pixels.shape[3], *pixels.shape[1:3]),
                        dtype=torch.get_default_dtype(), device=pixels.device)
        x.copy_(pixels.permute(0, 3, 1, 2)).div_(255)
        mean, std = (torch.as_tensor(v, dtype=x.dtype, device=x.device).view(-1, 1, 1)
                     for v in self.normalize)
        return x.sub_(mean).div_(std)

    def _steps(self, pixels: np.ndarray) -> "torch.Tensor":
        out = pixels
        for step in self.tensor_steps:
            out = step(out)
        return out


def _on_device(shots: Sequence[np.ndarray], device: str) -> "torch.Tensor":
    """The shots' pixels as one ``uint8 [N,H,W,3]`` tensor on `device`. For a GPU they are
    copied once, into pinned memory, and sent asynchronously."""
    import torch

    if not str(device).startswith("cuda"):
        return torch.from_numpy(np.concatenate(shots))
    staged = torch.empty((sum(len(s) for s in shots), *shots[0].shape[1:]), dtype=torch.uint8,
                         pin_memory=True)
    row = 0
    for shot in shots:
        staged[row:row + len(shot)] = torch.from_numpy(shot)
        row += len(shot)
    return staged.to(device, non_blocking=True)


def split_transform(transform: Callable) -> Preprocess:
    """Cut a torchvision ``Compose`` before its ``ToTensor``; anything else runs whole here."""
    from torchvision.transforms import Compose, Normalize, ToTensor

    if isinstance(transform, Compose):
        steps = list(transform.transforms)
        cut = next((i for i, t in enumerate(steps) if isinstance(t, ToTensor)), None)
        if cut is not None:
            tail = steps[cut:]
            normalize = None
            if len(tail) == 2 and isinstance(tail[1], Normalize) and not tail[1].inplace:
                normalize = (tuple(map(float, tail[1].mean)), tuple(map(float, tail[1].std)))
            return Preprocess(tuple(steps[:cut]), tuple(tail), normalize)
    from PIL import Image

    return Preprocess((), (lambda pixels: transform(Image.fromarray(pixels)),))


def open_encoder(checkpoint: str, device: str, video_encoder: Optional[str]):
    """The checkpoint's video tower (:mod:`trecvid_fpig.encode.video_encoder`)."""
    from ..encode.video_encoder import load_video_encoder

    return load_video_encoder(checkpoint, device=device, video_encoder=video_encoder)


class ShotMapper:
    """Encodes batches of decoded shots: ``uint8 [T,H,W,3]`` each -> unit shot vectors."""

    def __init__(self, encoder, batch_size: int):
        self.encoder = encoder
        self.batch_size = batch_size
        self.preprocess = split_transform(encoder.preprocess())
        self.encode_seconds = 0.0       # time spent in calls so far

    def __call__(self, pixels: Sequence[np.ndarray]) -> Tuple[np.ndarray, List[np.ndarray]]:
        """Shot vectors ``[n,D]`` float32 and each shot's frame vectors ``[T_i,D]``; the
        batch is built on the tower's device from the 8-bit pixels (4x less to copy)."""
        import torch

        started = time.perf_counter()
        device = getattr(self.encoder, "device", "cpu")
        shots, frames = [], []
        for start in range(0, len(pixels), self.batch_size):
            part = pixels[start:start + self.batch_size]
            counts = [len(p) for p in part]
            mask = torch.arange(max(counts))[None, :] < torch.tensor(counts)[:, None]
            real = self.preprocess.to_tensor(part, device)
            if min(counts) == max(counts):     # no padding (keyframes, most video batches)
                batch = real.view(len(part), counts[0], *real.shape[1:])
            else:
                batch = real.new_zeros((len(part), max(counts), *real.shape[1:]))
                batch[mask.to(real.device)] = real
            pooled, per_frame = self.encoder.encode(batch, mask)
            pooled = pooled.detach().float().cpu().numpy()
            per_frame = per_frame.detach().float().cpu().numpy()
            if not np.isfinite(pooled).all():
                raise InputError(f"the video tower returned NaN/inf for a batch of "
                                 f"{len(part)} shots")
            shots.append(pooled)
            frames.extend(per_frame[row, :len(shot)] for row, shot in enumerate(part))
        dim = int(self.encoder.output_dim)
        self.encode_seconds += time.perf_counter() - started
        return (np.concatenate(shots) if shots else np.zeros((0, dim), np.float32)), frames
