"""Random checkpoints are written in the real layouts: the real model classes accept them."""
from __future__ import annotations

import numpy as np
import pytest

torch = pytest.importorskip("torch")
open_clip_model = pytest.importorskip("open_clip.model")
transformers = pytest.importorskip("transformers")

from trecvid_fpig.demo.checkpoints import save_random_checkpoint  # noqa: E402
from trecvid_fpig.encode.text_encoder import load_text_encoder  # noqa: E402

TEXTS = ["a woman cooking in a kitchen", "", "cars " * 40]


def _normalised(x):
    return torch.nn.functional.normalize(x.float(), dim=-1).numpy()


def test_same_seed_same_bytes_other_seed_other_weights(tmp_path):
    a = save_random_checkpoint(tmp_path / "a.pt", "clip4clip", seed=5)
    b = save_random_checkpoint(tmp_path / "b.pt", "clip4clip", seed=5)
    c = save_random_checkpoint(tmp_path / "c.pt", "clip4clip", seed=6)
    assert a.read_bytes() == b.read_bytes()
    assert a.read_bytes() != c.read_bytes()
    assert [p.name for p in tmp_path.iterdir() if p.name.endswith(".part")] == []


def test_hf_clip_checkpoint_loads_into_transformers(tmp_path):
    path = save_random_checkpoint(tmp_path / "model_best.pt", "hf-clip", width=128, layers=2,
                                  embed_dim=48, seed=1)
    state = torch.load(path, weights_only=True)
    assert any(k.startswith("generator.") for k in state)
    assert any(k.startswith("fusioner.") for k in state)
    prefix = "encoder.clipmodel."
    text = {k[len(prefix):]: v for k, v in state.items() if k.startswith(prefix + "text_")}
    text.pop("text_model.embeddings.position_ids")
    config = transformers.CLIPTextConfig(
        vocab_size=49408, hidden_size=128, intermediate_size=512, num_hidden_layers=2,
        num_attention_heads=2, max_position_embeddings=77, hidden_act="quick_gelu",
        bos_token_id=49406, eos_token_id=49407, projection_dim=48)
    reference = transformers.CLIPTextModelWithProjection(config).eval()
    reference.load_state_dict(text, strict=True)

    encoder = load_text_encoder(path, device="cpu")
    ids = torch.from_numpy(encoder.token_ids(TEXTS))
    with torch.no_grad():
        expected = _normalised(reference(input_ids=ids).text_embeds)
    assert np.abs(encoder.encode(TEXTS) - expected).max() <= 1e-5


def test_clip4clip_checkpoint_loads_into_open_clip(tmp_path):
    path = save_random_checkpoint(tmp_path / "pytorch_model.bin.2", "clip4clip", width=128,
                                  layers=2, embed_dim=48, seed=2)
    state = torch.load(path, weights_only=True)
    assert state["clip.transformer.resblocks.1.mlp.c_fc.weight"].dtype == torch.float16
    assert state["clip.token_embedding.weight"].dtype == torch.float32
    assert "frame_position_embeddings.weight" in state
    assert any(k.startswith("transformerClip.") for k in state)
    model = open_clip_model.CLIP(
        embed_dim=48,
        vision_cfg=open_clip_model.CLIPVisionCfg(layers=1, width=64, patch_size=16, image_size=32),
        text_cfg=open_clip_model.CLIPTextCfg(width=128, heads=2, layers=2), quick_gelu=True)
    text = {k[len("clip."):]: v.float() for k, v in state.items()
            if k.startswith("clip.") and not k.startswith("clip.visual.")}
    missing, unexpected = model.load_state_dict(text, strict=False)
    assert not unexpected and all(k.startswith("visual.") for k in missing)

    encoder = load_text_encoder(path, device="cpu")
    ids = torch.from_numpy(encoder.token_ids(TEXTS, max_words=32))
    with torch.no_grad():
        expected = _normalised(model.eval().encode_text(ids))
    assert np.abs(encoder.encode(TEXTS, max_words=32) - expected).max() <= 1e-5


def test_open_clip_checkpoint_is_wrapped_and_module_prefixed(tmp_path):
    path = save_random_checkpoint(tmp_path / "epoch_1.pt", "open_clip", seed=3)
    obj = torch.load(path, weights_only=True)
    assert set(obj) >= {"epoch", "state_dict"}
    assert all(k.startswith("module.") for k in obj["state_dict"])
    encoder = load_text_encoder(path, device="cpu")
    assert (encoder.layout, encoder.output_dim, encoder.spec.width) == ("open_clip", 32, 64)


def test_legacy_non_zip_serialization_loads_the_same(tmp_path):
    """Checkpoints saved by torch < 1.6 (CLIP4Clip's era) are not zip files: no mmap for them."""
    path = save_random_checkpoint(tmp_path / "zip.bin", "clip4clip", seed=4)
    legacy = tmp_path / "legacy.bin"
    torch.save(torch.load(path, weights_only=True), legacy, _use_new_zipfile_serialization=False)
    assert legacy.read_bytes()[:2] != b"PK"
    texts = ["a man and a dog", "snow"]
    np.testing.assert_array_equal(load_text_encoder(legacy, device="cpu").encode(texts),
                                  load_text_encoder(path, device="cpu").encode(texts))


@pytest.mark.parametrize("temporal", ["meanP", "seqTransf"])
def test_clip4clip_image_tower_loads_into_open_clip_vit(tmp_path, temporal):
    from open_clip.transformer import QuickGELU, VisionTransformer

    path = save_random_checkpoint(tmp_path / "m.bin", "clip4clip", vision_width=128,
                                  vision_layers=3, image_size=64, patch_size=32,
                                  temporal=temporal, seed=8)
    state = torch.load(path, weights_only=True)
    visual = {k[len("clip.visual."):]: v for k, v in state.items() if k.startswith("clip.visual.")}
    assert visual["conv1.weight"].dtype == visual["proj"].dtype == torch.float16
    assert visual["class_embedding"].dtype == torch.float32
    tower = VisionTransformer(image_size=64, patch_size=32, width=128, layers=3, heads=2,
                              mlp_ratio=4.0, output_dim=32, act_layer=QuickGELU)
    tower.load_state_dict({k: v.float() for k, v in visual.items()}, strict=True)
    has_head = {"frame_position_embeddings.weight" in state,
                any(k.startswith("transformerClip.resblocks.1.") for k in state)}
    assert has_head == {temporal == "seqTransf"}


def test_text_tower_is_unchanged_by_the_image_tower(tmp_path):
    with_vision = torch.load(save_random_checkpoint(tmp_path / "a.pt", "hf-clip", seed=3),
                             weights_only=True)
    text_only = torch.load(save_random_checkpoint(tmp_path / "b.pt", "hf-clip", seed=3,
                                                  vision=False), weights_only=True)
    assert not any("vision_model" in k for k in text_only)
    assert all(torch.equal(v, with_vision[k]) for k, v in text_only.items())
