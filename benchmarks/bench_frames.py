"""Frame scoring speed (``run --frame-pool max`` / ``--frame-weight W``) on a synthetic store.

Not a test: prints medians (min-max) of the in-process search stage, all measured in this run
on this machine, for 30 topics over SHOTS shots of FRAMES frames each:

  (a) floor: a bare numpy float32 matmul over the frame rows, ``np.maximum.reduceat`` per
      shot and ``argpartition``, in blocks of the same size
  (b) ``search``: the ordinary shot search over the pooled vectors (F times fewer rows)
  (c) ``frame_search`` with ``--frame-pool max``          ratio to (a)
  (d) ``frame_search`` with ``--frame-weight 1``          ratio to (a)

The store is written once under the work directory and stays page-cached between runs.

    python benchmarks/bench_frames.py [--shots 20000] [--frames 12] [--reps 5]
"""
from __future__ import annotations

import argparse
import json
import statistics
import time
from pathlib import Path

import numpy as np

DIM, TOPICS, K = 512, 30, 1000


def prepare(work: Path, shots: int, frames: int) -> Path:
    """A store of random unit shot vectors with `frames` random unit frame rows per shot."""
    from trecvid_fpig.formats.store import convert_features

    store = work / f"frames-{shots}x{frames}.fpig"
    if (store / "frames.npy").exists():
        return store
    work.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(0)
    src = work / "src.npy"
    np.save(src, rng.standard_normal((shots, DIM), dtype=np.float32))
    src.with_suffix(".ids.txt").write_text(
        "\n".join(f"shot{1 + i // 200:05d}_{i % 200 + 1}" for i in range(shots)) + "\n")
    convert_features(src, store, overwrite=True)
    rows = np.lib.format.open_memmap(store / "frames.npy", mode="w+", dtype=np.float32,
                                     shape=(shots * frames, DIM))
    for start in range(0, len(rows), 65536):
        block = rng.standard_normal((min(65536, len(rows) - start), DIM))
        rows[start:start + len(block)] = block / np.linalg.norm(block, axis=1, keepdims=True)
    rows.flush()
    del rows
    np.save(store / "frame_offsets.npy", np.arange(0, shots * frames + 1, frames, dtype=np.int64))
    manifest = json.loads((store / "manifest.json").read_text())
    manifest["frames"] = {"file": "frames.npy", "offsets": "frame_offsets.npy", "sha256": None}
    (store / "manifest.json").write_text(json.dumps(manifest, indent=2))
    src.unlink()
    src.with_suffix(".ids.txt").unlink()
    return store


def floor(frames: np.ndarray, offsets: np.ndarray, queries: np.ndarray, block_rows: int):
    """The bare work: product, max per shot, top k per topic."""
    best = []
    shots = len(offsets) - 1
    per_block = max(1, block_rows // int(offsets[1] - offsets[0]))
    for first in range(0, shots, per_block):
        last = min(shots, first + per_block)
        f0 = offsets[first]
        block = frames[f0:offsets[last]]
        scores = np.maximum.reduceat(queries @ block.T, offsets[first:last] - f0, axis=1)
        best.append(scores)
    scores = np.concatenate(best, axis=1)
    return np.argpartition(scores, -K, axis=1)[:, -K:]


def timed(fn, reps: int):
    times = []
    for _ in range(reps):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times), min(times), max(times)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--shots", type=int, default=20000)
    parser.add_argument("--frames", type=int, default=12)
    parser.add_argument("--reps", type=int, default=5)
    parser.add_argument("--workdir", default="/tmp/fpig-bench")
    args = parser.parse_args()
    from trecvid_fpig.formats.store import read_features
    from trecvid_fpig.search.frames import FrameScoring, frame_search, read_frames
    from trecvid_fpig.search.topk import SEARCH_BLOCK_VALUES, search

    store = prepare(Path(args.workdir), args.shots, args.frames)
    features = read_features(store)
    frames = read_frames(features)
    q = np.random.default_rng(1).standard_normal((TOPICS, DIM))
    queries = (q / np.linalg.norm(q, axis=1, keepdims=True)).astype(np.float32)
    block_rows = max(1024, SEARCH_BLOCK_VALUES // DIM)
    cases = {
        "(a) floor: matmul + reduceat + argpartition":
            lambda: floor(frames.vectors, frames.offsets, queries, block_rows),
        "(b) search over pooled shot vectors":
            lambda: search(features, queries, k=K),
        "(c) frame_search --frame-pool max":
            lambda: frame_search(features, frames, queries, FrameScoring("max"), k=K),
        "(d) frame_search --frame-weight 1":
            lambda: frame_search(features, frames, queries, FrameScoring("max", 1.0), k=K),
    }
    print(f"{args.shots} shots x {args.frames} frames, {DIM}-d float32, {TOPICS} topics, "
          f"top {K}, median of {args.reps} (min-max)")
    results = {}
    for name, fn in cases.items():
        fn()                                          # warm the page cache
        results[name] = timed(fn, args.reps)
        median, low, high = results[name]
        print(f"  {name:48s} {median:7.3f} s  ({low:.3f}-{high:.3f})")
    base = results["(a) floor: matmul + reduceat + argpartition"][0]
    for name in list(cases)[1:]:
        print(f"  {name[:3]} / (a) = {results[name][0] / base:.2f}")


if __name__ == "__main__":
    main()
