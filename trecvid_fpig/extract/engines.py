"""Where shards run. An :class:`Engine` gets the pending shards and hands back each finished
:class:`~.writer.ShardOutput`; the shard list, resume rule and files are the same whatever the
engine, so a Ray engine (one shard per task, the mapper in GPU actors) fits behind this
interface without changing the output.
"""
from __future__ import annotations

import os
import time
from collections import deque
from concurrent.futures.process import BrokenProcessPool
from dataclasses import replace
from typing import Callable, Iterable, Iterator, List, Optional, Protocol, Sequence

from ..base.workers import process_pool, usable_cores
from ..errors import InputError
from . import shared_frames
from .mapper import ShotMapper
from .reader import decoder_threads
from .runner import Decoded, DecodeSpec, ShardTask, decode_unit, run_shard, work_units
from .writer import ShardOutput

ENGINES = ("local",)


class Engine(Protocol):
    name: str

    def run(self, shards: Sequence[ShardTask], spec: DecodeSpec, mapper: ShotMapper,
            keep_frames: bool, on_shard: Callable[[ShardOutput], None],
            on_shots: Callable[[int, int], None]) -> None:
        """Run every shard; call `on_shard` with each one's output, in any order."""


class LocalEngine:
    """This machine: `workers` decode processes (0: decode in this process) feed the tower.

    At most ``2 * workers + 2`` work units are in flight, so memory stays a few batches deep.
    Units are consumed in submission order, so the output never depends on worker timing.
    """
    name = "local"

    def __init__(self, workers: Optional[int] = None):
        self.workers = usable_cores() if workers is None else workers

    def run(self, shards: Sequence[ShardTask], spec: DecodeSpec, mapper: ShotMapper,
            keep_frames: bool, on_shard: Callable[[ShardOutput], None],
            on_shots: Callable[[int, int], None]) -> None:
        if self.workers == 0:
            for task in shards:
                units = (decode_unit(u, spec) for u in work_units(task.shots, spec))
                on_shard(run_shard(task, units, mapper, keep_frames, on_shots))
            return
        spec = replace(spec, threads=decoder_threads(self.workers))
        if spec.full_size and shared_frames.available():
            spec = replace(spec, shared_owner=os.getpid())
        # fork keeps start-up at milliseconds; the workers only run PIL and PyAV. A worker
        # that dies (out of memory, a decoder crash) breaks the pool with an error, not a hang;
        # the workers die with this process and leave signals to it.
        try:
            with process_pool(self.workers) as pool, _FeedingThreads(mapper) as threads:
                feed = _Window(pool, spec, 2 * self.workers + 2)
                for index, task in enumerate(shards):
                    # The next shard's units queue behind this one's: no idle workers at the
                    # seam.
                    for ahead in shards[index:index + 2]:
                        feed.plan(ahead)
                    units = threads.watch(feed.results(task.number))
                    on_shard(run_shard(task, units, mapper, keep_frames, on_shots))
        finally:
            if spec.shared_owner is not None:
                shared_frames.remove_leftovers(spec.shared_owner)


class _FeedingThreads:
    """torch's CPU threads in this process while decode workers fill the cores.

    Threads that are not needed spin against the workers after every parallel step. With the
    tower on a GPU this process only feeds it: one thread. With the tower on the CPU it depends
    on which side bounds: once the tower has encoded, while this process has waited for decoded
    frames longer than it has encoded (a light tower), one thread; else (a heavy tower) all.
    """

    def __init__(self, mapper: ShotMapper):
        self.mapper = mapper
        self.gpu = str(getattr(mapper.encoder, "device", "cpu")).startswith("cuda")
        self.waited = 0.0

    def __enter__(self) -> "_FeedingThreads":
        import torch

        self.all = self.current = torch.get_num_threads()
        if self.gpu:
            self._use(1)
        return self

    def __exit__(self, *exc) -> None:
        self._use(self.all)

    def watch(self, units: Iterable[List[Decoded]]) -> Iterator[List[Decoded]]:
        """Yield `units`, timing the waits for them against the tower's time."""
        units = iter(units)
        while True:
            started = time.perf_counter()
            try:
                unit = next(units)
            except StopIteration:
                return
            self.waited += time.perf_counter() - started
            yield unit
            if not self.gpu and self.mapper.encode_seconds:
                self._use(1 if self.waited > self.mapper.encode_seconds else self.all)

    def _use(self, threads: int) -> None:
        import torch

        if threads != self.current:
            torch.set_num_threads(threads)
            self.current = threads


class _Window:
    """Decode units submitted ahead, across shard boundaries, at most `depth` at a time."""

    def __init__(self, pool, spec: DecodeSpec, depth: int):
        self.pool, self.spec, self.depth = pool, spec, depth
        self.queue: deque = deque()      # (shard number, Future)
        self.waiting: deque = deque()    # (shard number, unit) not yet submitted
        self.planned: set = set()

    def plan(self, task: ShardTask) -> None:
        if task.number not in self.planned:
            self.planned.add(task.number)
            self.waiting.extend((task.number, u) for u in work_units(task.shots, self.spec))

    def _fill(self) -> None:
        while self.waiting and len(self.queue) < self.depth:
            number, unit = self.waiting.popleft()
            self.queue.append((number, self.pool.submit(decode_unit, unit, self.spec)))

    def results(self, number: int) -> Iterator[List[Decoded]]:
        """Shard `number`'s units in submission order (it must be the oldest planned)."""
        self._fill()
        while self.queue and self.queue[0][0] == number:
            _, result = self.queue.popleft()
            self._fill()
            try:
                yield shared_frames.take(result.result())
            except BrokenProcessPool:
                raise InputError("a decode worker process died (out of memory?); the finished "
                                 "shards are kept: rerun the same command, perhaps with fewer "
                                 "--workers, to resume") from None


def make_engine(name: str, workers: Optional[int]) -> Engine:
    if name == "local":
        return LocalEngine(workers)
    raise ValueError(f"unknown engine {name!r}")  # the CLI offers only ENGINES
