"""The video tower on a batch of shots: loaded once, called per batch (and, later, a Ray UDF).

The tower's own preprocessing is open_clip's eval transform (``encoder.preprocess()``). It is
split at its ``ToTensor``: the PIL steps (resize, crop, RGB) run in the decode workers, which
then send small ``uint8`` images instead of float tensors; the tensor steps (scale, normalise)
run here on the same values, so the result is exactly the whole transform's.

With ``--preprocess device`` the workers only decode: they send plain RGB and L frames at full
size, and the resize and crop run here, on the tower's device, as :mod:`.exact_resize`'s
integer ops, which give Pillow's bytes; frames in any other mode (palette, alpha, CMYK, 16-bit)
still go through the PIL steps in the worker and arrive at the tower's size, which the resize
here leaves as they are.
"""
from __future__ import annotations

import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Callable, Dict, List, Optional, Sequence, Tuple

import numpy as np

from ..errors import InputError
from .exact_resize import NotExact, open_clip_transform
from .exact_resize import normalize as normalize_pixels

#: The modes whose 8-bit pixels exact_resize resizes as Pillow does.
FULL_SIZE_MODES = ("RGB", "L")
#: Frames resized in one call, whatever the batch size: exact_resize's int32 intermediates
#: take ~9 MB a 1080p frame, so ~580 MB a chunk of 64.
RESIZE_CHUNK = 64

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
    #: The tower's size when the transform is exactly open_clip's eval transform (what
    #: exact_resize reproduces); None otherwise.
    exact_size: Optional[int] = None

    def to_pixels(self, image) -> np.ndarray:
        """A PIL image as opened -> ``uint8 [H,W,3]`` after the PIL steps (open_clip's end with
        its RGB conversion; a transform that could not be split is given RGB pixels)."""
        for step in self.pil_steps:
            image = step(image)
        if image.mode != "RGB":
            image = image.convert("RGB")
        return np.asarray(image, dtype=np.uint8)

    def to_full_size(self, image) -> np.ndarray:
        """A PIL image as opened -> what :meth:`resize_to_tensor` takes: a plain RGB or L
        image's pixels as decoded, ``uint8 [H,W,3 or 1]``; any other mode after the PIL steps
        (``[S,S,3]``, which exact_resize leaves unchanged)."""
        if image.mode not in FULL_SIZE_MODES:
            return self.to_pixels(image)
        pixels = np.asarray(image, dtype=np.uint8)
        return pixels[:, :, None] if pixels.ndim == 2 else pixels

    def resize_to_tensor(self, shots: Sequence[Sequence[np.ndarray]], device: str = "cpu"
                         ) -> "torch.Tensor":
        """Shots' full-size frames (:meth:`to_full_size`) -> the tower's input ``float32
        [sum T,3,S,S]``, in order: the frames of each size are resized together on `device`."""
        import torch

        frames = [frame for shot in shots for frame in shot]
        size = self.exact_size
        out = torch.empty((len(frames), 3, size, size), dtype=torch.get_default_dtype(),
                          device=device)
        rows_of: dict = {}
        for row, frame in enumerate(frames):
            rows_of.setdefault(frame.shape, []).append(row)
        for same_size in rows_of.values():
            for start in range(0, len(same_size), RESIZE_CHUNK):
                rows = same_size[start:start + RESIZE_CHUNK]
                pixels = _on_device([frames[row][None] for row in rows], device)
                try:
                    tensor = open_clip_transform(pixels, size, *self.normalize)
                except NotExact:        # a Pillow whose order neither pass order matches
                    tensor = self.to_tensor([self._pil_resized(frames[r]) for r in rows],
                                            device)
                out[torch.tensor(rows, device=out.device)] = tensor
        return out

    def _pil_resized(self, frame: np.ndarray) -> np.ndarray:
        """A full-size frame through the PIL steps, as the workers' --preprocess cpu does."""
        from PIL import Image

        image = Image.fromarray(frame[:, :, 0] if frame.shape[2] == 1 else frame)
        return self.to_pixels(image)[None]

    def to_tensor(self, shots: Sequence[np.ndarray], device: str = "cpu") -> "torch.Tensor":
        """Shots' ``uint8 [T,H,W,3]`` -> the tower's input ``float32 [sum T,3,H,W]``."""
        import torch

        if self.normalize is None:
            return torch.stack([self._steps(p) for shot in shots for p in shot]).to(device)
        return normalize_pixels(_on_device(shots, device), *self.normalize)

    def _steps(self, pixels: np.ndarray) -> "torch.Tensor":
        out = pixels
        for step in self.tensor_steps:
            out = step(out)
        return out


class _StageClock:
    """Times one batch's preparation and tower, on the host and, on CUDA, on the GPU."""

    def __init__(self, device):
        import torch

        self.started = time.perf_counter()
        self.events = None
        if str(device).startswith("cuda"):
            self.events = [torch.cuda.Event(enable_timing=True) for _ in range(3)]
            self.events[0].record()

    def prepared(self) -> None:
        self.ready = time.perf_counter()
        if self.events:
            self.events[1].record()

    def add_to(self, totals: Dict[str, float]) -> None:
        """Called once the tower's output reached the host (the GPU is done with the batch)."""
        now = time.perf_counter()
        spans = {"prepare": self.ready - self.started, "tower": now - self.ready}
        if self.events:
            self.events[2].record()
            self.events[2].synchronize()
            spans["gpu_prepare"] = self.events[0].elapsed_time(self.events[1]) / 1000
            spans["gpu_tower"] = self.events[1].elapsed_time(self.events[2]) / 1000
        for key, value in spans.items():
            totals[key] = totals.get(key, 0.0) + value


def _on_device(shots: Sequence[np.ndarray], device: str) -> "torch.Tensor":
    """The shots' pixels as one ``uint8 [N,H,W,C]`` tensor on `device`. For a GPU they are
    copied once, into pinned memory (by numpy: read-only frames, as PIL gives them with
    ``--workers 0``, need no copy first), and sent asynchronously."""
    import torch

    if not str(device).startswith("cuda"):
        return torch.from_numpy(np.concatenate(shots))
    staged = torch.empty((sum(len(s) for s in shots), *shots[0].shape[1:]), dtype=torch.uint8,
                         pin_memory=True)
    into, row = staged.numpy(), 0
    for shot in shots:
        into[row:row + len(shot)] = shot
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
            exact = _open_clip_size(steps[:cut]) if normalize else None
            return Preprocess(tuple(steps[:cut]), tuple(tail), normalize, exact)
    from PIL import Image

    return Preprocess((), (lambda pixels: transform(Image.fromarray(pixels)),))


def _open_clip_size(pil_steps: Sequence[Callable]) -> Optional[int]:
    """S when the PIL steps are open_clip's eval ones, ``Resize(S, BICUBIC)`` (no max_size),
    ``CenterCrop(S)``, then RGB conversion: what exact_resize reproduces; else None."""
    from torchvision.transforms import CenterCrop, InterpolationMode, Resize

    if len(pil_steps) != 3:
        return None
    resize, crop, convert = pil_steps
    size = resize.size if isinstance(resize, Resize) else None
    size = size[0] if isinstance(size, (list, tuple)) and len(size) == 1 else size
    if not (isinstance(size, int) and resize.interpolation == InterpolationMode.BICUBIC
            and resize.max_size is None and isinstance(crop, CenterCrop)
            and tuple(crop.size) == (size, size)
            and (getattr(convert, "mode", None) == "RGB"     # open_clip's MaybeConvertMode
                 or getattr(convert, "__name__", None) == "_convert_to_rgb")):  # older ones
        return None
    return size


def open_encoder(checkpoint: str, device: str, video_encoder: Optional[str],
                 tower_config: Optional[str] = None):
    """The checkpoint's video tower (:mod:`trecvid_fpig.encode.video_encoder`); `tower_config`
    gives its attention heads."""
    from ..encode.video_encoder import load_video_encoder

    return load_video_encoder(checkpoint, device=device, video_encoder=video_encoder,
                              tower_config=tower_config)


class ShotMapper:
    """Encodes batches of decoded shots: ``uint8 [T,H,W,3]`` each -> unit shot vectors."""

    def __init__(self, encoder, batch_size: int, full_size: bool = False):
        self.encoder = encoder
        self.batch_size = batch_size
        self.preprocess = split_transform(encoder.preprocess())
        self.full_size = full_size      # frames arrive full size: resize them here
        if full_size and self.preprocess.exact_size is None:
            raise InputError("--preprocess device needs open_clip's eval transform (Resize, "
                             "CenterCrop, RGB, ToTensor, Normalize); this tower's "
                             "preprocessing is another: use --preprocess cpu")
        self.encode_seconds = 0.0       # time spent in calls so far
        #: of which: the main process preparing the batch (staging, normalising, resizing, on
        #: the CPU all of it) and the rest; on CUDA also the GPU's time for the transfer and
        #: preprocessing kernels and for the tower (CUDA events, no synchronisation added)
        self.stage_seconds: Dict[str, float] = {}

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
            clock = _StageClock(device)
            real = self.preprocess.resize_to_tensor(part, device) if self.full_size \
                else self.preprocess.to_tensor(part, device)
            clock.prepared()
            if min(counts) == max(counts):     # no padding (keyframes, most video batches)
                batch = real.view(len(part), counts[0], *real.shape[1:])
            else:
                batch = real.new_zeros((len(part), max(counts), *real.shape[1:]))
                batch[mask.to(real.device)] = real
            pooled, per_frame = self.encoder.encode(batch, mask)
            pooled = pooled.detach().float().cpu().numpy()
            per_frame = per_frame.detach().float().cpu().numpy()
            clock.add_to(self.stage_seconds)
            if not np.isfinite(pooled).all():
                raise InputError(f"the video tower returned NaN/inf for a batch of "
                                 f"{len(part)} shots")
            shots.append(pooled)
            frames.extend(per_frame[row, :len(shot)] for row, shot in enumerate(part))
        dim = int(self.encoder.output_dim)
        self.encode_seconds += time.perf_counter() - started
        return (np.concatenate(shots) if shots else np.zeros((0, dim), np.float32)), frames
