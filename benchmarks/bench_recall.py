"""Speed and memory of ``recall_metrics`` against the sort-based formulation CLIP4Clip's code uses.

MSR-VTT 3k shape by default: 59,800 captions x 2,990 videos, float32, 20 captions a video.
Both are timed in this run on this machine (medians of --repeats); peak memory is what
tracemalloc sees numpy allocate during one call, beside the input matrix itself.

    python benchmarks/bench_recall.py [--captions 59800] [--videos 2990] [--repeats 3] [--dsl]
"""
from __future__ import annotations

import argparse
import statistics
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


def _timed(fn, repeats: int):
    times, result = [], None
    for _ in range(repeats):
        start = time.perf_counter()
        result = fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times), result


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
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--dsl", action="store_true", help="time dual-softmax inference too")
    args = parser.parse_args()
    per_video = args.captions // args.videos
    rng = np.random.default_rng(0)
    sims = rng.standard_normal((args.captions, args.videos), dtype=np.float32)
    sims *= np.float32(0.05)
    sims[np.arange(args.captions), np.arange(args.captions) // per_video] += np.float32(0.1)
    size_mb = sims.nbytes / 2**20
    print(f"matrix {args.captions} x {args.videos} float32 ({size_mb:.0f} MiB), "
          f"{per_video} captions a video, medians of {args.repeats}")
    for dsl in ([False, True] if args.dsl else [False]):
        ours = lambda: recall_metrics(sims, captions_per_video=per_video, dsl=dsl)  # noqa: E731
        ref = lambda: sort_based(sims, per_video, dsl, 100.0)                       # noqa: E731
        t_ours, r_ours = _timed(ours, args.repeats)
        t_ref, r_ref = _timed(ref, args.repeats)
        m_ours, m_ref = _peak_bytes(ours), _peak_bytes(ref)
        label = "dsl" if dsl else "plain"
        print(f"[{label}] recall_metrics: {t_ours:7.2f} s  peak +{m_ours / 2**20:7.0f} MiB")
        print(f"[{label}] sort-based    : {t_ref:7.2f} s  peak +{m_ref / 2**20:7.0f} MiB")
        print(f"[{label}] speed-up      : {t_ref / t_ours:7.1f} x")
        for direction in ("t2v", "v2t"):
            print(f"[{label}] {direction} ours {_fmt(r_ours[direction])}")
            print(f"[{label}] {direction} ref  {_fmt(r_ref[direction])}")


def _fmt(metrics: dict) -> str:
    return "  ".join(f"{k}={v:.3f}" for k, v in metrics.items())


if __name__ == "__main__":
    main()
