"""Figures: per-topic infAP of several runs, and metric-vs-hyper-parameter sensitivity panels.

Drawn with matplotlib's object API on a bare Figure (no pyplot, no display needed) and saved as
PNG, SVG and PDF of exactly `width` x `height` inches at `dpi`, fonts of 8 pt or more (ready
for a 3.3 in column). SVG and PDF carry no date and SVG a fixed id salt, so the same data give
byte-identical files.
"""
from __future__ import annotations

import csv
import io
import math
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Dict, List, Optional, Sequence, Tuple, Union

from ..base.fields import ascii_float
from ..base.files import read_text
from ..base.outputs import atomic_write
from ..errors import InputError
from .compare import TopicScores

FIGURE_FORMATS = ("png", "svg", "pdf")
SENSITIVITY_COLUMNS = ("param", "value")
#: Bounds on what a figure may be: beyond them matplotlib fails deep inside or eats the memory.
MAX_INCHES = 50.0
MAX_DPI = 1200
MAX_PIXELS = 20_000
#: Fonts in points: the smallest is 8, as journals ask of a figure printed at its size.
FONT_SIZES = {"font.size": 9, "axes.titlesize": 9, "axes.labelsize": 9, "xtick.labelsize": 8,
              "ytick.labelsize": 8, "legend.fontsize": 8, "figure.titlesize": 10}
STYLES = ("bars", "nist")
#: The nist style's legend entries for all runs together, listed after the runs.
_SUMMARIES = ("median of the runs", "max of the runs")


def figure_paths(prefix: Union[str, Path]) -> List[Path]:
    """PREFIX.png, .svg and .pdf, after refusing a prefix that names a folder (``dir/`` would
    write the hidden files ``dir/.png``...)."""
    text = str(prefix)
    name = os.path.basename(text)
    if not name or name in (".", "..") or text.endswith(("/", "\\")):
        raise InputError(f"figure prefix {text}: names a folder; give a file name prefix, "
                         f"as {Path(text) / 'figure'}")
    return [Path(f"{text}.{fmt}") for fmt in FIGURE_FORMATS]


def _save(fig, prefix: Union[str, Path], dpi: int) -> List[Path]:
    import matplotlib

    written = []
    # no dates in SVG or PDF, fixed SVG ids: the same data give byte-identical files
    no_date = {"svg": {"Date": None}, "pdf": {"CreationDate": None, "ModDate": None}, "png": None}
    with matplotlib.rc_context({"svg.hashsalt": "fpig-trecvid"}):
        for fmt, target in zip(FIGURE_FORMATS, figure_paths(prefix)):
            with atomic_write(target, "wb") as fh:
                fig.savefig(fh, format=fmt, dpi=dpi, metadata=no_date[fmt])
            written.append(target)
    return written


def check_size(width: float, height: float, dpi: int) -> None:
    """Refuse sizes matplotlib cannot draw, with the limits in the message."""
    if not (0 < width <= MAX_INCHES and 0 < height <= MAX_INCHES):
        raise InputError(f"figure size must be above 0 and at most {MAX_INCHES:g} inches a side, "
                         f"got {width:g} x {height:g}")
    if not 10 <= dpi <= MAX_DPI:
        raise InputError(f"dpi must be between 10 and {MAX_DPI}, got {dpi}")
    if max(width, height) * dpi > MAX_PIXELS:
        raise InputError(f"{width:g} x {height:g} inches at {dpi} dpi is "
                         f"{round(width * dpi)} x {round(height * dpi)} pixels; at most "
                         f"{MAX_PIXELS} a side")


def _figure(width: float, height: float, dpi: int = 100):
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    check_size(width, height, dpi)
    fig = Figure(figsize=(width, height), dpi=dpi, layout="constrained")
    FigureCanvasAgg(fig)                # draws off-screen, so the layout can measure its texts
    return fig


def paper_topic_id(topic: str) -> str:
    """The id papers print: NIST's qrels id 1662 is topic 662."""
    return str(int(topic) - 1000) if topic.isdigit() and int(topic) >= 1000 else topic


def topic_texts() -> Dict[str, str]:
    """Paper topic id -> text of every shipped topic set (ids do not repeat across sets)."""
    from ..formats.topics import REGISTRY, load_topics

    texts: Dict[str, str] = {}
    for name in REGISTRY:
        topic_set = load_topics(name)
        texts.update({str(i): t for i, t in zip(topic_set.ids, topic_set.texts)})
    return texts


def _short(text: str, limit: int = 32) -> str:
    return text if len(text) <= limit else text[:limit - 1].rstrip() + "…"


def _wrapped_topic(topic: str, text: str, line_chars: int) -> str:
    """``662 a woman`` over ``wearing sleeve…``: two short lines instead of one long
    rotated one, which took half the figure's height."""
    import textwrap

    lines = textwrap.wrap(f"{topic} {text}".rstrip(), line_chars)
    if len(lines) > 2:
        lines = [lines[0], _short(" ".join(lines[1:]), line_chars)]
    return "\n".join(lines)


def _legend_above(fig, handles, names: Sequence[str], columns: int) -> None:
    """One legend above the axes, where it covers no data, in as many of `columns` columns as
    fit the figure's width (fewer columns, more rows, when the names are long)."""
    for ncols in range(max(min(columns, len(names)), 1), 0, -1):
        legend = fig.legend(handles, names, loc="outside upper center", ncols=ncols, frameon=False)
        fig.canvas.draw()
        if ncols == 1 or legend.get_window_extent().width <= fig.bbox.width:
            return
        legend.remove()


def _mean_of_scored(values: Sequence[float]) -> float:
    present = [v for v in values if not math.isnan(v)]
    total = 0.0
    for v in present:
        total += v
    return total / len(present)


def per_topic_figure(scores: TopicScores, prefix: Union[str, Path], width: float = 10.0,
                     height: float = 4.0, dpi: int = 100, title: Optional[str] = None,
                     style: str = "bars", texts: Optional[Dict[str, str]] = None) -> List[Path]:
    """Draws `per_topic_plot` and saves it as PREFIX.png, .svg and .pdf."""
    with matplotlib_fonts():
        return _save(per_topic_plot(scores, width, height, dpi, title, style, texts), prefix, dpi)


def per_topic_plot(scores: TopicScores, width: float = 10.0, height: float = 4.0, dpi: int = 100,
                   title: Optional[str] = None, style: str = "bars",
                   texts: Optional[Dict[str, str]] = None):
    """infAP per topic, topics sorted by the first run's infAP (best first).

    ``bars``: grouped bars, one per run. ``nist``: as TRECVID's notebook charts, a grey bar for
    the median of the runs on each topic, a dash for their maximum, and each run as a dot.
    A topic a run has no score for is marked "×" at 0 and named in the legend, never dropped;
    the mean in the legend is over all the topics that run has, and says how many when a run
    lacks some. The legend sits above the axes, never over a bar or dot. `texts` (paper id ->
    text) adds topic texts to the tick labels, wrapped to two short lines so that they leave
    the chart most of the figure's height.
    """
    import matplotlib
    import numpy as np

    if style not in STYLES:
        raise InputError(f"unknown style {style!r}; expected one of {', '.join(STYLES)}")
    with matplotlib_fonts():
        fig = _figure(width, height, dpi)
        ax = fig.add_subplot()
        if title:
            ax.set_title(title)
        first = [(-1.0 if math.isnan(v) else v) for v in scores.values[0]]
        order = sorted(range(len(scores.topics)), key=lambda k: (-first[k], int(scores.topics[k][1])))
        x = np.arange(len(order))
        table = np.array([[scores.values[r][k] for k in order] for r in range(len(scores.labels))])
        colours = matplotlib.colormaps["tab10"].colors
        if style == "nist":
            with np.errstate(all="ignore"):
                median = np.nanmedian(table, axis=0) if len(table) > 1 else table[0]
                best = np.nanmax(table, axis=0)
            ax.bar(x, np.nan_to_num(median), 0.7, color="0.82", label=_SUMMARIES[0])
            ax.scatter(x, best, marker="_", s=120, color="0.2", linewidths=1.5,
                       label=_SUMMARIES[1], zorder=3)
        n = len(scores.labels)
        bar = 0.8 / n
        for r, label in enumerate(scores.labels):
            values = table[r]
            missing = np.isnan(values)
            text = f"{label} (mean {_mean_of_scored(values):.4f}"
            if missing.any():
                text += (f" over {int((~missing).sum())} of {len(values)} topics, "
                         f"{int(missing.sum())} missing ×")
            text += ")"
            colour = colours[r % len(colours)]
            if style == "nist":
                ax.scatter(x, values, s=18, color=colour, label=text, zorder=4)
                offsets = x
            else:
                offsets = x - 0.4 + bar * (r + 0.5)
                ax.bar(offsets, np.nan_to_num(values), bar, color=colour, label=text)
            if missing.any():
                ax.scatter(offsets[missing], np.zeros(int(missing.sum())), marker="x", s=24,
                           color=colour, zorder=5, clip_on=False)
        labels = [paper_topic_id(scores.topics[k][1]) for k in order]
        if texts is not None:
            # two lines of at most 30% of the figure's height each, at 0.62 em a character
            line_chars = max(12, int(0.3 * height * 72 / (0.62 * FONT_SIZES["xtick.labelsize"])))
            labels = [_wrapped_topic(t, texts.get(t, ""), line_chars) for t in labels]
        ax.set_xticks(x, labels, rotation=90, linespacing=1.0)
        ax.set_xlim(-0.6, len(order) - 0.4)
        top = float(np.nanmax(table)) if not np.isnan(table).all() else 0.0
        ax.set_ylim(0, max(top, 0.01) * 1.05)
        ax.set_xlabel("topic")
        ax.set_ylabel("infAP")
        ax.grid(axis="y", alpha=0.3)
        ax.set_axisbelow(True)
        handles, names = ax.get_legend_handles_labels()
        runs_first = sorted(range(len(names)), key=lambda k: names[k] in _SUMMARIES)
        _legend_above(fig, [handles[k] for k in runs_first], [names[k] for k in runs_first],
                      len(names))
        fig.canvas.draw()
        return fig


@dataclass(frozen=True)
class SensitivityPoint:
    param: str
    value: float
    metric: float
    series: str = ""


#: Largest magnitude plotted: matplotlib's margins and ticks overflow near the largest float
#: (a traceback: "arange: cannot compute length"), and a log axis's 5% margins of its decades
#: (1e300 down to 1e-300 overflows) from well below it.
MAX_PLOTTED = 1e200


def _finite(token: str, what: str, path: Union[str, Path], line: int) -> float:
    try:
        value = ascii_float(token)
    except ValueError:
        raise InputError(f"{what} must be a finite number, got {token!r} (ASCII digits only)",
                         path, line) from None
    if abs(value) > MAX_PLOTTED:
        raise InputError(f"{what} must be between -{MAX_PLOTTED:g} and {MAX_PLOTTED:g} to be "
                         f"plotted, got {token!r}", path, line)
    return value


@dataclass(frozen=True)
class Sensitivity:
    metric: str                             # the metric column's name: the y-axis label
    points: Tuple[SensitivityPoint, ...]


def read_sensitivity(path: Union[str, Path]) -> Sensitivity:
    """A CSV with header ``param,value,METRIC`` (and optionally ``series``), one point a line;
    METRIC is the metric's name (``infAP``, ``R@1``, or ``metric``)."""
    reader = csv.reader(io.StringIO(read_text(path, "sensitivity CSV"), newline=""))
    try:        # newline="": a lone CR ends a line, as the csv module expects
        rows = list(reader)
    except csv.Error as exc:          # a field over csv's size limit, a stray quote at the end
        raise InputError(f"not a readable CSV: {exc}", path, reader.line_num) from None
    header = [h.strip() for h in rows[0]] if rows else []
    others = [h for h in header if h not in SENSITIVITY_COLUMNS + ("series",)]
    if (any(c not in header for c in SENSITIVITY_COLUMNS) or len(others) != 1
            or len(set(header)) != len(header)):
        raise InputError("header must be param,value,METRIC (optionally series), METRIC naming "
                         f"the metric, got {','.join(header)!r}", path, 1)
    index = {h: i for i, h in enumerate(header)}
    metric = others[0]
    points, seen = [], {}
    for line, row in enumerate(rows[1:], 2):
        if not any(cell.strip() for cell in row):
            continue
        if len(row) != len(header):
            raise InputError(f"expected {len(header)} fields, found {len(row)}", path, line)
        point = SensitivityPoint(row[index["param"]].strip(),
                                 _finite(row[index["value"]].strip(), "value", path, line),
                                 _finite(row[index[metric]].strip(), metric, path, line),
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
    return Sensitivity(metric, tuple(points))


def _tick_label(value: float) -> str:
    return f"{value:g}"


def _log_tick_labels(values: Sequence[float]) -> List[str]:
    """One format for a log axis: ``1e-6 1e-5 1e-4``, never ``1e-06 1e-05 0.0001``."""
    if all(1e-3 <= v < 1e4 for v in values):
        return [_tick_label(v) for v in values]
    labels = []
    for v in values:
        mantissa, exponent = f"{v:.2e}".split("e")
        labels.append(f"{float(mantissa):g}e{int(exponent)}")
    return labels


def _drop_overlapping_ticks(fig, axes) -> None:
    """Measure the drawn tick labels and drop those that touch the one kept before them (the
    last label is kept, the one before it gives way), until none overlap."""
    for _ in range(3):
        fig.canvas.draw()
        renderer = fig.canvas.get_renderer()
        changed = False
        for ax in axes:
            ticks = list(ax.get_xticks())
            labels = [t for t in ax.get_xticklabels() if t.get_text()]
            if len(labels) != len(ticks) or len(ticks) < 3:
                continue
            boxes = [t.get_window_extent(renderer).padded(2) for t in labels]
            kept = [0]
            for k in range(1, len(ticks)):
                if not boxes[kept[-1]].overlaps(boxes[k]):
                    kept.append(k)
                elif k == len(ticks) - 1 and len(kept) > 1:
                    kept[-1] = k
            if len(kept) < len(ticks):
                ax.set_xticks([ticks[k] for k in kept], [labels[k].get_text() for k in kept])
                changed = True
        if not changed:
            return


def _spaced_ticks(values: Sequence[float], log: bool, axis_inches: float,
                  font_pt: float = FONT_SIZES["xtick.labelsize"]) -> List[float]:
    """The data's x values whose labels fit side by side on an axis `axis_inches` long: a
    value is left out when its label would touch the last one kept; the first and the last
    value are always kept (the one before the last gives way instead)."""
    position = (lambda v: math.log10(v)) if log else (lambda v: v)
    span = (position(values[-1]) - position(values[0])) or 1.0
    char_inches = 0.62 * font_pt / 72

    def fits(a: float, b: float) -> bool:
        room = (position(b) - position(a)) / span * axis_inches
        return room >= char_inches * (len(_tick_label(a)) + len(_tick_label(b))) / 2 + 0.06

    kept = [values[0]]
    for v in values[1:]:
        if fits(kept[-1], v):
            kept.append(v)
        elif v == values[-1] and len(kept) > 1:
            kept[-1] = v
    return kept


def sensitivity_figure(data: Sensitivity, prefix: Union[str, Path], width: Optional[float] = None,
                       height: float = 3.0, dpi: int = 100, ylabel: Optional[str] = None,
                       logx: Sequence[str] = (), sharey: bool = True) -> List[Path]:
    """Draws `sensitivity_plot` and saves it as PREFIX.png, .svg and .pdf."""
    with matplotlib_fonts():
        return _save(sensitivity_plot(data, width, height, dpi, ylabel, logx, sharey), prefix, dpi)


def sensitivity_plot(data: Sensitivity, width: Optional[float] = None, height: float = 3.0,
                     dpi: int = 100, ylabel: Optional[str] = None, logx: Sequence[str] = (),
                     sharey: bool = True):
    """One panel per hyper-parameter (in the CSV's order), lettered (a), (b), …: the metric
    against the parameter's values, ticks only at those values (thinned where the drawn labels
    would touch), a log axis for the parameters in `logx` (learning rates, labelled in one
    format), one y range for all panels unless `sharey` is False. The series share one legend
    above the panels, one colour each, so that no legend covers a point."""
    import matplotlib
    from matplotlib.ticker import NullLocator

    params: Dict[str, Dict[str, List[Tuple[float, float]]]] = {}
    for p in data.points:
        params.setdefault(p.param, {}).setdefault(p.series, []).append((p.value, p.metric))
    unknown = [name for name in logx if name not in params]
    if unknown:
        raise InputError(f"--logx {unknown[0]!r} is not a param of the CSV (params: {', '.join(params)})")
    with matplotlib_fonts():
        fig = _figure(4.0 * len(params) if width is None else width, height, dpi)
        axes = fig.subplots(1, len(params), squeeze=False, sharey=sharey)[0]
        names = list(dict.fromkeys(p.series for p in data.points))
        colours = matplotlib.colormaps["tab10"].colors
        colour = {name: colours[k % len(colours)] for k, name in enumerate(names)}
        legend = {}
        for number, (ax, (param, series)) in enumerate(zip(axes, params.items())):
            values = sorted({x for xy in series.values() for x, _ in xy})
            log = param in logx
            if log and values[0] <= 0:
                raise InputError(f"--logx {param}: a log axis needs positive values, got {values[0]:g}")
            for name, xy in series.items():
                xy.sort()
                line, = ax.plot([x for x, _ in xy], [y for _, y in xy], marker="o",
                                markersize=4, color=colour[name])
                legend.setdefault(name, line)
            if log:
                ax.set_xscale("log")
            ticks = _spaced_ticks(values, log, 0.8 * fig.get_figwidth() / len(params))
            ax.set_xticks(ticks, _log_tick_labels(ticks) if log else [_tick_label(v) for v in ticks])
            ax.xaxis.set_minor_locator(NullLocator())
            ax.set_xlabel(param)
            if number == 0 or not sharey:
                ax.set_ylabel(ylabel or data.metric)
            ax.set_title(f"({chr(ord('a') + number)})", loc="left", fontweight="bold")
            ax.grid(alpha=0.3)
        if any(names):
            _legend_above(fig, [legend[n] for n in names if n], [n for n in names if n], len(names))
        _drop_overlapping_ticks(fig, axes)
        return fig


def matplotlib_fonts():
    """The figure fonts (>= 8 pt) for the duration of a drawing."""
    import matplotlib

    return matplotlib.rc_context(FONT_SIZES)
