"""Video towers against independent references: open_clip's ``encode_image``, Hugging Face's
``get_image_features``, CLIP4Clip's meanP and seqTransf formulas re-derived here in plain torch."""
from __future__ import annotations

import pickle

import numpy as np
import pytest

torch = pytest.importorskip("torch")
open_clip_model = pytest.importorskip("open_clip.model")
transformers = pytest.importorskip("transformers")
Image = pytest.importorskip("PIL.Image")

from support.towers import perturb, tiny_hf_clip  # noqa: E402

from trecvid_fpig.demo.checkpoints import save_random_checkpoint  # noqa: E402
from trecvid_fpig.encode import video_encoder  # noqa: E402
from trecvid_fpig.encode.video_encoder import load_video_encoder  # noqa: E402
from trecvid_fpig.errors import InputError  # noqa: E402

TOL = 1e-5
F = torch.nn.functional
#: Five shots of 1-4 real frames in 4 slots, one with a hole (frame 2 failed to decode).
MASK = torch.tensor([[1, 1, 1, 1], [1, 0, 0, 0], [1, 1, 0, 0], [1, 0, 1, 1], [1, 1, 1, 0]],
                    dtype=torch.bool)


def _tiny_open_clip(quick_gelu, seed, image_size=32, patch_size=16):
    torch.manual_seed(seed)
    model = open_clip_model.CLIP(
        embed_dim=48,
        vision_cfg=open_clip_model.CLIPVisionCfg(layers=2, width=128, head_width=64,
                                                 patch_size=patch_size, image_size=image_size),
        text_cfg=open_clip_model.CLIPTextCfg(width=64, heads=1, layers=1), quick_gelu=quick_gelu)
    perturb(model, seed)
    return model.eval()


def _frames(encoder, shape=MASK.shape, seed=0):
    """Random RGB images of assorted sizes through the encoder's own eval transform."""
    rng = np.random.default_rng(seed)
    transform = encoder.preprocess()
    images = [Image.fromarray(rng.integers(0, 256, (rng.integers(20, 60), rng.integers(20, 60), 3),
                                           dtype=np.uint8)) for _ in range(shape[0] * shape[1])]
    stacked = torch.stack([transform(im) for im in images])
    return stacked.reshape(*shape, *stacked.shape[1:])


def _mean_pool_reference(frame_features, mask):
    """CLIP4Clip's meanP in its own words: normalise, zero the padding, sum / count, normalise.
    (Zero padded rows would be 0/0 here; CLIP4Clip pads with images, so give them norm 1.)"""
    norms = frame_features.norm(dim=-1, keepdim=True)
    x = frame_features / torch.where(norms == 0, torch.ones_like(norms), norms)
    m = mask.float().unsqueeze(-1)
    pooled = (x * m).sum(dim=1) / m.sum(dim=1)
    return pooled / pooled.norm(dim=-1, keepdim=True)


def _check_image_parity(encoder, reference_fn, mask=MASK):
    frames = _frames(encoder, mask.shape)
    with torch.no_grad():
        expected = reference_fn(frames.flatten(0, 1)).reshape(*mask.shape, -1)
    shots, per_frame = encoder.encode(frames, mask)
    assert shots.dtype == per_frame.dtype == torch.float32
    assert shots.shape == (mask.shape[0], encoder.output_dim)
    normalised = expected / expected.norm(dim=-1, keepdim=True)
    assert (per_frame[mask] - normalised[mask]).abs().max() <= TOL
    assert (shots - _mean_pool_reference(expected, mask)).abs().max() <= TOL


@pytest.mark.parametrize("quick_gelu", [False, True])
def test_open_clip_layout_matches_encode_image(tmp_path, quick_gelu):
    model = _tiny_open_clip(quick_gelu, seed=1)
    path = tmp_path / "epoch_2.pt"
    torch.save({"epoch": 2, "state_dict": {"module." + k: v
                                           for k, v in model.state_dict().items()}}, path)
    encoder = load_video_encoder(path, device="cpu", quick_gelu=True if quick_gelu else None)
    assert (encoder.kind, encoder.image_size, encoder.output_dim) == ("open_clip", 32, 48)
    _check_image_parity(encoder, model.encode_image)


def test_hf_clip_layout_matches_get_image_features(tmp_path):
    model = tiny_hf_clip(2, text=dict(hidden_size=32, intermediate_size=64, num_hidden_layers=1,
                                      num_attention_heads=1),
                         vision=dict(hidden_size=128, intermediate_size=320, num_hidden_layers=2,
                                     num_attention_heads=2, image_size=48, patch_size=16),
                         projection_dim=40)
    state = {"encoder.clipmodel." + k: v for k, v in model.state_dict().items()}
    state["generator.query_embed.weight"] = torch.randn(8, 32)
    path = tmp_path / "model_best.pt"
    torch.save(state, path)

    encoder = load_video_encoder(path, device="cpu")
    assert (encoder.kind, encoder.image_size, encoder.output_dim) == ("hf-clip", 48, 40)
    provenance = encoder.provenance()
    assert provenance["prefix"] == "encoder.clipmodel." and "not F-Pig" in provenance["note"]
    _check_image_parity(encoder,
                        lambda x: model.get_image_features(pixel_values=x).pooler_output)


def test_clip4clip_fp16_meanp_matches_open_clip(tmp_path):
    model = _tiny_open_clip(quick_gelu=True, seed=3, image_size=64, patch_size=32)
    open_clip_model.convert_weights_to_lp(model, torch.float16)  # what OpenAI's CLIP saves
    state = {"clip." + k: v for k, v in model.state_dict().items()}
    assert state["clip.visual.conv1.weight"].dtype == torch.float16
    assert state["clip.visual.proj"].dtype == torch.float16
    path = tmp_path / "pytorch_model.bin.1"
    torch.save(state, path)
    model.float()  # the reference sees the same fp16-rounded values, computed in float32

    encoder = load_video_encoder(path, device="cpu")
    assert (encoder.kind, encoder.image_size) == ("clip4clip-meanP", 64)
    assert encoder.provenance()["quick_gelu"] is True
    _check_image_parity(encoder, model.encode_image)


def _clip4clip_layer_norm(x, weight, bias):
    """CLIP4Clip's ``until_module.LayerNorm`` as it defines it: TF style, eps 1e-12 inside the
    square root of the biased variance."""
    u = x.mean(-1, keepdim=True)
    s = (x - u).pow(2).mean(-1, keepdim=True)
    return weight * ((x - u) / torch.sqrt(s + 1e-12)) + bias


def _clip4clip_seq_transf(visual_output, video_mask, weights, layers, heads):
    """CLIP4Clip's ``_loose_similarity`` seqTransf branch, written out in its (T, B, D) layout
    with plain torch ops: positions, additive -1e6 key mask, residual blocks with its own
    LayerNorm and QuickGELU, ``visual_output + visual_output_original``, then normalise,
    masked mean, normalise."""
    original = visual_output
    b, t, d = visual_output.shape
    x = visual_output + weights["frame_position_embeddings.weight"][:t].unsqueeze(0)
    extended = (1.0 - video_mask.float().unsqueeze(1)) * -1000000.0
    extended = extended.expand(-1, t, -1).repeat_interleave(heads, dim=0)  # [B*heads, T, T]
    x = x.permute(1, 0, 2)  # NLD -> LND
    dh = d // heads
    for i in range(layers):
        w = {k[len(f"transformerClip.resblocks.{i}."):]: v.float() for k, v in weights.items()
             if k.startswith(f"transformerClip.resblocks.{i}.")}
        h = _clip4clip_layer_norm(x, w["ln_1.weight"], w["ln_1.bias"])
        q, k, v = (h @ w["attn.in_proj_weight"].t() + w["attn.in_proj_bias"]).chunk(3, dim=-1)

        def split(z):  # [T, B, D] -> [B*heads, T, dh]
            return z.reshape(t, b * heads, dh).transpose(0, 1)
        scores = split(q) @ split(k).transpose(1, 2) / dh ** 0.5 + extended
        attended = (scores.softmax(dim=-1) @ split(v)).transpose(0, 1).reshape(t, b, d)
        x = x + attended @ w["attn.out_proj.weight"].t() + w["attn.out_proj.bias"]
        h = _clip4clip_layer_norm(x, w["ln_2.weight"], w["ln_2.bias"])
        h = h @ w["mlp.c_fc.weight"].t() + w["mlp.c_fc.bias"]
        h = h * torch.sigmoid(1.702 * h)
        x = x + h @ w["mlp.c_proj.weight"].t() + w["mlp.c_proj.bias"]
    x = x.permute(1, 0, 2) + original
    return _mean_pool_reference(x, video_mask)


def _seq_transf_in_blocks_of_two(encoder, raw, mask):
    """The CUDA route's fixed-shape blocks, two shots a block, run on the CPU."""
    video_encoder.CUDA_SHOT_CHUNK, saved = 2, video_encoder.CUDA_SHOT_CHUNK
    try:
        return encoder._seq_transf_blocks(raw, mask)
    finally:
        video_encoder.CUDA_SHOT_CHUNK = saved


def test_clip4clip_seqtransf_matches_clip4clip_formulas(tmp_path):
    path = save_random_checkpoint(tmp_path / "pytorch_model.bin.4", "clip4clip",
                                  embed_dim=128, temporal="seqTransf", temporal_layers=3, seed=7)
    weights = torch.load(path, weights_only=True)
    encoder = load_video_encoder(path, device="cpu")
    assert encoder.kind == "clip4clip-seqTransf"
    assert encoder.provenance()["temporal"] == {
        "layers": 3, "heads": 2, "heads_from": "CLIP4Clip's transformerClip (width // 64)",
        "width": 128, "max_frames": 128}
    frames = _frames(encoder, MASK.shape, seed=3)
    shots, _ = encoder.encode(frames, MASK)
    raw = torch.zeros(*MASK.shape, 128)
    raw[MASK] = encoder.frame_features(frames[MASK])
    expected = _clip4clip_seq_transf(raw, MASK, weights, layers=3, heads=2)
    assert (shots - expected).abs().max() <= TOL
    # The whole batch in one call computes the same formula.
    batched, _ = encoder.seq_transf(raw, MASK)
    assert (batched - expected).abs().max() <= TOL
    # The CUDA route's fixed-shape blocks (two shots a block here, filler rows, every frame
    # position) compute the same formula; run on the CPU to check the cutting and filling.
    blocked, blocked_frames = _seq_transf_in_blocks_of_two(encoder, raw, MASK)
    assert (blocked - expected).abs().max() <= TOL
    assert blocked_frames.shape == raw.shape and not blocked_frames[~MASK].any()
    # The head matters: plain mean pooling of the same frames is far from it.
    assert (shots - _mean_pool_reference(raw, MASK)).abs().max() > 1e-2


def test_clip4clip_seqtransf_at_small_feature_scale(tmp_path):
    """Small frame features (std 0.03) make the LayerNorm's eps count: torch's 1e-5 is 1e-4
    away from CLIP4Clip's 1e-12 there. Every route (per shot, batched, CUDA blocks) agrees."""
    path = save_random_checkpoint(tmp_path / "pytorch_model.bin.4", "clip4clip",
                                  embed_dim=128, temporal="seqTransf", temporal_layers=3, seed=9)
    weights = torch.load(path, weights_only=True)
    encoder = load_video_encoder(path, device="cpu")
    raw = torch.randn(*MASK.shape, 128, generator=torch.Generator().manual_seed(4)) * 0.03
    raw[~MASK] = 0.0
    expected = _clip4clip_seq_transf(raw, MASK, weights, layers=3, heads=2)
    encoder.frame_features = lambda frames: raw[MASK][:frames.shape[0]]
    shots, _ = encoder.encode(torch.zeros(*MASK.shape, 3, 32, 32), MASK)
    assert (shots - expected).abs().max() <= TOL
    assert (encoder.seq_transf(raw, MASK)[0] - expected).abs().max() <= TOL
    blocked, _ = _seq_transf_in_blocks_of_two(encoder, raw, MASK)
    assert (blocked - expected).abs().max() <= TOL


@pytest.mark.parametrize("layout,temporal", [("open_clip", "meanP"), ("hf-clip", "meanP"),
                                             ("clip4clip", "meanP"), ("clip4clip", "seqTransf")])
def test_padding_and_batch_never_change_a_shot(tmp_path, layout, temporal):
    path = save_random_checkpoint(tmp_path / "m.pt", layout, temporal=temporal, seed=11)
    encoder = load_video_encoder(path, device="cpu")
    frames = _frames(encoder, MASK.shape, seed=5)
    shots, per_frame = encoder.encode(frames, MASK)

    # Garbage in the padded slots and three more padded slots: the same bits.
    padded = torch.cat([frames, torch.randn(5, 3, *frames.shape[2:])], dim=1)
    padded[~torch.cat([MASK, torch.zeros(5, 3, dtype=torch.bool)], dim=1)] = 7.0
    wider_mask = torch.cat([MASK, torch.zeros(5, 3, dtype=torch.bool)], dim=1)
    wide_shots, wide_frames = encoder.encode(padded, wider_mask)
    assert torch.equal(wide_shots, shots)
    assert torch.equal(wide_frames[:, :4][MASK], per_frame[MASK])

    # One shot at a time gives the rows of the batch, bit for bit (CPU).
    for row in range(5):
        alone, alone_frames = encoder.encode(frames[row:row + 1], MASK[row:row + 1])
        assert torch.equal(alone[0], shots[row])
        assert torch.equal(alone_frames[0][MASK[row]], per_frame[row][MASK[row]])
    assert torch.allclose(shots.norm(dim=-1), torch.ones(5), atol=1e-6)


def test_preprocess_is_open_clips_transform_and_pickles(tmp_path):
    from open_clip.transform import image_transform

    path = save_random_checkpoint(tmp_path / "m.pt", "hf-clip", image_size=64, patch_size=16)
    encoder = load_video_encoder(path, device="cpu")
    transform = pickle.loads(pickle.dumps(encoder.preprocess()))
    image = Image.fromarray(np.random.default_rng(0).integers(0, 256, (90, 160, 3), np.uint8))
    expected = image_transform(64, is_train=False, mean=(0.48145466, 0.4578275, 0.40821073),
                               std=(0.26862954, 0.26130258, 0.27577711))(image)
    got = transform(image)
    assert got.shape == (3, 64, 64) and got.dtype == torch.float32
    assert torch.equal(got, expected)


def test_no_video_tower_is_one_line_naming_layouts_and_plugin(tmp_path):
    path = save_random_checkpoint(tmp_path / "text_only.pt", "clip4clip", vision=False)
    with pytest.raises(InputError) as err:
        load_video_encoder(path, device="cpu")
    message = str(err.value)
    assert "\n" not in message and "no known video tower" in message
    for name in ("open_clip", "clip4clip", "seqTransf", "hf-clip", "--video-encoder"):
        assert name in message


def test_incomplete_seqtransf_head_is_refused(tmp_path):
    path = save_random_checkpoint(tmp_path / "m.bin", "clip4clip", temporal="seqTransf")
    state = torch.load(path, weights_only=True)
    del state["frame_position_embeddings.weight"]
    torch.save(state, path)
    with pytest.raises(InputError, match="seqTransf checkpoint is incomplete"):
        load_video_encoder(path, device="cpu")


def test_missing_vision_tensor_is_named(tmp_path):
    path = save_random_checkpoint(tmp_path / "m.pt", "hf-clip", seed=4)
    state = torch.load(path, weights_only=True)
    key = "encoder.clipmodel.vision_model.encoder.layers.1.mlp.fc1.weight"
    del state[key]
    torch.save(state, path)
    with pytest.raises(InputError, match=r"layout hf-clip .*vision tower.*layers\.1\.mlp\.fc1"):
        load_video_encoder(path, device="cpu")


def test_bad_frames_are_refused(tmp_path):
    encoder = load_video_encoder(save_random_checkpoint(tmp_path / "m.pt", "open_clip"),
                                 device="cpu")
    with pytest.raises(InputError, match=r"frames must be \[B,T,3,32,32\]"):
        encoder.encode(torch.zeros(1, 2, 3, 64, 64), torch.ones(1, 2, dtype=torch.bool))
    with pytest.raises(InputError, match="at least one real frame"):
        encoder.encode(torch.zeros(2, 2, 3, 32, 32), torch.tensor([[1, 0], [0, 0]]).bool())
