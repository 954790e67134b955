"""One process at a time writes an output: an ``fcntl`` lock beside it, naming its holder."""
from __future__ import annotations

import os
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

from ..errors import InputError
from .files import PathLike, make_directory, remove_path, write_error
from .signals import signals_held

#: Descriptors of the output locks this process holds. A forked child closes its copies at once:
#: an flock belongs to the open file, so a worker that outlived a killed parent would keep it.
_held_locks: set = set()


def _drop_inherited_locks() -> None:
    for fd in _held_locks:
        os.close(fd)
    _held_locks.clear()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_drop_inherited_locks)


def lock_file(path: PathLike) -> Path:
    """The hidden lock file beside `path`: ``.NAME.lock``."""
    target = Path(path)
    return target.parent / f".{target.name}.lock"


def being_written(path: PathLike) -> bool:
    """Whether another process holds `path`'s output lock now (a shared probe: it takes nothing,
    so an output on a read-only mount can still be read)."""
    import fcntl

    try:
        fd = os.open(lock_file(path), os.O_RDONLY)
    except OSError:                     # no lock file: nobody has written it since
        return False
    try:
        fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
        return False
    except BlockingIOError:
        return True
    finally:
        os.close(fd)


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
    lock = lock_file(target)
    make_directory(target.parent)
    fd, held = None, False
    try:
        with signals_held():           # a signal mid-acquisition must not leave the lock file
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
        with signals_held():
            if held:
                remove_path(lock)
            if fd is not None:
                _held_locks.discard(fd)
                os.close(fd)
