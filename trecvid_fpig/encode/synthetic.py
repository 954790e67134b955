"""Tiny randomly initialised checkpoints in the real layouts, for tests, benchmarks and the demo.

Nothing is downloaded: the weights are drawn from a seeded generator with CLIP's initial scales,
then written with the names, wrappers, dtypes and unrelated keys the real training code saves,
so the loader is exercised exactly as with a real file.
"""
from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Dict, List, Tuple, Union

from ..textio import atomic_write
from .checkpoints import (CLIP4CLIP_PREFIX, HF_PROJECTION, HF_QKV, HF_TO_OPENAI_BLOCK,
                          HF_TO_OPENAI_TOP, LAYOUTS, OPENAI_BLOCK_KEYS)

if TYPE_CHECKING:  # pragma: no cover
    import torch

#: Prefix F-Pig / PIG keep their Hugging Face CLIPModel under.
HF_PREFIX = "encoder.clipmodel."

#: Tensors OpenAI's ``convert_weights`` turns to fp16 (Linear and attention weights, projection).
_FP16_SUFFIXES = ("attn.in_proj_weight", "attn.in_proj_bias", "attn.out_proj.weight",
                  "attn.out_proj.bias", "mlp.c_fc.weight", "mlp.c_fc.bias", "mlp.c_proj.weight",
                  "mlp.c_proj.bias", "text_projection")


def _text_tensor_plan(width: int, layers: int, context_length: int, embed_dim: int,
                      vocab_size: int) -> List[Tuple[str, Tuple[int, ...], float, float]]:
    """(open_clip name, shape, mean, std) of every text tensor, in a fixed drawing order."""
    attn_std = width ** -0.5
    proj_std = attn_std * (2 * layers) ** -0.5
    fc_std = (2 * width) ** -0.5
    plan = [("token_embedding.weight", (vocab_size, width), 0.0, 0.02),
            ("positional_embedding", (context_length, width), 0.0, 0.01)]
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
    for i in range(layers):
        for key in OPENAI_BLOCK_KEYS:
            shape, mean, std = block_shapes[key]
            plan.append((f"transformer.resblocks.{i}.{key}", shape, mean, std))
    plan += [("ln_final.weight", (width,), 1.0, 0.1), ("ln_final.bias", (width,), 0.0, 0.1),
             ("text_projection", (width, embed_dim), 0.0, attn_std)]
    return plan


def random_text_state(width: int = 64, layers: int = 2, context_length: int = 77,
                      embed_dim: int = 32, vocab_size: int = 49408, seed: int = 0
                      ) -> Dict[str, "torch.Tensor"]:
    """A random float32 text tower in open_clip's names; the same seed gives the same tensors."""
    import torch

    generator = torch.Generator().manual_seed(seed)
    state = {}
    for name, shape, mean, std in _text_tensor_plan(width, layers, context_length, embed_dim,
                                                     vocab_size):
        state[name] = torch.randn(shape, generator=generator).mul_(std).add_(mean)
    return state


def _to_hf(text: Dict[str, "torch.Tensor"], layers: int) -> Dict[str, "torch.Tensor"]:
    """open_clip names -> Hugging Face CLIPModel names (split q/k/v, Linear projection)."""
    out = {hf: text[oc] for hf, oc in HF_TO_OPENAI_TOP.items()}
    out[HF_PROJECTION] = text["text_projection"].t().contiguous()
    for i in range(layers):
        src, dst = f"transformer.resblocks.{i}.", f"text_model.encoder.layers.{i}."
        for kind, fused in (("weight", "attn.in_proj_weight"), ("bias", "attn.in_proj_bias")):
            for part, chunk in zip(HF_QKV, text[src + fused].chunk(3)):
                out[f"{dst}self_attn.{part}.{kind}"] = chunk.contiguous()
        for hf, oc in HF_TO_OPENAI_BLOCK.items():
            for kind in ("weight", "bias"):
                out[f"{dst}{hf}.{kind}"] = text[f"{src}{oc}.{kind}"]
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
            HF_PREFIX + "visual_projection.weight": rand(embed_dim, width),
            HF_PREFIX + "vision_model.embeddings.class_embedding": rand(width),
            HF_PREFIX + "vision_model.post_layernorm.weight": torch.ones(width),
            "generator.decoder.layers.0.linear1.weight": rand(2 * width, width),
            "generator.query_embed.weight": rand(8, width),
            "fusioner.cross_attn.in_proj_weight": rand(3 * width, width),
            "fusioner.norm.weight": torch.ones(width),
        }
    if layout == "clip4clip":
        return {
            CLIP4CLIP_PREFIX + "logit_scale": torch.tensor(4.6052),
            CLIP4CLIP_PREFIX + "visual.class_embedding": rand(width),
            CLIP4CLIP_PREFIX + "visual.proj": rand(width, embed_dim).half(),
            "frame_position_embeddings.weight": rand(128, embed_dim),
            "transformerClip.resblocks.0.attn.in_proj_weight": rand(3 * embed_dim, embed_dim),
            "transformerClip.resblocks.0.ln_1.weight": torch.ones(embed_dim),
        }
    return {
        "logit_scale": torch.tensor(4.6052),
        "visual.class_embedding": rand(width),
        "visual.proj": rand(width, embed_dim),
    }


def layout_state(text: Dict[str, "torch.Tensor"], layout: str, layers: int) -> Dict[str, object]:
    """What a training code of `layout` would save for this open_clip-named text tower."""
    if layout == "hf-clip":
        return {HF_PREFIX + k: v for k, v in _to_hf(text, layers).items()}
    if layout == "clip4clip":
        return {CLIP4CLIP_PREFIX + k: (v.half() if k.endswith(_FP16_SUFFIXES) else v)
                for k, v in text.items()}
    return dict(text)


def save_random_checkpoint(path: Union[str, Path], layout: str, width: int = 64, layers: int = 2,
                           context_length: int = 77, embed_dim: int = 32,
                           vocab_size: int = 49408, seed: int = 0, extra_keys: bool = True) -> Path:
    """Write a random text tower in `layout` (``hf-clip``, ``clip4clip`` or ``open_clip``).

    ViT-B's text tower is ``width=512, layers=12, embed_dim=512``. The file is written
    atomically and is byte-identical for the same arguments.
    """
    import torch

    if layout not in LAYOUTS:
        raise ValueError(f"unknown layout {layout!r}: expected one of {', '.join(LAYOUTS)}")
    text = random_text_state(width, layers, context_length, embed_dim, vocab_size, seed)
    state = layout_state(text, layout, layers)
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
