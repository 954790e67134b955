"""Rendering rows of results as a terminal table, CSV, JSON or Markdown.

Every command that prints results (score, recall, tables, compare) goes through :func:`render`
so that the four formats look and round the same everywhere.
"""
from __future__ import annotations

import csv
import io
import json
from typing import Any, Dict, List, Mapping, Optional, Sequence

FORMATS = ("table", "csv", "json", "markdown")


def _cell(value: Any, decimals: int) -> str:
    if isinstance(value, float):
        return f"{value:.{decimals}f}"
    return "" if value is None else str(value)


def render(rows: Sequence[Mapping[str, Any]], columns: Sequence[str], fmt: str = "table",
           decimals: int = 4, meta: Optional[Dict[str, Any]] = None) -> str:
    """`rows` as text; JSON keeps full precision and carries `meta` beside the rows."""
    if fmt == "json":
        payload: Dict[str, Any] = {"rows": [{c: row.get(c) for c in columns} for row in rows]}
        if meta is not None:
            payload["meta"] = meta
        return json.dumps(payload, indent=2, sort_keys=False) + "\n"
    cells: List[List[str]] = [[_cell(row.get(c), decimals) for c in columns] for row in rows]
    if fmt == "csv":
        out = io.StringIO()
        writer = csv.writer(out, lineterminator="\n")
        writer.writerow(columns)
        writer.writerows(cells)
        return out.getvalue()
    if fmt == "markdown":
        numeric = [all(isinstance(row.get(c), (int, float)) for row in rows) and rows for c in columns]
        lines = ["| " + " | ".join(columns) + " |",
                 "|" + "|".join("---:" if n else "---" for n in numeric) + "|"]
        lines += ["| " + " | ".join(r) + " |" for r in cells]
        return "\n".join(lines) + "\n"
    if fmt == "table":
        widths = [max([len(c)] + [len(r[i]) for r in cells]) for i, c in enumerate(columns)]
        numeric = [all(isinstance(row.get(c), (int, float)) for row in rows) for c in columns]

        def line(values: Sequence[str]) -> str:
            return "  ".join(v.rjust(w) if n else v.ljust(w)
                             for v, w, n in zip(values, widths, numeric)).rstrip()
        out_lines = [line(columns), "  ".join("-" * w for w in widths)]
        out_lines += [line(r) for r in cells]
        return "\n".join(out_lines) + "\n"
    raise ValueError(f"unknown format {fmt!r}; expected one of {', '.join(FORMATS)}")
