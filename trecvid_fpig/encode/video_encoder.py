"""Shot frames -> L2-normalised shot and frame features, with a checkpoint's own video tower.

The frame tower is open_clip's ``VisionTransformer`` holding the checkpoint's weights (see
:mod:`.checkpoints` for the layouts). A shot is pooled as its model was trained:

* ``open_clip`` / ``hf-clip`` / ``clip4clip-meanP``: the masked mean of the L2-normalised frame
  features, normalised again (CLIP4Clip's ``_mean_pooling_for_similarity_visual``; the zero-shot
  CLIP baseline). ``hf-clip`` is the CLIP part of a CLIP-ViP / F-Pig model only: its video
  proxy tokens live in CLIP-ViP's own code (use a plugin for the full tower).
* ``clip4clip-seqTransf``: CLIP4Clip's temporal transformer over the raw frame features plus
  learnt frame positions, keys masked with ``-1e6``, LayerNorm eps 1e-12 (CLIP4Clip's
  ``until_module.LayerNorm``), its residual (``output + original``), then the same normalised
  masked mean.

Other models come in as plugins: ``--video-encoder package.module:factory`` or an entry point of
the group ``fpig_trecvid.video_encoders`` (see docs/video-encoders.md).

Only real frames go through the tower, so padding never changes a shot. A shot's features are
bit-identical whatever the batch it came in, because every kernel sees fixed shapes (MKL's and
cuBLAS's results depend on the matrix sizes): the tower always runs on chunks of
:data:`CPU_FRAME_CHUNK` / :data:`CUDA_FRAME_CHUNK` frames (the last one zero-filled), the
temporal transformer on one shot at a time on the CPU and on zero-filled blocks of
:data:`CUDA_SHOT_CHUNK` shots by all frame positions on CUDA, and the pooling on the CPU.
"""
from __future__ import annotations

import contextlib
import importlib
import inspect
from dataclasses import dataclass
from typing import TYPE_CHECKING, Callable, Dict, Optional, Tuple

from ..base.files import PathLike, file_sha256
from ..errors import InputError
from .checkpoints import HEADS_FROM_CLIP4CLIP, VideoCheckpoint, heads_notice, load_video_checkpoint
from .text_encoder import assign_weights, resolve_device

if TYPE_CHECKING:  # pragma: no cover
    import torch
    from PIL import Image

Triple = Tuple[float, float, float]

#: OpenAI CLIP's pixel normalisation, which every built-in layout was trained with.
OPENAI_MEAN: Triple = (0.48145466, 0.4578275, 0.40821073)
OPENAI_STD: Triple = (0.26862954, 0.26130258, 0.27577711)
#: Frames per tower call (fixed, for batch-independent results).
CPU_FRAME_CHUNK = 16
CUDA_FRAME_CHUNK = 128
#: Shots per temporal-transformer call on CUDA (fixed, likewise).
CUDA_SHOT_CHUNK = 32
#: Entry-point group where installed packages register video tower factories.
ENTRY_POINT_GROUP = "fpig_trecvid.video_encoders"
HF_CLIP_NOTE = ("hf-clip: the CLIP image tower of the checkpoint, mean-pooled; not F-Pig's / "
                "CLIP-ViP's full video tower (its video proxy tokens need a --video-encoder "
                "plugin)")


@dataclass(frozen=True)
class VideoTowerPlugin:
    """What a plugin factory returns: the model as a function, and how to feed it.

    `encode` maps preprocessed frames ``[B,T,3,H,W]`` (all real: the toolkit calls it per group of
    shots with the same frame count) to shot features ``[B,D]`` or frame features ``[B,T,D]``
    (then pooled as meanP). `output_dim` is D. `mean`/`std` feed open_clip's eval transform.
    """
    encode: Callable[["torch.Tensor"], "torch.Tensor"]
    image_size: int
    output_dim: int
    mean: Triple = OPENAI_MEAN
    std: Triple = OPENAI_STD
    description: str = ""


def masked_mean_pool(frame_features: "torch.Tensor", mask: "torch.Tensor"
                     ) -> Tuple["torch.Tensor", "torch.Tensor"]:
    """(normalised masked mean of the normalised frames [B,D], normalised frames [B,T,D]).

    CLIP4Clip's ``_mean_pooling_for_similarity_visual`` between two L2 normalisations; padded
    frames are zeroed and left out of the count.
    """
    import torch

    weights = mask.to(frame_features.dtype).unsqueeze(-1)
    frames = torch.nn.functional.normalize(frame_features, dim=-1) * weights
    shots = frames.sum(dim=1) / weights.sum(dim=1).clamp(min=1.0)
    return torch.nn.functional.normalize(shots, dim=-1), frames


def _check_batch(frames: "torch.Tensor", mask: "torch.Tensor", image_size: int) -> None:
    if frames.ndim != 5 or tuple(frames.shape[2:]) != (3, image_size, image_size):
        raise InputError(f"frames must be [B,T,3,{image_size},{image_size}], got "
                         f"{list(frames.shape)}")
    if tuple(mask.shape) != tuple(frames.shape[:2]):
        raise InputError(f"mask {list(mask.shape)} does not match frames {list(frames.shape[:2])}")
    if frames.shape[0] and not bool(mask.bool().any(dim=1).all()):
        raise InputError("every shot needs at least one real frame (a row of the mask is empty)")


class VideoEncoder:
    """A video tower: preprocessed frames ``[B,T,3,H,W]`` -> shot ``[B,D]`` and frame
    ``[B,T,D]`` features, float32, L2-normalised, returned on the CPU."""

    kind: str
    image_size: int
    mean: Triple
    std: Triple
    output_dim: int
    device: "torch.device"

    def preprocess(self) -> Callable[["Image.Image"], "torch.Tensor"]:
        """open_clip's own eval transform at this tower's size: PIL image -> [3,H,W] float32.

        A torchvision ``Compose`` of picklable steps, so worker processes can receive it.
        """
        from open_clip.transform import image_transform

        return image_transform(self.image_size, is_train=False, mean=self.mean, std=self.std)

    def encode(self, frames: "torch.Tensor", mask: "torch.Tensor"
               ) -> Tuple["torch.Tensor", "torch.Tensor"]:
        raise NotImplementedError

    def provenance(self) -> dict:
        raise NotImplementedError

    def _autocast(self) -> "contextlib.AbstractContextManager":
        import torch

        if self.device.type == "cuda":
            return torch.autocast("cuda", dtype=torch.float16)
        return contextlib.nullcontext()


class CheckpointVideoEncoder(VideoEncoder):
    """A built-in layout: open_clip's ViT on the frames, then the layout's shot pooling."""

    def __init__(self, checkpoint: VideoCheckpoint, device: "torch.device"):
        self.checkpoint = checkpoint
        self.kind = checkpoint.kind
        self.image_size = checkpoint.spec.image_size
        self.mean, self.std = OPENAI_MEAN, OPENAI_STD
        self.output_dim = checkpoint.spec.output_dim
        self.device = device
        self.tower = build_vision_tower(checkpoint, device)
        self.temporal, self.frame_positions = (
            build_temporal_transformer(checkpoint, device) if checkpoint.pooling == "seqTransf"
            else (None, None))
        self._sha256: Optional[str] = None

    def frame_features(self, frames: "torch.Tensor") -> "torch.Tensor":
        """Raw (unnormalised) tower outputs ``[N,D]`` float32 for real frames ``[N,3,H,W]``."""
        import torch

        chunk = CPU_FRAME_CHUNK if self.device.type == "cpu" else CUDA_FRAME_CHUNK
        out = []
        with torch.inference_mode(), self._autocast():
            for start in range(0, frames.shape[0], chunk):
                part = frames[start:start + chunk].to(self.device, torch.float32)
                real = part.shape[0]
                if real < chunk:
                    part = torch.cat([part, part.new_zeros((chunk - real, *part.shape[1:]))])
                out.append(self.tower(part)[:real].float())
        if not out:
            return torch.zeros((0, self.output_dim), device=self.device)
        return torch.cat(out)

    def seq_transf(self, frame_features: "torch.Tensor", mask: "torch.Tensor"
                   ) -> Tuple["torch.Tensor", "torch.Tensor"]:
        """CLIP4Clip's seqTransf head on raw frame features ``[B,T,D]`` -> pooled, frames."""
        return masked_mean_pool(self._seq_transf_outputs(frame_features, mask), mask)

    def _seq_transf_outputs(self, frame_features: "torch.Tensor", mask: "torch.Tensor"
                            ) -> "torch.Tensor":
        """The temporal transformer plus CLIP4Clip's residual, ``[B,T,D]`` float32."""
        import torch

        steps = frame_features.shape[1]
        if steps > self.frame_positions.shape[0]:
            raise InputError(f"{steps} frames per shot, but the seqTransf head knows only "
                             f"{self.frame_positions.shape[0]} frame positions",
                             self.checkpoint.path)
        with torch.inference_mode(), self._autocast():
            x = frame_features + self.frame_positions[:steps]
            keys = (1.0 - mask.to(x.dtype).unsqueeze(1)) * -1000000.0  # [B,1,T]
            attn_mask = keys.expand(-1, steps, -1).repeat_interleave(
                self.checkpoint.temporal.heads, dim=0)
            return self.temporal(x, attn_mask=attn_mask).float() + frame_features

    def encode(self, frames: "torch.Tensor", mask: "torch.Tensor"
               ) -> Tuple["torch.Tensor", "torch.Tensor"]:
        """Shot ``[B,D]`` and frame ``[B,T,D]`` features (padded frames are zero), on the CPU."""
        import torch

        _check_batch(frames, mask, self.image_size)
        with torch.inference_mode():
            return self._encode(frames, mask.bool())

    def _encode(self, frames: "torch.Tensor", mask: "torch.Tensor"
                ) -> Tuple["torch.Tensor", "torch.Tensor"]:
        import torch

        batch, steps = mask.shape
        if bool(mask.all()):        # no padded slots: no copy
            raw = self.frame_features(frames.flatten(0, 1)).view(batch, steps, self.output_dim)
        else:
            raw = torch.zeros((batch, steps, self.output_dim), device=self.device)
            raw[mask.to(self.device)] = self.frame_features(frames[mask.to(frames.device)])
        mask = mask.cpu()
        if self.temporal is None:
            return masked_mean_pool(raw.cpu(), mask)
        if self.device.type == "cuda":
            return self._seq_transf_blocks(raw, mask)
        shots, per_frame = torch.zeros_like(raw[:, 0]), torch.zeros_like(raw)
        # One shot at a time, cut after its last real frame: same shapes whatever the batch.
        lengths = (torch.arange(1, steps + 1) * mask).amax(dim=1).tolist()
        for row, length in enumerate(lengths):
            shot, frames_row = self.seq_transf(raw[row:row + 1, :length],
                                               mask[row:row + 1, :length])
            shots[row], per_frame[row, :length] = shot[0], frames_row[0]
        return shots, per_frame

    def _seq_transf_blocks(self, raw: "torch.Tensor", mask: "torch.Tensor"
                           ) -> Tuple["torch.Tensor", "torch.Tensor"]:
        """The temporal head on CUDA: blocks of CUDA_SHOT_CHUNK shots by every frame position
        (zero frames, masked), so that each call has the same shapes; pooled on the CPU."""
        import torch

        batch, steps = mask.shape
        positions = max(steps, self.frame_positions.shape[0])
        outputs = []
        for start in range(0, batch, CUDA_SHOT_CHUNK):
            real = min(CUDA_SHOT_CHUNK, batch - start)
            block = raw.new_zeros((CUDA_SHOT_CHUNK, positions, self.output_dim))
            block_mask = torch.zeros((CUDA_SHOT_CHUNK, positions), dtype=torch.bool)
            block_mask[:, 0] = True            # filler rows: one zero frame, never all masked
            block[:real, :steps] = raw[start:start + real]
            block_mask[:real, :steps] = mask[start:start + real]
            out = self._seq_transf_outputs(block, block_mask.to(self.device))
            outputs.append(out[:real, :steps].cpu())
        return masked_mean_pool(torch.cat(outputs) if outputs else raw.cpu(), mask)

    def checkpoint_sha256(self) -> str:
        if self._sha256 is None:
            self._sha256 = file_sha256(self.checkpoint.path, "checkpoint")
        return self._sha256

    def provenance(self) -> dict:
        import open_clip
        import torch

        ckpt, spec = self.checkpoint, self.checkpoint.spec
        out = {
            "kind": self.kind, "layout": ckpt.layout, "prefix": ckpt.prefix,
            "pooling": ckpt.pooling, "image_size": spec.image_size,
            "patch_size": spec.patch_size, "width": spec.width, "layers": spec.layers,
            "heads": spec.heads, "heads_from": spec.heads_from,
            "output_dim": spec.output_dim, "quick_gelu": spec.quick_gelu,
            "mean": list(self.mean), "std": list(self.std),
            "checkpoint": ckpt.path, "checkpoint_sha256": self.checkpoint_sha256(),
            "open_clip": open_clip.__version__, "torch": torch.__version__,
        }
        if spec.heads_assumed:
            out["heads_note"] = heads_notice(ckpt.path, "vision", spec.heads)
        if ckpt.temporal is not None:
            out["temporal"] = {"layers": ckpt.temporal.layers, "heads": ckpt.temporal.heads,
                               "heads_from": HEADS_FROM_CLIP4CLIP, "width": ckpt.temporal.width,
                               "max_frames": ckpt.temporal.max_frames}
        if ckpt.layout == "hf-clip":
            out["note"] = HF_CLIP_NOTE
        return out


def build_vision_tower(checkpoint: VideoCheckpoint, device: "torch.device") -> "torch.nn.Module":
    """open_clip's ``VisionTransformer`` sized by the checkpoint, holding exactly its weights
    (built on the meta device, so no time goes into a random initialisation)."""
    import torch
    from open_clip.transformer import QuickGELU, VisionTransformer

    spec = checkpoint.spec
    with torch.device("meta"):
        tower = VisionTransformer(
            image_size=spec.image_size, patch_size=spec.patch_size, width=spec.width,
            layers=spec.layers, heads=spec.heads, mlp_ratio=spec.mlp_width / spec.width,
            output_dim=spec.output_dim, act_layer=QuickGELU if spec.quick_gelu else torch.nn.GELU)
    assign_weights(tower, checkpoint.state_dict, "video tower", checkpoint.path)
    return tower.to(device).eval()


#: CLIP4Clip's ``until_module.LayerNorm`` (TF style), used by its temporal transformer; torch's
#: 1e-5 would differ by 1e-4 once frame features are as small as std 0.03.
CLIP4CLIP_LAYER_NORM_EPS = 1e-12


def build_temporal_transformer(checkpoint: VideoCheckpoint, device: "torch.device"
                               ) -> Tuple["torch.nn.Module", "torch.Tensor"]:
    """CLIP4Clip's ``transformerClip`` as open_clip's ``Transformer`` (QuickGELU, batch first,
    same residual blocks, CLIP4Clip's LayerNorm eps), and its frame position table."""
    import functools

    import torch
    from open_clip.transformer import LayerNorm, QuickGELU, Transformer

    spec, state = checkpoint.temporal, dict(checkpoint.temporal_state)
    positions = state.pop("frame_positions")
    with torch.device("meta"):
        temporal = Transformer(
            width=spec.width, layers=spec.layers, heads=spec.heads, act_layer=QuickGELU,
            norm_layer=functools.partial(LayerNorm, eps=CLIP4CLIP_LAYER_NORM_EPS))
    assign_weights(temporal, state, "seqTransf temporal transformer", checkpoint.path)
    return temporal.to(device).eval(), positions.to(device)


class PluginVideoEncoder(VideoEncoder):
    """A plugin's model wrapped into the same interface (masking, pooling, normalisation)."""

    def __init__(self, plugin: VideoTowerPlugin, spec: str, checkpoint: str,
                 device: "torch.device"):
        self.plugin = plugin
        self.kind = f"plugin:{spec}"
        self.image_size = int(plugin.image_size)
        self.mean, self.std = tuple(plugin.mean), tuple(plugin.std)
        self.output_dim = int(plugin.output_dim)
        self.device = device
        self.checkpoint_path = checkpoint

    def encode(self, frames: "torch.Tensor", mask: "torch.Tensor"
               ) -> Tuple["torch.Tensor", "torch.Tensor"]:
        """The plugin is called once per group of shots with the same number of real frames,
        on those frames only; a shot-level plugin's vector stands for each of its frames."""
        import torch

        _check_batch(frames, mask, self.image_size)
        mask = mask.bool().cpu()
        batch, steps = mask.shape
        shots = torch.zeros((batch, self.output_dim))
        per_frame = torch.zeros((batch, steps, self.output_dim))
        counts = mask.sum(dim=1)
        for count in sorted(set(counts.tolist())):
            rows = (counts == count).nonzero().flatten()
            group = torch.stack([frames[r][mask[r].to(frames.device)]
                                 for r in rows.tolist()]).to(self.device)
            with torch.inference_mode():
                out = self.plugin.encode(group)
            out = self._checked(out, len(rows), count).float().cpu()
            if out.ndim == 2:
                pooled = torch.nn.functional.normalize(out, dim=-1)
                frame_rows = pooled.unsqueeze(1).expand(-1, count, -1)
            else:
                every_frame = torch.ones(out.shape[:2], dtype=torch.bool)
                pooled, frame_rows = masked_mean_pool(out, every_frame)
            shots[rows] = pooled
            for i, r in enumerate(rows.tolist()):
                per_frame[r, mask[r]] = frame_rows[i]
        return shots, per_frame

    def _checked(self, out: object, rows: int, count: int) -> "torch.Tensor":
        import torch

        shapes = ([rows, self.output_dim], [rows, count, self.output_dim])
        if not isinstance(out, torch.Tensor) or list(out.shape) not in shapes:
            got = list(out.shape) if isinstance(out, torch.Tensor) else type(out).__name__
            raise InputError(f"video encoder {self.kind} returned {got} for {rows} shot(s) of "
                             f"{count} frame(s); expected {shapes[0]} or {shapes[1]}")
        if not bool(torch.isfinite(out).all()):
            raise InputError(f"video encoder {self.kind} returned NaN/inf features")
        return out

    def provenance(self) -> dict:
        import torch

        return {"kind": self.kind, "description": self.plugin.description,
                "image_size": self.image_size, "output_dim": self.output_dim,
                "mean": list(self.mean), "std": list(self.std),
                "checkpoint": self.checkpoint_path,
                "checkpoint_sha256": file_sha256(self.checkpoint_path, "checkpoint"),
                "torch": torch.__version__}


def installed_plugins() -> Dict[str, str]:
    """Entry points of the ``fpig_trecvid.video_encoders`` group: name -> ``module:factory``."""
    from importlib.metadata import entry_points

    return {ep.name: ep.value for ep in entry_points(group=ENTRY_POINT_GROUP)}


def resolve_factory(spec: str) -> Tuple[str, Callable]:
    """``(module:factory, factory)`` for ``package.module:factory`` or an entry-point name."""
    target = spec
    if ":" not in spec:
        plugins = installed_plugins()
        if spec not in plugins:
            known = ", ".join(sorted(plugins)) or "none installed"
            raise InputError(f"unknown video encoder {spec!r}: expected package.module:factory "
                             f"or an entry point of {ENTRY_POINT_GROUP} ({known})")
        target = plugins[spec]
    module_name, _, attr = target.partition(":")
    try:
        factory = importlib.import_module(module_name)
        for part in attr.split("."):
            factory = getattr(factory, part)
    except ImportError as exc:
        raise InputError(f"video encoder {target!r}: cannot import {module_name!r} "
                         f"({exc})") from None
    except AttributeError:
        raise InputError(f"video encoder {target!r}: {module_name!r} has no {attr!r}") from None
    if not callable(factory):
        raise InputError(f"video encoder {target!r} is not callable")
    try:
        inspect.signature(factory).bind("checkpoint", "device")
    except TypeError as exc:        # not a plugin factory: calling it would be a TypeError
        raise InputError(f"video encoder {target!r} is not a plugin factory: it cannot be called "
                         f"as factory(checkpoint, device) ({exc})") from None
    except ValueError:              # no signature to check (a builtin): the call will tell
        pass
    return target, factory


def load_video_encoder(checkpoint: PathLike, device: Optional[str] = None,
                       video_encoder: Optional[str] = None,
                       quick_gelu: Optional[bool] = None,
                       tower_config: Optional[PathLike] = None) -> VideoEncoder:
    """The video tower of `checkpoint` on `device` (None: CUDA if present).

    `video_encoder` (``package.module:factory`` or an installed entry-point name) replaces the
    detection: the factory is called as ``factory(checkpoint_path, device)`` and returns a
    :class:`VideoTowerPlugin`. `quick_gelu` None chooses by layout, as for the text tower;
    `tower_config` (config.json or open_clip model config) gives the attention heads.
    """
    resolved = resolve_device(device)
    if video_encoder is None:
        return CheckpointVideoEncoder(load_video_checkpoint(checkpoint, quick_gelu, tower_config),
                                      resolved)
    if tower_config is not None:
        raise InputError("--tower-config sizes the built-in towers; a --video-encoder plugin "
                         "builds its own model")
    target, factory = resolve_factory(video_encoder)
    plugin = factory(str(checkpoint), resolved)
    if not isinstance(plugin, VideoTowerPlugin):
        raise InputError(f"video encoder {target!r} returned a {type(plugin).__name__}, "
                         "expected a trecvid_fpig.encode.video_encoder.VideoTowerPlugin")
    return PluginVideoEncoder(plugin, target, str(checkpoint), resolved)
