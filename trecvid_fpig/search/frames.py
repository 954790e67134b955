"""Scoring shots by their frames: ``run --frame-pool max`` and ``run --frame-weight W``.

A store written by ``features extract --keep-frames`` also holds every frame's unit vector
(``frames.npy``) and which frame rows belong to which shot (``frame_offsets.npy``). A pooled
shot vector averages its frames away; a topic that matches one moment of a shot matches that
frame better. The scores (the CLIPRerank idea, published for AVS):

``--frame-pool max``   score = max_f cos(q, frame_f)
``--frame-weight W``   score = cos(q, shot) + W * max_f cos(q, frame_f)

The search is the shot search's, over frames: frames are streamed in blocks cut at shot
boundaries, each block scored in float32 and reduced to one value per shot
(``np.maximum.reduceat``), a running floor keeps a superset of each topic's top k, and the
candidates are re-scored in float64 from their frame rows. So run files do not depend on the
block size, and the order is the evaluator's (rounded score, then shot id, descending).
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import List, Optional

import numpy as np

from ..errors import InputError
from ..formats.feature_files import load_npy
from ..formats.matrix import FeatureMatrix
from ..formats.store_manifest import FRAME_OFFSETS, FRAMES, MANIFEST
from .topk import (EDITED_HINT, Hits, RunningTopK, evaluator_order, exact_cosines,
                   refuse_non_finite, search_arguments, unit_cosine_limit)

FRAME_POOLS = ("max",)


#: Largest --frame-weight: beyond it the frame score alone decides the ranking, and W times a
#: cosine soon overflows float32 (1e308 did, and the error then blamed the store).
MAX_FRAME_WEIGHT = 1e6


@dataclass(frozen=True)
class FrameScoring:
    """How a shot's frames score it: pooled alone (``weight`` None) or added to the shot's
    cosine with weight ``weight``."""
    pool: str = "max"
    weight: Optional[float] = None

    def __post_init__(self) -> None:
        if self.pool not in FRAME_POOLS:
            raise InputError(f"--frame-pool must be one of {', '.join(FRAME_POOLS)}, "
                             f"got {self.pool!r}")
        if self.weight is not None and not 0 < self.weight <= MAX_FRAME_WEIGHT:
            raise InputError(f"--frame-weight must be a positive finite number up to "
                             f"{MAX_FRAME_WEIGHT:g}, got {self.weight}")

    @property
    def formula(self) -> str:
        frame = f"{self.pool}_f cos(q, frame_f)"
        return frame if self.weight is None else f"cos(q, shot) + {self.weight!r} * {frame}"

    def record(self, frames: "ShotFrames") -> dict:
        """What the run's sidecar says about the frame scoring."""
        return {"pool": self.pool, "weight": self.weight, "score": self.formula,
                "frame_rows": int(len(frames.vectors)), "frames_sha256": frames.sha256}


@dataclass(frozen=True)
class ShotFrames:
    """A store's frame vectors: shot ``i`` owns rows ``offsets[i]:offsets[i+1]``."""
    vectors: np.ndarray         # F x D, memory-mapped, unit rows
    offsets: np.ndarray         # N + 1 int64
    sha256: Optional[str]


def read_frames(features: FeatureMatrix) -> ShotFrames:
    """The frames of a store extracted with ``--keep-frames``, checked against the store."""
    if features.format != "store" or not isinstance(features.manifest.get("frames"), dict):
        raise InputError("holds no frame vectors, so --frame-pool/--frame-weight cannot score "
                         "its frames: write the store with `fpig-trecvid features extract "
                         "--keep-frames`", features.path)
    directory = Path(features.path)
    record = features.manifest["frames"]
    arrays = []
    for name in (record.get("file", FRAMES), record.get("offsets", FRAME_OFFSETS)):
        if "/" in name or "\\" in name or name.startswith("."):
            raise InputError(f"manifest names frame file {name!r} outside the store",
                             directory / MANIFEST)
        arrays.append(load_npy(directory / name, mmap=True))
    vectors, offsets = arrays
    if vectors.ndim != 2 or vectors.shape[1] != features.dim or vectors.dtype != features.dtype:
        raise InputError(f"holds {vectors.shape} {vectors.dtype} frame vectors for a store of "
                         f"{features.dim}-d {features.dtype} shots", directory / FRAMES)
    offsets = np.asarray(offsets)
    if (offsets.shape != (features.count + 1,) or offsets.dtype.kind not in "iu"
            or offsets[0] != 0 or offsets[-1] != len(vectors)):
        raise InputError(f"must hold {features.count + 1} offsets from 0 to {len(vectors)} "
                         f"(the frame rows)", directory / FRAME_OFFSETS)
    offsets = offsets.astype(np.int64)
    empty = np.flatnonzero(np.diff(offsets) <= 0)
    if len(empty):
        row = int(empty[0])
        raise InputError(f"shot row {row} ({features.ids_at([row])[0]}) owns no frame rows",
                         directory / FRAME_OFFSETS)
    return ShotFrames(vectors, offsets, record.get("sha256"))


def frame_search(features: FeatureMatrix, frames: ShotFrames, queries: np.ndarray,
                 scoring: FrameScoring, k: int = 1000, exclude_rows: Optional[np.ndarray] = None,
                 decimals: int = 6, block_rows: Optional[int] = None,
                 progress: bool = False) -> List[Hits]:
    """Top `k` shots of each query row by the frame score, in the evaluator's order.

    `block_rows` counts frame rows; a block always holds whole shots (at least one).
    """
    queries, excluded, block_rows = search_arguments(features, queries, k, exclude_rows,
                                                     block_rows)
    best = _FrameTopK(queries, k, decimals, features, frames, scoring)
    offsets = frames.offsets
    weight = None if scoring.weight is None else np.float32(scoring.weight)
    from tqdm import tqdm

    with tqdm(total=features.count, unit="shot", unit_scale=True, desc="search frames",
              disable=not progress, leave=False) as bar:
        first = 0
        while first < features.count:
            last = int(np.searchsorted(offsets, offsets[first] + block_rows, side="right")) - 1
            last = min(max(last, first + 1), features.count)
            f0, f1 = int(offsets[first]), int(offsets[last])
            block = np.asarray(frames.vectors[f0:f1], dtype=np.float32)
            scores = np.maximum.reduceat(queries @ block.T, offsets[first:last] - f0, axis=1)
            if weight is not None:
                shots = np.asarray(features.matrix[first:last], dtype=np.float32)
                scores = queries @ shots.T + weight * scores
            if not np.isfinite(scores.sum()):
                refuse_non_finite(scores, first, features)
            lo, hi = np.searchsorted(excluded, (first, last))
            if hi > lo:
                scores[:, excluded[lo:hi] - first] = -np.inf
            best.add(first, scores)
            bar.update(last - first)
            first = last
    return best.finish()


class _FrameTopK(RunningTopK):
    """The shot search's running top k, with the frame score as the exact score."""

    def __init__(self, queries: np.ndarray, k: int, decimals: int, features: FeatureMatrix,
                 frames: ShotFrames, scoring: FrameScoring):
        # Each float32 cosine is off by at most about D * 2**-24; the weighted sum adds W times
        # the frame term's error and one more rounding.
        scale = 1.0 + (scoring.weight or 0.0)
        super().__init__(len(queries), k, decimals,
                         10.0 ** -decimals + scale * (2 * features.dim + 2) * 2.0 ** -24)
        self.queries = queries
        self.features = features
        self.frames = frames
        self.weight = scoring.weight

    def exact(self, t: int, rows: np.ndarray) -> Hits:
        query = self.queries[t]
        starts, ends = self.frames.offsets[rows], self.frames.offsets[rows + 1]
        counts = ends - starts
        frame_rows = np.repeat(ends - np.cumsum(counts), counts) + np.arange(counts.sum())
        cosines = exact_cosines(np.asarray(self.frames.vectors[frame_rows]), query, True)
        # float16 rounding alone moves a unit vector's norm by up to about 1e-4 at small D.
        limit = unit_cosine_limit(self.frames.vectors.dtype)
        if len(cosines) and np.abs(cosines).max() > limit:
            row = int(frame_rows[np.argmax(np.abs(cosines))])
            raise InputError(f"frame row {row} is not a unit vector although the store's frames "
                             f"are normalised{EDITED_HINT}", self.features.path)
        first_of_shot = np.cumsum(counts) - counts
        scores = np.maximum.reduceat(cosines, first_of_shot) if len(rows) else cosines
        if self.weight is not None:
            shot = exact_cosines(self.features.take(rows), query, True)
            scores = shot + self.weight * scores
        return evaluator_order(rows, self.features.ids_at(rows), scores, self.k,
                               self.decimals)
