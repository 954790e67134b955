"""``features extract``: checkpoint + collection -> store, in resumable shards.

The shot list is fixed first (input, ``--shots``, ``--exclude``) and cut into shards; shards
already on disk for the same settings are skipped; the engine runs the rest; the store is
assembled from the shards in shot-list order once no shot has failed (or, with
``--allow-missing``, without the failed ones, which the manifest then lists).
"""
from __future__ import annotations

import shutil
import time
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import List, Optional, Sequence, Tuple

from .._version import __version__
from ..base.devices import pick_device
from ..base.locks import output_lock
from ..errors import InputError
from ..formats.id_lists import read_id_list
from ..formats.store import check_store_destination
from . import parts
from . import shots as shot_lists
from . import writer
from .engines import make_engine
from .mapper import ShotMapper, open_encoder
from .reader import SAMPLINGS, decoder_versions
from .runner import DecodeSpec, ShardTask
from .shots import Failure, Shot

INPUT_KINDS = ("keyframes", "videos", "shot-table")
PREPROCESS = ("auto", "cpu", "device")


@dataclass(frozen=True)
class ExtractRequest:
    """What ``fpig-trecvid features extract`` was asked."""
    checkpoint: str
    out: str
    keyframes: Optional[str] = None
    videos: Optional[str] = None
    boundaries: Optional[str] = None
    shot_table: Optional[str] = None
    frames: int = 12
    sampling: Optional[str] = None          # None: keyframes for keyframes, else clip4clip
    shots: Optional[str] = None
    exclude: Tuple[str, ...] = ()
    video_encoder: Optional[str] = None
    tower_config: Optional[str] = None      # config.json / open_clip model config: the heads
    keep_frames: bool = False
    dtype: str = "float32"
    device: str = "auto"
    #: where open_clip's resize and crop run: "cpu" (PIL in the decode workers), "device"
    #: (exact_resize next to the tower), "auto" (device when the tower is on CUDA)
    preprocess: str = "auto"
    workers: Optional[int] = None
    batch_size: int = 32
    shard_shots: int = shot_lists.SHARD_SHOTS
    engine: str = "local"
    part: Optional[Tuple[int, int]] = None   # --shard I/N: (I, N), I from 1
    actors: int = 1                         # --engine ray: encode actors
    num_gpus_per_actor: float = 0.0
    ray_address: Optional[str] = None       # None: a local Ray started for the command
    overwrite: bool = False
    allow_missing: bool = False
    progress: bool = False


@dataclass(frozen=True)
class ExtractResult:
    """The store written (None while failures block it), and every failed shot."""
    out: Path
    manifest: Optional[dict]
    failures: Tuple[Failure, ...]
    failed_file: Optional[Path]
    shards_run: int
    shards_reused: int


def input_kind(request: ExtractRequest) -> str:
    given = [k for k, v in (("keyframes", request.keyframes), ("videos", request.videos),
                            ("shot-table", request.shot_table)) if v]
    if request.shot_table and request.videos and not request.keyframes:
        return "shot-table"          # --videos then only says where the table's videos are
    if len(given) != 1:
        raise InputError("give one input: --keyframes DIR, --videos DIR --boundaries DIR, "
                         "or --shot-table FILE")
    if given[0] == "videos" and not request.boundaries:
        raise InputError("--videos needs --boundaries DIR (the VVVVV.tsv master shot "
                         "boundaries)")
    return given[0]


def list_shots(request: ExtractRequest, kind: str) -> Tuple[List[Shot], List[Failure], str]:
    """The planned shots in order, the wanted shots the input lacks, and the sampling rule."""
    from ..formats.id_lists import resolve_exclude

    if kind == "keyframes":
        shots = shot_lists.keyframe_shots(request.keyframes)
    elif kind == "videos":
        shots = shot_lists.video_shots(request.videos, request.boundaries)
    else:
        shots = shot_lists.table_shots(request.shot_table, request.videos)
    sampling = request.sampling or ("keyframes" if kind == "keyframes" else "clip4clip")
    if sampling not in SAMPLINGS:
        raise InputError(f"--sampling must be one of {', '.join(SAMPLINGS)}, got {sampling!r}")
    if (sampling == "keyframes") != (kind == "keyframes"):
        raise InputError(f"--sampling {sampling} does not fit --{kind} input: keyframes take "
                         f"--sampling keyframes, videos clip4clip or uniform")
    wanted = read_id_list(request.shots) if request.shots else None
    excluded, _ = resolve_exclude(request.exclude)
    planned, missing = shot_lists.select(shots, wanted, excluded)
    return planned, missing, sampling


def extract_features(request: ExtractRequest, encoder=None) -> ExtractResult:
    """Run (or resume) the extraction; `encoder` replaces loading the checkpoint's tower."""
    started = time.perf_counter()
    if request.frames < 1 or request.batch_size < 1 or request.shard_shots < 1:
        raise InputError("--frames, --batch-size and --shard-size must be at least 1")
    if request.preprocess not in PREPROCESS:
        raise InputError(f"--preprocess must be one of {', '.join(PREPROCESS)}, got "
                         f"{request.preprocess!r}")
    out = Path(request.out)
    check_store_destination(out, request.overwrite)
    with output_lock(out):      # one extraction at a time into OUT and its OUT.shards
        return _extract(request, encoder, out, started)


def _extract(request: ExtractRequest, encoder, out: Path, started: float) -> ExtractResult:
    kind = input_kind(request)
    planned, missing, sampling = list_shots(request, kind)
    if not planned and not missing:
        raise InputError("no shots to extract (after --shots and --exclude)")
    if request.engine == "ray":
        # The actors load the tower on the GPUs Ray gives them (the driver may have none);
        # the driver's copy, on its CPU, only describes the tower.
        device = "cpu"
        actor_device = "cpu" if request.device == "cpu" or not request.num_gpus_per_actor \
            else ("cuda" if request.device == "auto" else request.device)
    else:
        device = actor_device = pick_device(request.device)
    given = encoder
    if encoder is None:
        encoder = open_encoder(request.checkpoint, device, request.video_encoder,
                               request.tower_config)
    tower = encoder.provenance()
    settings = {
        "input": kind, "shots": len(planned),
        "shots_sha256": writer.ids_sha256([s.shot_id for s in planned]),
        "checkpoint_sha256": tower.get("checkpoint_sha256"),
        "tower": tower.get("kind", getattr(encoder, "kind", None)),
        "video_encoder": request.video_encoder, "heads": tower.get("heads"),
        "image_size": int(encoder.image_size),
        "dim": int(encoder.output_dim), "sampling": sampling, "frames": request.frames,
        "keep_frames": request.keep_frames, "shard_shots": request.shard_shots,
        "device": actor_device.split(":")[0],
    }
    run_hash = writer.settings_sha256(settings)
    ranges = shot_lists.shard_ranges(len(planned), request.shard_shots)
    part = None
    if request.part:
        index, count = request.part
        first, stop = parts.part_shards(len(ranges), index, count)
        ranges = ranges[first:stop]
        part = {"index": index, "of": count, "shards": [first, stop],
                "rows": [ranges[0][0], ranges[-1][1]], "run_settings_sha256": run_hash}
        settings = dict(settings, part=[index, count])
        missing = missing if index == 1 else []     # listed once, by part 1
    settings_hash = writer.settings_sha256(settings)
    work = writer.work_directory(out)
    writer.start_work(work, settings, request.overwrite)
    shards = [ShardTask.of(n, planned[a:b]) for n, (a, b) in enumerate(ranges)]
    pending = [t for t in shards
               if not writer.shard_done(work, t.number, t.plan_sha256, settings_hash)]
    where = preprocess_where(request, actor_device, encoder)
    mapper = ShotMapper(encoder, request.batch_size, full_size=where == "device")
    spec = DecodeSpec(sampling, request.frames, mapper.preprocess, where == "device")
    stats = _Progress(sum(len(t.shots) for t in pending), request.progress)
    if request.engine == "ray":
        from .ray_engine import RayEngine, RaySettings

        opener = partial(_given, given) if given is not None else partial(
            open_encoder, request.checkpoint, actor_device, request.video_encoder,
            request.tower_config)
        engine = RayEngine(RaySettings(request.ray_address, request.actors,
                                       request.num_gpus_per_actor, request.workers),
                           opener, work)
    else:
        engine = make_engine(request.engine, request.workers)
    with stats:
        engine.run(pending, spec, mapper, request.keep_frames,
                   writer.ShardSink(work, settings_hash), stats.update)
    failures = list(missing)
    for task in shards:
        failures.extend(writer.shard_failures(work, task.number))
    failed_file = writer.write_failures(out, failures)
    result = dict(out=out, failures=tuple(failures), shards_run=len(pending),
                  shards_reused=len(shards) - len(pending))
    if failures and not request.allow_missing:
        return ExtractResult(manifest=None, failed_file=failed_file, **result)
    record = {
        "input": {"kind": kind, "path": request.keyframes or request.videos or
                  request.shot_table, "boundaries": request.boundaries,
                  "shots": request.shots, "exclude": list(request.exclude)},
        "settings": settings, "settings_sha256": settings_hash,
        "tower": tower, "sampling": sampling, "frames_per_shot": request.frames,
        "image_size": int(encoder.image_size), "decoder": decoder_versions(),
        "failed": [[f.shot_id, f.source, f.reason] for f in failures],
        "engine": request.engine, "device": settings["device"],
        # Not a setting: both give the same bytes, so a store (or a resumed one) may mix them.
        "preprocess": where,
        "timings": _timings(work, shards, stats, time.perf_counter() - started,
                            _gpu_hours(engine, request, stats.elapsed(), device)),
        "created_by": f"fpig-trecvid {__version__}",
    }
    if part:
        record["part"] = dict(part, planned=sum(len(t.shots) for t in shards),
                              planned_ids_sha256=writer.ids_sha256(
                                  [i for t in shards for i in t.ids]))
    manifest = writer.assemble_store(out, work, len(shards), request.dtype,
                                     request.keep_frames, record)
    shutil.rmtree(work, ignore_errors=True)
    return ExtractResult(manifest=manifest, failed_file=failed_file if failures else None,
                         **result)


def preprocess_where(request: ExtractRequest, device: str, encoder) -> str:
    """"cpu" or "device": --preprocess, with auto meaning device when the tower is on CUDA
    and its preprocessing is open_clip's eval transform (which exact_resize reproduces)."""
    from .mapper import split_transform

    if request.preprocess != "auto":
        return request.preprocess
    exact = split_transform(encoder.preprocess()).exact_size is not None
    return "device" if device.startswith("cuda") and exact else "cpu"


def _given(encoder):
    return encoder


def _gpu_hours(engine, request: ExtractRequest, elapsed: float, device: str) -> dict:
    """GPU time this call held (actors x GPUs each x wall time, or the local GPU's wall time),
    and, for Ray, what each actor did."""
    if getattr(engine, "name", None) == "ray":
        held = engine.wall_s * request.actors * request.num_gpus_per_actor
        actors = [dict(a, shots_per_s=round(a["shots"] / max(a["busy_s"], 1e-9), 2))
                  for a in engine.actor_stats]
        return {"gpu_hours": round(held / 3600, 6), "actors": actors}
    return {"gpu_hours": round(elapsed / 3600, 6) if device.startswith("cuda") else 0.0}


def _timings(work: Path, shards: Sequence[ShardTask], stats: "_Progress", wall: float,
             accounting: dict) -> dict:
    """This call's wall time and rates, GPU-hours, and the per-stage sums over every shard's
    manifest."""
    stages: dict = {}
    for task in shards:
        for key, value in (writer.read_shard_manifest(work, task.number) or {}) \
                .get("timings_s", {}).items():
            stages[key] = round(stages.get(key, 0.0) + value, 4)
    return {"wall_s": round(wall, 3), "shots_this_call": stats.shots,
            "frames_this_call": stats.frames,
            "shots_per_s": round(stats.shots / max(stats.elapsed(), 1e-9), 2),
            "frames_per_s": round(stats.frames / max(stats.elapsed(), 1e-9), 2),
            "shard_stage_sums_s": stages, **accounting}


class _Progress:
    """Shots and frames done; a tqdm bar with shots/s, frames/s and the ETA when enabled."""

    def __init__(self, total: int, enabled: bool):
        self.total, self.enabled = total, enabled
        self.shots = self.frames = 0
        self.bar = None
        self.started = time.perf_counter()

    def __enter__(self) -> "_Progress":
        self.started = time.perf_counter()
        if self.enabled:
            from tqdm import tqdm

            self.bar = tqdm(total=self.total, unit="shot", desc="extract", leave=False)
        return self

    def __exit__(self, *exc) -> None:
        if self.bar is not None:
            self.bar.close()

    def elapsed(self) -> float:
        return time.perf_counter() - self.started

    def update(self, shots: int, frames: int) -> None:
        self.shots += shots
        self.frames += frames
        if self.bar is not None:
            self.bar.update(shots)
            self.bar.set_postfix_str(f"{self.frames / max(self.elapsed(), 1e-9):.1f} frames/s",
                                     refresh=False)
