"""NIST's AVS submission XML (``videoAdhocSearchResults``), written from a ranked run.

One ``videoAdhocSearchRunResult`` holds the run's attributes (training type, class, task,
novelty, participant id, priority, description); one ``videoAdhocSearchTopicResult`` per topic
holds ``tNum`` (the topic number, e.g. 661), ``elapsedTime`` in whole seconds (NIST's checker
parses it as an integer), and the shots as ``item seqNum shotId``, best first.
"""
from __future__ import annotations

import gzip
import math
import re
import tempfile
from collections import Counter
from dataclasses import dataclass, fields, replace
from pathlib import Path
from typing import Dict, List, Mapping, Sequence, Tuple, Union

from .columns import is_whole_number
from .errors import InputError
from .ids import check_shot_ids, nist_topic_number, shot_id
from .textio import atomic_write

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


def elapsed_seconds(seconds: float) -> int:
    """Whole seconds for ``elapsedTime``, rounded up and at least 1."""
    return max(1, math.ceil(seconds))


def write_avs_xml(path: Union[str, Path], attributes: RunAttributes,
                  topics: Sequence[Tuple[int, int, Sequence[str]]]) -> None:
    """`topics` are ``(tNum, elapsed whole seconds, shots best first)``; written atomically.
    Topic numbers and shot ids are checked by the id rule first, so the file reads back."""
    attrs = " ".join(f'{name}="{xml_attribute(value, "XML attribute " + name)}"'
                     for name, value in attributes.items())
    for tnum, _, shots in topics:
        nist_topic_number(str(tnum))
        check_shot_ids(shots, None, f"topic {tnum}: shot id", rows=False)
    with atomic_write(path) as fh:
        fh.write('<?xml version="1.0" encoding="UTF-8"?>\n')
        fh.write(DOCTYPE + "\n")
        fh.write("<videoAdhocSearchResults>\n")
        fh.write(f"<videoAdhocSearchRunResult {attrs}>\n")
        for tnum, elapsed, shots in topics:
            fh.write(f'<videoAdhocSearchTopicResult tNum="{int(tnum)}" '
                     f'elapsedTime="{int(elapsed)}">\n')
            for seq, shot in enumerate(shots, 1):
                fh.write(f'<item seqNum="{seq}" shotId="{xml_attribute(shot, "shot id")}"/>\n')
            fh.write("</videoAdhocSearchTopicResult>\n")
        fh.write("</videoAdhocSearchRunResult>\n")
        fh.write("</videoAdhocSearchResults>\n")


# --- reading a submission back ------------------------------------------------------------------

@dataclass(frozen=True)
class XmlTopic:
    tnum: int
    elapsed: str
    shots: Tuple[str, ...]           # in seqNum order, best first
    line: int                        # of the topic's element, for messages


@dataclass(frozen=True)
class AvsSubmission:
    attributes: Dict[str, str]       # as written, under NIST's names
    topics: Tuple[XmlTopic, ...]
    line: int                        # of the run element


def looks_like_xml(raw: bytes) -> bool:
    """NIST submissions start with an XML declaration or the root element; TREC runs with a digit."""
    head = raw.lstrip()[:200]
    return head.startswith(b"<?xml") or head.startswith(b"<!DOCTYPE") or head.startswith(b"<video")


def parse_avs_xml(raw: bytes, path: Union[str, Path]) -> AvsSubmission:
    """Parse a ``videoAdhocSearchResults`` document; a malformed one is an error naming its line.

    Items are put in ``seqNum`` order (NIST ranks by it, not by document order).
    """
    from xml.parsers import expat

    parser = expat.ParserCreate()
    run: Dict[str, object] = {}
    topics: List[XmlTopic] = []
    current: Dict[str, object] = {}

    def start(name: str, attrs: Dict[str, str]) -> None:
        line = parser.CurrentLineNumber
        if name == "videoAdhocSearchRunResult":
            if run:
                raise InputError("a submission holds one videoAdhocSearchRunResult", path, line)
            run.update(attributes=dict(attrs), line=line)
        elif name == "videoAdhocSearchTopicResult":
            tnum = nist_topic_number(attrs.get("tNum", ""), path, line, what="tNum")
            current.clear()
            current.update(tnum=tnum, elapsed=attrs.get("elapsedTime", ""), line=line, items=[])
        elif name == "item":
            if not current:
                raise InputError("item outside a videoAdhocSearchTopicResult", path, line)
            seq = attrs.get("seqNum", "")
            if not is_whole_number(seq):
                raise InputError(f"item needs seqNum, a number in ASCII digits, got {seq!r}",
                                 path, line)
            current["items"].append((int(seq), shot_id(attrs.get("shotId", ""), path, line)))
        elif name != "videoAdhocSearchResults":
            raise InputError(f"unexpected element <{name}> in an AVS submission", path, line)

    def end(name: str) -> None:
        if name == "videoAdhocSearchTopicResult":
            items = sorted(current["items"])
            topics.append(XmlTopic(current["tnum"], current["elapsed"],
                                   tuple(shot for _, shot in items), current["line"]))
            current.clear()

    parser.StartElementHandler, parser.EndElementHandler = start, end
    try:
        parser.Parse(raw, True)
    except expat.ExpatError as exc:
        raise InputError(f"not well-formed XML: {expat.errors.messages[exc.code]}", path,
                         exc.lineno) from None
    if not run:
        raise InputError("no videoAdhocSearchRunResult element: not an AVS submission", path)
    return AvsSubmission(run["attributes"], tuple(topics), run["line"])


def submission_run(submission: AvsSubmission, path: Union[str, Path], tag: str):
    """The submission as a :class:`~trecvid_fpig.runs.Run`: topic 661 becomes 1661, and the
    score of the shot at position i of n is n - i, so the order is exactly the XML's."""
    import numpy as np

    from .runs import Run, TopicRanking
    from .topics import qrels_topic_id

    topics = {}
    for topic in sorted(submission.topics, key=lambda t: t.tnum):
        qid = qrels_topic_id(topic.tnum)
        if qid in topics:
            raise InputError(f"topic {topic.tnum} appears twice", path, topic.line)
        counts = Counter(topic.shots)
        last = {shot: i for i, shot in enumerate(topic.shots)}      # a repeat keeps its last place
        kept = sorted(last, key=last.__getitem__)
        n = len(kept)
        topics[qid] = TopicRanking(qid, tuple(kept), np.arange(n, 0, -1, dtype=np.float64),
                                   len(topic.shots), tuple(s for s, c in counts.items() if c > 1))
    return Run(str(path), tag, topics)


def read_any_run(path: Union[str, Path]):
    """A TREC run or an AVS XML submission (told apart by content); ``-`` reads standard input."""
    import sys

    from .runs import parse_run
    from .textio import read_bytes

    if str(path) == "-":
        raw = sys.stdin.buffer.read()
        if raw[:2] == b"\x1f\x8b":
            raw = gzip.decompress(raw)
    else:
        raw = read_bytes(path)
    if looks_like_xml(raw):
        tag = "stdin" if str(path) == "-" else Path(path).name.split(".")[0]
        return submission_run(parse_avs_xml(raw, path), path, tag)
    if str(path) != "-":
        return parse_run(path)
    with tempfile.TemporaryDirectory() as tmp:
        copy = Path(tmp) / "stdin"
        copy.write_bytes(raw)
        try:
            return replace(parse_run(copy), path="-")
        except InputError as exc:
            raise InputError(exc.reason, "-", exc.line) from None
