"""fpig-trecvid video encoder plugin for CLIP-ViP-based checkpoints (CLIP-ViP, PIG, F-Pig).

CLIP-ViP's video tower (video proxy tokens, its attention pattern) lives in its own code, so the
toolkit imports that code instead of re-implementing it. Put a clone of CLIP-ViP
(github.com/microsoft/XPretrain, folder CLIP-ViP) and this file on PYTHONPATH, then:

    fpig-trecvid features extract --checkpoint model_best.pt \
        --video-encoder clipvip_plugin:factory --keyframes DIR OUT

The toolkit does the rest: frame sampling and decoding, open_clip's eval transform with the
size and normalisation returned here, batching, shards, resume, provenance.
"""
import os
from types import SimpleNamespace

import torch

from trecvid_fpig.encode.video_encoder import VideoTowerPlugin

#: The model's settings, as in its training config (CLIP-ViP B/32 with 12 frames).
CLIP_CONFIG = os.environ.get("CLIPVIP_CLIP_CONFIG", "openai/clip-vit-base-patch32")
VISION_ADDITIONAL_CONFIG = dict(type="ViP", temporal_size=12, if_use_temporal_embed=1,
                                logit_scale_init_value=4.60, add_cls_num=3)
#: Where the checkpoint keeps CLIP-ViP's ``VidCLIP`` module (F-Pig and PIG: ``encoder.``).
PREFIX = "encoder."


def build_model(checkpoint, device):
    """CLIP-ViP's own ``VidCLIP`` holding the checkpoint's weights."""
    from src.modeling.VidCLIP import VidCLIP  # CLIP-ViP's code

    vision = SimpleNamespace(**VISION_ADDITIONAL_CONFIG)
    args = SimpleNamespace(clip_config=CLIP_CONFIG, clip_weights=None,
                           clip_vision_additional_config=vision)
    model = VidCLIP(args)
    state = torch.load(checkpoint, map_location="cpu", weights_only=True)
    state = state.get("state_dict", state)
    mine = {k[len(PREFIX):]: v for k, v in state.items() if k.startswith(PREFIX)}
    missing, _ = model.load_state_dict(mine, strict=False)
    if missing:
        raise ValueError(f"{checkpoint}: no weights for {len(missing)} tensors, e.g. {missing[0]}")
    return model.to(device).eval()


def factory(checkpoint, device):
    """Called once per process by fpig-trecvid with the checkpoint path and a torch.device."""
    model = build_model(checkpoint, device)
    config = model.clipmodel.config
    return VideoTowerPlugin(
        encode=model.forward_video,  # [B,T,3,H,W] -> [B,D]: CLIP-ViP's video features
        image_size=config.vision_config.image_size,
        output_dim=config.projection_dim,
        mean=(0.48145466, 0.4578275, 0.40821073), std=(0.26862954, 0.26130258, 0.27577711),
        description=f"CLIP-ViP VidCLIP.forward_video ({CLIP_CONFIG}, {VISION_ADDITIONAL_CONFIG})")
