"""One feature vector per shot, rows in id order, read block by block from wherever it lives.

A :class:`FeatureMatrix` hides the file format: the search and the converter only ask it for
blocks of rows, for the ids of a few rows, and for the rows of a few ids. Values stay on disk
(a read-only memory map) wherever the format allows, so a V3C-size collection never has to fit
in anonymous memory.
"""
from __future__ import annotations

from pathlib import Path
from typing import Callable, Dict, Iterable, Iterator, List, Optional, Sequence, Tuple

import numpy as np

from ..base.ids import check_shot_ids
from ..base.vectors import unit_row_norms
from ..errors import InputError

#: Rows per block when streaming: about 32 MiB of float32 at 512 dimensions.
DEFAULT_BLOCK_ROWS = 16384

FLOAT_DTYPES = (np.dtype(np.float16), np.dtype(np.float32), np.dtype(np.float64))


class FeatureMatrix:
    """Shot features: ``ids`` in row order and the ``matrix`` (a read-only memmap when possible).

    ``normalized`` is True when every row is known to be L2-normalised (the toolkit's own store);
    other sources are normalised block by block while they are read, and checked as they go.
    """

    def __init__(self, path: str, fmt: str, count: int, dim: int, dtype: np.dtype, *,
                 ids: Optional[Tuple[str, ...]] = None, id_bytes: Optional[np.ndarray] = None,
                 matrix: Optional[np.ndarray] = None,
                 batches: Optional[Callable[[int], Iterator[np.ndarray]]] = None,
                 normalized: bool = False, manifest: Optional[dict] = None,
                 files: Sequence[Path] = ()):
        if (matrix is None) == (batches is None):
            raise ValueError("give exactly one of matrix and batches")
        self.path = path
        self.format = fmt
        self.count = count
        self.dim = dim
        self.dtype = np.dtype(dtype)
        self.normalized = normalized
        self.manifest = manifest if manifest is not None else {}
        self.files = tuple(Path(f) for f in files)      # what a source fingerprint hashes
        self._ids = ids
        self._id_bytes = id_bytes
        self._matrix = matrix
        self._batches = batches
        self._row_index: Optional[Dict[str, int]] = None

    def __len__(self) -> int:
        return self.count

    def __repr__(self) -> str:
        return f"FeatureMatrix({self.path!r}, {self.format}, {self.count}x{self.dim} {self.dtype})"

    @property
    def ids(self) -> Tuple[str, ...]:
        if self._ids is None:
            self._ids = tuple(b.decode("utf-8") for b in self._id_bytes.tolist())
        return self._ids

    @property
    def random_access(self) -> bool:
        """Rows can be fetched without streaming the source (memory-mapped or in memory)."""
        return self._matrix is not None

    @property
    def matrix(self) -> np.ndarray:
        """All rows; formats that cannot be memory-mapped (Parquet) are read into memory here."""
        if self._matrix is None:
            parts = list(self._batches(DEFAULT_BLOCK_ROWS))
            self._matrix = np.concatenate(parts) if parts else np.empty((0, self.dim), self.dtype)
            self._matrix.flags.writeable = False
        return self._matrix

    def blocks(self, rows: int = DEFAULT_BLOCK_ROWS) -> Iterator[Tuple[int, np.ndarray]]:
        """``(first_row, block)`` pairs covering every row in order, in the stored dtype."""
        if self._matrix is not None:
            for start in range(0, self.count, rows):
                yield start, self._matrix[start:start + rows]
            return
        start = 0
        for block in _rechunk(self._batches(rows), rows):
            yield start, block
            start += len(block)
        if start != self.count:
            raise InputError(f"holds {start} feature rows but {self.count} ids", self.path)

    def take(self, rows: Sequence[int]) -> np.ndarray:
        """The given rows, in that order; a format without random access is streamed once."""
        rows = np.asarray(rows, dtype=np.int64)
        if self._matrix is not None:
            order = np.argsort(rows, kind="stable")        # ascending rows: sequential reads
            out = np.empty((len(rows), self.dim), dtype=self.dtype)
            out[order] = self._matrix[rows[order]]
            return out
        out = np.empty((len(rows), self.dim), dtype=self.dtype)
        for start, block in self.blocks():
            inside = np.flatnonzero((rows >= start) & (rows < start + len(block)))
            out[inside] = block[rows[inside] - start]
        return out

    def ids_at(self, rows: Sequence[int]) -> List[str]:
        """Ids of a few rows (the candidates of a top-k), without decoding all of them."""
        if self._ids is not None:
            return [self._ids[r] for r in rows]
        picked = self._id_bytes[np.asarray(rows, dtype=np.int64)]
        return [b.decode("utf-8") for b in picked.tolist()]

    def first_id_difference(self, other: "FeatureMatrix") -> Optional[int]:
        """The first row whose id differs from `other`'s (the shorter count when one holds
        fewer rows), or None when both list the same ids in the same order."""
        mine, theirs = self._id_array(), other._id_array()
        common = min(len(mine), len(theirs))
        differ = np.flatnonzero(mine[:common] != theirs[:common])
        if len(differ):
            return int(differ[0])
        return None if len(mine) == len(theirs) else common

    def _id_array(self) -> np.ndarray:
        if self._id_bytes is not None:
            return self._id_bytes
        return np.array([s.encode("utf-8") for s in self.ids])

    def rows_of(self, wanted: Iterable[str]) -> np.ndarray:
        """Sorted rows whose id is in `wanted`; ids absent from the matrix are skipped."""
        wanted = set(wanted)
        if not wanted:
            return np.empty(0, dtype=np.int64)
        if self._id_bytes is not None:
            keys = np.array([w.encode("utf-8") for w in wanted])
            return np.flatnonzero(np.isin(self._id_bytes, keys)).astype(np.int64)
        if self._row_index is None:
            self._row_index = {shot: row for row, shot in enumerate(self.ids)}
        return np.array(sorted(self._row_index[w] for w in wanted if w in self._row_index),
                        dtype=np.int64)


def _rechunk(batches: Iterable[np.ndarray], rows: int) -> Iterator[np.ndarray]:
    """Re-cut a stream of arrays into blocks of exactly `rows` rows (the last may be shorter)."""
    pending: List[np.ndarray] = []
    have = 0
    for batch in batches:
        pending.append(batch)
        have += len(batch)
        while have >= rows:
            joined = pending[0] if len(pending) == 1 else np.concatenate(pending)
            yield joined[:rows]
            rest = joined[rows:]
            pending, have = ([rest], len(rest)) if len(rest) else ([], 0)
    if have:
        yield pending[0] if len(pending) == 1 else np.concatenate(pending)


def check_ids(ids: Sequence[str], path: str) -> None:
    """Shot ids by the id rule (:mod:`trecvid_fpig.base.ids`: single printable words, as run files
    and NIST's XML carry them), and unique."""
    check_shot_ids(ids, path)
    if len(set(ids)) == len(ids):
        return
    seen: Dict[str, int] = {}
    for row, shot in enumerate(ids):
        first = seen.setdefault(shot, row)
        if first != row:
            raise InputError(f"duplicate shot id {shot!r} at rows {first} and {row}", path)


def row_norms(block: np.ndarray, first_row: int, features: FeatureMatrix) -> np.ndarray:
    """float32 L2 norms of a block of `features` (:func:`~trecvid_fpig.base.vectors.unit_row_norms`),
    a row that cannot be normalised refused naming its row and shot."""
    return unit_row_norms(block, lambda row: f"{row} (shot {features.ids_at([row])[0]})", "row",
                          features.path, first_row, dtype=np.float32)
