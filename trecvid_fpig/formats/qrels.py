"""TRECVID sample_eval qrels: ``topic iteration shot stratum judgment`` a line.

judgment -1 means pooled but not sampled for judging, 0 judged not relevant, > 0 relevant
(graded values are allowed). Strata keep NIST's own string keys and order (``sort keys``),
because the estimator sums over them in that order and we reproduce it to the last bit.
"""
from __future__ import annotations

import json
import math
import re
import warnings
from dataclasses import dataclass, replace
from itertools import repeat
from pathlib import Path
from typing import Dict, List, Optional, Sequence, Tuple, Union

import numpy as np

from ..base import arguments
from ..base.fields import (check_id_lengths, gather, group_rows, line_of_row, parse_numbers,
                           split_columns, topic_numbers)
from ..base.files import UTF8_BOM, decode_text, file_sha256, read_bytes, read_text
from ..base.ids import topic_number
from ..base.locks import output_lock
from ..base.outputs import atomic_write, commit_file_set, staging_directory
from ..errors import InputError, InputWarning
from .topics import resolve_qrels

#: NIST's maximum result size: runs are cut there and it bounds the ideal DCG.
MAX_RESULT_SIZE = 1000
#: log2(r + 1) for r = 0..1000, as the script computes it (natural logs, then divided).
DISCOUNT = np.array([math.log(r + 1) / math.log(2) for r in range(MAX_RESULT_SIZE + 1)])
#: A V3C shot id as NIST's runs and qrels write it (video number, shot number from 1).
SHOT_ID = re.compile(r"shot\d{5}_[1-9]\d*\Z", re.ASCII)
#: The columns of ``qrels todo``'s list of shots to judge (its header line).
TODO_COLUMNS = ("topic", "shot", "best_rank", "runs")


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
    relevant_tokens: Tuple[str, ...] = ()       # the file's judgment text of each relevant row

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
class ExtraJudgments:
    """A team's own judgments of shots NIST never pooled, read from one file (see
    :func:`read_extra_judgments`): each topic's shots in file order, judged 0 or 1."""
    path: str
    sha256: str
    topics: Dict[str, Dict[str, int]]
    lines: Dict[Tuple[str, str], int]           # (topic, shot) -> its line, for errors


@dataclass(frozen=True)
class ExtraRecord:
    """Where the extra stratum of a qrels came from, so that a number made with it says so: the
    base qrels as given (``tv21`` or a path) and its sha256, each extra file (path as given,
    sha256) and the stratum. :meth:`Qrels.merge` makes it; ``qrels merge`` writes it in the
    sidecar beside its output, and :func:`load_qrels` reads it back from there."""
    base: str
    files: Tuple[Tuple[str, str], ...]
    stratum: str
    base_sha256: str

    def listed(self) -> List[Dict[str, str]]:
        """The extra files as JSON outputs and ``DataFrame.attrs`` list them."""
        return [{"path": path, "sha256": sha256} for path, sha256 in self.files]


@dataclass(frozen=True)
class Qrels:
    path: str
    topics: Dict[str, TopicJudgments]           # in NIST's order (sorted as strings)
    #: judgments merged in by :meth:`merge`, in order, and the stratum they form
    extras: Tuple[ExtraJudgments, ...] = ()
    extra_stratum: Optional[str] = None
    #: set when the qrels hold extra judgments: merged in memory or read from a merged file
    extra_record: Optional[ExtraRecord] = None

    def merge(self, *extra: Union[str, Path, ExtraJudgments]) -> "Qrels":
        """These qrels with extra judgments (files, or :class:`ExtraJudgments`) as one new,
        fully judged stratum: the next stratum number after the largest here. What ``qrels
        merge`` writes, read back, is this; infAP stays NIST's estimator, one stratum more."""
        return self._merged(extra, self.path)

    def _merged(self, extra: Sequence[Union[str, Path, ExtraJudgments]], base: str) -> "Qrels":
        if not extra:                      # merging nothing is no merge, even into merged qrels
            return self
        if self.extra_record is not None:
            raise InputError(f"these qrels already hold extra judgments (stratum "
                             f"{self.extra_stratum}, merged into {self.extra_record.base}): "
                             f"merge every file into {self.extra_record.base} at once", self.path)
        read = tuple(e if isinstance(e, ExtraJudgments) else read_extra_judgments(e, self)
                     for e in extra)
        key = next_stratum(self)
        judged = _extra_rows(read)
        topics = dict(self.topics)
        for topic, shots in judged.items():
            topics[topic] = _with_stratum(topics[topic], key, shots)
        record = ExtraRecord(base, tuple((e.path, e.sha256) for e in read), key,
                             file_sha256(self.path, "qrels file"))
        return Qrels(self.path, topics, read, key, record)

    def without_extra(self) -> "Qrels":
        """These qrels as NIST judged them: less the extra stratum (of :meth:`merge`, or of a
        ``qrels merge`` file read back), each topic as parsing the base file gives it."""
        if self.extra_stratum is None:
            return self
        topics = {topic: _without_stratum(tj, self.extra_stratum) for topic, tj in
                  self.topics.items()}
        return Qrels(self.path, topics)

    def extra_lines(self) -> str:
        """The merged judgments as qrels lines (``topic 0 shot stratum judgment``), in the order
        :meth:`merge` adds them: what follows the base file in a merged qrels file."""
        return "".join(f"{topic} 0 {shot} {self.extra_stratum} {value}\n"
                       for topic, shots in _extra_rows(self.extras).items()
                       for shot, value in shots.items())

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
                          tuple(relevant), est, _ideal_dcg(per_grade), tuple(relevant_tokens))


def load_qrels(qrels: Union[str, Path, Qrels],
               extra: Sequence[Union[str, Path, ExtraJudgments]] = ()) -> Qrels:
    """A year's name (``"tv21"``, ``"tv23"`` ship; ``"tv19"`` … after ``qrels fetch``), a qrels
    file, or a Qrels (returned as it is): the one loader that ``score``, the reports, ``fuse``
    and the Python API call. `extra` judgment files are merged in as one new stratum
    (:meth:`Qrels.merge`)."""
    extra = arguments.items(extra, "extra", "a list of extra-judgment files",
                            lambda v: isinstance(v, (str, Path, ExtraJudgments)))
    for i, e in enumerate(extra):
        if not isinstance(e, ExtraJudgments):
            arguments.path(e, f"extra[{i}]", "an extra-judgment file's path")
    if isinstance(qrels, Qrels):
        return qrels.merge(*extra) if extra else qrels
    spec = str(arguments.path(qrels, "qrels", "a shipped qrels name (tv21), a qrels file's "
                                             "path or a Qrels"))
    path = resolve_qrels(spec)
    parsed = parse_qrels(path)
    record = merged_record(path)
    if record is not None:
        parsed = replace(parsed, extra_stratum=record.stratum, extra_record=record)
    return parsed._merged(extra, spec) if extra else parsed


def sidecar_path(path: Union[str, Path]) -> Path:
    """``FILE`` -> ``FILE.json``: where a qrels file's record lives (fetched or merged)."""
    path = Path(path)
    return path.with_name(path.name + ".json")


def read_sidecar(path: Union[str, Path]) -> Optional[dict]:
    """The JSON object in `path`'s sidecar; None when there is none, or it is not a JSON object
    (a damaged sidecar describes nothing: the caller reads the file as plain qrels)."""
    side = sidecar_path(path)
    if not side.is_file():
        return None
    try:
        info = json.loads(read_text(side, "qrels sidecar"))
    except (InputError, ValueError):
        return None
    return info if isinstance(info, dict) else None


#: What the sidecar of a ``qrels merge`` output says wrote it.
MERGED_BY = "fpig-trecvid qrels merge"


def write_merged_qrels(merged: Qrels, out: Union[str, Path]) -> Path:
    """Write `merged` (:meth:`Qrels.merge` of a qrels file) as ``qrels merge`` does: the base
    file's text verbatim, then the extra stratum's lines; and beside it ``OUT.json``, recording
    the base (as given, with its sha256), each extra file's path and sha256, the stratum and
    the output's sha256. The pair is committed as one unit, the sidecar last, so a sidecar is
    never beside a file it does not describe."""
    record = merged.extra_record
    target = Path(out)
    text = read_text(merged.path, "qrels file")
    side = sidecar_path(target).name
    with output_lock(target), staging_directory(target.parent) as stage:
        with atomic_write(stage / target.name) as fh:
            fh.write(text + ("" if text.endswith("\n") else "\n") + merged.extra_lines())
        sidecar = {"written_by": MERGED_BY, "stratum": record.stratum,
                   "base": {"qrels": record.base, "sha256": record.base_sha256},
                   "extra_qrels": record.listed(),
                   "sha256": file_sha256(stage / target.name)}
        with atomic_write(stage / side) as fh:
            fh.write(json.dumps(sidecar, indent=2, sort_keys=True) + "\n")
        commit_file_set(stage, target.parent, side, [target.name])
    return target


def merged_record(path: Union[str, Path]) -> Optional[ExtraRecord]:
    """The record of the ``qrels merge`` sidecar beside `path`, when there is one and `path` is
    the file it describes (sha256). A sidecar that does not describe the file is one warning,
    and the file reads as plain qrels; a file without a sidecar is plain qrels."""
    side = sidecar_path(path)
    info = read_sidecar(path)
    if info is None or info.get("written_by") != MERGED_BY:
        return None
    try:
        record = ExtraRecord(str(info["base"]["qrels"]),
                             tuple((str(e["path"]), str(e["sha256"])) for e in info["extra_qrels"]),
                             str(info["stratum"]), str(info["base"]["sha256"]))
    except (KeyError, TypeError):
        record = None
    if record is None or info.get("sha256") != file_sha256(path, "qrels file"):
        warnings.warn(InputWarning(
            f"{path}: does not match its sidecar {side.name}, which records a 'qrels merge' with "
            f"extra judgments (the file was edited since, or the sidecar is damaged): read as "
            f"plain qrels, so scores made with it are not marked 'with extra judgments'"))
        return None
    return record


def next_stratum(qrels: Qrels) -> str:
    """The stratum number after the largest of `qrels` (NIST numbers its strata 1, 2, …)."""
    numbers = [int(k) for tj in qrels.topics.values() for k in tj.strata if k.isascii() and k.isdigit()]
    return str(max(numbers, default=0) + 1)


def read_extra_judgments(path: Union[str, Path], qrels: Qrels) -> ExtraJudgments:
    """An extra-judgments file: ``topic shot judgment`` a line, whitespace-separated, the topic
    as the qrels write it (``1661``), 1 relevant and 0 not, ``#`` starting a comment.

    Every judgment is of a shot NIST never pooled for its topic: judging a pooled shot, even a
    ``-1`` one (pooled, not sampled), would bias the random sample of its stratum. A bad line is
    one error naming the file and the line.
    """
    raw = read_bytes(path)
    if raw.startswith(UTF8_BOM):
        raise InputError("the file starts with a byte order mark (BOM): save it as UTF-8 "
                         "without one", path, 1)
    text = decode_text(raw, path, "judgments file")
    topics: Dict[str, Dict[str, int]] = {}
    lines: Dict[Tuple[str, str], int] = {}
    for number, line in enumerate(text.split("\n"), 1):
        if line.endswith("\r"):
            raise InputError("the line ends in CRLF (Windows line endings): save the file with "
                             "LF line endings", path, number)
        fields = line.split("#", 1)[0].split()
        if not fields:
            continue
        if tuple(fields) == TODO_COLUMNS:
            raise InputError("this is the list 'qrels todo' writes, not judgments: write "
                             "'topic shot 1' (relevant) or 'topic shot 0' a line for the shots "
                             "you judged (cut -f1,2 of the list, then the judgment)", path, number)
        if len(fields) != 3:
            qrels_line = ("; that is a qrels line (topic iteration shot stratum judgment): "
                          "write 'topic shot judgment', the merge numbers the stratum"
                          if len(fields) == 5 else "")
            raise InputError(f"expected 3 whitespace-separated fields (topic shot judgment), "
                             f"found {len(fields)}: {line.strip()[:80]!r}{qrels_line}", path, number)
        topic, shot, value = fields
        topic_number(topic, path, number)
        if topic not in qrels.topics:
            raise InputError(f"topic {topic} is not in the qrels {qrels.path}", path, number)
        if not SHOT_ID.match(shot):
            raise InputError(f"{shot[:40]!r} is not a shot id (shotVVVVV_N, as the qrels write "
                             "them)", path, number)
        if value not in ("0", "1"):
            raise InputError(f"judgment must be 1 (relevant) or 0 (not relevant), got "
                             f"{value[:20]!r}", path, number)
        if shot in qrels.topics[topic].rows:
            _raise_pooled(qrels, topic, shot, path, number)
        if (topic, shot) in lines:
            raise InputError(f"shot {shot} of topic {topic} is judged twice (first at line "
                             f"{lines[topic, shot]})", path, number)
        topics.setdefault(topic, {})[shot] = int(value)
        lines[topic, shot] = number
    if not topics:
        raise InputError("no judgments in the file (only comments or blank lines)", path)
    return ExtraJudgments(str(path), file_sha256(path), topics, lines)


def _raise_pooled(qrels: Qrels, topic: str, shot: str, path, line: int) -> None:
    tj = qrels.topics[topic]
    row = tj.rows[shot]
    grade = float(tj.grade[row])
    how = ("NIST judged it" if grade >= 0 else
           "pooled but not sampled (-1): judging only the sampled-out shots your runs found would "
           "bias that stratum's random sample")
    raise InputError(f"shot {shot} is in NIST's pool for topic {topic}, stratum "
                     f"{tj.strata[tj.stratum[row]]} ({how}); extra judgments are of shots NIST "
                     "never pooled", path, line)


def _extra_rows(extras: Sequence[ExtraJudgments]) -> Dict[str, Dict[str, int]]:
    """Every topic's extra judgments in numeric topic order, then file and line order; a shot
    judged the same in two files counts once, judged differently is an error."""
    merged: Dict[str, Dict[str, int]] = {}
    first: Dict[Tuple[str, str], ExtraJudgments] = {}
    for extra in extras:
        for topic, shots in extra.topics.items():
            for shot, value in shots.items():
                seen = first.get((topic, shot))
                if seen is not None and seen.topics[topic][shot] != value:
                    raise InputError(
                        f"shot {shot} of topic {topic} is judged {value} here and "
                        f"{seen.topics[topic][shot]} in {seen.path}:{seen.lines[topic, shot]}",
                        extra.path, extra.lines[topic, shot])
                first.setdefault((topic, shot), extra)
                merged.setdefault(topic, {}).setdefault(shot, value)
    return {t: merged[t] for t in sorted(merged, key=int)}


def _with_stratum(tj: TopicJudgments, key: str, judged: Dict[str, int]) -> TopicJudgments:
    """`tj` with `judged` as one more stratum, rows after its own: as parse_qrels reads a file
    whose extra lines follow the base's."""
    strata = tuple(sorted(set(tj.strata) | {key}))
    remap = np.array([strata.index(k) for k in tj.strata], dtype=np.int64)
    shots = list(judged)
    stratum = np.concatenate([remap[tj.stratum], np.full(len(shots), strata.index(key), np.int64)])
    grade = np.concatenate([tj.grade, np.array([judged[s] for s in shots], dtype=tj.grade.dtype)])
    rows = dict(tj.rows)
    rows.update({shot: len(tj.rows) + i for i, shot in enumerate(shots)})
    tokens = list(tj.relevant_tokens) + [str(judged[s]) for s in shots if judged[s] > 0]
    return _topic_judgments(tj.topic, strata, stratum, grade, rows, tokens)


def _without_stratum(tj: TopicJudgments, key: str) -> TopicJudgments:
    """`tj` less stratum `key`, whose rows follow its own (the undoing of :func:`_with_stratum`)."""
    if key not in tj.strata:
        return tj
    gone = tj.strata.index(key)
    keep = tj.stratum != gone
    strata = tuple(k for k in tj.strata if k != key)
    stratum = tj.stratum[keep] - (tj.stratum[keep] > gone)
    shots = [shot for shot, row in sorted(tj.rows.items(), key=lambda item: item[1])
             if keep[row]]
    relevant_kept = keep[tj.grade > 0]
    tokens = [t for t, kept in zip(tj.relevant_tokens, relevant_kept) if kept]
    return _topic_judgments(tj.topic, strata, stratum, tj.grade[keep],
                            {shot: i for i, shot in enumerate(shots)}, tokens)


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
