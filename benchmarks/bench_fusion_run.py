"""Similarity-level fusion in one run vs two runs and a late fusion, on a synthetic store pair.

Not a test: prints medians (min-max) of whole processes, all measured in this run on this
machine, and their ratio:

  (a) ``fpig-trecvid run --model qA:A --model qB:B``: one pass over each store, the weighted
      cosine sum ranked before the cut at 1000;
  (b) ``fpig-trecvid run`` on A, ``run`` on B, then ``fuse --method weighted --norm none``:
      what one would do without (a), and less exact (a shot outside either top 1000 is lost).

The stores are 200,000 x 512 float32 random unit vectors with the same shot ids, the topics
TV19's 30. Data are written once under the work directory and stay page-cached.

    python benchmarks/bench_fusion_run.py [--reps 5] [--workdir /tmp/fpig-bench-fusion]
"""
from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

SHOTS, DIM = 200_000, 512
FPIG = str(Path(sys.executable).parent / "fpig-trecvid")


def prepare(work: Path) -> dict:
    """Two stores of the same shots and TV19 topic features for each; reused when there."""
    from trecvid_fpig.formats.store import convert_features
    from trecvid_fpig.formats.topics import load_topics

    work.mkdir(parents=True, exist_ok=True)
    ids = [f"shot{1 + i // 150:05d}_{i % 150 + 1}" for i in range(SHOTS)]
    paths = {}
    for name, seed in (("a", 0), ("b", 1)):
        store, query = work / f"{name}.fpig", work / f"{name}.q.npy"
        if not (store / "manifest.json").exists():
            rng = np.random.default_rng(seed)
            src = work / f"{name}.npy"
            np.save(src, rng.standard_normal((SHOTS, DIM), dtype=np.float32))
            src.with_suffix(".ids.txt").write_text("\n".join(ids) + "\n")
            convert_features(src, store, overwrite=True)
            src.unlink()
            src.with_suffix(".ids.txt").unlink()
        if not query.exists():
            q = np.random.default_rng(seed + 10).standard_normal((len(load_topics("tv19")), DIM))
            np.save(query, (q / np.linalg.norm(q, axis=1, keepdims=True)).astype(np.float32))
        paths[name] = (store, query)
    return paths


def timed(commands) -> float:
    start = time.perf_counter()
    for argv in commands:
        subprocess.run(argv, check=True, stdout=subprocess.DEVNULL)
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--reps", type=int, default=5)
    parser.add_argument("--workdir", type=Path, default=Path("/tmp/fpig-bench-fusion"))
    args = parser.parse_args()
    paths = prepare(args.workdir)
    out = args.workdir / "runs"
    (store_a, q_a), (store_b, q_b) = paths["a"], paths["b"]
    common = ["--topics", "tv19", "--out-dir", str(out), "--quiet", "--device", "cpu"]
    fused = [[FPIG, "run", "--model", f"{q_a}:{store_a}", "--model", f"{q_b}:{store_b}",
              "--run-id", "fused", *common]]
    separate = [
        [FPIG, "run", "--query-features", str(q_a), "--features", str(store_a), "--run-id", "a",
         *common],
        [FPIG, "run", "--query-features", str(q_b), "--features", str(store_b), "--run-id", "b",
         *common],
        [FPIG, "fuse", "--method", "weighted", "--norm", "none", "--weights", "1,1",
         "--run-id", "late", "--out", str(out / "late.txt"), str(out / "a" / "tv19.txt"),
         str(out / "b" / "tv19.txt")],
    ]
    timed(fused + separate)                                   # warm the page cache and imports
    times = {"run --model (2 models)": [], "2 x run + fuse": []}
    for _ in range(args.reps):
        times["run --model (2 models)"].append(timed(fused))
        times["2 x run + fuse"].append(timed(separate))
    print(f"{SHOTS} x {DIM} float32 store pair, {args.reps} reps, TV19's 30 topics, CPU")
    medians = {}
    for name, values in times.items():
        medians[name] = statistics.median(values)
        print(f"  {name:24s} median {medians[name]:6.2f} s  (min {min(values):.2f}, "
              f"max {max(values):.2f})")
    print(f"  ratio run --model / (2 x run + fuse): "
          f"{medians['run --model (2 models)'] / medians['2 x run + fuse']:.2f}")


if __name__ == "__main__":
    main()
