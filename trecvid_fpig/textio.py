"""Reading users' text files (plain or gzip) and writing outputs atomically.

Every reader goes through :func:`read_text` so that a missing path, a directory, an empty file
or bytes that are not UTF-8 give the same clear :class:`InputError` everywhere, and a leading
UTF-8 byte-order mark (which many Windows tools write) is dropped once, here, for every format.
"""
from __future__ import annotations

import gzip
import hashlib
import os
import tempfile
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator, Union

from .errors import InputError

PathLike = Union[str, Path]


def require_file(path: PathLike, what: str = "file") -> Path:
    """`path` as a Path, or the clear error for a missing path or a directory."""
    p = Path(path)
    if not p.exists():
        where = "" if p.is_absolute() else f" (looked for {p.resolve()})"
        raise InputError(f"no such {what}{where}", p)
    if p.is_dir():
        raise InputError(f"is a directory, expected a {what}", p)
    return p


def file_sha256(path: PathLike, what: str = "file") -> str:
    """Hex sha256 of the bytes as stored (a .gz is hashed compressed), read in 4 MiB blocks."""
    digest = hashlib.sha256()
    with require_file(path, what).open("rb") as fh:
        for block in iter(lambda: fh.read(1 << 22), b""):
            digest.update(block)
    return digest.hexdigest()


def read_bytes(path: PathLike) -> bytes:
    """The file's content, transparently gunzipped when it starts with the gzip magic."""
    p = require_file(path)
    try:
        raw = p.read_bytes()
        if raw[:2] == b"\x1f\x8b":
            raw = gzip.decompress(raw)
    except (OSError, EOFError) as exc:
        raise InputError(f"cannot read: {exc}", p) from None
    return raw


UTF8_BOM = b"\xef\xbb\xbf"


def read_text(path: PathLike, what: str = "file") -> str:
    """The file decoded as UTF-8 without a leading BOM; empty or binary content is refused with
    the offending line."""
    raw = read_bytes(path)
    if raw.startswith(UTF8_BOM):
        raw = raw[len(UTF8_BOM):]
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = raw.count(b"\n", 0, exc.start) + 1
        raise InputError(f"bytes that are not UTF-8 text at byte {exc.start}"
                         f" (is this a {what}?)", path, line) from None
    if not text or text.isspace():            # Unicode white space too: it splits to nothing
        raise InputError(f"empty {what}", path)
    return text


@contextmanager
def atomic_write(path: PathLike, mode: str = "w") -> Iterator:
    """Write to a temporary file beside `path`, then rename: readers never see half a file."""
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".part", dir=target.parent)
    try:
        with os.fdopen(fd, mode, **({} if "b" in mode else {"encoding": "utf-8", "newline": "\n"})) as fh:
            yield fh
        os.replace(tmp, target)
    except BaseException:
        try:
            os.unlink(tmp)
        except FileNotFoundError:
            pass
        raise


def write_text_atomic(path: PathLike, text: str) -> None:
    with atomic_write(path) as fh:
        fh.write(text)
