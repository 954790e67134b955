"""NIST's AVS submission XML (``videoAdhocSearchResults``), written from a ranked run.

One ``videoAdhocSearchRunResult`` holds the run's attributes (training type, class, task,
novelty, participant id, priority, description); one ``videoAdhocSearchTopicResult`` per topic
holds ``tNum`` (the topic number, e.g. 661), ``elapsedTime`` in whole seconds (NIST's checker
parses it as an integer), and the shots as ``item seqNum shotId``, best first.
"""
from __future__ import annotations

import math
from html import escape
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Dict, Mapping, Sequence, Tuple, Union

from .errors import InputError
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
    return RunAttributes(**{known[k]: v for k, v in values.items()})


def elapsed_seconds(seconds: float) -> int:
    """Whole seconds for ``elapsedTime``, rounded up and at least 1."""
    return max(1, math.ceil(seconds))


def write_avs_xml(path: Union[str, Path], attributes: RunAttributes,
                  topics: Sequence[Tuple[int, int, Sequence[str]]]) -> None:
    """`topics` are ``(tNum, elapsed whole seconds, shots best first)``; written atomically."""
    attrs = " ".join(f'{name}="{escape(value)}"' for name, value in attributes.items())
    with atomic_write(path) as fh:
        fh.write('<?xml version="1.0" encoding="UTF-8"?>\n')
        fh.write(DOCTYPE + "\n")
        fh.write("<videoAdhocSearchResults>\n")
        fh.write(f"<videoAdhocSearchRunResult {attrs}>\n")
        for tnum, elapsed, shots in topics:
            fh.write(f'<videoAdhocSearchTopicResult tNum="{int(tnum)}" '
                     f'elapsedTime="{int(elapsed)}">\n')
            for seq, shot in enumerate(shots, 1):
                fh.write(f'<item seqNum="{seq}" shotId="{escape(shot)}"/>\n')
            fh.write("</videoAdhocSearchTopicResult>\n")
        fh.write("</videoAdhocSearchRunResult>\n")
        fh.write("</videoAdhocSearchResults>\n")
