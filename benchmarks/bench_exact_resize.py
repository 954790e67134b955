"""exact_resize against PIL's resize, and what the resize costs a decode worker.

Not a test: prints medians (min-max) of --reps runs, round robin, all in this run, one thread
(a decode worker is one process on one core):

  (a) open_clip's resize + crop of a 640x360 RGB frame to 224: PIL per image (the decode
      workers' path today) against exact_resize on --device, --batch frames at a time;
      ms per frame.
  (b) a decode worker's CPU per frame on 640x360 JPEGs: decoding alone (``--preprocess
      device``: the worker sends the full-size frame) against decoding + PIL resize/crop
      (``--preprocess cpu``); the ratio says how much further the same cores go.
  (c) the tower's process CPU per full-size frame it receives from a decode worker, units of
      48 640x360 frames: pickled through the pool's pipe against shared memory
      (extract/shared_frames.py, what ``--preprocess device`` uses).

    python benchmarks/bench_exact_resize.py [--reps 5] [--batch 64] [--device cpu|cuda]
"""
from __future__ import annotations

import argparse
import io
import os
import statistics
import time
from concurrent.futures import ProcessPoolExecutor
from multiprocessing import get_context

import numpy as np


def spread(values) -> str:
    return f"{statistics.median(values):8.3f}  ({min(values):.3f}-{max(values):.3f})"


UNIT = np.random.default_rng(3).integers(0, 256, (48, 360, 640, 3), dtype=np.uint8)


def _unit_pickled(_):
    return [UNIT[k:k + 1] for k in range(len(UNIT))]


def _unit_shared(owner):
    from trecvid_fpig.extract import shared_frames
    from trecvid_fpig.extract.runner import DecodedShot

    refs = shared_frames.put([UNIT[k:k + 1] for k in range(len(UNIT))], owner)
    return [DecodedShot(f"s{k}", ref) for k, ref in enumerate(refs)]


def receive_cost(units: int) -> dict:
    """(c): the receiving process's CPU seconds per frame, pickled and shared."""
    from trecvid_fpig.extract import shared_frames

    costs = {}
    with ProcessPoolExecutor(1, mp_context=get_context("fork")) as pool:
        for label, job, take in (("pickled through the pipe", _unit_pickled, list),
                                 ("shared memory", _unit_shared, shared_frames.take)):
            for result in pool.map(job, [os.getpid()] * 2):      # warm
                take(result)
            started = time.process_time()
            frames = 0
            for result in pool.map(job, [os.getpid()] * units):
                frames += len(take(result))
            costs[label] = (time.process_time() - started) / frames
    shared_frames.remove_leftovers(os.getpid())
    return costs


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
    print("the tower's process receiving 640x360 frames (units of 48), CPU per frame:")
    for label, seconds in receive_cost(units=max(4, args.frames // 48)).items():
        print(f"  {label:<46}{seconds * 1e6:8.0f} us  (at most {1 / seconds:,.0f} frames/s)")


if __name__ == "__main__":
    main()
