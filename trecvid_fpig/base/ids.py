"""What a shot id and a topic id may be: one rule, applied wherever ids enter the toolkit.

A **shot id** is written as one whitespace-separated column of a TREC run (read back by this
toolkit, by ``sample_eval.pl`` and by ``trec_eval``), as an attribute of NIST's AVS XML, and
into fixed-width string arrays in stores. So it is 1 to :data:`MAX_ID_CHARS` characters, none
of them white space in any sense a reader may split on (``str.isspace``: ASCII blanks, NBSP,
U+3000, the line separators U+2028/U+2029, U+001C–U+001F), a control character, or a character
XML 1.0 cannot hold (lone surrogates, U+FFFE, U+FFFF). Column files written by others (runs,
qrels) are read as ``sample_eval.pl`` reads them; this rule is for ids the toolkit takes in from
elsewhere (stores, shot tables, XML, runs built in memory) and for everything it writes.

A **topic** has two forms. Runs and qrels write NIST's form, ``1`` then the 3-digit topic number
(``1661``); ``sample_eval.pl`` keys topics by their text, and 1 to :data:`MAX_TOPIC_DIGITS` ASCII
digits are accepted there (:func:`topic_number`). Topic files and the XML's ``tNum`` hold the
topic number itself, 1 to :data:`MAX_TOPIC_NUMBER` (:func:`nist_topic_number`), so that its run
form (:func:`run_topic_id`) is always 1001 to 1999: never ``11661`` for a file that already used
NIST's run form, never ten digits that ``score`` refuses.
"""
from __future__ import annotations

import re
from typing import Callable, Optional, Sequence

import numpy as np

from ..errors import InputError

#: Topic ids in runs, qrels and sidecars: ASCII digits only (``str.isdigit`` also takes '²' and
#: Arabic-Indic digits, which ``int`` reads as numbers) and at most 9 of them.
MAX_TOPIC_DIGITS = 9
_TOPIC_ID = re.compile(f"[0-9]{{1,{MAX_TOPIC_DIGITS}}}\\Z")
#: Topic numbers of topic files and of the XML's tNum (661); NIST's run form is 1 + 3 digits.
MAX_TOPIC_NUMBER = 999
_TOPIC_NUMBER = re.compile("[0-9]{1,3}\\Z")
#: Longest shot / caption / video id accepted: ids land in fixed-width numpy string arrays sized
#: by the longest one, so a single megabyte-long id would make every row a megabyte.
MAX_ID_CHARS = 256
#: White space of any kind, C0/C1 controls and DEL, surrogates and the two non-characters.
_NOT_IN_ID = re.compile("[\\s\x00-\x1f\x7f-\x9f\ud800-\udfff\ufffe\uffff]")


def topic_number(token: str, path=None, line: Optional[int] = None) -> int:
    """The one check of a topic id as runs, qrels and sidecars write it (``1661``)."""
    if not _TOPIC_ID.match(token):
        raise InputError(f"topic must be a number of 1 to {MAX_TOPIC_DIGITS} ASCII digits such as "
                         f"1661, got {token[:40]!r}", path, line)
    return int(token)


def nist_topic_number(token: str, path=None, line: Optional[int] = None,
                      what: str = "topic number") -> int:
    """A topic number as topic files and the XML's tNum write it: 1 to 999 (``661``); `what`
    names the field in the error."""
    if not _TOPIC_NUMBER.match(token) or int(token) == 0:
        hint = (f" ({token} is NIST's run form of topic {token[1:]}: write {token[1:]})"
                if len(token) == 4 and token.startswith("1") and token.isascii()
                and token.isdigit() else "")
        raise InputError(f"{what} must be 1 to {MAX_TOPIC_NUMBER} in ASCII digits such as "
                         f"661, got {token[:40]!r}{hint}", path, line)
    return int(token)


def run_topic_id(number: int) -> str:
    """The id NIST's runs and qrels use for topic `number`: 661 -> ``'1661'``."""
    if not 1 <= number <= MAX_TOPIC_NUMBER:
        raise InputError(f"topic {number} is not a topic number (1 to {MAX_TOPIC_NUMBER}): runs "
                         f"write 1 + its 3 digits, as 1661 for topic 661")
    return f"1{number:03d}"


def topic_of_run_id(topic: str, path=None) -> int:
    """The topic number of NIST's run form: ``'1661'`` -> 661 (the inverse of
    :func:`run_topic_id`); any other form is refused."""
    if not (len(topic) == 4 and topic.startswith("1") and _TOPIC_ID.match(topic)
            and topic != "1000"):
        raise InputError(f"topic {topic} is not in NIST's run form (1NNN, e.g. 1661)", path)
    return int(topic[1:])


def run_topic_key(topic: object, path=None) -> str:
    """A topic key of a run built in memory (``{"1661": …}`` or ``{1661: …}``), as a run file
    would hold it: digits kept as written, since ``sample_eval.pl`` tells ``01661`` and
    ``1661`` apart."""
    if isinstance(topic, (int, np.integer)) and not isinstance(topic, bool):
        topic = str(int(topic))
    if not isinstance(topic, str):
        raise InputError(f"topic must be a number such as 1661, got {topic!r}", path)
    topic_number(topic, path)
    return topic


def id_problem(value: str) -> Optional[str]:
    if not value:
        return "is empty"
    if len(value) > MAX_ID_CHARS:
        return f"has {len(value)} characters (at most {MAX_ID_CHARS})"
    bad = _NOT_IN_ID.search(value)
    if bad:
        kind = "whitespace" if bad.group().isspace() else "a control character"
        return (f"contains {kind} ({bad.group()!r}, U+{ord(bad.group()):04X}) at position "
                f"{bad.start()}")
    return None


def shot_id(value: object, path=None, line: Optional[int] = None, what: str = "shot id") -> str:
    """`value` if it is a valid shot id, else one error naming it (and its file:line)."""
    if not isinstance(value, str):
        raise InputError(f"{what} must be text, got {value!r}", path, line)
    problem = id_problem(value)
    if problem:
        raise InputError(f"{what} {value[:40]!r} {problem}: ids are single words of printable "
                         f"characters, as run files and NIST's XML carry them", path, line)
    return value


def check_shot_ids(ids: Sequence[str], path=None, what: str = "shot id",
                   line_of: Optional[Callable[[int], int]] = None, rows: bool = True) -> None:
    """Every id of `ids` by :func:`shot_id`, in bulk (a store holds millions); a failure names
    the first bad id and its row (unless `rows` is False: the ids of a dict), or its line when
    `line_of` maps rows to lines."""
    if not len(ids):
        return
    lengths = np.fromiter(map(len, ids), dtype=np.int64, count=len(ids))
    bad_rows = np.flatnonzero((lengths == 0) | (lengths > MAX_ID_CHARS))
    first = int(bad_rows[0]) if bad_rows.size else len(ids)
    found = _NOT_IN_ID.search("".join(ids[:first]))
    if found:
        first = int(np.searchsorted(np.cumsum(lengths), found.start(), side="right"))
    if first == len(ids):
        return
    if line_of is not None:
        shot_id(ids[first], path, line_of(first), what)
    shot_id(ids[first], path, None, f"row {first}: {what}" if rows else what)
