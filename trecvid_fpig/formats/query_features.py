"""Topic features on disk: ``q.npy`` (float32, one row per topic) and its ``q.json`` sidecar.

The sidecar names the topic of each row and records provenance; it also holds the sha256 of the
``.npy`` bytes, so a matrix replaced after the sidecar was written is caught instead of being
silently paired with the wrong topic ids, and the sha256 of each topic's text, so features
encoded from one topic file are not used for another file's different texts under the same
ids. A bare ``.npy`` (no sidecar) is taken to follow the topic set's order. Nothing here
imports torch: ``run --query-features`` stays light.
"""
from __future__ import annotations

import hashlib
import io
import json
import warnings
from pathlib import Path
from typing import Mapping, Optional, Sequence, Tuple, Union

import numpy as np

from .._version import __version__
from ..base.files import file_sha256, read_bytes, read_text
from ..base.ids import topic_number
from ..base.outputs import atomic_write, commit_file_set, staging_directory
from ..base.vectors import unit_float32, unit_row_norms
from ..errors import InputError, InputWarning
from .feature_files import check_matrix, float32_cast, load_npy
from .topics import TopicSet

PathLike = Union[str, Path]


def checkpoint_sha256(path: PathLike) -> str:
    """Hex sha256 of a checkpoint's bytes (recorded in sidecars for provenance)."""
    return file_sha256(path, "checkpoint file")


def sidecar_path(path: PathLike) -> Path:
    """``q.npy`` -> ``q.json``."""
    return Path(path).with_suffix(".json")


def topic_text_sha256(text: str) -> str:
    """Hex sha256 of a topic's text (UTF-8), as the sidecar records it."""
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def _npy_bytes(features: np.ndarray) -> bytes:
    buffer = io.BytesIO()
    np.save(buffer, features, allow_pickle=False)
    return buffer.getvalue()


def save_query_features(path: PathLike, features: np.ndarray, topics: TopicSet,
                        meta: Mapping[str, object]) -> Path:
    """Write `features` to `path` (``.npy``) and the sidecar beside it, as one unit.

    Both are written into a staging directory beside `path` and committed with
    :func:`~trecvid_fpig.base.outputs.commit_file_set`: the old sidecar goes first and the new one,
    holding the sha256 of the matrix bytes, comes last; so a sidecar is never beside a matrix it
    does not describe (the loader checks that hash), and an interruption at any moment leaves
    either the old pair or the new one, never the old matrix bare.

    `features` holds one row per topic of `topics`, in its order. `meta` (topic set, max words,
    checkpoint sha256, …) goes into the sidecar with the topic ids, their texts' sha256, the
    dimension, the package version and the matrix's sha256; keys are sorted and no
    clock is recorded, so equal inputs give byte-identical files.
    """
    target = Path(path)
    if target.suffix != ".npy":
        raise InputError("query features are written as .npy: name the output *.npy", target)
    matrix = np.ascontiguousarray(features, dtype=np.float32)
    ids = [str(int(t)) for t in topics.ids]      # strings, as topic ids are in every sidecar
    if matrix.ndim != 2 or matrix.shape[0] != len(ids):
        raise ValueError(f"features of shape {matrix.shape} for {len(ids)} topics")
    unit_topic_rows(matrix, topics.ids, target)     # a zero row would be no direction at all
    payload = _npy_bytes(matrix)
    sidecar = dict(meta)
    sidecar.update({
        "topic_ids": ids,
        "topic_text_sha256": [topic_text_sha256(t) for t in topics.texts],
        "rows": len(ids),
        "dim": int(matrix.shape[1]),
        "dtype": "float32",
        "features_sha256": hashlib.sha256(payload).hexdigest(),
        "fpig_trecvid_version": __version__,
    })
    record = sidecar_path(target).name
    with staging_directory(target.parent) as stage:
        with atomic_write(stage / target.name, "wb") as fh:
            fh.write(payload)
        with atomic_write(stage / record) as fh:
            fh.write(json.dumps(sidecar, indent=2, sort_keys=True) + "\n")
        commit_file_set(stage, target.parent, record, [target.name])
    return target


def _read_matrix(path: Path) -> Tuple[np.ndarray, bytes]:
    raw = read_bytes(path)
    # the bytes hashed are the bytes loaded
    matrix = check_matrix(load_npy(path, raw=raw), path, "topic feature")
    bad = np.flatnonzero(~np.isfinite(matrix).all(axis=1))
    if bad.size:
        raise InputError(f"row {int(bad[0])} holds NaN or inf ({bad.size} such rows)", path)
    cast, beyond = float32_cast(matrix)
    bad = np.flatnonzero(beyond.any(axis=1))
    if bad.size:
        raise InputError(f"row {int(bad[0])} holds a value beyond float32's range, the topic "
                         f"features' type ({bad.size} such rows): scale the rows down", path)
    return cast, raw


def read_sidecar(side: Path, path: Path) -> dict:
    """The JSON object of a query-feature sidecar (through read_text: a BOM is dropped)."""
    try:
        info = json.loads(read_text(side, "sidecar JSON"))
    except ValueError as exc:
        raise InputError(f"unreadable sidecar of {path.name} ({exc})", side) from None
    if not isinstance(info, dict):
        raise InputError(f"sidecar of {path.name} is not a JSON object", side)
    return info


def _sidecar_ids(path: Path, matrix: np.ndarray, raw: bytes
                 ) -> Tuple[Tuple[int, ...], Optional[Tuple[str, ...]]]:
    """The sidecar's topic ids and, when it records them, their texts' sha256."""
    side = sidecar_path(path)
    info = read_sidecar(side, path)
    ids = info.get("topic_ids")
    # strings since topic ids are strings in every sidecar ("661"); integers in older ones
    if not isinstance(ids, list) or not all(type(t) in (int, str) for t in ids):
        raise InputError("sidecar has no 'topic_ids' list of topic numbers (\"661\")", side)
    ids = [topic_number(str(t), side) for t in ids]
    if len(ids) != matrix.shape[0]:
        raise InputError(f"sidecar lists {len(ids)} topics but {path.name} has "
                         f"{matrix.shape[0]} rows", side)
    if len(set(ids)) != len(ids):
        raise InputError("sidecar lists a topic id twice", side)
    expected = info.get("features_sha256")
    if expected is not None and expected != hashlib.sha256(raw).hexdigest():
        raise InputError(f"sidecar describes another {path.name} (sha256 differs): the matrix "
                         "was replaced after encoding; delete the sidecar if its rows follow "
                         "the topic file's order", side)
    hashes = info.get("topic_text_sha256")
    if hashes is None:
        return tuple(ids), None
    if (not isinstance(hashes, list) or len(hashes) != len(ids)
            or not all(isinstance(h, str) for h in hashes)):
        raise InputError("sidecar's 'topic_text_sha256' is not one text hash per topic id", side)
    return tuple(ids), tuple(hashes)


def _check_topic_texts(path: Path, ids: Sequence[int], hashes: Optional[Sequence[str]],
                       topic_set: TopicSet) -> None:
    """Refuse a topic whose text is not the one its row was encoded from, naming it.

    Sidecars written before the hashes were recorded cannot be checked: they still read (they
    were the only record of those features), with a warning that rows are matched by id only.
    """
    side = sidecar_path(path)
    if hashes is None:
        warnings.warn(f"{side}: written before topic texts were hashed, so the features are "
                      f"matched to {topic_set.name}'s topics by id only; re-encode to check "
                      f"the texts too", InputWarning, stacklevel=3)
        return
    hash_of = dict(zip(ids, hashes))
    for tid, text in zip(topic_set.ids, topic_set.texts):
        if hash_of[tid] != topic_text_sha256(text):
            raise InputError(f"topic {tid}'s text in {topic_set.source} ({text[:60]!r}) is not "
                             f"the text its features were encoded from: encode this topic file",
                             side)


def load_query_features(path: PathLike, topic_set: TopicSet
                        ) -> Tuple[Tuple[int, ...], np.ndarray]:
    """``(topic ids, features)`` for `topic_set`'s topics, in its order, rows L2-normalised.

    With a sidecar, rows are matched to topics by its ids (extra topics are ignored, a missing
    one is an error) and each topic's text must hash as recorded; a bare ``.npy`` must have
    exactly one row per topic of the set.
    """
    p = Path(path)
    matrix, raw = _read_matrix(p)
    if sidecar_path(p).exists():
        ids, hashes = _sidecar_ids(p, matrix, raw)
        row_of = {t: r for r, t in enumerate(ids)}
        missing = [t for t in topic_set.ids if t not in row_of]
        if missing:
            raise InputError(f"no features for topic(s) {', '.join(map(str, missing[:5]))} of "
                             f"{topic_set.name} (the sidecar lists {ids[0]}..{ids[-1]})", p)
        _check_topic_texts(p, ids, hashes, topic_set)
        matrix = matrix[[row_of[t] for t in topic_set.ids]]
    elif matrix.shape[0] != len(topic_set):
        raise InputError(f"{matrix.shape[0]} rows but {topic_set.name} has {len(topic_set)} "
                         f"topics (a .npy without its .json sidecar must follow the topic "
                         f"file's order)", p)
    return tuple(topic_set.ids), unit_topic_rows(matrix, topic_set.ids, p)


def unit_topic_rows(matrix: np.ndarray, topic_ids: Sequence, path: Optional[PathLike] = None
                    ) -> np.ndarray:
    """Topic features L2-normalised in float32, as every search takes them; a row that is all
    zero or not finite is refused naming its topic (the one check every writer uses)."""
    matrix = np.asarray(matrix, dtype=np.float32)
    unit_row_norms(matrix, lambda row: topic_ids[row], "topic", path)
    return unit_float32(matrix, divide_in="float32")
