"""``fpig-trecvid plot``: per-topic charts and sensitivity figures, as PNG, SVG and PDF."""
from __future__ import annotations

from typing import Optional, Tuple

import click

from ..base.locks import output_lock
from ..base.outputs import refuse_input_as_output
from ..formats.topics import REGISTRY
from ..report.cache import ResultCache
from ..report.cells import CellEvaluator
from ..report.compare import scores_from_manifest, scores_from_runs
from ..report.manifest import load_manifest
from .options import QRELS_METAVAR
from .output import manifest_inputs, tell


def _figure_paths(prefix: str):
    from ..report.plots import figure_paths

    return [str(p) for p in figure_paths(prefix)]

_SIZE = [click.option("--height", type=click.FloatRange(min=0, max=50, min_open=True),
                      metavar="INCHES", help="At most 50."),
         click.option("--dpi", type=click.IntRange(10, 1200), default=100, show_default=True,
                      help="Pixels per inch of the PNG (pixel size = inches x dpi, at most "
                           "20000 a side).")]
_WIDTH = click.FloatRange(min=0, max=50, min_open=True)


def _size_options(func):
    for option in reversed(_SIZE):
        func = option(func)
    return func


@click.group("plot")
def command() -> None:
    """Figures from runs: per-topic infAP, and metric vs. a hyper-parameter (as Figure S1)."""


@command.command("topics")
@click.option("--qrels", "qrels_spec", metavar=QRELS_METAVAR, help="Score RUNS with these qrels.")
@click.option("--manifest", type=click.Path(), help="Plot the manifest's models on one --year instead.")
@click.option("--year", type=click.Choice(list(REGISTRY)), help="With --manifest: the year to plot.")
@click.option("--model", "models", multiple=True, metavar="NAME",
              help="With --manifest: only these models (repeatable; default all).")
@click.option("--out", required=True, metavar="PREFIX",
              help="Writes PREFIX.png, PREFIX.svg and PREFIX.pdf.")
@click.option("--width", type=_WIDTH, default=10.0, show_default=True, metavar="INCHES",
              help="At most 50.")
@_size_options
@click.option("--title", help="Title above the chart [default: says what is plotted].")
@click.option("--label", "labels", multiple=True, metavar="NAME",
              help="Legend name of each run, in order (repeatable; default the file names).")
@click.option("--style", type=click.Choice(["bars", "nist"]), default="bars", show_default=True,
              help="nist: each run as a dot over the median (bar) and max (dash) of the runs, "
                   "as TRECVID's notebook charts.")
@click.option("--topic-text", is_flag=True, help="Short topic texts beside the topic ids.")
@click.argument("runs", nargs=-1, type=click.Path())
def topics_command(qrels_spec: Optional[str], manifest: Optional[str], year: Optional[str],
                   models: Tuple[str, ...], out: str, width: float, height: Optional[float], dpi: int,
                   title: Optional[str], labels: Tuple[str, ...], style: str, topic_text: bool,
                   runs: Tuple[str, ...]) -> None:
    """Per-topic infAP of RUNS (or of a manifest's models on one year), topics sorted by the
    first run's infAP and named as in the papers (662, not NIST's 1662). A topic a run has no
    score for is drawn as missing (×) and counted in the legend; each run's mean is over all
    its topics."""
    from ..report.plots import per_topic_figure, topic_texts

    if (qrels_spec is None) == (manifest is None):
        raise click.UsageError("give either --qrels with RUNS, or --manifest with --year")
    refuse_input_as_output(_figure_paths(out), [("run", r) for r in runs]
                           + [("qrels", qrels_spec), ("manifest", manifest)])
    if manifest is not None:
        if year is None or runs:
            raise click.UsageError("with --manifest give one --year and no RUNS")
        spec = load_manifest(manifest)
        refuse_input_as_output(_figure_paths(out), manifest_inputs(spec))
        scores = scores_from_manifest(spec, models, (year,), CellEvaluator(ResultCache(spec.cache_dir)),
                                      min_runs=1, labels=labels)
        what = year.upper()
    else:
        if year or models:
            raise click.UsageError("--year and --model select from a --manifest")
        scores = scores_from_runs(qrels_spec, runs, CellEvaluator(ResultCache(None)), min_runs=1,
                                  labels=labels)
        what = qrels_spec.upper() if qrels_spec in REGISTRY else f"qrels {qrels_spec}"
    for note in scores.notes:
        tell(note)
    for line in scores.extra_lines:     # figures are data: the files and sha256 go to stderr
        tell(f"note: {line}")
    what += ", with extra judgments" if scores.extra else ""
    title = title if title is not None else f"infAP per topic, {what}"
    texts = topic_texts() if topic_text else None
    with output_lock(out):
        written = per_topic_figure(scores, out, width, height or 4.0, dpi, title, style, texts)
    for path in written:
        click.echo(path)


@command.command("sensitivity")
@click.argument("csv_path", metavar="CSV", type=click.Path())
@click.option("--out", required=True, metavar="PREFIX",
              help="Writes PREFIX.png, PREFIX.svg and PREFIX.pdf.")
@click.option("--width", type=_WIDTH, metavar="INCHES",
              help="Figure width, at most 50 [default: 4 per hyper-parameter; 3.3 fits a column "
                   "of a two-column paper].")
@_size_options
@click.option("--ylabel", help="y-axis label [default: the metric column's name].")
@click.option("--logx", multiple=True, metavar="PARAM",
              help="Log x axis for this param, e.g. a learning rate (repeatable).")
@click.option("--sharey/--no-sharey", default=True, show_default=True,
              help="One y range for all panels.")
def sensitivity_command(csv_path: str, out: str, width: Optional[float], height: Optional[float],
                        dpi: int, ylabel: Optional[str], logx: Tuple[str, ...], sharey: bool) -> None:
    """Metric vs. hyper-parameter from a CSV with header param,value,METRIC (METRIC names the
    metric, e.g. infAP; optional series column for several lines a panel), one lettered panel
    per param, ticks at the data's values, as the paper's Figure S1."""
    from ..report.plots import read_sensitivity, sensitivity_figure

    refuse_input_as_output(_figure_paths(out), [("CSV", csv_path)])
    data = read_sensitivity(csv_path)
    with output_lock(out):
        written = sensitivity_figure(data, out, width, height or 3.0, dpi, ylabel, logx, sharey)
    for path in written:
        click.echo(path)
