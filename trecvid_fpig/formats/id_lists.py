"""Files of shot ids: ``--exclude`` lists, NIST's dropped-shot list, ``extract --shots``, the
ids beside a ``.npy`` matrix or in a BigFile's ``id.txt``.

One rule for all of them: ids are separated by white space (as :func:`~trecvid_fpig.base.fields.
split_fields` cuts it: Perl's white space, as in runs and qrels), so one id a line, several a
line and blank lines all read the same; a leading UTF-8 BOM is dropped; there are no comments
(a ``#`` is part of an id, as it would be in a run); an empty file is an error; an id longer
than :data:`~trecvid_fpig.base.ids.MAX_ID_CHARS` is an error naming its file:line. Callers that
need more (unique ids, the full id rule of a store) check it on what this returns.
"""
from __future__ import annotations

from pathlib import Path
from typing import FrozenSet, List, Optional, Sequence, Tuple

import numpy as np

from ..base.fields import fields_per_line, split_fields
from ..base.files import PathLike, file_sha256, read_text
from ..base.ids import MAX_ID_CHARS
from ..errors import InputError
from .shipped import data_file

#: Named shot lists for ``--exclude``, shipped in ``topics/``.
EXCLUDE_LISTS = {"v3c1-dropped": "v3c1.dropped.shots.txt"}


def read_id_list(path: PathLike, what: str = "shot id list") -> List[str]:
    """The ids of the file `path` in file order (repeats kept); `what` names the file in errors."""
    text = read_text(path, what)
    ids = split_fields(text)
    if max(map(len, ids)) > MAX_ID_CHARS:
        index = next(i for i, shot in enumerate(ids) if len(shot) > MAX_ID_CHARS)
        raise InputError(f"shot id of {len(ids[index])} characters (at most {MAX_ID_CHARS}): "
                         f"{ids[index][:40]!r}…", path, _line_of_field(text, index))
    return ids


def _line_of_field(text: str, index: int) -> int:
    """1-based line of the `index`-th id of `text` (lines may hold several ids, or none)."""
    ids_through_line = np.cumsum(fields_per_line(text))
    return int(np.searchsorted(ids_through_line, index, side="right")) + 1


def resolve_exclude(specs: Sequence[str]) -> Tuple[set, List[dict]]:
    """Shot ids to leave out: a named shipped list (``v3c1-dropped``) or a file of ids."""
    ids: set = set()
    records = []
    for spec in specs:
        path = data_file("shipped", EXCLUDE_LISTS[spec]) if spec in EXCLUDE_LISTS else Path(spec)
        if spec not in EXCLUDE_LISTS and not path.exists():
            raise InputError(f"--exclude takes {', '.join(EXCLUDE_LISTS)} or a file of shot "
                             f"ids; no such file", path)
        listed = read_id_list(path)
        ids.update(listed)
        records.append({"list": spec, "ids": len(listed), "sha256": file_sha256(path)})
    return ids, records


def dropped_shots(collection: Optional[str]) -> FrozenSet[str]:
    """Shots NIST removed from `collection` after its release (V3C1's), which a run must not hold."""
    if collection != "V3C1":
        return frozenset()
    return frozenset(read_id_list(data_file("shipped", EXCLUDE_LISTS["v3c1-dropped"])))
