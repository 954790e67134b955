"""Readers for the shot-feature formats other tools write, each giving a :class:`FeatureMatrix`.

- BigFile directory (w2vv++, dual encoding, TeachCLIP): ``feature.bin`` float32 rows,
  ``id.txt`` whitespace-separated ids, ``shape.txt`` ``N D``. Memory-mapped.
- ``X.npy`` (2-D float16/32/64) with ids in ``X.ids.txt`` or ``X.txt`` (or given). Memory-mapped.
- Parquet, or Arrow IPC (``.arrow``/``.feather``/``.ipc``): a ``shot_id`` string column and one
  list column of floats, every list of the same length. Read batch by batch; Arrow IPC files
  are memory-mapped, so uncompressed ones are read without copying.
"""
from __future__ import annotations

from pathlib import Path
from typing import Iterator, List, Optional, Tuple

import numpy as np

from ..base.fields import is_whole_number, split_fields
from ..base.files import read_text
from ..errors import InputError
from .feature_files import check_matrix, list_column_rows, load_npy
from .id_lists import read_id_list
from .matrix import FLOAT_DTYPES, FeatureMatrix, check_ids

ID_COLUMN = "shot_id"
ARROW_SUFFIXES = (".arrow", ".feather", ".ipc")


def file_fingerprint(path: Path) -> dict:
    """What identifies a source file cheaply: path, size and modification time (no hashing)."""
    st = path.stat()
    return {"path": str(path), "bytes": st.st_size, "mtime_ns": st.st_mtime_ns}


def _read_ids(path: Path) -> Tuple[str, ...]:
    return tuple(read_id_list(path, "shot id file"))


def read_bigfile(directory: Path) -> FeatureMatrix:
    """A BigFile directory: ``shape.txt`` says N and D, ``feature.bin`` holds N*D float32."""
    shape_path, bin_path, id_path = (directory / n for n in ("shape.txt", "feature.bin", "id.txt"))
    for p in (shape_path, bin_path, id_path):
        if not p.is_file():
            raise InputError(f"BigFile directory lacks {p.name}", directory)
    fields = split_fields(read_text(shape_path, "BigFile shape.txt"))
    if len(fields) != 2 or not all(map(is_whole_number, fields)):
        raise InputError(f"expected 'N D' (two whole numbers), got {' '.join(fields)[:60]!r}",
                         shape_path, 1)
    if max(map(len, fields)) > 15:      # past any real collection, and int() refuses 4,300 digits
        raise InputError(f"shape {' '.join(f[:20] for f in fields)} is too large to be real",
                         shape_path, 1)
    count, dim = int(fields[0]), int(fields[1])
    if count == 0 or dim == 0:
        raise InputError(f"shape {count} x {dim} has no features", shape_path, 1)
    expected = count * dim * 4
    size = bin_path.stat().st_size
    if size != expected:
        raise InputError(f"holds {size} bytes but shape.txt says {count} x {dim} float32 "
                         f"({expected} bytes)", bin_path)
    ids = _read_ids(id_path)
    if len(ids) != count:
        raise InputError(f"has {len(ids)} ids but shape.txt says {count} rows", id_path)
    check_ids(ids, str(id_path))
    matrix = np.memmap(bin_path, dtype=np.float32, mode="r", shape=(count, dim))
    manifest = {"format": "bigfile", "path": str(directory), "count": count, "dim": dim,
                "dtype": "float32",
                "files": [file_fingerprint(p) for p in (bin_path, id_path, shape_path)]}
    return FeatureMatrix(str(directory), "bigfile", count, dim, np.float32, ids=ids,
                         matrix=matrix, manifest=manifest, files=(bin_path, id_path, shape_path))


def npy_ids_path(npy: Path) -> Optional[Path]:
    """The ids file that goes with ``X.npy``: ``X.ids.txt``, else ``X.txt``."""
    for candidate in (npy.with_suffix(".ids.txt"), npy.with_suffix(".txt")):
        if candidate.is_file():
            return candidate
    return None


def read_npy(path: Path, ids_path: Optional[Path] = None) -> FeatureMatrix:
    """A 2-D float ``.npy`` matrix, memory-mapped, with one id per row from a text file."""
    matrix = check_matrix(load_npy(path, mmap=True), path, "feature")
    if not matrix.dtype.isnative:       # big-endian (">f4"): the same values, read into memory
        matrix = matrix.astype(matrix.dtype.newbyteorder("="))
    if matrix.dtype not in FLOAT_DTYPES:
        raise InputError(f"expected float16, float32 or float64 features, got {matrix.dtype}",
                         path)
    if ids_path is None:
        ids_path = npy_ids_path(path)
        if ids_path is None:
            raise InputError(f"no shot ids: expected {path.with_suffix('.ids.txt').name} or "
                             f"{path.with_suffix('.txt').name} beside it (features convert and "
                             f"inspect also take --ids)", path)
    ids = _read_ids(ids_path)
    if len(ids) != matrix.shape[0]:
        raise InputError(f"has {len(ids)} ids but {path.name} has {matrix.shape[0]} rows", ids_path)
    check_ids(ids, str(ids_path))
    count, dim = matrix.shape
    manifest = {"format": "npy", "path": str(path), "count": count, "dim": dim,
                "dtype": str(matrix.dtype),
                "files": [file_fingerprint(path), file_fingerprint(ids_path)]}
    return FeatureMatrix(str(path), "npy", count, dim, matrix.dtype, ids=ids, matrix=matrix,
                         manifest=manifest, files=(path, ids_path))


def _vector_column(schema, path: Path) -> Tuple[int, int, np.dtype]:
    """(id column index, vector column index, value dtype) of an Arrow schema, or a clear error."""
    import pyarrow as pa

    names = schema.names
    if ID_COLUMN not in names:
        raise InputError(f"no {ID_COLUMN!r} column (columns: {', '.join(names)})", path)
    id_type = schema.field(ID_COLUMN).type
    if not (pa.types.is_string(id_type) or pa.types.is_large_string(id_type)):
        raise InputError(f"column {ID_COLUMN!r} must hold strings, not {id_type}", path)
    lists = [i for i, f in enumerate(schema)
             if (pa.types.is_fixed_size_list(f.type) or pa.types.is_list(f.type)
                 or pa.types.is_large_list(f.type)) and pa.types.is_floating(f.type.value_type)]
    if len(lists) != 1:
        found = ", ".join(names[i] for i in lists) or "none"
        raise InputError(f"expected exactly one column of float lists beside {ID_COLUMN!r}, "
                         f"found {found}", path)
    value_dtype = np.dtype(schema.field(lists[0]).type.value_type.to_pandas_dtype())
    return names.index(ID_COLUMN), lists[0], value_dtype


def _arrow_batches(path: Path):
    """A function opening the file afresh and yielding its record batches, plus its schema."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    try:
        if path.suffix.lower() in ARROW_SUFFIXES:
            source = pa.memory_map(str(path), "r")
            try:
                reader = pa.ipc.open_file(source)
                schema = reader.schema

                def batches(rows: int, columns=None):
                    r = pa.ipc.open_file(pa.memory_map(str(path), "r"))
                    for i in range(r.num_record_batches):
                        batch = r.get_batch(i)
                        yield batch if columns is None else batch.select(columns)
            except pa.ArrowInvalid:
                schema = pa.ipc.open_stream(pa.memory_map(str(path), "r")).schema

                def batches(rows: int, columns=None):
                    for batch in pa.ipc.open_stream(pa.memory_map(str(path), "r")):
                        yield batch if columns is None else batch.select(columns)
            return schema, batches
        parquet = pq.ParquetFile(str(path))
        schema = parquet.schema_arrow

        def batches(rows: int, columns=None):
            names = None if columns is None else [schema.names[c] for c in columns]
            yield from pq.ParquetFile(str(path)).iter_batches(batch_size=rows, columns=names)
        return schema, batches
    except (pa.ArrowException, OSError) as exc:
        raise InputError(f"not a readable Parquet/Arrow file: {exc}", path) from None


def read_arrow(path: Path) -> FeatureMatrix:
    """Parquet or Arrow IPC with ``shot_id`` and one float-list column, read batch by batch."""
    import pyarrow as pa

    schema, batches = _arrow_batches(path)
    id_col, vec_col, dtype = _vector_column(schema, path)
    ids: List[str] = []
    try:
        for batch in batches(65536, [id_col]):
            column = batch.column(0)
            if column.null_count:
                raise InputError(f"row {len(ids)} has no {ID_COLUMN} (null)", path)
            ids.extend(column.to_pylist())
        first = next(iter(batches(1, [vec_col])), None)
    except pa.ArrowException as exc:
        raise InputError(f"cannot read: {exc}", path) from None
    if not ids or first is None:
        raise InputError("has no rows", path)
    dim = list_column_rows(first.column(0).slice(0, 1), None, 0, path).shape[1]
    check_ids(ids, str(path))

    def vector_batches(rows: int) -> Iterator[np.ndarray]:
        start = 0
        try:
            for batch in batches(rows, [vec_col]):
                block = list_column_rows(batch.column(0), dim, start, path)
                start += len(block)
                yield block
        except pa.ArrowException as exc:
            raise InputError(f"cannot read near row {start}: {exc}", path) from None

    fmt = "arrow" if path.suffix.lower() in ARROW_SUFFIXES else "parquet"
    manifest = {"format": fmt, "path": str(path), "count": len(ids), "dim": dim,
                "dtype": str(dtype), "files": [file_fingerprint(path)]}
    return FeatureMatrix(str(path), fmt, len(ids), dim, dtype, ids=tuple(ids),
                         batches=vector_batches, manifest=manifest, files=(path,))


def is_bigfile(directory: Path) -> bool:
    return (directory / "feature.bin").exists() or (directory / "shape.txt").exists()

