"""Choosing weighted-fusion weights on one year's qrels, by grid search.

Weights on a grid of `step` that sum to 1 (ratios are all that matter); the best mean xinfAP
wins, ties going to the first weighting in grid order. Use the weights on another year.
"""
from __future__ import annotations

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


def weight_grid(n: int, step: float) -> Iterator[Tuple[float, ...]]:
    """Every n-tuple of multiples of `step` summing to 1, in lexicographic order of the counts."""
    units = round(1 / step)
    if abs(units * step - 1) > 1e-9:
        raise InputError(f"the grid step must divide 1, got {step}")

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
                step: float) -> Tuned:
    from ..evaluate.xinfap import evaluate_run
    from . import fuse

    best, tried = None, 0
    for weights in weight_grid(len(runs), step):
        tried += 1
        value = evaluate_run(qrels, fuse(runs, "weighted", norm, weights, depth=depth)).infAP
        if best is None or value > best[1]:
            best = (weights, value)
    return Tuned(best[0], best[1], tried)
