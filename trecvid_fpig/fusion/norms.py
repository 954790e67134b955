"""Per-topic score normalisation before CombSUM, CombMNZ and weighted sums (ranx's definitions).

Over the scores s_1..s_n one run gives one topic (after its cut at the fusion depth):

- ``minmax``: (s - min) / max(max - min, 1e-9)
- ``zscore``: (s - mean) / max(std, 1e-9), the population standard deviation
- ``sum``:    (s - min) / max(sum_i (s_i - min), 1e-9)
- ``none``:   s

The 1e-9 floor keeps a topic whose scores are all equal finite (every shot becomes 0).
Scores beyond 2**480 in magnitude are first scaled down by a power of two (see :func:`_in_range`).
"""
from __future__ import annotations

import math
from typing import Callable, Dict

import numpy as np

FLOOR = 1e-9
#: Largest magnitude normalised as given: squares and sums of a million such scores stay finite.
LARGEST_EXPONENT = 480


def _in_range(scores: np.ndarray) -> np.ndarray:
    """`scores`, scaled by a power of two to at most 2**480 when larger: max - min, the sum and
    the std of scores near 1e308 overflow (a run normalised to all 0s or NaN). Scaling by 2**-k
    is exact and these normalisations are scale-free where the floor cannot apply, so smaller
    scores are untouched and larger ones give what exact arithmetic would."""
    biggest = float(np.max(np.abs(scores))) if len(scores) else 0.0
    exponent = math.frexp(biggest)[1]
    if exponent <= LARGEST_EXPONENT:
        return scores
    return np.ldexp(scores, LARGEST_EXPONENT - exponent)


def min_max(scores: np.ndarray) -> np.ndarray:
    scores = _in_range(scores)
    low = scores.min()
    return (scores - low) / max(scores.max() - low, FLOOR)


def z_score(scores: np.ndarray) -> np.ndarray:
    scores = _in_range(scores)
    return (scores - np.mean(scores)) / max(float(np.std(scores)), FLOOR)


def sum_shifted(scores: np.ndarray) -> np.ndarray:
    scores = _in_range(scores)
    low = scores.min()
    return (scores - low) / max(float(sum(scores.tolist())) - low * len(scores), FLOOR)


def identity(scores: np.ndarray) -> np.ndarray:
    return scores


NORMS: Dict[str, Callable[[np.ndarray], np.ndarray]] = {
    "minmax": min_max, "zscore": z_score, "sum": sum_shifted, "none": identity}
