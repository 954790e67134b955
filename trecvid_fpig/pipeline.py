"""``run``: topics -> topic features -> streamed top-k over the shot features -> run files.

For each topic set the run goes to ``OUT/RUN_ID/SET.txt`` (TREC format, topic ids as in NIST's
qrels: 661 is written 1661), optionally ``SET.xml`` (NIST's submission XML), and ``SET.json``,
the provenance sidecar: checkpoint or query-feature sha256, the store's manifest, topics,
max words, search settings, package version and timings. The run files are byte-identical
for the same inputs; timings live only in the sidecar (and, as NIST requires, in the XML's
whole-second ``elapsedTime``). All topic sets of one call are scored in one pass over the store.

Every option is checked before any work. The files of one topic set are committed as one unit
(:func:`trecvid_fpig.textio.commit_file_set`): they are written into a private staging directory,
the old ``SET.json`` is removed first and the new one, which holds the sha256 of each file as
written, is renamed into place last. One process at a time writes ``OUT/RUN_ID`` (a lock).
"""
from __future__ import annotations

import dataclasses
import json
import re
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Dict, List, Mapping, Optional, Sequence, Tuple

import numpy as np

from ._version import __version__
from .columns import check_id_lengths, split_fields
from .devices import pick_device
from .errors import InputError
from .nist_xml import elapsed_seconds, run_attributes, write_avs_xml
from .runs import write_run
from .search.frames import FrameScoring, frame_search, read_frames
from .search.matrix import FeatureMatrix
from .search.store import read_features
from .search.topk import Hits, search
from .textio import (atomic_write, commit_file_set, file_sha256, output_lock, read_text,
                     refuse_input_as_output, staging_directory)
from .topics import TopicSet, load_topics, shipped_path

#: Named shot lists for ``--exclude``, shipped in ``topics/``.
EXCLUDE_LISTS = {"v3c1-dropped": "v3c1.dropped.shots.txt"}
SCORE_DECIMALS = 6
#: Files one topic set may have beside its sidecar ``SET.json``, as suffixes of ``SET``.
SET_COMPANIONS = (".txt", ".xml", ".topics.npy", ".topics.json")
_RUN_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._+-]*\Z")


@dataclass(frozen=True)
class RunRequest:
    """What ``fpig-trecvid run`` was asked: exactly one of checkpoint and query_features, with
    features; or instead of all three, ``models`` (``CKPT_OR_QF:STORE[:WEIGHT]`` each, fused by
    :mod:`trecvid_fpig.fused_run`)."""
    run_id: str
    features: Optional[str]
    topics: Tuple[str, ...]
    checkpoint: Optional[str] = None
    query_features: Optional[str] = None
    out_dir: str = "runs"
    max_words: int = 50
    top: int = 1000
    exclude: Tuple[str, ...] = ()
    xml: bool = False
    xml_attributes: Mapping[str, str] = field(default_factory=dict)
    device: str = "auto"
    progress: bool = False
    frame_pool: Optional[str] = None        # "max": score shots by their frames (--keep-frames)
    frame_weight: Optional[float] = None    # add W * the pooled frame score to the shot's cosine
    models: Tuple[str, ...] = ()
    tower_config: Optional[str] = None      # the checkpoint's config.json: its heads


@dataclass(frozen=True)
class RunOutput:
    """Files written for one topic set, and notices for the user (heads assumed)."""
    topic_set: str
    topics: int
    run_file: Path
    sidecar: Path
    xml_file: Optional[Path] = None
    notes: Tuple[str, ...] = ()


def resolve_exclude(specs: Sequence[str]) -> Tuple[set, List[dict]]:
    """Shot ids to leave out: a named shipped list (``v3c1-dropped``) or a file of ids."""
    ids: set = set()
    records = []
    for spec in specs:
        path = shipped_path(EXCLUDE_LISTS[spec]) if spec in EXCLUDE_LISTS else Path(spec)
        if spec not in EXCLUDE_LISTS and not path.exists():
            raise InputError(f"--exclude takes {', '.join(EXCLUDE_LISTS)} or a file of shot "
                             f"ids; no such file", path)
        listed = split_fields(read_text(path, "shot id list"))
        check_id_lengths(listed, path, "shot id")
        ids.update(listed)
        records.append({"list": spec, "ids": len(listed), "sha256": file_sha256(path)})
    return ids, records


def make_run(request: RunRequest) -> List[RunOutput]:
    """Write the run files of every requested topic set; returns what was written where."""
    clock = _Clock()
    _check_request(request)
    if request.models:
        from .fused_run import make_fused_run

        return make_fused_run(request, clock)
    topic_sets = _load_topic_sets(request.topics)
    out_dir = Path(request.out_dir) / request.run_id
    _refuse_inputs_as_outputs(request, topic_sets, out_dir)
    features = read_features(request.features)
    frame_scoring = _frame_scoring(request)
    frames = None if frame_scoring is None else read_frames(features)
    excluded_ids, exclude_record = resolve_exclude(request.exclude)
    excluded_rows = features.rows_of(excluded_ids)
    clock.lap("open_features")
    prepared = _prepare_queries(request, topic_sets, features)
    with output_lock(out_dir), staging_directory(out_dir) as stage:
        queries, query_record = _query_features(request, topic_sets, prepared, stage)
        clock.lap("query_features")
        # Frame scoring runs in numpy: its blocks are reduced per shot on the CPU anyway.
        device = "cpu" if frame_scoring is not None else pick_device(request.device)
        if frame_scoring is None:
            hits = search(features, np.vstack(queries), k=request.top, exclude_rows=excluded_rows,
                          decimals=SCORE_DECIMALS, device=device, progress=request.progress)
        else:
            hits = frame_search(features, frames, np.vstack(queries), frame_scoring,
                                k=request.top, exclude_rows=excluded_rows,
                                decimals=SCORE_DECIMALS, progress=request.progress)
        clock.lap("search")
        search_record = {
            "top": request.top, "decimals": SCORE_DECIMALS,
            "score": "cosine" if frame_scoring is None else frame_scoring.formula,
            "frames": None if frame_scoring is None else frame_scoring.record(frames),
            "device": device, "backend": "numpy" if device == "cpu" else "torch",
            "exclude": exclude_record, "excluded_shots_in_store": int(len(excluded_rows)),
            "topic_sets_searched_together": [_set_name(t) for t in topic_sets],
        }
        outputs = commit_sets(request, topic_sets, hits, out_dir, stage, clock,
                              features.manifest, query_record, search_record)
    notes = tuple(n for n in [query_record.get("heads_note")] if n)
    return [dataclasses.replace(out, notes=notes) for out in outputs]


def commit_sets(request: RunRequest, topic_sets: Sequence, hits, out_dir: Path, stage: Path,
                clock: _Clock, features_record, query_record: dict,
                search_record: dict) -> List[RunOutput]:
    """Write each topic set's files into `stage`, then commit them set by set."""
    per_topic_s = (clock.elapsed("query_features") + clock.elapsed("search")) / len(hits)
    outputs, first = [], 0
    for topic_set in topic_sets:
        set_hits = hits[first:first + len(topic_set)]
        first += len(topic_set)
        outputs.append(_write_set(request, topic_set, set_hits, out_dir, stage, per_topic_s))
    clock.lap("write")
    for topic_set, out in zip(topic_sets, outputs):
        staged = _write_sidecar(out, request, topic_set, features_record, query_record,
                                search_record, clock, stage)
        commit_file_set(stage, out_dir, out.sidecar.name, staged,
                        obsolete=[out.topic_set + s for s in SET_COMPANIONS])
    return outputs


def _check_request(request: RunRequest) -> None:
    """Every option that can be checked without reading the inputs, before any work."""
    if not _RUN_ID.match(request.run_id):
        raise InputError(f"run id {request.run_id!r} must be one word of letters, digits and "
                         f"._+- (it names the directory and the run tag)")
    if request.models:
        from .fused_run import check_model_request

        check_model_request(request)
    elif request.checkpoint is not None and request.query_features is not None:
        raise InputError("--checkpoint and --query-features were both given: give one of them")
    elif request.checkpoint is None and request.query_features is None:
        raise InputError("give --checkpoint (topics are encoded) or --query-features, or "
                         "--model for each model to fuse")
    elif request.features is None:
        raise InputError("give --features: the shot features to rank")
    if request.tower_config is not None and request.checkpoint is None:
        raise InputError("--tower-config gives the heads of --checkpoint's text tower: give it "
                         "with --checkpoint (not with --query-features or --model)")
    if request.top < 1:
        raise InputError(f"--top must be at least 1, got {request.top}")
    if request.xml:
        run_attributes(request.xml_attributes, pid=request.run_id, desc="", task="M")
    if _frame_scoring(request) is not None and request.models:
        raise InputError("--frame-pool/--frame-weight score one store's frames; --model fuses "
                         "shot cosines of several stores: give one or the other")


def _frame_scoring(request: RunRequest) -> Optional[FrameScoring]:
    """--frame-weight alone pools the frames by max; neither option: the shot cosine."""
    if request.frame_pool is None and request.frame_weight is None:
        return None
    return FrameScoring(pool=request.frame_pool or "max", weight=request.frame_weight)


def _refuse_inputs_as_outputs(request: RunRequest, topic_sets: Sequence[TopicSet],
                              out_dir: Path) -> None:
    from .encode.query_features import sidecar_path

    inputs = [("topic file", t.source) for t in topic_sets]
    inputs += [("features", request.features), ("checkpoint", request.checkpoint),
               ("query features", request.query_features), ("tower config", request.tower_config)]
    if request.query_features is not None:
        inputs.append(("query features sidecar", sidecar_path(request.query_features)))
    inputs += [("--exclude list", e) for e in request.exclude if e not in EXCLUDE_LISTS]
    names = [_set_name(t) + s for t in topic_sets for s in SET_COMPANIONS + (".json",)]
    refuse_input_as_output([out_dir / n for n in names], inputs)


def _load_topic_sets(specs: Sequence[str]) -> List[TopicSet]:
    if not specs:
        raise InputError("give at least one --topics set")
    sets = [load_topics(s) for s in specs]
    names: Dict[str, str] = {}
    for spec, topic_set in zip(specs, sets):
        name = _set_name(topic_set)
        if name in names:
            raise InputError(f"--topics {spec} and --topics {names[name]} would both write "
                             f"{name}.txt")
        names[name] = spec
    return sets


def _set_name(topic_set: TopicSet) -> str:
    """``tv19`` for a shipped set, the file name without ``.txt`` for a topic file."""
    return topic_set.name[:-4] if topic_set.name.endswith(".txt") else topic_set.name


def _prepare_queries(request: RunRequest, topic_sets: Sequence[TopicSet],
                     features: FeatureMatrix):
    """Before any output is touched: the loaded query matrices, or the checked text encoder."""
    if request.checkpoint is None:
        from .encode.query_features import load_query_features

        path = Path(request.query_features)
        matrices = [load_query_features(path, t)[1] for t in topic_sets]
        _check_dim(matrices[0].shape[1], features, f"query features {path} are")
        return matrices
    from .encode.text_encoder import load_text_encoder

    encoder = load_text_encoder(request.checkpoint,
                                device=None if request.device == "auto" else request.device,
                                tower_config=request.tower_config)
    _check_dim(encoder.output_dim, features, f"checkpoint {request.checkpoint} encodes")
    return encoder


def _query_features(request: RunRequest, topic_sets: Sequence[TopicSet], prepared,
                    stage: Path) -> Tuple[List[np.ndarray], dict]:
    """One L2-normalised matrix per topic set, encoded from the checkpoint or loaded.

    Encoded features are saved with the run (``SET.topics.npy`` and its ``.json``, staged in
    `stage`) and read back through the loader ``--query-features`` uses, so a checkpoint run
    and ``encode`` then ``run --query-features`` give byte-identical run files.
    """
    from .encode.checkpoints import text_heads_record
    from .encode.query_features import (checkpoint_sha256, load_query_features, read_sidecar,
                                        save_query_features, sidecar_path)

    if request.checkpoint is None:
        path = Path(request.query_features)
        record = {"query_features": str(path), "sha256": file_sha256(path), "max_words": None}
        side = sidecar_path(path)
        if side.exists():
            encoded = read_sidecar(side, path)
            record["max_words"] = encoded.get("max_words")
            record["checkpoint_sha256"] = encoded.get("checkpoint_sha256")
        return prepared, record
    encoder = prepared
    record = {"checkpoint": request.checkpoint,
              "checkpoint_sha256": checkpoint_sha256(request.checkpoint),
              "checkpoint_layout": encoder.layout,
              "activation": "quick_gelu" if encoder.spec.quick_gelu else "gelu",
              **text_heads_record(encoder.spec, request.checkpoint),
              "max_words": request.max_words}
    matrices, saved = [], []
    for topic_set in topic_sets:
        encoded = encoder.encode(topic_set.texts, max_words=request.max_words,
                                 progress=request.progress)
        path = stage / f"{_set_name(topic_set)}.topics.npy"
        save_query_features(path, encoded, topic_set, dict(record, topic_set=topic_set.name))
        matrices.append(load_query_features(path, topic_set)[1])
        saved.append(path.name)
    record["saved_as"] = saved
    return matrices, record


def _check_dim(query_dim: int, features: FeatureMatrix, what: str) -> None:
    if query_dim != features.dim:
        raise InputError(f"shot features are {features.dim}-d but {what} {query_dim}-d "
                         f"vectors: they come from different models", features.path)


def _write_set(request: RunRequest, topic_set: TopicSet, hits: Sequence[Hits], out_dir: Path,
               stage: Path, per_topic_s: float) -> RunOutput:
    """Write the set's run (and XML) into `stage`; the returned paths are their final names."""
    name = _set_name(topic_set)
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
        write_avs_xml(stage / xml_file.name, attributes,
                      [(tid, seconds, h.ids) for tid, h in zip(topic_set.ids, hits)])
    return RunOutput(name, len(topic_set), out_dir / f"{name}.txt", out_dir / f"{name}.json",
                     xml_file)


def _description(request: RunRequest) -> str:
    """The XML's ``desc``: what was scored against what."""
    if request.models:
        from .fused_run import parse_model

        pairs = [parse_model(spec) for spec in request.models]
        return (f"fpig-trecvid {__version__}: weighted sum of cosines of "
                + ", ".join(f"{Path(m.source).name} with {Path(m.store).name} (x{m.weight:g})"
                            for m in pairs))
    source = request.checkpoint or request.query_features
    return (f"fpig-trecvid {__version__}: cosine of {Path(source).name} topic features "
            f"with {Path(request.features).name} shot features")


def _write_sidecar(out: RunOutput, request: RunRequest, topic_set: TopicSet,
                   features_record, query_record: dict, search_record: dict,
                   clock: "_Clock", stage: Path) -> List[str]:
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
        "search": search_record,
        "timings_s": clock.laps,
    }
    with atomic_write(stage / out.sidecar.name) as fh:
        fh.write(json.dumps(sidecar, indent=2) + "\n")
    return staged


class _Clock:
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
