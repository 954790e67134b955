"""Extraction speed and memory: ``features extract`` against the decode-only floor.

Not a test: prints medians (min-max) of --reps runs, interleaved round robin, all measured in
this run on this machine:

  (a) videos: synthetic 640x360 H.264 (25 fps, shots of 1-10 s), clip4clip sampling, 12 frames,
      a tiny tower at 224 px. Floor: PyAV decoding the same videos in the same number of worker
      processes and converting the same frames to images, no preprocessing, no model.
      Goal: end to end >= 0.8 x the floor's frames/s.
  (b) keyframes: 640x360 JPEGs, one per shot. Floor: PIL opening and decoding the same files in
      the same number of processes. Same goal.
  (c) a ViT-B/32-size random tower (the toolkit's open_clip tower, 224 px, width 768, 12
      layers) end to end from keyframes: frames/s on --device (on a GPU: fp16 autocast).
  (d) peak RSS of the main process and of the largest decode worker on --rss-shots keyframe
      shots (tiny images, tiny tower): should stay < 4 GB and flat as the shot count grows.
  (e) hours for V3C1 + V3C2 (1,082,657 + 1,425,454 shots) at 12 frames per shot from (a)-(c).
  (f) with --device cuda, instead: the ViT-B/32 tower in fp16 end to end from --gpu-shots
      keyframes (JPEG and PNG) and from videos with all cores decoding, --preprocess cpu
      (PIL resizes in the workers) and device (exact_resize on the GPU), against the CPU
      decode floor and the tower-alone floor, which says what bounds it; stores compared
      across batch sizes and across --preprocess.
  (g) on the CPU, keyframe extraction with --preprocess device beside the cpu default (a)-(b).

With ``--engine ray`` it measures only Ray's overhead: --ray-shots (20,000) tiny keyframe shots
with the tiny tower, the local engine against ``--engine ray`` (one actor, the same --workers,
on a Ray started once, as a cluster is: its start-up is printed apart). Goal: Ray <= 1.15 x.

    python benchmarks/bench_extract.py [--reps 3] [--workers N] [--rss-shots 2000 20000]
                                       [--workdir /tmp/fpig-bench-extract]
    python benchmarks/bench_extract.py --videos-only [--reps 5]      # (a) alone
    python benchmarks/bench_extract.py --device cuda [--gpu-shots 20000] [--reps 2]
    python benchmarks/bench_extract.py --engine ray [--ray-shots 20000] [--reps 3]
"""
from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import time
from multiprocessing import get_context
from pathlib import Path

import numpy as np

V3C_SHOTS = 1_082_657 + 1_425_454
FPS = 25


class BenchTower:
    """The agreed VideoEncoder interface around a frame model: mean of unit frame vectors."""
    kind = "bench"

    def __init__(self, model, image_size: int, output_dim: int, device: str = "cpu"):
        import torch

        self.model, self.image_size, self.output_dim = model, image_size, output_dim
        self.device = torch.device(device)
        self.mean = (0.48145466, 0.4578275, 0.40821073)
        self.std = (0.26862954, 0.26130258, 0.27577711)

    def preprocess(self):
        from open_clip.transform import image_transform

        return image_transform(self.image_size, is_train=False, mean=self.mean, std=self.std)

    def encode(self, frames, mask):
        import contextlib

        import torch

        autocast = torch.autocast("cuda", dtype=torch.float16) if self.device.type == "cuda" \
            else contextlib.nullcontext()
        with torch.inference_mode(), autocast:
            flat = self.model(frames[mask].to(self.device, non_blocking=True)).float()
        raw = torch.zeros((*mask.shape, self.output_dim), device=self.device)
        raw[mask.to(self.device)] = flat
        unit = torch.nn.functional.normalize(raw, dim=-1)
        shots = unit.sum(1) / mask.to(self.device).sum(1, keepdim=True)
        return torch.nn.functional.normalize(shots, dim=-1).cpu(), unit.cpu()

    def provenance(self) -> dict:
        return {"kind": self.kind, "checkpoint_sha256": None}


def tiny_tower(device: str = "cpu") -> BenchTower:
    import torch

    torch.manual_seed(0)
    model = torch.nn.Sequential(torch.nn.AvgPool2d(28), torch.nn.Flatten(),
                                torch.nn.Linear(3 * 8 * 8, 64)).eval().to(device)
    return BenchTower(model, 224, 64, device)


def vit_b32_tower(device: str, work: Path):
    """The toolkit's own open_clip video tower (fixed-shape chunks, fp16 autocast on CUDA) with
    random ViT-B/32 weights (224 px, width 768, 12 layers, 512-d output)."""
    from trecvid_fpig.demo.checkpoints import save_random_checkpoint
    from trecvid_fpig.encode.video_encoder import load_video_encoder

    path = work / "vit-b32.pt"
    if not path.exists():
        save_random_checkpoint(path, "open_clip", width=64, layers=1, embed_dim=512,
                               vision_width=768, vision_layers=12, image_size=224,
                               patch_size=32)
    return load_video_encoder(path, device=device)


def make_videos(root: Path, videos: int, seconds: int, workers: int = 1) -> None:
    """640x360 H.264 noise-and-gradient videos and their master shot boundaries."""
    if (root / "done").exists():
        return
    (root / "videos").mkdir(parents=True, exist_ok=True)
    (root / "msb").mkdir(parents=True, exist_ok=True)
    with get_context("fork").Pool(workers) as pool:
        pool.map(_make_video, [(root, v, seconds) for v in range(1, videos + 1)], chunksize=1)
    (root / "done").touch()


def _make_video(args) -> None:
    import av

    root, v, seconds = args
    rng = np.random.default_rng(v)
    base = np.random.default_rng(0).integers(0, 256, size=(360, 640, 3), dtype=np.uint8)
    name = f"{v:05d}"
    frames = seconds * FPS
    with av.open(str(root / "videos" / f"{name}.mp4"), "w") as container:
        stream = container.add_stream("libx264", rate=FPS)
        stream.width, stream.height, stream.pix_fmt = 640, 360, "yuv420p"
        stream.options = {"preset": "veryfast", "g": "50"}
        for n in range(frames):
            pixels = np.roll(base, shift=n * 3 + v * 50, axis=1)
            for packet in stream.encode(av.VideoFrame.from_ndarray(pixels, format="rgb24")):
                container.mux(packet)
        for packet in stream.encode():
            container.mux(packet)
    rows, start = ["startframe\tstarttime\tendframe\tendtime"], 0
    while start < frames:
        end = min(frames - 1, start + int(rng.integers(1, 11)) * FPS - 1)
        rows.append(f"{start}\t{start / FPS:.2f}\t{end}\t{(end + 1) / FPS:.2f}")
        start = end + 1
    (root / "msb" / f"{name}.tsv").write_text("\n".join(rows) + "\n")


def make_keyframes(root: Path, shots: int, size=(640, 360), fmt: str = "jpg",
                   workers: int = 1) -> None:
    if (root / "done").exists():
        return
    for video in range(1, 2 + (shots - 1) // 200):
        (root / f"{video:05d}").mkdir(parents=True, exist_ok=True)
    chunks = [(root, range(s, min(shots, s + 500)), size, fmt) for s in range(0, shots, 500)]
    with get_context("fork").Pool(workers) as pool:
        pool.map(_make_keyframes, chunks, chunksize=1)
    (root / "done").touch()


def _make_keyframes(args) -> None:
    from PIL import Image

    root, numbers, size, fmt = args
    base = np.random.default_rng(1).integers(0, 256, size=(size[1], size[0], 3), dtype=np.uint8)
    for s in numbers:
        video, shot = 1 + s // 200, 1 + s % 200
        Image.fromarray(np.roll(base, s * 7, axis=1)).save(
            root / f"{video:05d}" / f"shot{video:05d}_{shot}_RKF.{fmt}", quality=90)


def _decode_video_floor(args) -> int:
    """PyAV: decode the whole video once and convert the sampled frames to images."""
    import av

    path, wanted = args
    wanted, taken = set(wanted), 0
    with av.open(path) as container:
        stream = container.streams.video[0]
        stream.thread_type = "AUTO"
        for n, frame in enumerate(container.decode(stream)):
            if n in wanted:
                frame.to_image()
                taken += 1
    return taken


def _decode_image_floor(args) -> int:
    """PIL: decode each file; with `steps`, also open_clip's resize and crop (the PIL part of
    the exact preprocessing, which the pipeline must do too)."""
    from PIL import Image

    paths, steps = args
    for path in paths:
        with Image.open(path) as img:
            image = img.convert("RGB")
            for step in steps:
                image = step(image)
    return len(paths)


def video_floor(root: Path, workers: int) -> tuple:
    from trecvid_fpig.extract.reader import sample_frames
    from trecvid_fpig.extract.shots import video_shots

    shots = video_shots(root / "videos", root / "msb")
    by_video: dict = {}
    for shot in shots:
        by_video.setdefault(shot.source, []).extend(sample_frames(shot, "clip4clip", 12, FPS))
    started = time.perf_counter()
    with get_context("fork").Pool(workers) as pool:
        frames = sum(pool.map(_decode_video_floor, list(by_video.items()), chunksize=1))
    return frames, time.perf_counter() - started


def image_floor(root: Path, workers: int, steps: tuple = ()) -> tuple:
    paths = sorted(str(p) for p in root.rglob("shot*"))
    chunks = [(paths[i:i + 16], steps) for i in range(0, len(paths), 16)]
    started = time.perf_counter()
    with get_context("fork").Pool(workers) as pool:
        frames = sum(pool.map(_decode_image_floor, chunks, chunksize=1))
    return frames, time.perf_counter() - started


def end_to_end(out: Path, tower, workers: int, batch: int, **inputs) -> tuple:
    from trecvid_fpig.extract.job import ExtractRequest, extract_features

    started = time.perf_counter()
    result = extract_features(ExtractRequest(checkpoint="bench", out=str(out), workers=workers,
                                             batch_size=batch, overwrite=True, **inputs),
                              encoder=tower)
    wall = time.perf_counter() - started
    return result.manifest["extract"]["timings"]["frames_this_call"], wall


def rss_child(work: Path, shots: int, workers: int) -> dict:
    """Run in a child process: extract `shots` tiny keyframe shots, report peak RSS."""
    root = work / f"rss-kf-{shots}"
    make_keyframes(root, shots, size=(64, 36))
    tower = tiny_tower()
    import trecvid_fpig.extract.job  # noqa: F401  (imports counted in the baseline)

    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    frames, wall = end_to_end(work / f"rss-{shots}.fpig", tower, workers, 64,
                              keyframes=str(root))
    return {"shots": shots, "frames": frames, "wall_s": wall, "rss_before_mib": before / 1024,
            "main_peak_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
            "worker_peak_mib": resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024}


def ray_overhead(work: Path, shots: int, workers: int, reps: int, device: str) -> None:
    """Local engine vs --engine ray on the same shots, round robin, in this run."""
    from trecvid_fpig.extract.ray_engine import RaySettings, connect

    root, warm = work / f"ray-kf-{shots}", work / "ray-kf-warm"
    for folder, count in ((root, shots), (warm, 320)):
        if not folder.exists():
            make_keyframes(folder, count, size=(64, 36))
    started = time.perf_counter()
    connect(RaySettings(workers=workers))
    print(f"Ray start-up (once per cluster, not per command): "
          f"{time.perf_counter() - started:.1f} s", flush=True)
    tower = tiny_tower(device)
    engines = {"local": {}, "ray": {"engine": "ray", "num_gpus_per_actor":
                                    1.0 if device.startswith("cuda") else 0.0}}
    for name, options in engines.items():             # warm: imports, Ray's workers
        end_to_end(work / f"warm-{name}.fpig", tower, workers, 32, keyframes=str(warm),
                   **options)
    walls = {name: [] for name in engines}
    for _ in range(reps):
        for name, options in engines.items():
            _, wall = end_to_end(work / f"{name}.fpig", tower, workers, 32,
                                 keyframes=str(root), **options)
            walls[name].append(wall)
    print(f"\n{shots} keyframe shots, tiny tower, {workers} decode workers, device {device}")
    print(f"{'seconds, median (min-max)':<34}")
    for name, values in walls.items():
        print(f"  {name:<32}{spread(values)}   {shots / statistics.median(values):.0f} shots/s")
    ratio = statistics.median(walls["ray"]) / statistics.median(walls["local"])
    print(f"  ray / local: {ratio:.3f}  (goal <= 1.15)")
    same = all((work / "local.fpig" / n).read_bytes() == (work / "ray.fpig" / n).read_bytes()
               for n in ("features.npy", "ids.npy"))
    print(f"  identical features.npy and ids.npy: {same}")


def tower_only(tower, batch: int, shots: int) -> tuple:
    """The model floor as the pipeline sees it: 8-bit 224 px frames already in memory through
    the same ShotMapper (copy to the device, normalise, encode, copy back), no decoding."""
    from trecvid_fpig.extract.mapper import ShotMapper

    mapper = ShotMapper(tower, batch)
    rng = np.random.default_rng(2)
    pixels = [rng.integers(0, 256, (1, 224, 224, 3), dtype=np.uint8) for _ in range(batch)]
    mapper(pixels)                                     # warm: kernels, allocator
    started = time.perf_counter()
    for _ in range(shots // batch):
        mapper(pixels)
    return shots // batch * batch, time.perf_counter() - started


def gpu_report(work: Path, args) -> None:
    """(f) on a GPU: ViT-B/32 fp16 end to end from keyframes and videos, against the CPU decode
    floor and the model-only floor measured in the same run, round robin; stores compared."""
    import torch

    workers, shots = args.workers, args.gpu_shots
    name = torch.cuda.get_device_name(0) if args.device.startswith("cuda") else "cpu"
    print(f"bench_extract on {name}, torch {torch.__version__}, "
          f"{os.cpu_count()} CPUs", flush=True)
    kf, v3c = work / f"kf-gpu-{shots}", work / "v3c-gpu"
    png = work / f"kf-gpu-png-{shots}"
    started = time.perf_counter()
    make_keyframes(kf, shots, workers=workers)
    make_keyframes(png, shots, fmt="png", workers=workers)
    make_videos(v3c, args.videos, args.seconds, workers=workers)
    print(f"generated {shots} JPEG and PNG keyframes and {args.videos} videos in "
          f"{time.perf_counter() - started:.0f} s", flush=True)
    vit, tiny = vit_b32_tower(args.device, work), tiny_tower(args.device)
    from trecvid_fpig.extract.mapper import split_transform

    resize = split_transform(vit.preprocess()).pil_steps
    end_to_end(work / "gpu-warm.fpig", vit, workers, 256, keyframes=str(kf))
    end_to_end(work / "gpu-warm-d.fpig", vit, workers, 256, keyframes=str(kf),
               preprocess="device")
    videos = dict(videos=str(v3c / "videos"), boundaries=str(v3c / "msb"))
    cases = {
        "keyframes: PIL decode floor": lambda: image_floor(kf, workers),
        "keyframes: decode + resize/crop floor": lambda: image_floor(kf, workers, resize),
        "PNG keyframes: PIL decode floor": lambda: image_floor(png, workers),
        "ViT-B/32 fp16 alone, batch 256": lambda: tower_only(vit, 256, 8192),
        "keyframes, ViT-B/32, batch 64, cpu": lambda: end_to_end(
            work / "g64.fpig", vit, workers, 64, keyframes=str(kf), preprocess="cpu"),
        "keyframes, ViT-B/32, batch 256, cpu": lambda: end_to_end(
            work / "g256.fpig", vit, workers, 256, keyframes=str(kf), preprocess="cpu"),
        f"keyframes, ViT-B/32, batch 256, {workers - 1} workers, cpu": lambda: end_to_end(
            work / "g256w.fpig", vit, workers - 1, 256, keyframes=str(kf), preprocess="cpu"),
        "keyframes, ViT-B/32, batch 256, device": lambda: end_to_end(
            work / "g256d.fpig", vit, workers, 256, keyframes=str(kf), preprocess="device"),
        "PNG keyframes, ViT-B/32, batch 256, device": lambda: end_to_end(
            work / "g256p.fpig", vit, workers, 256, keyframes=str(png), preprocess="device"),
        "keyframes, tiny tower, batch 256, device": lambda: end_to_end(
            work / "gtiny.fpig", tiny, workers, 256, keyframes=str(kf), preprocess="device"),
        "videos: PyAV decode floor": lambda: video_floor(v3c, workers),
        "videos, ViT-B/32, clip4clip 12, batch 32, cpu": lambda: end_to_end(
            work / "gv.fpig", vit, workers, 32, preprocess="cpu", **videos),
        "videos, ViT-B/32, clip4clip 12, batch 32, device": lambda: end_to_end(
            work / "gvd.fpig", vit, workers, 32, preprocess="device", **videos),
    }
    rates: dict = {label: [] for label in cases}
    for _ in range(args.reps):
        for label, case in cases.items():
            frames, wall = case()
            rates[label].append(frames / wall)
            print(f"  {label:<52}{frames / wall:9.0f} frames/s", flush=True)
    print(f"\n{args.device}: {workers} decode workers; frames/s, median (min-max)")
    for label, values in rates.items():
        print(f"  {label:<52}{spread(values)}")
    med = {k: statistics.median(v) for k, v in rates.items()}
    for preprocess in ("cpu", "device"):
        best = max(v for k, v in med.items()
                   if k.startswith("keyframes, ViT") and k.endswith(preprocess))
        floors = {k: med[k] for k in ("keyframes: PIL decode floor",
                                      "keyframes: decode + resize/crop floor",
                                      "ViT-B/32 fp16 alone, batch 256")}
        bound = min(floors, key=floors.get)
        print(f"  best keyframes end to end, --preprocess {preprocess}: {best:.0f} frames/s "
              f"(goal >= 3000), {best / floors['keyframes: PIL decode floor']:.2f} of the "
              f"decode-only floor (goal >= 0.85); lowest floor: {bound}")
    png_ratio = med["PNG keyframes, ViT-B/32, batch 256, device"] / \
        med["PNG keyframes: PIL decode floor"]
    video_ratio = med["videos, ViT-B/32, clip4clip 12, batch 32, device"] / \
        med["videos: PyAV decode floor"]
    print(f"  --preprocess device: PNG keyframes {png_ratio:.2f} of the PNG decode floor, "
          f"videos {video_ratio:.2f} of the PyAV floor")

    def same(*names):
        return all(len({(work / n / f).read_bytes() for n in names}) == 1
                   for f in ("features.npy", "ids.npy"))

    print(f"  batch 64 / 256 and {workers}/{workers - 1} workers give identical stores: "
          f"{same('g64.fpig', 'g256.fpig', 'g256w.fpig')}")
    print(f"  --preprocess cpu and device give identical stores: keyframes "
          f"{same('g256.fpig', 'g256d.fpig')}, videos {same('gv.fpig', 'gvd.fpig')}")
    for name in ("g256.fpig", "g256d.fpig", "gv.fpig", "gvd.fpig"):
        timings = json.loads((work / name / "manifest.json").read_text())["extract"]["timings"]
        print(f"  {name} (last rep): wall {timings['wall_s']} s, main process stage sums "
              f"{timings['shard_stage_sums_s']}")
    frames = V3C_SHOTS * 12
    print(f"\nV3C1 + V3C2 at 12 frames/shot = {frames / 1e6:.1f} M frames:")
    for label in ("keyframes, ViT-B/32, batch 256, cpu", "keyframes, ViT-B/32, batch 256, device",
                  "videos, ViT-B/32, clip4clip 12, batch 32, device"):
        hours = frames / med[label] / 3600
        print(f"  {label:<52}{hours:7.1f} h on one GPU, {hours / 8:6.1f} h on 8")


def video_report(work: Path, args) -> None:
    """(a) alone, round robin: to compare two versions of the decoder, run it on each and
    compare their ratios to the floor, each measured in its own run."""
    tower = tiny_tower()
    v3c = work / "v3c"
    end_to_end(work / "warm.fpig", tower, args.workers, 32, videos=str(v3c / "videos"),
               boundaries=str(v3c / "msb"))
    rates: dict = {"video floor": [], "video extract": []}
    for _ in range(args.reps):
        frames, wall = video_floor(v3c, args.workers)
        rates["video floor"].append(frames / wall)
        frames, wall = end_to_end(work / "v.fpig", tower, args.workers, 32,
                                  videos=str(v3c / "videos"), boundaries=str(v3c / "msb"))
        rates["video extract"].append(frames / wall)
    print(f"\n{'frames/s, median (min-max)':<34}")
    for label, values in rates.items():
        print(f"  {label:<32}{spread(values)}")
    ratio = statistics.median(rates["video extract"]) / statistics.median(rates["video floor"])
    print(f"  video extract / video floor: {ratio:.2f}  (goal >= 0.80)")


def spread(values) -> str:
    return f"{statistics.median(values):8.1f}  ({min(values):.1f}-{max(values):.1f})"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--reps", type=int, default=3)
    parser.add_argument("--workers", type=int, default=len(os.sched_getaffinity(0)))
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--videos", type=int, default=4, help="videos of --seconds each")
    parser.add_argument("--seconds", type=int, default=40)
    parser.add_argument("--keyframes", type=int, default=600)
    parser.add_argument("--vit-shots", type=int, default=48)
    parser.add_argument("--rss-shots", type=int, nargs="*", default=[2000, 20000])
    parser.add_argument("--workdir", type=Path, default=Path("/tmp/fpig-bench-extract"))
    parser.add_argument("--engine", choices=("local", "ray"), default="local",
                        help="ray: only Ray's overhead against the local engine")
    parser.add_argument("--ray-shots", type=int, default=20000)
    parser.add_argument("--gpu-shots", type=int, default=20000,
                        help="on cuda: keyframe shots (640x360 JPEGs) for the GPU figures")
    parser.add_argument("--videos-only", action="store_true",
                        help="only (a): the video path against its decode floor")
    parser.add_argument("--rss-child", type=int, default=None, help=argparse.SUPPRESS)
    args = parser.parse_args()
    work = args.workdir
    work.mkdir(parents=True, exist_ok=True)
    if args.engine == "ray":
        ray_overhead(work, args.ray_shots, args.workers, args.reps, args.device)
        return
    if args.rss_child is not None:
        print(json.dumps(rss_child(work, args.rss_child, args.workers)))
        return
    if args.device.startswith("cuda"):
        gpu_report(work, args)
        return
    import torch

    print(f"bench_extract: {args.workers} decode workers, {os.cpu_count()} CPUs, torch "
          f"{torch.__version__} ({torch.get_num_threads()} threads), device {args.device}",
          flush=True)
    make_videos(work / "v3c", args.videos, args.seconds)
    if args.videos_only:
        video_report(work, args)
        return
    make_keyframes(work / "kf", args.keyframes)
    tower = tiny_tower()
    end_to_end(work / "warm.fpig", tower, args.workers, 32, keyframes=str(work / "kf"))
    from trecvid_fpig.extract.mapper import split_transform

    resize = split_transform(tower.preprocess()).pil_steps
    rates = {k: [] for k in ("video floor", "video extract", "image floor",
                             "image floor + resize/crop", "keyframe extract",
                             "keyframe extract, device")}
    for _ in range(args.reps):                         # round robin: noise hits all alike
        frames, wall = video_floor(work / "v3c", args.workers)
        rates["video floor"].append(frames / wall)
        frames, wall = end_to_end(work / "v.fpig", tower, args.workers, 32,
                                  videos=str(work / "v3c" / "videos"),
                                  boundaries=str(work / "v3c" / "msb"))
        rates["video extract"].append(frames / wall)
        frames, wall = image_floor(work / "kf", args.workers)
        rates["image floor"].append(frames / wall)
        frames, wall = image_floor(work / "kf", args.workers, resize)
        rates["image floor + resize/crop"].append(frames / wall)
        frames, wall = end_to_end(work / "k.fpig", tower, args.workers, 32,
                                  keyframes=str(work / "kf"))
        rates["keyframe extract"].append(frames / wall)
        frames, wall = end_to_end(work / "kd.fpig", tower, args.workers, 32,
                                  keyframes=str(work / "kf"), preprocess="device")
        rates["keyframe extract, device"].append(frames / wall)
    print(f"\n{'frames/s, median (min-max)':<34}", flush=True)
    for label, values in rates.items():
        print(f"  {label:<32}{spread(values)}")
    for kind, floor in (("video", "video floor"), ("keyframe", "image floor"),
                        ("keyframe", "image floor + resize/crop")):
        ratio = statistics.median(rates[f"{kind} extract"]) / statistics.median(rates[floor])
        print(f"  {kind} extract / {floor}: {ratio:.2f}  (goal >= 0.80)")

    vit_root = work / f"kf-vit-{args.vit_shots}"
    make_keyframes(vit_root, args.vit_shots)
    vit = vit_b32_tower(args.device, work)
    end_to_end(work / "vit-warm.fpig", vit, args.workers, 64, keyframes=str(vit_root))
    vit_rates = []
    for _ in range(args.reps):
        frames, wall = end_to_end(work / "vit.fpig", vit, args.workers, 64,
                                  keyframes=str(vit_root))
        vit_rates.append(frames / wall)
    print(f"  ViT-B/32 on {args.device}, keyframes   {spread(vit_rates)}")

    print("\npeak RSS (MiB), keyframe shots with a tiny tower:")
    for shots in args.rss_shots:
        done = subprocess.run([sys.executable, __file__, "--rss-child", str(shots),
                               "--workers", str(args.workers), "--workdir", str(work)],
                              capture_output=True, text=True, check=True)
        r = json.loads(done.stdout.strip().splitlines()[-1])
        print(f"  {shots:>7} shots: main {r['main_peak_mib']:7.0f} (after imports "
              f"{r['rss_before_mib']:.0f})  largest worker {r['worker_peak_mib']:6.0f}  "
              f"({r['frames'] / r['wall_s']:.0f} frames/s)")

    frames = V3C_SHOTS * 12
    print(f"\nV3C1 + V3C2 at 12 frames/shot = {frames / 1e6:.1f} M frames:")
    for label, values in (("videos, tiny tower (decode bound)", rates["video extract"]),
                          ("keyframes, tiny tower", rates["keyframe extract"]),
                          (f"keyframes, ViT-B/32 on {args.device}", vit_rates)):
        print(f"  {label:<38} {frames / statistics.median(values) / 3600:9.1f} h")


if __name__ == "__main__":
    main()
