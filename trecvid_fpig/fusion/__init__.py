"""Run fusion: several runs over the same topics -> one run, as strong AVS submissions do it.

One module per method, its formula in the docstring (:mod:`.rrf`, :mod:`.comb_sum`,
:mod:`.comb_mnz`, :mod:`.weighted`), and the normalisations in :mod:`.norms`. Each input run
is cut at `depth` in its evaluated order before anything else; the fused run keeps the best
1000 shots a topic, ranked with NIST's tie rule.
"""
from __future__ import annotations

from typing import Dict, List, Optional, Sequence, Tuple

import numpy as np

from ..errors import InputError
from ..formats.qrels import MAX_RESULT_SIZE
from ..formats.runs import Run, TopicRanking, ranking_of
from .comb_mnz import comb_mnz
from .comb_sum import comb_sum
from .norms import NORMS
from .rrf import rrf
from .weighted import weighted_sum

METHODS = ("rrf", "combsum", "combmnz", "weighted")
#: Largest weight and RRF k taken: only weight ratios matter, and k far above a run's 1000
#: ranks makes every shot's RRF share the same (1/k); beyond these, sums lose their precision.
MAX_WEIGHT = 1e6
MAX_RRF_K = 1e6


def check_options(method: str, norm: Optional[str], weights: Optional[Sequence[float]],
                  n_runs: int, rrf_k: float = 60) -> str:
    """The normalisation to apply (minmax unless told) after refusing combinations that mean nothing."""
    if method not in METHODS:
        raise InputError(f"unknown fusion method {method!r}: expected one of {', '.join(METHODS)}")
    if n_runs < 2:
        raise InputError(f"fusion needs at least two runs, got {n_runs}")
    if not 0 <= rrf_k <= MAX_RRF_K:
        raise InputError(f"rrf_k must be between 0 and {MAX_RRF_K:g}, got {rrf_k}")
    if method == "rrf":
        if norm not in (None, "none"):
            raise InputError("rrf fuses ranks, not scores: a normalisation does not apply")
        norm = "none"
    norm = norm or "minmax"
    if norm not in NORMS:
        raise InputError(f"unknown normalisation {norm!r}: expected one of {', '.join(NORMS)}")
    if (method == "weighted") != (weights is not None):
        raise InputError("weights go with --method weighted, and it needs them"
                         if method != "weighted" else "--method weighted needs one weight per run")
    if weights is not None:
        if len(weights) != n_runs:
            raise InputError(f"{len(weights)} weight(s) for {n_runs} runs: give one weight per run")
        if not all(0 <= w <= MAX_WEIGHT for w in weights):
            raise InputError(f"weights must be between 0 and {MAX_WEIGHT:g}, got {list(weights)}")
        if not any(weights):
            raise InputError("every weight is 0: give at least one run a weight above 0")
    return norm


def fuse_topic(rankings: Sequence[Tuple[Sequence[str], np.ndarray]], method: str, norm: str,
               weights: Optional[Sequence[float]], rrf_k: float) -> Dict[str, float]:
    """Fused scores of one topic from each run's (shots, scores), already cut at the depth."""
    if method == "rrf":
        return rrf(rankings, rrf_k)
    normalised = [(shots, NORMS[norm](scores).tolist()) for shots, scores in rankings if len(shots)]
    if method == "combsum":
        return comb_sum(normalised)
    if method == "combmnz":
        return comb_mnz(normalised)
    kept = [w for (shots, _), w in zip(rankings, weights) if len(shots)]
    return weighted_sum(normalised, kept)


def _one_spelling(runs: Sequence[Run]) -> Dict[str, Run]:
    """Every topic of `runs` (and the first run that has it), refusing a number spelt two ways
    ('01661' and '1661'): fused apart, as two topics, the scorer would skip one of them."""
    first: Dict[int, Tuple[str, Run]] = {}
    for run in runs:
        for topic in run.topics:
            spelt, where = first.setdefault(int(topic), (topic, run))
            if spelt != topic:
                raise InputError(f"topic {topic} is written {spelt} in {where.path}: write each "
                                 f"topic as NIST does (1661) in every run", run.path)
    return {topic: run for topic, run in first.values()}


def fuse(runs: Sequence[Run], method: str = "rrf", norm: Optional[str] = None,
         weights: Optional[Sequence[float]] = None, rrf_k: float = 60,
         depth: int = MAX_RESULT_SIZE, keep: int = MAX_RESULT_SIZE, tag: str = "fused") -> Run:
    """Fuse `runs` topic by topic; a topic missing from some runs is fused from the others.

    A run of weight 0 is left out, so its shots do not enter the fused run at score 0.
    """
    norm = check_options(method, norm, weights, len(runs), rrf_k)
    if depth < 1 or keep < 1:
        raise InputError(f"depth and the shots kept must be at least 1, got {depth} and {keep}")
    if weights is not None:
        runs, weights = zip(*[(run, w) for run, w in zip(runs, weights) if w > 0])
    topics = sorted(_one_spelling(runs), key=int)
    empty: Tuple[Tuple[str, ...], np.ndarray] = ((), np.zeros(0))
    fused = {}
    for topic in topics:
        rankings: List[Tuple[Sequence[str], np.ndarray]] = []
        for run in runs:
            r = run.topics.get(topic)
            rankings.append(empty if r is None else (r.shots[:depth], r.scores[:depth]))
        scores = fuse_topic(rankings, method, norm, weights, rrf_k)
        if not np.isfinite(list(scores.values())).all():       # only raw scores sum that far
            raise InputError(f"topic {topic}: the runs' scores add up beyond the largest float "
                             f"({method} of unnormalised scores): normalise them (minmax, zscore "
                             f"or sum)")
        ranked = ranking_of(topic, scores)
        fused[topic] = TopicRanking(topic, ranked.shots[:keep], ranked.scores[:keep],
                                    min(keep, ranked.num_lines), ())
    return Run(f"<fused {method}>", tag, fused)
