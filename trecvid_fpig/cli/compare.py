"""``fpig-trecvid compare``: per-topic infAP of several runs and paired significance tests."""
from __future__ import annotations

from typing import Optional, Tuple

import click

from ..formats.topics import REGISTRY
from ..report.cache import ResultCache
from ..report.cells import CellEvaluator
from ..report.compare import pair_tests, render_comparison, scores_from_manifest, scores_from_runs
from ..report.formats import PAPER_FORMATS
from ..report.manifest import load_manifest
from ..report.stats import MAX_PERMUTATIONS, MAX_RESAMPLES, MAX_SEED
from .options import QRELS_METAVAR
from .output import check_out, emit, manifest_inputs


@click.command("compare")
@click.option("--qrels", "qrels_spec", metavar=QRELS_METAVAR,
              help="Score RUNS with these qrels (shipped by year, or a file).")
@click.option("--manifest", type=click.Path(), metavar="MANIFEST",
              help="Compare the manifest's models instead, pooling the topics of several years.")
@click.option("--model", "models", multiple=True, metavar="NAME",
              help="With --manifest: only these models (repeatable, each once; default all).")
@click.option("--year", "years", multiple=True, type=click.Choice(list(REGISTRY)),
              help="With --manifest: only these years (repeatable; default every year all models have).")
@click.option("--permutations", type=click.IntRange(1, MAX_PERMUTATIONS), default=10_000,
              show_default=True, help=f"Random sign flips of the randomization test, 1 to "
              f"{MAX_PERMUTATIONS:,} (exact, every flip, when 2^topics is at most this).")
@click.option("--bootstrap", "resamples", type=click.IntRange(1, MAX_RESAMPLES), default=10_000,
              show_default=True, help=f"Resamples of the paired bootstrap 95% CI of the mean "
              f"difference, 1 to {MAX_RESAMPLES:,}.")
@click.option("--seed", type=click.IntRange(0, MAX_SEED), default=0, show_default=True,
              help=f"Seed of the sign flips and of the bootstrap, 0 to {MAX_SEED}.")
@click.option("--alpha", type=click.FloatRange(0, 1, min_open=True, max_open=True), default=0.05,
              show_default=True, help="Significance level after Holm's correction.")
@click.option("--per-topic/--no-per-topic", default=True, show_default=True,
              help="Print the per-topic table before the tests.")
@click.option("--format", "fmt", type=click.Choice(PAPER_FORMATS), default="table", show_default=True)
@click.option("--out", type=click.Path(dir_okay=False), help="Write here (atomically) instead of stdout.")
@click.option("--no-cache", is_flag=True, help="With --manifest: read and write no cache.")
@click.option("--coverage", is_flag=True,
              help="Beside each pair: both runs' mean pooled@100 and infAP_condensed on its topics.")
@click.argument("runs", nargs=-1, type=click.Path())
def command(qrels_spec: Optional[str], manifest: Optional[str], models: Tuple[str, ...],
            years: Tuple[str, ...], permutations: int, resamples: int, seed: int, alpha: float,
            per_topic: bool, fmt: str, out: Optional[str], no_cache: bool, coverage: bool,
            runs: Tuple[str, ...]) -> None:
    """Per-topic infAP of RUNS side by side, and for each pair of runs: a paired bootstrap 95%
    CI of the mean difference, the effect size (mean / sd of the differences), wins / ties /
    losses over topics, a paired two-sided randomization test and a paired t-test,
    Holm-corrected over the pairs. Marks: † p < alpha, ‡ p < alpha/5 (randomization test);
    p-values under 0.0001 print as "< 0.0001" (CSV and JSON keep full precision).

    Either --qrels Q RUN_A RUN_B [RUN_C ...], or --manifest MANIFEST to compare its models on
    every year they all have: each year on its own, then all its topics pooled.
    """
    if (qrels_spec is None) == (manifest is None):
        raise click.UsageError("give either --qrels with two or more RUNS, or --manifest")
    if manifest is not None and runs:
        raise click.UsageError("with --manifest the runs come from the manifest; give no RUNS")
    if manifest is None and (models or years):
        raise click.UsageError("--model and --year select from a --manifest")
    check_out(out, [("run", r) for r in runs] + [("qrels", qrels_spec), ("manifest", manifest)])
    cache = None
    if manifest is not None:
        spec = load_manifest(manifest)
        check_out(out, manifest_inputs(spec))
        cache = ResultCache(None if no_cache else spec.cache_dir)
        evaluator = CellEvaluator(cache)
        scores = scores_from_manifest(spec, models, years, evaluator)
        source = {"manifest": manifest}
    else:
        scores = scores_from_runs(qrels_spec, runs, CellEvaluator(ResultCache(None)))
        source = {"qrels": qrels_spec, "runs": list(runs)}
    tests = pair_tests(scores, permutations, seed, resamples)
    text, notes = render_comparison(scores, tests, fmt, alpha, permutations, seed, resamples,
                                    meta=source, per_topic=per_topic, coverage=coverage)
    emit(text, out, list(notes) + (cache.notes if cache else []))
