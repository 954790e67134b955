"""fpig-trecvid video encoder plugin for CLIP-ViP-based checkpoints (CLIP-ViP, PIG, F-Pig).

CLIP-ViP's video tower (video proxy tokens, its attention pattern) lives in its own code, so the
toolkit imports that code instead of re-implementing it. Put CLIP-ViP's folder of a clone of
github.com/microsoft/XPretrain (the folder holding ``src/modeling/VidCLIP.py``; it also needs
``easydict``) and this file on PYTHONPATH, then:

    fpig-trecvid features extract --checkpoint model_best.pt \
        --video-encoder clipvip_plugin:factory --keyframes DIR OUT

Offline, set CLIPVIP_CLIP_CONFIG to a local folder holding the backbone's ``config.json``.
The toolkit does the rest: frame sampling and decoding, open_clip's eval transform with the
size and normalisation returned here, batching, shards, resume, provenance.
"""
import os
from types import SimpleNamespace

from trecvid_fpig.encode.checkpoints import read_state_dict
from trecvid_fpig.encode.video_encoder import VideoTowerPlugin
from trecvid_fpig.errors import InputError

#: ``clip_config`` and ``clip_vision_additional_config`` of CLIP-ViP's retrieval configs
#: (src/configs/*_retrieval/*_vip_base_32.json; the B/16 ones say openai/clip-vit-base-patch16).
CLIP_CONFIG = os.environ.get("CLIPVIP_CLIP_CONFIG", "openai/clip-vit-base-patch32")
VISION_ADDITIONAL_CONFIG = dict(type="ViP", temporal_size=12, if_use_temporal_embed=1,
                                logit_scale_init_value=4.60, add_cls_num=3)
#: A ``VidCLIP`` keeps its CLIP in ``clipmodel``; what precedes this key is the module's prefix:
#: none in CLIP-ViP's own saves (``model.state_dict()``), ``encoder.`` in F-Pig's.
ANCHOR = "clipmodel.vision_model.embeddings.patch_embedding.weight"


class EasyDict(dict):
    """CLIP-ViP's configs are EasyDicts: fields read as attributes, JSON-serialisable."""
    __getattr__ = dict.__getitem__


def build_model(checkpoint, device):
    """CLIP-ViP's own ``VidCLIP`` holding the checkpoint's weights."""
    from src.modeling.VidCLIP import VidCLIP  # CLIP-ViP's code

    # clip_weights=None: no download of OpenAI's CLIP, the checkpoint holds every weight.
    args = SimpleNamespace(clip_config=CLIP_CONFIG, clip_weights=None,
                           clip_vision_additional_config=EasyDict(VISION_ADDITIONAL_CONFIG))
    model = VidCLIP(args)
    state = read_state_dict(checkpoint)  # weights_only; {"state_dict": ...} and module. undone
    prefixes = [k[:-len(ANCHOR)] for k in state if k.endswith(ANCHOR)]
    if len(prefixes) != 1:
        raise InputError(f"expected one VidCLIP ('<prefix>{ANCHOR}'), found {len(prefixes)}",
                         checkpoint)
    mine = {k[len(prefixes[0]):]: v for k, v in state.items() if k.startswith(prefixes[0])}
    missing, _ = model.load_state_dict(mine, strict=False)
    missing = [k for k in missing if not k.endswith("position_ids")]  # constant buffers
    if missing:
        raise InputError(f"no weights for {len(missing)} tensors, e.g. {missing[0]}", checkpoint)
    return model.to(device).eval()


def factory(checkpoint, device):
    """Called once per process by fpig-trecvid with the checkpoint path and a torch.device."""
    model = build_model(checkpoint, device)
    config = model.clipmodel.config
    return VideoTowerPlugin(
        encode=model.forward_video,  # [B,T,3,H,W] -> [B,D], projected and L2-normalised
        image_size=config.vision_config.image_size,
        output_dim=config.projection_dim,
        mean=(0.48145466, 0.4578275, 0.40821073), std=(0.26862954, 0.26130258, 0.27577711),
        description=f"CLIP-ViP VidCLIP.forward_video ({CLIP_CONFIG}, {VISION_ADDITIONAL_CONFIG})")
