"""``fpig-trecvid plot``: per-topic bar charts and sensitivity figures, as PNG and SVG."""
from __future__ import annotations

from typing import Optional, Tuple

import click

from ..report.cache import ResultCache
from ..report.cells import CellEvaluator
from ..report.compare import scores_from_manifest, scores_from_runs
from ..report.manifest import load_manifest
from ..topics import REGISTRY

_SIZE = [click.option("--height", type=click.FloatRange(min=0, min_open=True), metavar="INCHES"),
         click.option("--dpi", type=click.IntRange(min=10), default=100, show_default=True,
                      help="Pixels per inch of the PNG (pixel size = inches x dpi).")]


def _size_options(func):
    for option in reversed(_SIZE):
        func = option(func)
    return func


@click.group("plot")
def command() -> None:
    """Figures from runs: per-topic infAP, and metric vs. a hyper-parameter (as Figure S1)."""


@command.command("topics")
@click.option("--qrels", "qrels_spec", metavar="tv21|tv23|PATH", help="Score RUNS with these qrels.")
@click.option("--manifest", type=click.Path(), help="Plot the manifest's models on one --year instead.")
@click.option("--year", type=click.Choice(list(REGISTRY)), help="With --manifest: the year to plot.")
@click.option("--model", "models", multiple=True, metavar="NAME",
              help="With --manifest: only these models (repeatable; default all).")
@click.option("--out", required=True, metavar="PREFIX", help="Writes PREFIX.png and PREFIX.svg.")
@click.option("--width", type=click.FloatRange(min=0, min_open=True), default=10.0, show_default=True,
              metavar="INCHES")
@_size_options
@click.option("--title", help="Title above the chart.")
@click.argument("runs", nargs=-1, type=click.Path())
def topics_command(qrels_spec: Optional[str], manifest: Optional[str], year: Optional[str],
                   models: Tuple[str, ...], out: str, width: float, height: Optional[float], dpi: int,
                   title: Optional[str], runs: Tuple[str, ...]) -> None:
    """Per-topic infAP of RUNS (or of a manifest's models on one year) as grouped bars,
    topics sorted by the first run's infAP."""
    from ..report.plots import per_topic_figure

    if (qrels_spec is None) == (manifest is None):
        raise click.UsageError("give either --qrels with RUNS, or --manifest with --year")
    if manifest is not None:
        if year is None or runs:
            raise click.UsageError("with --manifest give one --year and no RUNS")
        spec = load_manifest(manifest)
        scores = scores_from_manifest(spec, models, (year,), CellEvaluator(ResultCache(spec.cache_dir)),
                                      min_runs=1)
    else:
        if year or models:
            raise click.UsageError("--year and --model select from a --manifest")
        scores = scores_from_runs(qrels_spec, runs, CellEvaluator(ResultCache(None)), min_runs=1)
    for path in per_topic_figure(scores, out, width, height or 4.0, dpi, title):
        click.echo(path)


@command.command("sensitivity")
@click.argument("csv_path", metavar="CSV", type=click.Path())
@click.option("--out", required=True, metavar="PREFIX", help="Writes PREFIX.png and PREFIX.svg.")
@click.option("--width", type=click.FloatRange(min=0, min_open=True), metavar="INCHES",
              help="Figure width [default: 4 per hyper-parameter].")
@_size_options
@click.option("--ylabel", default="infAP", show_default=True, help="What the metric column is.")
def sensitivity_command(csv_path: str, out: str, width: Optional[float], height: Optional[float],
                        dpi: int, ylabel: str) -> None:
    """Metric vs. hyper-parameter from a CSV with header param,value,metric (optional series
    column for several lines a panel), one panel per param, as the paper's Figure S1."""
    from ..report.plots import read_sensitivity, sensitivity_figure

    for path in sensitivity_figure(read_sensitivity(csv_path), out, width, height or 3.0, dpi, ylabel):
        click.echo(path)
