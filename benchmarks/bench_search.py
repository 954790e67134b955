"""Search speed on a synthetic V3C1-size store (1,082,657 x 512) with the 30 TV19 topics.

Not a test: prints medians, peak memory and the ratios the issue targets, all measured in this
run on this machine:

  (a) floor: a bare numpy matmul + argpartition over the same memory-mapped array, in process
      and as a whole process (imports, mmap, top-k ids written out);
  (b) the scoring stage, ``search(...)``              target <= 1.3 x (a) in process
  (c) the whole ``fpig-trecvid run --query-features`` target <= 1.5 x the floor process
  (d) faiss-cpu exact ``knn`` on the same array        target >= 3 x slower than (b)
  (e) the same search on a float16 store               target <= 1.5 x (b)
  (f) ``fpig-trecvid run --checkpoint`` with a ViT-B-size random text tower, whole process,
      model load included                              target <= 10 s

Every measurement runs in its own process so that peak memory is its own: ``peak RSS`` is
the kernel's high-water mark (memory-mapped store pages that were touched count in it),
``peak anon`` samples anonymous memory only (heap: what a collection loaded into memory would
cost). The data are written once under /tmp/fpig-bench and stay page-cached between runs.
Other jobs on the machine add noise: medians of several repetitions are quoted, with min-max.

    python benchmarks/bench_search.py [--reps 5] [--workdir /tmp/fpig-bench]
"""
from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import threading
import time
from pathlib import Path

import numpy as np

SHOTS, DIM, K = 1_082_657, 512, 1000
PY = sys.executable
FPIG = [str(Path(PY).parent / "fpig-trecvid")]


def prepare(work: Path) -> dict:
    """Random unit shot vectors as a store (float32 and float16), TV19 query features, and a
    ViT-B-size F-Pig checkpoint; reused when already there."""
    from trecvid_fpig.formats.store import convert_features
    from trecvid_fpig.formats.topics import load_topics

    work.mkdir(parents=True, exist_ok=True)
    paths = {"f32": work / "v3c1-f32.fpig", "f16": work / "v3c1-f16.fpig",
             "query": work / "tv19.q.npy", "checkpoint": work / "vitb-fpig.pt"}
    if not (paths["f32"] / "manifest.json").exists():
        print("writing the synthetic V3C1 store (once) ...", flush=True)
        src = work / "src.npy"
        rng = np.random.default_rng(0)
        matrix = np.lib.format.open_memmap(src, mode="w+", dtype=np.float32, shape=(SHOTS, DIM))
        for start in range(0, SHOTS, 65536):
            matrix[start:start + 65536] = rng.standard_normal(
                (min(65536, SHOTS - start), DIM), dtype=np.float32)
        matrix.flush()
        del matrix
        videos = np.repeat(np.arange(1, 7476), SHOTS // 7475 + 1)[:SHOTS]
        numbers = np.arange(SHOTS) - np.searchsorted(videos, videos) + 1
        src.with_suffix(".ids.txt").write_text(
            "\n".join(f"shot{v:05d}_{n}" for v, n in zip(videos.tolist(), numbers.tolist())) + "\n")
        convert_features(src, paths["f32"], overwrite=True)
        src.unlink()
        src.with_suffix(".ids.txt").unlink()
    if not (paths["f16"] / "manifest.json").exists():
        convert_features(paths["f32"], paths["f16"], dtype="float16", overwrite=True)
    if not paths["query"].exists():
        q = np.random.default_rng(1).standard_normal((len(load_topics("tv19")), DIM))
        np.save(paths["query"], (q / np.linalg.norm(q, axis=1, keepdims=True)).astype(np.float32))
    if not paths["checkpoint"].exists():
        from trecvid_fpig.demo.checkpoints import save_random_checkpoint

        save_random_checkpoint(paths["checkpoint"], "hf-clip", width=512, layers=12,
                               embed_dim=DIM)
    return paths


def warm(paths: dict) -> None:
    """Read every store file once so all timings start from the page cache."""
    for store in (paths["f32"], paths["f16"]):
        for f in store.iterdir():
            with open(f, "rb") as fh:
                while fh.read(1 << 24):
                    pass


def _anon_kib(pid: int) -> int:
    try:
        with open(f"/proc/{pid}/status") as fh:
            for line in fh:
                if line.startswith("RssAnon:"):
                    return int(line.split()[1])
    except OSError:
        pass
    return 0


def measure(argv, env=None) -> dict:
    """Wall time, exact peak RSS (wait4) and sampled peak anonymous memory of one process."""
    peak_anon = [0]
    start = time.perf_counter()
    proc = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env)
    done = threading.Event()

    def sample() -> None:
        while not done.is_set():
            peak_anon[0] = max(peak_anon[0], _anon_kib(proc.pid))
            time.sleep(0.005)
    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    out = proc.stdout.read()
    err = proc.stderr.read()
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - start
    done.set()
    sampler.join()
    proc.returncode = os.waitstatus_to_exitcode(status)
    if proc.returncode != 0:
        raise RuntimeError(f"{argv[:4]} failed:\n{err.decode()[-2000:]}")
    return {"wall": wall, "rss_mb": usage.ru_maxrss / 1024, "anon_mb": peak_anon[0] / 1024,
            "stdout": out.decode()}


FLOOR_STAGE = """
import numpy as np, time, sys
X = np.load(sys.argv[1] + "/features.npy", mmap_mode="r")
Q = np.load(sys.argv[2]); k = {k}
def floor():
    S = Q @ X.T
    top = np.argpartition(-S, k - 1, axis=1)[:, :k]
    return np.take_along_axis(top, np.argsort(-np.take_along_axis(S, top, 1), axis=1), 1)
floor()
t = time.perf_counter(); floor(); print(time.perf_counter() - t)
"""

FLOOR_PROCESS = """
import numpy as np, sys
X = np.load(sys.argv[1] + "/features.npy", mmap_mode="r")
ids = np.load(sys.argv[1] + "/ids.npy", mmap_mode="r")
Q = np.load(sys.argv[2]); k = {k}
S = Q @ X.T
top = np.argpartition(-S, k - 1, axis=1)[:, :k]
top = np.take_along_axis(top, np.argsort(-np.take_along_axis(S, top, 1), axis=1), 1)
with open(sys.argv[3], "w") as fh:
    for t, rows in enumerate(top):
        for rank, r in enumerate(rows, 1):
            fh.write(f"{{1611 + t}} Q0 {{ids[r].decode()}} {{rank}} {{S[t, r]:.6f}} floor\\n")
"""

OURS_STAGE = """
import numpy as np, time, sys
from trecvid_fpig.formats.store import read_features
from trecvid_fpig.search.topk import search
features = read_features(sys.argv[1]); Q = np.load(sys.argv[2])
search(features, Q, k={k})
t = time.perf_counter(); search(features, Q, k={k}); print(time.perf_counter() - t)
"""

FAISS_STAGE = """
import numpy as np, time, sys, faiss
X = np.load(sys.argv[1] + "/features.npy", mmap_mode="r"); Q = np.load(sys.argv[2])
faiss.knn(Q[:1], X[:100000], 10, metric=faiss.METRIC_INNER_PRODUCT)
t = time.perf_counter(); faiss.knn(Q, X, {k}, metric=faiss.METRIC_INNER_PRODUCT)
print(time.perf_counter() - t)
"""


def in_process(code: str, *args) -> dict:
    """A stage timed by the child itself after one warm-up call (the store's pages mapped)."""
    m = measure([PY, "-c", code.format(k=K), *map(str, args)])
    return dict(m, time=float(m["stdout"].strip().splitlines()[-1]))


def whole_process(argv) -> dict:
    m = measure(argv)
    return dict(m, time=m["wall"])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--reps", type=int, default=5)
    parser.add_argument("--workdir", type=Path, default=Path("/tmp/fpig-bench"))
    args = parser.parse_args()
    paths = prepare(args.workdir)
    warm(paths)
    out = args.workdir / "out"
    shutil.rmtree(out, ignore_errors=True)
    out.mkdir()
    try:
        import faiss  # noqa: F401  (benchmark-only comparison, not a dependency)
        have_faiss = True
    except ImportError:
        have_faiss = False
        print("faiss-cpu is not installed: (d) skipped (pip install faiss-cpu to compare)")
    print(f"load average before: {os.getloadavg()[0]:.2f}   cores: {os.cpu_count()}", flush=True)

    run_q = FPIG + ["run", "--query-features", paths["query"], "--topics", "tv19", "--quiet",
                    "--device", "cpu", "--out-dir", out]
    f32, f16, query = paths["f32"], paths["f16"], paths["query"]
    stages = {
        "a  floor, in process": lambda: in_process(FLOOR_STAGE, f32, query),
        "a' floor, whole process": lambda: whole_process(
            [PY, "-c", FLOOR_PROCESS.format(k=K), f32, query, out / "floor.txt"]),
        "b  search(), in process": lambda: in_process(OURS_STAGE, f32, query),
        "c  run --query-features": lambda: whole_process(
            run_q + ["--features", f32, "--run-id", "q32"]),
        "e  search(), float16 store": lambda: in_process(OURS_STAGE, f16, query),
        "e' run --query-features, float16": lambda: whole_process(
            run_q + ["--features", f16, "--run-id", "q16"]),
        "f  run --checkpoint (ViT-B text)": lambda: whole_process(
            FPIG + ["run", "--checkpoint", paths["checkpoint"], "--features", f32, "--topics",
                    "tv19", "--run-id", "ck", "--out-dir", out, "--device", "cpu", "--quiet"]),
    }
    if have_faiss:
        stages["d  faiss.knn exact, in process"] = lambda: in_process(FAISS_STAGE, f32, query)
    # Round robin, so that every stage sees the same mix of quiet and busy moments.
    results = {name: [] for name in stages}
    for rep in range(args.reps):
        for name, measure_once in stages.items():
            results[name].append(measure_once())
        print(f"repetition {rep + 1}/{args.reps} done", flush=True)

    median = {name: statistics.median(r["time"] for r in rs) for name, rs in results.items()}
    print(f"\n{'stage':<36} {'median s':>9} {'min-max s':>13} {'peak RSS MB':>12} "
          f"{'peak anon MB':>13}")
    for name, rs in results.items():
        times = [r["time"] for r in rs]
        print(f"{name:<36} {median[name]:>9.3f} {min(times):>6.2f}-{max(times):<6.2f} "
              f"{max(r['rss_mb'] for r in rs):>12.0f} {max(r['anon_mb'] for r in rs):>13.0f}")

    def ratio(label, num, den, target, better_below=True):
        value = median[num] / median[den]
        ok = value <= target if better_below else value >= target
        sign = "<=" if better_below else ">="
        print(f"{label:<52} {value:6.2f}  (target {sign} {target})  {'ok' if ok else 'MISSED'}")
    print()
    ratio("(b) search / floor in process", "b  search(), in process", "a  floor, in process", 1.3)
    ratio("(c) run --query-features / floor process", "c  run --query-features",
          "a' floor, whole process", 1.5)
    if have_faiss:
        ratio("(d) faiss knn / search", "d  faiss.knn exact, in process",
              "b  search(), in process", 3.0, better_below=False)
    ratio("(e) float16 search / float32 search", "e  search(), float16 store",
          "b  search(), in process", 1.5)
    ratio("(e') float16 run / float32 run", "e' run --query-features, float16",
          "c  run --query-features", 1.5)
    f = median["f  run --checkpoint (ViT-B text)"]
    print(f"{'(f) run --checkpoint, ViT-B-size text tower, seconds':<52} {f:6.2f}  "
          f"(target <= 10)  {'ok' if f <= 10 else 'MISSED'}")
    print(f"\nload average after: {os.getloadavg()[0]:.2f} (other jobs share these cores)")


if __name__ == "__main__":
    main()
