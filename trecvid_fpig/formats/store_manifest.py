"""The feature store's files and its ``manifest.json``: the one writer and the one reader.

Store layout (a directory, conventionally named ``*.fpig``)::

    manifest.json      what the store holds (below), UTF-8 JSON
    features.npy       N x D float32 or float16, C order, every row L2-normalised
    ids.npy            N shot ids in row order, UTF-8 bytes in a fixed-width numpy ``|S<w>`` array
    frames.npy         with ``extract --keep-frames``: every frame's unit vector, shot after shot
    frame_offsets.npy  with ``extract --keep-frames``: N + 1 int64, shot i owns frame rows
                       ``offsets[i]:offsets[i+1]``

``manifest.json`` holds, in this order:

``format`` ``"fpig-trecvid feature store"``, ``version`` 1;
``count`` N, ``dim`` D, ``dtype``; ``rows`` ``"l2-normalised"``;
``norms`` min/mean/max L2 norm of the vectors before normalising (after pooling);
``pool`` null, or ``{"method": "mean", "frames": F}`` when F frame rows were pooled;
``source`` the input's format, path, shape, dtype and its files with size and sha256;
``features_sha256`` / ``ids_sha256`` of the two ``.npy`` files; ``created_by`` the toolkit
version; from ``features extract``, ``extract`` (the extraction's settings and provenance) and,
with ``--keep-frames``, ``frames`` (the frame files and their sha256).

Nothing in it depends on the time or machine, so writing the same input twice gives
byte-identical stores (the key order is part of those bytes). ``features convert``,
``features extract`` and ``features merge`` write it through :func:`write_manifest`, and every
reader (a search's, merge's) goes through :func:`read_manifest`. This module depends only on
numpy and the base helpers, so the format can be read without the search code.
"""
from __future__ import annotations

import json
from pathlib import Path
from typing import Dict, Iterable, Optional, Sequence, Union

import numpy as np

from .._version import __version__
from ..base.files import file_sha256, read_text
from ..base.outputs import write_text_atomic
from ..errors import InputError

STORE_FORMAT = "fpig-trecvid feature store"
STORE_VERSION = 1
MANIFEST, FEATURES, IDS = "manifest.json", "features.npy", "ids.npy"
#: With ``features extract --keep-frames``: every frame's vector, and each shot's frame rows.
FRAMES, FRAME_OFFSETS = "frames.npy", "frame_offsets.npy"

PathLike = Union[str, Path]


def id_array(ids: Sequence[str]) -> np.ndarray:
    """Shot ids as a store (or a shard) keeps them: UTF-8 bytes in a ``|S<w>`` array as wide
    as the longest id (``|S1`` for none, as numpy cannot make ``|S0``)."""
    encoded = [s.encode("utf-8") for s in ids]
    return np.array(encoded, dtype=f"S{max([len(e) for e in encoded] + [1])}")


class NormStats:
    """Min, mean and max of the L2 norms the rows had before normalising: ``norms``."""

    def __init__(self) -> None:
        self.low, self.high, self.total, self.count = np.inf, 0.0, 0.0, 0

    def add(self, norms: np.ndarray) -> None:
        self.low = min(self.low, float(norms.min()))
        self.high = max(self.high, float(norms.max()))
        self.total += float(norms.astype(np.float64).sum())
        self.count += len(norms)

    def add_store(self, norms: Dict[str, float], count: int, total: Optional[float]) -> None:
        """Another store's recorded norms; `total`, their exact sum, when it was recorded."""
        self.low, self.high = min(self.low, norms["min"]), max(self.high, norms["max"])
        self.total += norms["mean"] * count if total is None else total
        self.count += count

    def record(self) -> Dict[str, float]:
        return {"min": round(self.low, 6), "mean": round(self.total / self.count, 6),
                "max": round(self.high, 6)}


def source_record(format_name: str, path: str, count: int, dim: int, dtype: str,
                  files: Iterable[Path] = ()) -> dict:
    """``source``: the input's identity, its shape and each file's size and sha256."""
    return {"format": format_name, "path": path, "count": count, "dim": dim, "dtype": dtype,
            "files": [{"name": f.name, "bytes": f.stat().st_size, "sha256": file_sha256(f)}
                      for f in files]}


def write_manifest(directory: Path, *, count: int, dim: int, dtype: str, norms: dict,
                   pool: Optional[dict], source: dict, extract: Optional[dict] = None,
                   frames: bool = False) -> dict:
    """Write ``manifest.json`` for the arrays already in `directory`; returns it.

    Written last, into the store's staging directory, whose rename makes the store appear;
    the file itself is written atomically too. `extract` is an extraction's provenance, and
    `frames` records the frame arrays of ``--keep-frames``.
    """
    manifest = {
        "format": STORE_FORMAT, "version": STORE_VERSION,
        "count": count, "dim": int(dim), "dtype": dtype, "rows": "l2-normalised",
        "norms": norms, "pool": pool, "source": source,
        "features_sha256": file_sha256(directory / FEATURES),
        "ids_sha256": file_sha256(directory / IDS),
        "created_by": f"fpig-trecvid {__version__}",
    }
    if extract is not None:
        manifest["extract"] = extract
    if frames:
        manifest["frames"] = {"file": FRAMES, "offsets": FRAME_OFFSETS,
                              "sha256": file_sha256(directory / FRAMES),
                              "offsets_sha256": file_sha256(directory / FRAME_OFFSETS)}
    write_text_atomic(directory / MANIFEST, json.dumps(manifest, indent=2) + "\n")
    return manifest


def read_manifest(store: PathLike) -> dict:
    """The manifest of the store directory `store`, checked to be one this toolkit reads."""
    path = Path(store) / MANIFEST
    if not path.is_file():
        raise InputError(f"is not a feature store (no {MANIFEST})", store)
    try:
        manifest = json.loads(read_text(path, "store manifest"))
    except json.JSONDecodeError as exc:
        raise InputError(f"not valid JSON: {exc.msg}", path, exc.lineno) from None
    if not isinstance(manifest, dict) or manifest.get("format") != STORE_FORMAT:
        raise InputError(f"not a {STORE_FORMAT} manifest", path)
    if manifest.get("version") != STORE_VERSION:
        raise InputError(f"store version {manifest.get('version')} is not the version this "
                         f"toolkit reads ({STORE_VERSION}); convert the source again", path)
    missing = [k for k in ("count", "dim", "dtype") if k not in manifest]
    if missing:
        raise InputError(f"manifest lacks {', '.join(missing)}", path)
    return manifest


def verify_files(directory: Path, manifest: dict) -> None:
    """Re-hash the store's features.npy and ids.npy (and, from ``extract --keep-frames``,
    frames.npy and frame_offsets.npy) against the sha256 its manifest recorded."""
    recorded = [(FEATURES, "features_sha256", manifest.get("features_sha256")),
                (IDS, "ids_sha256", manifest.get("ids_sha256"))]
    frames = manifest.get("frames")
    if isinstance(frames, dict):
        recorded.append((FRAMES, "frames.sha256", frames.get("sha256")))
        if "offsets_sha256" in frames:       # stores written before it was recorded lack it
            recorded.append((FRAME_OFFSETS, "frames.offsets_sha256", frames["offsets_sha256"]))
    for name, key, expected in recorded:
        if not isinstance(expected, str):
            raise InputError(f"manifest records no {key} to verify {name} against",
                             directory / MANIFEST)
        if file_sha256(directory / name) != expected:
            raise InputError(f"sha256 differs from the manifest's {key}: the file was changed "
                             f"after the store was written; write it again", directory / name)
