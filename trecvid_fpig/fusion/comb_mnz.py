"""CombMNZ (Fox & Shaw, TREC-2 1994) over normalised scores.

    CombMNZ(d) = |{runs r that list d}| * sum over those runs of norm_r(d)

A shot missing from a run is not counted; one listed with normalised score 0 is.
"""
from __future__ import annotations

from typing import Dict, Sequence, Tuple

from .comb_sum import comb_sum


def comb_mnz(rankings: Sequence[Tuple[Sequence[str], Sequence[float]]]) -> Dict[str, float]:
    listed: Dict[str, int] = {}
    for shots, _scores in rankings:
        for shot in shots:
            listed[shot] = listed.get(shot, 0) + 1
    return {shot: total * listed[shot] for shot, total in comb_sum(rankings).items()}
