"""Reading users' files (plain or gzip), and the error an OSError on an output becomes.

Every reader goes through :func:`read_text` so that a missing path, a directory, an empty file
or bytes that are not UTF-8 give the same clear :class:`InputError` everywhere, and a leading
UTF-8 byte-order mark (which many Windows tools write) is dropped once, here, for every format.
"""
from __future__ import annotations

import errno
import gzip
import hashlib
import shutil
import sys
import zlib
from pathlib import Path
from typing import Union

from ..errors import InputError
from .fields import WHITESPACE

PathLike = Union[str, Path]


def require_file(path: PathLike, what: str = "file") -> Path:
    """`path` as a Path, or the clear error for a missing path or a directory."""
    p = Path(path)
    if not p.exists():
        try:
            where = "" if p.is_absolute() else f" (looked for {p.resolve()})"
        except (OSError, RuntimeError):       # Python < 3.13 raises on a loop of symbolic links
            where = " (a loop of symbolic links)"
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


#: How standard input (``-``) is named in errors.
STDIN_NAME = "- (standard input)"


def gunzipped(raw: bytes, source: PathLike) -> bytes:
    """`raw`, decompressed when it starts with the gzip magic; a truncated or damaged gzip is an
    InputError naming `source` (an EOFError would reach click, which takes it for Ctrl-C)."""
    if raw[:2] != b"\x1f\x8b":
        return raw
    try:
        return gzip.decompress(raw)
    except (OSError, EOFError, zlib.error) as exc:
        reason = str(exc) or type(exc).__name__
        raise InputError(f"not a complete gzip stream ({reason})", source) from None


def stdin_bytes() -> bytes:
    """Standard input's bytes, gunzipped like a file's."""
    return gunzipped(sys.stdin.buffer.read(), STDIN_NAME)


def read_bytes(path: PathLike) -> bytes:
    """The file's content, transparently gunzipped when it starts with the gzip magic."""
    p = require_file(path)
    try:
        raw = p.read_bytes()
    except OSError as exc:
        raise InputError(f"cannot read: {exc.strerror or exc}", p) from None
    return gunzipped(raw, p)


UTF8_BOM = b"\xef\xbb\xbf"


def read_text(path: PathLike, what: str = "file") -> str:
    """The file decoded as UTF-8 without a leading BOM; empty or binary content is refused with
    the offending line."""
    return decode_text(read_bytes(path), path, what)


def decode_text(raw: bytes, path: PathLike, what: str = "file") -> str:
    """:func:`read_text` of bytes already read (a pipe can be read only once)."""
    if raw.startswith(UTF8_BOM):
        raw = raw[len(UTF8_BOM):]
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = raw.count(b"\n", 0, exc.start) + 1
        raise InputError(f"bytes that are not UTF-8 text at byte {exc.start}"
                         f" (is this a {what}?)", path, line) from None
    if not text or not text.strip(WHITESPACE):     # what splits to no field at all
        raise InputError(f"empty {what}", path)
    return text


def write_error(exc: OSError, path: PathLike, doing: str = "cannot write") -> InputError:
    """The one-line error for an OSError met while writing `path` (never a temporary name);
    a regular file standing where a directory is needed is named as the culprit."""
    if exc.errno in (errno.ENOTDIR, errno.EEXIST):
        for above in (Path(path), *Path(path).parents):
            if above.exists() or above.is_symlink():
                if not above.is_dir():
                    return InputError(f"is a file where a directory is needed (to write "
                                      f"{path})" if above != Path(path) else
                                      "is a file where a directory is needed", above)
                break
    return InputError(f"{doing}: {exc.strerror or exc}", path)


def make_directory(directory: PathLike) -> Path:
    """`directory` and its parents (mode from the umask), or the clear error saying why not."""
    d = Path(directory)
    try:
        d.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise write_error(exc, d, "cannot create directory") from None
    return d


def remove_path(path: PathLike) -> None:
    """Remove a file or a directory tree; already gone is fine."""
    p = Path(path)
    if p.is_dir() and not p.is_symlink():
        shutil.rmtree(p, ignore_errors=True)
    else:
        try:
            p.unlink()
        except (FileNotFoundError, IsADirectoryError, PermissionError):
            pass
