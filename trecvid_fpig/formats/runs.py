"""TREC run files: ``topic Q0 shot rank score tag`` a line, read and written.

Reading follows sample_eval.pl: the rank field is ignored, a shot repeated within a topic keeps
the score of its last line, and each topic is ordered by score descending, ties broken by shot
id descending as a string. Writing rounds scores so that re-reading gives the same order.
"""
from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Dict, Iterable, Iterator, List, Mapping, Optional, Sequence, Tuple, Union

import numpy as np

from ..base import arguments
from ..base.fields import (WHITESPACE, ascii_float, check_id_lengths, parse_numbers, split_columns,
                           split_fields, text_lines, topic_numbers)
from ..base.files import decode_text, read_text
from ..base.ids import check_shot_ids, id_problem, run_topic_key, topic_number
from ..base.outputs import atomic_write
from ..errors import InputError
from .avs_xml import AvsSubmission, looks_like_xml, parse_avs_xml, run_bytes
from .problems import Problem, refuse_first
from .qrels import MAX_RESULT_SIZE
from .topics import qrels_topic_id


@dataclass(frozen=True)
class TopicRanking:
    """One topic of a run, ranked as the evaluator ranks it (not cut at 1000)."""
    topic: str
    shots: Tuple[str, ...]
    scores: np.ndarray
    num_lines: int                # lines in the file, repeats included (sample_eval's num_ret)
    repeated: Tuple[str, ...]     # shots that appear on more than one line


@dataclass(frozen=True)
class Run:
    path: str
    tag: str
    topics: Dict[str, TopicRanking]   # numeric topic order, as sample_eval processes them

    @property
    def name(self) -> str:
        return self.tag or Path(self.path).name

    # The Python API's ways in and out; the scorer only reads `topics`.
    @classmethod
    def from_file(cls, path: Union[str, Path]) -> "Run":
        """A TREC run file, a NIST AVS XML submission, or ``-`` for standard input."""
        return read_any_run(arguments.path(path, "path"))

    @classmethod
    def from_dict(cls, scores: Mapping[str, Mapping[str, float]], tag: str = "run") -> "Run":
        """``{topic: {shot: score}}``, as ranx and ir_measures hold runs."""
        return run_from_dict(_checked_scores(scores), arguments.text(tag, "tag"))

    @classmethod
    def from_dataframe(cls, frame, tag: str = "run", topic: str = "topic", shot: str = "shot",
                       score: str = "score") -> "Run":
        """A DataFrame with one row a shot; ``query_id``/``doc_id`` columns are accepted too."""
        if not hasattr(frame, "columns"):
            raise arguments.refusal("frame", "a pandas DataFrame", frame)
        tag = arguments.text(tag, "tag")
        columns = list(frame.columns)
        topic = _frame_column(columns, arguments.text(topic, "topic"), "query_id")
        shot = _frame_column(columns, arguments.text(shot, "shot"), "doc_id")
        score = _frame_column(columns, arguments.text(score, "score"))
        for column in (topic, shot):
            missing = frame[column].isna().to_numpy().nonzero()[0]
            if missing.size:            # astype(str) would make the id 'nan' or 'None'
                raise InputError(f"row {int(missing[0])}: no {column} (an empty cell)",
                                 "<DataFrame>")
        return run_from_rows(frame[topic].astype(str).tolist(), frame[shot].astype(str).tolist(),
                             _frame_scores(frame[score], score), tag, "<DataFrame>")

    def to_dict(self) -> Dict[str, Dict[str, float]]:
        return run_to_dict(self)

    def to_dataframe(self):
        """Columns topic, shot, rank (from 1, NIST's order), score."""
        import pandas as pd
        rows = [(t, s, rank, v) for t, r in self.topics.items()
                for rank, (s, v) in enumerate(zip(r.shots, r.scores.tolist()), 1)]
        return pd.DataFrame(rows, columns=["topic", "shot", "rank", "score"])

    def to_trec(self, path: Union[str, Path], tag: Optional[str] = None,
                depth: Optional[int] = MAX_RESULT_SIZE) -> None:
        """Write a TREC run whose re-read ranking is this one (scores written exactly), the
        first `depth` shots a topic (all of them with ``None``)."""
        write_exact_run(arguments.path(path, "path"), self,
                        None if tag is None else arguments.text(tag, "tag"),
                        None if depth is None else arguments.integer(depth, "depth", minimum=1))

    def to_ranx(self):
        """A ``ranx.Run`` (needs ranx installed)."""
        from ranx import Run as RanxRun
        return RanxRun(self.to_dict(), name=self.name)

    def to_ir_measures(self) -> list:
        """``ir_measures.ScoredDoc(query_id, doc_id, score)`` tuples, in ranked order."""
        from ir_measures import ScoredDoc
        return [ScoredDoc(t, s, v) for t, r in self.topics.items()
                for s, v in zip(r.shots, r.scores.tolist())]


def _checked_scores(scores) -> Mapping[str, Mapping[str, float]]:
    """``{topic: {shot: score}}`` with a mapping a topic, shot ids as strings and real scores;
    anything else is refused naming the entry (a pandas Series iterates its values, not its ids)."""
    arguments.mapping(scores, "scores", "a {topic: {shot: score}} mapping")
    for topic, shots in scores.items():
        where = f"scores[{topic!r}]"
        arguments.mapping(shots, where, "a {shot: score} mapping (a dict; for a Series, its .to_dict())")
        for shot, value in shots.items():
            arguments.text(shot, f"a shot id in {where}")
            arguments.number(value, f"{where}[{shot!r}]")
    return scores


def _frame_column(columns, name: str, alternative: Optional[str] = None) -> str:
    """The column called `name`, or `alternative` (ir_measures' and ranx's name) when the frame
    has that instead; one held twice is refused (pandas would hand both out as one frame)."""
    for candidate in (name, alternative):
        if candidate is not None and candidate in columns:
            if columns.count(candidate) > 1:
                raise InputError(f"the DataFrame has {columns.count(candidate)} columns named "
                                 f"{candidate!r}: keep one")
            return candidate
    wanted = repr(name) + (f" (or {alternative!r})" if alternative else "")
    raise InputError(f"the DataFrame has no {wanted} column; it has "
                     f"{', '.join(map(repr, sorted(set(map(str, columns))))) or 'none'}")


def _frame_scores(column, name: str) -> List[float]:
    """A score column as floats; text or other objects are refused, not parsed."""
    values = column.to_numpy()
    if values.dtype.kind in "iuf":
        return values.astype(float).tolist()
    return [arguments.number(v, f"column {name!r}, row {row}") for row, v in enumerate(values.tolist())]


def rank_shots(shots: Sequence[str], scores: Sequence[float]) -> Tuple[Tuple[str, ...], np.ndarray]:
    """Order by score descending, then shot id descending as a string (NIST's tie rule)."""
    order = sorted(zip(scores, shots), reverse=True)
    return tuple(s for _, s in order), np.array([v for v, _ in order], dtype=np.float64)


#: The six columns, as errors name them.
RUN_LAYOUT = "topic Q0 shot rank score tag"
SCORE_FIELD = "score (column 5)"


def parse_run(path: Union[str, Path]) -> Run:
    """Read a six-column TREC run (plain or .gz); a malformed one is an error naming its first
    bad line (:func:`read_run_lines` lists them all).

    Vectorised: repeats are resolved and every topic ranked with two lexsorts over the whole file.
    """
    return parse_run_text(read_text(path, "run file"), path)


def parse_run_text(text: str, path: Union[str, Path]) -> Run:
    """:func:`parse_run` of a run's text, already read."""
    try:
        return _ranked_run(text, path)
    except InputError:
        refuse_first(read_run_lines(text, path)[1])
        raise


def read_run_lines(text: str, path: Union[str, Path]) -> Tuple[List[Tuple[int, str, str]], List[Problem]]:
    """The ``(line, topic, shot)`` of every line of a TREC run's text with six fields and a
    topic, and a problem for every line sample_eval.pl would misread or ``score`` refuses: the
    one line-by-line reading, which ``runs check`` lists in full and :func:`parse_run` names
    its first refusal by."""
    rows: List[Tuple[int, str, str]] = []
    problems: List[Problem] = []

    def report(error: InputError, line: int) -> None:
        problems.append(Problem(str(path), line, error.reason))

    if text[:1] in tuple(WHITESPACE):
        try:
            split_columns(text[:1], 6, path, RUN_LAYOUT)    # refused: it shifts every field
        except InputError as exc:
            report(exc, 1)
    for lineno, line in enumerate(text_lines(text), 1):
        fields = split_fields(line)
        if not fields:
            continue
        try:
            if len(fields) != 6:
                split_columns(line.lstrip(WHITESPACE), 6, path, RUN_LAYOUT)
            topic, _q0, shot, _rank, score, _tag = fields
            topic_number(topic)
        except InputError as exc:
            report(exc, lineno)
            continue
        rows.append((lineno, topic, shot))        # a bad shot or score still answers its topic
        try:
            check_id_lengths([shot], path, "shot id", line)
            _check_score(score, path)
        except InputError as exc:
            report(exc, lineno)
    return rows, problems


def _check_score(token: str, path: Union[str, Path]) -> None:
    """A score by the rule :func:`parse_run` reads scores with; a bad one is refused in its words."""
    try:
        ascii_float(token)
    except ValueError:
        parse_numbers([token], token, path, SCORE_FIELD)


def _ranked_run(text: str, path: Union[str, Path]) -> Run:
    topics, _q0, shots, _rank, score_tokens, tags = split_columns(text, 6, path, RUN_LAYOUT)
    numbers = topic_numbers(topics, text, path)
    check_id_lengths(shots, path, "shot id", text)
    # Topics are told apart by their text, as sample_eval.pl's hash keys are: '01667' is not
    # '1667' (a topic the qrels lack, so skipped). They are processed in numeric order.
    forms = sorted(numbers, key=lambda t: (numbers[t], t))
    scores = parse_numbers(score_tokens, text, path, SCORE_FIELD)
    return Run(str(path), tags[0], ranked_lines(topics, forms, shots, scores))


def ranked_lines(topics: Sequence[str], forms: Sequence[str], shots: Sequence[str],
                 scores: np.ndarray) -> Dict[str, TopicRanking]:
    """Each topic of a run's lines (one topic, shot and score a line) ranked as sample_eval.pl
    ranks it, topics in the order of `forms`: the one reading of repeats, for files and frames."""
    if not topics:
        return {}
    position = {t: i for i, t in enumerate(forms)}
    n = len(topics)
    topic_num = np.fromiter(map(position.__getitem__, topics), dtype=np.int64, count=n)
    shot_arr = np.array(shots)
    # a shot repeated within a topic keeps its last line: sort by (topic, shot, line), keep each group's last
    order = np.lexsort((np.arange(n), shot_arr, topic_num))
    same_next = (topic_num[order][1:] == topic_num[order][:-1]) & (shot_arr[order][1:] == shot_arr[order][:-1])
    keep = order[np.append(~same_next, True)]
    repeated_rows = order[:-1][same_next]
    # rank: topic ascending, then score descending, then shot id descending
    ranked = keep[np.lexsort((shot_arr[keep], scores[keep], -topic_num[keep]))[::-1]]
    ranked_topics = topic_num[ranked]
    edges = np.flatnonzero(ranked_topics[1:] != ranked_topics[:-1]) + 1
    lines_per_topic = dict(zip(*np.unique(topic_num, return_counts=True)))
    result: Dict[str, TopicRanking] = {}
    for a, b in zip([0, *edges.tolist()], [*edges.tolist(), len(ranked)]):
        number = int(ranked_topics[a])
        rows = ranked[a:b]
        repeated = tuple(dict.fromkeys(shot_arr[repeated_rows[topic_num[repeated_rows] == number]].tolist()))
        topic = forms[number]
        result[topic] = TopicRanking(topic, tuple(shot_arr[rows].tolist()), scores[rows],
                                     int(lines_per_topic[number]), repeated)
    return result


def format_score(score: float, decimals: int = 6) -> str:
    return f"{score:.{decimals}f}"


def check_tag(tag: str) -> None:
    """A run tag is the sixth column: one word, like a shot id."""
    if id_problem(tag):
        raise InputError(f"run tag must be one word without spaces, got {tag!r}")


def check_written_ids(topic: str, shots: Sequence[str]) -> None:
    """Before a topic's lines are written: its id and shot ids by the id rule, so that every
    line reads back as six columns (a space, newline or empty id would shift or forge one)."""
    topic_number(topic)
    check_shot_ids(shots, None, f"topic {topic}: shot id", rows=False)


def write_run(path: Union[str, Path], rankings: Iterable[Tuple[str, Sequence[str], Sequence[float]]],
              tag: str, decimals: int = 6) -> None:
    """Write `(topic, shots, scores)` triples atomically, ranks from 1, scores rounded to `decimals`.

    Rounding can create ties; shots are re-ranked on the rounded values with NIST's tie rule,
    so the file's order is exactly the order the evaluator will read back.
    """
    check_tag(tag)
    with atomic_write(path) as fh:
        for topic, shots, scores in rankings:
            check_written_ids(topic, shots)
            rounded = [float(format_score(s, decimals)) for s in scores]
            ranked, ranked_scores = rank_shots(shots, rounded)
            for rank, (shot, score) in enumerate(zip(ranked, ranked_scores), 1):
                fh.write(f"{topic} Q0 {shot} {rank} {format_score(score, decimals)} {tag}\n")


# --- building runs in memory, and handing them to other libraries (the Python API) ---------------

def exact_score(score: float) -> str:
    """The shortest decimal that reads back as the same float, never in exponent form.

    Fused scores (RRF sums) often differ below 1e-6, so a fixed number of decimals could tie
    shots that the fusion ranked apart; this form keeps re-reading's order the written order.
    """
    return np.format_float_positional(float(score), unique=True, trim="0")


def ranking_of(topic: str, scores: Dict[str, float], path: str = "<memory>") -> TopicRanking:
    """One topic from ``{shot: score}``, ranked with NIST's tie rule; shot ids by the id rule."""
    check_shot_ids(list(scores), path, f"topic {topic}: shot id", rows=False)
    shots, ranked = rank_shots(list(scores), [float(v) for v in scores.values()])
    if not np.isfinite(ranked).all():
        raise InputError(f"topic {topic}: every score must be a finite number")
    return TopicRanking(str(topic), shots, ranked, len(shots), ())


def run_from_dict(scores: Mapping[str, Mapping[str, float]], tag: str = "run",
                  path: str = "<memory>") -> Run:
    """A run from ``{topic: {shot: score}}`` (ranx's and ir_measures' run dict), topics in
    numeric order as the evaluator processes them.

    Topics are kept as written (``01661`` is not ``1661`` to ``sample_eval.pl``); two keys of
    the same number (``1661`` and ``01661``, or ``1661`` and the integer 1661) are refused,
    since they would be one topic to a reader of numbers and two to the evaluator.
    """
    return Run(path, tag, {key: ranking_of(key, scores[topic], path)
                           for key, topic in _topic_keys(scores, path)})


def run_from_rows(topics: Sequence[str], shots: Sequence[str], scores: Sequence[float],
                  tag: str, path: str) -> Run:
    """A run from rows of topic, shot and score (a DataFrame's), read as a run file's lines are
    (:func:`ranked_lines`: a repeated shot keeps its last score and is listed in `repeated`),
    so that scoring it and its file give the same numbers and warnings; topics are keyed as
    :func:`run_from_dict` keys them."""
    check_shot_ids(shots, path)
    scores = np.asarray(scores, dtype=np.float64)
    bad = np.flatnonzero(~np.isfinite(scores))
    if bad.size:
        raise InputError(f"row {int(bad[0])}: score {scores[bad[0]]} is not a finite number",
                         path)
    forms = [key for key, _ in _topic_keys(dict.fromkeys(topics), path)]
    return Run(path, tag, ranked_lines(topics, forms, shots, scores))


def _topic_keys(topics: Iterable, path: str) -> List[Tuple[str, object]]:
    """``(key as written, topic as given)`` of each topic, in numeric order; two of the same
    number are refused."""
    given: Dict[int, Tuple[str, object]] = {}
    for topic in topics:
        key = run_topic_key(topic, path)
        if int(key) in given:
            raise InputError(f"topics {given[int(key)][1]!r} and {topic!r} are the same topic "
                             f"number: give each topic once, as NIST writes it (1661)", path)
        given[int(key)] = (key, topic)
    return [given[number] for number in sorted(given)]


def run_to_dict(run: Run) -> Dict[str, Dict[str, float]]:
    """``{topic: {shot: score}}``, each topic in ranked order."""
    return {t: dict(zip(r.shots, r.scores.tolist())) for t, r in run.topics.items()}


def ranked_triples(run: Run) -> Iterator[Tuple[str, Tuple[str, ...], np.ndarray]]:
    return ((t, r.shots, r.scores) for t, r in run.topics.items())


def write_exact_run(path: Union[str, Path], run: Run, tag: Optional[str] = None,
                    depth: Optional[int] = MAX_RESULT_SIZE) -> None:
    """Write `run` in its ranked order with :func:`exact_score` scores, at most `depth` lines a topic."""
    tag = tag or run.tag
    check_tag(tag)
    with atomic_write(path) as fh:
        for topic, shots, scores in ranked_triples(run):
            check_written_ids(topic, shots[:depth])
            for rank, (shot, score) in enumerate(zip(shots[:depth], scores[:depth].tolist()), 1):
                fh.write(f"{topic} Q0 {shot} {rank} {exact_score(score)} {tag}\n")


def submission_run(submission: AvsSubmission, path: Union[str, Path], tag: str) -> Run:
    """The submission as a :class:`~trecvid_fpig.formats.runs.Run`: topic 661 becomes 1661, and the
    score of the shot at position i of n is n - i, so the order is exactly the XML's."""
    topics = {}
    for topic in sorted(submission.topics, key=lambda t: t.tnum):
        qid = qrels_topic_id(topic.tnum)
        counts = Counter(topic.shots)
        last = {shot: i for i, shot in enumerate(topic.shots)}      # a repeat keeps its last place
        kept = sorted(last, key=last.__getitem__)
        n = len(kept)
        topics[qid] = TopicRanking(qid, tuple(kept), np.arange(n, 0, -1, dtype=np.float64),
                                   len(topic.shots), tuple(s for s, c in counts.items() if c > 1))
    return Run(str(path), tag, topics)


def read_any_run(path: Union[str, Path]) -> Run:
    """A TREC run or an AVS XML submission (told apart by content); ``-`` reads standard input.
    The input is read once, so a pipe or ``<(cmd)`` works as a file does."""
    return run_from_bytes(run_bytes(path), path)


def run_from_bytes(raw: bytes, path: Union[str, Path]) -> Run:
    """:func:`read_any_run` of the bytes `path` held, already read (gunzipped, without a BOM)."""
    if looks_like_xml(raw):
        tag = "stdin" if str(path) == "-" else Path(path).name.split(".")[0]
        return submission_run(parse_avs_xml(raw, path), path, tag)
    return parse_run_text(decode_text(raw, path, "run file"), path)
