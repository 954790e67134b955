"""The submission rules, one set for both drivers: ``runs check`` (no qrels; TV24 and TV25
qrels are not public) lists every problem, ``score --strict`` reports the same ones.

A run file is read by the scoring readers (:func:`~trecvid_fpig.formats.runs.read_run_lines`,
:func:`~trecvid_fpig.formats.avs_xml.read_avs_xml`), which list what they refuse; its items are then
held to the rules, each problem naming its file and line: the topic set and id form, at most
1000 shots a topic, repeated shots, shot id syntax, membership in the collection when its shot
ids are given, NIST's dropped V3C1 shots (for V3C1 topic sets), and the XML run attributes
against the DTD's values.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Dict, FrozenSet, Iterable, List, Optional, Sequence, Tuple, Union

from ..base.fields import is_whole_number
from ..base.files import decode_text
from ..base.ids import topic_of_run_id
from ..errors import InputError
from ..formats import id_lists
from ..formats.avs_xml import (ALLOWED, MAX_ELAPSED_S, AvsSubmission, looks_like_xml, read_avs_xml,
                               run_bytes)
from ..formats.problems import Problem
from ..formats.qrels import MAX_RESULT_SIZE, SHOT_ID
from ..formats.runs import Run, read_run_lines
from ..formats.topics import TopicSet, qrels_topic_id

PathLike = Union[str, Path]
#: The rules plain ``score`` also warns about, as they change what is scored.
UNKNOWN_TOPIC, REPEATED_SHOT, OVER_LIMIT = "unknown topic", "repeated shot", "over the limit"
#: How NIST writes a topic in qrels and runs: 1 followed by the 3-digit topic number.
NIST_TOPIC_FORM = "1 + the 3-digit topic number, e.g. 1661 for topic 661"


@dataclass(frozen=True)
class Expectations:
    """What a valid run for this task looks like."""
    topics: TopicSet
    collection: Optional[FrozenSet[str]] = None    # shot ids of the collection, when known
    dropped: FrozenSet[str] = frozenset()          # shots NIST removed from the collection


@dataclass(frozen=True)
class SubmissionFile:
    """A run as its reader found it: the items ``(topic as written, shot, line)`` in file
    order, what the reader refused, and for XML the submission (its attributes and times)."""
    path: str
    items: Tuple[Tuple[str, str, Optional[int]], ...]
    problems: Tuple[Problem, ...]
    xml: Optional[AvsSubmission] = None
    readable: bool = True            # False: nothing to hold to the rules (empty, not XML, …)


def read_submission(path: PathLike) -> SubmissionFile:
    """The run file at `path` (TREC or XML, told apart by content) through the scoring readers."""
    try:
        raw = run_bytes(path)
        if looks_like_xml(raw):
            submission, problems = read_avs_xml(raw, path)
            items = [] if submission is None else [
                (str(t.tnum), shot, line) for t in submission.topics for line, shot in t.items]
            return SubmissionFile(str(path), tuple(items), tuple(problems), submission,
                                  submission is not None)
        rows, problems = read_run_lines(decode_text(raw, path, "run file"), path)
        return SubmissionFile(str(path), tuple((t, s, line) for line, t, s in rows), tuple(problems))
    except InputError as exc:
        return SubmissionFile(str(path), (), (Problem.of(exc, path),), readable=False)


def run_submission(run: Run) -> SubmissionFile:
    """A run read before (from standard input, or built in memory) as items without lines:
    each ranked shot once, and once more each shot the file repeated."""
    items = [(t, s, None) for t, r in run.topics.items() for s in (*r.shots, *r.repeated)]
    return SubmissionFile(run.path, tuple(items), ())


def meant_topic(topic: str, expected: Iterable[str]) -> str:
    """The expected topic a topic outside the set was probably meant to be (same number, as
    ``01675`` for 1675, or the short form 675), or ''."""
    if not topic.isascii() or not topic.isdigit():
        return ""
    number = int(topic)
    candidates = (str(number), f"1{number:03d}" if number < 1000 else "")
    expected = set(expected)
    return next((c for c in candidates if c and c != topic and c in expected), "")


class SubmissionRules:
    """The rules a submission is held to, item by item (topic, shot, line), for either format;
    `expected` are the topic ids in the file's own form (1661 in TREC runs, 661 in XML)."""

    def __init__(self, path: str, expected: Sequence[str], set_name: str,
                 collection: Optional[FrozenSet[str]] = None, dropped: FrozenSet[str] = frozenset(),
                 limit: int = MAX_RESULT_SIZE) -> None:
        self.path, self.expected, self.set_name = path, list(expected), set_name
        self.collection, self.dropped, self.limit = collection, dropped, limit
        self.seen: Dict[str, Dict[str, Optional[int]]] = {}
        self.problems: List[Problem] = []

    def report(self, line: Optional[int], message: str, rule: str = "") -> None:
        self.problems.append(Problem(self.path, line, message, rule))

    def check(self, submission: SubmissionFile) -> List[Problem]:
        """Every rule over `submission`, problems in file order (file-wide ones last)."""
        if submission.xml is not None:
            self.attributes(submission.xml)
        for topic, shot, line in submission.items:
            self.item(topic, shot, line)
        self.finish()
        return sorted(self.problems, key=lambda p: (p.line is None, p.line or 0))

    def attributes(self, xml: AvsSubmission) -> None:
        for key, allowed in ALLOWED.items():
            if xml.attributes.get(key) not in allowed:
                self.report(xml.line, f"attribute {key}={xml.attributes.get(key)!r} is not one "
                                      f"NIST's DTD allows ({'|'.join(allowed)})")
        for key in ("pid", "desc"):
            if not xml.attributes.get(key, "").strip():
                self.report(xml.line, f"attribute {key} is missing or empty")
        for topic in xml.topics:
            if not is_whole_number(topic.elapsed):
                self.report(topic.line, f"elapsedTime must be whole seconds, got {topic.elapsed[:40]!r}")
            elif (len(topic.elapsed.lstrip("0")) > len(str(MAX_ELAPSED_S))
                  or int(topic.elapsed) > MAX_ELAPSED_S):
                shown = topic.elapsed if len(topic.elapsed) <= 20 else f"of {len(topic.elapsed)} digits"
                self.report(topic.line, f"elapsedTime {shown} is past {MAX_ELAPSED_S:,} seconds "
                                        f"(a day's seconds x 1000)")

    def item(self, topic: str, shot: str, line: Optional[int]) -> None:
        if topic not in self.expected:
            if topic not in self.seen:
                meant = meant_topic(topic, self.expected)
                hint = (f"it has {meant}: NIST writes topics as {NIST_TOPIC_FORM}" if meant else
                        f"its ids look like {', '.join(self.expected[:3])}, …")
                self.report(line, f"topic {topic} is not in {self.set_name} ({hint})", UNKNOWN_TOPIC)
            self.seen.setdefault(topic, {})
            return
        shots = self.seen.setdefault(topic, {})
        if shot in shots:
            first = shots[shot]
            self.report(line, f"shot {shot} repeats " + (f"line {first} " if first else "")
                              + f"in topic {topic}", REPEATED_SHOT)
            return
        shots[shot] = line
        if len(shots) == self.limit + 1:
            self.report(line, f"topic {topic} has more than {self.limit} shots"
                              + (" from here on" if line else ""), OVER_LIMIT)
        if not SHOT_ID.match(shot):
            self.report(line, f"shot id {shot!r} is not of the form shotVVVVV_N")
        elif shot in self.dropped:
            self.report(line, f"shot {shot} is one NIST dropped from the collection")
        elif self.collection is not None and shot not in self.collection:
            self.report(line, f"shot {shot} is not in the collection")

    def finish(self) -> None:
        missing = [t for t in self.expected if t not in self.seen]
        if missing:
            self.report(None, f"{len(missing)} topic(s) of {self.set_name} missing: "
                              + ", ".join(missing))


def expected_topics(run_form_ids: Iterable[str], xml: bool) -> List[str]:
    """Topic ids as a run file writes them: NIST's run form (1661), or tNum (661) in XML."""
    if not xml:
        return list(run_form_ids)
    tnums = []
    for topic in run_form_ids:
        try:
            tnums.append(str(topic_of_run_id(topic)))
        except InputError:           # a qrels topic no tNum can name
            continue
    return tnums


def check_run_file(path: PathLike, expect: Expectations) -> List[Problem]:
    """Problems of a TREC run or an AVS XML submission (told apart by content), in file order.

    A file the scoring reader cannot read at all (empty, not UTF-8, not well-formed XML) is that
    one problem, not also every topic missing; otherwise what the reader refuses and what the
    rules find, all of it.
    """
    submission = read_submission(path)
    if not submission.readable:
        return list(submission.problems)
    topics = expected_topics(map(qrels_topic_id, expect.topics.ids), submission.xml is not None)
    rules = SubmissionRules(str(path), topics, expect.topics.name, expect.collection, expect.dropped)
    return sorted([*submission.problems, *rules.check(submission)],
                  key=lambda p: (p.line is None, p.line or 0))


def read_id_list(path: PathLike) -> FrozenSet[str]:
    """The shot ids of a ``--collection`` file, as a set (:func:`~trecvid_fpig.formats.id_lists.read_id_list`)."""
    return frozenset(id_lists.read_id_list(path))
