"""TRECVID sample_eval qrels: ``topic iteration shot stratum judgment`` a line.

judgment -1 means pooled but not sampled for judging, 0 judged not relevant, > 0 relevant
(graded values are allowed). Strata keep NIST's own string keys and order (``sort keys``),
because the estimator sums over them in that order and we reproduce it to the last bit.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from itertools import repeat
from pathlib import Path
from typing import Dict, List, Sequence, Tuple, Union

import numpy as np

from ..base import arguments
from ..base.fields import (check_id_lengths, gather, group_rows, line_of_row, parse_numbers,
                           split_columns, topic_numbers)
from ..base.files import read_text
from ..errors import InputError
from .topics import resolve_qrels

#: NIST's maximum result size: runs are cut there and it bounds the ideal DCG.
MAX_RESULT_SIZE = 1000
#: log2(r + 1) for r = 0..1000, as the script computes it (natural logs, then divided).
DISCOUNT = np.array([math.log(r + 1) / math.log(2) for r in range(MAX_RESULT_SIZE + 1)])


@dataclass(frozen=True)
class TopicJudgments:
    """One topic's judged pool, with the sampling estimates the estimator needs."""
    topic: str
    strata: Tuple[str, ...]                     # NIST's order: sorted as strings
    rows: Dict[str, int]                        # shot -> row of `stratum` and `grade`
    stratum: np.ndarray                         # per row: index into `strata`
    grade: np.ndarray                           # per row: -1 unjudged, 0 not relevant, > 0 relevant
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

    def lookup(self, shots: Sequence[str]) -> Tuple[np.ndarray, np.ndarray]:
        """(stratum index or -1 when not pooled, judgment or 0) of each shot."""
        rows = np.fromiter(map(self.rows.get, shots, repeat(-1)), dtype=np.int64, count=len(shots))
        pooled = rows >= 0
        return (np.where(pooled, self.stratum[rows], -1),
                np.where(pooled, self.grade[rows], 0.0))


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

    # The Python API's ways in and out; the estimator reads `topics`.
    @classmethod
    def from_file(cls, name_or_path: Union[str, Path]) -> "Qrels":
        """A shipped qrels by name (``tv21``, ``tv23``) or a sample_eval qrels file."""
        return load_qrels(name_or_path)

    def to_dataframe(self):
        """Columns topic, shot, stratum, judgment (-1 pooled but not judged), as in the file."""
        import pandas as pd
        rows = [(t, shot, tj.strata[tj.stratum[row]], float(tj.grade[row]))
                for t, tj in self.topics.items() for shot, row in tj.rows.items()]
        return pd.DataFrame(rows, columns=["topic", "shot", "stratum", "judgment"])

    def judged_dict(self) -> Dict[str, Dict[str, int]]:
        """Judged shots only, graded as in the file: what trec_eval-style tools take."""
        return {t: {shot: int(tj.grade[row]) for shot, row in tj.rows.items() if tj.grade[row] >= 0}
                for t, tj in self.topics.items()}

    def to_ranx(self):
        """A ``ranx.Qrels`` of the judged shots (needs ranx); use xinfAP for official numbers."""
        from ranx import Qrels as RanxQrels
        return RanxQrels(self.judged_dict(), name=self.path)

    def to_ir_measures(self) -> list:
        """``ir_measures.Qrel(query_id, doc_id, relevance)`` tuples of the judged shots."""
        from ir_measures import Qrel
        return [Qrel(t, shot, rel) for t, rels in self.judged_dict().items() for shot, rel in rels.items()]

    def as_binary_dict(self) -> Dict[str, Dict[str, int]]:
        """Judged shots only, relevance as an int: what trec_eval-style measures take."""
        return {t: {shot: int(tj.grade[row] > 0) for shot, row in tj.rows.items() if tj.grade[row] >= 0}
                for t, tj in self.topics.items()}


def _ideal_dcg(per_grade: Dict[str, float]) -> float:
    """Best DCG at depth 1000 from the estimated count of shots per grade.

    As the TRECVID sample_eval.pl does it: fractional counts are not rounded, and each further
    grade still adds one term after depth 1000 is reached. Terms are added one by one, in order.
    """
    best, start = 0.0, 0.0
    for grade in sorted(per_grade, reverse=True):
        count = per_grade[grade]
        stop = math.floor(start + count)             # last r with r <= start + count
        if start == int(start) and start < MAX_RESULT_SIZE:   # whole ranks: the table serves
            first = int(start) + 1
            last = min(stop, max(first, MAX_RESULT_SIZE))
            if last >= first:
                terms = float(grade) / DISCOUNT[first:last + 1]
                best = float(np.add.accumulate(np.concatenate(([best], terms)))[-1])
        else:                                        # after a fractional count, r is fractional
            r = start + 1
            while r <= start + count:
                best += float(grade) / (math.log(r + 1) / math.log(2))
                if r >= MAX_RESULT_SIZE:
                    break
                r += 1
        start += count
    return best


def _topic_judgments(topic: str, strata: Tuple[str, ...], stratum: np.ndarray, grade: np.ndarray,
                     shot_rows: Dict[str, int], relevant_tokens: List[str]) -> TopicJudgments:
    """Counts and estimates of one topic; `stratum` indexes `strata`, `relevant_tokens` are the
    judgment tokens of the relevant rows, in row order."""
    n = len(strata)
    pooled = np.bincount(stratum, minlength=n).tolist()
    judged = np.bincount(stratum[grade >= 0], minlength=n).tolist()
    relevant = np.bincount(stratum[grade > 0], minlength=n).tolist()
    est = 0.0
    for s in range(n):
        if judged[s] != 0:
            est += relevant[s] * pooled[s] / judged[s]
    relevant_strata = stratum[grade > 0].tolist()
    per_grade: Dict[str, float] = {}
    for s in range(n):
        in_s = [tok for tok, st in zip(relevant_tokens, relevant_strata) if st == s]
        for token in sorted(set(in_s)):
            per_grade[token] = per_grade.get(token, 0.0) + in_s.count(token) * pooled[s] / judged[s]
    return TopicJudgments(topic, strata, shot_rows, stratum, grade, tuple(pooled), tuple(judged),
                          tuple(relevant), est, _ideal_dcg(per_grade))


def load_qrels(qrels: Union[str, Path, Qrels]) -> Qrels:
    """``"tv21"``/``"tv23"`` (shipped), a qrels file, or a Qrels (returned as it is): the one
    loader that ``score``, the reports, ``fuse`` and the Python API call."""
    if isinstance(qrels, Qrels):
        return qrels
    return parse_qrels(resolve_qrels(arguments.path(
        qrels, "qrels", "a shipped qrels name (tv21), a qrels file's path or a Qrels")))


def parse_qrels(path: Union[str, Path]) -> Qrels:
    """Read a sample_eval qrels file (plain or .gz); every malformed line is an error naming it."""
    text = read_text(path, "qrels file")
    topics, _iters, shots, strata, judgments = split_columns(
        text, 5, path, "topic iteration shot stratum judgment")
    topic_numbers(topics, text, path)
    check_id_lengths(shots, path, "shot id", text)
    grades = parse_numbers(judgments, text, path, "judgment (column 5)", few_values=True)
    for row in np.flatnonzero((grades < 0) & (grades != -1)):
        raise InputError(f"judgment must be -1 (unjudged), 0 or a positive grade, got "
                         f"{judgments[row]!r}", path, line_of_row(text, int(row)))
    stratum_keys = sorted(set(strata))
    stratum_of = {k: i for i, k in enumerate(stratum_keys)}
    stratum_all = np.fromiter(map(stratum_of.__getitem__, strata), dtype=np.int64, count=len(strata))
    all_rows = np.arange(len(shots))
    result = {}
    groups = group_rows(topics)
    for topic in sorted(groups):
        rows = groups[topic]
        topic_shots = gather(shots, rows)
        shot_rows = dict(zip(topic_shots, range(len(topic_shots))))
        if len(shot_rows) != len(topic_shots):
            _raise_duplicate(text, path, topic, list(zip(all_rows[rows].tolist(), topic_shots)))
        present, local = np.unique(stratum_all[rows], return_inverse=True)
        grade = grades[rows]
        relevant_tokens = [judgments[r] for r in all_rows[rows][grade > 0].tolist()]
        result[topic] = _topic_judgments(topic, tuple(stratum_keys[i] for i in present),
                                         local.astype(np.int64), grade, shot_rows, relevant_tokens)
    return Qrels(str(path), result)


def _raise_duplicate(text: str, path, topic: str, rows) -> None:
    first: Dict[str, int] = {}
    for row, shot in rows:
        if shot in first:
            raise InputError(f"shot {shot} is judged twice for topic {topic} "
                             f"(first at line {line_of_row(text, first[shot])})", path, line_of_row(text, row))
        first[shot] = row
