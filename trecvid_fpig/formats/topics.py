"""Topics: the NIST AVS query sets shipped with the toolkit, and any user topic file.

A topic file has one topic a line, ``NNN<space(s)>text``. NIST's qrels and run files write
topic 661 as ``1661``; :attr:`TopicSet.qrels_ids` gives that form.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Dict, Optional, Tuple, Union

from ..base.fields import WHITESPACE, split_fields, text_lines
from ..base.files import read_text
from ..base.ids import nist_topic_number, run_topic_id
from ..errors import InputError
from .shipped import data_file, fetched_file


@dataclass(frozen=True)
class TopicSetInfo:
    name: str
    collection: str
    first_id: int
    last_id: int
    filename: str
    narrative: Optional[str] = None
    shipped_qrels: Optional[str] = None         # under qrels/ in the package
    fetchable: bool = False                     # `qrels fetch NAME` installs its qrels

    @property
    def fetched_qrels(self) -> str:
        """The name ``qrels fetch`` installs this set's qrels under (NIST's name)."""
        return f"avs.qrels.{self.name}"

    @property
    def fetched_qrels_path(self) -> Path:
        """Where ``qrels fetch`` installs them, in the user's data folder."""
        return fetched_file("qrels/" + self.fetched_qrels)

    @property
    def qrels(self) -> Optional[str]:
        """The qrels' name under ``qrels/`` when they are at hand, shipped or fetched; else None."""
        if self.shipped_qrels is not None:
            return self.shipped_qrels
        if self.fetchable and self.fetched_qrels_path.exists():
            return self.fetched_qrels
        return None


REGISTRY: Dict[str, TopicSetInfo] = {info.name: info for info in (
    TopicSetInfo("tv19", "V3C1", 611, 640, "tv19.avs.txt", fetchable=True),
    TopicSetInfo("tv20", "V3C1", 641, 660, "tv20.avs.txt", fetchable=True),
    TopicSetInfo("tv21", "V3C1", 661, 680, "tv21.avs.txt", shipped_qrels="avs.qrels.tv21.gz"),
    TopicSetInfo("progress.v3c1", "V3C1", 591, 610, "progress.v3c1.avs.txt", fetchable=True),
    TopicSetInfo("tv22", "V3C2", 701, 730, "tv22.avs.txt", narrative="tv22.narrative.txt",
                 fetchable=True),
    TopicSetInfo("tv23", "V3C2", 731, 750, "tv23.avs.txt", narrative="tv23.narrative.txt",
                 shipped_qrels="avs.qrels.tv23.gz"),
    TopicSetInfo("progress.v3c2", "V3C2", 681, 700, "progress.v3c2.avs.txt"),
)}


def shipped_path(relative: str) -> Path:
    """Path of a file shipped in the ``topics/`` folder (installed as ``trecvid_fpig.shipped``)."""
    return data_file("shipped", relative)


def qrels_topic_id(topic_id: int) -> str:
    """The id NIST's qrels and runs use for a topic: 661 -> '1661'."""
    return run_topic_id(topic_id)


@dataclass(frozen=True)
class TopicSet:
    """Topics of one file, in the file's order."""
    name: str
    ids: Tuple[int, ...]
    texts: Tuple[str, ...]
    source: str
    collection: Optional[str] = None

    @property
    def qrels_ids(self) -> Tuple[str, ...]:
        return tuple(qrels_topic_id(i) for i in self.ids)

    def __len__(self) -> int:
        return len(self.ids)


def _topic_text(tid: int, text: str, path: Union[str, Path], lineno: int) -> str:
    """`text` as topic `tid`'s; `topics list`'s output (``661<TAB>1661<TAB>text``) is refused,
    its run id would be encoded as the text's first word."""
    first = split_fields(text, maxsplit=1)
    if first[0] == qrels_topic_id(tid) and len(first) == 2:
        raise InputError(f"topic {tid}'s text starts with its run id {first[0]}, as "
                         f"'topics list' prints it (NUMBER, RUN_ID, text): keep the number and "
                         f"the text only (cut -f1,3)", path, lineno)
    return text


def parse_topics(path: Union[str, Path], name: Optional[str] = None,
                 collection: Optional[str] = None) -> TopicSet:
    """Read ``NNN text`` lines; blank lines are skipped, anything else is an error with its line."""
    text = read_text(path, "topic file")
    if "\n" not in text and "\r" in text.strip(WHITESPACE):
        # lines end at LF only: every topic would run on in the first one's text
        raise InputError("CR line ends (no LF in the file): save it with LF or CRLF line ends",
                         path)
    ids, texts, seen = [], [], {}
    for lineno, line in enumerate(text_lines(text), 1):
        parts = split_fields(line, maxsplit=1)
        if not parts:
            continue
        if len(parts) != 2:
            raise InputError(f"expected 'TOPIC_NUMBER text', got {line.strip(WHITESPACE)[:60]!r}",
                             path, lineno)
        tid = nist_topic_number(parts[0], path, lineno)
        if tid in seen:
            raise InputError(f"topic {tid} repeats line {seen[tid]}", path, lineno)
        seen[tid] = lineno
        ids.append(tid)
        texts.append(_topic_text(tid, parts[1].strip(WHITESPACE), path, lineno))
    return TopicSet(name or Path(path).name, tuple(ids), tuple(texts), str(path), collection)


def load_topics(name_or_path: Union[str, Path], narrative: bool = False) -> TopicSet:
    """A shipped set by name (``tv19`` …), or any topic file by path."""
    info = REGISTRY.get(str(name_or_path))
    if info is None:
        if not str(name_or_path) or not Path(name_or_path).exists():    # '' is no path ('.')
            raise InputError(f"unknown topic set {str(name_or_path)!r}: expected one of "
                             f"{', '.join(REGISTRY)} or a path to a topic file (TV24, TV25: save NIST's "
                             f"topics as 'NUMBER text' lines, see docs/formats.md#topics)")
        return parse_topics(name_or_path)
    filename = info.filename
    if narrative:
        if info.narrative is None:
            raise InputError(f"topic set {info.name} has no narrative file")
        filename = info.narrative
    return parse_topics(shipped_path(filename), info.name, info.collection)


def resolve_qrels(name_or_path: Union[str, Path]) -> Path:
    """``tv21``/``tv23`` name the shipped qrels, ``tv19``/``tv20``/``tv22``/``progress.v3c1``
    the fetched ones; anything else is a path."""
    info = REGISTRY.get(str(name_or_path))
    if info is not None:
        if info.qrels is None and info.fetchable:
            raise InputError(f"the {info.name} qrels are not installed: fetch them with "
                             f"'fpig-trecvid qrels fetch {info.name}', or pass --qrels PATH")
        if info.qrels is None:
            raise InputError(f"no qrels for {info.name} ship with fpig-trecvid: NIST publishes them "
                             f"(e.g. avs.qrels.{info.name}); pass --qrels PATH")
        return shipped_path("qrels/" + info.qrels)
    path = Path(name_or_path)
    if not path.exists():
        shipped = ", ".join(i.name for i in REGISTRY.values() if i.shipped_qrels)
        raise InputError(f"no such qrels file, and not the name of shipped qrels ({shipped})",
                         path)
    return path
