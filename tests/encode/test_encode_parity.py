"""Parity of the loaded text towers with independent references: Hugging Face ``CLIPModel`` for
the hf-clip layout, open_clip's own ``CLIP.encode_text`` for the clip4clip and open_clip layouts.

The references run on the full 77-token context with their own masks and pooling; the encoder
under test cuts batches to the longest text, so equal features also prove that shortcut exact.
"""
from __future__ import annotations

import numpy as np
import pytest

torch = pytest.importorskip("torch")
open_clip_model = pytest.importorskip("open_clip.model")
transformers = pytest.importorskip("transformers")

from support.towers import perturb, tiny_hf_clip  # noqa: E402

from trecvid_fpig.encode.text_encoder import load_text_encoder  # noqa: E402

TEXTS = [
    "Find shots of a person riding a horse on a beach",
    "",
    "Élan vital: café — naïve résumé, 2024!",
    " ".join(f"token{i}" for i in range(60)),  # longer than max_words: truncated
    "a",
    'a crowd cheers "goal!", waving flags',  # BPE id 0 ("!") inside a text, not only as padding
    "at least two people are dancing at night in a street with lights",
]
TOL = 1e-5


def _normalised(x: "torch.Tensor") -> np.ndarray:
    return torch.nn.functional.normalize(x.float(), dim=-1).numpy()


def _tiny_open_clip(quick_gelu: bool, seed: int) -> "open_clip_model.CLIP":
    torch.manual_seed(seed)
    model = open_clip_model.CLIP(
        embed_dim=48,
        vision_cfg=open_clip_model.CLIPVisionCfg(layers=1, width=64, head_width=64,
                                                 patch_size=16, image_size=32),
        text_cfg=open_clip_model.CLIPTextCfg(context_length=77, vocab_size=49408, width=128,
                                             heads=2, layers=2),
        quick_gelu=quick_gelu,
    )
    perturb(model, seed)
    return model.eval()


def _open_clip_reference(model, ids: np.ndarray) -> np.ndarray:
    with torch.no_grad():
        return _normalised(model.encode_text(torch.from_numpy(ids)))


@pytest.mark.slow       # builds two Hugging Face CLIPs with the full vocabulary
def test_hf_clip_layout_matches_transformers_clipmodel(tmp_path):
    model = tiny_hf_clip(0, text=dict(hidden_size=128, intermediate_size=512,
                                      num_hidden_layers=2, num_attention_heads=2),
                         vision=dict(hidden_size=32, intermediate_size=64, num_hidden_layers=1,
                                     num_attention_heads=1, image_size=32, patch_size=16),
                         projection_dim=48)
    state = {"encoder.clipmodel." + k: v for k, v in model.state_dict().items()}
    state["generator.decoder.layers.0.linear1.weight"] = torch.randn(64, 32)
    state["fusioner.norm.weight"] = torch.ones(32)
    path = tmp_path / "model_best.pt"
    torch.save(state, path)

    encoder = load_text_encoder(path, device="cpu")
    assert (encoder.layout, encoder.output_dim, encoder.context_length) == ("hf-clip", 48, 77)
    assert (encoder.spec.width, encoder.spec.layers, encoder.spec.heads) == (128, 2, 2)
    ids = encoder.token_ids(TEXTS, max_words=50)
    with torch.no_grad():
        expected = _normalised(model.get_text_features(input_ids=torch.from_numpy(ids))
                               .pooler_output)
    got = encoder.encode(TEXTS, max_words=50)
    assert got.dtype == np.float32 and got.shape == (len(TEXTS), 48)
    assert np.abs(got - expected).max() <= TOL


def test_clip4clip_layout_with_fp16_tensors_matches_open_clip(tmp_path):
    model = _tiny_open_clip(quick_gelu=True, seed=1)
    open_clip_model.convert_weights_to_lp(model, torch.float16)  # what OpenAI's CLIP saves
    state = {"clip." + k: v for k, v in model.state_dict().items()}
    assert state["clip.transformer.resblocks.0.attn.in_proj_weight"].dtype == torch.float16
    assert state["clip.text_projection"].dtype == torch.float16
    state["transformerClip.resblocks.0.attn.in_proj_weight"] = torch.randn(144, 48)
    state["frame_position_embeddings.weight"] = torch.randn(128, 48)
    path = tmp_path / "pytorch_model.bin.4"
    torch.save(state, path)
    model.float()  # the reference sees the same fp16-rounded values, computed in float32

    encoder = load_text_encoder(path, device="cpu")
    assert encoder.layout == "clip4clip" and encoder.spec.quick_gelu
    ids = encoder.token_ids(TEXTS, max_words=32)
    row = ids[TEXTS.index('a crowd cheers "goal!", waving flags')]
    assert 0 in row[1:list(row).index(49407)]
    got = encoder.encode(TEXTS, max_words=32)
    assert np.abs(got - _open_clip_reference(model, ids)).max() <= TOL


@pytest.mark.parametrize("quick_gelu", [False, True])
def test_open_clip_layout_wrapped_and_module_prefixed_matches_open_clip(tmp_path, quick_gelu):
    model = _tiny_open_clip(quick_gelu=quick_gelu, seed=2)
    path = tmp_path / "epoch_3.pt"
    torch.save({"epoch": 3, "name": "run", "state_dict": {"module." + k: v for k, v in
                                                           model.state_dict().items()}}, path)

    # GELU is open_clip's default; a -quickgelu model says so explicitly.
    encoder = load_text_encoder(path, device="cpu", quick_gelu=True if quick_gelu else None)
    assert encoder.layout == "open_clip" and encoder.spec.quick_gelu is quick_gelu
    ids = encoder.token_ids(TEXTS, max_words=50)
    got = encoder.encode(TEXTS, max_words=50)
    assert np.abs(got - _open_clip_reference(model, ids)).max() <= TOL


def test_wrong_activation_changes_features(tmp_path):
    """The activation matters: loading a GELU tower as QuickGELU must not pass the parity bar."""
    model = _tiny_open_clip(quick_gelu=False, seed=3)
    path = tmp_path / "gelu.pt"
    torch.save(model.state_dict(), path)
    encoder = load_text_encoder(path, device="cpu", quick_gelu=True)
    ids = encoder.token_ids(TEXTS)
    assert np.abs(encoder.encode(TEXTS) - _open_clip_reference(model, ids)).max() > 1e-3
