"""A run's topic features: loaded from ``--query-features`` or encoded by a checkpoint's text
tower, checked against the shot features' dimension before any output is touched.

Shared by the single-model run and each model of a fused run.
"""
from __future__ import annotations

import warnings
from pathlib import Path
from typing import List, Sequence, Tuple

import numpy as np

from ..base.files import file_sha256
from ..errors import InputError, InputWarning
from ..formats.matrix import FeatureMatrix
from ..formats.topics import TopicSet
from .request import RunRequest, set_name


def prepare_queries(request: RunRequest, topic_sets: Sequence[TopicSet],
                    features: FeatureMatrix):
    """Before any output is touched: the loaded query matrices, or the checked text encoder."""
    if request.checkpoint is None:
        from ..formats.query_features import load_query_features

        path = Path(request.query_features)
        matrices = [load_query_features(path, t)[1] for t in topic_sets]
        _check_dim(matrices[0].shape[1], features, f"query features {path} are")
        return matrices
    from ..encode.text_encoder import load_text_encoder

    encoder = load_text_encoder(request.checkpoint,
                                device=None if request.device == "auto" else request.device,
                                tower_config=request.tower_config)
    _check_dim(encoder.output_dim, features, f"checkpoint {request.checkpoint} encodes")
    return encoder


def query_features(request: RunRequest, topic_sets: Sequence[TopicSet], prepared,
                   stage: Path, features: FeatureMatrix) -> Tuple[List[np.ndarray], dict]:
    """One L2-normalised matrix per topic set, encoded from the checkpoint or loaded.

    Encoded features are saved with the run (``SET.topics.npy`` and its ``.json``, staged in
    `stage`) and read back through the loader ``--query-features`` uses, so a checkpoint run
    and ``encode`` then ``run --query-features`` give byte-identical run files. Topics from
    another checkpoint than `features`' shots are warned about (:func:`_warn_other_checkpoint`).
    """
    from ..encode.checkpoints import text_heads_record
    from ..formats.query_features import (checkpoint_sha256, load_query_features, read_sidecar,
                                          save_query_features, sidecar_path)

    if request.checkpoint is None:
        path = Path(request.query_features)
        record = {"query_features": str(path), "sha256": file_sha256(path), "max_words": None}
        side = sidecar_path(path)
        if side.exists():
            encoded = read_sidecar(side, path)
            record["max_words"] = encoded.get("max_words")
            record["checkpoint_sha256"] = encoded.get("checkpoint_sha256")
        _warn_other_checkpoint(record, path, features)
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
        path = stage / f"{set_name(topic_set)}.topics.npy"
        save_query_features(path, encoded, topic_set, dict(record, topic_set=topic_set.name))
        matrices.append(load_query_features(path, topic_set)[1])
        saved.append(path.name)
    record["saved_as"] = saved
    _warn_other_checkpoint(record, request.checkpoint, features)
    return matrices, record


def _warn_other_checkpoint(record: dict, source, features: FeatureMatrix) -> None:
    """Topics encoded by another checkpoint than the one `features extract` encoded the shots
    with are in another vector space of the same size: their cosines rank shots as noise, with
    no error (a pair swapped in `run --model`). Both sha256 are recorded, so a mismatch is a
    warning (not an error: a text tower trained apart on purpose still runs)."""
    tower = ((features.manifest or {}).get("extract") or {}).get("tower") or {}
    shots, topics = tower.get("checkpoint_sha256"), record.get("checkpoint_sha256")
    if shots and topics and shots != topics:
        warnings.warn(InputWarning(
            f"{features.path}: its shots were encoded by a checkpoint of sha256 {shots[:12]}, "
            f"the topics by {source} (sha256 {topics[:12]}): their cosines mean something only "
            f"if the two towers were trained together"), stacklevel=3)


def _check_dim(query_dim: int, features: FeatureMatrix, what: str) -> None:
    if query_dim != features.dim:
        raise InputError(f"shot features are {features.dim}-d but {what} {query_dim}-d "
                         f"vectors: they come from different models", features.path)
