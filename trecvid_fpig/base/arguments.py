"""The Python API's argument checks, in one place: a wrong type or value is an
:class:`~trecvid_fpig.errors.InputError` naming the argument and what it accepts, raised before
the value reaches the library as a TypeError, a ZeroDivisionError or a silent truncation."""
from __future__ import annotations

import math
import numbers
import os
from collections.abc import Iterable, Mapping
from typing import Any, Callable, List, Optional, Union

import numpy as np

from ..errors import InputError


def refusal(name: str, accepts: str, value: Any) -> InputError:
    """``name must be <accepts>, got <value> (<type>)``, the value's repr cut to one short line."""
    shown = " ".join(repr(value).split())
    if len(shown) > 60:
        shown = shown[:57] + "..."
    return InputError(f"{name} must be {accepts}, got {shown} ({type(value).__name__})")


def _shown(bound: float) -> str:
    return f"{int(bound):,}" if float(bound).is_integer() and abs(bound) < 1e15 else f"{bound:g}"


def _bounds(kind: str, minimum=None, maximum=None, above=None, below=None) -> str:
    low = f"above {_shown(above)}" if above is not None else (
        f"at least {_shown(minimum)}" if minimum is not None else None)
    high = f"below {_shown(below)}" if below is not None else (
        f"at most {_shown(maximum)}" if maximum is not None else None)
    limits = " and ".join(b for b in (low, high) if b)
    return f"{kind} ({limits})" if limits else kind


def integer(value: Any, name: str, minimum: Optional[int] = None,
            maximum: Optional[int] = None) -> int:
    """An int (or numpy integer) within the bounds; a float such as 2.5 or 5.0, a bool or a
    string is refused rather than rounded or parsed."""
    accepts = _bounds("an integer", minimum, maximum)
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise refusal(name, accepts, value)
    value = int(value)
    if (minimum is not None and value < minimum) or (maximum is not None and value > maximum):
        raise refusal(name, accepts, value)
    return value


def number(value: Any, name: str, minimum: Optional[float] = None, maximum: Optional[float] = None,
           above: Optional[float] = None, below: Optional[float] = None) -> float:
    """A finite real number (int, float or numpy scalar) within the bounds; NaN, infinity, a
    bool or a string is refused."""
    accepts = _bounds("a finite number", minimum, maximum, above, below)
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise refusal(name, accepts, value)
    try:
        value = float(value)
    except OverflowError:                 # an int beyond the float range
        raise refusal(name, accepts, value) from None
    if (not math.isfinite(value) or (minimum is not None and value < minimum)
            or (maximum is not None and value > maximum) or (above is not None and value <= above)
            or (below is not None and value >= below)):
        raise refusal(name, accepts, value)
    return value


def flag(value: Any, name: str) -> bool:
    """True or False (a numpy bool too); ``"no"`` or 0 is refused, as it would read as its truth."""
    if not isinstance(value, (bool, np.bool_)):
        raise refusal(name, "True or False", value)
    return bool(value)


def text(value: Any, name: str, choices: Optional[Iterable[str]] = None) -> str:
    """A string, one of `choices` when given."""
    options = None if choices is None else tuple(choices)
    accepts = "a string" if options is None else "one of " + ", ".join(map(repr, options))
    if not isinstance(value, str) or (options is not None and value not in options):
        raise refusal(name, accepts, value)
    return value


#: The longest file name and path Linux, macOS and Windows file systems take, in bytes: a
#: longer one is an OSError (ENAMETOOLONG) from the first ``exists()`` that looks at it.
MAX_NAME_BYTES, MAX_PATH_BYTES = 255, 4095


def path(value: Any, name: str, accepts: str = "a path (a str or pathlib.Path)") -> Union[str, os.PathLike]:
    """A non-empty str or os.PathLike that a file system can hold: no NUL character, no name
    longer than 255 bytes."""
    if not isinstance(value, (str, os.PathLike)):
        raise refusal(name, accepts, value)
    spelled = os.fspath(value)
    if not isinstance(spelled, str) or not spelled or "\x00" in spelled:
        raise refusal(name, accepts, value)
    encoded = os.fsencode(spelled)
    if len(encoded) > MAX_PATH_BYTES or max(map(len, encoded.split(b"/"))) > MAX_NAME_BYTES:
        raise refusal(name, f"{accepts} whose names are at most {MAX_NAME_BYTES} bytes", value)
    return value


def mapping(value: Any, name: str, accepts: str) -> Mapping:
    if not isinstance(value, Mapping):
        raise refusal(name, accepts, value)
    return value


def items(value: Any, name: str, accepts: str, single: Callable[[Any], bool] = lambda v: False) -> List:
    """A list, tuple or other iterable of items, as a list; a value that `single` recognises
    (a path, a Run) is a list of one. A string or a mapping is never taken apart (``"a.txt"``
    would otherwise be five one-letter items)."""
    if single(value):
        return [value]
    if isinstance(value, (str, bytes, Mapping)) or not isinstance(value, Iterable):
        raise refusal(name, accepts, value)
    return list(value)
