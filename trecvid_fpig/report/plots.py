"""Figures: per-topic infAP of several runs, and metric-vs-hyper-parameter sensitivity panels.

Drawn with matplotlib's object API on a bare Figure (no pyplot, no display needed) and saved as
PNG and SVG of exactly `width` x `height` inches at `dpi`. SVG output carries no date and a
fixed id salt, so the same data give byte-identical files.
"""
from __future__ import annotations

import csv
import io
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Dict, List, Optional, Sequence, Tuple, Union

from ..errors import InputError
from ..textio import atomic_write, read_text
from .compare import TopicScores

FIGURE_FORMATS = ("png", "svg")
SENSITIVITY_COLUMNS = ("param", "value", "metric")


def _save(fig, prefix: Union[str, Path], dpi: int) -> List[Path]:
    import matplotlib

    written = []
    with matplotlib.rc_context({"svg.hashsalt": "fpig-trecvid"}):
        for fmt in FIGURE_FORMATS:
            target = Path(f"{prefix}.{fmt}")
            with atomic_write(target, "wb") as fh:
                fig.savefig(fh, format=fmt, dpi=dpi, metadata={"Date": None} if fmt == "svg" else None)
            written.append(target)
    return written


def _figure(width: float, height: float):
    from matplotlib.figure import Figure

    if not (width > 0 and height > 0):
        raise InputError(f"figure size must be positive, got {width} x {height} inches")
    return Figure(figsize=(width, height), layout="constrained")


def per_topic_figure(scores: TopicScores, prefix: Union[str, Path], width: float = 10.0,
                     height: float = 4.0, dpi: int = 100, title: Optional[str] = None) -> List[Path]:
    """Grouped bars, one group per topic, sorted by the first run's infAP (best first)."""
    import numpy as np

    fig = _figure(width, height)
    ax = fig.add_subplot()
    order = sorted(range(len(scores.topics)), key=lambda k: (-scores.values[0][k], int(scores.topics[k][1])))
    x = np.arange(len(order))
    n = len(scores.labels)
    bar = 0.8 / n
    for r, label in enumerate(scores.labels):
        values = [scores.values[r][k] for k in order]
        mean = sum(scores.values[r]) / len(scores.values[r])
        ax.bar(x - 0.4 + bar * (r + 0.5), values, bar, label=f"{label} (mean {mean:.4f})")
    ax.set_xticks(x, [scores.topics[k][1] for k in order], rotation=90, fontsize="small")
    ax.set_xlim(-0.6, len(order) - 0.4)
    ax.set_xlabel("topic")
    ax.set_ylabel("infAP")
    ax.legend(fontsize="small")
    if title:
        ax.set_title(title)
    return _save(fig, prefix, dpi)


@dataclass(frozen=True)
class SensitivityPoint:
    param: str
    value: float
    metric: float
    series: str = ""


def _finite(token: str, what: str, path: Union[str, Path], line: int) -> float:
    try:
        value = float(token)
    except ValueError:
        value = math.nan
    if not math.isfinite(value):
        raise InputError(f"{what} must be a finite number, got {token!r}", path, line)
    return value


def read_sensitivity(path: Union[str, Path]) -> List[SensitivityPoint]:
    """A CSV with header ``param,value,metric`` (and optionally ``series``), one point a line."""
    rows = list(csv.reader(io.StringIO(read_text(path, "sensitivity CSV"))))
    header = [h.strip() for h in rows[0]]
    allowed = SENSITIVITY_COLUMNS + ("series",)
    if any(c not in header for c in SENSITIVITY_COLUMNS) or any(h not in allowed for h in header):
        raise InputError(f"header must be param,value,metric (optionally series), got {','.join(header)!r}",
                         path, 1)
    index = {h: i for i, h in enumerate(header)}
    points, seen = [], {}
    for line, row in enumerate(rows[1:], 2):
        if not any(cell.strip() for cell in row):
            continue
        if len(row) != len(header):
            raise InputError(f"expected {len(header)} fields, found {len(row)}", path, line)
        point = SensitivityPoint(row[index["param"]].strip(),
                                 _finite(row[index["value"]].strip(), "value", path, line),
                                 _finite(row[index["metric"]].strip(), "metric", path, line),
                                 row[index["series"]].strip() if "series" in index else "")
        if not point.param:
            raise InputError("empty param name", path, line)
        key = (point.param, point.series, point.value)
        if key in seen:
            series = f" for {point.series}" if point.series else ""
            raise InputError(f"{point.param} = {point.value:g}{series} repeats line {seen[key]}", path, line)
        seen[key] = line
        points.append(point)
    if not points:
        raise InputError("no data lines after the header", path)
    return points


def sensitivity_figure(points: Sequence[SensitivityPoint], prefix: Union[str, Path],
                       width: Optional[float] = None, height: float = 3.0, dpi: int = 100,
                       ylabel: str = "infAP") -> List[Path]:
    """One panel per hyper-parameter (in the CSV's order): the metric against its value."""
    params: Dict[str, Dict[str, List[Tuple[float, float]]]] = {}
    for p in points:
        params.setdefault(p.param, {}).setdefault(p.series, []).append((p.value, p.metric))
    fig = _figure(4.0 * len(params) if width is None else width, height)
    axes = fig.subplots(1, len(params), squeeze=False)[0]
    for ax, (param, series) in zip(axes, params.items()):
        for name, xy in series.items():
            xy.sort()
            ax.plot([x for x, _ in xy], [y for _, y in xy], marker="o", label=name or None)
        ax.set_xticks(sorted({x for xy in series.values() for x, _ in xy}))
        ax.set_xlabel(param)
        ax.set_ylabel(ylabel)
        ax.grid(alpha=0.3)
        if any(series):
            ax.legend(fontsize="small")
    return _save(fig, prefix, dpi)
