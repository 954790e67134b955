"""Weighted sum of normalised scores (ranx's ``wsum``; the late fusion of most AVS systems).

    W(d) = sum over runs r that list d of w_r * norm_r(d)

A shot missing from a run adds 0. Weights are not renormalised: only their ratios change the
ranking.
"""
from __future__ import annotations

from typing import Dict, Sequence, Tuple


def weighted_sum(rankings: Sequence[Tuple[Sequence[str], Sequence[float]]],
                 weights: Sequence[float]) -> Dict[str, float]:
    fused: Dict[str, float] = {}
    for (shots, scores), weight in zip(rankings, weights):
        for shot, score in zip(shots, scores):
            fused[shot] = fused.get(shot, 0.0) + weight * score
    return fused
