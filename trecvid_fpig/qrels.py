"""TRECVID sample_eval qrels: ``topic iteration shot stratum judgment`` a line.

judgment -1 means pooled but not sampled for judging, 0 judged not relevant, > 0 relevant
(graded values are allowed). Strata keep NIST's own string keys and order (``sort keys``),
because the estimator sums over them in that order and we reproduce it to the last bit.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path
from typing import Dict, List, Tuple, Union

from .columns import line_of_row, parse_numbers, split_columns
from .errors import InputError
from .textio import read_text

#: NIST's maximum result size: runs are cut there and it bounds the ideal DCG.
MAX_RESULT_SIZE = 1000


@dataclass(frozen=True)
class TopicJudgments:
    """One topic's judged pool, with the sampling estimates the estimator needs."""
    topic: str
    strata: Tuple[str, ...]                     # NIST's order: sorted as strings
    judgments: Dict[str, Tuple[int, float]]     # shot -> (stratum index, judgment)
    pooled: Tuple[int, ...]                     # N_s: shots in stratum s
    judged: Tuple[int, ...]                     # n_s: judged shots in s
    relevant: Tuple[int, ...]                   # r_s: relevant shots in s
    est_relevant: float                         # R-hat = sum_s r_s * N_s / n_s
    ideal_dcg: float

    def stratum_weight(self, s: int) -> float:
        """Estimated relevant shots in stratum s (0 when nothing in s was judged)."""
        if self.judged[s] == 0:
            return 0.0
        return self.relevant[s] * self.pooled[s] / self.judged[s]


@dataclass(frozen=True)
class Qrels:
    path: str
    topics: Dict[str, TopicJudgments]           # in NIST's order (sorted as strings)

    @property
    def est_relevant_total(self) -> float:
        """Sum of R-hat over every qrels topic (sample_eval's `all` inum_rel)."""
        total = 0.0
        for tj in self.topics.values():
            total += tj.est_relevant
        return total

    def as_binary_dict(self) -> Dict[str, Dict[str, int]]:
        """Judged shots only, relevance as an int: what trec_eval-style measures take."""
        return {t: {shot: int(grade > 0) for shot, (_, grade) in tj.judgments.items() if grade >= 0}
                for t, tj in self.topics.items()}


def _ideal_dcg(per_grade: Dict[str, float]) -> float:
    """Best DCG at depth 1000 from the estimated count of shots per grade.

    As the TRECVID sample_eval.pl does it: fractional counts are not rounded, and each further
    grade still adds one term after depth 1000 is reached.
    """
    best, start = 0.0, 0.0
    for grade in sorted(per_grade, reverse=True):
        count = per_grade[grade]
        r = start + 1
        while r <= start + count:
            best += float(grade) / (math.log(r + 1) / math.log(2))
            if r >= MAX_RESULT_SIZE:
                break
            r += 1
        start += count
    return best


def _topic_judgments(topic: str, shots: List[str], strata: List[str], grades: List[float],
                     grade_tokens: List[str]) -> TopicJudgments:
    keys = tuple(sorted(set(strata)))
    index = {k: i for i, k in enumerate(keys)}
    pooled = [0] * len(keys)
    judged = [0] * len(keys)
    relevant = [0] * len(keys)
    per_stratum_grade: List[Dict[str, int]] = [dict() for _ in keys]
    judgments = {}
    for shot, stratum, grade, token in zip(shots, strata, grades, grade_tokens):
        s = index[stratum]
        judgments[shot] = (s, grade)
        pooled[s] += 1
        if grade >= 0:
            judged[s] += 1
        if grade > 0:
            relevant[s] += 1
            per_stratum_grade[s][token] = per_stratum_grade[s].get(token, 0) + 1
    est = 0.0
    per_grade: Dict[str, float] = {}
    for s in range(len(keys)):
        if judged[s] != 0:
            est += relevant[s] * pooled[s] / judged[s]
        for token in sorted(per_stratum_grade[s]):
            per_grade[token] = per_grade.get(token, 0.0) + per_stratum_grade[s][token] * pooled[s] / judged[s]
    return TopicJudgments(topic, keys, judgments, tuple(pooled), tuple(judged), tuple(relevant),
                          est, _ideal_dcg(per_grade))


def parse_qrels(path: Union[str, Path]) -> Qrels:
    """Read a sample_eval qrels file (plain or .gz); every malformed line is an error naming it."""
    text = read_text(path, "qrels file")
    topics, _iters, shots, strata, judgments = split_columns(
        text, 5, path, "topic iteration shot stratum judgment")
    grades = parse_numbers(judgments, text, path, "judgment (column 5)").tolist()
    for row, grade in enumerate(grades):
        if grade < 0 and grade != -1:
            raise InputError(f"judgment must be -1 (unjudged), 0 or a positive grade, got "
                             f"{judgments[row]!r}", path, line_of_row(text, row))
    by_topic: Dict[str, List[int]] = {}
    for row, topic in enumerate(topics):
        by_topic.setdefault(topic, []).append(row)
    for topic, rows in by_topic.items():
        if len({shots[r] for r in rows}) != len(rows):
            _raise_duplicate(text, path, topic, [(r, shots[r]) for r in rows])
    result = {}
    for topic in sorted(by_topic):
        rows = by_topic[topic]
        result[topic] = _topic_judgments(topic, [shots[r] for r in rows], [strata[r] for r in rows],
                                         [grades[r] for r in rows], [judgments[r] for r in rows])
    return Qrels(str(path), result)


def _raise_duplicate(text: str, path, topic: str, rows) -> None:
    first: Dict[str, int] = {}
    for row, shot in rows:
        if shot in first:
            raise InputError(f"shot {shot} is judged twice for topic {topic} "
                             f"(first at line {line_of_row(text, first[shot])})", path, line_of_row(text, row))
        first[shot] = row
