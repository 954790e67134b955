"""NIST's AVS submission XML (``videoAdhocSearchResults``), written from a ranked run.

One ``videoAdhocSearchRunResult`` holds the run's attributes (training type, class, task,
novelty, participant id, priority, description); one ``videoAdhocSearchTopicResult`` per topic
holds ``tNum`` (the topic number, e.g. 661), ``elapsedTime`` in whole seconds (NIST's checker
parses it as an integer), and the shots as ``item seqNum shotId``, best first.
"""
from __future__ import annotations

import math
import re
from collections import Counter
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Dict, List, Mapping, Optional, Sequence, Tuple, Union

from ..base.fields import is_whole_number
from ..base.files import UTF8_BOM
from ..base.ids import check_shot_ids, nist_topic_number, shot_id
from ..base.outputs import atomic_write
from ..errors import InputError
from .problems import Problem, refuse_first
from .qrels import MAX_RESULT_SIZE

DOCTYPE = ('<!DOCTYPE videoAdhocSearchResults SYSTEM '
           '"https://www-nlpir.nist.gov/projects/tv2019/dtds/videoAdhocSearchResults.dtd">')

#: Values NIST's DTD and guidelines allow for the constrained run attributes. trType, the
#: training data: A IACC only, D any other, E collected automatically from the query text,
#: F collected automatically from a query built manually from it.
ALLOWED: Dict[str, Tuple[str, ...]] = {
    "trType": ("A", "D", "E", "F"),
    "class": ("F", "M", "R"),         # fully automatic, manually assisted, relevance feedback
    "task": ("M", "P"),               # main task, progress subtask
    "novelty": ("C", "N"),            # common run, novelty run
    "priority": tuple(str(i) for i in range(1, 11)),
}


@dataclass(frozen=True)
class RunAttributes:
    """The ``videoAdhocSearchRunResult`` attributes, under NIST's own names."""
    pid: str
    desc: str
    trType: str = "D"
    class_: str = "F"
    task: str = "M"
    novelty: str = "C"
    priority: str = "1"

    def items(self) -> Tuple[Tuple[str, str], ...]:
        order = ("trType", "class_", "task", "novelty", "pid", "priority", "desc")
        return tuple((name.rstrip("_"), getattr(self, name)) for name in order)


#: Characters XML 1.0 cannot hold at all, not even escaped (C0 controls but tab/newline/CR,
#: lone surrogates, U+FFFE and U+FFFF).
_NOT_XML = re.compile("[^\t\n\r\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")
#: Markup characters, and the white space an attribute value would lose to normalisation.
_ESCAPES = {"&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&apos;",
            "\t": "&#9;", "\n": "&#10;", "\r": "&#13;"}
_TO_ESCAPE = re.compile("[&<>\"'\t\n\r]")


def xml_attribute(value: str, what: str) -> str:
    """`value` escaped for a double-quoted XML attribute; a character XML cannot hold is refused."""
    bad = _NOT_XML.search(value)
    if bad:
        raise InputError(f"{what} {value[:60]!r} holds {bad.group()!r} (U+{ord(bad.group()):04X}) "
                         f"at position {bad.start()}, a character XML 1.0 cannot hold")
    return _TO_ESCAPE.sub(lambda m: _ESCAPES[m.group()], value)


def run_attributes(overrides: Mapping[str, str], pid: str, desc: str, task: str) -> RunAttributes:
    """Defaults for this run, with ``KEY=VALUE`` overrides under NIST's attribute names."""
    known = {f.name.rstrip("_"): f.name for f in fields(RunAttributes)}
    values = {"pid": pid, "desc": desc, "task": task}
    for key, value in overrides.items():
        if key not in known:
            raise InputError(f"unknown XML run attribute {key!r}: expected one of "
                             f"{', '.join(sorted(known))}")
        values[key] = value
    for key, allowed in ALLOWED.items():
        if key in values and values[key] not in allowed:
            raise InputError(f"XML attribute {key}={values[key]!r} is not one NIST accepts "
                             f"({'|'.join(allowed)})")
    if not values["pid"].strip():
        raise InputError("XML attribute pid (participant id) must not be empty")
    for key, value in values.items():
        xml_attribute(value, f"XML attribute {key}")
    return RunAttributes(**{known[k]: v for k, v in values.items()})


#: The largest ``elapsedTime`` written: a day's seconds x 1000, far past any real search of one
#: topic, and a bound that keeps the attribute a short whole number NIST's checker reads.
MAX_ELAPSED_S = 86_400 * 1000


def elapsed_seconds(seconds: float) -> int:
    """Whole seconds for ``elapsedTime``, rounded up and at least 1; NaN, infinity, a negative
    time or one past :data:`MAX_ELAPSED_S` is refused."""
    if not 0 <= seconds <= MAX_ELAPSED_S:       # False for NaN too
        raise InputError(f"elapsedTime must be 0 to {MAX_ELAPSED_S:,} seconds (a day's seconds "
                         f"x 1000), got {seconds!r}")
    return max(1, math.ceil(seconds))


def write_avs_xml(path: Union[str, Path], attributes: RunAttributes,
                  topics: Sequence[Tuple[int, int, Sequence[str]]]) -> None:
    """`topics` are ``(tNum, elapsed whole seconds, shots best first)``; written atomically.
    Topic numbers and shot ids are checked by the id rule first, so the file reads back, and a
    topic of more than 1000 shots or a repeated shot (an invalid submission) is refused: the
    callers cut with :func:`submission_shots`, saying what they left out."""
    attrs = " ".join(f'{name}="{xml_attribute(value, "XML attribute " + name)}"'
                     for name, value in attributes.items())
    for tnum, elapsed, shots in topics:
        nist_topic_number(str(tnum))
        elapsed_seconds(elapsed)
        check_shot_ids(shots, None, f"topic {tnum}: shot id", rows=False)
        if len(shots) > MAX_RESULT_SIZE:
            raise InputError(f"topic {tnum}: {len(shots)} shots, a submission holds at most "
                             f"{MAX_RESULT_SIZE} a topic")
        if len(set(shots)) != len(shots):
            repeated = next(s for s, n in Counter(shots).items() if n > 1)
            raise InputError(f"topic {tnum}: shot {repeated} is given twice; a submission "
                             f"names each shot once")
    with atomic_write(path) as fh:
        fh.write('<?xml version="1.0" encoding="UTF-8"?>\n')
        fh.write(DOCTYPE + "\n")
        fh.write("<videoAdhocSearchResults>\n")
        fh.write(f"<videoAdhocSearchRunResult {attrs}>\n")
        for tnum, elapsed, shots in topics:
            fh.write(f'<videoAdhocSearchTopicResult tNum="{int(tnum)}" '
                     f'elapsedTime="{elapsed_seconds(elapsed)}">\n')
            for seq, shot in enumerate(shots, 1):
                fh.write(f'<item seqNum="{seq}" shotId="{xml_attribute(shot, "shot id")}"/>\n')
            fh.write("</videoAdhocSearchTopicResult>\n")
        fh.write("</videoAdhocSearchRunResult>\n")
        fh.write("</videoAdhocSearchResults>\n")


def submission_shots(shots: Sequence[str]) -> Tuple[Tuple[str, ...], int]:
    """The first 1000 of a topic's ranked shots, as NIST's scorer reads them (what a submission
    may hold), and how many were cut."""
    return tuple(shots[:MAX_RESULT_SIZE]), max(0, len(shots) - MAX_RESULT_SIZE)


# --- reading a submission back ------------------------------------------------------------------

#: Digits of the largest seqNum read: ranks far past NIST's 1000, and int() of a few thousand
#: digits raises (Python's int_max_str_digits).
MAX_SEQ_DIGITS = 9


@dataclass(frozen=True)
class XmlTopic:
    tnum: int
    elapsed: str
    shots: Tuple[str, ...]           # in seqNum order, best first
    line: int                        # of the topic's element, for messages
    items: Tuple[Tuple[int, str], ...] = ()     # (line, shot id) in document order


@dataclass(frozen=True)
class AvsSubmission:
    attributes: Dict[str, str]       # as written, under NIST's names
    topics: Tuple[XmlTopic, ...]
    line: int                        # of the run element


def without_bom(raw: bytes) -> bytes:
    """`raw` without a leading UTF-8 byte-order mark (many Windows tools write one)."""
    return raw[len(UTF8_BOM):] if raw.startswith(UTF8_BOM) else raw


def looks_like_xml(raw: bytes) -> bool:
    """NIST submissions start with an XML declaration or the root element; TREC runs with a digit.
    A byte-order mark before either is skipped, as every reader skips it."""
    head = without_bom(raw).lstrip()[:200]
    return head.startswith(b"<?xml") or head.startswith(b"<!DOCTYPE") or head.startswith(b"<video")


def read_avs_xml(raw: bytes, path: Union[str, Path]) -> Tuple[Optional[AvsSubmission], List[Problem]]:
    """A ``videoAdhocSearchResults`` document and every problem in it, in document order.

    A bad item or topic is a problem and left out; the submission is None when the document
    cannot be read at all (not well-formed, no run element). Items are put in ``seqNum`` order
    (NIST ranks by it, not by document order), so a seqNum must be a whole number, once a topic.
    """
    from xml.parsers import expat

    parser = expat.ParserCreate()
    run: Dict[str, object] = {}
    topics: List[XmlTopic] = []
    seen_topics: Dict[int, int] = {}            # tNum -> line of its element
    problems: List[Problem] = []
    current: Dict[str, object] = {}             # the open topic; "skip" when it is left out

    def report(line: int, message: str) -> None:
        problems.append(Problem(str(path), line, message))

    def start(name: str, attrs: Dict[str, str]) -> None:
        line = parser.CurrentLineNumber
        if name == "videoAdhocSearchRunResult":
            if run:
                report(line, "a submission holds one videoAdhocSearchRunResult")
            else:
                run.update(attributes=dict(attrs), line=line)
        elif name == "videoAdhocSearchTopicResult":
            if current:
                report(line, f"videoAdhocSearchTopicResult inside the one of line {current['line']}")
                current["depth"] += 1
                return
            current.update(line=line, depth=1, items=[], ranked=[], seqs={}, skip=True)
            try:
                tnum = nist_topic_number(attrs.get("tNum", ""), path, line, what="tNum")
            except InputError as exc:
                problems.append(Problem.of(exc, path))
                return
            if tnum in seen_topics:
                report(line, f"topic {tnum} appears twice (first on line {seen_topics[tnum]})")
                return
            seen_topics[tnum] = line
            current.update(tnum=tnum, elapsed=attrs.get("elapsedTime", ""), skip=False)
        elif name == "item":
            if not current:
                report(line, "item outside a videoAdhocSearchTopicResult")
                return
            if current["depth"] > 1:          # of a nested topic, already a problem
                return
            try:
                shot = shot_id(attrs.get("shotId", ""), path, line)
            except InputError as exc:
                problems.append(Problem.of(exc, path))
                return
            current["items"].append((line, shot))     # a bad seqNum still answers its topic
            seq = attrs.get("seqNum", "")
            if not is_whole_number(seq):
                report(line, f"item needs seqNum, a number in ASCII digits, got {seq[:40]!r}")
            elif len(seq.lstrip("0")) > MAX_SEQ_DIGITS:
                report(line, f"seqNum of {len(seq)} digits: a rank has at most {MAX_SEQ_DIGITS}")
            elif int(seq) in current["seqs"]:
                report(line, f"seqNum {seq} repeats line {current['seqs'][int(seq)]} in this topic")
            else:
                current["seqs"][int(seq)] = line
                current["ranked"].append((int(seq), shot))
        elif name != "videoAdhocSearchResults":
            report(line, f"unexpected element <{name}> in an AVS submission")

    def end(name: str) -> None:
        if name != "videoAdhocSearchTopicResult" or not current:
            return
        current["depth"] -= 1
        if current["depth"]:
            return
        if not current["skip"]:
            topics.append(XmlTopic(current["tnum"], current["elapsed"],
                                   tuple(shot for _, shot in sorted(current["ranked"])),
                                   current["line"], tuple(current["items"])))
        current.clear()

    parser.StartElementHandler, parser.EndElementHandler = start, end
    try:
        parser.Parse(raw, True)
    except expat.ExpatError as exc:
        report(exc.lineno, f"not well-formed XML: {expat.errors.messages[exc.code]}")
        return None, problems
    if not run:
        problems.append(Problem(str(path), None,
                                "no videoAdhocSearchRunResult element: not an AVS submission"))
        return None, problems
    return AvsSubmission(run["attributes"], tuple(topics), run["line"]), problems


def parse_avs_xml(raw: bytes, path: Union[str, Path]) -> AvsSubmission:
    """Parse a ``videoAdhocSearchResults`` document; a malformed one is an error naming its
    first bad line (:func:`read_avs_xml` lists them all)."""
    submission, problems = read_avs_xml(raw, path)
    refuse_first(problems)
    return submission


def run_bytes(path: Union[str, Path]) -> bytes:
    """A run's bytes from its file or, for ``-``, standard input; gunzipped, without a BOM."""
    from ..base.files import read_bytes, stdin_bytes

    return without_bom(stdin_bytes() if str(path) == "-" else read_bytes(path))
