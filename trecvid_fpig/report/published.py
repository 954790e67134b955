"""The paper's published numbers (``runs/paper.toml``): what reproduced cells are compared with."""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, Dict, Optional, Union

from ..errors import InputError
from .manifest import load_toml
from .paper import RECALL_SETTINGS


@dataclass(frozen=True)
class PublishedTable:
    key: str
    title: str
    source: str
    rows: Dict[str, Dict[str, float]]    # row name -> column key ("tv21", "mean", "msrvtt-1k R@1")


@dataclass(frozen=True)
class Published:
    path: str
    tables: Dict[str, PublishedTable]

    def value(self, table: str, row: Optional[str], column: str) -> Optional[float]:
        if row is None or table not in self.tables:
            return None
        return self.tables[table].rows.get(row, {}).get(column)


def default_published_path() -> Path:
    """``runs/paper.toml``, from the checkout this package runs from or as installed."""
    from ..formats.shipped import data_file
    return data_file("published", "paper.toml")


def _number(value: Any, where: str, path: Union[str, Path]) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise InputError(f"{where} must be a number, got {value!r}", path)
    return float(value)


def _table(key: str, data: Any, path: Union[str, Path]) -> PublishedTable:
    if not isinstance(data, dict) or not isinstance(data.get("rows"), dict):
        raise InputError(f"[{key}] needs a [{key}.rows] table", path)
    rows: Dict[str, Dict[str, float]] = {}
    for name, cells in data["rows"].items():
        if not isinstance(cells, dict):
            raise InputError(f"[{key}.rows] {name} must be a table of values", path)
        flat: Dict[str, float] = {}
        for column, value in cells.items():
            if isinstance(value, dict):      # s2: setting -> {R@K: value}
                if column not in RECALL_SETTINGS:
                    raise InputError(f"[{key}.rows] {name}: unknown setting {column!r}", path)
                for k, v in value.items():
                    flat[f"{column} {k}"] = _number(v, f"[{key}.rows] {name}.{column}.{k}", path)
            else:
                flat[column] = _number(value, f"[{key}.rows] {name}.{column}", path)
        rows[name] = flat
    return PublishedTable(key, str(data.get("title", key)), str(data.get("source", "")), rows)


def load_published(path: Union[str, Path, None] = None) -> Published:
    """Published tables from `path`, or from this checkout's ``runs/paper.toml``."""
    if path is None:
        path = default_published_path()
        if not path.exists():
            raise InputError("no published numbers found: set published = \"PATH/paper.toml\" in the "
                             "manifest (paper.toml ships in the runs/ folder of the fpig-trecvid repository)")
    data = load_toml(path, "published numbers")
    return Published(str(path), {key: _table(key, value, path) for key, value in data.items()})
