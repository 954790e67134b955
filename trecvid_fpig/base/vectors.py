"""Unit vectors: the toolkit's one L2 normaliser and its one check that a row can be normalised.

Scores are cosines, so shot, frame and topic features are all made unit length before they are
compared. Both functions live here, below every package (numpy only, no torch), so search,
encode, evaluate and the demo normalise and refuse rows the same way.
"""
from __future__ import annotations

from pathlib import Path
from typing import Callable, Optional, Union

import numpy as np

from ..errors import InputError

#: Below this L2 norm a vector has no direction left to normalise.
ZERO_NORM = 1e-6


def unit_float32(rows: np.ndarray, *, divide_in: str = "float64") -> np.ndarray:
    """Rows divided by their L2 norm, as float32 unit vectors. Rows must be finite and non-zero
    (:func:`unit_row_norms` checks).

    ``divide_in="float64"`` divides by the float64 norm in float64 and rounds once to float32:
    the rows a store holds and the exact score of every source is taken from (shot features,
    recall's cosines). ``divide_in="float32"`` computes norm and quotient in float32, as topic
    features and the demo's planted shots always have been: their bits are pinned by runs
    written from them, so the two stay distinct rather than one moving the other's last bit.
    """
    if divide_in == "float64":
        values = rows.astype(np.float64)
        values /= np.sqrt(np.einsum("ij,ij->i", values, values))[:, None]
        return values.astype(np.float32)
    if divide_in == "float32":
        values = np.asarray(rows, dtype=np.float32)
        return values / np.linalg.norm(values, axis=1, keepdims=True)
    raise ValueError(f"divide_in must be 'float64' or 'float32', not {divide_in!r}")


def unit_row_norms(rows: np.ndarray, id_of: Callable[[int], object], what: str,
                   path: Optional[Union[str, Path]], first_row: int = 0,
                   dtype: type = np.float64) -> np.ndarray:
    """L2 norms of `rows` (summed in `dtype`), rows about to be divided by them: topic, shot or
    frame features. A row that is not finite, or too short to have a direction, is an
    InputError naming ``what id_of(row)``: normalising it leaves zeros (or NaN), whose cosine is
    0 against every query, with no error. float32 norms serve the float32 search and the norm
    statistics a store's manifest records; a finite float32 row can still overflow its square."""
    with np.errstate(over="ignore", invalid="ignore"):      # such rows are refused below
        values = np.asarray(rows, dtype=dtype)
        norms = np.sqrt(np.einsum("ij,ij->i", values, values))
    bad = np.flatnonzero(~(norms > ZERO_NORM) | ~np.isfinite(norms))
    if len(bad):
        row = int(bad[0])
        raise InputError(f"{what} {id_of(first_row + row)} has {_why_not_unit(rows[row], dtype)}",
                         path)
    return norms


def _why_not_unit(row: np.ndarray, dtype: type) -> str:
    """Why `row` cannot be normalised, judged on its own values: a cast to `dtype` turns a
    finite 1e200 into inf, and squaring turns a non-zero 1e-23 into 0."""
    row = np.asarray(row)
    if not np.isfinite(row).all():
        return "a NaN or infinite feature vector"
    largest = float(np.abs(row).max())
    if largest == 0:
        return "an all-zero feature vector (no direction to L2-normalise)"
    norm = largest * float(np.linalg.norm(row.astype(np.float64) / largest))     # scaled: exact
    if norm > ZERO_NORM:
        return (f"a feature vector of L2 norm {norm:.3g}, too large to square in "
                f"{np.dtype(dtype).name}: scale the features down")
    return (f"a feature vector of L2 norm {norm:.3g}, too short to L2-normalise (the least is "
            f"{ZERO_NORM:g})")
