"""Exact top-k of every topic over a feature matrix, streamed block by block.

Each block of shots is scored against all topics in one float32 matrix product (numpy's BLAS
on the CPU, torch on a GPU); float16 stores are widened to float32 first. A running floor per
topic keeps only the shots that can still reach the top k, so after the first block almost
nothing but the product itself is left to do. The floor sits below the k-th score by one
rounding step of the written scores plus a bound on float32's error, so the candidates are a
superset of the true top k. Their cosines are then recomputed in float64: the written scores,
and so the run files, do not depend on the BLAS kernel, the device, or which topics shared the
product. The final order is the one the evaluator reads back from the written run: score
rounded as the run file writes it, descending, ties by shot id descending as a string.
"""
from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Iterator, List, Optional, Sequence, Tuple

import numpy as np

from ..base.vectors import ZERO_NORM, unit_float32
from ..base.workers import usable_cores
from ..errors import InputError
from ..formats.matrix import FeatureMatrix, row_norms
from ..formats.runs import format_score

#: Values scored per block: big enough that the product, not per-block bookkeeping, dominates.
SEARCH_BLOCK_VALUES = 1 << 25
#: Candidates kept per topic before an exact cut by rounded score and id (a flood of ties).
_TIE_FLOOD = 4


@dataclass(frozen=True)
class Hits:
    """One topic's top k: rows of the feature matrix, their shot ids and scores, best first."""
    rows: np.ndarray
    ids: Tuple[str, ...]
    scores: np.ndarray          # float64 cosines


def search(features: FeatureMatrix, queries: np.ndarray, k: int = 1000,
           exclude_rows: Optional[np.ndarray] = None, decimals: int = 6,
           block_rows: Optional[int] = None, device: str = "cpu",
           progress: bool = False) -> List[Hits]:
    """Top `k` shots of each query row (L2-normalised) by cosine, in the evaluator's order.

    Blocks default to 2**25 values (65,536 shots at 512-d): large enough that the matrix
    product, not the bookkeeping per block, takes the time.
    """
    queries, excluded, block_rows = search_arguments(features, queries, k, exclude_rows,
                                                     block_rows)
    blocks = (torch_scores if device != "cpu" else numpy_scores)(
        features, queries, block_rows, device)
    return collect(_CosineTopK(queries, k, decimals, features), finite_blocks(blocks, features),
                   excluded, features.count, progress)


def search_arguments(features: FeatureMatrix, queries: np.ndarray, k: int,
                     exclude_rows: Optional[np.ndarray], block_rows: Optional[int]
                     ) -> Tuple[np.ndarray, np.ndarray, int]:
    """Checked float32 queries, sorted unique excluded rows, and the block size."""
    if block_rows is None:
        block_rows = max(1024, SEARCH_BLOCK_VALUES // features.dim)
    queries = np.ascontiguousarray(queries, dtype=np.float32)
    if queries.ndim != 2 or queries.shape[1] != features.dim:
        raise ValueError(f"queries of shape {queries.shape} for {features.dim}-d features")
    if k < 1:
        raise InputError(f"the number of shots per topic must be at least 1, got {k}")
    return queries, excluded_rows(exclude_rows, features), block_rows


def excluded_rows(exclude_rows: Optional[np.ndarray], features: FeatureMatrix) -> np.ndarray:
    """The sorted unique rows to leave out; leaving out every shot is refused, since the run
    would be empty for every topic."""
    excluded = np.unique(np.asarray([] if exclude_rows is None else exclude_rows, dtype=np.int64))
    if len(excluded) >= features.count:
        raise InputError(f"--exclude leaves out all {features.count} shots of the collection: "
                         f"no shot is left to rank", features.path)
    return excluded


def collect(best: "RunningTopK", blocks: Iterator[Tuple[int, np.ndarray]], excluded: np.ndarray,
            count: int, progress: bool) -> List[Hits]:
    """Feed every block of scores (all finite) into `best`, excluded rows scored -inf."""
    from tqdm import tqdm

    with tqdm(total=count, unit="shot", unit_scale=True, desc="search",
              disable=not progress, leave=False) as bar:
        for start, scores in blocks:
            n = scores.shape[1]
            lo, hi = np.searchsorted(excluded, (start, start + n))
            if hi > lo:
                scores[:, excluded[lo:hi] - start] = -np.inf
            best.add(start, scores)
            bar.update(n)
    return best.finish()


def finite_blocks(blocks: Iterator[Tuple[int, np.ndarray]],
                  features: FeatureMatrix) -> Iterator[Tuple[int, np.ndarray]]:
    """The blocks, refusing one that holds a NaN: it would sort nowhere and silently vanish."""
    for start, scores in blocks:
        if not np.isfinite(scores.sum()):
            refuse_non_finite(scores, start, features)
        yield start, scores


def refuse_non_finite(scores: np.ndarray, start: int, features: FeatureMatrix) -> None:
    column = int(np.flatnonzero(~np.isfinite(scores).all(axis=0))[0])
    shot = features.ids_at([start + column])[0]
    raise InputError(f"row {start + column} (shot {shot}) scores NaN or infinity: its vector "
                     f"holds a non-finite value{EDITED_HINT}", features.path)


#: For a store, whose rows were checked at conversion: what a bad value there means.
EDITED_HINT = (" (a store changed after conversion? `fpig-trecvid features inspect --verify` "
                "re-hashes it)")


def numpy_scores(features: FeatureMatrix, queries: np.ndarray, block_rows: int,
                  device: str) -> Iterator[Tuple[int, np.ndarray]]:
    widen = features.dtype != np.float32
    cast = np.copyto
    if features.dtype == np.float16 and features.normalized:
        # Bit-moving is only safe on rows known to be finite, as a store's are.
        cast, queries = _half_bits_as_float32, queries * _HALF_EXPONENT_SHIFT
    # Rows are widened a few at a time, so the float32 copy is still in cache for the product.
    step = max(1, _WIDEN_VALUES // features.dim) if widen else block_rows
    buffer = np.empty((step, features.dim), dtype=np.float32) if widen else None
    for start, block in features.blocks(block_rows):
        scores = np.empty((len(queries), len(block)), dtype=np.float32)
        for i in range(0, len(block), step):
            part = block[i:i + step]
            if widen:
                values = buffer[:len(part)]
                cast(values, part)
            else:
                values = np.asarray(part)
            out = scores[:, i:i + len(part)]
            if features.normalized:
                np.matmul(queries, values.T, out=out)
            else:
                norms = row_norms(values, start + i, features)       # refuses NaN/inf/zero
                np.divide(queries @ values.T, norms, out=out)
        yield start, scores


_HALF_SIGN_AND_BITS = np.array(0x8FFFE000, dtype=np.uint32).view(np.int32)
_HALF_EXPONENT_SHIFT = np.float32(2.0 ** 112)     # 2**(127 - 15): half bias -> float32 bias
_HALF_CHUNK = 1 << 18                             # elements per step: stays in the core's cache
_WIDEN_VALUES = 1 << 19                           # values widened per product (2 MiB)


def _half_bits_as_float32(out: np.ndarray, half: np.ndarray) -> None:
    """Finite float16 values as float32 numbers 2**112 times too small, in two vectorised
    passes: about 4x faster here than numpy's cast, which converts value by value.

    The half's bits, sign-extended and shifted left by 13, land in float32's sign, exponent
    and mantissa fields with the exponent still biased by 15; the mask drops the sign
    extension's copies. Read as float32 that is exactly the value times 2**-112 (half
    subnormals included, as float32 subnormals), so scoring against queries times 2**112
    gives the same products as widening first: scaling by a power of two is exact.
    """
    flat_in = half.reshape(-1).view(np.int16)
    flat_out = out.reshape(-1).view(np.int32)
    for i in range(0, flat_in.size, _HALF_CHUNK):
        bits = flat_out[i:i + _HALF_CHUNK]
        np.left_shift(flat_in[i:i + _HALF_CHUNK], 13, out=bits, dtype=np.int32)
        np.bitwise_and(bits, _HALF_SIGN_AND_BITS, out=bits)


def torch_scores(features: FeatureMatrix, queries: np.ndarray, block_rows: int,
                  device: str) -> Iterator[Tuple[int, np.ndarray]]:
    """Blocks reach the GPU through two pinned host buffers: while the GPU scores one, threads
    copy the next one in (a single copying thread, not PCIe, would set the pace). The product
    runs in float32 on the GPU."""
    import torch

    q = torch.from_numpy(queries).to(device)
    dtype = getattr(torch, features.dtype.name)
    hosts = [torch.empty((block_rows, features.dim), dtype=dtype, pin_memory=True)
             for _ in range(2)]
    threads = max(1, min(8, usable_cores() // 2))
    with ThreadPoolExecutor(max_workers=threads) as copiers:

        def fill(slot: int, block: np.ndarray) -> List:
            target = hosts[slot].numpy()[:len(block)]
            step = -(-len(block) // threads)
            return [copiers.submit(np.copyto, target[i:i + step], block[i:i + step])
                    for i in range(0, len(block), step)]

        blocks = features.blocks(block_rows)
        current = next(blocks, None)
        pending = fill(0, current[1]) if current is not None else []
        slot = 0
        while current is not None:
            start, block = current
            for copy in pending:
                copy.result()
            current = next(blocks, None)
            # The other buffer's transfer finished when the last block's scores came back.
            pending = fill(1 - slot, current[1]) if current is not None else []
            values = hosts[slot][:len(block)].to(device, non_blocking=True).float()
            scores = q @ values.T
            if not features.normalized:
                norms = values.norm(dim=1)
                if not bool(torch.isfinite(norms).all() and (norms > ZERO_NORM).all()):
                    row_norms(np.asarray(block), start, features)      # raises, naming the row
                scores /= norms
            yield start, scores.cpu().numpy()
            slot = 1 - slot


class RunningTopK:
    """Per topic, every shot that can still be in the final top k (a superset of it).

    `slack` bounds how far a block's float32 score may sit from the exact one, plus one
    rounding step of the written scores; :meth:`exact` gives a topic's rows re-scored exactly,
    in the evaluator's order, cut at k.
    """

    def __init__(self, topics: int, k: int, decimals: int, slack: float):
        self.k = k
        self.decimals = decimals
        self.slack = slack
        self.floor = np.full(topics, -np.finfo(np.float32).max, dtype=np.float32)
        self.rows = [np.empty(0, dtype=np.int64) for _ in range(topics)]
        self.scores = [np.empty(0, dtype=np.float32) for _ in range(topics)]

    def exact(self, topic: int, rows: np.ndarray) -> Hits:
        raise NotImplementedError

    def add(self, start: int, block_scores: np.ndarray) -> None:
        k = self.k
        for t, scores in enumerate(block_scores):
            hit = np.flatnonzero(scores >= self.floor[t])
            if not len(hit):
                continue
            rows = np.concatenate((self.rows[t], hit + start))
            values = np.concatenate((self.scores[t], scores[hit]))
            if len(values) > k:
                kth = np.partition(values, len(values) - k)[len(values) - k]
                floor = np.float32(np.nextafter(np.float32(kth - self.slack), np.float32(-np.inf)))
                keep = values >= floor
                rows, values = rows[keep], values[keep]
                self.floor[t] = max(self.floor[t], floor)
                if len(values) > _TIE_FLOOD * k:
                    kept = self.exact(t, rows).rows
                    position = {r: i for i, r in enumerate(rows.tolist())}
                    values = values[[position[r] for r in kept.tolist()]]
                    rows = kept
            self.rows[t], self.scores[t] = rows, values

    def finish(self) -> List[Hits]:
        """Each topic's candidates re-scored exactly and cut to k, in the evaluator's order."""
        return [self.exact(t, rows) for t, rows in enumerate(self.rows)]


class _CosineTopK(RunningTopK):
    """The top k of one feature matrix by cosine."""

    def __init__(self, queries: np.ndarray, k: int, decimals: int, features: FeatureMatrix):
        super().__init__(len(queries), k, decimals, cosine_slack(decimals, features.dim))
        self.queries = queries
        self.features = features

    def exact(self, topic: int, rows: np.ndarray) -> Hits:
        return _ordered(rows, self.features.take(rows), self.queries[topic], self.k,
                        self.decimals, self.features)

    def finish(self) -> List[Hits]:
        features = self.features
        if features.random_access:
            return super().finish()
        union = np.unique(np.concatenate(self.rows))           # one more pass over the source
        vectors = features.take(union)
        return [_ordered(rows, vectors[np.searchsorted(union, rows)], q, self.k, self.decimals,
                         features)
                for rows, q in zip(self.rows, self.queries)]


def cosine_slack(decimals: int, dim: int) -> float:
    """Rounding to `decimals` can tie shots 10**-decimals apart; a float32 dot product of unit
    vectors in `dim` dimensions is off by at most about dim * 2**-24."""
    return 10.0 ** -decimals + 2 * dim * 2.0 ** -24


def rounded(scores: Sequence[float], decimals: int) -> List[float]:
    """Scores as the run file writes them, so that ordering here matches re-reading it."""
    return [float(format_score(float(s), decimals)) for s in scores]


def exact_cosines(vectors: np.ndarray, query: np.ndarray, normalized: bool) -> np.ndarray:
    """THE score of a shot, the one definition every source goes through: the float64 dot
    product of the query with the row's float32 unit vector (:func:`unit_float32`, which is
    what a store holds). Raw rows are normalised here exactly as conversion normalises them, so
    a ``.npy``, BigFile or Parquet source and the float32 store converted from it give the
    same bits. Each row's value depends on that row alone, never on the BLAS kernel or on which
    other rows are scored with it."""
    units = vectors if normalized else unit_float32(vectors)
    return np.einsum("ij,j->i", units, query.astype(np.float64), dtype=np.float64)


def _ordered(rows: np.ndarray, vectors: np.ndarray, query: np.ndarray, k: int, decimals: int,
             features: FeatureMatrix) -> Hits:
    scores = exact_cosines(vectors, query, features.normalized)
    check_unit_scores(scores, rows, features)
    return evaluator_order(rows, features.ids_at(rows), scores, k, decimals)


def unit_cosine_limit(dtype: np.dtype) -> float:
    """The largest |cosine| a stored unit row of `dtype` can give with a unit query: rounding a
    unit row to float16 moves its norm by up to about 1e-4 (float32: about 1e-7)."""
    return 1 + (1e-5 if np.dtype(dtype) == np.float32 else 1e-3)


def check_unit_scores(scores: np.ndarray, rows: np.ndarray, features: FeatureMatrix) -> None:
    """A store's rows are unit vectors: a cosine beyond 1 means the store was edited."""
    if (features.format == "store" and len(scores)
            and np.abs(scores).max() > unit_cosine_limit(features.dtype)):
        row = int(rows[np.argmax(np.abs(scores))])
        raise InputError(f"row {row} (shot {features.ids_at([row])[0]}) is not a unit vector "
                         f"although the store's rows are normalised{EDITED_HINT}", features.path)


def evaluator_order(rows: np.ndarray, ids: Sequence[str], scores: np.ndarray, k: int,
                    decimals: int) -> Hits:
    """The best k by score rounded as written, then shot id, both descending."""
    keys = rounded(scores, decimals)
    order = sorted(range(len(rows)), key=lambda i: (keys[i], ids[i]), reverse=True)[:k]
    return Hits(rows[order], tuple(ids[i] for i in order), scores[order])
