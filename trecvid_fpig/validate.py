"""Checking a submission before it is sent, without qrels (TV24 and TV25 qrels are not public).

Every problem names its file and line: the topic set and id form, at most 1000 shots a topic,
repeated shots, shot id syntax, membership in the collection when its shot ids are given,
NIST's dropped V3C1 shots (for V3C1 topic sets), and the XML run attributes against the DTD's
values.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Dict, FrozenSet, List, Optional, Set, Tuple, Union

from .columns import ascii_float, is_whole_number, split_fields, text_lines
from .errors import InputError
from .nist_xml import ALLOWED, looks_like_xml, read_any_run
from .qrels import MAX_RESULT_SIZE
from .runs import SHOT_ID
from .textio import read_bytes
from .topics import TopicSet, qrels_topic_id

PathLike = Union[str, Path]


@dataclass(frozen=True)
class Problem:
    path: str
    line: Optional[int]
    message: str

    def __str__(self) -> str:
        return f"{self.path}:{self.line}: {self.message}" if self.line else f"{self.path}: {self.message}"


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

    The file is also read as ``score`` reads it, and a refusal there is a problem too unless its
    line already has one: a run that passes the check is never refused when scored.
    """
    problems = _file_problems(path, expect)
    try:
        read_any_run(path)
    except InputError as exc:
        if exc.line is None or all(p.line != exc.line for p in problems):
            problems.append(Problem(exc.path or str(path), exc.line, exc.reason))
            problems.sort(key=lambda p: (p.line is None, p.line or 0))
    return problems


def _file_problems(path: PathLike, expect: Expectations) -> List[Problem]:
    raw = read_bytes(path)
    if looks_like_xml(raw):
        return _check_xml(raw, str(path), expect)
    checker = _Checker(str(path), expect, qrels_topic_id)
    for lineno, line in enumerate(text_lines(raw.decode("utf-8", errors="replace")), 1):
        fields = split_fields(line)
        if not fields:
            continue
        if len(fields) != 6:
            checker.report(lineno, f"expected 6 fields (topic Q0 shot rank score tag), found {len(fields)}")
            continue
        try:
            ascii_float(fields[4])
        except ValueError:
            checker.report(lineno, f"score {fields[4]!r} is not a number (finite, in ASCII digits)")
        checker.item(fields[0], fields[2], lineno)
    return checker.finish()


def _check_xml(raw: bytes, path: str, expect: Expectations) -> List[Problem]:
    from xml.parsers import expat

    checker = _Checker(path, expect, str)
    parser = expat.ParserCreate()
    topic: List[str] = []

    def start(name: str, attrs: Dict[str, str]) -> None:
        line = parser.CurrentLineNumber
        if name == "videoAdhocSearchRunResult":
            for key, allowed in ALLOWED.items():
                if attrs.get(key) not in allowed:
                    checker.report(line, f"attribute {key}={attrs.get(key)!r} is not one NIST's DTD "
                                         f"allows ({'|'.join(allowed)})")
            for key in ("pid", "desc"):
                if not attrs.get(key, "").strip():
                    checker.report(line, f"attribute {key} is missing or empty")
        elif name == "videoAdhocSearchTopicResult":
            tnum = attrs.get("tNum", "")
            topic[:] = [str(int(tnum)) if is_whole_number(tnum) else tnum]
            if not is_whole_number(attrs.get("elapsedTime", "")):
                checker.report(line, f"elapsedTime must be whole seconds, got "
                                     f"{attrs.get('elapsedTime')!r}")
        elif name == "item":
            checker.item(topic[0] if topic else "?", attrs.get("shotId", ""), line)

    parser.StartElementHandler = start
    try:
        parser.Parse(raw, True)
    except expat.ExpatError as exc:
        checker.report(exc.lineno, f"not well-formed XML: {expat.errors.messages[exc.code]}")
        return checker.problems
    return checker.finish()


def read_id_list(path: PathLike) -> FrozenSet[str]:
    from .textio import read_text
    return frozenset(split_fields(read_text(path, "shot id list")))
