"""Per-topic infAP of several runs side by side, and paired significance tests for each pair.

Runs are compared on the topics every one of them was scored on; with a manifest, topics of
several TRECVID years are pooled (topic ids differ between years), which gives the tests more
topics than one year alone.
"""
from __future__ import annotations

import json
from dataclasses import dataclass
from itertools import combinations
from pathlib import Path
from typing import Any, Dict, List, Optional, Sequence, Tuple

from ..errors import InputError
from .cells import CellEvaluator, YearScore, run_needs
from .formats import render
from .manifest import Manifest, RunEntry
from .stats import holm, paired_t_test, randomization_test


@dataclass(frozen=True)
class TopicScores:
    """infAP per (year, topic) for each labelled run, on the topics all runs share."""
    labels: Tuple[str, ...]
    topics: Tuple[Tuple[str, str], ...]            # (year, topic id); year "" without a manifest
    values: Tuple[Tuple[float, ...], ...]          # values[run][topic]
    notes: Tuple[str, ...]                         # topics or years left out, and why


@dataclass(frozen=True)
class PairTest:
    a: str
    b: str
    mean_a: float
    mean_b: float
    p_random: float
    p_t: float
    p_random_holm: float
    p_t_holm: float


def _mean(values: Sequence[float]) -> float:
    total = 0.0
    for v in values:
        total += v
    return total / len(values)


def _align(labels: Sequence[str], per_run: Sequence[Dict[Tuple[str, str], float]],
           notes: List[str]) -> TopicScores:
    common = set(per_run[0]).intersection(*per_run[1:])
    for label, scores in zip(labels, per_run):
        extra = sorted(set(scores) - common, key=lambda t: (t[0], int(t[1])))
        if extra:
            notes.append(f"{label}: {len(extra)} topic(s) not scored for every run, left out: "
                         + ", ".join(t for _, t in extra))
    if not common:
        raise InputError("the runs share no scored topic: " + ", ".join(labels))
    topics = tuple(sorted(common, key=lambda t: (t[0], int(t[1]))))
    return TopicScores(tuple(labels), topics, tuple(tuple(s[t] for t in topics) for s in per_run),
                       tuple(notes))


def _unique_labels(paths: Sequence[str]) -> List[str]:
    names = [Path(p).name for p in paths]
    return names if len(set(names)) == len(names) else list(paths)


def scores_from_runs(qrels: str, run_paths: Sequence[str], evaluator: CellEvaluator,
                     min_runs: int = 2) -> TopicScores:
    """Each run file scored against one qrels (a shipped name or a path)."""
    if len(run_paths) < min_runs:
        raise InputError(f"give at least {min_runs} run file(s)")
    per_run = []
    for path in run_paths:
        score = evaluator.year_score(RunEntry("", Path(path), qrels))
        per_run.append({("", t): v for t, v in score.topics.items()})
    return _align(_unique_labels(run_paths), per_run, [])


def scores_from_manifest(manifest: Manifest, models: Sequence[str], years: Sequence[str],
                         evaluator: CellEvaluator, min_runs: int = 2) -> TopicScores:
    """The manifest's models (default all) over the years (default every year all of them have)."""
    chosen = [manifest.model(m) for m in models] if models else list(manifest.models)
    if len(chosen) < min_runs:
        raise InputError(f"give at least {min_runs} model(s) with runs", manifest.path)
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
    per_run: List[Dict[Tuple[str, str], float]] = []
    for m in chosen:
        scores: Dict[Tuple[str, str], float] = {}
        for year in usable:
            score: YearScore = evaluator.year_score(m.trecvid[year])
            scores.update({(year, t): v for t, v in score.topics.items()})
        per_run.append(scores)
    return _align([m.name for m in chosen], per_run, notes)


def pair_tests(scores: TopicScores, permutations: int = 10_000, seed: int = 0) -> List[PairTest]:
    """Every pair of runs, in input order, with Holm's correction over the pairs for each test."""
    pairs = list(combinations(range(len(scores.labels)), 2))
    raw = []
    for i, j in pairs:
        a, b = scores.values[i], scores.values[j]
        raw.append((randomization_test(a, b, permutations, seed), paired_t_test(a, b)))
    p_random_holm = holm([r for r, _ in raw])
    p_t_holm = holm([t for _, t in raw])
    return [PairTest(scores.labels[i], scores.labels[j], _mean(scores.values[i]),
                     _mean(scores.values[j]), r, t, rh, th)
            for (i, j), (r, t), rh, th in zip(pairs, raw, p_random_holm, p_t_holm)]


def significance_mark(test: PairTest, alpha: float) -> str:
    """"*" when the randomization test rejects, "†" when the t-test does (both Holm-corrected)."""
    return ("*" if test.p_random_holm < alpha else "") + ("†" if test.p_t_holm < alpha else "")


def topic_rows(scores: TopicScores) -> Tuple[List[Dict[str, Any]], List[str]]:
    with_year = any(y for y, _ in scores.topics)
    columns = (["year"] if with_year else []) + ["topic"] + list(scores.labels)
    rows = []
    for k, (year, topic) in enumerate(scores.topics):
        row: Dict[str, Any] = {"year": year, "topic": topic}
        row.update({label: scores.values[r][k] for r, label in enumerate(scores.labels)})
        rows.append(row)
    mean_row: Dict[str, Any] = {"year": "", "topic": "mean"}
    mean_row.update({label: _mean(scores.values[r]) for r, label in enumerate(scores.labels)})
    rows.append(mean_row)
    return rows, columns


PAIR_COLUMNS = ["run A", "run B", "mean A", "mean B", "diff", "p random", "p random (Holm)",
                "p t-test", "p t-test (Holm)", "sig"]


def pair_rows(tests: Sequence[PairTest], alpha: float) -> List[Dict[str, Any]]:
    return [{"run A": t.a, "run B": t.b, "mean A": t.mean_a, "mean B": t.mean_b,
             "diff": t.mean_a - t.mean_b, "p random": t.p_random, "p random (Holm)": t.p_random_holm,
             "p t-test": t.p_t, "p t-test (Holm)": t.p_t_holm, "sig": significance_mark(t, alpha)}
            for t in tests]


def _legend(n_topics: int, n_pairs: int, permutations: int, seed: int, alpha: float) -> str:
    if 2 ** n_topics <= permutations:
        how = f"exact, all 2^{n_topics} sign flips"
    else:
        how = f"{permutations} random sign flips, seed {seed}"
    return (f"sig: * paired randomization test ({how}), † paired t-test; Holm-corrected p < {alpha} "
            f"over {n_pairs} pair(s) of runs, {n_topics} topics")


def render_comparison(scores: TopicScores, tests: Sequence[PairTest], fmt: str, alpha: float,
                      permutations: int, seed: int, meta: Optional[Dict[str, Any]] = None,
                      per_topic: bool = True, decimals: int = 4) -> Tuple[str, Tuple[str, ...]]:
    """(text, notes for stderr): the per-topic table (optional) and the pairs table in `fmt`.

    CSV keeps the legend and notes out of the data (they go to stderr); every other format
    carries them.
    """
    t_rows, t_columns = topic_rows(scores)
    p_rows = pair_rows(tests, alpha)
    legend = _legend(len(scores.topics), len(tests), permutations, seed, alpha)
    if fmt == "json":
        payload: Dict[str, Any] = {"pairs": [{c: r[c] for c in PAIR_COLUMNS} for r in p_rows]}
        if per_topic:
            payload["topics"] = [{c: r.get(c) for c in t_columns} for r in t_rows]
        payload["meta"] = dict(meta or {}, alpha=alpha, permutations=permutations, seed=seed,
                               legend=legend, notes=list(scores.notes))
        return json.dumps(payload, indent=2) + "\n", ()
    topic_part = render(t_rows, t_columns, fmt, decimals) if per_topic else ""
    pair_part = render(p_rows, PAIR_COLUMNS, fmt, decimals)
    notes = (legend,) + scores.notes
    if fmt == "csv":
        return topic_part + ("\n" if per_topic else "") + pair_part, notes
    if fmt == "markdown":
        head = f"**Per-topic infAP**\n\n{topic_part}\n" if per_topic else ""
        return f"{head}**Paired tests**\n\n{pair_part}\n" + "".join(f"- {n}\n" for n in notes), ()
    if fmt == "latex":
        return topic_part + pair_part + "".join(f"% {n}\n" for n in notes), ()
    return (topic_part + "\n" if per_topic else "") + pair_part + "".join(f"{n}\n" for n in notes), ()
