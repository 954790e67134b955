"""The rendered figures as a reader sees them: tick labels apart, legends off the data, no text
cut at the figure's edge, and a legend that says when a run's mean covers fewer topics."""
import gzip

import pytest

from trecvid_fpig.evaluate.score import score_runs
from trecvid_fpig.formats.qrels import load_qrels
from trecvid_fpig.report.compare import scores_from_runs
from trecvid_fpig.report.cells import CellEvaluator
from trecvid_fpig.report.cache import ResultCache
from trecvid_fpig.report.plots import (matplotlib_fonts, per_topic_plot, read_sensitivity,
                                       sensitivity_plot, topic_texts)

SENSITIVITY = "param,value,infAP,series\n" + "".join(
    f"lr,{v},{m},TV21\n" for v, m in [("1e-6", .12), ("3e-6", .13), ("1e-5", .15), ("3e-5", .16),
                                      ("1e-4", .181), ("1e-3", .17)]) + "".join(
    f"lr,{v},{m},TV23\n" for v, m in [("1e-6", .11), ("1e-5", .14), ("1e-4", .16), ("1e-3", .15)]) + "".join(
    f"wd,{v},{m},TV21\n" for v, m in [("1e-6", .14), ("1e-5", .15), ("1e-4", .16), ("1e-2", .12)]) + (
    "α,0,0.15,TV21\nα,0.5,0.172,TV21\nα,1,0.161,TV21\nα,0,0.121,TV23\nα,0.5,0.14,TV23\nα,1,0.133,TV23\n"
    "top-k,1,0.15,TV21\ntop-k,5,0.181,TV21\ntop-k,10,0.17,TV21\n"
    "top-k,1,0.13,TV23\ntop-k,5,0.16,TV23\ntop-k,10,0.175,TV23\n")


def drawn(fig):
    fig.canvas.draw()
    return fig.canvas.get_renderer()


def drawn_texts(fig):
    """The texts drawn: every visible Text but the labels an Axes keeps for ticks beyond its
    limits, which it does not draw."""
    from matplotlib.text import Text
    hidden = set()
    for ax in fig.axes:
        for axis in (ax.xaxis, ax.yaxis):
            low, high = sorted(axis.get_view_interval())
            hidden.update(id(label) for tick in axis.get_major_ticks()
                          if not low <= tick.get_loc() <= high for label in (tick.label1, tick.label2))
    return [t for t in fig.findobj(Text) if id(t) not in hidden and t.get_visible()
            and t.get_text().strip()]


def assert_no_clipped_text(fig):
    renderer = drawn(fig)
    page = fig.bbox
    for text in drawn_texts(fig):
        box = text.get_window_extent(renderer)
        assert (box.x0 >= page.x0 - 0.5 and box.y0 >= page.y0 - 0.5 and box.x1 <= page.x1 + 0.5
                and box.y1 <= page.y1 + 0.5), f"{text.get_text()!r} is cut at the figure's edge"


def assert_tick_labels_apart(fig):
    renderer = drawn(fig)
    for ax in fig.axes:
        boxes = [t.get_window_extent(renderer) for t in ax.get_xticklabels()
                 if t.get_visible() and t.get_text()]
        for a, b in zip(boxes, boxes[1:]):
            assert not a.overlaps(b), f"tick labels overlap on {ax.get_xlabel()!r}"


def between(xy, steps=20):
    """Display points along a line's drawn segments too: a legend over a line hides data as
    much as one over a marker."""
    import numpy as np
    xy = np.asarray(xy, dtype=float)
    if len(xy) < 2:
        return xy
    t = np.linspace(0, 1, steps)[:, None, None]
    return (xy[:-1] + t * (xy[1:] - xy[:-1])).reshape(-1, 2)


def assert_legends_off_the_data(fig):
    renderer = drawn(fig)
    legends = fig.legends + [ax.get_legend() for ax in fig.axes if ax.get_legend()]
    assert legends
    for ax in fig.axes:
        points = [between(ax.transData.transform(line.get_xydata())) for line in ax.get_lines()]
        points += [ax.transData.transform(c.get_offsets()) for c in ax.collections]
        points += [ax.transData.transform([(p.get_x() + p.get_width() / 2, p.get_height())])
                   for p in ax.patches if p.get_height() > 0]
        for legend in legends:
            box = legend.get_window_extent(renderer)
            for xy in points:
                for x, y in xy:
                    assert not box.contains(x, y), f"the legend covers a point at {x:.0f},{y:.0f}"


@pytest.fixture
def sensitivity(tmp_path):
    (tmp_path / "s.csv").write_text(SENSITIVITY, encoding="utf-8")
    return read_sensitivity(tmp_path / "s.csv")


@pytest.mark.parametrize("width,height", [(3.3, 2.2), (7.0, 2.5), (12.0, 3.0)])
def test_sensitivity_logx_is_readable(sensitivity, width, height):
    with matplotlib_fonts():
        fig = sensitivity_plot(sensitivity, width, height, logx=("lr", "wd"))
        assert_tick_labels_apart(fig)
        assert_legends_off_the_data(fig)
        assert_no_clipped_text(fig)
        lr = [t.get_text() for t in fig.axes[0].get_xticklabels()]
        assert lr[0] == "1e-6" and lr[-1] == "1e-3"           # one format, not 1e-06 and 0.001
        assert all("e-" in t and "e-0" not in t for t in lr)
        assert "0.0001" not in [t.get_text() for t in fig.axes[1].get_xticklabels()]


@pytest.fixture
def twelve_of_twenty(tmp_path, data_dir):
    lines = gzip.open(data_dir / "tv21.runA.txt.gz", "rt").read().splitlines()
    topics = sorted({line.split()[0] for line in lines})
    keep = set(topics[:12])
    partial = tmp_path / "partial.txt"
    partial.write_text("\n".join(l for l in lines if l.split()[0] in keep) + "\n")
    runs = [partial, data_dir / "tv21.runA.txt.gz", data_dir / "tv21.runB.txt.gz"]
    return runs, scores_from_runs("tv21", [str(r) for r in runs], CellEvaluator(ResultCache(None)),
                                  min_runs=1, labels=())


@pytest.mark.slow                                # scores three runs, draws four charts
@pytest.mark.parametrize("style", ["nist", "bars"])
@pytest.mark.parametrize("height", [4.0, 3.0])
def test_per_topic_with_topic_texts_is_readable(twelve_of_twenty, style, height):
    runs, scores = twelve_of_twenty
    with matplotlib_fonts():
        fig = per_topic_plot(scores, 10.0, height, title="infAP per topic, TV21", style=style,
                             texts=topic_texts())
        assert_tick_labels_apart(fig)
        assert_legends_off_the_data(fig)
        assert_no_clipped_text(fig)
        renderer = drawn(fig)
        ax = fig.axes[0]
        labels = max(t.get_window_extent(renderer).height for t in ax.get_xticklabels())
        assert labels < 0.4 * fig.bbox.height        # the chart keeps most of the figure
        legend = [t.get_text() for t in fig.legends[0].get_texts()]
    scored = score_runs(load_qrels("tv21"), [runs[0]])[0].result.topics
    mean = sum(t.infAP for t in scored) / len(scored)
    assert len(scored) == 12
    assert f"partial.txt (mean {mean:.4f} over 12 of 20 topics, 8 missing ×)" in legend
    assert any(t.startswith("tv21.runB.txt.gz (mean ") and "over" not in t for t in legend)


def test_long_legend_wraps_into_rows_inside_the_figure(tmp_path):
    (tmp_path / "s.csv").write_text("param,value,infAP,series\n" + "".join(
        f"α,{v},{0.1 + 0.01 * k + 0.02 * v},TRECVID 20{21 + k}\n" for k in range(5) for v in (0, 0.5, 1)),
        encoding="utf-8")
    with matplotlib_fonts():
        fig = sensitivity_plot(read_sensitivity(tmp_path / "s.csv"), 3.3, 2.2)
        assert_no_clipped_text(fig)                 # five names in one row would be cut
        assert_legends_off_the_data(fig)
