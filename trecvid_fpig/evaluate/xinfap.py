"""Stratified inferred AP (xinfAP) and friends, exactly as NIST's ``sample_eval.pl`` computes them.

Yilmaz, Kanoulas & Aslam, "A Simple and Efficient Sampling Method for Estimating AP and NDCG",
SIGIR 2008. Every floating-point operation below is done in the order the Perl script does it
(left-associative products, sequential sums over strata in NIST's string order, sequential
sums down the ranking), so the printed ``%6.4f`` values agree to the last digit. The walk down
each ranking is vectorised with numpy instead of the script's per-shot loop.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Dict, List, Sequence, Tuple

import numpy as np

from ..errors import InputError
from ..formats.qrels import DISCOUNT, MAX_RESULT_SIZE, Qrels, TopicJudgments
from ..formats.runs import Run, TopicRanking

#: Ranks at which sample_eval reports estimated precision; 1000 twice, as the script prints it.
PRECISION_RANKS = (10, 100, 1000, MAX_RESULT_SIZE)
RECALL_LEVELS = tuple(i / 10 for i in range(11))


class _PrecisionAtRanks:
    """iP10, iP100, iP1000 by name, from the `precision` tuple (at PRECISION_RANKS)."""
    precision: Tuple[float, ...]

    @property
    def iP10(self) -> float:
        return self.precision[0]

    @property
    def iP100(self) -> float:
        return self.precision[1]

    @property
    def iP1000(self) -> float:
        return self.precision[2]


@dataclass(frozen=True)
class TopicResult(_PrecisionAtRanks):
    topic: str
    infAP: float
    infNDCG: float
    precision: Tuple[float, ...]       # at PRECISION_RANKS
    inum_rel_ret: float
    inum_rel: float
    num_ret: int                       # lines in the run for this topic (before the cut)
    num_walked: int                    # shots ranked after the cut at 1000
    iprec_at_recall: Tuple[float, ...]  # this topic's 11-point interpolated precision


@dataclass(frozen=True)
class RunResult(_PrecisionAtRanks):
    """Per-topic results in processing order, and the means sample_eval prints as `all`."""
    run: str
    topics: Tuple[TopicResult, ...]
    infAP: float
    infNDCG: float
    iprec_at_recall: Tuple[float, ...]
    precision: Tuple[float, ...]
    inum_rel_ret: float
    inum_rel: float                    # summed over every qrels topic, judged by the run or not
    num_ret: int                       # shots walked (after the cut), over evaluated topics


def _seq_sum(values: np.ndarray) -> float:
    """Left-to-right sum (numpy's sum is pairwise and would differ in the last bits)."""
    return float(np.add.accumulate(values)[-1]) if len(values) else 0.0


def _columns_sum(terms: List[np.ndarray], length: int) -> np.ndarray:
    acc = np.zeros(length)
    for term in terms:
        acc = acc + term
    return acc


def evaluate_topic(tj: TopicJudgments, ranking: TopicRanking,
                   depth: int = MAX_RESULT_SIZE) -> TopicResult:
    stratum, grade = tj.lookup(ranking.shots[:depth])
    return evaluate_looked_up(tj, ranking.topic, stratum, grade, ranking.num_lines)


def evaluate_looked_up(tj: TopicJudgments, topic: str, stratum: np.ndarray, grade: np.ndarray,
                       num_lines: int) -> TopicResult:
    """One topic from its ranking already looked up in the qrels (``tj.lookup``) and cut at its
    depth: what lets pool coverage score a condensed ranking without a second lookup."""
    k = len(stratum)
    nstrata = len(tj.strata)
    ranks = np.arange(1, k + 1, dtype=np.float64)
    pooled = stratum >= 0
    is_rel = pooled & (grade > 0)
    depth_incl = np.cumsum(pooled)
    depth_excl = (depth_incl - pooled).astype(np.float64)

    prec_terms, est_terms = [], []
    sap, gain, docs_end, judged_end = [], [], [], []
    rel_idx = np.flatnonzero(is_rel)
    rel_depth = depth_excl[rel_idx]
    safe_depth = np.where(rel_depth != 0, rel_depth, 1.0)
    for s in range(nstrata):
        in_s = stratum == s
        docs = np.cumsum(in_s)
        judged = np.cumsum(in_s & (grade >= 0))
        relevant = np.cumsum(in_s & (grade > 0))
        # counts strictly above each relevant shot (the script updates them after using them)
        d_ex = (docs - in_s)[rel_idx].astype(np.float64)
        j_ex = (judged - (in_s & (grade >= 0)))[rel_idx].astype(np.float64)
        r_ex = (relevant - (in_s & (grade > 0)))[rel_idx].astype(np.float64)
        term = d_ex / safe_depth * (r_ex + 0.00001) / (j_ex + 0.00003)
        prec_terms.append(np.where(rel_depth != 0, term, 0.0))
        est_terms.append(docs * (relevant + 0.00001) / (judged + 0.00003))
        docs_end.append(int(docs[-1]) if k else 0)
        judged_end.append(int(judged[-1]) if k else 0)
    prec_above = _columns_sum(prec_terms, len(rel_idx))
    prec = 1 / ranks[rel_idx] + (rel_depth / ranks[rel_idx]) * prec_above
    rel_strata = stratum[rel_idx]
    rel_gain = grade[rel_idx] / DISCOUNT[rel_idx + 1]
    for s in range(nstrata):
        sap.append(_seq_sum(prec[rel_strata == s]))
        gain.append(_seq_sum(rel_gain[rel_strata == s]))
    est_rel_at = _columns_sum(est_terms, k)
    inum_rel_ret = float(est_rel_at[-1]) if k else 0.0

    precision = tuple(float(est_rel_at[c - 1]) / c if k >= c else inum_rel_ret / c
                      for c in PRECISION_RANKS)

    ap = 0.0
    for s in range(nstrata):
        if tj.judged[s] != 0 and tj.est_relevant != 0:
            ap_s = sap[s] / tj.relevant[s] if tj.relevant[s] != 0 else 0
            ap += tj.stratum_weight(s) / tj.est_relevant * ap_s
    if tj.est_relevant > MAX_RESULT_SIZE:
        ap = ap * tj.est_relevant / MAX_RESULT_SIZE

    depth_end = int(depth_incl[-1]) if k else 0
    dcg = 0.0
    for s in range(nstrata):
        if depth_end != 0 and judged_end[s] != 0:
            dcg += docs_end[s] / depth_end * gain[s] / judged_end[s]
    ndcg = depth_end * dcg / tj.ideal_dcg if tj.ideal_dcg != 0 else 0.0

    return TopicResult(topic, ap, ndcg, precision, inum_rel_ret, tj.est_relevant,
                       num_lines, k, _interpolated_precision(est_rel_at, tj.est_relevant))


def _interpolated_precision(est_rel_at: np.ndarray, est_relevant: float) -> Tuple[float, ...]:
    """Each recall level's interpolated precision, walking up from the bottom as the script does."""
    k = len(est_rel_at)
    out = [0.0] * len(RECALL_LEVELS)
    cutoffs = [level * est_relevant for level in RECALL_LEVELS]
    final = float(est_rel_at[-1])
    cur = len(cutoffs) - 1
    while cur >= 0 and cutoffs[cur] > final:
        cur -= 1
    prec = est_rel_at / np.arange(1, k + 1)
    best_below = np.maximum.accumulate(prec[::-1])[::-1]   # max precision at this rank or deeper
    pos = k - 1
    while cur >= 0 and pos >= 0:
        hits = np.flatnonzero(est_rel_at[pos::-1] < cutoffs[cur])
        if not len(hits):
            break
        rank_idx = pos - int(hits[0])
        out[cur] = float(best_below[rank_idx])
        cur -= 1
        pos = rank_idx - 1
    overall = float(best_below[0])
    while cur >= 0:
        out[cur] = overall
        cur -= 1
    return tuple(out)


def answered_topics(run: Run) -> Dict[str, TopicRanking]:
    """The run's topics with at least one shot: a topic an XML submission or a dict leaves
    empty is one its TREC form has no line for, so sample_eval.pl never sees it."""
    return {t: r for t, r in run.topics.items() if r.shots}


def evaluate_run(qrels: Qrels, run: Run, depth: int = MAX_RESULT_SIZE,
                 missing_as_zero: bool = False) -> RunResult:
    """All topics of `run` that the qrels judge; the run's other topics are skipped, as NIST does.

    With `missing_as_zero` (scoring a submission), a qrels topic absent from the run scores 0 and
    counts in the means.
    """
    results = [evaluate_topic(tj, ranking, depth) for tj, ranking in scored_topics(qrels, run)]
    return run_result(qrels, run, results, missing_as_zero)


def scored_topics(qrels: Qrels, run: Run) -> List[Tuple[TopicJudgments, TopicRanking]]:
    """The run's answered topics that the qrels judge, in the run's order: the ones scored."""
    answered = answered_topics(run)
    return [(qrels.topics[t], answered[t]) for t in answered if t in qrels.topics]


def run_result(qrels: Qrels, run: Run, results: List[TopicResult],
               missing_as_zero: bool = False) -> RunResult:
    """The run's result from its scored topics' results: the means sample_eval prints as `all`."""
    answered = answered_topics(run)
    if missing_as_zero:
        results = results + [_zero_result(tj) for t, tj in qrels.topics.items() if t not in answered]
        results.sort(key=lambda r: int(r.topic))
    if not results:
        refuse_unscorable(qrels, run)
    n = len(results)
    ap = ndcg = rel_ret = 0.0
    precision_sums = [0.0] * len(PRECISION_RANKS)
    for r in results:
        ap += r.infAP
        ndcg += r.infNDCG
        rel_ret += r.inum_rel_ret
        for i, p in enumerate(r.precision):
            precision_sums[i] += p
    iprec_sums = [0.0] * len(RECALL_LEVELS)
    for r in sorted(results, key=lambda r: r.topic):   # the script sums these in string order
        for i, p in enumerate(r.iprec_at_recall):
            iprec_sums[i] += p
    return RunResult(run.path, tuple(results), ap / n, ndcg / n,
                     tuple(v / n for v in iprec_sums), tuple(v / n for v in precision_sums),
                     rel_ret, qrels.est_relevant_total, sum(r.num_walked for r in results))


def refuse_unscorable(qrels: Qrels, run: Run) -> None:
    """The error for a run with nothing the qrels can score: no shots, or no topic they judge."""
    if not answered_topics(run):
        raise InputError(f"the run holds no shots: every topic ({_preview(run.topics)}) is empty",
                         run.path)
    raise InputError(f"none of the run's topics ({_preview(run.topics)}) is in the qrels "
                     f"{qrels.path} ({_preview(qrels.topics)})", run.path)


def _zero_result(tj: TopicJudgments) -> TopicResult:
    zeros = (0.0,) * len(RECALL_LEVELS)
    return TopicResult(tj.topic, 0.0, 0.0, (0.0,) * len(PRECISION_RANKS), 0.0, tj.est_relevant, 0, 0, zeros)


def _preview(ids: Sequence[str], most: int = 4) -> str:
    ids = list(ids)
    shown = ", ".join(ids[:most])
    return shown + (f", … {len(ids)} in all" if len(ids) > most else "")
