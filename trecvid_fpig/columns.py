"""Whitespace-separated column files (qrels, runs): vectorised checks, a slow pass only to name a bad line."""
from __future__ import annotations

import re
from typing import Dict, List, Optional, Sequence, Union

import numpy as np

from .errors import InputError
from .ids import MAX_ID_CHARS, topic_number

_NUMBER = re.compile(r"[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?\Z")


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
    """Whitespace-separated field count of every line, computed on the bytes in one vectorised pass."""
    raw = np.frombuffer(text.encode("utf-8"), dtype=np.uint8)
    newline = raw == 10
    space = newline | (raw == 32) | (raw == 9) | (raw == 13) | (raw == 11) | (raw == 12)
    starts = ~space
    starts[1:] &= space[:-1]
    line_ends = np.append(np.flatnonzero(newline), len(raw))
    return np.diff(np.searchsorted(np.flatnonzero(starts), line_ends), prepend=0)


def _wrong_count(path, lineno: int, line: str, found: int, ncols: int, layout: str) -> InputError:
    return InputError(f"expected {ncols} whitespace-separated fields ({layout}), found {found}: "
                      f"{line.strip()[:80]!r}", path, lineno)


def split_columns(text: str, ncols: int, path, layout: str) -> List[List[str]]:
    """The file's columns as lists of tokens, or an error naming the first line with the wrong count.

    Blank lines are allowed (NIST files often end without or with extra newlines).
    """
    counts = fields_per_line(text)
    bad = np.flatnonzero((counts != 0) & (counts != ncols))
    if len(bad):
        i = int(bad[0])
        raise _wrong_count(path, i + 1, text.splitlines()[i], int(counts[i]), ncols, layout)
    tokens = text.split()
    if len(tokens) != int(counts.sum()):      # Unicode whitespace that the byte pass does not see
        for lineno, line in enumerate(text.splitlines(), 1):
            fields = line.split()
            if fields and len(fields) != ncols:
                raise _wrong_count(path, lineno, line, len(fields), ncols, layout)
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
    for lineno, line in enumerate(text.splitlines(), 1):
        if line.strip():
            seen += 1
            if seen == row:
                return lineno
    return seen + 1


def parse_numbers(tokens: Sequence[str], text: str, path, what: str,
                  few_values: bool = False) -> np.ndarray:
    """Tokens as float64; a non-number, NaN, infinity or Python-only form ('1_0') names its line.

    With `few_values` (judgments: -1, 0, 1) each distinct token is converted once.
    """
    try:
        if few_values:
            value_of = {t: float(t) for t in set(tokens)}
            values = np.fromiter(map(value_of.__getitem__, tokens), dtype=np.float64, count=len(tokens))
            checked, seen = np.array(list(value_of.values())), value_of
        else:
            values = checked = np.array(list(map(float, tokens)))
            seen = tokens
        if not np.isfinite(checked).all() or "_" in "".join(seen):
            raise ValueError
        return values
    except ValueError:
        for row, tok in enumerate(tokens):
            if not _NUMBER.match(tok) or not np.isfinite(float(tok)):
                raise InputError(f"{what} must be a finite number, got {tok!r}", path,
                                 line_of_row(text, row)) from None
        raise AssertionError("unreachable: every token is a finite number") from None
