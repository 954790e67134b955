r"""Whitespace-separated column files (qrels, runs): vectorised checks, a slow pass only to name a bad line.

Fields and lines are what NIST's sample_eval.pl sees, for every reader of the toolkit: the script
reads bytes and splits them with Perl's ``split(/\s+/)``, whose ``\s`` on bytes is ASCII white
space only (:data:`WHITESPACE`). Python's ``str.split()`` and ``str.splitlines()`` also break at
NBSP, U+3000, U+001C–U+001F, U+2028 and others, so a shot id ending in NBSP would meet the
pooled shot; :func:`split_fields` and :func:`text_lines` are the one way the toolkit splits text.
"""
from __future__ import annotations

import re
from typing import Dict, List, Optional, Sequence, Union

import numpy as np

from ..errors import InputError
from .ids import MAX_ID_CHARS, topic_number

#: Perl's ``\s`` on the bytes sample_eval.pl reads: space, \t, \n, \v (since Perl 5.18), \f, \r.
WHITESPACE = " \t\n\v\f\r"
_SEPARATORS = re.compile(f"[{WHITESPACE}]+")
#: ASCII characters that str.split() takes for white space and Perl does not.
_PYTHON_ONLY_ASCII_SPACE = "\x1c\x1d\x1e\x1f"
#: A decimal number in ASCII, as sample_eval.pl reads one. float() also takes full-width '１',
#: Arabic-Indic '١', '1_0', NBSP around the digits, 'nan' and 'inf'; Perl reads those otherwise.
_NUMBER = re.compile(r"[+-]?(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:[eE][+-]?[0-9]+)?\Z")
#: Any character no ASCII number is written with (the fast screen of a whole column).
_NOT_IN_A_NUMBER = re.compile(r"[^0-9eE+\-.]")
_WHOLE_NUMBER = re.compile(r"[0-9]+\Z")


def split_fields(text: str, maxsplit: int = -1) -> List[str]:
    """`text` split at runs of :data:`WHITESPACE`, as ``str.split(None, maxsplit)`` would be if
    Python's white space were Perl's: NBSP, U+3000 or U+001F stay inside a field."""
    if text.isascii() and not any(c in text for c in _PYTHON_ONLY_ASCII_SPACE):
        return text.split(None, maxsplit)              # the same split, three times faster
    rest = text.lstrip(WHITESPACE)
    if maxsplit == 0:                                  # re.split's 0 would mean "no limit"
        return [rest] if rest else []
    fields = _SEPARATORS.split(rest, max(maxsplit, 0))
    if fields[-1] == "":                               # trailing white space, or no text
        fields.pop()
    return fields


def text_lines(text: str) -> List[str]:
    """The lines of `text` as its author sees them: each ends at ``\n`` (a ``\r`` before it is
    dropped), never at the form feeds, U+001C–U+001E or U+2028 where ``str.splitlines()`` also
    breaks; line ``i`` of the file is item ``i - 1``."""
    return [line[:-1] if line.endswith("\r") else line for line in text.split("\n")]


def topic_numbers(tokens: Sequence[str], text: str, path) -> Dict[str, int]:
    """Each distinct topic token of a column file and its number; a bad one names its line."""
    numbers = {}
    for token in set(tokens):
        try:
            numbers[token] = topic_number(token)
        except InputError as exc:
            raise InputError(exc.reason, path, line_of_row(text, tokens.index(token))) from None
    return numbers


def check_id_lengths(ids: Sequence[str], path, what: str = "id", text: Optional[str] = None) -> None:
    """Refuse an id longer than :data:`MAX_ID_CHARS`, naming its line when `text` is given."""
    if not ids or max(map(len, ids)) <= MAX_ID_CHARS:
        return
    row = next(i for i, v in enumerate(ids) if len(v) > MAX_ID_CHARS)
    where = {} if text is None else {"line": line_of_row(text, row)}
    label = "" if text is not None else f"row {row}: "
    raise InputError(f"{label}{what} of {len(ids[row])} characters (at most {MAX_ID_CHARS}): "
                     f"{ids[row][:40]!r}…", path, **where)


def fields_per_line(text: str) -> np.ndarray:
    """Field count of every line (fields as :func:`split_fields` cuts them, lines as
    :func:`text_lines` does), computed on the bytes in one vectorised pass."""
    raw = np.frombuffer(text.encode("utf-8"), dtype=np.uint8)
    newline = raw == 10
    space = np.isin(raw, np.frombuffer(WHITESPACE.encode(), dtype=np.uint8))
    starts = ~space
    starts[1:] &= space[:-1]
    line_ends = np.append(np.flatnonzero(newline), len(raw))
    return np.diff(np.searchsorted(np.flatnonzero(starts), line_ends), prepend=0)


def _wrong_count(path, lineno: int, line: str, found: int, ncols: int, layout: str) -> InputError:
    return InputError(f"expected {ncols} whitespace-separated fields ({layout}), found {found}: "
                      f"{line.strip(WHITESPACE)[:80]!r}", path, lineno)


def split_columns(text: str, ncols: int, path, layout: str) -> List[List[str]]:
    """The file's columns as lists of tokens, or an error naming the first line with the wrong count.

    Blank lines are allowed (NIST files often end without or with extra newlines), but not
    before the first field: sample_eval.pl's ``split(/\\s+/)`` reads white space at the start of
    the file as an empty first field, which shifts every later field by one.
    """
    if text[:1] in tuple(WHITESPACE):
        raise InputError("the file starts with white space (a blank line or a space), which "
                         "sample_eval.pl reads as an empty first field, shifting every field "
                         "after it: remove it", path, 1)
    counts = fields_per_line(text)
    bad = np.flatnonzero((counts != 0) & (counts != ncols))
    if len(bad):
        i = int(bad[0])
        raise _wrong_count(path, i + 1, text_lines(text)[i], int(counts[i]), ncols, layout)
    tokens = split_fields(text)
    return [tokens[i::ncols] for i in range(ncols)]


def group_rows(keys: Sequence[str]) -> Dict[str, Union[slice, np.ndarray]]:
    """Rows of each key, in file order: a slice when the key's lines are contiguous (the usual
    layout of NIST files), else an index array from one stable sort."""
    column = np.array(keys)
    bounds = [0] + (np.flatnonzero(column[1:] != column[:-1]) + 1).tolist() + [len(keys)]
    if len({keys[start] for start in bounds[:-1]}) == len(bounds) - 1:
        return {keys[start]: slice(start, stop) for start, stop in zip(bounds[:-1], bounds[1:])}
    order = np.argsort(column, kind="stable")
    ordered = column[order]
    edges = np.flatnonzero(ordered[1:] != ordered[:-1]) + 1
    return {str(ordered[a]): order[a:b] for a, b in zip([0, *edges.tolist()], [*edges.tolist(), len(keys)])}


def gather(values: Sequence, rows: Union[slice, np.ndarray]) -> list:
    """`values` at the rows :func:`group_rows` gave for one key."""
    if isinstance(rows, slice):
        return list(values[rows])
    return [values[i] for i in rows.tolist()]


def line_of_row(text: str, row: int) -> int:
    """1-based line number of the `row`-th non-blank line (for error messages only)."""
    seen = -1
    for lineno, line in enumerate(text_lines(text), 1):
        if line.strip(WHITESPACE):
            seen += 1
            if seen == row:
                return lineno
    return seen + 1


def ascii_float(token: str) -> float:
    """`token` as a float when it is a finite ASCII decimal number; ValueError otherwise (where
    float() would read '１', '١', '1_0' or 'inf')."""
    if not _NUMBER.match(token):
        raise ValueError(f"not an ASCII decimal number: {token!r}")
    value = float(token)
    if not np.isfinite(value):
        raise ValueError(f"not a finite number: {token!r}")
    return value


def is_whole_number(token: str) -> bool:
    """ASCII digits only: ``str.isdigit`` also takes '²', '１' and '١', which int() then reads."""
    return _WHOLE_NUMBER.match(token) is not None


def parse_numbers(tokens: Sequence[str], text: str, path, what: str,
                  few_values: bool = False) -> np.ndarray:
    """Tokens as float64; anything but a finite ASCII decimal number (see :func:`ascii_float`)
    names its line.

    With `few_values` (judgments: -1, 0, 1) each distinct token is converted once.
    """
    distinct = set(tokens) if few_values else tokens
    try:
        if _NOT_IN_A_NUMBER.search("".join(distinct)):
            raise ValueError
        if few_values:
            value_of = {t: float(t) for t in distinct}
            values = np.fromiter(map(value_of.__getitem__, tokens), dtype=np.float64, count=len(tokens))
            checked = np.array(list(value_of.values()))
        else:
            values = checked = np.array(list(map(float, tokens)))
        if not np.isfinite(checked).all():
            raise ValueError
        return values
    except ValueError:
        for row, tok in enumerate(tokens):
            try:
                ascii_float(tok)
            except ValueError:
                raise InputError(f"{what} must be a finite number, got {tok!r} (ASCII digits only)",
                                 path, line_of_row(text, row)) from None
        raise AssertionError("unreachable: every token is a finite number") from None
