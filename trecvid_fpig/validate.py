"""Checking a submission before it is sent, without qrels (TV24 and TV25 qrels are not public).

Every problem names its file and line: the topic set and id form, at most 1000 shots a topic,
repeated shots, shot id syntax, membership in the collection when its shot ids are given,
NIST's dropped V3C1 shots (for V3C1 topic sets), and the XML run attributes against the DTD's
values.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Dict, FrozenSet, List, Optional, Union

from .columns import is_whole_number, split_fields
from .errors import InputError
from .nist_xml import ALLOWED, looks_like_xml, read_avs_xml, run_bytes
from .problems import Problem
from .qrels import MAX_RESULT_SIZE
from .runs import SHOT_ID, read_run_lines
from .textio import read_text
from .topics import TopicSet, qrels_topic_id

PathLike = Union[str, Path]


@dataclass(frozen=True)
class Expectations:
    """What a valid run for this task looks like."""
    topics: TopicSet
    collection: Optional[FrozenSet[str]] = None    # shot ids of the collection, when known
    dropped: FrozenSet[str] = frozenset()          # shots NIST removed from the collection


class _Checker:
    """Collects problems item by item (topic, shot, line) for either file format."""

    def __init__(self, path: str, expect: Expectations, topic_of) -> None:
        self.path, self.expect, self.topic_of = path, expect, topic_of
        self.valid = {topic_of(i): i for i in expect.topics.ids}
        self.seen: Dict[str, Dict[str, int]] = {}
        self.problems: List[Problem] = []

    def report(self, line: Optional[int], message: str) -> None:
        self.problems.append(Problem(self.path, line, message))

    def item(self, topic: str, shot: str, line: int) -> None:
        if topic not in self.valid:
            if topic not in self.seen:
                form = ", ".join(list(self.valid)[:3])
                self.report(line, f"topic {topic} is not in {self.expect.topics.name} "
                                  f"(its ids look like {form}, …)")
            self.seen.setdefault(topic, {})
            return
        shots = self.seen.setdefault(topic, {})
        if shot in shots:
            self.report(line, f"shot {shot} repeats line {shots[shot]} in topic {topic}")
            return
        shots[shot] = line
        if len(shots) == MAX_RESULT_SIZE + 1:
            self.report(line, f"topic {topic} has more than {MAX_RESULT_SIZE} shots from here on")
        if not SHOT_ID.match(shot):
            self.report(line, f"shot id {shot!r} is not of the form shotVVVVV_N")
        elif shot in self.expect.dropped:
            self.report(line, f"shot {shot} is one NIST dropped from the collection")
        elif self.expect.collection is not None and shot not in self.expect.collection:
            self.report(line, f"shot {shot} is not in the collection")

    def finish(self) -> List[Problem]:
        missing = [t for t in self.valid if t not in self.seen]
        if missing:
            self.report(None, f"{len(missing)} topic(s) of {self.expect.topics.name} missing: "
                              + ", ".join(missing))
        return self.problems


def check_run_file(path: PathLike, expect: Expectations) -> List[Problem]:
    """Problems of a TREC run or an AVS XML submission (told apart by content), in file order.

    The file is read by the reader ``score`` uses, which lists every line it refuses, and then
    held to the submission rules; a file that cannot be read at all (empty, not UTF-8, not
    well-formed XML) is that one problem, not also every topic missing.
    """
    try:
        raw = run_bytes(path)
        if looks_like_xml(raw):
            problems = _check_xml(raw, str(path), expect)
        else:
            rows, problems = read_run_lines(read_text(path, "run file"), path)
            checker = _Checker(str(path), expect, qrels_topic_id)
            for line, topic, shot in rows:
                checker.item(topic, shot, line)
            problems += checker.finish()
    except InputError as exc:
        return [Problem.of(exc, path)]
    return sorted(problems, key=lambda p: (p.line is None, p.line or 0))


def _check_xml(raw: bytes, path: str, expect: Expectations) -> List[Problem]:
    submission, problems = read_avs_xml(raw, path)
    if submission is None:
        return problems
    checker = _Checker(path, expect, str)
    attrs = submission.attributes
    for key, allowed in ALLOWED.items():
        if attrs.get(key) not in allowed:
            checker.report(submission.line, f"attribute {key}={attrs.get(key)!r} is not one NIST's "
                                            f"DTD allows ({'|'.join(allowed)})")
    for key in ("pid", "desc"):
        if not attrs.get(key, "").strip():
            checker.report(submission.line, f"attribute {key} is missing or empty")
    for topic in submission.topics:
        if not is_whole_number(topic.elapsed):
            checker.report(topic.line, f"elapsedTime must be whole seconds, got {topic.elapsed!r}")
        for line, shot in topic.items:
            checker.item(str(topic.tnum), shot, line)
    return problems + checker.finish()


def read_id_list(path: PathLike) -> FrozenSet[str]:
    return frozenset(split_fields(read_text(path, "shot id list")))
