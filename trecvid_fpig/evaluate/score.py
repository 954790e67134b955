"""Scoring many run files against one qrels parse: what ``fpig-trecvid score`` and the report stage call."""
from __future__ import annotations

import multiprocessing
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import Dict, List, Optional, Sequence, Tuple, Union

from ..base.workers import WorkerDied, fork_map, usable_cores
from ..errors import InputError
from ..formats.qrels import ExtraRecord, Qrels
from ..formats.runs import Run, read_any_run
from .coverage import RunCoverage, coverage_columns, evaluate_with_coverage
from .strict import score_warnings, submission_violations
from .trec_measures import parse_measures, trec_measures
from .xinfap import RECALL_LEVELS, RunResult, TopicResult

MEASURE_COLUMNS = ("infAP", "infNDCG", "iP10", "iP100", "iP1000")
#: The counts sample_eval.pl prints after the measures, for each topic and for ``all``.
COUNT_COLUMNS = ("inum_rel", "inum_rel_ret", "num_ret")
#: sample_eval.pl's 11-point interpolated precision, named as it prints it (iprec@rec0.00 …).
IPREC_COLUMNS = tuple(f"iprec@rec{level:4.2f}" for level in RECALL_LEVELS)
#: Topic label of a run's summary row in per-topic output, as in sample_eval.pl -q.
ALL = "all"


@dataclass(frozen=True)
class ScoredRun:
    run: Run
    result: RunResult
    violations: Tuple[str, ...] = ()
    warnings: Tuple[str, ...] = ()
    trec_means: Dict[str, float] = field(default_factory=dict)
    trec_per_topic: Dict[str, Dict[str, float]] = field(default_factory=dict)
    #: pool coverage; infAP_condensed in it only with `coverage` or when coverage is low
    coverage: Optional[RunCoverage] = None


def score_run(qrels: Qrels, path: Union[str, Path, Run], strict: bool = False,
              measures: Sequence[str] = (), coverage: bool = False) -> ScoredRun:
    """Score a run in memory, or a TREC run or AVS XML file (``-``: standard input).

    Pool coverage comes from the same lookups as the scores; `coverage` adds infAP_condensed,
    which a run with low coverage gets anyway (for score's warning)."""
    run = path if isinstance(path, Run) else read_any_run(path)
    result, pool = evaluate_with_coverage(qrels, run, missing_as_zero=strict, condensed=coverage)
    violations = tuple(submission_violations(qrels, run)) if strict else ()
    means, per_topic = trec_measures(qrels, run, measures) if measures else ({}, {})
    warnings = tuple(score_warnings(qrels, run))
    return ScoredRun(run, result, violations, warnings, means, per_topic, pool)


def score_runs(qrels: Qrels, run_paths: Sequence[Union[str, Path, Run]], strict: bool = False,
               measures: Sequence[str] = (), workers: Optional[int] = None,
               keep_going: bool = False, coverage: bool = False) -> List[Union[ScoredRun, InputError]]:
    """Score each run against one qrels parse, in the order given.

    With `keep_going`, a run that cannot be read gives its :class:`InputError` in its place
    instead of stopping the batch, so the good runs of a batch are still scored.

    Several runs are parsed and scored in forked worker processes (one per core by default), which
    share the parsed qrels without copying them; a worker that dies (the out-of-memory killer) is
    an :class:`InputError` naming its run, at once.
    """
    if measures:
        parse_measures(measures)       # fail on a bad measure name before any work
    # standard input is read here: forked workers see an empty one
    run_paths = [_read_stdin(keep_going) if str(p) == "-" else p for p in run_paths]
    workers = min(workers or usable_cores(), len(run_paths))
    if workers < 2 or "fork" not in multiprocessing.get_all_start_methods():
        return [_score_or_error(qrels, path, strict, measures, keep_going, coverage)
                for path in run_paths]
    try:
        return fork_map(partial(_score_or_error, qrels, strict=strict, measures=measures,
                                keep_going=keep_going, coverage=coverage), run_paths, workers)
    except WorkerDied as exc:
        raise InputError(f"the process scoring this run {exc.cause}",
                         _run_name(run_paths[exc.index])) from None


def _run_name(path: Union[str, Path, Run, InputError]) -> str:
    if isinstance(path, Run):
        return path.path
    return "-" if isinstance(path, InputError) else str(path)


def _read_stdin(keep_going: bool) -> Union[Run, InputError]:
    """The run on standard input; with `keep_going`, a bad one is its error in the batch."""
    try:
        return read_any_run("-")
    except InputError as exc:
        if not keep_going:
            raise
        return exc


def _score_or_error(qrels: Qrels, path: Union[str, Path, Run, InputError], strict: bool,
                    measures: Sequence[str], keep_going: bool,
                    coverage: bool = False) -> Union[ScoredRun, InputError]:
    if isinstance(path, InputError):        # standard input, already read and refused
        return path
    try:
        return score_run(qrels, path, strict, measures, coverage)
    except InputError as exc:
        if not keep_going:
            raise
        return exc


def trec_label(measure: str) -> str:
    """Column name of a trec_eval measure; one that shares a name with ours (infAP) says so."""
    return f"{measure} (trec_eval)" if measure in MEASURE_COLUMNS else measure


def iprec_values(result: Union[RunResult, TopicResult]) -> Dict[str, float]:
    """The interpolated precision curve of a run (its ``all``) or of one topic, by column."""
    return dict(zip(IPREC_COLUMNS, result.iprec_at_recall))


def score_rows(scored: Sequence[ScoredRun], per_topic: bool = False,
               run_label: Optional[str] = None, curve: bool = False,
               coverage: bool = False) -> Tuple[List[dict], List[str]]:
    """Rows for :func:`trecvid_fpig.report.formats.render`: one per run, or per run and topic
    followed by the run's ``all`` row (as ``sample_eval.pl -q`` prints it).

    Every field NIST's script prints is a column (the measures, then inum_rel, inum_rel_ret and
    num_ret), named as in the Python API's per-topic DataFrame; with `curve`, the 11 points of
    iprec@rec too, for each topic (the script prints only their mean, ``all``); with `coverage`,
    the pool coverage columns after the counts.
    """
    extra = list(scored[0].trec_means) if scored else []
    fields = list(MEASURE_COLUMNS) + list(COUNT_COLUMNS)
    points = list(IPREC_COLUMNS) if curve else []
    pool = coverage_columns() if coverage else []
    columns = (["run"] + (["topic"] if per_topic else []) + fields + pool + points
               + [trec_label(m) for m in extra] + ["topics"])
    rows = []
    for s in scored:
        name = run_label or s.run.path
        summary = {"run": name, "topic": ALL}
        summary.update({m: getattr(s.result, m) for m in fields})
        summary.update({trec_label(m): v for m, v in s.trec_means.items()})
        summary["topics"] = len(s.result.topics)
        summary.update(iprec_values(s.result) if curve else {})
        summary.update(s.coverage.values() if coverage else {})
        if per_topic:
            for t, c in zip(s.result.topics, s.coverage.topics):
                row = {"run": name, "topic": t.topic}
                row.update({m: getattr(t, m) for m in fields})
                row.update(s.coverage.values(c) if coverage else {})
                values = s.trec_per_topic.get(t.topic, {})
                row.update({trec_label(m): values.get(m) for m in extra})
                row.update(iprec_values(t) if curve else {})
                rows.append(row)
        rows.append(summary)
    return rows, columns


def extra_judgments_line(record: ExtraRecord) -> str:
    """What a score made with private judgments says first: which files, by content; the same
    for --extra-qrels and for the file 'qrels merge' wrote, in score, tables, compare and plot."""
    files = ", ".join(f"{path} (sha256 {sha256})" for path, sha256 in record.files)
    return (f"scored with extra judgments: {record.base} plus stratum {record.stratum} "
            f"from {files}; not comparable with NIST's numbers unless these are shared")
