"""Writing a run: the lock and staging of ``OUT/RUN_ID``, each topic set's run file (and XML)
and its provenance sidecar ``SET.json``, committed set by set, and the clock the sidecar reports.

Shared by the single-model run (:mod:`trecvid_fpig.run.single`) and the fused run
(:mod:`trecvid_fpig.run.fused`), so both write the same files the same way.
"""
from __future__ import annotations

import json
import time
from contextlib import contextmanager
from pathlib import Path
from typing import Dict, Iterator, List, Sequence

from .._version import __version__
from ..base.files import file_sha256
from ..base.locks import output_lock
from ..base.outputs import atomic_write, commit_file_set, staging_directory
from ..formats.avs_xml import elapsed_seconds, run_attributes, submission_shots, write_avs_xml
from ..formats.qrels import MAX_RESULT_SIZE
from ..formats.runs import write_run
from ..formats.topics import TopicSet
from ..search.topk import Hits
from .request import SET_COMPANIONS, RunOutput, RunRequest, parse_model, set_name

SCORE_DECIMALS = 6


class Clock:
    """Wall-clock seconds per stage, for the sidecar only."""

    def __init__(self) -> None:
        self.start = self.last = time.perf_counter()
        self.laps: Dict[str, float] = {}

    def lap(self, stage: str) -> None:
        now = time.perf_counter()
        self.laps[stage] = round(now - self.last, 4)
        self.laps["total"] = round(now - self.start, 4)
        self.last = now

    def elapsed(self, stage: str) -> float:
        return self.laps.get(stage, 0.0)


@contextmanager
def run_stage(request: RunRequest) -> Iterator[Path]:
    """Hold ``OUT/RUN_ID``'s lock and yield a private staging directory inside it."""
    out_dir = request.out_dir_of_run
    with output_lock(out_dir), staging_directory(out_dir) as stage:
        yield stage


def search_record(request: RunRequest, score: dict, device: str, exclude_record: List[dict],
                  excluded_rows, topic_sets: Sequence[TopicSet]) -> dict:
    """The sidecar's ``search``: `score` (how shots were scored) between the settings."""
    return {"top": request.top, **score,
            "device": device, "backend": "numpy" if device == "cpu" else "torch",
            "exclude": exclude_record, "excluded_shots_in_store": int(len(excluded_rows)),
            "topic_sets_searched_together": [set_name(t) for t in topic_sets]}


def commit_sets(request: RunRequest, topic_sets: Sequence[TopicSet], hits, stage: Path,
                clock: Clock, features_record, query_record: dict,
                search: dict) -> List[RunOutput]:
    """Write each topic set's files into `stage`, then commit them set by set."""
    out_dir = request.out_dir_of_run
    per_topic_s = (clock.elapsed("query_features") + clock.elapsed("search")) / len(hits)
    outputs, first = [], 0
    for topic_set in topic_sets:
        set_hits = hits[first:first + len(topic_set)]
        first += len(topic_set)
        outputs.append(_write_set(request, topic_set, set_hits, out_dir, stage, per_topic_s))
    clock.lap("write")
    for topic_set, out in zip(topic_sets, outputs):
        staged = _write_sidecar(out, request, topic_set, features_record, query_record,
                                search, clock, stage)
        commit_file_set(stage, out_dir, out.sidecar.name, staged,
                        obsolete=[out.topic_set + s for s in SET_COMPANIONS])
    return outputs


def _write_set(request: RunRequest, topic_set: TopicSet, hits: Sequence[Hits], out_dir: Path,
               stage: Path, per_topic_s: float) -> RunOutput:
    """Write the set's run (and XML) into `stage`; the returned paths are their final names."""
    name = set_name(topic_set)
    notes = ()
    write_run(stage / f"{name}.txt", [(qid, h.ids, h.scores) for qid, h in zip(topic_set.qrels_ids, hits)],
              tag=request.run_id, decimals=SCORE_DECIMALS)
    xml_file = None
    if request.xml:
        xml_file = out_dir / f"{name}.xml"
        attributes = run_attributes(
            request.xml_attributes, pid=request.run_id, desc=_description(request),
            task="P" if name.startswith("progress") else "M")
        seconds = elapsed_seconds(per_topic_s)
        # Hits are already in the order write_run writes (rounded score, then id, descending).
        submission = [(tid, seconds, submission_shots(h.ids)) for tid, h in zip(topic_set.ids, hits)]
        write_avs_xml(stage / xml_file.name, attributes,
                      [(tid, seconds, shots) for tid, seconds, (shots, _) in submission])
        if any(cut for _, _, (_, cut) in submission):
            notes = (f"{name}.xml holds the first {MAX_RESULT_SIZE} of each topic's "
                     f"{request.top} shots (a submission holds at most {MAX_RESULT_SIZE}); "
                     f"{name}.txt holds all {request.top}",)
    return RunOutput(name, len(topic_set), out_dir / f"{name}.txt", out_dir / f"{name}.json",
                     xml_file, notes)


def _description(request: RunRequest) -> str:
    """The XML's ``desc``: what was scored against what."""
    if request.models:
        pairs = [parse_model(spec) for spec in request.models]
        return (f"fpig-trecvid {__version__}: weighted sum of cosines of "
                + ", ".join(f"{Path(m.source).name} with {Path(m.store).name} (x{m.weight:g})"
                            for m in pairs))
    source = request.checkpoint or request.query_features
    return (f"fpig-trecvid {__version__}: cosine of {Path(source).name} topic features "
            f"with {Path(request.features).name} shot features")


def _write_sidecar(out: RunOutput, request: RunRequest, topic_set: TopicSet,
                   features_record, query_record: dict, search: dict,
                   clock: Clock, stage: Path) -> List[str]:
    """Write ``SET.json`` into `stage` with the sha256 of each staged file of the set (hashed
    there, before any is moved: never re-read from a final path); returns those files' names."""
    files = {}
    staged = [out.topic_set + s for s in SET_COMPANIONS if (stage / (out.topic_set + s)).exists()]
    for suffix, key in zip(SET_COMPANIONS, ("run", "xml", "query_features", "query_sidecar")):
        name = out.topic_set + suffix
        if name in staged:
            files[key] = name
            files[f"{key}_sha256"] = file_sha256(stage / name)
    sidecar = {
        "run_id": request.run_id,
        "fpig_trecvid_version": __version__,
        "topic_set": {"name": out.topic_set, "source": topic_set.source,
                      "collection": topic_set.collection, "topics": len(topic_set),
                      "ids": list(topic_set.qrels_ids)},
        "files": files,
        "query": query_record,
        "features": features_record,
        "search": search,
        "timings_s": clock.laps,
    }
    with atomic_write(stage / out.sidecar.name) as fh:
        fh.write(json.dumps(sidecar, indent=2) + "\n")
    return staged
