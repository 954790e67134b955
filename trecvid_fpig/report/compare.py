"""Per-topic infAP of several runs side by side, and paired significance tests for each pair.

Each pair of runs is compared on the topics both were scored on; with a manifest, each year is
tested on its own and the topics of all years pooled (topic ids differ between years), which
gives the tests more topics than one year alone.
"""
from __future__ import annotations

import json
import math
from dataclasses import dataclass
from itertools import combinations
from pathlib import Path
from typing import Any, Dict, List, Optional, Sequence, Tuple

from ..errors import InputError
from ..evaluate.score import extra_judgments_line
from ..formats.qrels import ExtraRecord
from .cells import CellEvaluator, YearScore, run_needs
from .formats import render
from .manifest import Manifest, RunEntry
from .stats import (bootstrap_ci, check_settings, effect_size, is_exact, holm, paired_t_test, randomization_test,
                    wins_ties_losses)

#: What a scope that pools every year's topics is called in the pairs table.
POOLED = "pooled"
#: Smallest p printed as a number; smaller ones print as "< 0.0001" (not a misleading 0.0000).
P_FLOOR = 1e-4


@dataclass(frozen=True)
class TopicScores:
    """infAP per (year, topic) for each labelled run, on every topic any run has (NaN where a
    run has no score)."""
    labels: Tuple[str, ...]
    topics: Tuple[Tuple[str, str], ...]            # (year, topic id); year "" without a manifest
    values: Tuple[Tuple[float, ...], ...]          # values[run][topic]
    notes: Tuple[str, ...]                         # topics or years left out, and why
    pooled: Tuple[Tuple[float, ...], ...] = ()     # pooled@100, as `values`
    condensed: Tuple[Tuple[float, ...], ...] = ()  # infAP_condensed, as `values`
    extra: Tuple[ExtraRecord, ...] = ()            # extra judgments any run was scored with

    @property
    def extra_lines(self) -> Tuple[str, ...]:
        """What ``score`` prints for qrels with extra judgments, once for each record."""
        return tuple(extra_judgments_line(record) for record in self.extra)


@dataclass(frozen=True)
class PairTest:
    scope: str                      # a year, POOLED, or "" for the runs of one qrels
    topics: int
    a: str
    b: str
    mean_a: float
    mean_b: float
    ci_low: float                   # paired bootstrap interval of mean(a - b)
    ci_high: float
    effect: Optional[float]         # mean / sd of the differences; None when sd is 0
    wins: int
    ties: int
    losses: int
    p_random: float
    p_t: float
    p_random_holm: float
    p_t_holm: float
    pooled_a: float                 # mean pooled@100 of each run over the pair's topics
    pooled_b: float
    condensed_a: float              # mean infAP_condensed, the same way
    condensed_b: float


def _mean(values: Sequence[float]) -> float:
    total = 0.0
    for v in values:
        total += v
    return total / len(values)


def _align(labels: Sequence[str], per_run: Sequence[Dict[Tuple[str, str], YearScore]],
           notes: List[str]) -> TopicScores:
    """Every topic any run has; a run's gaps are NaN, and the note names the run that lacks them.
    `per_run` holds each run's year score by (year, topic)."""
    topics = tuple(sorted(set().union(*per_run), key=lambda t: (t[0], int(t[1]))))
    for label, scores in zip(labels, per_run):
        gaps = [t for y, t in topics if (y, t) not in scores]
        if gaps:
            notes.append(f"{label}: no score for {len(gaps)} topic(s): " + ", ".join(gaps))

    def aligned(field: str) -> Tuple[Tuple[float, ...], ...]:
        return tuple(tuple(getattr(s[t], field)[t[1]] if t in s else math.nan for t in topics)
                     for s in per_run)
    records = [s.extra for scores in per_run for s in scores.values() if s.extra is not None]
    return TopicScores(tuple(labels), topics, aligned("topics"), tuple(notes), aligned("pooled"),
                       aligned("condensed"), tuple(dict.fromkeys(records)))


def _unique_labels(paths: Sequence[str]) -> List[str]:
    names = [Path(p).name for p in paths]
    return names if len(set(names)) == len(names) else list(paths)


def _labels(given: Sequence[str], default: Sequence[str], what: str) -> List[str]:
    """The user's labels (one per run or model), else the default names; each named once."""
    if given and len(given) != len(default):
        raise InputError(f"give one label per {what}: {len(given)} for {len(default)} {what}(s)")
    names = list(given) if given else list(default)
    twice = sorted({n for n in names if names.count(n) > 1})
    if twice:
        raise InputError(f"{what} {twice[0]!r} given twice: give each {what} once, under its own name")
    return names


def scores_from_runs(qrels: str, run_paths: Sequence[str], evaluator: CellEvaluator,
                     min_runs: int = 2, labels: Sequence[str] = ()) -> TopicScores:
    """Each run file scored against one qrels (a shipped name or a path), on every topic any run
    has (NaN where a run has none). `labels` name the runs (default: their file names) in the scores and in the notes."""
    if len(run_paths) < min_runs:
        raise InputError(f"give at least {min_runs} run file(s)")
    names = _labels(labels, _unique_labels(run_paths), "run")
    per_run = []
    for path in run_paths:
        score = evaluator.year_score(RunEntry("", Path(path), qrels))
        per_run.append({("", t): score for t in score.topics})
    return _align(names, per_run, [])


def scores_from_manifest(manifest: Manifest, models: Sequence[str], years: Sequence[str],
                         evaluator: CellEvaluator, min_runs: int = 2,
                         labels: Sequence[str] = ()) -> TopicScores:
    """The manifest's models (default all) over the years (default every year all of them have);
    `labels` rename the models in the scores and in the per-topic notes."""
    chosen = [manifest.model(m) for m in models] if models else list(manifest.models)
    if len(chosen) < min_runs:
        raise InputError(f"give at least {min_runs} model(s) with runs", manifest.path)
    names = _labels(labels, [m.name for m in chosen], "model")
    base = manifest.path.resolve().parent
    candidates = list(years) or sorted({y for m in chosen for y in m.trecvid})
    notes: List[str] = []
    usable = []
    for year in candidates:
        gaps = [f"{m.name}: {need}" for m in chosen for need in run_needs(m.trecvid.get(year), year, base)]
        if gaps and years:
            raise InputError(f"cannot compare on {year.upper()}: " + "; ".join(gaps), manifest.path)
        if gaps:
            notes.append(f"{year.upper()} left out: " + "; ".join(gaps))
        else:
            usable.append(year)
    if not usable:
        raise InputError("no TRECVID year has a scorable run for every model compared", manifest.path)
    per_run: List[Dict[Tuple[str, str], YearScore]] = []
    for m in chosen:
        scores: Dict[Tuple[str, str], YearScore] = {}
        for year in usable:
            score: YearScore = evaluator.year_score(m.trecvid[year])
            scores.update({(year, t): score for t in score.topics})
        per_run.append(scores)
    return _align(names, per_run, notes)


def scopes(scores: TopicScores) -> List[Tuple[str, List[int]]]:
    """(scope, topic indices): each year on its own, then all pooled; one scope without years."""
    years = sorted({y for y, _ in scores.topics})
    if len(years) == 1:
        return [(years[0], list(range(len(scores.topics))))]
    return [(y, [k for k, (ty, _) in enumerate(scores.topics) if ty == y]) for y in years] + [
        (POOLED, list(range(len(scores.topics))))]


def _shared(scores: TopicScores, i: int, j: int, index: Sequence[int]) -> List[int]:
    """The topics of `index` that runs i and j both have a score for."""
    both = [k for k in index if not (math.isnan(scores.values[i][k]) or math.isnan(scores.values[j][k]))]
    if not both:
        raise InputError(f"{scores.labels[i]} and {scores.labels[j]} share no scored topic")
    return both


def _pair_tests_on(scores: TopicScores, scope: str, index: Sequence[int], permutations: int,
                   seed: int, resamples: int) -> List[PairTest]:
    pairs = list(combinations(range(len(scores.labels)), 2))
    shared = [_shared(scores, i, j, index) for i, j in pairs]
    vectors = [([scores.values[i][k] for k in both], [scores.values[j][k] for k in both])
               for (i, j), both in zip(pairs, shared)]
    raw = [(randomization_test(a, b, permutations, seed), paired_t_test(a, b)) for a, b in vectors]
    p_random_holm = holm([r for r, _ in raw])
    p_t_holm = holm([t for _, t in raw])
    tests = []
    for (i, j), both, (a, b), (r, t), rh, th in zip(pairs, shared, vectors, raw, p_random_holm,
                                                   p_t_holm):
        low, high = bootstrap_ci(a, b, resamples, seed)
        wtl = wins_ties_losses(a, b)
        pool = [_mean([getattr(scores, f)[run][k] for k in both])
                for f in ("pooled", "condensed") for run in (i, j)]
        tests.append(PairTest(scope, len(a), scores.labels[i], scores.labels[j], _mean(a),
                              _mean(b), low, high, effect_size(a, b), wtl.wins, wtl.ties,
                              wtl.losses, r, t, rh, th, *pool))
    return tests


def pair_tests(scores: TopicScores, permutations: int = 10_000, seed: int = 0,
               resamples: int = 10_000) -> List[PairTest]:
    """Every pair of runs in input order, per year and pooled (see :func:`scopes`), each on the
    topics both runs have; Holm's correction is over the pairs of one scope, for each test."""
    check_settings(permutations, resamples, seed)
    return [test for scope, index in scopes(scores)
            for test in _pair_tests_on(scores, scope, index, permutations, seed, resamples)]


def significance_mark(test: PairTest, alpha: float) -> str:
    """"‡" when the Holm-corrected randomization test gives p < alpha / 5, "†" when p < alpha."""
    if test.p_random_holm < alpha / 5:
        return "‡"
    return "†" if test.p_random_holm < alpha else ""


def topic_ranges(topics: Sequence[str]) -> str:
    """"1701-1705, 1708" for numeric ids; consecutive ids collapse to a range."""
    numbers = sorted(int(t) for t in topics)
    parts: List[str] = []
    start = prev = numbers[0]
    for n in numbers[1:] + [None]:
        if n is not None and n == prev + 1:
            prev = n
            continue
        parts.append(str(start) if start == prev else f"{start}-{prev}")
        if n is not None:
            start = prev = n
    return ", ".join(parts)


def year_notes(scores: TopicScores) -> Tuple[str, ...]:
    """Which topics each year contributed, when there are years."""
    years = sorted({y for y, _ in scores.topics if y})
    notes = []
    for year in years:
        ids = [t for y, t in scores.topics if y == year]
        notes.append(f"{year.upper()}: {len(ids)} topics ({topic_ranges(ids)})")
    return tuple(notes)


def topic_rows(scores: TopicScores) -> Tuple[List[Dict[str, Any]], List[str]]:
    """One row per topic (None where a run has no score) and the mean of each run over its topics."""
    with_year = any(y for y, _ in scores.topics)
    columns = (["year"] if with_year else []) + ["topic"] + list(scores.labels)
    rows = []
    for k, (year, topic) in enumerate(scores.topics):
        row: Dict[str, Any] = {"year": year, "topic": topic}
        row.update({label: None if math.isnan(scores.values[r][k]) else scores.values[r][k]
                    for r, label in enumerate(scores.labels)})
        rows.append(row)
    mean_row: Dict[str, Any] = {"year": "", "topic": "mean"}
    mean_row.update({label: _mean([v for v in scores.values[r] if not math.isnan(v)])
                     for r, label in enumerate(scores.labels)})
    rows.append(mean_row)
    return rows, columns


PAIR_COLUMNS = ["scope", "topics", "run A", "run B", "mean A", "mean B", "diff", "CI low",
                "CI high", "effect", "W/T/L", "p random", "p random (Holm)", "p t-test",
                "p t-test (Holm)", "sig"]
_P_COLUMNS = ("p random", "p random (Holm)", "p t-test", "p t-test (Holm)")
#: What ``--coverage`` adds after a pair's statistics: both runs' pool coverage on its topics.
COVERAGE_COLUMNS = ["pooled@100 A", "pooled@100 B", "infAP_condensed A", "infAP_condensed B"]


def p_text(p: float, decimals: int = 4) -> str:
    """A p-value for reading: 4 decimals, or "< 0.0001" below that."""
    return f"< {P_FLOOR:.{decimals}f}" if p < P_FLOOR else f"{p:.{decimals}f}"


def pair_rows(tests: Sequence[PairTest], alpha: float, readable: bool = False,
              coverage: bool = False) -> List[Dict[str, Any]]:
    """One row per pair; `readable` turns p-values into text (see :func:`p_text`); `coverage`
    adds the COVERAGE_COLUMNS."""
    rows = []
    for t in tests:
        row: Dict[str, Any] = {
            "scope": t.scope, "topics": t.topics, "run A": t.a, "run B": t.b, "mean A": t.mean_a,
            "mean B": t.mean_b, "diff": t.mean_a - t.mean_b, "CI low": t.ci_low,
            "CI high": t.ci_high, "effect": t.effect, "W/T/L": f"{t.wins}/{t.ties}/{t.losses}",
            "p random": t.p_random, "p random (Holm)": t.p_random_holm, "p t-test": t.p_t,
            "p t-test (Holm)": t.p_t_holm, "sig": significance_mark(t, alpha)}
        if coverage:
            row.update(zip(COVERAGE_COLUMNS, (t.pooled_a, t.pooled_b, t.condensed_a, t.condensed_b)))
        if readable:
            row.update({c: p_text(row[c]) for c in _P_COLUMNS})
        rows.append(row)
    return rows


def _randomization_how(tests: Sequence[PairTest], permutations: int, seed: int) -> str:
    """How the p-values were found: every sign flip enumerated, drawn at random, or which for which pairs."""
    exact = sorted({t.topics for t in tests if is_exact(t.topics, permutations)})
    drawn = f"{permutations} random sign flips, seed {seed}"
    if not exact:
        return drawn
    if len(exact) == len({t.topics for t in tests}):
        return "exact, all " + " or ".join(f"2^{n}" for n in exact) + " sign flips"
    return f"exact, all 2^n sign flips, for pairs on n <= {exact[-1]} topics; {drawn}, for more"


def _legend(tests: Sequence[PairTest], permutations: int, seed: int, resamples: int,
            alpha: float) -> str:
    how = _randomization_how(tests, permutations, seed)
    n_pairs = len({(t.a, t.b) for t in tests})
    return (f"sig: † p < {alpha:g}, ‡ p < {alpha / 5:g}, paired randomization test ({how}), "
            f"Holm-corrected over the {n_pairs} pair(s) of runs of each scope; CI: paired bootstrap "
            f"95% percentile interval of diff ({resamples} resamples, seed {seed}); effect: "
            "mean / sd of the per-topic differences; W/T/L: topics where A is above / equal to / "
            "below B")


def render_comparison(scores: TopicScores, tests: Sequence[PairTest], fmt: str, alpha: float,
                      permutations: int, seed: int, resamples: int = 10_000,
                      meta: Optional[Dict[str, Any]] = None, per_topic: bool = True,
                      decimals: int = 4, coverage: bool = False) -> Tuple[str, Tuple[str, ...]]:
    """(text, notes for stderr): the per-topic table (optional) and the pairs table in `fmt`;
    `coverage` adds both runs' pool coverage after each pair's statistics.

    CSV keeps the legend and notes out of the data (they go to stderr); every other format
    carries them.
    """
    t_rows, t_columns = topic_rows(scores)
    p_rows = pair_rows(tests, alpha, readable=fmt not in ("csv", "json"), coverage=coverage)
    legend = _legend(tests, permutations, seed, resamples, alpha)
    if coverage:
        legend += ("; pooled@100: the share of each run's top 100 in NIST's pool (under 0.5, "
                   "infAP reads low), infAP_condensed: infAP without the unpooled shots, both "
                   "means over the pair's topics")
    all_notes = scores.notes + year_notes(scores)
    pair_columns = PAIR_COLUMNS + (COVERAGE_COLUMNS if coverage else [])
    if fmt == "json":
        payload: Dict[str, Any] = {"pairs": [{c: r[c] for c in pair_columns} for r in p_rows]}
        if per_topic:
            payload["topics"] = [{c: r.get(c) for c in t_columns} for r in t_rows]
        payload["meta"] = dict(meta or {}, alpha=alpha, permutations=permutations, seed=seed,
                               bootstrap=resamples, legend=legend, notes=list(all_notes))
        if scores.extra:        # as score's JSON meta
            payload["meta"]["extra_qrels"] = [f for record in scores.extra for f in record.listed()]
        return json.dumps(payload, indent=2) + "\n", ()
    topic_part = render(t_rows, t_columns, fmt, decimals, missing="–", exact_csv=True) if per_topic else ""
    columns = pair_columns if any(t.scope for t in tests) else pair_columns[1:]
    pair_part = render(p_rows, columns, fmt, decimals, missing="–", exact_csv=True)
    notes = (legend,) + all_notes
    if fmt == "csv":        # the data stays data: the extra-judgments line goes to stderr first
        return (topic_part + ("\n" if per_topic else "") + pair_part,
                tuple(f"note: {line}" for line in scores.extra_lines) + notes)
    # the header says first, as score's does, that the numbers use private judgments
    if fmt == "markdown":
        head = "".join(f"{line}\n\n" for line in scores.extra_lines)
        head += f"**Per-topic infAP**\n\n{topic_part}\n" if per_topic else ""
        return f"{head}**Paired tests**\n\n{pair_part}\n" + "".join(f"- {n}\n" for n in notes), ()
    if fmt == "latex":
        head = "".join(f"% {line}\n" for line in scores.extra_lines)
        return head + topic_part + pair_part + "".join(f"% {n}\n" for n in notes), ()
    head = "".join(f"{line}\n" for line in scores.extra_lines)
    return (head + (topic_part + "\n" if per_topic else "") + pair_part
            + "".join(f"{n}\n" for n in notes)), ()
