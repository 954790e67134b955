"""``fpig-trecvid tables``: the paper's Tables S1 and S2 from a manifest of runs and R@K results."""
from __future__ import annotations

from typing import Optional, Tuple

import click

from ..report.cache import ResultCache
from ..report.formats import PAPER_FORMATS
from ..report.manifest import load_manifest
from ..report.tables import TABLES, build_tables, render_tables
from .output import check_out, emit, manifest_inputs


@click.command("tables")
@click.argument("manifest", type=click.Path())
@click.option("--table", "which", multiple=True, type=click.Choice(TABLES),
              help="Only these tables (repeatable); default: every table the manifest has data for.")
@click.option("--format", "fmt", type=click.Choice(PAPER_FORMATS), default="markdown", show_default=True,
              help="latex gives booktabs tabulars with the best value per column in \\textbf.")
@click.option("--out", type=click.Path(dir_okay=False), help="Write here (atomically) instead of stdout.")
@click.option("--against-paper", is_flag=True,
              help="Add the published value and the difference next to each reproduced cell.")
@click.option("--decimals", type=click.IntRange(0, 10),
              help="Digits after the point [default: 3 for infAP, 1 for R@K].")
@click.option("--years", "years_spec", metavar="tv21,tv23",
              help="Table S1 shows only these years, Mean over them [default: the manifest's "
                   "years, else all five].")
@click.option("--no-cache", is_flag=True, help="Recompute every cell; read and write no cache.")
def command(manifest: str, which: Tuple[str, ...], fmt: str, out: Optional[str], against_paper: bool,
            decimals: Optional[int], years_spec: Optional[str], no_cache: bool) -> None:
    """Tables S1 (infAP per TRECVID year) and S2 (R@K on MSR-VTT) from MANIFEST.

    A cell whose run, qrels or R@K result is missing prints "–" with a footnote saying what to
    supply. Computed cells are cached by content in .fpig-cache/ beside the manifest.
    """
    check_out(out, [("manifest", manifest)])
    spec = load_manifest(manifest)
    check_out(out, manifest_inputs(spec))
    cache = ResultCache(None if no_cache else spec.cache_dir)
    years = tuple(y.strip().lower() for y in years_spec.split(",")) if years_spec else ()
    tables = build_tables(spec, which, against_paper, decimals, cache, years)
    text, notes = render_tables(tables, fmt, meta={"manifest": manifest})
    emit(text, out, list(notes) + cache.notes)
