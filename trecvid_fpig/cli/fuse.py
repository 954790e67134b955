"""``fpig-trecvid fuse``: several runs -> one fused TREC run (RRF, CombSUM, CombMNZ, weighted)."""
from __future__ import annotations

from typing import Optional, Tuple

import click

from ..base.locks import output_lock
from ..fusion import MAX_RRF_K, MAX_WEIGHT, METHODS
from ..fusion.norms import NORMS
from ..fusion.tune import MAX_WEIGHTINGS
from .options import QRELS_METAVAR
from .output import check_out


def _parse_weights(ctx: click.Context, param: click.Parameter, value: Optional[str]):
    if value is None:
        return None
    try:
        return tuple(float(w) for w in value.split(","))
    except ValueError:
        raise click.BadParameter(f"expected comma-separated numbers, got {value!r}") from None


@click.command("fuse")
@click.option("--method", type=click.Choice(METHODS), default="rrf", show_default=True,
              help="rrf: sum of 1/(k+rank); combsum/combmnz/weighted: sums of normalised scores.")
@click.option("--norm", type=click.Choice(tuple(NORMS)), default=None,
              help="Per-topic score normalisation for combsum, combmnz, weighted [default: minmax].")
@click.option("--weights", callback=_parse_weights, metavar="W1,W2,...",
              help=f"One weight per run, for --method weighted: each from 0 (the run is left out) "
                   f"to {MAX_WEIGHT:g}, not all 0; only their ratios matter.")
@click.option("--rrf-k", type=click.FloatRange(min=0, max=MAX_RRF_K), default=60, show_default=True,
              help=f"k of reciprocal rank fusion, 0 to {MAX_RRF_K:g}.")
@click.option("--depth", type=click.IntRange(min=1), default=1000, show_default=True,
              help="Shots of each input run that take part, per topic.")
@click.option("--tune", is_flag=True,
              help="Grid-search --method weighted's weights on --qrels and print them (no run written).")
@click.option("--qrels", "qrels_spec", metavar=QRELS_METAVAR, help="Qrels for --tune.")
@click.option("--grid-step", type=click.FloatRange(min=0.01, max=1), default=0.1, show_default=True,
              help=f"Weight step of --tune (weights sum to 1; a step that divides 1). A grid of "
                   f"more than {MAX_WEIGHTINGS:,} weightings is refused, naming a coarser step.")
@click.option("--quiet", is_flag=True, help="No progress bar for --tune.")
@click.option("--run-id", metavar="TAG", help="Tag of the fused run (last column).")
@click.option("--out", type=click.Path(dir_okay=False), metavar="FILE", help="Fused TREC run.")
@click.argument("runs", nargs=-1, required=True, type=click.Path())
def command(method: str, norm: Optional[str], weights, rrf_k: float, depth: int, tune: bool,
            qrels_spec: Optional[str], grid_step: float, quiet: bool, run_id: Optional[str],
            out: Optional[str], runs: Tuple[str, ...]) -> None:
    """Fuse RUNS (TREC or AVS XML) topic by topic into the best 1000 shots a topic.

    Scores are written exactly (shortest round-trip decimals), so re-reading the file gives the
    fused order. With --tune, weights are chosen on one year's qrels: apply them to another
    year, since tuning on the year you report is leakage.
    """
    from ..api import fuse, read_run

    if tune:
        if not qrels_spec:
            raise click.UsageError("--tune needs --qrels")
        _tune([read_run(r) for r in runs], norm, depth, qrels_spec, grid_step, not quiet)
        return
    if not run_id or not out:
        raise click.UsageError("give --run-id and --out (or --tune --qrels)")
    check_out(out, [("run", r) for r in runs])
    with output_lock(out):
        fused = fuse(list(runs), method=method, norm=norm, weights=weights, rrf_k=rrf_k,
                     depth=depth, tag=run_id)
        fused.to_trec(out)
    click.echo(f"wrote {out} ({len(fused.topics)} topics, {method} of {len(runs)} runs)")


def _tune(runs, norm: Optional[str], depth: int, qrels_spec: str, step: float,
          progress: bool) -> None:
    from ..api import load_qrels
    from ..fusion.tune import grid_search

    qrels = load_qrels(qrels_spec)
    best = grid_search(runs, qrels, norm, depth, step, progress)
    click.echo(f"best weights on {qrels.path} (mean xinfAP {best.infAP:.4f}, "
               f"{best.tried} weightings tried): {','.join(f'{w:g}' for w in best.weights)}")
    for run, w in zip(runs, best.weights):
        click.echo(f"  {w:g}\t{run.path}")
    click.echo("apply them to another year's runs: tuning on the year you report is leakage")
