"""Worker processes that end with the command.

Each worker is forked with SIGINT and SIGTERM held off and then ignores them: the command's own
handler ends it and kills its workers, so a signal gives one line, never a traceback from a
worker. A worker dies with its parent (``PR_SET_PDEATHSIG`` on Linux, a parent watch
elsewhere), so a ``kill -9`` of the command leaves no orphan behind; and a worker that dies is
an error at once (:class:`WorkerDied`), never a wait on a result that will not come.
"""
from __future__ import annotations

import ctypes
import multiprocessing
import multiprocessing.connection
import os
import signal
import sys
import threading
import time
import traceback
from concurrent.futures import ProcessPoolExecutor
from contextlib import contextmanager
from typing import Callable, Iterator, List, Sequence, TypeVar

Item = TypeVar("Item")
Result = TypeVar("Result")

_SIGNALS = (signal.SIGINT, signal.SIGTERM)
#: prctl(2) option: the signal this process gets when the thread that forked it ends.
_PR_SET_PDEATHSIG = 1


def usable_cores() -> int:
    """The cores this process may run on: its CPU affinity (taskset, a batch scheduler's
    cgroup), not the machine's count, so a job given 8 of 64 cores starts 8 workers."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # pragma: no cover - not Linux
        return os.cpu_count() or 1


class WorkerDied(Exception):
    """The worker given ``items[index]`` ended without a result (killed, or ``os._exit``)."""

    def __init__(self, index: int, exitcode: int):
        self.index, self.exitcode = index, exitcode
        super().__init__(f"a worker process {self.cause}")

    @property
    def cause(self) -> str:
        if self.exitcode is not None and self.exitcode < 0:
            name = signal.Signals(-self.exitcode).name
            hint = " (out of memory?)" if self.exitcode == -signal.SIGKILL else ""
            return f"was killed by {name}{hint}"
        return f"exited with code {self.exitcode} before its result"


class RemoteTraceback(Exception):
    """Where a worker's exception was raised, attached as the ``__cause__`` of the re-raise."""

    def __str__(self) -> str:
        return self.args[0]


@contextmanager
def _signals_blocked() -> Iterator[None]:
    """Fork inside this block: the child starts with SIGINT and SIGTERM pending, not handled by
    the parent's handler, until :func:`start_worker` has set its own."""
    if not hasattr(signal, "pthread_sigmask"):      # pragma: no cover - not POSIX
        yield
        return
    previous = signal.pthread_sigmask(signal.SIG_BLOCK, _SIGNALS)
    try:
        yield
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, previous)


def start_worker(parent: int) -> None:
    """First thing in a worker: leave signals to the parent, and die with it."""
    for signum in _SIGNALS:
        signal.signal(signum, signal.SIG_IGN)
    if hasattr(signal, "pthread_sigmask"):
        signal.pthread_sigmask(signal.SIG_UNBLOCK, _SIGNALS)
    if sys.platform.startswith("linux"):
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
    else:                                           # pragma: no cover - not Linux
        threading.Thread(target=_watch_parent, args=(parent,), daemon=True).start()
    if os.getppid() != parent:      # the parent died before the watch began
        os._exit(1)


def _watch_parent(parent: int) -> None:  # pragma: no cover - not Linux
    while os.getppid() == parent:
        time.sleep(0.5)
    os._exit(1)


@contextmanager
def process_pool(workers: int) -> Iterator[ProcessPoolExecutor]:
    """A :class:`ProcessPoolExecutor` of `workers` forked workers; when the block ends with an
    exception (a signal, a dead worker) they are killed at once instead of finishing the work
    queued for them."""
    before = set(multiprocessing.active_children())
    context = multiprocessing.get_context("fork" if os.name == "posix" else "spawn")
    pool = ProcessPoolExecutor(workers, mp_context=context, initializer=start_worker,
                               initargs=(os.getpid(),))
    try:
        with _signals_blocked():
            pool.submit(int)        # forks every worker now (fork pools start them all at once)
        yield pool
    except BaseException:
        pool.shutdown(wait=False, cancel_futures=True)
        _kill(set(multiprocessing.active_children()) - before)
        raise
    finally:
        pool.shutdown(wait=True)


def fork_map(function: Callable[[Item], Result], items: Sequence[Item],
             workers: int) -> List[Result]:
    """``[function(item) for item in items]``, each call in its own forked child (which shares
    this process's memory without copying it), `workers` at a time.

    An exception in a child is raised here; a child that dies raises :class:`WorkerDied` with
    its item's index at once. Either way, and on a signal, the other children are killed.
    """
    context = multiprocessing.get_context("fork")
    results: List = [None] * len(items)
    running: dict = {}              # result pipe -> (index, process)
    queued = iter(enumerate(items))
    try:
        while True:
            while len(running) < workers:
                index, item = next(queued, (None, None))
                if index is None:
                    break
                reader, writer = context.Pipe(duplex=False)
                process = context.Process(target=_run_child, daemon=True,
                                          args=(os.getpid(), writer, function, item))
                with _signals_blocked():
                    process.start()
                writer.close()      # the child's end: its death is then this pipe's end
                running[reader] = (index, process)
            if not running:
                return results
            for reader in multiprocessing.connection.wait(list(running)):
                index, process = running.pop(reader)
                try:
                    message = reader.recv()
                except (EOFError, OSError):
                    process.join()
                    raise WorkerDied(index, process.exitcode) from None
                finally:
                    reader.close()
                process.join()
                ok, value, where = message
                if not ok:
                    raise value from RemoteTraceback(where)
                results[index] = value
    except BaseException:
        _kill(process for _, process in running.values())
        raise


def _run_child(parent: int, writer, function: Callable, item) -> None:
    start_worker(parent)
    try:
        message = (True, function(item), "")
    except BaseException as exc:  # noqa: BLE001 - handed to the parent to raise
        message = (False, exc, traceback.format_exc())
    try:
        writer.send(message)
    except Exception as exc:  # noqa: BLE001 - a result or exception that does not pickle
        writer.send((False, RuntimeError(f"a worker's result cannot be sent: {exc}"),
                     traceback.format_exc()))


def _kill(processes) -> None:
    processes = list(processes)
    for process in processes:
        process.kill()
    for process in processes:
        process.join()
