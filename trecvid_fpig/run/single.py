"""``run``: topics -> topic features -> streamed top-k over the shot features -> run files.

For each topic set the run goes to ``OUT/RUN_ID/SET.txt`` (TREC format, topic ids as in NIST's
qrels: 661 is written 1661), optionally ``SET.xml`` (NIST's submission XML), and ``SET.json``,
the provenance sidecar: checkpoint or query-feature sha256, the store's manifest, topics,
max words, search settings, package version and timings. The run files are byte-identical
for the same inputs; timings live only in the sidecar (and, as NIST requires, in the XML's
whole-second ``elapsedTime``). All topic sets of one call are scored in one pass over the store.

Every option is checked before any work. The files of one topic set are committed as one unit
(:func:`trecvid_fpig.base.outputs.commit_file_set`): they are written into a private staging
directory, the old ``SET.json`` is removed first and the new one, which holds the sha256 of each
file as written, is renamed into place last. One process at a time writes ``OUT/RUN_ID`` (a lock).

The parts both this single-model run and the fused run (:mod:`trecvid_fpig.run.fused`) use live in
:mod:`trecvid_fpig.run.request`, :mod:`trecvid_fpig.run.queries` and :mod:`trecvid_fpig.run.commit`.
"""
from __future__ import annotations

import dataclasses
from typing import List

import numpy as np

from ..base.devices import pick_device
from ..formats.store import read_features
from ..search.frames import frame_search, read_frames
from ..search.topk import search
from .commit import SCORE_DECIMALS, Clock, commit_sets, run_stage, search_record
from .queries import prepare_queries, query_features
from .request import (RunOutput, RunRequest, check_request, excluded_rows, frame_scoring,
                      plan_topic_sets)


def make_run(request: RunRequest) -> List[RunOutput]:
    """Write the run files of every requested topic set; returns what was written where."""
    clock = Clock()
    check_request(request)
    if request.models:
        from .fused import make_fused_run

        return make_fused_run(request, clock)
    topic_sets = plan_topic_sets(request, [request])
    features = read_features(request.features)
    scoring = frame_scoring(request)
    frames = None if scoring is None else read_frames(features)
    excluded, exclude_record = excluded_rows(request, features)
    clock.lap("open_features")
    prepared = prepare_queries(request, topic_sets, features)
    with run_stage(request) as stage:
        queries, query_record = query_features(request, topic_sets, prepared, stage,
                                               features)
        clock.lap("query_features")
        # Frame scoring runs in numpy: its blocks are reduced per shot on the CPU anyway.
        device = "cpu" if scoring is not None else pick_device(request.device)
        if scoring is None:
            hits = search(features, np.vstack(queries), k=request.top, exclude_rows=excluded,
                          decimals=SCORE_DECIMALS, device=device, progress=request.progress)
        else:
            hits = frame_search(features, frames, np.vstack(queries), scoring,
                                k=request.top, exclude_rows=excluded,
                                decimals=SCORE_DECIMALS, progress=request.progress)
        clock.lap("search")
        score = {"decimals": SCORE_DECIMALS,
                 "score": "cosine" if scoring is None else scoring.formula,
                 "frames": None if scoring is None else scoring.record(frames)}
        outputs = commit_sets(request, topic_sets, hits, stage, clock, features.manifest,
                              query_record, search_record(request, score, device, exclude_record,
                                                          excluded, topic_sets))
    notes = tuple(n for n in [query_record.get("heads_note")] if n)
    return [dataclasses.replace(out, notes=notes + out.notes) for out in outputs]
