"""trec_eval-family measures (AP, P@10, nDCG@10, …) through ir_measures, on the judged shots.

TRECVID qrels mark unsampled pool shots with -1; trec_eval has no such notion, so only judged
shots (0 or a positive grade) are passed on. These are *not* the official TRECVID numbers:
on sampled qrels they are biased (use xinfAP), but some papers report them.
"""
from __future__ import annotations

from typing import Dict, List, Sequence, Tuple

from ..errors import InputError
from ..formats.qrels import MAX_RESULT_SIZE, Qrels
from ..formats.runs import Run


def parse_measures(names: Sequence[str]) -> List:
    import ir_measures
    measures = []
    for name in names:
        try:
            measures.append(ir_measures.parse_measure(name))
        except (ValueError, NameError, TypeError):
            raise InputError(f"unknown trec_eval measure {name!r}; examples: AP, P@10, nDCG@10, "
                             f"R@100, RR (see the ir-measures documentation)") from None
    return measures


def trec_measures(qrels: Qrels, run: Run, names: Sequence[str],
                  depth: int = MAX_RESULT_SIZE) -> Tuple[Dict[str, float], Dict[str, Dict[str, float]]]:
    """(means over evaluated topics, per-topic values) for each measure name, on the top `depth`."""
    import ir_measures
    measures = parse_measures(names)
    judged = {t: rels for t, rels in qrels.as_binary_dict().items() if t in run.topics}
    ranked = {t: {shot: float(-rank) for rank, shot in enumerate(r.shots[:depth])}
              for t, r in run.topics.items() if t in judged}
    per_topic: Dict[str, Dict[str, float]] = {t: {} for t in ranked}
    for metric in ir_measures.iter_calc(measures, judged, ranked):
        per_topic[metric.query_id][str(metric.measure)] = float(metric.value)
    means = {}
    for m in measures:
        values = [per_topic[t].get(str(m), 0.0) for t in ranked]
        means[str(m)] = sum(values) / len(values) if values else 0.0
    return means, per_topic
