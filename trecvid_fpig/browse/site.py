"""What a browse site shows, as plain data the pages' scripts read.

For each topic: each run's top shots with rank, score and NIST's judgment class, the rank every
shown run gave each of them, and the relevant shots each run missed. The infAP figures are the
scorer's own (:func:`~trecvid_fpig.evaluate.score.score_runs`: the numbers ``score`` prints); the
classes are the qrels as NIST wrote them.
"""
from __future__ import annotations

from typing import Dict, List, Optional, Sequence

from ..evaluate.score import ScoredRun
from ..evaluate.xinfap import answered_topics
from ..extract.shots import natural_key
from ..formats.qrels import Qrels, TopicJudgments

#: NIST's judgments as the pages name them: judged relevant, judged not relevant, pooled but
#: not sampled for judging (-1), and never pooled (not in the qrels at all).
RELEVANT, NOT_RELEVANT, UNSAMPLED, UNPOOLED = "relevant", "not-relevant", "unsampled", "unpooled"
CLASSES = (RELEVANT, NOT_RELEVANT, UNSAMPLED, UNPOOLED)
#: How the pages show each class (the legend, the thumbnails' letters, the preview): a letter,
#: so that a class reads without colour, a name, and what it means.
LEGEND = {
    RELEVANT: ("R", "relevant", "NIST judged it relevant"),
    NOT_RELEVANT: ("N", "not relevant", "NIST judged it not relevant"),
    UNSAMPLED: ("P", "pooled, not judged", "in NIST's pool but not sampled for judging (−1)"),
    UNPOOLED: ("U", "unpooled", "never in NIST's pool: no one judged it"),
}
#: Runs side by side on a topic page: more columns would not fit a laptop screen.
MAX_RUNS = 4
#: The depth of the index's pool-coverage column.
POOLED_DEPTH = 100


def judgment_classes(judgments: TopicJudgments, shots: Sequence[str]) -> List[str]:
    """The class of each shot, from the qrels row it has (or its absence)."""
    stratum, grade = judgments.lookup(shots)
    return [UNPOOLED if s < 0 else RELEVANT if g > 0 else NOT_RELEVANT if g == 0 else UNSAMPLED
            for s, g in zip(stratum.tolist(), grade.tolist())]


def pooled_at_100(scored: ScoredRun) -> Dict[str, float]:
    """pooled@100 per topic, as ``score --coverage`` prints it (the scorer computes it with the
    scores, :mod:`trecvid_fpig.evaluate.coverage`)."""
    column = scored.coverage.depths.index(POOLED_DEPTH)
    return {t.topic: t.pooled[column] for t in scored.coverage.topics}


def topic_pages(qrels: Qrels, scored: Sequence[ScoredRun], texts: Dict[str, str],
                depth: int) -> List[dict]:
    """One dict per topic that the qrels judge and at least one run answers, in NIST's order.

    A shot entry holds its id, its run's score, its class, and ``ranks``: its rank in each run
    (null where that run did not retrieve it), so a page marks where the other runs put it.
    """
    answered = [answered_topics(s.run) for s in scored]
    infap = [{t.topic: t.infAP for t in s.result.topics} for s in scored]
    coverage = [pooled_at_100(s) for s in scored]
    pages = []
    for topic, judgments in qrels.topics.items():
        rankings = [a.get(topic) for a in answered]
        if not any(rankings):
            continue
        ranks = [{shot: i for i, shot in enumerate(r.shots, 1)} if r else {} for r in rankings]

        def ranks_of(shot: str) -> List[Optional[int]]:
            return [r.get(shot) for r in ranks]

        relevant = sorted((shot for shot, row in judgments.rows.items()
                           if judgments.grade[row] > 0), key=natural_key)
        runs = []
        for index, ranking in enumerate(rankings):
            top = ranking.shots[:depth] if ranking else ()
            scores = ranking.scores[:depth].tolist() if ranking else []
            shown = [{"shot": shot, "score": score, "class": cls, "ranks": ranks_of(shot)}
                     for shot, score, cls in zip(top, scores, judgment_classes(judgments, top))]
            missed = _missed(relevant, ranks, index, depth)
            runs.append({"infAP": infap[index].get(topic), "pooled": coverage[index].get(topic),
                         "answered": ranking is not None, "shots": shown,
                         "missed": [{"shot": shot, "class": RELEVANT, "ranks": ranks_of(shot)}
                                    for shot in missed[:depth]],
                         "missed_total": len(missed)})
        pages.append({"topic": topic, "text": texts.get(topic, ""), "runs": runs,
                      "relevant": len(relevant), "pooled": len(judgments.rows)})
    return pages


def _missed(relevant: Sequence[str], ranks: Sequence[Dict[str, int]], index: int,
            depth: int) -> List[str]:
    """The relevant shots not in run `index`'s top `depth`: first those another run has in its
    top `depth` (best rank first), then those this run ranks deeper, then the rest by id."""
    own = ranks[index]

    def order(shot: str):
        others = [r[shot] for j, r in enumerate(ranks) if j != index and r.get(shot, depth + 1) <= depth]
        return (min(others) if others else depth + 1, own.get(shot, 10 ** 9))

    missed = [shot for shot in relevant if own.get(shot, depth + 1) > depth]
    return sorted(missed, key=order)       # stable: ties keep the id order


def judged_by_you(merged: Qrels) -> Dict[str, Dict[str, int]]:
    """The extra judgments `merged` holds (``--extra-qrels``), as the scorer reads them: the
    rows of its extra stratum, by topic (numeric order) and shot (id order)."""
    if merged.extra_stratum is None:
        return {}
    judged = {}
    for topic in sorted(merged.topics, key=int):
        tj = merged.topics[topic]
        if merged.extra_stratum not in tj.strata:
            continue
        extra = tj.strata.index(merged.extra_stratum)
        judged[topic] = {shot: int(tj.grade[row]) for shot, row in
                         sorted(tj.rows.items(), key=lambda item: natural_key(item[0]))
                         if tj.stratum[row] == extra}
    return judged


def index_rows(pages: Sequence[dict]) -> List[dict]:
    """The index table: per topic, each run's infAP and pooled@100, the difference between the
    first two runs, and the topic's text; and the unpooled shots the runs' tops show, which
    the pages let you judge (their progress counters count them)."""
    rows = []
    for page in pages:
        infap = [r["infAP"] for r in page["runs"]]
        delta = infap[0] - infap[1] if len(infap) > 1 and None not in infap[:2] else None
        rows.append({"topic": page["topic"], "text": page["text"], "infAP": infap,
                     "delta": delta, "pooled": [r["pooled"] for r in page["runs"]],
                     "relevant": page["relevant"],
                     "unpooled": sorted({e["shot"] for r in page["runs"] for e in r["shots"]
                                         if e["class"] == UNPOOLED}, key=natural_key)})
    return rows
