"""Writing outputs so that they give the guarantees docs/formats.md states.

An output appears under its final name only when complete (:func:`atomic_write`,
:func:`atomic_directory`), the files of one set are committed as a unit (:func:`commit_file_set`),
an output is never one of the inputs (:func:`refuse_input_as_output`), files and directories get
the user's umask, and an OSError becomes one :class:`InputError` naming the path. Temporary names
carry the writer's pid (``.NAME.<pid>.<random>.part``) so that a later writer can remove the
leftovers of a killed process, and never those of a live one.
"""
from __future__ import annotations

import os
import secrets
from contextlib import contextmanager
from pathlib import Path
from typing import Iterable, Iterator, Optional, Sequence, Tuple

from ..errors import InputError
from .files import PathLike, make_directory, remove_path, write_error
from .signals import signals_held


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


def _named_as_output(exc: InputError, tmp: Path, output: Path) -> InputError:
    """`exc` naming `output` where it named `tmp` or a file inside it: a temporary name means
    nothing to the user, who asked for `output` (a full disk while a store or a staged run file
    is written)."""
    if exc.path is None:
        return exc
    try:
        inside = Path(exc.path).relative_to(tmp)
    except ValueError:
        return exc
    return InputError(exc.reason, output / inside if inside.parts else output, exc.line)


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
        with signals_held():
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
        if isinstance(exc, InputError):
            raise _named_as_output(exc, tmp, target) from None
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
    except InputError as exc:
        raise _named_as_output(exc, stage, Path(directory)) from None
    finally:
        with signals_held():       # a signal inside the removal would leave half a stage
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
        with signals_held():       # an interruption lands before or after the set, not inside
            for name in (record, *obsolete):
                if name not in companions:
                    remove_path(directory / name)
            for name in companions:
                os.replace(stage / name, directory / name)
            os.replace(stage / record, directory / record)
    except OSError as exc:
        raise write_error(exc, directory / (exc.filename and Path(exc.filename).name
                                            or record)) from None


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
