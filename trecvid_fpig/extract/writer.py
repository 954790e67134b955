"""Shard files while a run goes on, and the store assembled from them at the end.

Work directory ``OUT.shards/`` beside the store::

    settings.json         the run's settings and their sha256 (a resume must match them)
    shard-00000/          one directory per shard, renamed into place when complete:
        manifest.json     shard number, planned ids' sha256, plan sha256 (the planned shots'
                          files and frames), settings sha256, arrays' sha256,
                          failures, timings
        features.npy      float32 unit shot vectors of the shots that did not fail
        ids.npy           their ids (``|S<w>``)
        frames.npy        with --keep-frames: float32 frame vectors, shot after shot
        frame_counts.npy  with --keep-frames: int64 frame rows per shot

A shard counts as done only if its manifest names the same settings and the same planned
shots from the same files and frames (so a rerun on another directory or corrected boundaries
redoes it), its arrays hash to what the manifest says, and none of its shots failed (so fixing
a missing video and rerunning redoes just those shards).
"""
from __future__ import annotations

import hashlib
import json
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Dict, List, Optional, Sequence, Tuple

import numpy as np

from ..base.files import file_sha256
from ..base.outputs import atomic_directory, atomic_write
from ..base.vectors import unit_float32, unit_row_norms
from ..errors import InputError
from ..formats.feature_files import load_npy
from ..formats.store import reserved_memmap
from ..formats.store_manifest import (FEATURES, FRAME_OFFSETS, FRAMES, IDS, MANIFEST, NormStats,
                                      id_array, source_record, write_manifest)
from .shots import Failure

SETTINGS = "settings.json"
FRAME_COUNTS = "frame_counts.npy"
SHARD_FORMAT = "fpig-trecvid extract shard"


def work_directory(out: Path) -> Path:
    return out.parent / f"{out.name}.shards"


def failed_path(out: Path) -> Path:
    return out.parent / f"{out.name}.failed.tsv"


def shard_directory(work: Path, number: int) -> Path:
    return work / f"shard-{number:05d}"


def ids_sha256(ids: Sequence[str]) -> str:
    return hashlib.sha256("\n".join(ids).encode("utf-8")).hexdigest()


def settings_sha256(settings: dict) -> str:
    return hashlib.sha256(json.dumps(settings, sort_keys=True).encode("utf-8")).hexdigest()


def _dump(obj: dict) -> str:
    return json.dumps(obj, indent=2) + "\n"


def start_work(work: Path, settings: dict, overwrite: bool) -> None:
    """Create ``OUT.shards`` with `settings`, or check that an existing one has the same."""
    path = work / SETTINGS
    if overwrite and work.exists():
        shutil.rmtree(work)
    if path.is_file():
        before = json.loads(path.read_text(encoding="utf-8"))
        if before.get("settings") != settings:
            old = before.get("settings", {})
            changed = [f"{k}: {old.get(k)!r} -> {settings.get(k)!r}"
                       for k in sorted(set(old) | set(settings)) if old.get(k) != settings.get(k)]
            raise InputError("an unfinished extraction here was started with different settings ("
                             + "; ".join(changed) + "); rerun it with its own settings, or "
                             "pass --overwrite to start again", work)
        return
    work.mkdir(parents=True, exist_ok=True)
    with atomic_write(path) as fh:
        fh.write(_dump({"settings": settings, "settings_sha256": settings_sha256(settings)}))


@dataclass(frozen=True)
class ShardOutput:
    """What one shard produced: vectors for the shots that worked, failures for the rest."""
    number: int
    planned_ids: Tuple[str, ...]
    plan_sha256: str        # where the planned shots' pixels come from (runner.ShardTask)
    ids: Tuple[str, ...]
    features: np.ndarray
    frames: Optional[List[np.ndarray]]
    failures: Tuple[Failure, ...]
    frame_count: int
    timings: Dict[str, float]


@dataclass(frozen=True)
class ShardSink:
    """Writes each finished shard (picklable, so a Ray actor writes its shards itself)."""
    work: Path
    settings_hash: str

    def __call__(self, shard: ShardOutput) -> None:
        write_shard(self.work, shard, self.settings_hash)


def write_shard(work: Path, shard: ShardOutput, settings_hash: str) -> None:
    """The shard's directory, built under a hidden name and renamed into place."""
    with atomic_directory(shard_directory(work, shard.number)) as tmp:
        np.save(tmp / FEATURES, np.ascontiguousarray(shard.features, np.float32),
                allow_pickle=False)
        np.save(tmp / IDS, id_array(shard.ids), allow_pickle=False)
        names = [FEATURES, IDS]
        if shard.frames is not None:
            counts = np.array([len(f) for f in shard.frames], dtype=np.int64)
            dim = shard.features.shape[1]
            rows = np.concatenate(shard.frames) if shard.frames else np.zeros((0, dim))
            np.save(tmp / FRAMES, np.ascontiguousarray(rows, np.float32), allow_pickle=False)
            np.save(tmp / FRAME_COUNTS, counts, allow_pickle=False)
            names += [FRAMES, FRAME_COUNTS]
        manifest = {
            "format": SHARD_FORMAT, "shard": shard.number, "settings_sha256": settings_hash,
            "planned": len(shard.planned_ids), "planned_ids_sha256": ids_sha256(shard.planned_ids),
            "plan_sha256": shard.plan_sha256,
            "count": len(shard.ids), "frames": shard.frame_count,
            "sha256": {name: file_sha256(tmp / name) for name in names},
            "failures": [[f.shot_id, f.source, f.reason] for f in shard.failures],
            "timings_s": shard.timings,
        }
        (tmp / MANIFEST).write_text(_dump(manifest), encoding="utf-8")


def read_shard_manifest(work: Path, number: int) -> Optional[dict]:
    path = shard_directory(work, number) / MANIFEST
    if not path.is_file():
        return None
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError):
        return None


def shard_done(work: Path, number: int, plan_sha256: str, settings_hash: str) -> bool:
    """True when the shard on disk is complete, for these settings and the same shots from the
    same files (`plan_sha256`), and clean."""
    manifest = read_shard_manifest(work, number)
    if manifest is None or manifest.get("failures"):
        return False
    if manifest.get("settings_sha256") != settings_hash or \
            manifest.get("plan_sha256") != plan_sha256:
        return False
    directory = shard_directory(work, number)
    return all((directory / name).is_file() and file_sha256(directory / name) == digest
               for name, digest in manifest.get("sha256", {}).items())


def shard_failures(work: Path, number: int) -> List[Failure]:
    manifest = read_shard_manifest(work, number) or {}
    return [Failure(*row) for row in manifest.get("failures", [])]


def write_failures(out: Path, failures: Sequence[Failure]) -> Path:
    """``OUT.failed.tsv``: shot, file, reason; removed when nothing failed."""
    path = failed_path(out)
    if not failures:
        if path.exists():
            path.unlink()
        return path
    with atomic_write(path) as fh:
        fh.write("shot\tfile\treason\n")
        for f in failures:
            fh.write(f"{f.shot_id}\t{f.source}\t{' '.join(f.reason.split())}\n")
    return path


def assemble_store(out: Path, work: Path, shards: int, dtype: str, keep_frames: bool,
                   record: dict) -> dict:
    """Concatenate the shards, in shard order, into the store at `out`; returns its manifest.

    The store is the one ``features convert`` writes (rows L2-normalised), plus, with
    --keep-frames, ``frames.npy`` and ``frame_offsets.npy`` (shot i owns frame rows
    ``offsets[i]:offsets[i+1]``). `record` (the extraction's provenance) goes in the manifest.
    """
    return write_store(out, [shard_directory(work, n) for n in range(shards)], dtype,
                       keep_frames, record)


def write_store(out: Path, parts: Sequence[Path], dtype: str, keep_frames: bool,
                record: dict, stored_rows: bool = False,
                norms: Optional[NormStats] = None) -> dict:
    """The store at `out` from `parts`, rows in part order: shard directories (the tower's
    rows, made unit here), or with `stored_rows` partial stores, whose rows are already the
    store's and are copied unchanged, so a merged store has the same bytes as one run.
    `norms`: the tower's norms, when the rows no longer have them (the parts' manifests')."""
    counts, dim = [], None
    for part in parts:
        header = load_npy(part / FEATURES, mmap=True)
        counts.append(header.shape[0])
        dim = header.shape[1] if dim is None else dim
    total = sum(counts)
    if total == 0:
        raise InputError("no shot could be encoded, so there is no store to write", out)
    with atomic_directory(out) as tmp:
        features = reserved_memmap(tmp / FEATURES, np.dtype(dtype), (total, dim))
        ids: List[str] = []
        found = []
        row = 0
        for part, count in zip(parts, counts):
            block = load_npy(part / FEATURES)
            ids.extend(i.decode("utf-8") for i in load_npy(part / IDS).tolist())
            found.append(unit_row_norms(block, ids.__getitem__, "shot", part, row))
            # as `features convert` does; normalising stored rows again could move a last bit
            features[row:row + count] = block if stored_rows else unit_float32(block)
            row += count
        features.flush()
        del features
        np.save(tmp / IDS, id_array(ids), allow_pickle=False)
        if keep_frames:
            _assemble_frames(tmp, parts, dim, dtype, ids)
        stats = norms       # given: the stored rows' norms are 1 (or float16's rounding of 1)
        if stats is None:
            stats = NormStats()
            stats.add(np.concatenate(found))    # one sum, not one per part: order moves the mean
        if record.get("part"):                  # what a merge needs for the whole run's mean
            record = dict(record, part=dict(record["part"], norms_sum=stats.total))
        return write_manifest(
            tmp, count=total, dim=dim, dtype=dtype, norms=stats.record(), pool=None,
            source=source_record(f"extract ({record['input']['kind']})",
                                 record["input"]["path"], total, int(dim), "float32"),
            extract=record, frames=keep_frames)


def _assemble_frames(tmp: Path, parts: Sequence[Path], dim: int, dtype: str,
                     ids: Sequence[str]) -> None:
    counts = np.concatenate([_frame_counts(p) for p in parts])
    offsets = np.zeros(len(counts) + 1, dtype=np.int64)
    np.cumsum(counts, out=offsets[1:])
    frames = reserved_memmap(tmp / FRAMES, np.dtype(dtype), (int(offsets[-1]), dim))

    def frame_id(row: int) -> str:
        shot = int(np.searchsorted(offsets, row, side="right")) - 1
        return f"{row - offsets[shot] + 1} of shot {ids[shot]}"

    row = 0
    for part in parts:
        block = load_npy(part / FRAMES)
        unit_row_norms(block, frame_id, "frame", part, row)
        frames[row:row + len(block)] = block
        row += len(block)
    frames.flush()
    del frames
    np.save(tmp / FRAME_OFFSETS, offsets, allow_pickle=False)


def _frame_counts(part: Path) -> np.ndarray:
    """Frame rows per shot of a shard (its counts) or of a store (from its offsets)."""
    if (part / FRAME_COUNTS).is_file():
        return load_npy(part / FRAME_COUNTS)
    return np.diff(load_npy(part / FRAME_OFFSETS))
