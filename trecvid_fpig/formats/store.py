"""The toolkit's own shot-feature store, and :func:`read_features` for every supported format.

A store is a directory (conventionally ``*.fpig``) of ``manifest.json``, ``features.npy`` (N x D
float32 or float16, every row L2-normalised) and ``ids.npy``; the layout and the manifest's
keys are defined, written and read in :mod:`trecvid_fpig.formats.store_manifest`.

Both arrays are plain ``.npy`` files, so ``numpy.load(..., mmap_mode="r")`` maps them without
reading: searching 1 M shots touches only the pages it multiplies, and looking up the ids of
the final top-k decodes a thousand ids, not a million. Rows are stored L2-normalised because
the score is a cosine: the search is then one matrix product, and float16 keeps its precision
where it matters.

The store is written into a hidden temporary directory beside its destination and renamed
into place (:func:`trecvid_fpig.base.outputs.atomic_directory`): an interrupted conversion leaves no
half store. The disk space of each memory-mapped array is reserved before it is written, so a
full disk is an error, not a SIGBUS.
"""
from __future__ import annotations

import errno
import os
import re
from pathlib import Path
from typing import Dict, List, Optional, Tuple, Union

import numpy as np

from ..base.files import write_error
from ..base.locks import output_lock
from ..base.outputs import atomic_directory, refuse_input_as_output, remove_stale_temporaries
from ..base.vectors import unit_float32, unit_row_norms
from ..errors import InputError
from .feature_files import load_npy
from .features import ARROW_SUFFIXES, ID_COLUMN, is_bigfile, read_arrow, read_bigfile, read_npy
from .matrix import FeatureMatrix, check_ids, row_norms
from .store_manifest import (FEATURES, IDS, MANIFEST, NormStats, id_array, read_manifest,
                             source_record, verify_files, write_manifest)

STORE_DTYPES = ("float32", "float16")
POOLS = ("mean",)

PathLike = Union[str, Path]


def read_features(path: PathLike, ids: Optional[PathLike] = None,
                  part_ok: bool = False) -> FeatureMatrix:
    """Shot features from a store, a BigFile directory, ``.npy`` (+ ids), Parquet or Arrow IPC;
    a partial store of ``extract --shard`` only with `part_ok` (it holds a slice of the shots)."""
    p = Path(path)
    if not p.exists():
        raise InputError("no such file or directory", p)
    if p.is_dir():
        if (p / MANIFEST).exists():
            _refuse_ids(ids, p, "a feature store", IDS)
            store = read_store(p)
            part = store_part(store.manifest)
            if part and not part_ok:
                raise InputError(f"is part {part} of a split extraction (`features extract "
                                 f"--shard`), only a slice of the shots; join the parts first "
                                 f"with `fpig-trecvid features merge OUT PART...`", p)
            return store
        if is_bigfile(p):
            _refuse_ids(ids, p, "a BigFile directory", "id.txt")
            return read_bigfile(p)
        raise InputError("is neither a feature store (manifest.json) nor a BigFile directory "
                         "(feature.bin, id.txt, shape.txt)", p)
    suffix = p.suffix.lower()
    if suffix == ".npy":
        return read_npy(p, None if ids is None else Path(ids))
    if suffix in (".parquet", ".pq") + ARROW_SUFFIXES:
        _refuse_ids(ids, p, "a Parquet/Arrow file", f"its {ID_COLUMN!r} column")
        return read_arrow(p)
    raise InputError("unknown feature format: expected a store or BigFile directory, .npy, "
                     ".parquet, or Arrow IPC (.arrow/.feather/.ipc)", p)


def _refuse_ids(ids: Optional[PathLike], source: Path, what: str, own_ids: str) -> None:
    """--ids names the rows of a bare .npy matrix; any other source carries its own ids, and
    an ids file given with it would be silently ignored, or relabel every row."""
    if ids is not None:
        raise InputError(f"--ids {ids}: ids are given only for a .npy matrix; {what} carries "
                         f"its own ({own_ids})", source)


def read_store(directory: PathLike) -> FeatureMatrix:
    """Open a store: the manifest is checked against both arrays' headers; nothing else is read."""
    d = Path(directory)
    manifest = read_manifest(d)
    count, dim, dtype = manifest["count"], manifest["dim"], manifest["dtype"]
    features, ids = (load_npy(d / name, mmap=True) for name in (FEATURES, IDS))
    if features.shape != (count, dim) or str(features.dtype) != dtype:
        raise InputError(f"holds {features.shape} {features.dtype} but the manifest says "
                         f"({count}, {dim}) {dtype}", d / FEATURES)
    if ids.shape != (count,) or ids.dtype.kind != "S":
        raise InputError(f"holds {ids.shape} {ids.dtype} but the manifest says {count} ids",
                         d / IDS)
    return FeatureMatrix(str(d), "store", count, dim, features.dtype, id_bytes=ids,
                         matrix=features, normalized=True, manifest=manifest,
                         files=(d / MANIFEST, d / FEATURES, d / IDS))


#: A frame row's id: the TRECVID shot (``shotVVVVV_N``) and a frame number. Anything looser
#: would take ordinary shot ids (``shot00001_1``) for frames of a made-up shot ``shot00001``.
_SHOT_FRAME = re.compile(r"(shot\d{5}_[1-9]\d*)_\d+", re.ASCII)


def verify_store(features: FeatureMatrix) -> None:
    """Re-hash a store's features.npy and ids.npy (and, from ``extract --keep-frames``,
    frames.npy and frame_offsets.npy) against the sha256 its manifest recorded."""
    if features.format != "store":
        raise InputError(f"--verify checks a feature store's files against its manifest; this "
                         f"is a {features.format} source", features.path)
    verify_files(Path(features.path), features.manifest)


def frame_shot(frame_id: str, path: str, row: Optional[int] = None) -> str:
    """The shot a frame row belongs to: ``shot00001_1_7`` -> ``shot00001_1``."""
    m = _SHOT_FRAME.fullmatch(frame_id)
    if m is None:
        where = "" if row is None else f"row {row}: "
        raise InputError(f"{where}frame id {frame_id[:60]!r} is not of the form SHOT_FRAME "
                         f"(shotVVVVV_N_F, as in shot00001_1_7), so it cannot be pooled: "
                         f"--pool mean takes frame rows, not shot rows", path)
    return m.group(1)


def convert_features(src: PathLike, dst: PathLike, ids: Optional[PathLike] = None,
                     pool: Optional[str] = None, dtype: str = "float32", overwrite: bool = False,
                     progress: bool = False) -> dict:
    """Write the store for `src` at `dst`, checking every row; returns the manifest written.

    With ``pool="mean"`` the rows are frames (ids ``SHOT_FRAME``) and each shot gets the mean of
    its L2-normalised frame vectors, as CLIP4Clip's meanP and zero-shot CLIP baselines pool.
    """
    if dtype not in STORE_DTYPES:
        raise InputError(f"store dtype must be one of {', '.join(STORE_DTYPES)}, got {dtype!r}")
    if pool is not None and pool not in POOLS:
        raise InputError(f"pooling must be one of {', '.join(POOLS)}, got {pool!r}")
    target = Path(dst)
    check_store_destination(target, overwrite)
    refuse_input_as_output([target], [("source", src), ("ids file", ids)])
    source = read_features(src, ids)
    refuse_input_as_output([target], [(f"source's {f.name}", f) for f in source.files])
    if pool is None:
        out_ids, groups = source.ids, None
    else:
        out_ids, groups = _group_frames(source)
    with output_lock(target):
        check_store_destination(target, overwrite)      # again: another process may have been first
        return _write_store(source, out_ids, groups, target, pool, dtype, progress)


def _write_store(source: FeatureMatrix, out_ids: Tuple[str, ...], groups: Optional[np.ndarray],
                 target: Path, pool: Optional[str], dtype: str, progress: bool) -> dict:
    with atomic_directory(target) as tmp:
        out = reserved_memmap(tmp / FEATURES, np.dtype(dtype), (len(out_ids), source.dim))
        if groups is None:
            norms = _copy_normalised(source, out, progress)
        else:
            norms = _pool_mean(source, groups, out_ids, out, tmp, progress)
        out.flush()
        del out
        np.save(tmp / IDS, id_array(out_ids), allow_pickle=False)
        return write_manifest(
            tmp, count=len(out_ids), dim=source.dim, dtype=dtype, norms=norms,
            pool=None if groups is None else {"method": pool, "frames": source.count},
            source=source_record(source.format, source.path, source.count, source.dim,
                                 str(source.dtype), source.files))


def reserved_memmap(path: Path, dtype: np.dtype, shape: Tuple[int, ...]) -> np.ndarray:
    """A new ``.npy`` file mapped for writing, its disk blocks reserved first.

    Pages of a sparse memory-mapped file are allocated only when written; on a full disk that
    write is a SIGBUS that kills the process. ``posix_fallocate`` asks for every block up front,
    so a full disk is an ENOSPC error here instead.
    """
    out = np.lib.format.open_memmap(path, mode="w+", dtype=dtype, shape=shape)
    try:
        with open(path, "r+b") as fh:
            size = os.fstat(fh.fileno()).st_size
            _reserve(fh, size - out.nbytes, size)
    except OSError as exc:
        del out
        raise write_error(exc, path.parent) from None
    return out


def _reserve(fh, start: int, end: int) -> None:
    """Allocate bytes `start`..`end` of `fh` on disk: posix_fallocate, or writing zeros where
    the platform (macOS) or the file system does not offer it."""
    try:
        os.posix_fallocate(fh.fileno(), start, end - start)
        return
    except AttributeError:
        pass
    except OSError as exc:
        if exc.errno not in (errno.EOPNOTSUPP, errno.EINVAL, errno.ENOSYS):
            raise
    block = bytes(1 << 22)
    fh.seek(start)
    for offset in range(start, end, len(block)):
        fh.write(block[:min(len(block), end - offset)])
    fh.flush()


def check_store_destination(target: Path, overwrite: bool) -> None:
    """Refuse to write a store over anything but a store (a file, a directory of other things),
    and over a store unless `overwrite`: replacing removes what was there. A store whose
    replacement was killed half-way is put back first, so it counts as there."""
    remove_stale_temporaries(target)
    if not target.exists():
        return
    if not (target / MANIFEST).is_file():
        raise InputError("exists and is not a feature store; choose a new path", target)
    if not overwrite:
        raise InputError("a store exists here; pass --overwrite to replace it", target)


def _progress(total: int, enabled: bool, what: str):
    from tqdm import tqdm

    return tqdm(total=total, unit="shot", unit_scale=True, desc=what, disable=not enabled,
                leave=False)


def _copy_normalised(source: FeatureMatrix, out: np.ndarray, progress: bool) -> dict:
    stats = NormStats()
    with _progress(source.count, progress, "convert") as bar:
        for start, block in source.blocks():
            stats.add(row_norms(block, start, source))
            out[start:start + len(block)] = unit_float32(block)
            bar.update(len(block))
    return stats.record()


def _group_frames(source: FeatureMatrix) -> Tuple[Tuple[str, ...], np.ndarray]:
    """Shot ids in order of first appearance, and each frame row's shot index."""
    index: Dict[str, int] = {}
    groups = np.empty(source.count, dtype=np.int64)
    for row, frame in enumerate(source.ids):
        groups[row] = index.setdefault(frame_shot(frame, source.path, row), len(index))
    shots = tuple(index)
    check_ids(shots, source.path)
    return shots, groups


def _pool_mean(source: FeatureMatrix, groups: np.ndarray, shots: Tuple[str, ...],
               out: np.ndarray, tmp: Path, progress: bool) -> dict:
    """Sum unit frame vectors per shot into a disk-backed accumulator, then average."""
    sums = reserved_memmap(tmp / "pool.npy", np.dtype(np.float64), out.shape)
    with _progress(source.count, progress, "pool frames") as bar:
        for start, block in source.blocks():
            unit = block / row_norms(block, start, source)[:, None]
            g = groups[start:start + len(block)]
            run_starts = np.flatnonzero(np.r_[True, g[1:] != g[:-1]])
            np.add.at(sums, g[run_starts], np.add.reduceat(unit.astype(np.float64), run_starts))
            bar.update(len(block))
    counts = np.bincount(groups, minlength=len(out)).astype(np.float64)
    stats = NormStats()
    for start in range(0, len(out), 16384):
        mean = sums[start:start + 16384] / counts[start:start + 16384, None]
        norms = unit_row_norms(mean, shots.__getitem__, "the mean of the frames of shot",
                               source.path, start)
        stats.add(norms)
        out[start:start + len(mean)] = mean / norms[:, None]
    del sums
    (tmp / "pool.npy").unlink()
    return stats.record()


def store_part(manifest: dict) -> Optional[str]:
    """``"I/N"`` for a partial store of ``features extract --shard I/N``, else None."""
    record = manifest.get("extract")
    part = record.get("part") if isinstance(record, dict) else None
    return f"{part.get('index')}/{part.get('of')}" if isinstance(part, dict) else None


def manifest_lines(features: FeatureMatrix, first_ids: int = 3) -> List[Tuple[str, str]]:
    """(label, value) pairs that ``features inspect`` prints."""
    m = features.manifest
    lines = [("path", features.path), ("format", features.format),
             ("shots", str(features.count)), ("dim", str(features.dim)),
             ("dtype", str(features.dtype)),
             ("rows", "l2-normalised" if features.normalized else "normalised when searched")]
    if "norms" in m:
        n = m["norms"]
        lines.append(("norms", f"min {n['min']}  mean {n['mean']}  max {n['max']} "
                               f"(before normalising)"))
    if m.get("pool"):
        lines.append(("pool", f"{m['pool']['method']} of {m['pool']['frames']} frame rows"))
    part = store_part(m)
    if part:
        lines.append(("part", f"{part} of a split extraction: `features merge` the parts"))
    source = m.get("source")
    if source:
        lines.append(("source", f"{source['format']} {source['path']} "
                                f"({source['count']} x {source['dim']} {source['dtype']})"))
        for f in source["files"]:
            lines.append(("  file", f"{f['name']}  {f['bytes']} bytes  sha256 {f['sha256']}"))
    for key in ("features_sha256", "ids_sha256", "created_by"):
        if key in m:
            lines.append((key, str(m[key])))
    shown = features.ids_at(range(min(first_ids, features.count)))
    lines.append(("first ids", " ".join(shown) + (" ..." if features.count > first_ids else "")))
    return lines
