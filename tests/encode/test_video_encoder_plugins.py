"""Plugins: ``--video-encoder package.module:factory`` and the ``fpig_trecvid.video_encoders``
entry points, with real modules and a real dist-info written in the test; and the CLIP-ViP
example of docs/video-encoders.md run against a stand-in for CLIP-ViP's ``VidCLIP``."""
from __future__ import annotations

import importlib
import sys
from pathlib import Path

import pytest
from support import REPO

torch = pytest.importorskip("torch")
transformers = pytest.importorskip("transformers")

from trecvid_fpig.demo.checkpoints import save_random_checkpoint  # noqa: E402
from trecvid_fpig.encode.video_encoder import ENTRY_POINT_GROUP, load_video_encoder  # noqa: E402
from trecvid_fpig.errors import InputError  # noqa: E402

F = torch.nn.functional
MASK = torch.tensor([[1, 1, 1], [1, 0, 0], [1, 0, 1], [1, 1, 0], [1, 1, 1]], dtype=torch.bool)

#: A frame-level plugin: each frame's mean colour per channel, and a log of what it was given.
COLOUR_PLUGIN = '''
import torch
from trecvid_fpig.encode.video_encoder import VideoTowerPlugin

CALLS = []

def factory(checkpoint, device):
    CALLS.append(("factory", checkpoint, str(device)))

    def encode(frames):
        CALLS.append(tuple(frames.shape))
        return frames.mean(dim=(3, 4)) + 2.0   # [B,T,3], all positive
    return VideoTowerPlugin(encode=encode, image_size=8, output_dim=3, mean=(0.5, 0.5, 0.5),
                            std=(0.5, 0.5, 0.5), description="mean colour")

def shot_level(checkpoint, device):
    return VideoTowerPlugin(encode=lambda frames: frames.mean(dim=(1, 3, 4)) + 2.0,
                            image_size=8, output_dim=3)

def wrong_shape(checkpoint, device):
    return VideoTowerPlugin(encode=lambda frames: frames[:, 0, 0], image_size=8, output_dim=3)

def not_a_plugin(checkpoint, device):
    return lambda frames: frames
'''


@pytest.fixture
def plugin_dir(tmp_path, monkeypatch):
    """`colour_plugin.py` importable, and a dist-info registering it as the entry point `colour`."""
    (tmp_path / "colour_plugin.py").write_text(COLOUR_PLUGIN)
    dist = tmp_path / "fpig_colour_plugin-1.0.dist-info"
    dist.mkdir()
    (dist / "METADATA").write_text("Metadata-Version: 2.1\nName: fpig-colour-plugin\n"
                                   "Version: 1.0\n")
    (dist / "entry_points.txt").write_text(f"[{ENTRY_POINT_GROUP}]\n"
                                           "colour = colour_plugin:factory\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.delitem(sys.modules, "colour_plugin", raising=False)
    importlib.invalidate_caches()
    return tmp_path


def _frames(seed=0):
    frames = torch.rand(*MASK.shape, 3, 8, 8, generator=torch.Generator().manual_seed(seed))
    frames[~MASK] = float("nan")  # a plugin that saw a padded frame would return NaN
    return frames


@pytest.mark.parametrize("spec", ["colour_plugin:factory", "colour"])
def test_frame_level_plugin_by_module_or_entry_point(plugin_dir, tmp_path, spec):
    checkpoint = tmp_path / "anything.ckpt"
    checkpoint.write_bytes(b"the plugin reads this, not the toolkit")
    encoder = load_video_encoder(checkpoint, device="cpu", video_encoder=spec)
    assert encoder.kind == "plugin:colour_plugin:factory"
    assert (encoder.image_size, encoder.output_dim, encoder.mean) == (8, 3, (0.5, 0.5, 0.5))
    assert encoder.preprocess()  # open_clip's transform at the plugin's size

    frames = _frames()
    shots, per_frame = encoder.encode(frames, MASK)
    colours = torch.nan_to_num(frames).mean(dim=(3, 4)) + 2.0
    normed = colours / colours.norm(dim=-1, keepdim=True)
    expected = torch.stack([normed[r][MASK[r]].mean(dim=0) for r in range(5)])
    expected = expected / expected.norm(dim=-1, keepdim=True)
    assert (shots - expected).abs().max() <= 1e-6
    assert (per_frame[MASK] - normed[MASK]).abs().max() <= 1e-6

    calls = sys.modules["colour_plugin"].CALLS
    assert calls[0] == ("factory", str(checkpoint), "cpu")
    # One call per frame count (1, 2, 3), each with real frames only.
    assert sorted(calls[1:]) == [(1, 1, 3, 8, 8), (2, 2, 3, 8, 8), (2, 3, 3, 8, 8)]
    provenance = encoder.provenance()
    assert provenance["kind"] == "plugin:colour_plugin:factory"
    assert provenance["description"] == "mean colour" and len(provenance["checkpoint_sha256"]) == 64


def test_shot_level_plugin_vector_stands_for_each_frame(plugin_dir, tmp_path):
    checkpoint = tmp_path / "c.bin"
    checkpoint.write_bytes(b"x")
    encoder = load_video_encoder(checkpoint, device="cpu", video_encoder="colour_plugin:shot_level")
    frames = _frames(1)
    shots, per_frame = encoder.encode(frames, MASK)
    for row in range(5):
        colour = frames[row][MASK[row]].mean(dim=(0, 2, 3)) + 2.0
        assert (shots[row] - colour / colour.norm()).abs().max() <= 1e-6
        assert torch.equal(per_frame[row][MASK[row]],
                           shots[row].expand(int(MASK[row].sum()), -1))


@pytest.mark.parametrize("spec,message", [
    ("colour_plugin:wrong_shape", r"returned \[1, 8, 8\] for 1 shot\(s\) of 1 frame\(s\); "
                                  r"expected \[1, 3\] or \[1, 1, 3\]"),
    ("colour_plugin:not_a_plugin", "returned a function, expected a "
                                   "trecvid_fpig.encode.video_encoder.VideoTowerPlugin"),
    ("colour_plugin:nothing_here", "'colour_plugin' has no 'nothing_here'"),
    ("no_such_module_xyz:factory", "cannot import 'no_such_module_xyz'"),
    ("nameless", r"unknown video encoder 'nameless': expected package.module:factory or an "
                 r"entry point of fpig_trecvid.video_encoders \(.*colour"),
])
def test_plugin_errors(plugin_dir, tmp_path, spec, message):
    checkpoint = tmp_path / "c.bin"
    checkpoint.write_bytes(b"x")
    with pytest.raises(InputError, match=message):
        encoder = load_video_encoder(checkpoint, device="cpu", video_encoder=spec)
        encoder.encode(_frames()[1:2], MASK[1:2])


#: The tiny CLIP of the synthetic hf-clip checkpoints, as a local ``clip_config`` folder would hold it.
TINY_CLIP = dict(
    text_config=dict(hidden_size=64, intermediate_size=256, num_hidden_layers=2,
                     num_attention_heads=1, hidden_act="quick_gelu"),
    vision_config=dict(hidden_size=64, intermediate_size=256, num_hidden_layers=2,
                       num_attention_heads=1, image_size=32, patch_size=16,
                       hidden_act="quick_gelu"),
    projection_dim=32)


class _StandInVidCLIP(torch.nn.Module):
    """CLIP-ViP's ``VidCLIP`` (src/modeling/VidCLIP.py) as the example meets it: built from
    ``args.clip_config`` / ``clip_weights`` / ``clip_vision_additional_config``, a CLIP in
    ``clipmodel``, and ``forward_video`` ([B,T,3,H,W] -> L2-normalised [B,D]). Its video tower is
    plain CLIP mean-pooled here, so the built-in hf-clip encoder is the reference."""

    def __init__(self, args):
        super().__init__()
        vision = args.clip_vision_additional_config  # read as attributes, like CLIP-ViP's
        assert vision.type == "ViP"
        assert (vision.temporal_size, vision.if_use_temporal_embed, vision.add_cls_num) == (12, 1, 3)
        config = transformers.CLIPConfig.from_pretrained(args.clip_config)
        setattr(config, "vision_additional_config", vision)
        assert not args.clip_weights  # from_pretrained would download OpenAI's CLIP
        self.clipmodel = transformers.CLIPModel(config)
        self.clipmodel.logit_scale.data.fill_(vision.logit_scale_init_value)

    def forward_video(self, video):
        b, t = video.shape[:2]
        frames = self.clipmodel.get_image_features(pixel_values=video.flatten(0, 1)).pooler_output
        frames = F.normalize(frames, dim=-1).reshape(b, t, -1)
        return F.normalize(frames.mean(dim=1), dim=-1)


def test_docs_clipvip_example_plugin_runs(tmp_path, monkeypatch):
    example = REPO / "docs" / "examples" / "clipvip_plugin.py"
    doc = (REPO / "docs" / "video-encoders.md").read_text(encoding="utf-8")
    assert example.read_text(encoding="utf-8").strip() in doc  # the doc shows this very file

    package = tmp_path / "src" / "modeling"
    package.mkdir(parents=True)
    (tmp_path / "src" / "__init__.py").write_text("")
    (package / "__init__.py").write_text("")
    (package / "VidCLIP.py").write_text("from test_video_encoder_plugins import "
                                        "_StandInVidCLIP as VidCLIP\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.syspath_prepend(str(example.parent))
    monkeypatch.syspath_prepend(str(Path(__file__).parent))
    for name in ("src", "src.modeling", "src.modeling.VidCLIP", "clipvip_plugin"):
        monkeypatch.delitem(sys.modules, name, raising=False)
    transformers.CLIPConfig(**TINY_CLIP).save_pretrained(tmp_path / "clip-config")
    monkeypatch.setenv("CLIPVIP_CLIP_CONFIG", str(tmp_path / "clip-config"))  # offline

    checkpoint = save_random_checkpoint(tmp_path / "model_best.pt", "hf-clip", seed=9)
    plugin = load_video_encoder(checkpoint, device="cpu", video_encoder="clipvip_plugin:factory")
    builtin = load_video_encoder(checkpoint, device="cpu")
    assert (plugin.image_size, plugin.output_dim) == (builtin.image_size, builtin.output_dim)
    assert "CLIP-ViP" in plugin.provenance()["description"]
    frames = torch.randn(*MASK.shape, 3, 32, 32, generator=torch.Generator().manual_seed(2))
    got, _ = plugin.encode(frames, MASK)
    expected, _ = builtin.encode(frames, MASK)
    assert (got - expected).abs().max() <= 1e-5

    # CLIP-ViP's own saves: VidCLIP's state_dict(), keys under "clipmodel." with no prefix
    state = torch.load(checkpoint, map_location="cpu", weights_only=True)
    own = tmp_path / "clipvip_own.pt"
    torch.save({k[len("encoder."):]: v for k, v in state.items() if k.startswith("encoder.")}, own)
    got_own, _ = load_video_encoder(own, device="cpu",
                                    video_encoder="clipvip_plugin:factory").encode(frames, MASK)
    assert torch.equal(got_own, got)

