"""exact_resize against PIL's resize, and what the resize costs a decode worker.

Not a test: prints medians (min-max) of --reps runs, round robin, all in this run, one thread
(a decode worker is one process on one core):

  (a) open_clip's resize + crop of a 640x360 RGB frame to 224: PIL per image (the decode
      workers' path today) against exact_resize on --device, --batch frames at a time;
      ms per frame.
  (b) a decode worker's CPU per frame on 640x360 JPEGs: decoding alone (``--preprocess
      device``: the worker sends the full-size frame) against decoding + PIL resize/crop
      (``--preprocess cpu``); the ratio says how much further the same cores go.

    python benchmarks/bench_exact_resize.py [--reps 5] [--batch 64] [--device cpu|cuda]
"""
from __future__ import annotations

import argparse
import io
import os
import statistics
import time

import numpy as np


def spread(values) -> str:
    return f"{statistics.median(values):8.3f}  ({min(values):.3f}-{max(values):.3f})"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--reps", type=int, default=5)
    parser.add_argument("--batch", type=int, default=64)
    parser.add_argument("--frames", type=int, default=256, help="frames per timed run")
    parser.add_argument("--device", default="cpu")
    args = parser.parse_args()

    import torch
    from open_clip.transform import image_transform
    from PIL import Image

    from trecvid_fpig.extract.exact_resize import resize_crop

    torch.set_num_threads(1)
    transform = image_transform(224, is_train=False)
    resize, crop = transform.transforms[0], transform.transforms[1]
    rng = np.random.default_rng(0)
    base = rng.integers(0, 256, (360, 640, 3), dtype=np.uint8)
    smooth = np.clip(base.astype(int) // 4 + np.linspace(0, 190, 640)[None, :, None], 0, 255)
    images = [Image.fromarray(np.roll(smooth, 7 * i, axis=1).astype(np.uint8))
              for i in range(args.batch)]
    jpegs = []
    for image in images:
        buffer = io.BytesIO()
        image.save(buffer, "JPEG", quality=90)
        jpegs.append(buffer.getvalue())
    batch = torch.from_numpy(np.stack([np.asarray(i) for i in images])).to(args.device)
    rounds = max(1, args.frames // args.batch)

    def pil_resize() -> float:
        started = time.perf_counter()
        for _ in range(rounds):
            for image in images:
                np.asarray(crop(resize(image)))
        return (time.perf_counter() - started) / (rounds * len(images))

    def exact() -> float:
        if args.device.startswith("cuda"):
            torch.cuda.synchronize()
        started = time.perf_counter()
        for _ in range(rounds):
            resize_crop(batch, 224)
        if args.device.startswith("cuda"):
            torch.cuda.synchronize()
        return (time.perf_counter() - started) / (rounds * len(images))

    def decode(steps) -> float:
        started = time.perf_counter()
        for _ in range(rounds):
            for data in jpegs:
                with Image.open(io.BytesIO(data)) as img:
                    image = img.convert("RGB")
                    for step in steps:
                        image = step(image)
                    np.asarray(image)
        return (time.perf_counter() - started) / (rounds * len(jpegs))

    cases = {
        "PIL resize + crop, per image": pil_resize,
        f"exact_resize on {args.device}, batch {args.batch}": exact,
        "worker: decode only (--preprocess device)": lambda: decode(()),
        "worker: decode + PIL resize/crop (cpu)": lambda: decode((resize, crop)),
    }
    for case in cases.values():                          # warm: caches, weights, allocator
        case()
    times = {label: [] for label in cases}
    for _ in range(args.reps):
        for label, case in cases.items():
            times[label].append(case() * 1000)
    print(f"bench_exact_resize: 640x360 -> 224, {os.cpu_count()} CPUs, torch "
          f"{torch.__version__}, 1 thread; ms per frame, median (min-max) of {args.reps}")
    for label, values in times.items():
        print(f"  {label:<46}{spread(values)}")
    med = {label: statistics.median(values) for label, values in times.items()}
    labels = list(cases)
    print(f"  exact_resize / PIL resize: {med[labels[1]] / med[labels[0]]:.2f}")
    print(f"  worker frames/s per core: {1000 / med[labels[3]]:.0f} with the resize, "
          f"{1000 / med[labels[2]]:.0f} decoding only "
          f"({med[labels[3]] / med[labels[2]]:.2f}x)")


if __name__ == "__main__":
    main()
