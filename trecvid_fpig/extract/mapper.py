"""The video tower on a batch of shots: loaded once, called per batch (and, later, a Ray UDF).

The tower's own preprocessing is open_clip's eval transform (``encoder.preprocess()``). It is
split at its ``ToTensor``: the PIL steps (resize, crop, RGB) run in the decode workers, which
then send small ``uint8`` images instead of float tensors; the tensor steps (scale, normalise)
run here on the same values, so the result is exactly the whole transform's.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Callable, List, Optional, Sequence, Tuple

import numpy as np

from ..errors import InputError

if TYPE_CHECKING:  # pragma: no cover
    import torch


@dataclass(frozen=True)
class Preprocess:
    """open_clip's transform cut in two: `pil_steps` (workers) and `tensor_steps` (here)."""
    pil_steps: Tuple[Callable, ...]
    tensor_steps: Tuple[Callable, ...]

    def to_pixels(self, image) -> np.ndarray:
        """A PIL image -> ``uint8 [H,W,3]`` after the PIL steps."""
        for step in self.pil_steps:
            image = step(image)
        return np.asarray(image, dtype=np.uint8)

    def to_tensor(self, pixels: np.ndarray) -> "torch.Tensor":
        out = pixels
        for step in self.tensor_steps:
            out = step(out)
        return out


def split_transform(transform: Callable) -> Preprocess:
    """Cut a torchvision ``Compose`` before its ``ToTensor``; anything else runs whole here."""
    from torchvision.transforms import Compose, ToTensor

    if isinstance(transform, Compose):
        steps = list(transform.transforms)
        cut = next((i for i, t in enumerate(steps) if isinstance(t, ToTensor)), None)
        if cut is not None:
            return Preprocess(tuple(steps[:cut]), tuple(steps[cut:]))
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

    def __call__(self, pixels: Sequence[np.ndarray]) -> Tuple[np.ndarray, List[np.ndarray]]:
        """Shot vectors ``[n,D]`` float32 and each shot's frame vectors ``[T_i,D]``."""
        import torch

        shots, frames = [], []
        for start in range(0, len(pixels), self.batch_size):
            part = pixels[start:start + self.batch_size]
            steps = max(len(p) for p in part)
            size = part[0].shape[1:3]
            batch = torch.zeros((len(part), steps, 3, *size), dtype=torch.float32)
            mask = torch.zeros((len(part), steps), dtype=torch.bool)
            for row, shot in enumerate(part):
                for t, image in enumerate(shot):
                    batch[row, t] = self.preprocess.to_tensor(image)
                mask[row, :len(shot)] = True
            pooled, per_frame = self.encoder.encode(batch, mask)
            pooled = pooled.detach().float().cpu().numpy()
            per_frame = per_frame.detach().float().cpu().numpy()
            if not np.isfinite(pooled).all():
                raise InputError(f"the video tower returned NaN/inf for a batch of "
                                 f"{len(part)} shots")
            shots.append(pooled)
            frames.extend(per_frame[row, :len(shot)] for row, shot in enumerate(part))
        dim = int(self.encoder.output_dim)
        return (np.concatenate(shots) if shots else np.zeros((0, dim), np.float32)), frames
