"""Speed and memory of ``recall_metrics`` against the sort-based formulation CLIP4Clip's code uses.

MSR-VTT 3k shape by default: 59,800 captions x 2,990 videos, float32, 20 captions a video.
All are timed in this run on this machine, called in turn: medians of --repeats, wall-clock
and CPU seconds. ``recall_metrics`` is timed without and with its XXH3-128 fingerprint of the
matrix (what the CLI always computes, in a second thread). "recall CLI" is the whole command,
``python -m trecvid_fpig recall --sims M.npy --captions-per-video N --format json``, in a fresh
process: start-up, imports, the memory-mapped read, the fingerprint and the JSON output; the
goal is that it runs at least 5x faster than the sort-based reference. Peak memory is what tracemalloc sees numpy allocate during one call,
beside the input matrix itself. The machine is shared: quote medians.

    python benchmarks/bench_recall.py [--captions 59800] [--videos 2990] [--repeats 5] [--dsl]
"""
from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
import tracemalloc

import numpy as np

from trecvid_fpig.evaluate.recall import recall_metrics


def sort_based(sims: np.ndarray, per_video: int, dsl: bool, temperature: float) -> dict:
    """CLIP4Clip-style: sort every row, find where the ground truth lands; groups by max."""
    if dsl:
        sims = sims.astype(np.float64)
        weights = np.exp(temperature * (sims - sims.max(axis=0)))
        sims = sims * (weights / weights.sum(axis=0))
    n_captions, n_videos = sims.shape
    own = sims[np.arange(n_captions), np.arange(n_captions) // per_video]
    positions = np.where(np.sort(-sims, axis=1) == -own[:, None])[1]
    group_max = sims.reshape(n_videos, per_video, n_videos).max(axis=1).T   # video x group
    v2t_positions = np.where(np.sort(-group_max, axis=1) == -np.diag(group_max)[:, None])[1]
    return {"t2v": _summary(positions + 1), "v2t": _summary(v2t_positions + 1)}


def _summary(ranks: np.ndarray) -> dict:
    out = {f"R@{k}": 100.0 * np.count_nonzero(ranks <= k) / len(ranks) for k in (1, 5, 10)}
    out.update(MdR=float(np.median(ranks)), MnR=float(ranks.mean()))
    return out


def _timed_round_robin(fns: dict, repeats: int):
    """Median wall-clock and CPU seconds (all threads) of each function, called in turn so a
    change in the machine's load hits all of them alike; and each one's last result."""
    wall = {name: [] for name in fns}
    cpu = {name: [] for name in fns}
    results = {}
    for _ in range(repeats):
        for name, fn in fns.items():
            start, start_cpu = time.perf_counter(), time.process_time()
            results[name] = fn()
            wall[name].append(time.perf_counter() - start)
            cpu[name].append(time.process_time() - start_cpu)
    return ({n: statistics.median(t) for n, t in wall.items()},
            {n: statistics.median(t) for n, t in cpu.items()}, results)


def _peak_bytes(fn) -> int:
    tracemalloc.start()
    fn()
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    return peak


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--captions", type=int, default=59_800)
    parser.add_argument("--videos", type=int, default=2_990)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--dsl", action="store_true", help="time dual-softmax inference too")
    args = parser.parse_args()
    per_video = args.captions // args.videos
    rng = np.random.default_rng(0)
    sims = rng.standard_normal((args.captions, args.videos), dtype=np.float32)
    sims *= np.float32(0.05)
    sims[np.arange(args.captions), np.arange(args.captions) // per_video] += np.float32(0.12)
    print(f"matrix {args.captions} x {args.videos} float32 ({sims.nbytes / 2**20:.0f} MiB), "
          f"{per_video} captions a video; medians of {args.repeats}; "
          f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores")
    workdir = tempfile.TemporaryDirectory()
    matrix_file = os.path.join(workdir.name, "sims.npy")
    np.save(matrix_file, sims)
    for dsl in ([False, True] if args.dsl else [False]):
        cli = [sys.executable, "-m", "trecvid_fpig", "recall", "--sims", matrix_file,
               "--captions-per-video", str(per_video), "--format", "json"] + (["--dsl"] if dsl else [])
        fns = {
            "recall_metrics": lambda: recall_metrics(sims, captions_per_video=per_video, dsl=dsl,
                                                     fingerprint=False),
            "+ xxh3_128": lambda: recall_metrics(sims, captions_per_video=per_video, dsl=dsl),
            "recall CLI": lambda: subprocess.run(cli, check=True, stdout=subprocess.DEVNULL),
            "sort-based": lambda: sort_based(sims, per_video, dsl, 100.0),
        }
        wall, cpu, results = _timed_round_robin(fns, args.repeats)
        label = "dsl" if dsl else "plain"
        for name, fn in fns.items():
            peak = 0.0 if name == "recall CLI" else _peak_bytes(fn) / 2**20
            ratio = wall["sort-based"] / wall[name]
            print(f"[{label}] {name:<15} {wall[name]:6.2f} s wall {cpu[name]:6.2f} s cpu  "
                  f"peak +{peak:5.0f} MiB  sort-based / this {ratio:4.1f}x")
        for direction in ("t2v", "v2t"):
            print(f"[{label}] {direction} ours {_fmt(results['+ xxh3_128'][direction])}")
            print(f"[{label}] {direction} ref  {_fmt(results['sort-based'][direction])}")
    workdir.cleanup()
    print(f"load average {os.getloadavg()[0]:.1f} at the end")


def _fmt(metrics: dict) -> str:
    return "  ".join(f"{k}={v:.3f}" for k, v in metrics.items())


if __name__ == "__main__":
    main()
