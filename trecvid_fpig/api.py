"""The Python API: the CLI's verbs as functions on paths or in-memory objects, returning
DataFrames, dicts and :class:`~trecvid_fpig.formats.runs.Run` objects. It calls the same library
functions as the CLI, so a notebook and ``fpig-trecvid`` give the same numbers."""
from __future__ import annotations

import numbers
from pathlib import Path
from typing import Mapping, Optional, Sequence, Union

import numpy as np

from .base import arguments
from .errors import InputError
from .formats.feature_files import float32_cast
from .formats.qrels import Qrels, load_qrels
from .formats.runs import Run, check_tag, run_from_dict

PathLike = Union[str, Path]
RunsLike = Union[PathLike, Run, Sequence[Union[PathLike, Run]]]

#: Per-topic columns of :func:`score`, before any extra `measures`.
SCORE_COLUMNS = ("infAP", "infNDCG", "iP10", "iP100", "iP1000", "inum_rel", "inum_rel_ret", "num_ret")


RUN_ACCEPTS = "a run file's path, a Run, a {topic: {shot: score}} dict or a DataFrame"


def _one_run(value) -> bool:
    return isinstance(value, (str, Path, Run, Mapping)) or hasattr(value, "columns")


def _tag(tag) -> str:
    """A run tag as runs write it: one word."""
    check_tag(arguments.text(tag, "tag"))
    return tag


def read_run(run: Union[PathLike, Run, Mapping], tag: str = "run") -> Run:
    """A TREC run or AVS XML file (``-`` for standard input), a ``{topic: {shot: score}}`` dict,
    a DataFrame (topic, shot, score), or a Run."""
    return _read_run(run, _tag(tag), "run")


def _read_run(run, tag: str, name: str) -> Run:
    if isinstance(run, Run):
        return run
    if isinstance(run, Mapping):
        return Run.from_dict(run, tag)
    if hasattr(run, "columns"):
        return Run.from_dataframe(run, tag)
    return Run.from_file(arguments.path(run, name, RUN_ACCEPTS))


def _as_runs(runs: RunsLike) -> list:
    """One run or a list of them (a string is one path, never its characters)."""
    listed = arguments.items(runs, "runs", RUN_ACCEPTS + ", or a list of them", _one_run)
    return [_read_run(r, "run", f"runs[{i}]") for i, r in enumerate(listed)]


def _names(values, name: str) -> list:
    """A list of strings; one string is a list of one."""
    listed = arguments.items(values, name, "a string or a list of strings",
                             lambda v: isinstance(v, str))
    return [arguments.text(v, f"{name}[{i}]") for i, v in enumerate(listed)]


def _label(run: Run) -> str:
    return run.path if not run.path.startswith("<") else run.name


def score(runs: RunsLike, qrels: Union[PathLike, Qrels], per_topic: bool = False,
          measures: Sequence[str] = (), strict: bool = False, coverage: bool = False):
    """xinfAP and friends as a DataFrame: one row per run, or per (run, topic) with `per_topic`.

    `strict` scores a run as a submission (missing topics count 0); its violations are listed in
    the ``violations`` column. `measures` adds trec_eval measures on the judged shots (AP, P@10, …).
    `coverage` adds the pool coverage columns of ``score --coverage`` (pooled@10 …
    infAP_condensed), after the counts. Qrels holding extra judgments (``load_qrels(extra=…)``,
    or a file ``qrels merge`` wrote, beside its sidecar) put each file's path and sha256 in
    ``frame.attrs["extra_qrels"]``, as ``score --format json`` does in ``meta``.
    """
    import pandas as pd

    from .evaluate.coverage import coverage_columns
    from .evaluate.score import IPREC_COLUMNS, iprec_values, score_runs, trec_label

    judged = load_qrels(qrels)
    per_topic, strict = arguments.flag(per_topic, "per_topic"), arguments.flag(strict, "strict")
    coverage = arguments.flag(coverage, "coverage")
    scored = score_runs(judged, _as_runs(runs), strict=strict, measures=tuple(_names(measures, "measures")),
                        coverage=coverage)
    pool = coverage_columns() if coverage else []
    extra = [trec_label(m) for m in (scored[0].trec_means if scored else {})]
    rows = []
    for s in scored:
        name = _label(s.run)
        if per_topic:
            for t, pool_t in zip(s.result.topics, s.coverage.topics):
                row = {"run": name, "topic": t.topic, **{c: getattr(t, c) for c in SCORE_COLUMNS},
                       **(s.coverage.values(pool_t) if coverage else {}), **iprec_values(t)}
                values = s.trec_per_topic.get(t.topic, {})
                row.update({trec_label(m): values.get(m) for m in s.trec_means})
                rows.append(row)
        else:
            row = {"run": name, **{c: getattr(s.result, c) for c in SCORE_COLUMNS},
                   **(s.coverage.values() if coverage else {}), **iprec_values(s.result),
                   "topics": len(s.result.topics)}
            row.update({trec_label(m): v for m, v in s.trec_means.items()})
            if strict:
                row["violations"] = list(s.violations)
            rows.append(row)
    columns = ["run"] + (["topic"] if per_topic else []) + list(SCORE_COLUMNS) + pool + list(IPREC_COLUMNS) \
        + ([] if per_topic else ["topics"]) + extra + (["violations"] if strict and not per_topic else [])
    frame = pd.DataFrame(rows, columns=columns)
    if judged.extra_record:       # as score's JSON meta: numbers made with private judgments
        frame.attrs["extra_qrels"] = judged.extra_record.listed()
    return frame


def recall(sims=None, text_features=None, video_features=None, captions_per_video: Optional[int] = None,
           gt: Optional[PathLike] = None, dsl: bool = False, dsl_temperature: float = 100.0,
           ks: Sequence[int] = (1, 5, 10), nan_as_lowest: bool = False) -> dict:
    """``fpig-trecvid recall --format json`` as a dict. `sims` (and the features) may be paths
    or arrays; with arrays, `captions_per_video` gives the ground truth."""
    from .evaluate.recall import (check_recall_inputs, cosine_matrix, recall_from_files,
                                  recall_metrics)

    for name, value in (("sims", sims), ("text_features", text_features),
                        ("video_features", video_features)):
        if value is not None and not isinstance(value, np.ndarray):
            arguments.path(value, name, "a path or a numpy array")
    if gt is not None:
        arguments.path(gt, "gt")
    if captions_per_video is not None:
        captions_per_video = arguments.integer(captions_per_video, "captions_per_video", minimum=1)
    dsl, nan_as_lowest = arguments.flag(dsl, "dsl"), arguments.flag(nan_as_lowest, "nan_as_lowest")
    dsl_temperature = arguments.number(dsl_temperature, "dsl_temperature", above=0)
    ks = [arguments.integer(k, f"ks[{i}]", minimum=1) for i, k in enumerate(
        arguments.items(ks, "ks", "a positive integer or a list of them",
                        lambda v: isinstance(v, numbers.Integral)))]
    arrays = [a for a in (sims, text_features, video_features) if isinstance(a, np.ndarray)]
    if not arrays:
        return recall_from_files(sims=sims, text_features=text_features, video_features=video_features,
                                 gt=gt, captions_per_video=captions_per_video, dsl=dsl,
                                 dsl_temperature=dsl_temperature, ks=ks, nan_as_lowest=nan_as_lowest)
    check_recall_inputs(sims, text_features, video_features, gt, captions_per_video)
    if gt is not None:
        raise InputError("with arrays, give captions_per_video (a gt file goes with paths)")
    if sims is None:
        text = _feature_array(text_features, "text_features")
        video = _feature_array(video_features, "video_features")
        if text.shape[1] != video.shape[1]:
            raise InputError(f"{text.shape[1]}-dimensional text_features but "
                             f"{video.shape[1]}-dimensional video_features")
        sims = cosine_matrix(text, video)
    return recall_metrics(np.asarray(sims), captions_per_video=captions_per_video, dsl=dsl,
                          dsl_temperature=dsl_temperature, ks=ks, nan_as_lowest=nan_as_lowest)


def _feature_array(value, name: str) -> np.ndarray:
    """Features given as an array, checked as recall checks them in a file: a 2-D float matrix
    whose rows can be normalised (a zero, NaN or 0-dimensional row would rank by NaN or 0s)."""
    from .base.vectors import unit_row_norms
    from .formats.feature_files import check_matrix

    if not isinstance(value, np.ndarray):
        raise arguments.refusal(name, "a numpy array, as the other features are", value)
    matrix = check_matrix(np.asarray(value), None, f"{name}")
    unit_row_norms(matrix, lambda row: f"{row} (0-based)", f"{name} row", None)
    return matrix


def search(queries: Mapping[str, Sequence[float]], store: PathLike, k: int = 1000,
           tag: str = "run") -> Run:
    """Rank the shots of `store` (any feature format ``run`` reads) for each ``{topic: vector}``
    by cosine, the top `k` a topic, as ``fpig-trecvid run`` ranks them."""
    from .formats.store import read_features
    from .search.topk import search as top_k

    k, tag = arguments.integer(k, "k", minimum=1), _tag(tag)
    topic_ids = _topic_ids(queries, "queries")
    features = read_features(arguments.path(store, "store"))
    hits = top_k(features, _query_matrix(queries, topic_ids, features.dim, "queries"), k=k)
    return _hits_run(topic_ids, hits, tag, str(store))


def fused_search(models: Sequence[Sequence], k: int = 1000, tag: str = "fused") -> Run:
    """Similarity-level fusion, as ``fpig-trecvid run --model`` does it (LAFF, TtimesV): the top
    `k` shots a topic by the weighted sum of several models' cosines, over every shot before any
    cut. `models` holds ``(queries, store)`` or ``(queries, store, weight)`` per model: its
    ``{topic: vector}`` (the same topics for every model), its shot features (the same shots in
    the same order for every model) and its weight (default 1)."""
    from .formats.store import read_features
    from .search.fused import ScoredModel
    from .search.fused import fused_search as top_k_fused

    one_model = "(queries, store) or (queries, store, weight)"
    models = arguments.items(models, "models", f"a list of {one_model}")
    k, tag = arguments.integer(k, "k", minimum=1), _tag(tag)
    if not models:
        raise InputError(f"give at least one model: {one_model}")
    scored, topic_ids = [], None
    for number, model in enumerate(models, 1):
        name = f"models[{number - 1}]"
        if not isinstance(model, (tuple, list)) or len(model) not in (2, 3):
            raise arguments.refusal(name, one_model, model)
        queries, store = model[0], model[1]
        weight = arguments.number(model[2], f"model {number}: the weight", above=0) \
            if len(model) == 3 else 1.0
        ids = _topic_ids(queries, f"{name} queries")
        if topic_ids is None:
            topic_ids = ids
        elif sorted(ids) != sorted(topic_ids):
            raise InputError(f"model {number}: its queries are for other topics than model 1's")
        features = read_features(arguments.path(store, f"{name} store"))
        scored.append(ScoredModel(features, _query_matrix(queries, topic_ids, features.dim,
                                                          f"{name} queries"), weight))
    hits = top_k_fused(scored, k=k) if topic_ids else []     # no queries: an empty run, as search
    return _hits_run(topic_ids, hits, tag, " + ".join(str(m[1]) for m in models))


def _topic_ids(queries, name: str) -> list:
    """The topics of ``{topic: vector}`` as run files write them (``1661``; ints allowed)."""
    from .base.ids import run_topic_key

    arguments.mapping(queries, name, "a {topic: vector} mapping")
    ids = [run_topic_key(t, f"<{name}>") for t in queries]
    if len(set(ids)) != len(ids):
        raise InputError(f"{name}: a topic given twice (as 1661 and '1661'?)")
    return ids


def _query_matrix(queries: Mapping, topic_ids: Sequence[str], dim: int, name: str) -> np.ndarray:
    """``{topic: vector}`` as L2-normalised float32 rows in `topic_ids`' order (keys may be ints
    or strings), normalised as ``run`` normalises topic features; each must be a vector of
    real numbers of the store's dimension."""
    from .formats.query_features import unit_topic_rows

    by_id = {str(t): v for t, v in queries.items()}
    rows = []
    for topic in topic_ids:
        row = _query_vector(by_id[topic], f"{name}[{topic!r}]")
        if row.shape != (dim,):
            raise InputError(f"topic {topic}: a query of shape {row.shape}, but the store's "
                             f"shot features have {dim} dimensions")
        rows.append(row)
    return unit_topic_rows(np.stack(rows), topic_ids) if rows else np.zeros((0, dim), np.float32)


def _query_vector(value, name: str) -> np.ndarray:
    """A query as float32, refused where the cast would change it silently: a complex vector
    (its imaginary part dropped), strings ('0.5' parsed), or a value past float32's range (inf,
    then blamed as 'NaN or infinite')."""
    try:
        row = np.asarray(value)
        if row.dtype.kind == "O":           # ints past int64, Decimals: numbers still
            row = row.astype(np.float64)
    except (TypeError, ValueError, OverflowError):
        row = None
    if row is None or row.dtype.kind not in "iuf":
        raise arguments.refusal(name, "a vector of numbers", value)
    cast, beyond = float32_cast(row)
    if beyond.any():
        raise InputError(f"{name} has a value beyond float32's range, the queries' type: scale "
                         f"the vector down")
    return cast


def _hits_run(topic_ids: Sequence[str], hits, tag: str, source: str) -> Run:
    return run_from_dict({t: dict(zip(h.ids, h.scores.tolist())) for t, h in zip(topic_ids, hits)},
                         tag, source)


def topics(name: PathLike):
    """A shipped topic set (``tv19`` … ``tv23``, ``progress.v3c1`` …) or a topic file, as a
    DataFrame: topic (NIST's number), qrels_id (the id runs use), text."""
    import pandas as pd

    from .formats.topics import load_topics

    topic_set = load_topics(arguments.path(name, "name", "a shipped topic set (tv21) or a "
                                                        "topic file's path"))
    return pd.DataFrame({"topic": list(topic_set.ids), "qrels_id": list(topic_set.qrels_ids),
                         "text": list(topic_set.texts)})


def fuse(runs: RunsLike, method: str = "rrf", norm: Optional[str] = None,
         weights: Optional[Sequence[float]] = None, rrf_k: float = 60, depth: int = 1000,
         tag: str = "fused") -> Run:
    """Fuse runs (paths or Runs): ``rrf``, ``combsum``, ``combmnz`` or ``weighted``; see docs/fusion.md."""
    from .fusion import MAX_RRF_K, MAX_WEIGHT, METHODS, NORMS
    from .fusion import fuse as fuse_runs

    method = arguments.text(method, "method", METHODS)
    norm = None if norm is None else arguments.text(norm, "norm", NORMS)
    if weights is not None:
        weights = [arguments.number(w, f"weights[{i}]", minimum=0, maximum=MAX_WEIGHT) for i, w in
                   enumerate(arguments.items(weights, "weights", "a list of numbers"))]
    rrf_k = arguments.number(rrf_k, "rrf_k", minimum=0, maximum=MAX_RRF_K)
    depth = arguments.integer(depth, "depth", minimum=1)
    return fuse_runs(_as_runs(runs), method, norm, weights, rrf_k, depth, tag=_tag(tag))


def compare(runs: Sequence[PathLike] = (), qrels: Optional[PathLike] = None,
            manifest: Optional[PathLike] = None, models: Sequence[str] = (),
            years: Sequence[str] = (), permutations: int = 10_000, bootstrap: int = 10_000,
            seed: int = 0, alpha: float = 0.05):
    """``fpig-trecvid compare`` as a DataFrame: one row per pair of runs (and per year and
    pooled with a `manifest`), with the bootstrap CI of the mean difference, the effect size,
    wins/ties/losses, both tests and their Holm corrections, and the significance mark.

    Either `qrels` with two or more run files, or a `manifest` (its `models` and `years`).
    """
    import pandas as pd

    from .report.cache import ResultCache
    from .report.cells import CellEvaluator
    from .report.compare import pair_rows, pair_tests, scores_from_manifest, scores_from_runs
    from .report.manifest import load_manifest
    from .report.stats import MAX_PERMUTATIONS, MAX_RESAMPLES, MAX_SEED

    if (qrels is None) == (manifest is None):
        raise InputError("give either qrels with two or more runs, or a manifest")
    run_paths = [str(arguments.path(r, f"runs[{i}]", "a run file's path (write a Run with "
                                                      "run.to_trec(path) first)"))
                 for i, r in enumerate(arguments.items(runs, "runs", "a list of run files' paths",
                                                       lambda v: isinstance(v, (str, Path))))]
    models, years = _names(models, "models"), _names(years, "years")
    permutations = arguments.integer(permutations, "permutations", minimum=1, maximum=MAX_PERMUTATIONS)
    bootstrap = arguments.integer(bootstrap, "bootstrap", minimum=1, maximum=MAX_RESAMPLES)
    seed = arguments.integer(seed, "seed", minimum=0, maximum=MAX_SEED)
    alpha = arguments.number(alpha, "alpha", above=0, below=1)
    if manifest is not None:
        spec = load_manifest(arguments.path(manifest, "manifest"))
        scores = scores_from_manifest(spec, models, years, CellEvaluator(ResultCache(None)))
    else:
        scores = scores_from_runs(str(arguments.path(qrels, "qrels", "a shipped qrels name (tv21) "
                                                                     "or a qrels file's path")),
                                  run_paths, CellEvaluator(ResultCache(None)))
    tests = pair_tests(scores, permutations, seed, bootstrap)
    frame = pd.DataFrame(pair_rows(tests, alpha))
    if scores.extra:            # as score's: numbers made with private judgments say so
        frame.attrs["extra_qrels"] = [f for record in scores.extra for f in record.listed()]
    return frame


def browse(runs: RunsLike, qrels: PathLike, out: PathLike, topics: Optional[PathLike] = None,
           keyframes: Optional[PathLike] = None, videos: Optional[PathLike] = None,
           boundaries: Optional[PathLike] = None, shot_table: Optional[PathLike] = None,
           labels: Optional[Sequence[str]] = None, depth: int = 100, thumb_size: int = 160,
           workers: Optional[int] = None, extra_qrels: Sequence[PathLike] = ()):
    """``fpig-trecvid browse``: write the static site `out` showing one to four runs side by
    side (docs/browse.md); the pictures come from `keyframes`, `videos` with `boundaries`, or a
    `shot_table`; `extra_qrels`, extra-judgment files, are shown as judged by you. Returns a
    ``BrowseResult`` (``.index`` is the page to open)."""
    from .browse.build import BrowseRequest, build_site

    def optional_path(value, name):
        return None if value is None else str(arguments.path(value, name))

    extra = arguments.items(extra_qrels, "extra_qrels", "a list of extra-judgment files",
                            lambda v: isinstance(v, (str, Path)))
    return build_site(BrowseRequest(
        runs=tuple(_as_runs(runs)), qrels=str(arguments.path(qrels, "qrels")),
        out=str(arguments.path(out, "out")), topics=optional_path(topics, "topics"),
        keyframes=optional_path(keyframes, "keyframes"), videos=optional_path(videos, "videos"),
        boundaries=optional_path(boundaries, "boundaries"),
        shot_table=optional_path(shot_table, "shot_table"),
        labels=None if labels is None else tuple(_names(labels, "labels")),
        depth=arguments.integer(depth, "depth", minimum=1),
        thumb_size=arguments.integer(thumb_size, "thumb_size", minimum=1),
        workers=None if workers is None else arguments.integer(workers, "workers", minimum=0),
        extra_qrels=tuple(optional_path(e, f"extra_qrels[{i}]") for i, e in enumerate(extra))))
