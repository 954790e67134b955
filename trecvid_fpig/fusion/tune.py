"""Choosing weighted-fusion weights on one year's qrels, by grid search.

Weights on a grid of `step` that sum to 1 (ratios are all that matter); the best mean xinfAP
wins, ties going to the first weighting in grid order. Use the weights on another year.
A grid holds C(1/step + n - 1, n - 1) weightings of n runs, each a fusion and a scoring
(about 20 ms for runs of 20 topics): grids beyond :data:`MAX_WEIGHTINGS` are refused.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Iterator, Optional, Sequence, Tuple

from ..errors import InputError
from ..formats.qrels import Qrels
from ..formats.runs import Run


@dataclass(frozen=True)
class Tuned:
    weights: Tuple[float, ...]
    infAP: float
    tried: int


#: Largest grid searched: about 4 minutes at 20 ms a weighting.
MAX_WEIGHTINGS = 10_000
#: Searches of more weightings than this show a progress bar.
PROGRESS_FROM = 100
#: Steps offered instead of one whose grid is too large: 1/u for these u, finest first.
_STEP_UNITS = (100, 50, 40, 25, 20, 10, 8, 5, 4, 2, 1)


def _units(step: float) -> int:
    units = round(1 / step) if 0 < step <= 1 else 0
    if units < 1 or abs(units * step - 1) > 1e-9:
        raise InputError(f"the grid step must divide 1, got {step}")
    return units


def grid_size(n: int, step: float) -> int:
    """How many weightings :func:`weight_grid` gives."""
    return math.comb(_units(step) + n - 1, n - 1)


def check_grid(n: int, step: float) -> int:
    """The grid's size, after refusing one beyond MAX_WEIGHTINGS with a step that fits."""
    size = grid_size(n, step)
    if size > MAX_WEIGHTINGS:
        coarser = next(1 / u for u in _STEP_UNITS if math.comb(u + n - 1, n - 1) <= MAX_WEIGHTINGS)
        raise InputError(f"a grid step of {step:g} over {n} runs is {size:,} weightings, more than "
                         f"{MAX_WEIGHTINGS:,}: use --grid-step {coarser:g} "
                         f"({grid_size(n, coarser):,} weightings)")
    return size


def weight_grid(n: int, step: float) -> Iterator[Tuple[float, ...]]:
    """Every n-tuple of multiples of `step` summing to 1, in lexicographic order of the counts."""
    units = _units(step)

    def split(total: int, parts: int) -> Iterator[Tuple[int, ...]]:
        if parts == 1:
            yield (total,)
            return
        for first in range(total + 1):
            for rest in split(total - first, parts - 1):
                yield (first, *rest)

    for counts in split(units, n):
        yield tuple(round(c / units, 10) for c in counts)


def grid_search(runs: Sequence[Run], qrels: Qrels, norm: Optional[str], depth: int,
                step: float, progress: bool = True) -> Tuned:
    """The best weighting of the grid; a bar on stderr when it holds over PROGRESS_FROM."""
    from tqdm import tqdm

    from ..evaluate.xinfap import evaluate_run
    from . import fuse

    size = check_grid(len(runs), step)
    best, tried = None, 0
    with tqdm(total=size, unit="weighting", desc="tune", leave=False,
              disable=not progress or size <= PROGRESS_FROM) as bar:
        for weights in weight_grid(len(runs), step):
            tried += 1
            value = evaluate_run(qrels, fuse(runs, "weighted", norm, weights, depth=depth)).infAP
            if best is None or value > best[1]:
                best = (weights, value)
            bar.update()
    return Tuned(best[0], best[1], tried)
