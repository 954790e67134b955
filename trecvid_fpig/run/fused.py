"""``run --model CKPT_OR_QF:STORE[:WEIGHT]`` (repeated): one run from several models' cosines.

Each model is a source of topic features (a checkpoint whose text tower encodes the topics, or
a ``.npy`` from ``encode``) and the shot features of the same model; the shot score is the
weighted sum of the models' cosines over every shot (:mod:`trecvid_fpig.search.fused`), so
nothing is cut before the sum. The files written, their atomic commit and the lock are those of
a single-model run (:mod:`trecvid_fpig.run.commit`); the sidecar records every model: its topic
features or checkpoint with their sha256, its store's manifest and its weight.
"""
from __future__ import annotations

import dataclasses
from typing import List

import numpy as np

from ..base.devices import pick_device
from ..formats.store import read_features
from ..search.fused import ScoredModel, check_same_shots, fused_search
from .commit import SCORE_DECIMALS, Clock, commit_sets, run_stage, search_record
from .queries import prepare_queries, query_features
from .request import ModelSpec, RunOutput, RunRequest, excluded_rows, parse_model, plan_topic_sets


def _single(request: RunRequest, model: ModelSpec) -> RunRequest:
    """The request as a run of `model` alone: what the single-model helpers read."""
    checkpoint, query = ((None, model.source) if model.is_query_features
                         else (model.source, None))
    return dataclasses.replace(request, models=(), checkpoint=checkpoint,
                               query_features=query, features=model.store)


def make_fused_run(request: RunRequest, clock: Clock) -> List[RunOutput]:
    """Write the run files of every topic set, each shot scored by the weighted cosine sum."""
    models = [parse_model(spec) for spec in request.models]
    singles = [_single(request, m) for m in models]
    topic_sets = plan_topic_sets(request, singles)
    stores = [read_features(m.store) for m in models]
    check_same_shots(stores)
    excluded, exclude_record = excluded_rows(request, stores[0])
    clock.lap("open_features")
    prepared = [prepare_queries(s, topic_sets, f) for s, f in zip(singles, stores)]
    with run_stage(request) as stage:
        queries, records = [], []
        for i, (single, ready) in enumerate(zip(singles, prepared)):
            # Encoded topics go through the same save-and-load as a single-model run, in a
            # folder of the stage that is not committed: several models would clash on the name.
            own_stage = stage / f"model{i}"
            own_stage.mkdir()
            matrices, record = query_features(single, topic_sets, ready, own_stage,
                                              stores[i])
            record.pop("saved_as", None)
            queries.append(np.vstack(matrices))
            records.append(record)
        clock.lap("query_features")
        device = pick_device(request.device)
        scored = [ScoredModel(f, q, m.weight) for f, q, m in zip(stores, queries, models)]
        hits = fused_search(scored, k=request.top, exclude_rows=excluded,
                            decimals=SCORE_DECIMALS, device=device, progress=request.progress)
        clock.lap("search")
        query_record = {"fusion": "weighted sum of cosines, before the cut",
                        "models": [dict(record, store=m.store, weight=m.weight)
                                   for m, record in zip(models, records)]}
        score = {"score": "weighted sum of cosines", "decimals": SCORE_DECIMALS}
        return commit_sets(request, topic_sets, hits, stage, clock,
                           [f.manifest for f in stores], query_record,
                           search_record(request, score, device, exclude_record, excluded,
                                         topic_sets))
