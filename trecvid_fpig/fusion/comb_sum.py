"""CombSUM (Fox & Shaw, TREC-2 1994) over normalised scores.

    CombSUM(d) = sum over runs r that list d of norm_r(d)

A shot a run does not list adds 0. Sums run over the runs in the order given.
"""
from __future__ import annotations

from typing import Dict, Sequence, Tuple


def comb_sum(rankings: Sequence[Tuple[Sequence[str], Sequence[float]]]) -> Dict[str, float]:
    fused: Dict[str, float] = {}
    for shots, scores in rankings:
        for shot, score in zip(shots, scores):
            fused[shot] = fused.get(shot, 0.0) + score
    return fused
