"""Rendering rows of results as a terminal table, CSV, JSON, Markdown or LaTeX.

Every command that prints results (score, recall, tables, compare) goes through :func:`render`
so that the formats look and round the same everywhere.
"""
from __future__ import annotations

import csv
import io
import json
from typing import AbstractSet, Any, Dict, List, Mapping, Optional, Sequence, Tuple

FORMATS = ("table", "csv", "json", "markdown")
#: What the paper-facing commands (tables, compare) offer: Markdown first, LaTeX for the paper.
PAPER_FORMATS = ("markdown", "latex", "csv", "json", "table")

_LATEX_SPECIAL = {"\\": r"\textbackslash{}", "&": r"\&", "%": r"\%", "$": r"\$", "#": r"\#",
                  "_": r"\_", "{": r"\{", "}": r"\}", "~": r"\textasciitilde{}",
                  "^": r"\textasciicircum{}", "–": "--", "Δ": r"$\Delta$", "†": r"$^\dagger$",
                  "‡": r"$^\ddagger$", "<": r"$<$", ">": r"$>$", "§": r"\S{}",
                  "¶": r"\P{}"}


def latex_escape(text: str) -> str:
    """`text` as literal LaTeX (model names such as ``my_model`` must not start math mode)."""
    return "".join(_LATEX_SPECIAL.get(ch, ch) for ch in text)


def one_line(text: str) -> str:
    """`text` with control characters (a newline in a file name or label) written as escapes,
    so that a cell cannot break a table's row."""
    return "".join(repr(ch)[1:-1] if not ch.isprintable() and ch != " " else ch for ch in text)


def _cell(value: Any, decimals: int, missing: str = "", signed: bool = False) -> str:
    """A cell's text; `signed` numbers (differences) show "+" above 0, and none rounds to "-0"."""
    if isinstance(value, float):
        text = f"{value:+.{decimals}f}" if signed else f"{value:.{decimals}f}"
        if not text.strip("+-0."):
            return text.lstrip("+-")                                  # no "-0.000" or "+0.000"
        return text
    return missing if value is None else str(value)


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _numeric_columns(rows: Sequence[Mapping[str, Any]], columns: Sequence[str]) -> List[bool]:
    """Columns whose filled cells are all numbers (right-aligned); None and "" do not count."""
    return [bool(rows) and all(_is_number(r.get(c)) or r.get(c) in (None, "") for r in rows)
            and any(_is_number(r.get(c)) for r in rows) for c in columns]


def render(rows: Sequence[Mapping[str, Any]], columns: Sequence[str], fmt: str = "table",
           decimals: int = 4, meta: Optional[Dict[str, Any]] = None,
           bold: AbstractSet[Tuple[int, str]] = frozenset(), missing: str = "",
           rule_before: AbstractSet[int] = frozenset(), exact_csv: bool = False,
           signed: AbstractSet[str] = frozenset(),
           marks: Optional[Mapping[Tuple[int, str], str]] = None) -> str:
    """`rows` as text; JSON keeps full precision and carries `meta` beside the rows.

    `bold` names cells (row index, column) to emphasise in Markdown and LaTeX; `missing` is
    what a ``None`` cell shows in the table, Markdown and LaTeX formats (CSV leaves it empty so
    that numeric columns stay numeric, JSON writes null). LaTeX draws a ``\\midrule`` before
    each row index in `rule_before` (e.g. between published baselines and reproduced rows).
    `exact_csv` writes CSV floats at full precision (shortest repr that reads back the same
    number), for CSV that is data rather than a rounded table. Numbers in the `signed` columns
    (differences) show their sign, "+" included, outside CSV and JSON. `marks` gives cells (row
    index, column) a footnote mark after their text, outside CSV and JSON (which keep numbers).
    """
    marks = marks or {}
    if fmt == "json":
        payload: Dict[str, Any] = {"rows": [{c: row.get(c) for c in columns} for row in rows]}
        if meta is not None:
            payload["meta"] = meta
        return json.dumps(payload, indent=2, sort_keys=False) + "\n"
    if fmt == "csv":
        out = io.StringIO()
        writer = csv.writer(out, lineterminator="\n")
        writer.writerow(columns)
        writer.writerows([[repr(v) if exact_csv and isinstance(v, float) else _cell(v, decimals)
                           for v in (row.get(c) for c in columns)] for row in rows])
        return out.getvalue()
    cells: List[List[str]] = [[one_line(_cell(row.get(c), decimals, missing, c in signed))
                               + marks.get((i, c), "") for c in columns] for i, row in enumerate(rows)]
    columns_shown = [one_line(c) for c in columns]
    numeric = _numeric_columns(rows, columns)
    if fmt == "markdown":
        lines = ["| " + " | ".join(columns_shown) + " |",
                 "|" + "|".join("---:" if n else "---" for n in numeric) + "|"]
        for i, r in enumerate(cells):
            r = [v.replace("|", "\\|") for v in r]
            shown = [f"**{v}**" if (i, c) in bold else v for v, c in zip(r, columns)]
            lines.append("| " + " | ".join(shown) + " |")
        return "\n".join(lines) + "\n"
    if fmt == "latex":
        lines = [r"\begin{tabular}{" + "".join("r" if n else "l" for n in numeric) + "}", r"\toprule",
                 " & ".join(latex_escape(c) for c in columns_shown) + r" \\", r"\midrule"]
        for i, r in enumerate(cells):
            if i in rule_before:
                lines.append(r"\midrule")
            shown = [rf"\textbf{{{latex_escape(v)}}}" if (i, c) in bold else latex_escape(v)
                     for v, c in zip(r, columns)]
            lines.append(" & ".join(shown) + r" \\")
        lines += [r"\bottomrule", r"\end{tabular}"]
        return "\n".join(lines) + "\n"
    if fmt == "table":
        widths = [max([len(c)] + [len(r[i]) for r in cells]) for i, c in enumerate(columns_shown)]

        def line(values: Sequence[str]) -> str:
            return "  ".join(v.rjust(w) if n else v.ljust(w)
                             for v, w, n in zip(values, widths, numeric)).rstrip()
        out_lines = [line(columns_shown), "  ".join("-" * w for w in widths)]
        out_lines += [line(r) for r in cells]
        return "\n".join(out_lines) + "\n"
    raise ValueError(f"unknown format {fmt!r}; expected one of {', '.join(PAPER_FORMATS)}")
