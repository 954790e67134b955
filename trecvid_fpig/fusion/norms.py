"""Per-topic score normalisation before CombSUM, CombMNZ and weighted sums (ranx's definitions).

Over the scores s_1..s_n one run gives one topic (after its cut at the fusion depth):

- ``minmax``: (s - min) / max(max - min, 1e-9)
- ``zscore``: (s - mean) / max(std, 1e-9), the population standard deviation
- ``sum``:    (s - min) / max(sum_i (s_i - min), 1e-9)
- ``none``:   s

The 1e-9 floor keeps a topic whose scores are all equal finite (every shot becomes 0).
"""
from __future__ import annotations

from typing import Callable, Dict

import numpy as np

FLOOR = 1e-9


def min_max(scores: np.ndarray) -> np.ndarray:
    low = scores.min()
    return (scores - low) / max(scores.max() - low, FLOOR)


def z_score(scores: np.ndarray) -> np.ndarray:
    return (scores - np.mean(scores)) / max(float(np.std(scores)), FLOOR)


def sum_shifted(scores: np.ndarray) -> np.ndarray:
    low = scores.min()
    return (scores - low) / max(float(sum(scores.tolist())) - low * len(scores), FLOOR)


def identity(scores: np.ndarray) -> np.ndarray:
    return scores


NORMS: Dict[str, Callable[[np.ndarray], np.ndarray]] = {
    "minmax": min_max, "zscore": z_score, "sum": sum_shifted, "none": identity}
