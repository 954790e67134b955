"""One shard: decode its shots (reader, in workers) -> encode them (mapper) -> its files (writer).

Decoding is cut into small work units (up to :data:`UNIT_SHOTS` shots: of one video, in frame
order, or keyframe shots), so that a worker's result stays a few tens of MB and the window of
units in flight bounds the memory whatever the collection size.
"""
from __future__ import annotations

import time
from dataclasses import dataclass, replace
from typing import Callable, Dict, Iterable, Iterator, List, Optional, Sequence, Tuple, Union

import numpy as np

from . import shared_frames
from .mapper import Preprocess, ShotMapper
from .reader import read_shots
from .shots import Failure, Shot
from .writer import ShardOutput, ids_sha256

#: Shots per decode task; 16 shots x 12 frames x 224^2 x 3 bytes = 29 MB of pixels.
UNIT_SHOTS = 16
#: Frames per decode task when workers send full-size frames (``--preprocess device``):
#: 48 x 640x360 x 3 bytes = 33 MB, as the resized units; 300 MB at 1080p. A shot is never
#: split, so with --frames above 48 a unit is one shot's frames.
FULL_SIZE_UNIT_FRAMES = 48


@dataclass(frozen=True)
class ShardTask:
    """Shard `number`: the shots of rows ``[start, start+len(shots))`` of the shot list, and
    the sha256 of their :meth:`~.shots.Shot.plan` lines (made where the command runs: a Ray
    actor's working directory would make other absolute paths of relative ones)."""
    number: int
    shots: Tuple[Shot, ...]
    plan_sha256: str

    @classmethod
    def of(cls, number: int, shots: Sequence[Shot]) -> "ShardTask":
        return cls(number, tuple(shots), ids_sha256([s.plan() for s in shots]))

    @property
    def ids(self) -> Tuple[str, ...]:
        return tuple(s.shot_id for s in self.shots)


@dataclass(frozen=True)
class DecodeSpec:
    """What a decode worker needs (picklable): the sampling rule and the PIL steps; with
    `full_size`, plain RGB and L frames are sent as decoded (the mapper resizes them)."""
    sampling: str
    frames: int
    preprocess: Preprocess
    full_size: bool = False
    #: with full-size frames from worker processes: the tower's process id, under which
    #: each unit's frames go through shared memory (:mod:`.shared_frames`)
    shared_owner: Optional[int] = None
    #: FFmpeg threads for each decoder (:func:`.reader.decoder_threads`; 0: FFmpeg's choice)
    threads: int = 0

    def unit_frames(self) -> Optional[int]:
        """The most frames a work unit plans (None: only :data:`UNIT_SHOTS` bounds it)."""
        return FULL_SIZE_UNIT_FRAMES if self.full_size else None


@dataclass(frozen=True)
class DecodedShot:
    shot_id: str
    #: uint8 [T,H,W,3]; with full-size frames of several sizes, a tuple of [H,W,C] frames
    pixels: Union[np.ndarray, Tuple[np.ndarray, ...]]


Decoded = Union[DecodedShot, Failure]


def work_units(shots: Sequence[Shot], spec: Optional[DecodeSpec] = None
               ) -> List[Tuple[Shot, ...]]:
    """Shots grouped by video file (first appearance order), each group in frame order, cut
    into units of :data:`UNIT_SHOTS`; keyframe shots in list order, cut the same way. When
    `spec` sends full-size frames, a unit also plans at most ``spec.unit_frames()`` frames
    (a video shot counts ``spec.frames``, a keyframe shot its images up to that)."""
    groups: Dict[str, List[Shot]] = {}
    for shot in shots:
        groups.setdefault(shot.source if shot.is_video else "", []).append(shot)
    most = spec.unit_frames() if spec is not None else None
    units = []
    for source, group in groups.items():
        if source:
            group = sorted(group, key=lambda s: (s.frames or (0, 0), s.seconds or (0.0, 0.0)))
        unit: List[Shot] = []
        planned = 0
        for shot in group:
            frames = 0 if not most else spec.frames if shot.is_video else \
                min(len(shot.images), spec.frames)
            if unit and (len(unit) == UNIT_SHOTS or (most and planned + frames > most)):
                units.append(tuple(unit))
                unit, planned = [], 0
            unit.append(shot)
            planned += frames
        if unit:
            units.append(tuple(unit))
    return units


def decode_unit(unit: Tuple[Shot, ...], spec: DecodeSpec) -> List[Decoded]:
    """Read and resize one unit's frames (runs in a worker process). An unexpected error in a
    decoder fails the unit's shots with its message instead of stopping a million-shot run."""
    try:
        results = read_shots(unit, spec.sampling, spec.frames, spec.threads)
    except Exception as exc:  # noqa: BLE001 - third-party decoders raise anything
        return [Failure(s.shot_id, s.source, f"decoder error: {type(exc).__name__}: {exc}")
                for s in unit]
    out: List[Decoded] = []
    for result in results:
        if isinstance(result, Failure):
            out.append(result)
            continue
        try:
            if spec.full_size:      # stacked below, unless shared memory takes them as they are
                pixels = tuple(spec.preprocess.to_full_size(image) for image in result.images)
            else:
                pixels = np.stack([spec.preprocess.to_pixels(image) for image in result.images])
        except (OSError, ValueError) as exc:
            out.append(Failure(result.shot_id, str(result.taken[0]), f"cannot preprocess: {exc}"))
            continue
        out.append(DecodedShot(result.shot_id, pixels))
    if not spec.full_size:
        return out
    shared = _to_shared_memory(out, spec.shared_owner) if spec.shared_owner is not None \
        else None
    return shared or [_stacked(d) for d in out]


def _to_shared_memory(out: List[Decoded], owner: int) -> Optional[List[Decoded]]:
    """The unit's frames moved into one shared block; None if it does not fit."""
    decoded = [d for d in out if isinstance(d, DecodedShot)]
    refs = shared_frames.put([d.pixels for d in decoded], owner) if decoded else []
    if refs is None:
        return None
    shared = iter(refs)
    return [replace(d, pixels=next(shared)) if isinstance(d, DecodedShot) else d for d in out]


def _stacked(item: Decoded) -> Decoded:
    """A shot's full-size frames as one ``[T,H,W,C]`` array when they share a size."""
    if isinstance(item, DecodedShot) and len({f.shape for f in item.pixels}) == 1:
        return replace(item, pixels=np.stack(item.pixels))
    return item


def run_shard(task: ShardTask, decoded: Iterable[List[Decoded]], mapper: ShotMapper,
              keep_frames: bool, on_shots: Callable[[int, int], None]) -> ShardOutput:
    """Encode the decoded units of `task` as they arrive; the output is in shot-list order.

    `decoded` yields each unit's results (decoding runs ahead in the workers meanwhile);
    `on_shots(shots, frames)` reports progress per batch.
    """
    timings = {"decode_wait": 0.0, "encode": 0.0}
    stages_before = dict(mapper.stage_seconds)
    vectors: Dict[str, np.ndarray] = {}
    frame_vectors: Dict[str, np.ndarray] = {}
    failures: Dict[str, Failure] = {}
    pending: List[DecodedShot] = []
    frame_count = 0

    def encode_pending() -> None:
        nonlocal frame_count
        started = time.perf_counter()
        pooled, per_frame = mapper([d.pixels for d in pending])
        timings["encode"] += time.perf_counter() - started
        frames = sum(len(d.pixels) for d in pending)
        frame_count += frames
        for d, vector, rows in zip(pending, pooled, per_frame):
            vectors[d.shot_id] = vector
            if keep_frames:
                frame_vectors[d.shot_id] = rows
        on_shots(len(pending), frames)
        pending.clear()

    waited = time.perf_counter()
    for unit in _timed(decoded, timings):
        for item in unit:
            if isinstance(item, Failure):
                failures[item.shot_id] = item
                on_shots(1, 0)
            else:
                pending.append(item)
        if len(pending) >= mapper.batch_size:
            encode_pending()
    if pending:
        encode_pending()
    timings["total"] = time.perf_counter() - waited
    for key, value in mapper.stage_seconds.items():     # the encode time's parts
        timings[f"encode_{key}"] = value - stages_before.get(key, 0.0)
    ok = [s for s in task.ids if s in vectors]
    dim = int(mapper.encoder.output_dim)
    return ShardOutput(
        number=task.number, planned_ids=task.ids, plan_sha256=task.plan_sha256,
        ids=tuple(ok),
        features=np.stack([vectors[s] for s in ok]) if ok else np.zeros((0, dim), np.float32),
        frames=[frame_vectors[s] for s in ok] if keep_frames else None,
        failures=tuple(failures[s] for s in task.ids if s in failures),
        frame_count=frame_count, timings={k: round(v, 4) for k, v in timings.items()})


def _timed(items: Iterable, timings: Dict[str, float]) -> Iterator:
    """Yield from `items`, adding the time spent waiting for each to ``decode_wait``."""
    iterator = iter(items)
    while True:
        started = time.perf_counter()
        try:
            item = next(iterator)
        except StopIteration:
            return
        timings["decode_wait"] += time.perf_counter() - started
        yield item
