"""Pool coverage: how much of a run's ranking NIST's pool holds, and its infAP without the rest.

A run scored long after a TRECVID pool was built retrieves shots that no one pooled;
``sample_eval.pl`` (and so ``score``) counts each as not relevant, so infAP reads low by an
unknown amount. For each topic scored, over the run's first k shots in NIST's order (score
descending, shot id descending, a repeated shot once: the ranking :mod:`..formats.runs` reads):

- ``pooled@k``: the fraction of those shots in the qrels at all (judgment 1, 0 or -1);
- ``judged@k``: the fraction NIST judged (1 or 0);
- ``unpooled_ret``: how many of the shots scored (the first 1000) are not in the qrels;
- ``infAP_condensed``: the xinfAP of the run with every unpooled shot's lines removed, scored by
  the same estimator (so equal to ``sample_eval.pl`` on that condensed file).

A run with fewer than k shots for a topic is measured on the shots it has. The ``all`` figures are
means over the topics scored, as for infAP.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Dict, List, Optional, Sequence, Tuple

import numpy as np

from ..errors import InputError
from ..formats.qrels import MAX_RESULT_SIZE, Qrels, TopicJudgments
from ..formats.runs import Run
from .xinfap import RunResult, evaluate_looked_up, refuse_unscorable, run_result, scored_topics

DEPTHS = (10, 100, 1000)
#: A run whose mean pooled@LOW_DEPTH is below LOW_POOLED gets a warning: infAP underestimates it.
LOW_DEPTH = 100
LOW_POOLED = 0.5


@dataclass(frozen=True)
class TopicCoverage:
    topic: str
    pooled: Tuple[Optional[float], ...]    # at `depths`; None for a topic the run left empty
    judged: Tuple[Optional[float], ...]
    unpooled_ret: int
    infAP_condensed: Optional[float]       # None when not computed (see `coverage`)


@dataclass(frozen=True)
class RunCoverage:
    """Per-topic coverage (the topics scored, in the result's order) and their means (``all``)."""
    depths: Tuple[int, ...]
    topics: Tuple[TopicCoverage, ...]
    pooled: Tuple[float, ...]
    judged: Tuple[float, ...]
    unpooled_ret: float
    infAP_condensed: Optional[float]
    low_pooled: float                      # mean pooled@LOW_DEPTH, whatever the depths

    @property
    def low(self) -> bool:
        """True when infAP underestimates the run badly enough to say so."""
        return self.low_pooled < LOW_POOLED

    def warning(self, infap: float) -> str:
        """The one line that says a run's infAP reads low, with the condensed figure beside it."""
        return (f"mean pooled@{LOW_DEPTH} is {self.low_pooled:.2f} (below {LOW_POOLED}): "
                f"infAP {infap:.4f} underestimates this run; infAP_condensed {self.infAP_condensed:.4f}")

    def summary(self) -> str:
        """The run's coverage in one line, for people (the demo prints it)."""
        pooled = ", ".join(f"pooled@{k} {v:.2f}" for k, v in zip(self.depths, self.pooled))
        judged = ", ".join(f"judged@{k} {v:.2f}" for k, v in zip(self.depths, self.judged))
        condensed = "" if self.infAP_condensed is None else f"; infAP_condensed {self.infAP_condensed:.4f}"
        return f"{pooled}; {judged}; unpooled_ret {self.unpooled_ret:.1f} a topic{condensed}"

    def values(self, topic: Optional[TopicCoverage] = None) -> Dict[str, Optional[float]]:
        """The columns by name (pooled@10 … judged@1000, unpooled_ret, infAP_condensed), of the
        run's ``all`` or of one of its topics."""
        source = topic or self
        out: Dict[str, Optional[float]] = {}
        out.update({f"pooled@{k}": v for k, v in zip(self.depths, source.pooled)})
        out.update({f"judged@{k}": v for k, v in zip(self.depths, source.judged)})
        out["unpooled_ret"] = source.unpooled_ret
        out["infAP_condensed"] = source.infAP_condensed
        return out


def coverage_columns(depths: Sequence[int] = DEPTHS) -> List[str]:
    """The column names :meth:`RunCoverage.values` gives, in order."""
    return ([f"pooled@{k}" for k in depths] + [f"judged@{k}" for k in depths]
            + ["unpooled_ret", "infAP_condensed"])


def coverage(run: Run, qrels: Qrels, depths: Sequence[int] = DEPTHS) -> RunCoverage:
    """The pool coverage of `run` against `qrels`, every figure computed (see the module)."""
    depths = tuple(depths)
    if not depths or not all(isinstance(k, int) and k >= 1 for k in depths):
        raise InputError(f"depths must be whole numbers from 1, got {depths!r}")
    return evaluate_with_coverage(qrels, run, depths)[1]


def evaluate_with_coverage(qrels: Qrels, run: Run, depths: Tuple[int, ...] = DEPTHS,
                           missing_as_zero: bool = False,
                           condensed: bool = True) -> Tuple[RunResult, RunCoverage]:
    """The run's result, as :func:`.xinfap.evaluate_run` gives it, and its coverage, from one
    lookup of each ranking in the qrels.

    Without `condensed`, infAP_condensed is computed only for a run whose coverage is low (what
    score's warning prints), so plain scoring pays for the counts alone. With `missing_as_zero`,
    a qrels topic the run left empty scores 0, condensed too, and has no pooled or judged figure.
    """
    results, looked_up = [], {}
    for tj, ranking in scored_topics(qrels, run):
        stratum, grade = tj.lookup(ranking.shots)
        looked_up[ranking.topic] = (tj, stratum, grade)
        results.append(evaluate_looked_up(tj, ranking.topic, stratum[:MAX_RESULT_SIZE],
                                          grade[:MAX_RESULT_SIZE], ranking.num_lines))
    result = run_result(qrels, run, results, missing_as_zero)
    low_pooled = _mean([_fraction(lk[1] >= 0, LOW_DEPTH) for lk in looked_up.values()])
    with_condensed = condensed or low_pooled < LOW_POOLED
    topics = []
    for r in result.topics:
        if r.topic not in looked_up:                       # left empty, scored 0 as a submission
            topics.append(TopicCoverage(r.topic, (None,) * len(depths), (None,) * len(depths), 0, 0.0))
            continue
        tj, stratum, grade = looked_up[r.topic]
        pooled = stratum >= 0
        topics.append(TopicCoverage(
            r.topic, tuple(_fraction(pooled, k) for k in depths),
            tuple(_fraction(grade >= 0, k, pooled) for k in depths),
            int(np.count_nonzero(~pooled[:MAX_RESULT_SIZE])),
            _condensed_infap(tj, r.topic, stratum, grade, r.infAP) if with_condensed else None))
    return result, RunCoverage(
        tuple(depths), tuple(topics),
        tuple(_mean([t.pooled[i] for t in topics]) for i in range(len(depths))),
        tuple(_mean([t.judged[i] for t in topics]) for i in range(len(depths))),
        _mean([t.unpooled_ret for t in topics]),
        _mean([t.infAP_condensed for t in topics], in_order=True) if with_condensed else None, low_pooled)


@dataclass(frozen=True)
class Unpooled:
    """A shot no one pooled that runs rank in their top k: one line of ``qrels todo``."""
    topic: str
    shot: str
    best_rank: int                         # from 1, in NIST's order
    runs: Tuple[str, ...]                  # the runs that rank it, in the order given


def unpooled_to_judge(runs: Sequence[Run], qrels: Qrels, depth: int = 100) -> List[Unpooled]:
    """The shots the runs' first `depth` hold (a topic the qrels judge) and the qrels do not, in
    the order a person should judge them: topic by topic, the best-ranked first (they weigh most
    in AP), then those more runs share, then by shot id."""
    found: Dict[Tuple[str, str], Tuple[int, List[str]]] = {}
    for run in runs:
        scored = scored_topics(qrels, run)
        if not scored:                     # a run of another year: say so, not an empty list
            refuse_unscorable(qrels, run)
        for tj, ranking in scored:
            top = ranking.shots[:depth]
            stratum, _ = tj.lookup(top)
            for rank in np.flatnonzero(stratum < 0).tolist():
                best, names = found.setdefault((ranking.topic, top[rank]), (rank + 1, []))
                if run.path not in names:
                    names.append(run.path)
                found[ranking.topic, top[rank]] = (min(best, rank + 1), names)
    rows = [Unpooled(topic, shot, best, tuple(names)) for (topic, shot), (best, names) in found.items()]
    return sorted(rows, key=lambda u: (int(u.topic), u.best_rank, -len(u.runs), u.shot))


def _fraction(mask: np.ndarray, k: int, within: Optional[np.ndarray] = None) -> float:
    """The share of the first k entries (all of them when fewer) that `mask` holds, counting
    only those also in `within`."""
    top = mask[:k] if within is None else mask[:k] & within[:k]
    return float(np.count_nonzero(top)) / len(top)


def _condensed_infap(tj: TopicJudgments, topic: str, stratum: np.ndarray, grade: np.ndarray,
                     infap: float) -> float:
    """infAP of the ranking with its unpooled shots removed: the same estimator on what remains."""
    keep = stratum >= 0
    if keep[:MAX_RESULT_SIZE].all():                       # nothing removed from the shots scored
        return infap
    if not keep.any():                                     # no line left: nothing retrieved
        return 0.0
    kept_stratum, kept_grade = stratum[keep][:MAX_RESULT_SIZE], grade[keep][:MAX_RESULT_SIZE]
    return evaluate_looked_up(tj, topic, kept_stratum, kept_grade, len(kept_stratum)).infAP


def _mean(values: Sequence[Optional[float]], in_order: bool = False) -> float:
    """Mean of the values present (0 when there are none): exactly rounded, or `in_order` as
    sample_eval sums infAP, so that infAP_condensed's mean is the condensed file's to the bit."""
    present = [v for v in values if v is not None]
    if not present:
        return 0.0
    total = 0.0
    if not in_order:
        return math.fsum(present) / len(present)
    for v in present:
        total += v
    return total / len(present)
