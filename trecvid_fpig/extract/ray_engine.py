"""``--engine ray``: the same shards on a Ray cluster (ray is imported only here, when used).

Shape: the driver hands whole shards to a pool of encode actors (``--actors``, each
``--num-gpus-per-actor``); an actor loads the tower once, cuts its shard into the same work
units as the local engine, decodes them as Ray CPU tasks (a window of them in flight, so the
object store holds a few units, not a shard of pixels), encodes them in order with the same
:func:`~.runner.run_shard`, and writes the shard files itself to the work directory, which
every node must see.

Why one shard per actor call rather than a Ray Data ``map_batches`` stream: a shard is the
unit of resume, so a call that dies is simply retried (Ray restarts the actor and reruns the
call) and the shard is rewritten atomically; batches are formed exactly as the local engine
forms them, so the bytes are the same; and only a small summary travels back to the driver.
"""
from __future__ import annotations

import os
import secrets
import socket
import sys
import time
from collections import deque
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Callable, Dict, Iterator, List, Optional, Sequence, Tuple

from ..base.workers import usable_cores
from ..errors import InputError
from .mapper import ShotMapper
from .runner import Decoded, DecodeSpec, ShardTask, decode_unit, run_shard, work_units
from .writer import ShardOutput

#: A call that fails because its worker process died is retried this many times.
RETRIES = 3
#: Work units per Ray decode task: fewer, larger tasks pay Ray's per-task cost less often; the
#: units themselves (and so the tower's batches) stay those of the local engine.
UNITS_PER_TASK = 4
MARKER = ".nodes-see-this"


@dataclass(frozen=True)
class RaySettings:
    """What ``--engine ray`` adds: where the cluster is and how encoding is spread."""
    address: Optional[str] = None        # None: start a local Ray for this command
    actors: int = 1
    num_gpus_per_actor: float = 0.0
    workers: Optional[int] = None        # decode tasks in flight, cluster-wide


class RayEngine:
    """Shards to encode actors; see the module docstring. After :meth:`run`, `actor_stats`
    holds each actor's shards, shots, frames and busy seconds."""
    name = "ray"

    def __init__(self, settings: RaySettings, opener: Callable[[], object], work: Path):
        self.settings, self.opener, self.work = settings, opener, Path(work)
        self.actor_stats: List[dict] = []
        self.wall_s = 0.0

    def run(self, shards: Sequence[ShardTask], spec: DecodeSpec, mapper: ShotMapper,
            keep_frames: bool, on_shard: Callable[[ShardOutput], None],
            on_shots: Callable[[int, int], None]) -> None:
        try:
            import ray
        except ImportError:
            raise InputError("--engine ray needs Ray: pip install 'fpig-trecvid[ray]'") from None

        started = time.perf_counter()
        own = connect(self.settings)
        try:
            check_nodes_see(self.work)
            if shards:
                self._run(ray, shards, spec, mapper.batch_size, keep_frames, on_shard, on_shots)
        finally:
            self.wall_s = time.perf_counter() - started
            if own:
                ray.shutdown()

    def _run(self, ray, shards, spec, batch_size, keep_frames, on_shard, on_shots) -> None:
        s = self.settings
        cpus = max(1, int(ray.cluster_resources().get("CPU", 1)))
        workers = s.workers or cpus
        depth = max(2, -(-2 * workers // s.actors) + 1)
        actor_class = ray.remote(ShardActor).options(
            num_cpus=0, num_gpus=s.num_gpus_per_actor, max_restarts=RETRIES,
            max_task_retries=RETRIES)
        spec = replace(spec, threads=1)     # each decode task holds one CPU of Ray's
        actors = [actor_class.remote(self.opener, batch_size, spec, keep_frames, on_shard, depth,
                                     os.getcwd()) for _ in range(s.actors)]
        try:
            self._feed(ray, actors, shards, on_shots)
            self.actor_stats = [dict(ray.get(a.stats.remote()), actor=i)
                                for i, a in enumerate(actors)]
        finally:                    # a joined cluster outlives the command: free its GPUs
            for actor in actors:
                ray.kill(actor)

    @staticmethod
    def _feed(ray, actors, shards, on_shots) -> None:
        """Two shards per actor: the next waits in the actor while one runs, so no actor
        waits on the driver between shards."""
        todo = deque(shards)
        running: Dict[object, int] = {}
        load = [0] * len(actors)
        while todo or running:
            while todo and min(load) < 2:
                slot = load.index(min(load))
                running[actors[slot].run.remote(todo.popleft())] = slot
                load[slot] += 1
            done, _ = ray.wait(list(running), num_returns=1)
            load[running.pop(done[0])] -= 1
            try:
                summary = ray.get(done[0])
            except ray.exceptions.RayError as exc:
                cause = getattr(exc, "cause", None)
                if isinstance(cause, InputError):
                    raise cause from None
                if cause is not None:
                    exc = cause
                raise InputError(f"a shard failed on the Ray cluster (a worker that died was "
                                 f"retried up to {RETRIES} times): {type(exc).__name__}: "
                                 f"{str(exc).splitlines()[0]}; the done shards are kept, "
                                 f"rerun the same command to resume") from None
            on_shots(summary["shots"], summary["frames"])


class ShardActor:
    """One encode actor: the tower loaded once; :meth:`run` does a whole shard."""

    def __init__(self, opener, batch_size: int, spec: DecodeSpec, keep_frames: bool,
                 on_shard: Callable[[ShardOutput], None], depth: int, cwd: str):
        import ray

        enter(cwd)
        self.cwd = cwd
        self.mapper = ShotMapper(opener(), batch_size, spec.full_size)
        self.spec, self.keep_frames, self.on_shard, self.depth = spec, keep_frames, on_shard, depth
        self.decode = ray.remote(num_cpus=1, max_retries=RETRIES)(decode_units)
        self.totals = {"node": socket.gethostname(), "pid": os.getpid(), "shards": 0,
                       "shots": 0, "frames": 0, "busy_s": 0.0}

    def run(self, task: ShardTask) -> dict:
        started = time.perf_counter()
        counted = {"shots": 0, "frames": 0}

        def count(shots: int, frames: int) -> None:
            counted["shots"] += shots
            counted["frames"] += frames

        shard = run_shard(task, self._decoded(task), self.mapper, self.keep_frames, count)
        self.on_shard(shard)
        self.totals["shards"] += 1
        self.totals["shots"] += counted["shots"]
        self.totals["frames"] += counted["frames"]
        self.totals["busy_s"] += time.perf_counter() - started
        return {"number": task.number, **counted}

    def _decoded(self, task: ShardTask) -> Iterator[List[Decoded]]:
        """The shard's units decoded as Ray tasks, `depth` ahead, consumed in order."""
        import ray

        units = work_units(task.shots, self.spec)
        groups = deque(units[i:i + UNITS_PER_TASK] for i in range(0, len(units), UNITS_PER_TASK))
        window: deque = deque()
        while groups or window:
            while groups and len(window) < self.depth:
                window.append(self.decode.remote(groups.popleft(), self.spec, self.cwd))
            yield from ray.get(window.popleft())

    def stats(self) -> dict:
        return dict(self.totals, busy_s=round(self.totals["busy_s"], 3))


def decode_units(units: Sequence[Tuple], spec: DecodeSpec, cwd: str) -> List[List[Decoded]]:
    """Several work units in one Ray task, each decoded as the local engine decodes it."""
    enter(cwd)
    return [decode_unit(unit, spec) for unit in units]


def enter(cwd: str) -> None:
    """Work in the driver's directory, so that relative paths (the output, the collection)
    name the same files: a joined cluster's workers start where `ray start` ran."""
    if os.path.isdir(cwd):
        os.chdir(cwd)


def connect(settings: RaySettings) -> bool:
    """Join the cluster at ``--ray-address``, or start a local Ray (True: stop it after)."""
    import ray

    if ray.is_initialized():
        return False
    if settings.address:
        try:
            ray.init(address=settings.address, log_to_driver=False)
        except (ConnectionError, RuntimeError, ValueError) as exc:
            raise InputError(f"--ray-address {settings.address}: cannot join the Ray cluster "
                             f"({str(exc).splitlines()[0]})") from None
        return False
    # The workers import the toolkit (and any plugin tower) from the driver's import path;
    # they inherit it from the environment Ray starts with (a runtime_env costs seconds).
    before = os.environ.get("PYTHONPATH")
    os.environ["PYTHONPATH"] = os.pathsep.join(p for p in sys.path if p and os.path.isdir(p))
    try:
        ray.init(num_cpus=settings.workers or usable_cores(),
                 include_dashboard=False, log_to_driver=False)
    finally:
        if before is None:
            del os.environ["PYTHONPATH"]
        else:
            os.environ["PYTHONPATH"] = before
    return True


def _read_marker(path: str) -> Tuple[str, Optional[str]]:
    try:
        return socket.gethostname(), Path(path).read_text(encoding="utf-8")
    except OSError:
        return socket.gethostname(), None


def check_nodes_see(work: Path, token: Optional[str] = None) -> None:
    """Fail at the start, not after hours, when a node cannot see the work directory: the
    driver writes a random token there and one tiny task on every node must read it back.
    `token` (tests) is what the nodes must find instead of the one just written."""
    import ray
    from ray.util.scheduling_strategies import NodeAffinitySchedulingStrategy

    marker = Path(os.path.abspath(work / MARKER))     # the nodes' workers start elsewhere
    written = secrets.token_hex(8)
    marker.write_text(written, encoding="utf-8")
    expected = written if token is None else token
    reader = ray.remote(num_cpus=0, max_retries=0)(_read_marker)
    nodes = [n for n in ray.nodes() if n.get("Alive")]
    refs = [reader.options(scheduling_strategy=NodeAffinitySchedulingStrategy(
        n["NodeID"], soft=False)).remote(str(marker)) for n in nodes]
    blind = [f"{n.get('NodeManagerAddress')} ({host})" for n, (host, seen)
             in zip(nodes, ray.get(refs)) if seen != expected]
    marker.unlink()
    if blind:
        raise InputError(f"{len(blind)} Ray node(s) cannot see the output's work directory "
                         f"{work}: {', '.join(blind)}; every node must see the same path (a "
                         f"shared filesystem) to write its shards there")
