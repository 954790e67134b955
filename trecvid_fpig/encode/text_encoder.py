"""Topic texts -> L2-normalised CLIP text features, with open_clip's own text tower and tokenizer.

The feature is the end-of-text token's output through the text projection, as in CLIP, CLIP4Clip,
TeachCLIP and F-Pig. Truncation follows CLIP4Clip: a text keeps the start token, its first
``max_words - 2`` BPE tokens and the end token (``max_words`` beyond the model's context is refused:
recording 1000 while 77 were used would misdescribe the run).
"""
from __future__ import annotations

import warnings
from pathlib import Path
from typing import TYPE_CHECKING, Dict, Optional, Sequence, Union

import numpy as np

from ..base.devices import pick_device
from ..errors import InputError, InputWarning
from .checkpoints import TextCheckpoint, load_text_checkpoint

if TYPE_CHECKING:  # pragma: no cover
    import torch
    from open_clip.tokenizer import SimpleTokenizer
    from open_clip.transformer import TextTransformer


def resolve_device(device: Optional[str]) -> "torch.device":
    """The torch device for `device` (``None``: auto), by the one device choice,
    :func:`devices.pick_device`."""
    import torch

    return torch.device(pick_device(device or "auto"))


def assign_weights(module: "torch.nn.Module", state: Dict[str, "torch.Tensor"], what: str,
                   path: str, target: str = "") -> None:
    """Give a tower built on the meta device exactly the checkpoint's tensors (no copy, no
    random init); a missing, extra or misshapen tensor is one clear error."""
    try:
        module.load_state_dict(state, strict=True, assign=True)
    except RuntimeError as exc:
        detail = " ".join(str(exc).split())
        into = f" {target}" if target else ""
        raise InputError(f"{what} tensors do not fit{into}: {detail[:300]}", path) from None


def build_text_tower(checkpoint: TextCheckpoint, device: "torch.device") -> "TextTransformer":
    """open_clip's ``TextTransformer`` sized by the checkpoint's spec, holding exactly its weights.

    It is created on the meta device and the tensors are assigned, so no time is spent on a
    random initialisation that the checkpoint would overwrite.
    """
    import torch
    from open_clip.transformer import QuickGELU, TextTransformer

    spec = checkpoint.spec
    with torch.device("meta"):
        tower = TextTransformer(
            context_length=spec.context_length, vocab_size=spec.vocab_size, width=spec.width,
            heads=spec.heads, layers=spec.layers, mlp_ratio=spec.mlp_width / spec.width,
            output_dim=spec.output_dim, act_layer=QuickGELU if spec.quick_gelu else torch.nn.GELU)
    assign_weights(tower, checkpoint.state_dict, "text tower", checkpoint.path,
                   "a CLIP text transformer")
    # The causal mask is a non-persistent buffer, so it was built on the meta device.
    tower.attn_mask = tower.build_causal_mask()
    return tower.to(device).eval()


#: Texts per tower call (fixed, for batch-independent features).
CPU_TEXT_CHUNK = 8
CUDA_TEXT_CHUNK = 64


def text_chunk_rows(device: "torch.device") -> int:
    """Rows of every text-tower call on `device`."""
    return CPU_TEXT_CHUNK if device.type == "cpu" else CUDA_TEXT_CHUNK


def tokenize_truncated(tokenizer: "SimpleTokenizer", texts: Sequence[str], max_words: int,
                       context_length: int) -> np.ndarray:
    """Token ids, ``(len(texts), context_length)`` int64, zero-padded, CLIP4Clip truncation;
    texts cut to fit are named in a warning (their tail is not encoded: a query that lost words)."""
    if max_words < 2:
        raise InputError(f"max words must be at least 2 (start and end tokens), got {max_words}")
    if max_words > context_length:
        raise InputError(f"--max-words {max_words} is more than the model's context length "
                         f"({context_length} tokens, start and end included); give at most "
                         f"{context_length}")
    keep = max_words - 2
    ids = np.zeros((len(texts), context_length), dtype=np.int64)
    cut = []
    for row, text in enumerate(texts):
        words = tokenizer.encode(text)
        if len(words) > keep:
            cut.append((text, len(words)))
        tokens = [tokenizer.sot_token_id] + words[:keep] + [tokenizer.eot_token_id]
        ids[row, :len(tokens)] = tokens
    if cut:
        more = f" and {len(cut) - 1} more" if len(cut) > 1 else ""
        warnings.warn(f"{len(cut)} of {len(texts)} text(s) cut to the {keep} tokens --max-words "
                      f"{max_words} keeps (start and end tokens aside), the rest not encoded: "
                      f"{cut[0][0][:50]!r} ({cut[0][1]} tokens){more}", InputWarning,
                      stacklevel=2)
    return ids


class TextEncoder:
    """A checkpoint's text tower and the CLIP tokenizer, ready to encode topics."""

    def __init__(self, tower: "TextTransformer", tokenizer: "SimpleTokenizer",
                 checkpoint: TextCheckpoint, device: "torch.device"):
        self.tower = tower
        self.tokenizer = tokenizer
        self.checkpoint_path = checkpoint.path
        self.layout = checkpoint.layout
        self.spec = checkpoint.spec
        self.device = device

    @property
    def output_dim(self) -> int:
        return self.spec.output_dim

    @property
    def context_length(self) -> int:
        return self.spec.context_length

    def token_ids(self, texts: Sequence[str], max_words: int = 50) -> np.ndarray:
        return tokenize_truncated(self.tokenizer, texts, max_words, self.context_length)

    def encode(self, texts: Sequence[str], max_words: int = 50,
               progress: bool = False) -> np.ndarray:
        """``(len(texts), output_dim)`` float32 features with unit L2 norm, in `texts`' order.

        A text's feature depends on the text alone, not on the texts encoded with it: the tower
        always sees the same shapes (the full context, zero-padded as open_clip's tokenizer
        pads, and :func:`text_chunk_rows` rows, the last chunk filled with empty rows), since
        MKL's and cuBLAS's results depend on the matrix sizes.
        """
        import torch
        from tqdm import tqdm

        ids = self.token_ids(texts, max_words)
        rows = text_chunk_rows(self.device)
        chunks = -(-len(texts) // rows)
        padded = np.zeros((chunks * rows, ids.shape[1]), dtype=np.int64)
        padded[:len(texts)] = ids
        out = np.empty((chunks * rows, self.output_dim), dtype=np.float32)
        with torch.inference_mode(), tqdm(total=len(texts), desc="encode topics", unit="topic",
                                          disable=not progress) as bar:
            for start in range(0, len(padded), rows):
                batch = torch.from_numpy(padded[start:start + rows]).to(self.device)
                feats = torch.nn.functional.normalize(self.tower(batch).float(), dim=-1)
                out[start:start + rows] = feats.cpu().numpy()
                bar.update(min(rows, len(texts) - start))
        out = out[:len(texts)]
        if not np.isfinite(out).all():
            raise InputError("the text tower produces NaN/inf features: the checkpoint's "
                             "weights are not finite", self.checkpoint_path)
        return out


def load_text_encoder(checkpoint_path: Union[str, Path], device: Optional[str] = None,
                      quick_gelu: Optional[bool] = None,
                      tower_config: Optional[Union[str, Path]] = None) -> TextEncoder:
    """Load `checkpoint_path` (hf-clip, clip4clip or open_clip layout) onto `device`.

    `quick_gelu` None chooses by layout (see :func:`load_text_checkpoint`); `tower_config`
    gives the attention heads.
    """
    from open_clip.tokenizer import SimpleTokenizer

    resolved = resolve_device(device)
    checkpoint = load_text_checkpoint(checkpoint_path, quick_gelu, tower_config)
    tokenizer = SimpleTokenizer()
    if checkpoint.spec.vocab_size < tokenizer.vocab_size:
        raise InputError(f"the text tower has a vocabulary of {checkpoint.spec.vocab_size} "
                         f"tokens; the CLIP tokenizer needs {tokenizer.vocab_size}", checkpoint.path)
    tower = build_text_tower(checkpoint, resolved)
    return TextEncoder(tower, tokenizer, checkpoint, resolved)
