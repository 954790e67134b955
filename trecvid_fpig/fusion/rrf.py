"""Reciprocal rank fusion (Cormack, Clarke & Büttcher, SIGIR 2009).

    RRF(d) = sum over runs r that list d of 1 / (k + rank_r(d))

rank_r(d) counts from 1 in the run's evaluated order (score descending, ties by shot id
descending); k = 60 in the paper. Scores are not used, so no normalisation applies.
"""
from __future__ import annotations

from typing import Dict, Sequence, Tuple


def rrf(rankings: Sequence[Tuple[Sequence[str], Sequence[float]]], k: float = 60) -> Dict[str, float]:
    fused: Dict[str, float] = {}
    for shots, _scores in rankings:
        for rank, shot in enumerate(shots, 1):
            fused[shot] = fused.get(shot, 0.0) + 1 / (k + rank)
    return fused
