"""What ``fpig-trecvid run`` was asked, checked before any work: the request, its topic sets,
the shots it leaves out, and the inputs its outputs must not overwrite.

Shared by the single-model run (:mod:`trecvid_fpig.run.single`) and the fused run
(:mod:`trecvid_fpig.run.fused`).
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Dict, List, Mapping, NamedTuple, Optional, Sequence, Tuple

import numpy as np

from ..base.outputs import refuse_input_as_output
from ..errors import InputError
from ..formats.avs_xml import run_attributes
from ..formats.id_lists import EXCLUDE_LISTS, resolve_exclude
from ..formats.matrix import FeatureMatrix
from ..formats.topics import TopicSet, load_topics
from ..search.frames import FrameScoring
from ..search.fused import fusion_weight

#: Files one topic set may have beside its sidecar ``SET.json``, as suffixes of ``SET``.
SET_COMPANIONS = (".txt", ".xml", ".topics.npy", ".topics.json")
_RUN_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._+-]*\Z")


@dataclass(frozen=True)
class RunRequest:
    """What ``fpig-trecvid run`` was asked: exactly one of checkpoint and query_features, with
    features; or instead of all three, ``models`` (``CKPT_OR_QF:STORE[:WEIGHT]`` each, fused by
    :mod:`trecvid_fpig.run.fused`)."""
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

    @property
    def out_dir_of_run(self) -> Path:
        """``OUT/RUN_ID``: the one directory this run writes."""
        return Path(self.out_dir) / self.run_id


@dataclass(frozen=True)
class RunOutput:
    """Files written for one topic set, and notices for the user (heads assumed)."""
    topic_set: str
    topics: int
    run_file: Path
    sidecar: Path
    xml_file: Optional[Path] = None
    notes: Tuple[str, ...] = ()


def excluded_rows(request: RunRequest, store: FeatureMatrix) -> Tuple[np.ndarray, List[dict]]:
    """The rows of `store` that ``--exclude`` leaves out, and the record of each list."""
    ids, records = resolve_exclude(request.exclude)
    return store.rows_of(ids), records


def check_request(request: RunRequest) -> None:
    """Every option that can be checked without reading the inputs, before any work."""
    if not _RUN_ID.match(request.run_id):
        raise InputError(f"run id {request.run_id!r} must be one word of letters, digits and "
                         f"._+- (it names the directory and the run tag)")
    if request.models:
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
    if frame_scoring(request) is not None and request.models:
        raise InputError("--frame-pool/--frame-weight score one store's frames; --model fuses "
                         "shot cosines of several stores: give one or the other")


def frame_scoring(request: RunRequest) -> Optional[FrameScoring]:
    """--frame-weight alone pools the frames by max; neither option: the shot cosine."""
    if request.frame_pool is None and request.frame_weight is None:
        return None
    return FrameScoring(pool=request.frame_pool or "max", weight=request.frame_weight)


def plan_topic_sets(request: RunRequest, models: Sequence[RunRequest]) -> List[TopicSet]:
    """The request's topic sets, once it is sure that no file the run writes is an input of
    any of `models` (the request itself for a single-model run, one request per fused model)."""
    topic_sets = load_topic_sets(request.topics)
    for model in models:
        _refuse_inputs_as_outputs(model, topic_sets, request.out_dir_of_run)
    return topic_sets


def _refuse_inputs_as_outputs(request: RunRequest, topic_sets: Sequence[TopicSet],
                              out_dir: Path) -> None:
    from ..formats.query_features import sidecar_path

    inputs = [("topic file", t.source) for t in topic_sets]
    inputs += [("features", request.features), ("checkpoint", request.checkpoint),
               ("query features", request.query_features), ("tower config", request.tower_config)]
    if request.query_features is not None:
        inputs.append(("query features sidecar", sidecar_path(request.query_features)))
    inputs += [("--exclude list", e) for e in request.exclude if e not in EXCLUDE_LISTS]
    names = [set_name(t) + s for t in topic_sets for s in SET_COMPANIONS + (".json",)]
    refuse_input_as_output([out_dir / n for n in names], inputs)


def load_topic_sets(specs: Sequence[str]) -> List[TopicSet]:
    """Each ``--topics`` set, refusing two that would write the same ``SET.txt``."""
    if not specs:
        raise InputError("give at least one --topics set")
    sets = [load_topics(s) for s in specs]
    names: Dict[str, str] = {}
    for spec, topic_set in zip(specs, sets):
        name = set_name(topic_set)
        if name in names:
            raise InputError(f"--topics {spec} and --topics {names[name]} would both write "
                             f"{name}.txt")
        names[name] = spec
    return sets


def set_name(topic_set: TopicSet) -> str:
    """``tv19`` for a shipped set, the file name without ``.txt`` for a topic file."""
    return topic_set.name[:-4] if topic_set.name.endswith(".txt") else topic_set.name


class ModelSpec(NamedTuple):
    """One ``--model``: topic features from `source` (checkpoint or ``.npy``), shots in `store`."""
    source: str
    store: str
    weight: float

    @property
    def is_query_features(self) -> bool:
        return Path(self.source).suffix.lower() == ".npy"


def parse_model(spec: str) -> ModelSpec:
    """``CKPT_OR_QF:STORE[:WEIGHT]``; the weight defaults to 1 and must be finite and > 0."""
    parts = spec.split(":")
    if len(parts) not in (2, 3) or not all(parts):
        raise InputError(f"--model takes CKPT_OR_QF:STORE[:WEIGHT], got {spec!r} (paths "
                         f"holding ':' are not supported)")
    weight = fusion_weight(parts[2], f"--model {spec!r}") if len(parts) == 3 else 1.0
    return ModelSpec(parts[0], parts[1], weight)


def check_model_request(request: RunRequest) -> None:
    """--model replaces the single model's three options; each spec must parse."""
    mixed = [name for name, value in (("--checkpoint", request.checkpoint),
                                      ("--query-features", request.query_features),
                                      ("--features", request.features)) if value is not None]
    if mixed:
        raise InputError(f"--model names each model's topic features and shot features: give "
                         f"it instead of {', '.join(mixed)}, not with")
    for spec in request.models:
        parse_model(spec)
