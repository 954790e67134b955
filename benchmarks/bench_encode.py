"""Time ``fpig-trecvid encode`` of the 30 TV19 topics with a ViT-B-size text tower on the CPU.

Each timed run is a fresh process (model load, tokenizer and imports included), as a user runs
it. The floor measured in the same run is a process that only imports torch and open_clip,
which no encoder built on open_clip can avoid. A one-process breakdown shows where the rest
goes, next to what a randomly initialised tower (open_clip's normal constructor) would cost.

    python benchmarks/bench_encode.py [--repeats 5] [--layout hf-clip]
"""
from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import List, Tuple

VIT_B = dict(width=512, layers=12, embed_dim=512)
#: What the installed ``fpig-trecvid`` console script runs, without depending on PATH.
CONSOLE_SCRIPT = "import sys; from trecvid_fpig.cli import main; sys.exit(main())"

BREAKDOWN = r"""
import sys, time
t0 = time.perf_counter()
import torch, open_clip
t1 = time.perf_counter()
from trecvid_fpig.encode.checkpoints import load_text_checkpoint
from trecvid_fpig.encode.text_encoder import build_text_tower, load_text_encoder
from trecvid_fpig.formats.query_features import checkpoint_sha256, save_query_features
from trecvid_fpig.formats.topics import load_topics
ckpt, out = sys.argv[1], sys.argv[2]
checkpoint = load_text_checkpoint(ckpt)
t2 = time.perf_counter()
build_text_tower(checkpoint, torch.device("cpu"))
t3 = time.perf_counter()
encoder = load_text_encoder(ckpt, device="cpu")
topics = load_topics("tv19")
t4 = time.perf_counter()
feats = encoder.encode(topics.texts, max_words=50)
t5 = time.perf_counter()
digest = checkpoint_sha256(ckpt)
save_query_features(out, feats, topics.ids, {"checkpoint_sha256": digest})
t6 = time.perf_counter()
s = checkpoint.spec
from open_clip.transformer import QuickGELU, TextTransformer
TextTransformer(context_length=s.context_length, vocab_size=s.vocab_size, width=s.width,
                heads=s.heads, layers=s.layers, output_dim=s.output_dim, act_layer=QuickGELU)
t7 = time.perf_counter()
for name, secs in [("import torch + open_clip", t1 - t0), ("read + convert checkpoint", t2 - t1),
                   ("build tower (meta + assign)", t3 - t2),
                   ("load_text_encoder again (warm)", t4 - t3), ("encode 30 topics", t5 - t4),
                   ("sha256 + save q.npy/q.json", t6 - t5),
                   ("(not used) random-init TextTransformer", t7 - t6)]:
    print(f"  {name:<40} {secs:6.2f} s")
"""


def timed_process(argv: List[str]) -> Tuple[float, float]:
    """(wall seconds, peak RSS MiB) of one child process, measured by wait4 for that child alone."""
    start = time.perf_counter()
    proc = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - start
    err = proc.stderr.read().decode() if proc.stderr else ""
    proc.returncode = os.waitstatus_to_exitcode(status)
    if proc.returncode != 0:
        raise SystemExit(f"{' '.join(argv)} failed ({proc.returncode}):\n{err}")
    return wall, usage.ru_maxrss / 1024


def summarise(label: str, runs: List[Tuple[float, float]]) -> float:
    walls = [w for w, _ in runs]
    median = statistics.median(walls)
    print(f"{label:<44} median {median:6.2f} s  (min {min(walls):.2f}, max {max(walls):.2f}, "
          f"n={len(walls)})  peak RSS {max(m for _, m in runs):7.1f} MiB")
    return median


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--layout", default="hf-clip", choices=["hf-clip", "clip4clip", "open_clip"])
    parser.add_argument("--workdir", type=Path, default=Path("/tmp/fpig-bench-encode"))
    args = parser.parse_args()

    from trecvid_fpig.demo.checkpoints import save_random_checkpoint

    args.workdir.mkdir(parents=True, exist_ok=True)
    ckpt = args.workdir / f"vitb-text-{args.layout}.pt"
    start = time.perf_counter()
    save_random_checkpoint(ckpt, args.layout, **VIT_B)
    print(f"checkpoint {ckpt} ({ckpt.stat().st_size / 2**20:.0f} MiB, layout {args.layout}, "
          f"width 512, 12 layers, embed 512) written in {time.perf_counter() - start:.1f} s")
    print(f"machine: {os.cpu_count()} CPUs, python {sys.version.split()[0]}")

    out = args.workdir / "q.npy"
    encode = [sys.executable, "-c", CONSOLE_SCRIPT, "encode", "--checkpoint", str(ckpt),
              "--topics", "tv19", "--device", "cpu", "--out", str(out), "--quiet"]
    floor = [sys.executable, "-c", "import torch, open_clip"]
    timed_process(encode)  # warm the page cache and .pyc files; not counted
    floor_runs, encode_runs = [], []
    for _ in range(args.repeats):  # interleaved, so load on the machine hits both alike
        floor_runs.append(timed_process(floor))
        encode_runs.append(timed_process(encode))
    floor_median = summarise("floor: python -c 'import torch, open_clip'", floor_runs)
    encode_median = summarise("fpig-trecvid encode --topics tv19 (CPU)", encode_runs)
    print(f"encode / floor = {encode_median / floor_median:.2f}x; beyond the imports: "
          f"{encode_median - floor_median:.2f} s (budget for the whole `run`: 10 s)")
    print("one-process breakdown:")
    subprocess.run([sys.executable, "-c", BREAKDOWN, str(ckpt), str(args.workdir / "b.npy")],
                   check=True)


if __name__ == "__main__":
    main()
