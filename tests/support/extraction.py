"""A tiny fake video tower and generated V3C-style collections for the extraction tests.

The fake tower has the agreed ``VideoEncoder`` interface (open_clip's eval transform, then a
fixed random projection of each frame's pixels, computed frame by frame in float64 so that a
shot's vector never depends on its batch), so the pipeline is tested apart from the real towers.
"""
from __future__ import annotations

from pathlib import Path
from typing import Dict, List, Sequence, Tuple

import numpy as np
from support import TESTS

FPS = 25
OPENAI_MEAN = (0.48145466, 0.4578275, 0.40821073)
OPENAI_STD = (0.26862954, 0.26130258, 0.27577711)


class FakeVideoEncoder:
    kind = "fake"

    def __init__(self, image_size: int = 16, dim: int = 8, seed: int = 0, delay: float = 0.0):
        import torch

        self.image_size, self.output_dim, self.delay = image_size, dim, delay
        self.mean, self.std = OPENAI_MEAN, OPENAI_STD
        self.device = torch.device("cpu")
        rng = np.random.default_rng(seed)
        self.weights = torch.from_numpy(rng.standard_normal((3 * image_size ** 2, dim)))

    def preprocess(self):
        from open_clip.transform import image_transform

        return image_transform(self.image_size, is_train=False, mean=self.mean, std=self.std)

    def encode(self, frames, mask):
        import time

        import torch

        if self.delay:
            time.sleep(self.delay)
        batch, steps = mask.shape
        raw = torch.zeros((batch, steps, self.output_dim), dtype=torch.float64)
        for b in range(batch):
            for t in range(steps):
                if mask[b, t]:
                    raw[b, t] = frames[b, t].double().flatten() @ self.weights
        unit = torch.nn.functional.normalize(raw, dim=-1) * mask.unsqueeze(-1)
        shots = unit.sum(1) / mask.sum(1, keepdim=True)
        return torch.nn.functional.normalize(shots, dim=-1).float(), unit.float()

    def provenance(self) -> dict:
        return {"kind": self.kind, "checkpoint_sha256": "0" * 64,
                "image_size": self.image_size, "output_dim": self.output_dim}


def frame_colour(number: int) -> Tuple[int, int, int]:
    """Frame `number` painted in one colour that spells its number."""
    return number % 256, (number // 256) * 16 % 256, 200


def colour_number(image) -> int:
    """Back from a decoded frame (PIL image) to its number (centre pixel)."""
    r, g, _ = image.getpixel((image.width // 2, image.height // 2))[:3]
    return int(r) + 256 * (int(g) // 16)


def write_video(path: Path, frames: int, size: Tuple[int, int] = (64, 48), fps: int = FPS,
                codec: str = "libx264rgb", gop: int = 12) -> Path:
    """A lossless video whose frame n is painted frame_colour(n) (libx264rgb, crf 0)."""
    import av

    path.parent.mkdir(parents=True, exist_ok=True)
    with av.open(str(path), "w") as container:
        stream = container.add_stream(codec, rate=fps)
        stream.width, stream.height = size
        stream.pix_fmt = "rgb24" if codec == "libx264rgb" else "yuv420p"
        stream.options = {"crf": "0", "g": str(gop)} if codec == "libx264rgb" else {"g": str(gop)}
        for n in range(frames):
            pixels = np.empty((size[1], size[0], 3), np.uint8)
            pixels[:] = frame_colour(n)
            for packet in stream.encode(av.VideoFrame.from_ndarray(pixels, format="rgb24")):
                container.mux(packet)
        for packet in stream.encode():
            container.mux(packet)
    return path


def write_boundaries(path: Path, shots: Sequence[Tuple[int, int]], fps: int = FPS) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    rows = ["startframe\tstarttime\tendframe\tendtime"]
    rows += [f"{a}\t{a / fps:.3f}\t{b}\t{(b + 1) / fps:.3f}" for a, b in shots]
    path.write_text("\n".join(rows) + "\n", encoding="utf-8")
    return path


def v3c_collection(root: Path, videos: Dict[str, List[Tuple[int, int]]],
                   nested: bool = True) -> Tuple[Path, Path]:
    """``root/videos/VVVVV/VVVVV.mp4`` (or flat) and ``root/msb/VVVVV.tsv``."""
    for video, shots in videos.items():
        folder = root / "videos" / video if nested else root / "videos"
        write_video(folder / f"{video}.mp4", shots[-1][1] + 1)
        write_boundaries(root / "msb" / f"{video}.tsv", shots)
    return root / "videos", root / "msb"


#: 15 keyframe shots over 3 videos, 1 to 3 images each (the `keyframes` fixture of tests/extract)
KEYFRAME_SHOTS = {f"shot0000{v}_{n}": 1 + (n % 3) for v in (1, 2, 3) for n in range(1, 6)}


def keyframe_collection(root: Path, shots: Dict[str, int], size=(40, 30), seed: int = 0) -> Path:
    """``root/VVVVV/shotVVVVV_N_K.png`` random images, `shots[shot_id]` images each."""
    from PIL import Image

    rng = np.random.default_rng(seed)
    for shot, count in shots.items():
        video = shot[4:].split("_")[0]
        for k in range(count):
            pixels = rng.integers(0, 256, size=(size[1], size[0], 3), dtype=np.uint8)
            path = root / video / f"{shot}_{k + 1}_RKF.png"
            path.parent.mkdir(parents=True, exist_ok=True)
            Image.fromarray(pixels).save(path)
    return root


SCRIPT = """\
import sys
sys.path.insert(0, {tests!r})
from support.extraction import FakeVideoEncoder
from trecvid_fpig.extract import job
job.open_encoder = lambda checkpoint, device, plugin, tower_config=None: FakeVideoEncoder(delay={delay})
from trecvid_fpig.cli import main
sys.argv = ["fpig-trecvid"] + sys.argv[1:]
main()
"""


def cli_script(tmp_path: Path, delay: float) -> Path:
    script = tmp_path / f"extract_{delay}.py"
    script.write_text(SCRIPT.format(tests=str(TESTS), delay=delay))
    return script
