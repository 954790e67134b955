"""Text↔video retrieval recall (R@K, MdR, MnR) from a captions × videos similarity matrix.

The numbers of the MSR-VTT 1k-A / 3k tables, computed by counting, in cache-sized row blocks,
the candidates that beat the ground truth instead of sorting the matrix. Speed claims are
measured by ``benchmarks/bench_recall.py`` against its sort-based numpy reference (every row
sorted, as CLIP4Clip's ``metrics.py`` does), both timed in the same run: on a 59,800 × 2,990
float32 matrix, on the 2-core development VM under load, this function took 1.0 s (1.3 s with
its XXH3-128 fingerprint) and the reference 21.8 s; the whole ``recall`` command 2.1 s.

Conventions (also written into every result's ``meta["conventions"]``):

- **Matrix.** ``sims[i, j]`` is the similarity of caption ``i`` and video ``j``; higher is better.
- **Ground truth.** Each caption belongs to exactly one video: ``caption_video[i]`` is the column
  of caption ``i``'s video, or ``captions_per_video=N`` puts captions ``N·j … N·j+N-1`` on video
  ``j`` (N = 1 is the square 1k-A case, N = 20 the 3k case). Every video needs at least one
  caption. With neither, a square matrix is taken as 1:1.
- **Rank.** rank = 1 + the number of candidates scoring *strictly* higher than the ground truth,
  so ties are resolved in the query's favour and every query counts exactly once.
- **Text→video (t2v).** Each caption is ranked against all videos.
- **Video→text (v2t).** A video scores each caption group (the captions of one video) by the
  group's best caption, as CLIP4Clip's ``tensor_video_to_text_sim`` does, and its own group is
  ranked among the groups. With one caption per video this is the transposed matrix.
- **R@K** = 100 × the share of queries with rank ≤ K (percent); **MdR** = the median rank, the
  mean of the two middle ranks for an even number of queries (``numpy.median``); **MnR** = the
  mean rank.
- **NaN** is an error, unless ``nan_as_lowest``: then NaN ranks below every number (it is
  replaced by −inf, so NaNs tie with each other). ±inf is always an error.
- **DSL** (dual-softmax inference, CLIP-ViP / F-Pig): the matrix is replaced by
  ``sims × softmax(T · sims over the caption axis)``, i.e. each video's column is reweighted by
  a softmax over all captions, and that one matrix is used for both directions (T = 100 by
  default). T multiplies whatever the matrix holds: T = 100 suits cosines, while logits
  (100 × cosine, as CLIP4Clip-family code and TS2-Net save) need T = 1. It is computed in
  float64, block by block, from each column's maximum and softmax denominator found in two
  earlier passes (so DSL costs two exponentials an entry). Where T · (max − min) could make a
  weight underflow to an exact zero, entries are compared exactly instead, by sign and then by
  the difference of their logarithms (see ``_DualSoftmax``), at every T: underflow never
  creates ties, and the ties that remain are ties of the formula (to the rounding of the
  logarithms and of the softmax sums, about 1e-12 of a value), ranked as above.
- **How CLIP4Clip's ``metrics.py`` differs.** On a matrix without ties the ranks are the same
  as ``compute_metrics`` (1:1) and ``tensor_text_to_video_metrics`` (several captions a video).
  With ties, ``compute_metrics`` counts a query once at *every* tied position (so a tied query
  appears several times and the denominator grows), and ``tensor_text_to_video_metrics`` breaks
  ties by whatever order ``torch.argsort`` returns. ``tensor_text_to_video_metrics`` also takes
  ``torch.median``, the *lower* of the two middle ranks, whereas ``compute_metrics`` and this
  module average them (the 3k t2v MdR can differ by 0.5).
- **Fingerprint.** ``meta["sims_xxh3_128"]`` is the XXH3-128 digest (seed 0, hex, as
  ``xxhash.xxh3_128().hexdigest()``) of the line ``"<dtype> <rows>x<cols>\\n"`` (e.g.
  ``float32 59800x2990``) followed by the matrix's raw little-endian bytes in row-major order,
  taken before DSL or NaN replacement. It identifies a matrix; it is not a cryptographic hash.
  XXH3 hashes the 3k matrix (682 MiB) in about 0.1-0.3 s where SHA-256 took 0.5-1 s, more
  than the ranking itself. ``meta["ground_truth"]`` is
  ``{"captions_per_video": N}``, or for an explicit assignment its
  ``caption_video_sha256`` (SHA-256 of ``"int64 <captions>\n"`` + the indices as little-endian
  int64) with the fewest and most captions a video has.

Files (:func:`recall_from_files`):

- ``sims``: a ``.npy`` array (memory-mapped, read in chunks) or a Parquet file with one numeric
  column per video (in column order) and one row per caption, or a single list column holding
  one row of the matrix per caption.
- ``text_features`` / ``video_features``: ``.npy`` matrices, or anything
  ``trecvid_fpig.formats.store.read_features`` reads (a BigFile folder, the toolkit's store,
  Parquet / Arrow with ids).
  Rows are L2-normalised here (as TeachCLIP does), and the cosine matrix is computed in row
  chunks into one float32 matrix.
- ``gt``: ``caption_id<TAB>video_id`` lines (TeachCLIP's format; blank lines skipped). The
  ground truth defines the matrix: row ``i`` is the ``i``-th caption line, column ``j`` the
  ``j``-th distinct video in order of first appearance. A ``.npy`` carries no ids, so its rows
  must already follow that order; a feature store is looked up by id (ids it has beyond the
  ground truth's are not used). With ``captions_per_video`` the files' own row order counts.

Memory: besides the input (a ``.npy`` is memory-mapped), a few blocks of about
:data:`CACHE_BYTES` and one videos × videos table of group maxima (float64 with DSL): never a
second full-size copy of the matrix. ``chunk_rows`` only sets how many rows are hashed at once
(and copied, when the input is not C-ordered little-endian).
"""
from __future__ import annotations

import hashlib
import math
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Dict, Iterator, List, Optional, Sequence, Tuple, Union

import numpy as np
import xxhash

from ..base.fields import MAX_ID_CHARS, WHITESPACE, text_lines
from ..base.files import read_text
from ..base.vectors import unit_float32, unit_row_norms
from ..errors import InputError
from ..formats.feature_files import (NPY_MAGIC, PARQUET_MAGIC, check_matrix, file_magic,
                                     list_column_rows, load_npy)

PathLike = Union[str, Path]

DEFAULT_KS = (1, 5, 10)
DEFAULT_CHUNK_ROWS = 2048
CACHE_BYTES = 1 << 19          # rows per block: about this many bytes, to stay in L2 cache

CONVENTIONS = {
    "rank": "1 + number of candidates scoring strictly higher than the ground truth "
            "(ties in the query's favour, each query counted once)",
    "t2v": "each caption ranked against all videos",
    "v2t": "each video ranks caption groups scored by the group's best caption "
           "(CLIP4Clip tensor_video_to_text_sim); 1:1 is the transposed matrix",
    "R@K": "100 * share of queries with rank <= K",
    "MdR": "median rank, mean of the two middle ranks when even (numpy.median)",
    "MnR": "mean rank",
    "dsl": "sims * softmax(T * sims over the caption axis), float64, used for both directions; "
           "compared exactly in log space where weights would underflow",
    "clip4clip": "same ranks as CLIP4Clip compute_metrics / tensor_text_to_video_metrics without "
                 "ties; with ties compute_metrics counts a query at every tied position and "
                 "tensor_text_to_video_metrics uses argsort order; tensor_text_to_video_metrics "
                 "takes torch.median, the lower middle rank",
    "sims_xxh3_128": "xxh3_128 (seed 0) of '<dtype> <rows>x<cols>\\n' + little-endian "
                     "row-major bytes, before DSL and NaN replacement",
}


# ---------------------------------------------------------------------------------------------
# The metrics on a matrix


def recall_metrics(sims: np.ndarray, *, captions_per_video: Optional[int] = None,
                   caption_video: Union[Sequence[int], np.ndarray, None] = None,
                   dsl: bool = False, dsl_temperature: float = 100.0,
                   ks: Sequence[int] = DEFAULT_KS, nan_as_lowest: bool = False,
                   chunk_rows: int = DEFAULT_CHUNK_ROWS, fingerprint: bool = True,
                   source: Optional[PathLike] = None) -> dict:
    """``{"t2v": {...}, "v2t": {...}, "meta": {...}}`` for a captions × videos matrix.

    `source` names the file the matrix came from in error messages. `fingerprint=False` skips
    the XXH3-128 fingerprint (``meta["sims_xxh3_128"]`` is then None), for callers that
    already identify the file. See the module docstring for the conventions.
    """
    matrix = _checked_matrix(sims, source)
    n_captions, n_videos = matrix.shape
    groups, gt_meta = _caption_groups(n_captions, n_videos, captions_per_video, caption_video,
                                      source)
    ks = _checked_ks(ks)
    if dsl and not (math.isfinite(dsl_temperature) and dsl_temperature > 0):
        raise InputError(f"DSL temperature must be a positive number, got {dsl_temperature}")
    if chunk_rows < 1:
        raise InputError(f"chunk_rows must be at least 1, got {chunk_rows}")

    work_dtype = np.dtype(np.float64) if dsl else matrix.dtype
    block_rows = max(1, min(chunk_rows, CACHE_BYTES // (work_dtype.itemsize * n_videos)))
    scan = _Scan(matrix, chunk_rows, block_rows, nan_as_lowest, source)
    reweight = _DualSoftmax(scan, dsl_temperature, groups) if dsl else None
    exact = reweight if reweight is not None and reweight.log_space else None
    # best[group, video]: the group's best value in the video's column; with exact DSL
    # comparisons, whether one of the group's values there beats the video's own group's best
    best = (np.zeros((n_videos, n_videos), dtype=bool) if exact is not None
            else np.full((n_videos, n_videos), -np.inf, dtype=work_dtype))
    beaten = np.empty(n_captions, dtype=np.int64)      # videos strictly above the caption's own
    counter = np.uint16 if n_videos < 1 << 16 else np.int64
    row_index = np.arange(block_rows)
    columns = np.arange(n_videos)
    groups_in_order = bool(np.all(groups[1:] >= groups[:-1]))
    digest = None
    if fingerprint:
        digest = xxhash.xxh3_128(f"{matrix.dtype.name} {n_captions}x{n_videos}\n".encode())
    for start, block in scan.blocks(digest):
        stop = start + len(block)
        block_groups = groups[start:stop]
        rows = row_index[:len(block)]
        if exact is not None:
            values = block.astype(np.float64)
            keys = exact.log_keys(values, columns)
            own_keys = tuple(k[rows, block_groups][:, None] for k in keys)
            above = exact.above(keys, own_keys, values, columns,
                                values[rows, block_groups][:, None], block_groups[:, None])
            block = exact.above(keys, exact.reference_keys, values, columns, exact.reference,
                                columns)
        else:
            if reweight is not None:
                block = reweight(block)
            above = block > block[rows, block_groups][:, None]
        beaten[start:stop] = above.view(np.uint8).sum(axis=1, dtype=counter)
        _update_group_max(best, block, block_groups, groups_in_order)
    t2v_ranks = beaten + 1
    if exact is not None:
        v2t_ranks = 1 + np.count_nonzero(best, axis=0)
    else:
        v2t_ranks = 1 + np.count_nonzero(best > np.diagonal(best)[None, :], axis=0)

    meta = {
        "shape": [n_captions, n_videos],
        "captions": n_captions,
        "videos": n_videos,
        "dtype": matrix.dtype.name,
        "sims_xxh3_128": None if digest is None else digest.hexdigest(),
        "ground_truth": gt_meta,
        "dsl": bool(dsl),
        "dsl_temperature": float(dsl_temperature) if dsl else None,
        "ks": list(ks),
        "nan_as_lowest": bool(nan_as_lowest),
        "nan_values": scan.nan_values,
        "conventions": dict(CONVENTIONS, nan="ranked below every number" if nan_as_lowest
                            else "error"),
    }
    return {"t2v": _summary(t2v_ranks, ks), "v2t": _summary(v2t_ranks, ks), "meta": meta}


def _summary(ranks: np.ndarray, ks: Sequence[int]) -> Dict[str, float]:
    out = {f"R@{k}": 100.0 * int(np.count_nonzero(ranks <= k)) / len(ranks) for k in ks}
    out["MdR"] = float(np.median(ranks))
    out["MnR"] = float(np.mean(ranks))
    return out


def _checked_matrix(sims: np.ndarray, source: Optional[PathLike]) -> np.ndarray:
    if not isinstance(sims, np.ndarray):
        sims = np.asarray(sims)
    return check_matrix(sims, source, "similarity")


def _checked_ks(ks: Sequence[int]) -> Tuple[int, ...]:
    values = sorted(set(int(k) for k in ks))
    if not values or values[0] < 1 or any(int(k) != k for k in ks):
        raise InputError(f"recall cut-offs K must be positive integers, got {list(ks)}")
    return tuple(values)


def _caption_groups(n_captions: int, n_videos: int, captions_per_video: Optional[int],
                    caption_video: Union[Sequence[int], np.ndarray, None],
                    source: Optional[PathLike]) -> Tuple[np.ndarray, dict]:
    """Each caption's video column, checked against the matrix shape, and how to cite it."""
    if captions_per_video is not None and caption_video is not None:
        raise InputError("give either captions_per_video or caption_video, not both")
    if caption_video is None:
        per_video = 1 if captions_per_video is None else int(captions_per_video)
        if captions_per_video is None and n_captions != n_videos:
            raise InputError(f"a {n_captions} x {n_videos} matrix is not square: say which "
                             "video each caption belongs to (ground truth or captions per video)",
                             source)
        if per_video < 1:
            raise InputError(f"captions per video must be at least 1, got {per_video}")
        if n_captions != per_video * n_videos:
            raise InputError(f"{n_captions} captions (rows) are not {per_video} captions for each "
                             f"of {n_videos} videos (columns) = {per_video * n_videos}", source)
        return np.arange(n_captions, dtype=np.int64) // per_video, {"captions_per_video": per_video}
    groups = np.asarray(caption_video)
    if groups.ndim != 1 or len(groups) != n_captions:
        raise InputError(f"the ground truth assigns {groups.size} captions but the matrix has "
                         f"{n_captions} rows", source)
    if not np.issubdtype(groups.dtype, np.integer):
        raise InputError(f"caption -> video indices must be integers, got {groups.dtype}")
    groups = groups.astype(np.int64)
    if groups.min() < 0 or groups.max() >= n_videos:
        bad = int(np.flatnonzero((groups < 0) | (groups >= n_videos))[0])
        raise InputError(f"caption {bad} belongs to video {int(groups[bad])}, but the matrix has "
                         f"{n_videos} video columns", source)
    counts = np.bincount(groups, minlength=n_videos)
    if not counts.all():
        raise InputError(f"video column {int(np.flatnonzero(counts == 0)[0])} has no caption "
                         f"({int(np.count_nonzero(counts == 0))} such videos); every video needs "
                         "at least one for video-to-text", source)
    digest = hashlib.sha256(f"int64 {n_captions}\n".encode())
    digest.update(groups.astype("<i8").tobytes())
    return groups, {"caption_video_sha256": digest.hexdigest(),
                    "captions_per_video_min": int(counts.min()),
                    "captions_per_video_max": int(counts.max())}


class _Scan:
    """Row blocks of the matrix, checked for non-finite values (NaN -> -inf when allowed).

    The matrix is read in chunks of `chunk_rows` rows (the unit of hashing), each cut into
    blocks of `block_rows` rows small enough that every pass over a block runs in cache.
    """

    def __init__(self, matrix: np.ndarray, chunk_rows: int, block_rows: int,
                 nan_as_lowest: bool, source: Optional[PathLike]):
        self.matrix = matrix
        self.chunk_rows = chunk_rows
        self.block_rows = block_rows
        self.nan_as_lowest = nan_as_lowest
        self.source = source
        self.nan_values = 0

    def blocks(self, digest=None) -> Iterator[Tuple[int, np.ndarray]]:
        """(first row, block) pairs; `digest` is fed the raw little-endian bytes on the way.

        Hashing runs in a second thread (xxhash releases the GIL), one chunk behind at most.
        """
        self.nan_values = 0
        little = self.matrix.dtype.newbyteorder("<")
        hasher = ThreadPoolExecutor(max_workers=1) if digest is not None else None
        pending = None
        try:
            for start in range(0, self.matrix.shape[0], self.chunk_rows):
                chunk = np.ascontiguousarray(self.matrix[start:start + self.chunk_rows],
                                             dtype=little)
                if hasher is not None:
                    if pending is not None:
                        pending.result()
                    pending = hasher.submit(digest.update, memoryview(chunk).cast("B"))
                for offset in range(0, len(chunk), self.block_rows):
                    yield start + offset, self._finite(chunk[offset:offset + self.block_rows],
                                                       start + offset)
            if pending is not None:
                pending.result()
        finally:
            if hasher is not None:
                hasher.shutdown()

    def _finite(self, block: np.ndarray, start: int) -> np.ndarray:
        with np.errstate(over="ignore"):    # a sum past float32's 3.4e38 is no overflow to tell
            if np.isfinite(block.sum()):     # one fast pass; a huge finite sum just looks closer
                return block
        infinite = np.isinf(block)
        if infinite.any():
            row, col = np.argwhere(infinite)[0]
            raise InputError(f"infinite similarity {block[row, col]} at row {start + row}, "
                             f"column {col} (0-based)", self.source)
        nan = np.isnan(block)
        if not nan.any():
            return block
        if not self.nan_as_lowest:
            row, col = np.argwhere(nan)[0]
            raise InputError(f"NaN similarity at row {start + row}, column {col} (0-based); "
                             "--nan-as-lowest (nan_as_lowest=True in Python) ranks NaN below every "
                             "number", self.source)
        self.nan_values += int(np.count_nonzero(nan))
        return np.where(nan, block.dtype.type(-np.inf), block)


class _DualSoftmax:
    """sims * softmax(T * sims) over the caption axis, one row chunk at a time (float64).

    Two passes over the matrix give each video column's maximum and softmax denominator (the
    sum of exp(T * (sims - column max)), at least 1, so it can neither overflow nor vanish).
    When T * (largest - smallest value) is small enough that no weight, and no product of a
    weight and a similarity, can underflow, the values are the formula itself. Otherwise (logits such as 100 x cosine, or a large T) most
    weights would round to exact zeros that tie, and a tie counts for the query: random
    features would score R@10 near 100. No single float64 can stand for such a value either
    (its logarithm ``T * (sims - max) + log|sims| - log(sum)`` needs the precision of its small
    terms at the magnitude of its large one), so :meth:`exceeds` compares two values exactly
    instead: by sign, then by the difference of their logarithms, with ``sims - max`` carried
    as exact double-double sums so that T never magnifies a rounding. Each query is compared
    with its own entry (t2v) and each column with its own group's best entry (v2t, found by
    :meth:`own_group_best`); the ties left are ties of the formula, to the rounding of the
    logarithms and of the softmax sums.
    """

    #: Widest T * (max - min) for which exp() of every shifted value stays a normal float64.
    DIRECT_SPAN = 600.0
    #: Log gaps within this many float64 epsilons of the terms' magnitudes are ties.
    TIE_ULPS = 8
    #: A float64 log key is within this many epsilons of its terms' magnitudes of the exact one.
    KEY_ULPS = 8

    def __init__(self, scan: _Scan, temperature: float, groups: np.ndarray):
        n_captions, n_videos = scan.matrix.shape
        self.temperature = temperature
        self.col_max = np.full(n_videos, -np.inf)
        lowest = smallest = np.inf               # smallest: the least magnitude but zero
        for _, block in scan.blocks():
            np.maximum(self.col_max, block.max(axis=0), out=self.col_max)
            lowest = min(lowest, float(np.where(np.isneginf(block), np.inf, block).min()))
            magnitudes = np.abs(block)
            smallest = min(smallest, float(np.where(magnitudes > 0, magnitudes, np.inf).min()))
        highest = float(self.col_max.max())
        span = temperature * (highest - lowest) if np.isfinite(lowest) else 0.0
        if not math.isfinite(span):
            raise InputError(f"DSL temperature {temperature} times the value range "
                             f"{highest - lowest} overflows float64", scan.source)
        # sims * weight / sum >= smallest * exp(-span) / captions must stay a normal float64
        # too: tiny similarities far below their column's maximum would underflow and tie
        self.log_space = span > self.DIRECT_SPAN or (
            math.isfinite(smallest) and math.log(smallest) - span - math.log(n_captions)
            < math.log(np.finfo(np.float64).tiny))
        self.col_sum = np.zeros(n_videos)
        own = np.empty(n_captions)
        with np.errstate(invalid="ignore"):      # a column that is all NaN-as-lowest
            for start, block in scan.blocks():
                self.col_sum += self._weights(block).sum(axis=0)
                stop = start + len(block)
                own[start:stop] = block[np.arange(len(block)), groups[start:stop]]
        with np.errstate(divide="ignore"):
            self.log_sum = np.log(self.col_sum)
        if self.log_space:
            self.reference = self.own_group_best(own, groups, n_videos)
            self.reference_keys = self.log_keys(self.reference, np.arange(n_videos))

    def _weights(self, block: np.ndarray) -> np.ndarray:
        return np.exp(self.temperature * (block.astype(np.float64) - self.col_max))

    def __call__(self, block: np.ndarray) -> np.ndarray:
        """The reweighted block (direct mode only)."""
        with np.errstate(invalid="ignore"):      # a column that is all NaN-as-lowest
            out = self._weights(block)
            out /= self.col_sum
            out *= block
        out[np.isneginf(block)] = -np.inf       # NaN-as-lowest stays lowest
        return out

    def log_keys(self, values: np.ndarray, columns: np.ndarray) -> Tuple[np.ndarray, ...]:
        """(sign class, log|DSL value| in float64, twice a bound on that log's error) of each
        entry."""
        with np.errstate(invalid="ignore", divide="ignore"):
            scaled = self.temperature * (values - self.col_max[columns])
            logs = np.log(np.abs(values))
            key = scaled + (logs - self.log_sum[columns])
            bound = np.abs(scaled) + np.abs(logs) + self.log_sum[columns]
            bound *= 2 * self.KEY_ULPS * np.finfo(np.float64).eps
        return _kind(values), key, bound

    def above(self, keys: Tuple[np.ndarray, ...], other_keys: Tuple[np.ndarray, ...],
              values: np.ndarray, columns: np.ndarray, others: np.ndarray,
              other_columns: np.ndarray) -> np.ndarray:
        """:meth:`exceeds`, decided by the float64 keys of :meth:`log_keys` wherever they differ
        by more than twice their error bounds (nearly everywhere), by :meth:`exceeds` elsewhere."""
        kind, key, bound = keys
        other_kind, other_key, other_bound = other_keys
        with np.errstate(invalid="ignore"):
            gap = key - other_key
            gap *= kind                           # > 0: higher (a smaller negative is higher)
            margin = bound + other_bound
            same = kind == other_kind
            result = (gap > margin) & same | (kind > other_kind)
            np.abs(gap, out=gap)                  # NaN (two zeros, two NaN-as-lowest): a tie
            unsure = (gap <= margin) & same
        if unsure.any():
            where = np.nonzero(unsure)
            pick = [np.broadcast_to(a, unsure.shape)[where]
                    for a in (values, columns, others, other_columns)]
            result[where] = self.exceeds(*pick)
        return result

    def exceeds(self, values: np.ndarray, columns: np.ndarray, others: np.ndarray,
                other_columns: np.ndarray) -> np.ndarray:
        """Whether the DSL value of each entry `values` (in video `columns`) is strictly above
        that of `others` (in `other_columns`), all broadcast together; exact as the class says."""
        with np.errstate(invalid="ignore", divide="ignore", over="ignore"):
            a_hi, a_lo = _two_sum(values, -self.col_max[columns])
            b_hi, b_lo = _two_sum(others, -self.col_max[other_columns])
            gap_hi, gap_lo = _double_double_difference(a_hi, a_lo, b_hi, b_lo)
            scaled_gap = self.temperature * gap_hi
            log_value, log_other = np.log(np.abs(values)), np.log(np.abs(others))
            sum_value, sum_other = self.log_sum[columns], self.log_sum[other_columns]
            log_gap = scaled_gap + (self.temperature * gap_lo
                                    + ((log_value - sum_value) - (log_other - sum_other)))
            # within the rounding of the terms it is a tie, as the direct formula has it
            # (0.6 * 1/2 against 0.3 * 1/1), not a coin toss between two roundings
            tie = self.TIE_ULPS * np.finfo(np.float64).eps * (
                np.abs(scaled_gap) + np.abs(log_value) + sum_value + np.abs(log_other) + sum_other)
        kind, other_kind = _kind(values), _kind(others)
        same = np.where(kind > 0, log_gap > tie, (kind == -1) & (log_gap < -tie))
        return np.where(kind == other_kind, same, kind > other_kind)

    def own_group_best(self, own: np.ndarray, groups: np.ndarray, n_videos: int) -> np.ndarray:
        """For each video, the value of its best caption in its own column (the v2t reference)."""
        order = np.argsort(groups, kind="stable")
        sorted_groups = groups[order]
        first = np.searchsorted(sorted_groups, np.arange(n_videos))
        member = np.arange(len(order)) - first[sorted_groups]      # position within the group
        best = own[order[member == 0]]
        for k in range(1, int(member.max()) + 1):
            rows = order[member == k]
            videos = groups[rows]
            better = self.exceeds(own[rows], videos, best[videos], videos)
            best[videos[better]] = own[rows][better]
        return best


def _kind(values: np.ndarray) -> np.ndarray:
    """-2 for NaN-as-lowest, -1 negative, 0 zero, 1 positive: the order of DSL values' classes
    (a negative value is then higher the smaller its magnitude)."""
    return np.sign(values) - np.isneginf(values)


def _two_sum(a: np.ndarray, b: np.ndarray) -> Tuple[np.ndarray, np.ndarray]:
    """a + b as a rounded sum and its exact rounding error (Knuth's TwoSum)."""
    total = a + b
    b_part = total - a
    return total, (a - (total - b_part)) + (b - b_part)


def _double_double_difference(a_hi, a_lo, b_hi, b_lo) -> Tuple[np.ndarray, np.ndarray]:
    """(a_hi + a_lo) - (b_hi + b_lo) to about 2**-104 of the result, however much cancels."""
    hi, lo = _two_sum(a_hi, -b_hi)
    low_hi, low_lo = _two_sum(a_lo, -b_lo)
    hi, lo = _two_sum(hi, lo + low_hi)
    return _two_sum(hi, lo + low_lo)


def _update_group_max(best: np.ndarray, block: np.ndarray, groups: np.ndarray,
                      in_order: bool) -> None:
    """best[g] = max(best[g], every row of `block` whose caption belongs to group g)."""
    if not in_order:
        order = np.argsort(groups, kind="stable")
        block, groups = block[order], groups[order]
    starts = (np.flatnonzero(np.diff(groups)) + 1).tolist()
    if len(starts) == len(groups) - 1:                # one caption of each group here
        best[groups] = np.maximum(best[groups], block)
        return
    for first, end in zip([0] + starts, starts + [len(groups)]):
        row = best[groups[first]]
        np.maximum(row, block[first:end].max(axis=0), out=row)


# ---------------------------------------------------------------------------------------------
# Files


@dataclass(frozen=True)
class GroundTruth:
    """A ``caption_id<TAB>video_id`` file: captions in line order, videos by first appearance."""

    path: str
    caption_ids: Tuple[str, ...]
    video_ids: Tuple[str, ...]
    caption_video: np.ndarray


def read_ground_truth(path: PathLike) -> GroundTruth:
    text = read_text(path, "ground truth file")
    captions: Dict[str, int] = {}
    videos: Dict[str, int] = {}
    caption_video: List[int] = []
    for line_no, line in enumerate(text_lines(text), 1):
        if not line.strip(WHITESPACE):
            continue
        fields = [f.strip(WHITESPACE) for f in line.strip(WHITESPACE).split("\t")]
        if len(fields) != 2 or not all(fields):
            raise InputError(f"expected caption_id<TAB>video_id, got {len(fields)} field(s)",
                             path, line_no)
        caption, video = fields
        if max(len(caption), len(video)) > MAX_ID_CHARS:
            raise InputError(f"an id of more than {MAX_ID_CHARS} characters", path, line_no)
        if caption in captions:
            raise InputError(f"caption {caption!r} is listed again (first on line "
                             f"{captions[caption]}); each caption belongs to one video",
                             path, line_no)
        captions[caption] = line_no
        caption_video.append(videos.setdefault(video, len(videos)))
    return GroundTruth(str(path), tuple(captions), tuple(videos),
                       np.asarray(caption_video, dtype=np.int64))


def recall_from_files(*, sims: Optional[PathLike] = None,
                      text_features: Optional[PathLike] = None,
                      video_features: Optional[PathLike] = None,
                      gt: Optional[PathLike] = None, captions_per_video: Optional[int] = None,
                      dsl: bool = False, dsl_temperature: float = 100.0,
                      ks: Sequence[int] = DEFAULT_KS, nan_as_lowest: bool = False,
                      chunk_rows: int = DEFAULT_CHUNK_ROWS, fingerprint: bool = True) -> dict:
    """:func:`recall_metrics` on a similarity file or on two feature files, with `gt` or
    `captions_per_video` for the ground truth; ``meta["inputs"]`` records the paths."""
    check_recall_inputs(sims, text_features, video_features, gt, captions_per_video)
    truth = read_ground_truth(gt) if gt is not None else None
    if sims is not None:
        matrix = load_sims(sims)
        source: PathLike = sims
        inputs: dict = {"sims": str(sims)}
        if truth is not None:
            _check_against_truth(matrix.shape[0], len(truth.caption_ids), "rows", "captions",
                                 sims, truth)
            _check_against_truth(matrix.shape[1], len(truth.video_ids), "columns", "videos",
                                 sims, truth)
    else:
        text = _features_for(text_features, truth.caption_ids if truth else None, "caption",
                             truth)
        video = _features_for(video_features, truth.video_ids if truth else None, "video",
                              truth)
        if text.shape[1] != video.shape[1]:
            raise InputError(f"{text.shape[1]}-dimensional text features but "
                             f"{video.shape[1]}-dimensional video features in {video_features}",
                             text_features)
        if truth is None and len(text) != captions_per_video * len(video):
            raise InputError(f"{len(text)} text features are not {captions_per_video} for each "
                             f"of the {len(video)} videos in {video_features}", text_features)
        matrix = cosine_matrix(text, video, chunk_rows)
        source = text_features
        inputs = {"text_features": str(text_features), "video_features": str(video_features),
                  "text_shape": list(text.shape), "video_shape": list(video.shape)}
    if truth is not None:
        inputs["gt"] = truth.path
    result = recall_metrics(matrix, captions_per_video=captions_per_video,
                            caption_video=None if truth is None else truth.caption_video,
                            dsl=dsl, dsl_temperature=dsl_temperature, ks=ks,
                            nan_as_lowest=nan_as_lowest, chunk_rows=chunk_rows,
                            fingerprint=fingerprint, source=source)
    result["meta"]["inputs"] = inputs
    return result


def check_recall_inputs(sims: object, text_features: object, video_features: object,
                        gt: object, captions_per_video: Optional[int], *,
                        as_options: bool = False) -> None:
    """Recall's one rule on what it is given: a similarity matrix or both feature sets, and one
    ground truth (a file or captions per video). Raises InputError naming the arguments as
    Python keywords, or `as_options` as the CLI's ``--options``."""
    def name(keyword: str) -> str:
        return "--" + keyword.replace("_", "-") if as_options else keyword

    if (sims is None) == (text_features is None and video_features is None):
        raise InputError(f"give either {name('sims')} or {name('text_features')} with "
                         f"{name('video_features')}")
    if sims is None and (text_features is None or video_features is None):
        raise InputError(f"{name('text_features')} and {name('video_features')} go together")
    if (gt is None) == (captions_per_video is None):
        raise InputError(f"give either {name('gt')} or {name('captions_per_video')}")


def _check_against_truth(have: int, want: int, axis: str, what: str, path: PathLike,
                         truth: GroundTruth) -> None:
    if have != want:
        raise InputError(f"{have} {axis} but the ground truth {truth.path} has {want} {what}",
                         path)


def load_sims(path: PathLike) -> np.ndarray:
    """A similarity matrix from ``.npy`` (memory-mapped) or Parquet, not yet validated."""
    magic = file_magic(path)
    if magic.startswith(NPY_MAGIC):
        return load_npy(path, mmap=True)
    if magic.startswith(PARQUET_MAGIC):
        return _load_parquet(path)
    if Path(path).is_dir():
        raise InputError("is a directory, expected a .npy or Parquet file", path)
    raise InputError("neither a .npy array nor a Parquet file", path)


def _load_parquet(path: PathLike) -> np.ndarray:
    import pyarrow as pa
    import pyarrow.parquet as pq

    try:
        table = pq.read_table(path)
    except (pa.ArrowException, OSError) as exc:
        raise InputError(f"cannot read as Parquet: {exc}", path) from None
    if table.num_rows == 0 or table.num_columns == 0:
        raise InputError(f"empty Parquet table ({table.num_rows} rows, {table.num_columns} "
                         "columns)", path)
    if table.num_columns == 1 and (pa.types.is_list(table.schema[0].type)
                                   or pa.types.is_fixed_size_list(table.schema[0].type)
                                   or pa.types.is_large_list(table.schema[0].type)):
        value_type = table.schema[0].type.value_type
        if not (pa.types.is_floating(value_type) or pa.types.is_integer(value_type)):
            raise InputError(f"list column {table.schema[0].name!r} holds {value_type}, "
                             "expected numbers", path)
        blocks, first_row = [], 0
        for chunk in (c for c in table.column(0).chunks if len(c)):
            blocks.append(list_column_rows(chunk, blocks[0].shape[1] if blocks else None,
                                           first_row, path))
            first_row += len(chunk)
        return np.concatenate(blocks).astype(np.float64)
    for field in table.schema:
        if not (pa.types.is_floating(field.type) or pa.types.is_integer(field.type)):
            raise InputError(f"column {field.name!r} is {field.type}, expected numbers", path)
    columns = [table.column(i).to_numpy(zero_copy_only=False) for i in range(table.num_columns)]
    dtype = np.result_type(np.float32, *[c.dtype for c in columns])
    if not np.issubdtype(dtype, np.floating):
        dtype = np.float64
    return np.column_stack([c.astype(dtype) for c in columns])


def _features_for(path: PathLike, wanted: Optional[Sequence[str]], what: str,
                  truth: Optional[GroundTruth]) -> np.ndarray:
    """The feature rows in the ground truth's order (or the file's order without one)."""
    ids, matrix = _load_features(path)
    if wanted is not None:
        if ids is None:
            if len(matrix) != len(wanted):
                raise InputError(f"{len(matrix)} rows but the ground truth {truth.path} has "
                                 f"{len(wanted)} {what}s (a .npy has no ids, so its rows must "
                                 "follow the ground truth's order)", path)
        else:
            index = {i: n for n, i in enumerate(ids)}
            missing = [w for w in wanted if w not in index]
            if missing:
                raise InputError(f"{len(missing)} {what} id(s) of the ground truth {truth.path} "
                                 f"are not here, e.g. {missing[0]!r}", path)
            matrix = matrix[[index[w] for w in wanted]]
    unit_row_norms(matrix, lambda row: f"{row} (0-based, in ground-truth order)", "feature row",
                   path)
    return matrix


def _load_features(path: PathLike) -> Tuple[Optional[List[str]], np.ndarray]:
    if file_magic(path).startswith(NPY_MAGIC):
        ids, matrix = None, load_npy(path)
    else:
        from ..formats.store import read_features  # stores, BigFile, Parquet/Arrow with ids

        features = read_features(path)
        ids, matrix = [str(i) for i in features.ids], np.asarray(features.matrix)
    return ids, check_matrix(matrix, path, "feature")


def cosine_matrix(text: np.ndarray, video: np.ndarray,
                  chunk_rows: int = DEFAULT_CHUNK_ROWS) -> np.ndarray:
    """float32 cosine similarities of every text row with every video row, in row chunks."""
    video_t = unit_float32(video).T.copy()
    out = np.empty((len(text), len(video)), dtype=np.float32)
    for start in range(0, len(text), chunk_rows):
        np.matmul(unit_float32(text[start:start + chunk_rows]), video_t,
                  out=out[start:start + chunk_rows])
    return out


def recall_rows(result: dict) -> Tuple[List[dict], List[str]]:
    """Rows for :func:`trecvid_fpig.report.formats.render`: one per direction."""
    meta = result["meta"]
    metric_names = [f"R@{k}" for k in meta["ks"]] + ["MdR", "MnR"]
    queries = {"t2v": meta["captions"], "v2t": meta["videos"]}
    rows = [dict(direction=d, **result[d], queries=queries[d]) for d in ("t2v", "v2t")]
    return rows, ["direction"] + metric_names + ["queries"]
