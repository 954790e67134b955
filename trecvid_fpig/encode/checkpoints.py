"""Trained checkpoints -> open_clip text- and video-tower weights, whatever layout training saved.

Three layouts are recognised from the keys alone, for the text tower and the video tower alike:

* ``hf-clip``: F-Pig / PIG / CLIP-ViP, a Hugging Face ``CLIPModel`` under a prefix such as
  ``encoder.clipmodel.`` (separate q/k/v projections, ``text_projection`` as a Linear);
* ``clip4clip``: CLIP4Clip / TeachCLIP, OpenAI's names under ``clip.``, many tensors in fp16;
* ``open_clip``: open_clip's own names, optionally inside ``{"state_dict": ...}`` and
  ``module.``-prefixed (DistributedDataParallel).

Everything is converted to the state dict of :class:`open_clip.transformer.TextTransformer`
(text) or :class:`open_clip.transformer.VisionTransformer` (frames) in float32, and the tower's
size is read from the tensors, so any width/depth/image size loads. CLIP4Clip's temporal
transformer (seqTransf) is converted to :class:`open_clip.transformer.Transformer` names.

No tensor tells the number of attention heads. They come from a ``--tower-config`` (a Hugging
Face ``config.json`` or an open_clip model config), else from the model's own code (OpenAI's
CLIP and CLIP4Clip: ``width // 64``), else, for open_clip checkpoints, from open_clip's own
model-config table when the shapes pick one head count; otherwise 64-wide heads are assumed and
the spec says so (:attr:`TextTowerSpec.heads_assumed`).
"""
from __future__ import annotations

import json
import re
from dataclasses import dataclass, fields
from pathlib import Path
from typing import TYPE_CHECKING, Dict, Iterable, List, Mapping, Optional, Tuple, Union

from ..base.files import require_file
from ..errors import InputError

if TYPE_CHECKING:  # pragma: no cover
    import torch

LAYOUTS = ("hf-clip", "clip4clip", "open_clip")

#: Key that marks a Hugging Face CLIP text tower; whatever precedes it is the prefix.
HF_ANCHOR = "text_model.embeddings.token_embedding.weight"
#: Prefix under which CLIP4Clip and TeachCLIP keep OpenAI's CLIP module.
CLIP4CLIP_PREFIX = "clip."

#: Per-block tensors of open_clip's ``ResidualAttentionBlock`` (OpenAI's names).
OPENAI_BLOCK_KEYS = (
    "ln_1.weight", "ln_1.bias", "attn.in_proj_weight", "attn.in_proj_bias",
    "attn.out_proj.weight", "attn.out_proj.bias", "ln_2.weight", "ln_2.bias",
    "mlp.c_fc.weight", "mlp.c_fc.bias", "mlp.c_proj.weight", "mlp.c_proj.bias",
)
OPENAI_TOP_KEYS = ("token_embedding.weight", "positional_embedding", "ln_final.weight",
                   "ln_final.bias", "text_projection")

#: Hugging Face per-layer module -> open_clip module with the same tensor shapes.
HF_TO_OPENAI_BLOCK = {
    "layer_norm1": "ln_1",
    "layer_norm2": "ln_2",
    "self_attn.out_proj": "attn.out_proj",
    "mlp.fc1": "mlp.c_fc",
    "mlp.fc2": "mlp.c_proj",
}
HF_QKV = ("q_proj", "k_proj", "v_proj")
HF_TO_OPENAI_TOP = {
    "text_model.embeddings.token_embedding.weight": "token_embedding.weight",
    "text_model.embeddings.position_embedding.weight": "positional_embedding",
    "text_model.final_layer_norm.weight": "ln_final.weight",
    "text_model.final_layer_norm.bias": "ln_final.bias",
}
HF_PROJECTION = "text_projection.weight"

_MISSING_SHOWN = 5

#: CLIP's head width: OpenAI's and CLIP4Clip's ``width // 64``, and the fallback.
CLIP_HEAD_WIDTH = 64
TOWERS = ("text", "vision")
HEADS_FROM_OPENAI = "OpenAI CLIP's build_model (width // 64)"
HEADS_FROM_CLIP4CLIP = "CLIP4Clip's transformerClip (width // 64)"
HEADS_ASSUMED = "assumed: 64-wide heads (no --tower-config, no open_clip config matched)"
#: Hugging Face ``hidden_act`` values the open_clip towers can be built with -> QuickGELU.
HF_ACTIVATIONS = {"quick_gelu": True, "gelu": False}


@dataclass(frozen=True)
class TowerHeads:
    """Attention heads per tower (``text``/``vision``, those the checkpoint holds), and where
    they come from; `assumed` when nothing told them (the 64-wide fallback)."""
    heads: Dict[str, int]
    source: str
    assumed: bool = False


@dataclass(frozen=True)
class TowerConfig:
    """Widths, heads and activation (QuickGELU or not) of both towers as a model config file
    gives them."""
    path: str
    form: str
    widths: Dict[str, int]
    heads: Dict[str, int]
    quick_gelu: Dict[str, bool]


def heads_notice(path: Union[str, Path], tower: str, heads: int) -> str:
    """The one line that says heads were assumed and how to give them."""
    return (f"{path}: the {tower} tower's {heads} attention head(s) are assumed 64 wide (no "
            "weight tells the head count); if the model has other heads, give its config.json "
            "or open_clip model config with --tower-config FILE")


def text_heads_record(spec: "TextTowerSpec", path: Union[str, Path]) -> Dict[str, object]:
    """What a topic-features sidecar records of the text tower's heads (and the notice line
    when they were assumed)."""
    record: Dict[str, object] = {"text_heads": spec.heads, "text_heads_from": spec.heads_from}
    if spec.heads_assumed:
        record["heads_note"] = heads_notice(path, "text", spec.heads)
    return record


def _json_object(path: Union[str, Path]) -> dict:
    from ..base.files import read_text

    try:
        obj = json.loads(read_text(path, "tower config JSON"))
    except ValueError as exc:
        raise InputError(f"not a readable JSON model config ({exc})", path) from None
    if not isinstance(obj, dict):
        raise InputError("a model config must be a JSON object", path)
    return obj


def _positive_int(section: Mapping, key: str, where: str, path: Union[str, Path]) -> int:
    value = section.get(key)
    if type(value) is not int or value < 1:
        raise InputError(f"{where} has no positive integer {key!r} (found {value!r})", path)
    return value


def _checked_heads(width: int, heads: int, tower: str, path: Union[str, Path]) -> int:
    if width % heads:
        raise InputError(f"{tower} width {width} does not split into {heads} heads", path)
    return heads


def _cfg_defaults(cfg_class: type) -> Dict[str, object]:
    return {f.name: f.default for f in fields(cfg_class)}


def open_clip_config_shapes(model_cfg: Mapping, path: Union[str, Path, None] = None
                            ) -> Optional[Tuple[Dict[str, Tuple], Dict[str, int]]]:
    """``(shapes, heads)`` per tower of an open_clip model config, its omitted keys taken from
    open_clip's own ``CLIPTextCfg``/``CLIPVisionCfg`` defaults; None for towers this toolkit
    does not build (timm or Hugging Face towers, non-square images). `shapes` is what
    :func:`open_clip_state_shapes` reads from the tensors."""
    from open_clip.model import CLIPTextCfg, CLIPVisionCfg

    text_cfg, vision_cfg = model_cfg.get("text_cfg"), model_cfg.get("vision_cfg")
    if not isinstance(text_cfg, Mapping) or not isinstance(vision_cfg, Mapping):
        return None
    text = {**_cfg_defaults(CLIPTextCfg), **text_cfg}
    vision = {**_cfg_defaults(CLIPVisionCfg), **vision_cfg}
    if text.get("hf_model_name") or vision.get("timm_model_name"):
        return None
    counts = (vision["image_size"], vision["patch_size"], vision["layers"], vision["width"],
              vision["head_width"], text["width"], text["heads"])
    if not all(type(v) is int and v > 0 for v in counts):
        return None
    embed = model_cfg.get("embed_dim")
    shapes = {
        "text": (text["width"], text["layers"], int(text["width"] * text["mlp_ratio"]),
                 text["context_length"], text["vocab_size"], embed),
        "vision": (vision["width"], vision["layers"], int(vision["width"] * vision["mlp_ratio"]),
                   vision["patch_size"], vision["image_size"], embed),
    }
    if vision["width"] % vision["head_width"]:
        if path is not None:
            raise InputError(f"vision width {vision['width']} is not a multiple of head_width "
                             f"{vision['head_width']}", path)
        return None
    return shapes, {"text": text["heads"], "vision": vision["width"] // vision["head_width"]}


def read_tower_config(path: Union[str, Path]) -> TowerConfig:
    """A Hugging Face CLIP ``config.json`` (``text_config`` and ``vision_config``) or an open_clip
    model config (``text_cfg``/``vision_cfg``, as in open_clip's model_configs, or inside
    ``model_cfg`` of an ``open_clip_config.json``): both towers' widths and heads."""
    obj = _json_object(path)
    if isinstance(obj.get("text_config"), Mapping) and isinstance(obj.get("vision_config"),
                                                                   Mapping):
        widths, heads, quick_gelu = {}, {}, {}
        for tower in TOWERS:
            section = obj[f"{tower}_config"]
            widths[tower] = _positive_int(section, "hidden_size", f"{tower}_config", path)
            heads[tower] = _checked_heads(widths[tower], _positive_int(
                section, "num_attention_heads", f"{tower}_config", path), tower, path)
            # transformers' CLIP default; "gelu" is torch's exact GELU, as nn.GELU here
            act = section.get("hidden_act", "quick_gelu")
            if act not in HF_ACTIVATIONS:
                raise InputError(f"{tower}_config hidden_act {act!r}: the toolkit builds "
                                 f"{' or '.join(HF_ACTIVATIONS)} towers", path)
            quick_gelu[tower] = HF_ACTIVATIONS[act]
        return TowerConfig(str(path), "Hugging Face config.json", widths, heads, quick_gelu)
    model_cfg = obj.get("model_cfg", obj)
    if isinstance(model_cfg, Mapping) and ("text_cfg" in model_cfg or "vision_cfg" in model_cfg):
        parsed = open_clip_config_shapes(model_cfg, path)
        if parsed is None:
            raise InputError("open_clip model config of a tower this toolkit does not build "
                             "(a timm or Hugging Face tower, or non-square images)", path)
        shapes, heads = parsed
        for tower in TOWERS:
            _checked_heads(shapes[tower][0], heads[tower], tower, path)
        quick_gelu = model_cfg.get("quick_gelu", False)
        if not isinstance(quick_gelu, bool):
            raise InputError(f"quick_gelu must be true or false, found {quick_gelu!r}", path)
        return TowerConfig(str(path), "open_clip model config",
                           {t: shapes[t][0] for t in TOWERS}, heads,
                           {t: quick_gelu for t in TOWERS})
    raise InputError("neither a Hugging Face CLIP config.json (with text_config and "
                     "vision_config) nor an open_clip model config (with text_cfg and "
                     "vision_cfg)", path)


def _tower_widths(state: Mapping[str, "torch.Tensor"], layout: str) -> Dict[str, int]:
    """Widths of the towers `state` holds, from the anchor tensor of each (by layout)."""
    text_keys = {"hf-clip": None, "clip4clip": CLIP4CLIP_PREFIX + "token_embedding.weight",
                 "open_clip": "token_embedding.weight"}
    vision_keys = {"hf-clip": None, "clip4clip": CLIP4CLIP_PREFIX + "visual.conv1.weight",
                   "open_clip": "visual.conv1.weight"}
    widths = {}
    for key, tensor in state.items():
        if key == text_keys[layout] or (layout == "hf-clip" and key.endswith(HF_ANCHOR)):
            widths["text"] = int(tensor.shape[1])
        elif key == vision_keys[layout] or (layout == "hf-clip"
                                            and key.endswith(HF_VISION_ANCHOR)):
            widths["vision"] = int(tensor.shape[0])
    return widths


def open_clip_state_shapes(state: Mapping[str, "torch.Tensor"]) -> Dict[str, Tuple]:
    """Per tower of an open_clip-named state dict: (width, layers, MLP width, context length,
    vocab size, embed dim) for text, (width, layers, MLP width, patch, image size, embed dim)
    for vision; what :func:`open_clip_config_shapes` gives for its configs."""
    shapes: Dict[str, Tuple] = {}
    text_keys = ("token_embedding.weight", "positional_embedding", "text_projection",
                 "transformer.resblocks.0.mlp.c_fc.weight")
    if all(k in state for k in text_keys):
        vocab, width = (int(n) for n in state["token_embedding.weight"].shape)
        shapes["text"] = (width, _layer_count(state, r"transformer\.resblocks\.(\d+)\."),
                          int(state[text_keys[3]].shape[0]),
                          int(state["positional_embedding"].shape[0]), vocab,
                          int(state["text_projection"].shape[-1]))
    vision_keys = ("visual.conv1.weight", "visual.positional_embedding", "visual.proj",
                   "visual.transformer.resblocks.0.mlp.c_fc.weight")
    if all(k in state for k in vision_keys):
        width, _, patch, _ = (int(n) for n in state["visual.conv1.weight"].shape)
        grid = int(round((int(state["visual.positional_embedding"].shape[0]) - 1) ** 0.5))
        layers = _layer_count(state, r"visual\.transformer\.resblocks\.(\d+)\.")
        shapes["vision"] = (width, layers, int(state[vision_keys[3]].shape[0]), patch,
                            grid * patch, int(state["visual.proj"].shape[-1]))
    return shapes


def match_open_clip_table(shapes: Mapping[str, Tuple]
                          ) -> Tuple[List[str], Optional[Dict[str, int]]]:
    """The open_clip model configs (``open_clip.list_models()``) whose towers have exactly
    `shapes`, and their heads when all of them agree (None when none matched or they differ)."""
    import open_clip

    names, found = [], set()
    for name in open_clip.list_models():
        parsed = open_clip_config_shapes(open_clip.get_model_config(name) or {})
        if parsed is None or any(parsed[0][t] != shapes[t] for t in shapes):
            continue
        names.append(name)
        found.add(tuple(parsed[1][t] for t in shapes))
    if not names or len(found) != 1:
        return names, None
    return names, dict(zip(shapes, found.pop()))


def _activation(quick_gelu: Optional[bool], layout: str,
                tower_config: Optional[Union[str, Path]], tower: str) -> bool:
    """QuickGELU or GELU: as asked, else as the config says, else by layout (OpenAI-derived
    layouts QuickGELU, open_clip GELU, its default)."""
    if quick_gelu is not None:
        return quick_gelu
    if tower_config is not None:
        return read_tower_config(tower_config).quick_gelu[tower]
    return layout != "open_clip"


def tower_heads(state: Mapping[str, "torch.Tensor"], layout: str,
                path: Optional[Union[str, Path]], tower_config: Optional[Union[str, Path]]
                ) -> TowerHeads:
    """Heads of every tower `state` holds: from `tower_config` (its widths must be the
    checkpoint's), OpenAI's rule for clip4clip, open_clip's table for open_clip, else assumed."""
    widths = _tower_widths(state, layout)
    if tower_config is not None:
        config = read_tower_config(tower_config)
        for tower, width in widths.items():
            if config.widths[tower] != width:
                raise InputError(f"{config.form} gives a {tower} width of "
                                 f"{config.widths[tower]}, but the {tower} tower of {path} is "
                                 f"{width} wide: the config is for another model", tower_config)
        return TowerHeads({t: config.heads[t] for t in widths}, f"--tower-config {tower_config}")
    default = {t: max(1, w // CLIP_HEAD_WIDTH) for t, w in widths.items()}
    if layout == "clip4clip":
        return TowerHeads(default, HEADS_FROM_OPENAI)
    if layout == "open_clip":
        shapes = open_clip_state_shapes(state)
        names, heads = match_open_clip_table(shapes) if shapes else ([], None)
        if heads is not None and set(heads) == set(widths):
            shown = ", ".join(names[:3]) + (f" (+{len(names) - 3})" if len(names) > 3 else "")
            return TowerHeads(heads, f"open_clip model config {shown}")
    return TowerHeads(default, HEADS_ASSUMED, assumed=True)


@dataclass(frozen=True)
class TextTowerSpec:
    """Size of a CLIP text tower, read from its tensors; `heads` as :func:`tower_heads` found
    them (`heads_from` says where, `heads_assumed` when nothing told them)."""
    width: int
    layers: int
    heads: int
    context_length: int
    vocab_size: int
    output_dim: int
    mlp_width: int
    quick_gelu: bool
    heads_from: str = HEADS_ASSUMED
    heads_assumed: bool = True


@dataclass(frozen=True)
class TextCheckpoint:
    """A checkpoint's text tower as open_clip ``TextTransformer`` weights (float32)."""
    path: str
    layout: str
    prefix: str
    spec: TextTowerSpec
    state_dict: Dict[str, "torch.Tensor"]


def _torch_load_reason(exc: BaseException) -> str:
    """The informative part of torch.load's message: the refused global, else its first sentence."""
    text = re.sub(r"\x1b\[[0-9;]*m", "", str(exc))
    refused = re.search(r"Unsupported global: (.*?) was not an allowed global", text)
    if refused:
        return f"it pickles {refused.group(1).replace('GLOBAL ', '')}, not only tensors"
    first = text.strip().splitlines()[0] if text.strip() else type(exc).__name__
    return first.split(". ")[0].rstrip(".")[:200]


def read_state_dict(path: Union[str, Path]) -> Dict[str, "torch.Tensor"]:
    """The checkpoint's tensors by name, safely unpickled (``weights_only``), never executed.

    ``{"state_dict": ...}`` wrappers are opened and a ``module.`` prefix on every key is removed.
    """
    import pickle
    import struct
    import warnings

    import torch

    p = require_file(path, "checkpoint file (.pt, .bin, .pth)")
    try:
        with p.open("rb") as fh:
            is_zip = fh.read(4) == b"PK\x03\x04"
        with warnings.catch_warnings():      # our own error says what is wrong with the file
            warnings.filterwarnings("ignore", message=".*pickle protocol", category=UserWarning)
            # Memory-mapping (zip format only) reads just the text tower's pages of a large file.
            obj = torch.load(p, map_location="cpu", weights_only=True, mmap=is_zip)
    except pickle.UnpicklingError as exc:
        raise InputError("cannot be read with torch.load(weights_only=True) "
                         f"({_torch_load_reason(exc)}); re-save the weights alone with "
                         "torch.save(model.state_dict(), PATH)", p) from None
    except (KeyError, struct.error, EOFError) as exc:
        # the unpickler's KeyError is the first byte read as an opcode (101 for text 'e…')
        raise InputError(f"not a PyTorch checkpoint: the bytes are neither a zip archive nor a "
                         f"complete pickle ({type(exc).__name__} while unpickling)", p) from None
    except (RuntimeError, ValueError, OSError, IndexError, AttributeError, TypeError) as exc:
        raise InputError(f"not a readable PyTorch checkpoint ({_torch_load_reason(exc)})",
                         p) from None
    if isinstance(obj, Mapping) and isinstance(obj.get("state_dict"), Mapping):
        obj = obj["state_dict"]
    if not isinstance(obj, Mapping):
        raise InputError(f"expected a state dict (a mapping of names to tensors), found a "
                         f"{type(obj).__name__}", p)
    tensors = {str(k): v for k, v in obj.items() if isinstance(v, torch.Tensor)}
    if not tensors:
        raise InputError("holds no tensors: not a model checkpoint", p)
    if all(k.startswith("module.") for k in tensors):
        tensors = {k[len("module."):]: v for k, v in tensors.items()}
    return tensors


def detect_layout(keys: Iterable[str], path: Optional[Union[str, Path]] = None) -> Tuple[str, str]:
    """``(layout, prefix)`` of the text tower among `keys`; unknown layouts are an InputError."""
    keys = list(keys)
    hf_prefixes = sorted(k[:-len(HF_ANCHOR)] for k in keys if k.endswith(HF_ANCHOR))
    if len(hf_prefixes) > 1:
        raise InputError(f"holds {len(hf_prefixes)} Hugging Face CLIP text towers (prefixes "
                         f"{', '.join(repr(p) for p in hf_prefixes)}); cannot tell which to use",
                         path)
    if hf_prefixes:
        return "hf-clip", hf_prefixes[0]
    keyset = set(keys)
    if CLIP4CLIP_PREFIX + "token_embedding.weight" in keyset:
        return "clip4clip", CLIP4CLIP_PREFIX
    if "token_embedding.weight" in keyset:
        return "open_clip", ""
    shown = ", ".join(sorted(keys)[:_MISSING_SHOWN])
    raise InputError("unknown checkpoint layout: looked for hf-clip ('<prefix>" + HF_ANCHOR
                     + "'), clip4clip ('clip.token_embedding.weight') and open_clip "
                     f"('token_embedding.weight'); its first keys are: {shown}", path)


def _layer_count(keys: Iterable[str], pattern: str) -> int:
    found = [int(m.group(1)) for m in map(re.compile(pattern).match, keys) if m]
    return max(found) + 1 if found else 0


def _require(state: Mapping[str, "torch.Tensor"], names: List[str], layout: str, prefix: str,
             path: Optional[Union[str, Path]], tower: str = "text") -> None:
    missing = [n for n in names if n not in state]
    if missing:
        shown = ", ".join(missing[:_MISSING_SHOWN])
        more = f" (and {len(missing) - _MISSING_SHOWN} more)" if len(missing) > _MISSING_SHOWN else ""
        raise InputError(f"layout {layout} (prefix {prefix!r}): missing {len(missing)} {tower} "
                         f"tower tensor(s): {shown}{more}", path)


def _openai_state(state: Mapping[str, "torch.Tensor"], prefix: str, top_keys: Iterable[str],
                  layout: str, path: Optional[Union[str, Path]], tower: str,
                  blocks: str = "transformer.resblocks.") -> Dict[str, "torch.Tensor"]:
    """`top_keys` and every residual block under `prefix`, renamed without it, in float32."""
    layers = _layer_count(state, re.escape(prefix + blocks) + r"(\d+)\.")
    names = [prefix + k for k in top_keys]
    names += [f"{prefix}{blocks}{i}.{k}" for i in range(max(layers, 1))
              for k in OPENAI_BLOCK_KEYS]
    _require(state, names, layout, prefix, path, tower)
    return {n[len(prefix):]: state[n].float().contiguous() for n in names}


def openai_text_state(state: Mapping[str, "torch.Tensor"], prefix: str, layout: str,
                      path: Optional[Union[str, Path]] = None) -> Dict[str, "torch.Tensor"]:
    """OpenAI/open_clip-named text tensors under `prefix`, as float32 open_clip names."""
    return _openai_state(state, prefix, OPENAI_TOP_KEYS, layout, path, "text")


def hf_text_state(state: Mapping[str, "torch.Tensor"], prefix: str,
                  path: Optional[Union[str, Path]] = None) -> Dict[str, "torch.Tensor"]:
    """Hugging Face ``CLIPModel`` text tensors under `prefix`, renamed and fused for open_clip.

    q/k/v projections are stacked into ``in_proj`` (open_clip's ``nn.MultiheadAttention``) and
    the Linear ``text_projection.weight`` is transposed into OpenAI's ``width x dim`` matrix.
    """
    return _hf_state(state, prefix, "text_model.encoder.layers.", HF_TO_OPENAI_TOP,
                     (HF_PROJECTION, "text_projection"), path, "text")


def _hf_state(state: Mapping[str, "torch.Tensor"], prefix: str, layers_under: str,
              top: Mapping[str, str], projection: Tuple[str, str],
              path: Optional[Union[str, Path]], tower: str) -> Dict[str, "torch.Tensor"]:
    """One Hugging Face CLIP tower (text or vision) in open_clip's names, float32."""
    import torch

    hf_layers = prefix + layers_under
    layers = _layer_count(state, re.escape(hf_layers) + r"(\d+)\.")
    per_layer = [f"self_attn.{p}.{t}" for p in HF_QKV for t in ("weight", "bias")]
    per_layer += [f"{m}.{t}" for m in HF_TO_OPENAI_BLOCK for t in ("weight", "bias")]
    hf_projection, oc_projection = projection
    names = [prefix + k for k in top] + [prefix + hf_projection]
    names += [f"{hf_layers}{i}.{k}" for i in range(max(layers, 1)) for k in per_layer]
    _require(state, names, "hf-clip", prefix, path, tower)

    out = {oc: state[prefix + hf].float().contiguous() for hf, oc in top.items()}
    out[oc_projection] = state[prefix + hf_projection].float().t().contiguous()
    for i in range(layers):
        src, dst = f"{hf_layers}{i}.", f"transformer.resblocks.{i}."
        for kind, fused in (("weight", "attn.in_proj_weight"), ("bias", "attn.in_proj_bias")):
            out[dst + fused] = torch.cat([state[f"{src}self_attn.{p}.{kind}"].float()
                                          for p in HF_QKV]).contiguous()
        for hf, oc in HF_TO_OPENAI_BLOCK.items():
            for kind in ("weight", "bias"):
                out[f"{dst}{oc}.{kind}"] = state[f"{src}{hf}.{kind}"].float().contiguous()
    return out


def infer_spec(text_state: Mapping[str, "torch.Tensor"], quick_gelu: bool,
               path: Optional[Union[str, Path]] = None,
               heads: Optional[TowerHeads] = None) -> TextTowerSpec:
    """The tower's size from open_clip-named tensors; its heads from `heads` (None: assumed
    64 wide)."""
    vocab_size, width = (int(n) for n in text_state["token_embedding.weight"].shape)
    context_length = int(text_state["positional_embedding"].shape[0])
    projection = text_state["text_projection"]
    if projection.ndim != 2 or projection.shape[0] != width:
        raise InputError(f"text projection of shape {tuple(projection.shape)} does not start "
                         f"with the token width {width}", path)
    layers = _layer_count(text_state, r"transformer\.resblocks\.(\d+)\.")
    heads = heads or TowerHeads({"text": max(1, width // CLIP_HEAD_WIDTH)}, HEADS_ASSUMED, True)
    return TextTowerSpec(
        width=width, layers=layers, heads=heads.heads["text"], context_length=context_length,
        vocab_size=vocab_size, output_dim=int(projection.shape[1]),
        mlp_width=int(text_state["transformer.resblocks.0.mlp.c_fc.weight"].shape[0]),
        quick_gelu=quick_gelu, heads_from=heads.source, heads_assumed=heads.assumed)


def load_text_checkpoint(path: Union[str, Path], quick_gelu: Optional[bool] = None,
                         tower_config: Optional[Union[str, Path]] = None) -> TextCheckpoint:
    """Read `path`, find its text tower and convert it to open_clip's names in float32.

    `quick_gelu` None means: what `tower_config` (a config.json or open_clip model config, which
    also gives the attention heads) says, else QuickGELU for the OpenAI-derived layouts
    (hf-clip, clip4clip) and GELU for open_clip checkpoints (open_clip's default; pass True for
    ``-quickgelu`` models).
    """
    state = read_state_dict(path)
    layout, prefix = detect_layout(state, path)
    if layout == "hf-clip":
        text = hf_text_state(state, prefix, path)
    else:
        text = openai_text_state(state, prefix, layout, path)
    quick_gelu = _activation(quick_gelu, layout, tower_config, "text")
    heads = tower_heads(state, layout, path, tower_config)
    return TextCheckpoint(str(path), layout, prefix, infer_spec(text, quick_gelu, path, heads),
                          text)


# --- Video towers --------------------------------------------------------------------------

#: Key that marks a Hugging Face CLIP vision tower; whatever precedes it is the prefix.
HF_VISION_ANCHOR = "vision_model.embeddings.patch_embedding.weight"
HF_VISION_PROJECTION = "visual_projection.weight"
HF_TO_OPENAI_VISION_TOP = {
    "vision_model.embeddings.class_embedding": "class_embedding",
    "vision_model.embeddings.patch_embedding.weight": "conv1.weight",
    "vision_model.embeddings.position_embedding.weight": "positional_embedding",
    "vision_model.pre_layrnorm.weight": "ln_pre.weight",  # sic: Hugging Face's spelling
    "vision_model.pre_layrnorm.bias": "ln_pre.bias",
    "vision_model.post_layernorm.weight": "ln_post.weight",
    "vision_model.post_layernorm.bias": "ln_post.bias",
}
#: open_clip ``VisionTransformer`` tensors outside the residual blocks (OpenAI's names).
OPENAI_VISION_TOP_KEYS = ("class_embedding", "positional_embedding", "conv1.weight",
                          "ln_pre.weight", "ln_pre.bias", "ln_post.weight", "ln_post.bias", "proj")
#: CLIP4Clip's seqTransf head: a frame position table and a temporal transformer.
FRAME_POSITIONS = "frame_position_embeddings.weight"
TEMPORAL_PREFIX = "transformerClip."

#: Shot pooling of each layout: ``mean`` of normalised frames, or CLIP4Clip's two heads.
POOLINGS = ("mean", "meanP", "seqTransf")
VIDEO_LAYOUT_HINT = ("open_clip ('visual.conv1.weight'), clip4clip meanP/seqTransf "
                     "('clip.visual.conv1.weight', seqTransf with 'transformerClip.*' and '"
                     + FRAME_POSITIONS + "') and hf-clip ('<prefix>" + HF_VISION_ANCHOR
                     + "' with '<prefix>" + HF_VISION_PROJECTION + "')")


@dataclass(frozen=True)
class VisionTowerSpec:
    """Size of a CLIP ViT image tower, read from its tensors; heads as for the text tower."""
    width: int
    layers: int
    heads: int
    image_size: int
    patch_size: int
    output_dim: int
    mlp_width: int
    quick_gelu: bool
    heads_from: str = HEADS_ASSUMED
    heads_assumed: bool = True


@dataclass(frozen=True)
class TemporalSpec:
    """Size of CLIP4Clip's temporal transformer (seqTransf), read from its tensors."""
    width: int
    layers: int
    heads: int
    max_frames: int


@dataclass(frozen=True)
class VideoCheckpoint:
    """A checkpoint's video tower: open_clip ``VisionTransformer`` weights (float32) + pooling.

    `temporal_state` holds seqTransf's ``frame_positions`` table and its transformer's
    ``resblocks.*`` in open_clip ``Transformer`` names; it is empty for the other poolings.
    """
    path: str
    layout: str
    prefix: str
    pooling: str
    spec: VisionTowerSpec
    state_dict: Dict[str, "torch.Tensor"]
    temporal: Optional[TemporalSpec] = None
    temporal_state: Optional[Dict[str, "torch.Tensor"]] = None

    @property
    def kind(self) -> str:
        """``open_clip``, ``hf-clip``, ``clip4clip-meanP`` or ``clip4clip-seqTransf``."""
        return f"clip4clip-{self.pooling}" if self.layout == "clip4clip" else self.layout


def detect_video_layout(keys: Iterable[str], path: Optional[Union[str, Path]] = None
                        ) -> Tuple[str, str, str]:
    """``(layout, prefix, pooling)`` of the video tower among `keys`; unknown is an InputError."""
    keys = list(keys)
    keyset = set(keys)
    hf_prefixes = sorted(k[:-len(HF_VISION_ANCHOR)] for k in keys if k.endswith(HF_VISION_ANCHOR)
                         and k[:-len(HF_VISION_ANCHOR)] + HF_VISION_PROJECTION in keyset)
    if len(hf_prefixes) > 1:
        raise InputError(f"holds {len(hf_prefixes)} Hugging Face CLIP vision towers (prefixes "
                         f"{', '.join(repr(p) for p in hf_prefixes)}); cannot tell which to use",
                         path)
    if hf_prefixes:
        return "hf-clip", hf_prefixes[0], "mean"
    if CLIP4CLIP_PREFIX + "visual.conv1.weight" in keyset:
        has_temporal = any(k.startswith(TEMPORAL_PREFIX) for k in keys)
        if has_temporal != (FRAME_POSITIONS in keyset):
            found, lacking = (("transformerClip.*", FRAME_POSITIONS) if has_temporal
                              else (FRAME_POSITIONS, "transformerClip.*"))
            raise InputError(f"CLIP4Clip seqTransf checkpoint is incomplete: it has {found} but "
                             f"no {lacking}", path)
        return "clip4clip", CLIP4CLIP_PREFIX + "visual.", "seqTransf" if has_temporal else "meanP"
    if "visual.conv1.weight" in keyset:
        return "open_clip", "visual.", "mean"
    raise InputError("no known video tower: looked for " + VIDEO_LAYOUT_HINT
                     + "; for another model pass --video-encoder MODULE:FACTORY", path)


def infer_vision_spec(visual: Mapping[str, "torch.Tensor"], quick_gelu: bool,
                      path: Optional[Union[str, Path]] = None,
                      heads: Optional[TowerHeads] = None) -> VisionTowerSpec:
    """The ViT's size from open_clip-named tensors: the patch from the conv, the image size
    from the position table (a square grid plus the class token); heads from `heads` (None:
    assumed 64 wide)."""
    width, _, patch, _ = (int(n) for n in visual["conv1.weight"].shape)
    positions = int(visual["positional_embedding"].shape[0])
    grid = int(round((positions - 1) ** 0.5))
    if grid * grid + 1 != positions:
        raise InputError(f"vision position table has {positions} rows: not a square grid of "
                         "patches plus a class token", path)
    projection = visual["proj"]
    if projection.ndim != 2 or projection.shape[0] != width:
        raise InputError(f"visual projection of shape {tuple(projection.shape)} does not start "
                         f"with the patch width {width}", path)
    heads = heads or TowerHeads({"vision": max(1, width // CLIP_HEAD_WIDTH)}, HEADS_ASSUMED,
                                True)
    return VisionTowerSpec(
        width=width, layers=_layer_count(visual, r"transformer\.resblocks\.(\d+)\."),
        heads=heads.heads["vision"], image_size=grid * patch, patch_size=patch,
        output_dim=int(projection.shape[1]),
        mlp_width=int(visual["transformer.resblocks.0.mlp.c_fc.weight"].shape[0]),
        quick_gelu=quick_gelu, heads_from=heads.source, heads_assumed=heads.assumed)


def temporal_state(state: Mapping[str, "torch.Tensor"], path: Optional[Union[str, Path]] = None
                   ) -> Tuple[TemporalSpec, Dict[str, "torch.Tensor"]]:
    """CLIP4Clip's seqTransf head as open_clip ``Transformer`` names plus ``frame_positions``.

    Its heads are ``width // 64`` as CLIP4Clip builds it (``transformer_width // 64``, the
    text tower's width, whatever that tower's own heads), so no config changes them.
    """
    out = _openai_state(state, TEMPORAL_PREFIX, (), "clip4clip", path, "temporal", "resblocks.")
    out["frame_positions"] = state[FRAME_POSITIONS].float().contiguous()
    width = int(out["resblocks.0.ln_1.weight"].shape[0])
    max_frames, position_width = (int(n) for n in out["frame_positions"].shape)
    if position_width != width:
        raise InputError(f"frame position table is {position_width} wide, the temporal "
                         f"transformer {width}", path)
    spec = TemporalSpec(width=width, layers=_layer_count(out, r"resblocks\.(\d+)\."),
                        heads=max(1, width // CLIP_HEAD_WIDTH), max_frames=max_frames)
    return spec, out


def load_video_checkpoint(path: Union[str, Path], quick_gelu: Optional[bool] = None,
                          tower_config: Optional[Union[str, Path]] = None) -> VideoCheckpoint:
    """Read `path`, find its video tower and convert it to open_clip's names in float32.

    `quick_gelu` None means what `tower_config` (which also gives the heads) says, else
    QuickGELU for the OpenAI-derived layouts (hf-clip, clip4clip) and GELU for open_clip
    checkpoints, as for the text tower.
    """
    state = read_state_dict(path)
    layout, prefix, pooling = detect_video_layout(state, path)
    if layout == "hf-clip":
        visual = _hf_state(state, prefix, "vision_model.encoder.layers.", HF_TO_OPENAI_VISION_TOP,
                           (HF_VISION_PROJECTION, "proj"), path, "vision")
    else:
        visual = _openai_state(state, prefix, OPENAI_VISION_TOP_KEYS, layout, path, "vision")
    quick_gelu = _activation(quick_gelu, layout, tower_config, "vision")
    spec = infer_vision_spec(visual, quick_gelu, path,
                             tower_heads(state, layout, path, tower_config))
    temporal, temporal_tensors = (temporal_state(state, path) if pooling == "seqTransf"
                                  else (None, None))
    if temporal is not None and temporal.width != spec.output_dim:
        raise InputError(f"temporal transformer is {temporal.width} wide but the frame features "
                         f"are {spec.output_dim}", path)
    return VideoCheckpoint(str(path), layout, prefix, pooling, spec, visual, temporal,
                           temporal_tensors)
