"""``fpig-trecvid score``: NIST-exact xinfAP for TREC run files."""
from __future__ import annotations

from typing import Tuple

import click

from ..errors import InputError
from ..evaluate.sample_eval_format import format_sample_eval_runs
from ..evaluate.score import extra_judgments_line, score_rows, score_runs
from ..formats.qrels import load_qrels
from ..report.formats import FORMATS, render
from .options import QRELS_HELP, QRELS_METAVAR
from .output import tell


@click.command("score")
@click.option("--qrels", "qrels_spec", required=True, metavar=QRELS_METAVAR,
              help=QRELS_HELP)
@click.option("-q", "per_topic", is_flag=True, help="Per-topic results, as sample_eval.pl -q.")
@click.option("--format", "fmt", type=click.Choice(FORMATS + ("sample-eval",)), default="table",
              show_default=True,
              help="sample-eval prints byte-for-byte what NIST's script prints for each run; with "
                   "several runs a '# RUN PATH' line comes before each run's block. CSV and JSON "
                   "keep full precision and add the iprec@rec curve (11 columns, per topic with "
                   "-q); the others show 4 decimals.")
@click.option("--strict", is_flag=True,
              help="Score as a TRECVID submission: missing topics count 0; list violations, exit 1.")
@click.option("--measure", "measures", multiple=True, metavar="NAME",
              help="Also a trec_eval measure on the judged shots via ir-measures (AP, P@10, …).")
@click.option("--coverage", is_flag=True,
              help="Also the pool coverage: pooled@k and judged@k (k = 10, 100, 1000), unpooled_ret "
                   "and infAP_condensed (infAP without the shots no one pooled); not in sample-eval.")
@click.option("--extra-qrels", "extra", multiple=True, type=click.Path(), metavar="FILE",
              help="Your own judgments of shots NIST never pooled (topic shot 0|1 a line; "
                   "repeatable), scored as one more stratum, as 'qrels merge' writes it; the "
                   "output says so.")
@click.argument("runs", nargs=-1, required=True, type=click.Path())
def command(qrels_spec: str, per_topic: bool, fmt: str, strict: bool, measures: Tuple[str, ...],
            coverage: bool, extra: Tuple[str, ...], runs: Tuple[str, ...]) -> None:
    """Score RUNS (TREC format: topic Q0 shot rank score tag, or NIST's AVS submission XML,
    told apart by content; - reads standard input) with inferred AP."""
    if fmt == "sample-eval" and (measures or coverage):
        raise click.UsageError(f"{'--measure' if measures else '--coverage'} cannot be printed "
                               "in --format sample-eval")
    qrels = load_qrels(qrels_spec, extra=extra)
    results = score_runs(qrels, runs, strict=strict, measures=measures, keep_going=True,
                         coverage=coverage)
    scored = [r for r in results if not isinstance(r, InputError)]
    failed = [r for r in results if isinstance(r, InputError)]
    if len(failed) == len(results):
        raise failed[0]
    if fmt == "sample-eval":
        click.echo(format_sample_eval_runs([(s.run.path, s.result) for s in scored], per_topic),
                   nl=False)
    else:
        rows, columns = score_rows(scored, per_topic, curve=fmt in ("csv", "json"), coverage=coverage)
        # the qrels as given (tv21, or the path as spelt): the same inputs, the same bytes
        meta = {"qrels": qrels_spec, "measure": "xinfAP (NIST sample_eval.pl)", "strict": strict}
        record = qrels.extra_record
        if record:      # a number made with private judgments must never pass as NIST's
            meta["extra_qrels"] = record.listed()
        if record and fmt in ("table", "markdown"):
            click.echo(extra_judgments_line(record))
        click.echo(render(rows, columns, fmt, meta=meta, exact_csv=True), nl=False)
    if qrels.extra_record and fmt in ("csv", "sample-eval"):       # their output stays data
        tell(f"note: {extra_judgments_line(qrels.extra_record)}")
    # sample_eval.pl skips misspelt topics without a word; --strict names each as a violation
    if fmt != "sample-eval" and not strict:
        for s in scored:
            for warning in s.warnings:
                tell(f"warning: {s.run.path}: {warning}")
    for s in scored:          # every format: a number NIST's pool cannot support says so
        if s.coverage.low:
            tell(f"warning: {s.run.path}: {s.coverage.warning(s.result.infAP)}")
    violations = [(s.run.path, v) for s in scored for v in s.violations]
    for path, v in violations:
        tell(f"{path}: {v}")
    for error in failed:
        tell(f"error: {error} (this run is not scored above)")
    if failed:
        raise SystemExit(2)
    if violations:
        raise SystemExit(1)

