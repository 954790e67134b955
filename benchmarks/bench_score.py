"""How long `fpig-trecvid score` takes on 10 TV21 runs, process start included.

Baselines measured in the same run:
- the same 10 runs scored in 10 separate processes (how groups call NIST's Perl script today);
- NIST's ``sample_eval.pl`` itself, 10 calls, when its path is given in $SAMPLE_EVAL_PL (we do not
  ship it). The issue's target: one call on 10 runs under 1 s, under half of Perl's 2-3.6 s;
- ``score --coverage`` on the same 10 runs, timed in turn with plain ``score`` so that both see
  the same load (issue 34's target: at most 1.3x).

    python benchmarks/bench_score.py [--repeat 7]
"""
from __future__ import annotations

import argparse
import gzip
import os
import random
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

DATA = Path(__file__).resolve().parents[1] / "tests" / "data"


def make_runs(directory: Path, count: int = 10) -> list:
    """Ten distinct TV21 runs: the two shipped ones and reshuffled variants of them."""
    rnd = random.Random(0)
    paths = []
    for i in range(count):
        source = DATA / ("tv21.runA.txt.gz" if i % 2 == 0 else "tv21.runB.txt.gz")
        lines = gzip.open(source, "rt").read().splitlines()
        if i >= 2:
            rnd.shuffle(lines)
            lines = [" ".join(f[:4] + [f"{float(f[4]) + rnd.random():.6f}", f[5]])
                     for f in (line.split() for line in lines)]
        path = directory / f"run{i:02d}.txt"
        path.write_text("\n".join(lines) + "\n")
        paths.append(str(path))
    return paths


def timed(cmds, repeat: int) -> float:
    return timed_in_turn([cmds], repeat)[0]


def timed_in_turn(variants, repeat: int) -> list:
    """The median time of each variant (a list of commands), the variants run in turn each repeat."""
    times = [[] for _ in variants]
    for _ in range(repeat):
        for cmds, spent in zip(variants, times):
            start = time.perf_counter()
            for cmd in cmds:
                subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            spent.append(time.perf_counter() - start)
    return [statistics.median(t) for t in times]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--repeat", type=int, default=7)
    args = parser.parse_args()
    exe = shutil.which("fpig-trecvid") or sys.exit("fpig-trecvid is not installed")
    with tempfile.TemporaryDirectory() as tmp:
        runs = make_runs(Path(tmp))
        qrels = Path(tmp) / "avs.qrels.tv21"
        from trecvid_fpig.formats.topics import resolve_qrels
        qrels.write_bytes(gzip.decompress(resolve_qrels("tv21").read_bytes()))
        one_call = timed([[exe, "score", "--qrels", "tv21", *runs]], args.repeat)
        ten_calls = timed([[exe, "score", "--qrels", "tv21", run] for run in runs], max(3, args.repeat // 2))
        print(f"machine: {os.cpu_count()} cores; medians of {args.repeat} repeats")
        print(f"fpig-trecvid score, 1 call on 10 runs : {one_call:6.3f} s   (target < 1 s)")
        print(f"fpig-trecvid score, 10 calls of 1 run : {ten_calls:6.3f} s   "
              f"(one call is {ten_calls / one_call:.1f}x faster)")
        plain, covered = timed_in_turn([[[exe, "score", "--qrels", "tv21", *runs]],
                                        [[exe, "score", "--qrels", "tv21", "--coverage", *runs]]],
                                       args.repeat)
        print(f"score / score --coverage, 10 runs     : {plain:6.3f} s / {covered:6.3f} s   "
              f"({covered / plain:.2f}x; target <= 1.3x)")
        perl_script = os.environ.get("SAMPLE_EVAL_PL")
        if perl_script:
            perl = timed([["perl", perl_script, str(qrels), run] for run in runs], 3)
            print(f"perl sample_eval.pl, 10 calls        : {perl:6.3f} s   "
                  f"(fpig-trecvid is {perl / one_call:.1f}x faster)")
        else:
            print("perl sample_eval.pl: set SAMPLE_EVAL_PL=/path/to/sample_eval.pl to time it here")


if __name__ == "__main__":
    main()
