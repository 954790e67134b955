"""Matrices out of feature files: the one ``.npy`` loader and the one reader of a column of float
lists, below search and evaluate (numpy, and pyarrow when a Parquet/Arrow file is read).

Search builds its :class:`~trecvid_fpig.formats.matrix.FeatureMatrix` readers on these, recall
its similarity matrices and id-less feature matrices, and query features their topic rows, so
a truncated, empty or archived ``.npy`` and a ragged or null list column are refused the same
way everywhere: one line naming the file (and the row).
"""
from __future__ import annotations

import io
import zipfile
from pathlib import Path
from typing import Optional, Tuple, Union

import numpy as np

from ..errors import InputError

PathLike = Union[str, Path]

NPY_MAGIC = b"\x93NUMPY"
PARQUET_MAGIC = b"PAR1"


def file_magic(path: PathLike) -> bytes:
    """The first bytes of a file, enough to tell ``.npy`` from Parquet; b"" for a directory."""
    p = Path(path)
    if not p.exists():
        raise InputError("no such file", p)
    if p.is_dir():
        return b""
    with open(p, "rb") as fh:
        return fh.read(len(NPY_MAGIC))


def load_npy(path: PathLike, *, mmap: bool = False, raw: Optional[bytes] = None) -> np.ndarray:
    """The array in a ``.npy`` file, memory-mapped read-only with `mmap`, or parsed from `raw`
    (its bytes, when the caller hashes exactly what it loads). Anything numpy refuses, or an
    ``.npz`` archive under a ``.npy`` name, is an InputError naming `path`."""
    source = io.BytesIO(raw) if raw is not None else path
    try:
        array = np.load(source, mmap_mode="r" if mmap and raw is None else None,
                        allow_pickle=False)
    except FileNotFoundError:
        raise InputError("no such file", path) from None
    except (ValueError, OSError, EOFError, zipfile.BadZipFile) as exc:   # PK magic: an .npz?
        reason = str(exc).splitlines()[0][:160] if str(exc) else type(exc).__name__
        raise InputError(f"not a readable .npy matrix ({reason})", path) from None
    if not isinstance(array, np.ndarray):
        array.close()
        raise InputError("expected one .npy matrix, found an archive of arrays", path)
    return array


def check_matrix(array: np.ndarray, path: Optional[PathLike], what: str) -> np.ndarray:
    """`array` if it is a non-empty 2-D matrix of floating-point values, else an InputError
    naming `path` and the `what` (feature, topic feature, similarity) it was expected to hold."""
    if array.ndim != 2:
        raise InputError(f"expected a 2-D {what} matrix, got shape {array.shape}", path)
    if 0 in array.shape:
        raise InputError(f"empty {what} matrix (shape {array.shape})", path)
    if not np.issubdtype(array.dtype, np.floating):
        raise InputError(f"expected a floating-point {what} matrix, got {array.dtype}", path)
    return array


def float32_cast(array: np.ndarray) -> Tuple[np.ndarray, np.ndarray]:
    """`array` as float32, and where a finite value of it became infinite there (beyond
    float32's range): callers refuse those in their words, not as 'NaN or infinite'."""
    with np.errstate(over="ignore"):
        cast = array.astype(np.float32)
    return cast, np.isfinite(array) & ~np.isfinite(cast)


def list_column_rows(column, dim: Optional[int], first_row: int, path: PathLike) -> np.ndarray:
    """An Arrow list column (one batch) as an (n, dim) array: each row one vector, every vector
    `dim` long (or as long as the first, without `dim`); null, empty and ragged lists are
    refused naming the row."""
    import pyarrow as pa

    if column.null_count:
        row = first_row + int(np.flatnonzero(column.is_null().to_numpy(zero_copy_only=False))[0])
        raise InputError(f"row {row} has no feature vector (null)", path)
    if pa.types.is_fixed_size_list(column.type):
        width = column.type.list_size
    else:
        lengths = np.diff(column.offsets.to_numpy())
        width = int(lengths[0]) if len(lengths) else (dim or 0)
        ragged = np.flatnonzero(lengths != width)
        if len(ragged):
            r = int(ragged[0])
            raise InputError(f"row {first_row + r} has {lengths[r]} values, row {first_row} "
                             f"has {width}: every vector needs the same length", path)
    if width == 0 and len(column):
        raise InputError(f"row {first_row} has an empty feature vector", path)
    if dim is not None and width != dim:
        raise InputError(f"row {first_row} has {width} values, earlier rows have {dim}", path)
    values = column.flatten()
    if values.null_count:
        first_null = int(np.flatnonzero(values.is_null().to_numpy(zero_copy_only=False))[0])
        raise InputError(f"row {first_row + first_null // width} has a null value inside its "
                         f"feature vector", path)
    return values.to_numpy(zero_copy_only=False).reshape(-1, width)
