"""Video towers from checkpoints: frames -> shot features (PROVISIONAL STUB, interface only)."""
from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Callable, Optional, Tuple, Union

if TYPE_CHECKING:  # pragma: no cover
    import torch
    from PIL import Image

PathLike = Union[str, Path]


class VideoEncoder:
    """A checkpoint's video tower: preprocessed frames -> L2-normalised shot and frame features."""

    kind: str  # "open_clip", "clip4clip-meanP", "clip4clip-seqTransf", "hf-clip", "plugin:pkg.mod:factory"
    image_size: int
    mean: Tuple[float, float, float]
    std: Tuple[float, float, float]
    output_dim: int
    device: "torch.device"

    def preprocess(self) -> Callable[["Image.Image"], "torch.Tensor"]:
        """open_clip's eval transform at the tower's image size -> [3,H,W] float32; picklable."""
        raise NotImplementedError

    def encode(self, frames: "torch.Tensor", mask: "torch.Tensor"
               ) -> Tuple["torch.Tensor", "torch.Tensor"]:
        """frames [B,T,3,H,W], mask [B,T] bool -> (shots [B,D], frames [B,T,D]) L2-normalised."""
        raise NotImplementedError

    def provenance(self) -> dict:
        raise NotImplementedError


def load_video_encoder(checkpoint: PathLike, device: Optional[str] = None,
                       video_encoder: Optional[str] = None) -> VideoEncoder:
    raise NotImplementedError
