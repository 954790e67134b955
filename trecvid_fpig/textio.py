"""Reading users' text files (plain or gzip) and writing outputs atomically.

Every reader goes through :func:`read_text` so that a missing path, a directory, an empty file
or bytes that are not UTF-8 give the same clear :class:`InputError` everywhere, and a leading
UTF-8 byte-order mark (which many Windows tools write) is dropped once, here, for every format.

Every writer goes through the helpers below, which give the guarantees docs/formats.md states:
an output appears under its final name only when complete (:func:`atomic_write`,
:func:`atomic_directory`), the files of one set are committed as a unit
(:func:`commit_file_set`), one process at a time writes an output (:func:`output_lock`), an
output is never one of the inputs (:func:`refuse_input_as_output`), files and directories get
the user's umask, and an OSError becomes one :class:`InputError` naming the path. Temporary
names carry the writer's pid (``.NAME.<pid>.<random>.part``) so that a later writer can remove
the leftovers of a killed process, and never those of a live one.
"""
from __future__ import annotations

import errno
import gzip
import hashlib
import os
import secrets
import shutil
import signal
from contextlib import contextmanager
from pathlib import Path
from typing import Iterable, Iterator, Optional, Sequence, Tuple, Union

from .columns import WHITESPACE
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


def temp_path(target: Path, kind: str = "part") -> Path:
    """``.NAME.<pid>.<random>.<kind>`` beside `target`: hidden, unique, and naming its owner."""
    return target.parent / f".{target.name}.{os.getpid()}.{secrets.token_hex(4)}.{kind}"


def _pid_alive(pid: int) -> bool:
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except (PermissionError, OverflowError):
        return True
    return True


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


def remove_stale_temporaries(target: Path) -> None:
    """Remove the ``.part``/``.old`` temporaries of `target` left by processes that are dead.

    A dead writer's ``.old`` while `target` is missing is the whole old directory of a
    replacement killed between its two renames (:func:`atomic_directory`): it is put back, not
    removed (the newest, should several writers have died there)."""
    prefix = f".{target.name}."
    try:
        names = os.listdir(target.parent)
    except OSError:
        return
    stale = []
    for name in names:
        if not name.startswith(prefix):
            continue
        parts = name[len(prefix):].split(".")
        if len(parts) == 3 and parts[0].isdigit() and parts[2] in ("part", "old") \
                and not _pid_alive(int(parts[0])):
            stale.append(target.parent / name)
    olds = [p for p in stale if p.suffix == ".old" and os.path.lexists(p)]
    if olds and not os.path.lexists(target):
        _restore(max(olds, key=lambda p: p.lstat().st_ctime_ns), target)
    for path in stale:
        remove_path(path)


def _fresh_temporary(target: Path) -> Path:
    """The name of a new temporary for `target`, once dead writers' leftovers are removed.

    Callers create it inside their ``try``, so that a signal landing just after the creation
    still removes it."""
    make_directory(target.parent)
    remove_stale_temporaries(target)
    return temp_path(target)


def _create_file(path: Path):
    """An empty file opened for writing with mode 0666 less the umask (mkstemp gives 0600)."""
    return os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)


@contextmanager
def atomic_write(path: PathLike, mode: str = "w") -> Iterator:
    """Write to a temporary file beside `path`, then rename: readers never see half a file.

    Any OSError (a directory in the way, no permission, a full disk) removes the temporary file
    and becomes an :class:`InputError` naming `path`.
    """
    target = Path(path)
    tmp = _fresh_temporary(target)
    try:
        with os.fdopen(_create_file(tmp), mode, **({} if "b" in mode else {"encoding": "utf-8", "newline": "\n"})) as fh:
            yield fh
        os.replace(tmp, target)
    except BaseException as exc:
        remove_path(tmp)
        if isinstance(exc, OSError):
            raise write_error(exc, target) from None
        raise


def write_text_atomic(path: PathLike, text: str) -> None:
    with atomic_write(path) as fh:
        fh.write(text)


@contextmanager
def atomic_directory(path: PathLike) -> Iterator[Path]:
    """Yield an empty hidden directory beside `path`; when the block ends, it replaces `path`.

    An existing `path` is renamed aside (``.old``), the new directory renamed into place, and
    the old one removed, with SIGINT/SIGTERM held over the three steps: an interruption lands
    before them (the old directory stays) or after (the new one is in place). An error between
    the renames puts the old directory back; a process killed between them (SIGKILL) leaves
    only the ``.old``, which the next writer restores (:func:`remove_stale_temporaries`). So
    `path` is the whole old or the whole new directory, never neither once anyone writes again.
    On any error the new directory is removed.
    """
    target = Path(path)
    tmp = _fresh_temporary(target)
    old = None
    try:
        tmp.mkdir()
        yield tmp
        with _signals_held():
            if os.path.lexists(target):
                old = temp_path(target, "old")
                target.rename(old)
            tmp.rename(target)
            if old is not None:
                remove_path(old)
    except BaseException as exc:
        if old is not None and os.path.lexists(old):
            if not os.path.lexists(tmp):        # the new directory is in: the old one goes
                remove_path(old)
            elif not os.path.lexists(target):
                _restore(old, target)
        remove_path(tmp)
        if isinstance(exc, OSError):
            raise write_error(exc, target) from None
        raise


def _restore(old: Path, target: Path) -> None:
    """Put the old directory of an unfinished replacement back at `target`. Should even this
    rename fail, the ``.old`` stays, and the next writer tries again."""
    try:
        old.rename(target)
    except OSError:
        pass


@contextmanager
def staging_directory(directory: PathLike) -> Iterator[Path]:
    """A private hidden directory inside `directory` for files that :func:`commit_file_set`
    moves out; whatever is left in it is removed when the block ends."""
    stage = _fresh_temporary(Path(directory) / "staged")
    try:
        try:
            stage.mkdir()
        except OSError as exc:
            raise write_error(exc, directory) from None
        yield stage
    finally:
        with _signals_held():       # a signal inside the removal would leave half a stage
            remove_path(stage)


def commit_file_set(stage: Path, directory: Path, record: str, companions: Sequence[str],
                    obsolete: Iterable[str] = ()) -> None:
    """Move the staged `companions`, then `record`, from `stage` into `directory` as one unit.

    `record` (a sidecar holding the sha256 of each companion) is the commit mark: the old record
    is removed first and the new one renamed into place last, so whenever a record is present the
    files beside it are the ones it describes; a set without its record is an interrupted write.
    `obsolete` names files of an older set that the new one no longer has: they go too.
    """
    try:
        for name in (record, *companions):
            remove_stale_temporaries(directory / name)
        with _signals_held():       # an interruption lands before or after the set, not inside
            for name in (record, *obsolete):
                if name not in companions:
                    remove_path(directory / name)
            for name in companions:
                os.replace(stage / name, directory / name)
            os.replace(stage / record, directory / record)
    except OSError as exc:
        raise write_error(exc, directory / (exc.filename and Path(exc.filename).name
                                            or record)) from None


@contextmanager
def _signals_held() -> Iterator[None]:
    """A SIGINT or SIGTERM that arrives while the block runs (a few renames) is noted and raised
    again once it is over, to whatever handler was there. Handled at Python's level, not by
    masking: a process-directed signal may land on any thread, and Python then interrupts the
    main thread whatever that thread's mask."""
    caught: list = []
    try:
        previous = {s: signal.signal(s, lambda signum, _frame: caught.append(signum))
                    for s in (signal.SIGINT, signal.SIGTERM)}
    except ValueError:              # not the main thread: only it may set handlers
        yield
        return
    try:
        yield
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, signal.SIG_DFL if handler is None else handler)
        if caught:
            signal.raise_signal(caught[0])


#: Descriptors of the output locks this process holds. A forked child closes its copies at once:
#: an flock belongs to the open file, so a worker that outlived a killed parent would keep it.
_held_locks: set = set()


def _drop_inherited_locks() -> None:
    for fd in _held_locks:
        os.close(fd)
    _held_locks.clear()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_drop_inherited_locks)


@contextmanager
def output_lock(path: PathLike) -> Iterator[None]:
    """Hold an exclusive ``fcntl`` lock on `path` for the block, so that two processes never
    write the same output at once; the second is told which pid holds it.

    The lock is the hidden file ``.NAME.lock`` beside `path` (holding the owner's pid), removed
    on release; a lock left by a killed process is free again, since the kernel drops its lock
    (forked children never hold it: they close their copy).
    """
    import fcntl

    target = Path(path)
    lock = target.parent / f".{target.name}.lock"
    make_directory(target.parent)
    fd, held = None, False
    try:
        with _signals_held():           # a signal mid-acquisition must not leave the lock file
            while not held:
                if fd is not None:
                    _held_locks.discard(fd)
                    os.close(fd)        # the previous holder removed that file: lock the new one
                fd = None
                try:
                    fd = os.open(lock, os.O_RDWR | os.O_CREAT, 0o666)
                except OSError as exc:
                    raise write_error(exc, target) from None
                _held_locks.add(fd)
                try:
                    fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                except BlockingIOError:
                    holder = os.read(fd, 32).decode("ascii", "replace").strip()
                    who = f"another fpig-trecvid process (pid {holder})" if holder.isdigit() \
                        else "another fpig-trecvid process"
                    raise InputError(f"{who} is writing this output now; wait for it to finish "
                                     f"or choose another output", target) from None
                try:
                    held = os.stat(lock).st_ino == os.fstat(fd).st_ino
                except FileNotFoundError:
                    held = False
            os.ftruncate(fd, 0)
            os.write(fd, f"{os.getpid()}\n".encode())
        yield
    finally:
        with _signals_held():
            if held:
                remove_path(lock)
            if fd is not None:
                _held_locks.discard(fd)
                os.close(fd)


def refuse_input_as_output(outputs: Iterable[PathLike],
                           inputs: Iterable[Tuple[str, Optional[PathLike]]]) -> None:
    """Refuse to write any of `outputs` over one of the `inputs` (label, path): the same file
    by ``os.path.samefile``, so a symlink or a hard link to an input is caught too."""
    existing = [(label, Path(p)) for label, p in inputs if p is not None and Path(p).exists()]
    for out in outputs:
        out = Path(out)
        if not out.exists():
            continue
        for label, p in existing:
            try:
                same = os.path.samefile(out, p)
            except OSError:
                continue
            if same:
                raise InputError(f"is the same file as the {label} {p}: writing it would "
                                 f"destroy the input; choose another output path", out)
