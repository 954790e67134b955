"""Tiny randomly initialised checkpoints in the real layouts, for tests, benchmarks and the demo.

Nothing is downloaded: the weights are drawn from a seeded generator with CLIP's initial scales,
then written with the names, wrappers, dtypes and unrelated keys the real training code saves,
so the loader is exercised exactly as with a real file.
"""
from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Dict, List, Tuple, Union

from ..base.outputs import atomic_write
from ..encode.checkpoints import (CLIP4CLIP_PREFIX, FRAME_POSITIONS, HF_PROJECTION, HF_QKV,
                                  HF_TO_OPENAI_BLOCK, HF_TO_OPENAI_TOP, HF_TO_OPENAI_VISION_TOP,
                                  HF_VISION_PROJECTION, LAYOUTS, OPENAI_BLOCK_KEYS, TEMPORAL_PREFIX)

if TYPE_CHECKING:  # pragma: no cover
    import torch

#: Prefix F-Pig / PIG keep their Hugging Face CLIPModel under.
HF_PREFIX = "encoder.clipmodel."

#: Tensors OpenAI's ``convert_weights`` turns to fp16 (convolution, Linear and attention
#: weights, projections); embeddings and layer norms stay float32.
_FP16_SUFFIXES = ("attn.in_proj_weight", "attn.in_proj_bias", "attn.out_proj.weight",
                  "attn.out_proj.bias", "mlp.c_fc.weight", "mlp.c_fc.bias", "mlp.c_proj.weight",
                  "mlp.c_proj.bias", "text_projection", "conv1.weight", "proj")
#: CLIP4Clip's video heads (``temporal=``), and its frame position table's length.
TEMPORAL_HEADS = ("meanP", "seqTransf")
MAX_FRAME_POSITIONS = 128

Plan = List[Tuple[str, Tuple[int, ...], float, float]]


def _block_plan(blocks: str, width: int, layers: int) -> Plan:
    """(name, shape, mean, std) of CLIP's residual blocks under `blocks`, with CLIP's init."""
    attn_std = width ** -0.5
    proj_std = attn_std * (2 * layers) ** -0.5
    fc_std = (2 * width) ** -0.5
    block_shapes = {
        "ln_1.weight": ((width,), 1.0, 0.1), "ln_1.bias": ((width,), 0.0, 0.1),
        "attn.in_proj_weight": ((3 * width, width), 0.0, attn_std),
        "attn.in_proj_bias": ((3 * width,), 0.0, 0.02),
        "attn.out_proj.weight": ((width, width), 0.0, proj_std),
        "attn.out_proj.bias": ((width,), 0.0, 0.02),
        "ln_2.weight": ((width,), 1.0, 0.1), "ln_2.bias": ((width,), 0.0, 0.1),
        "mlp.c_fc.weight": ((4 * width, width), 0.0, fc_std),
        "mlp.c_fc.bias": ((4 * width,), 0.0, 0.02),
        "mlp.c_proj.weight": ((width, 4 * width), 0.0, proj_std),
        "mlp.c_proj.bias": ((width,), 0.0, 0.02),
    }
    return [(f"{blocks}{i}.{key}", *block_shapes[key])
            for i in range(layers) for key in OPENAI_BLOCK_KEYS]


def _text_tensor_plan(width: int, layers: int, context_length: int, embed_dim: int,
                      vocab_size: int) -> Plan:
    """(open_clip name, shape, mean, std) of every text tensor, in a fixed drawing order."""
    plan = [("token_embedding.weight", (vocab_size, width), 0.0, 0.02),
            ("positional_embedding", (context_length, width), 0.0, 0.01)]
    plan += _block_plan("transformer.resblocks.", width, layers)
    plan += [("ln_final.weight", (width,), 1.0, 0.1), ("ln_final.bias", (width,), 0.0, 0.1),
             ("text_projection", (width, embed_dim), 0.0, width ** -0.5)]
    return plan


def _vision_tensor_plan(width: int, layers: int, image_size: int, patch_size: int,
                        embed_dim: int) -> Plan:
    """(open_clip ``VisionTransformer`` name, shape, mean, std) of every image-tower tensor."""
    scale = width ** -0.5
    tokens = (image_size // patch_size) ** 2 + 1
    plan = [("conv1.weight", (width, 3, patch_size, patch_size), 0.0,
             (3 * patch_size * patch_size) ** -0.5),
            ("class_embedding", (width,), 0.0, scale),
            ("positional_embedding", (tokens, width), 0.0, scale),
            ("ln_pre.weight", (width,), 1.0, 0.1), ("ln_pre.bias", (width,), 0.0, 0.1)]
    plan += _block_plan("transformer.resblocks.", width, layers)
    plan += [("ln_post.weight", (width,), 1.0, 0.1), ("ln_post.bias", (width,), 0.0, 0.1),
             ("proj", (width, embed_dim), 0.0, scale)]
    return plan


def _temporal_tensor_plan(width: int, layers: int) -> Plan:
    """CLIP4Clip's seqTransf head: frame positions and ``transformerClip`` blocks."""
    return ([(FRAME_POSITIONS, (MAX_FRAME_POSITIONS, width), 0.0, 0.02)]
            + _block_plan(TEMPORAL_PREFIX + "resblocks.", width, layers))


def _draw(plan: Plan, seed: int) -> Dict[str, "torch.Tensor"]:
    """The plan's tensors, float32, from a generator seeded with `seed` (same seed, same bytes)."""
    import torch

    generator = torch.Generator().manual_seed(seed)
    return {name: torch.randn(shape, generator=generator).mul_(std).add_(mean)
            for name, shape, mean, std in plan}


def random_text_state(width: int = 64, layers: int = 2, context_length: int = 77,
                      embed_dim: int = 32, vocab_size: int = 49408, seed: int = 0
                      ) -> Dict[str, "torch.Tensor"]:
    """A random float32 text tower in open_clip's names; the same seed gives the same tensors."""
    return _draw(_text_tensor_plan(width, layers, context_length, embed_dim, vocab_size), seed)


def random_vision_state(width: int = 64, layers: int = 2, image_size: int = 32,
                        patch_size: int = 16, embed_dim: int = 32, seed: int = 0
                        ) -> Dict[str, "torch.Tensor"]:
    """A random float32 ViT image tower in open_clip's names (ViT-B/32: 768, 12, 224, 32)."""
    return _draw(_vision_tensor_plan(width, layers, image_size, patch_size, embed_dim), seed)


def random_temporal_state(width: int = 32, layers: int = 2, seed: int = 0
                          ) -> Dict[str, "torch.Tensor"]:
    """A random CLIP4Clip seqTransf head in CLIP4Clip's own names (float32, as it saves it)."""
    return _draw(_temporal_tensor_plan(width, layers), seed)


def _to_hf(tower: Dict[str, "torch.Tensor"], layers: int, top: Dict[str, str],
           projection: Tuple[str, str], layers_under: str) -> Dict[str, "torch.Tensor"]:
    """open_clip names -> Hugging Face CLIPModel names (split q/k/v, Linear projection)."""
    out = {hf: tower[oc] for hf, oc in top.items()}
    hf_projection, oc_projection = projection
    out[hf_projection] = tower[oc_projection].t().contiguous()
    for i in range(layers):
        src, dst = f"transformer.resblocks.{i}.", f"{layers_under}{i}."
        for kind, fused in (("weight", "attn.in_proj_weight"), ("bias", "attn.in_proj_bias")):
            for part, chunk in zip(HF_QKV, tower[src + fused].chunk(3)):
                out[f"{dst}self_attn.{part}.{kind}"] = chunk.contiguous()
        for hf, oc in HF_TO_OPENAI_BLOCK.items():
            for kind in ("weight", "bias"):
                out[f"{dst}{hf}.{kind}"] = tower[f"{src}{oc}.{kind}"]
    return out


def _extra_tensors(layout: str, width: int, embed_dim: int, context_length: int,
                   generator: "torch.Generator") -> Dict[str, "torch.Tensor"]:
    """Non-text keys of the kind each training code saves next to the text tower."""
    import torch

    def rand(*shape: int) -> "torch.Tensor":
        return torch.randn(shape, generator=generator) * 0.02

    if layout == "hf-clip":
        return {
            HF_PREFIX + "text_model.embeddings.position_ids": torch.arange(context_length)[None],
            HF_PREFIX + "logit_scale": torch.tensor(4.6052),
            "generator.decoder.layers.0.linear1.weight": rand(2 * width, width),
            "generator.query_embed.weight": rand(8, width),
            "fusioner.cross_attn.in_proj_weight": rand(3 * width, width),
            "fusioner.norm.weight": torch.ones(width),
        }
    if layout == "clip4clip":
        return {CLIP4CLIP_PREFIX + "logit_scale": torch.tensor(4.6052)}
    return {"logit_scale": torch.tensor(4.6052)}


def _fp16_like_openai(state: Dict[str, "torch.Tensor"]) -> Dict[str, "torch.Tensor"]:
    return {k: (v.half() if k.endswith(_FP16_SUFFIXES) else v) for k, v in state.items()}


def layout_state(text: Dict[str, "torch.Tensor"], layout: str, layers: int) -> Dict[str, object]:
    """What a training code of `layout` would save for this open_clip-named text tower."""
    if layout == "hf-clip":
        hf = _to_hf(text, layers, HF_TO_OPENAI_TOP, (HF_PROJECTION, "text_projection"),
                    "text_model.encoder.layers.")
        return {HF_PREFIX + k: v for k, v in hf.items()}
    if layout == "clip4clip":
        return {CLIP4CLIP_PREFIX + k: v for k, v in _fp16_like_openai(text).items()}
    return dict(text)


def vision_layout_state(vision: Dict[str, "torch.Tensor"], layout: str, layers: int
                        ) -> Dict[str, "torch.Tensor"]:
    """What a training code of `layout` would save for this open_clip-named image tower."""
    if layout == "hf-clip":
        hf = _to_hf(vision, layers, HF_TO_OPENAI_VISION_TOP, (HF_VISION_PROJECTION, "proj"),
                    "vision_model.encoder.layers.")
        return {HF_PREFIX + k: v for k, v in hf.items()}
    if layout == "clip4clip":
        return {CLIP4CLIP_PREFIX + "visual." + k: v
                for k, v in _fp16_like_openai(vision).items()}
    return {"visual." + k: v for k, v in vision.items()}


def save_random_checkpoint(path: Union[str, Path], layout: str, width: int = 64, layers: int = 2,
                           context_length: int = 77, embed_dim: int = 32,
                           vocab_size: int = 49408, seed: int = 0, extra_keys: bool = True,
                           vision: bool = True, vision_width: int = 64, vision_layers: int = 2,
                           image_size: int = 32, patch_size: int = 16,
                           temporal: str = "seqTransf", temporal_layers: int = 2) -> Path:
    """Write random text and image towers in `layout` (``hf-clip``, ``clip4clip``, ``open_clip``).

    ViT-B/32 is ``width=512, layers=12, embed_dim=512, vision_width=768, vision_layers=12,
    image_size=224, patch_size=32``. A ``clip4clip`` checkpoint also gets CLIP4Clip's video head:
    ``temporal="seqTransf"`` (``transformerClip`` with `temporal_layers` blocks, CLIP4Clip saves 4)
    or ``"meanP"`` (no parameters). `vision=False` writes the text tower alone. The file is
    written atomically and is byte-identical for the same arguments.
    """
    import torch

    if layout not in LAYOUTS:
        raise ValueError(f"unknown layout {layout!r}: expected one of {', '.join(LAYOUTS)}")
    if temporal not in TEMPORAL_HEADS:
        raise ValueError(f"unknown temporal head {temporal!r}: expected meanP or seqTransf")
    text = random_text_state(width, layers, context_length, embed_dim, vocab_size, seed)
    state = layout_state(text, layout, layers)
    if vision:
        # Their own seeds: adding the image tower leaves the text tensors as they were.
        image = random_vision_state(vision_width, vision_layers, image_size, patch_size,
                                    embed_dim, seed + 2)
        state.update(vision_layout_state(image, layout, vision_layers))
        if layout == "clip4clip" and temporal == "seqTransf":
            state.update(random_temporal_state(embed_dim, temporal_layers, seed + 3))
    if extra_keys:
        generator = torch.Generator().manual_seed(seed + 1)
        state.update(_extra_tensors(layout, width, embed_dim, context_length, generator))
    obj: object = state
    if layout == "open_clip":
        # open_clip's training script saves a DistributedDataParallel module inside a dict.
        obj = {"epoch": 1, "name": "synthetic", "state_dict": {"module." + k: v
                                                                 for k, v in state.items()}}
    target = Path(path)
    with atomic_write(target, "wb") as fh:
        torch.save(obj, fh)
    return target
