"""Similarity-level fusion: the top k of a weighted sum of several models' cosines.

    S(shot) = sum over models m of w_m * cos(q_m, v_m(shot))

This is how LAFF and TtimesV combine models: over every shot of the collection, before any
cut, so a shot that is 1001st for each model alone but first in the sum is not lost, as it is
when truncated runs are fused. The stores are read in lockstep, one pass each: block i of
every store is scored against its model's topic features (as :func:`~.topk.search` scores
one store), the float32 products are summed with their weights, and a running floor keeps the
candidates. The floor's slack is the weighted sum of each model's float32 error bound plus the
error of the float32 sum and one rounding step of the written scores, so the candidates are
a superset of the true top k. They are then re-scored exactly: each model's float64 cosine
(:func:`~.topk.exact_cosines`, the one definition of a shot's score), times its weight, added
in the models' order. Written scores depend on neither the BLAS kernel nor the device.

Every store must list the same shot ids in the same order: the sum is taken row by row, and a
store of other shots, or of the same shots in another order, is refused naming the first row
that differs (align stores by converting them from id-sorted sources).
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Iterator, List, Optional, Sequence, Tuple

import numpy as np

from ..errors import InputError
from ..formats.matrix import FeatureMatrix
from .topk import (SEARCH_BLOCK_VALUES, Hits, RunningTopK, check_unit_scores, collect, cosine_slack,
                   evaluator_order, exact_cosines, excluded_rows, finite_blocks, numpy_scores,
                   torch_scores)


@dataclass(frozen=True)
class ScoredModel:
    """One model of a fusion: its shot features, its topic features (one row per topic, in the
    same order for every model) and the weight of its cosine in the sum."""
    features: FeatureMatrix
    queries: np.ndarray
    weight: float


def fusion_weight(value, where: str) -> float:
    """A model's weight: a finite number above 0 (`where` names the model in the error)."""
    try:
        weight = float(value)
    except (TypeError, ValueError):
        raise InputError(f"{where}: the weight {value!r} is not a number") from None
    if not (math.isfinite(weight) and weight > 0):
        raise InputError(f"{where}: the weight must be a finite number above 0, got {value}")
    return weight


def check_same_shots(stores: Sequence[FeatureMatrix]) -> None:
    """Refuse stores whose ids differ from the first store's, naming the first such row."""
    first = stores[0]
    for other in stores[1:]:
        row = first.first_id_difference(other)
        if row is None:
            continue
        if row >= min(first.count, other.count):
            raise InputError(f"holds {other.count} shots but {first.path} holds {first.count}: "
                             f"fused models must score the same shots, in the same order",
                             other.path)
        raise InputError(f"row {row} is shot {other.ids_at([row])[0]} but row {row} of "
                         f"{first.path} is shot {first.ids_at([row])[0]}: fused models must "
                         f"score the same shots, in the same order", other.path)


def fused_search(models: Sequence[ScoredModel], k: int = 1000,
                 exclude_rows: Optional[np.ndarray] = None, decimals: int = 6,
                 block_rows: Optional[int] = None, device: str = "cpu",
                 progress: bool = False) -> List[Hits]:
    """Top `k` shots of each topic by the weighted sum of the models' cosines, in the
    evaluator's order; ``Hits.scores`` are the float64 sums."""
    if not models:
        raise ValueError("no models to fuse")
    check_same_shots([m.features for m in models])
    topics = len(models[0].queries)
    prepared = []
    for model in models:
        queries = np.ascontiguousarray(model.queries, dtype=np.float32)
        if queries.shape != (topics, model.features.dim):
            raise ValueError(f"queries of shape {queries.shape} for {topics} topics of "
                             f"{model.features.dim}-d features")
        prepared.append(ScoredModel(model.features, queries, float(model.weight)))
    if k < 1:
        raise InputError(f"the number of shots per topic must be at least 1, got {k}")
    _check_weight_sum(prepared)
    if block_rows is None:
        block_rows = max(1024, SEARCH_BLOCK_VALUES // max(m.features.dim for m in prepared))
    excluded = excluded_rows(exclude_rows, prepared[0].features)
    best = _FusedTopK(prepared, k, decimals)
    return collect(best, _summed_blocks(prepared, block_rows, device), excluded,
                   prepared[0].features.count, progress)


def _check_weight_sum(models: Sequence[ScoredModel]) -> None:
    """The weighted cosines are first summed in float32: weights whose sum passes float32's
    largest value overflow to infinity, and the candidates (and the run) would be lost."""
    total = math.fsum(m.weight for m in models)
    largest = float(np.finfo(np.float32).max)
    if total > largest:
        raise InputError(f"the models' weights sum to {total:g}, beyond {largest:.4g}, the "
                         f"largest float32 in which fused cosines are summed: scale them down "
                         f"(only their ratios rank the shots)")


def fused_slack(models: Sequence[ScoredModel], decimals: int) -> float:
    """Each model's float32 cosine error bound times its weight, plus the float32 sum's own
    rounding: the weight rounded to float32, its product and the addition, each one relative
    step of a sum no larger than the weights' total (four steps a model, with margin)."""
    total = sum(abs(m.weight) for m in models)
    per_model = sum(abs(m.weight) * (cosine_slack(decimals, m.features.dim) - 10.0 ** -decimals)
                    for m in models)
    return 10.0 ** -decimals + per_model + 4 * len(models) * total * 2.0 ** -24


def _summed_blocks(models: Sequence[ScoredModel], block_rows: int,
                   device: str) -> Iterator[Tuple[int, np.ndarray]]:
    scorer = torch_scores if device != "cpu" else numpy_scores
    streams = [finite_blocks(scorer(m.features, m.queries, block_rows, device), m.features)
               for m in models]
    for parts in zip(*streams):
        start, total = parts[0]
        total *= np.float32(models[0].weight)
        for model, (_, scores) in zip(models[1:], parts[1:]):
            total += np.float32(model.weight) * scores
        yield start, total


class _FusedTopK(RunningTopK):
    def __init__(self, models: Sequence[ScoredModel], k: int, decimals: int):
        super().__init__(len(models[0].queries), k, decimals, fused_slack(models, decimals))
        self.models = models

    def exact(self, topic: int, rows: np.ndarray) -> Hits:
        return self._sum(topic, rows, [m.features.take(rows) for m in self.models])

    def finish(self) -> List[Hits]:
        # One take per store of every topic's candidates: a single extra pass for a source
        # without random access, and one sequential gather for a memory map.
        union = np.unique(np.concatenate(self.rows))
        vectors = [m.features.take(union) for m in self.models]
        hits = []
        for t, rows in enumerate(self.rows):
            at = np.searchsorted(union, rows)
            hits.append(self._sum(t, rows, [v[at] for v in vectors]))
        return hits

    def _sum(self, topic: int, rows: np.ndarray, vectors: Sequence[np.ndarray]) -> Hits:
        total = np.zeros(len(rows), dtype=np.float64)
        for model, values in zip(self.models, vectors):
            cosines = exact_cosines(values, model.queries[topic], model.features.normalized)
            check_unit_scores(cosines, rows, model.features)
            total += model.weight * cosines
        features = self.models[0].features
        return evaluator_order(rows, features.ids_at(rows), total, self.k, self.decimals)
