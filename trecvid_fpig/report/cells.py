"""One table cell at a time: a model's xinfAP for one TRECVID year, or its R@K for one setting.

Before computing, :func:`run_needs` / :func:`recall_needs` say what the user still has to supply
(the footnote of a "–" cell). Computed values go through the content-keyed cache.
"""
from __future__ import annotations

import json
import math
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Dict, List, Optional, Tuple

from ..base.files import file_sha256, read_text
from ..errors import InputError
from ..evaluate.coverage import LOW_DEPTH, LOW_POOLED
from ..evaluate.score import score_run
from ..formats.qrels import ExtraRecord, Qrels, merged_record, parse_qrels
from ..formats.topics import REGISTRY, resolve_qrels
from .cache import ResultCache, cache_key, code_digest
from .manifest import RecallEntry, RunEntry

RECALL_METRICS = ("R@1", "R@5", "R@10", "MdR", "MnR")
DIRECTIONS = ("t2v", "v2t")


@dataclass(frozen=True)
class YearScore:
    """A run's xinfAP on one year: the mean sample_eval prints, and each topic's value; and its
    pool coverage: pooled@100 and infAP_condensed, per topic and their means."""
    infAP: float
    topics: Dict[str, float]
    pooled: Dict[str, float]
    condensed: Dict[str, float]
    pooled_mean: float
    infAP_condensed: float
    #: where the qrels' extra judgments came from, when the run was scored with some
    extra: Optional[ExtraRecord] = None

    @property
    def low_coverage(self) -> bool:
        """True when the pool holds so little of the run that its infAP reads low."""
        return self.pooled_mean < LOW_POOLED


def _shown(path: Path, base: Path) -> str:
    """The path as the manifest writes it, and where that resolved to (relative paths are
    relative to the manifest's folder, which is not always where the user expects)."""
    return f"{os.path.relpath(path, base)} (looked for {path.resolve()})"


def run_needs(entry: Optional[RunEntry], year: str, base: Path) -> Tuple[str, ...]:
    """What must be supplied before `year` can be scored (empty when everything is there).

    Texts name no model, so that one footnote can cover every model with the same gap.
    """
    qrels = year if entry is None else entry.qrels
    info = REGISTRY.get(qrels)
    nist_qrels = info is not None and info.qrels is None
    name = year.upper()
    if entry is None and nist_qrels:
        return (f"supply a {name} run ({year} = \"RUN\" under [model.trecvid]) and its qrels: "
                f"fpig-trecvid qrels fetch {year}, or qrels = \"PATH/avs.qrels.{year}\" in the run's "
                f"entry",)
    if entry is None:
        return (f"supply a {name} run: {year} = \"RUN\" under [model.trecvid]",)
    needs = []
    if not entry.run.is_file():
        needs.append(f"run file {_shown(entry.run, base)} not found")
    if nist_qrels:
        needs.append(f"fetch the {info.name.upper()} qrels (fpig-trecvid qrels fetch {info.name}), or "
                     f"add qrels = \"PATH/avs.qrels.{info.name}\" to {year} under [model.trecvid]")
    elif info is None and not Path(qrels).is_file():
        needs.append(f"qrels file {_shown(Path(qrels), base)} not found")
    return tuple(needs)


def recall_needs(entry: Optional[RecallEntry], setting: str, base: Path) -> Tuple[str, ...]:
    """What must be supplied before `setting`'s R@K can be read or computed."""
    if entry is None:
        return (f"supply {setting} R@K: {setting} = \"RESULT.json\" (fpig-trecvid recall --format "
                f"json) or {setting} = {{ sims = \"MATRIX.npy\", captions_per_video = N }} under "
                f"[model.recall]",)
    files = [("R@K result", entry.result), ("similarity matrix", entry.sims),
             ("ground truth", dict(entry.options).get("gt"))]
    return tuple(f"{what} {_shown(Path(p), base)} not found" for what, p in files
                 if p is not None and not Path(p).is_file())


def _xinfap_code() -> str:
    """The code a cached xinfAP depends on: the run and qrels readers and the scorer."""
    from ..base import fields, files
    from ..evaluate import coverage, score, xinfap
    from ..formats import avs_xml, qrels, runs
    return code_digest((xinfap, coverage, score, qrels, runs, avs_xml, fields, files))


_YEAR_MEANS = ("infAP", "pooled_mean", "infAP_condensed")
_YEAR_TOPICS = ("topics", "pooled", "condensed")


def _year_score(values: Dict[str, Any], extra: Optional[ExtraRecord]) -> YearScore:
    """A YearScore from its cached (or fresh) values, each topic's in numeric topic order."""
    topics = {k: dict(sorted(values[k].items(), key=lambda t: int(t[0]))) for k in _YEAR_TOPICS}
    return YearScore(values["infAP"], topics["topics"], topics["pooled"], topics["condensed"],
                     values["pooled_mean"], values["infAP_condensed"], extra)


def _recall_numbers(data: Any, path: Path) -> Dict[str, Dict[str, float]]:
    """``{"t2v": {"R@1": …}, "v2t": {…}}`` from a recall result, checked."""
    if not isinstance(data, dict) or not any(d in data for d in DIRECTIONS):
        raise InputError("not an R@K result: expected a JSON object with \"t2v\" and/or \"v2t\" "
                         "(as fpig-trecvid recall writes)", path)
    out: Dict[str, Dict[str, float]] = {}
    for direction in DIRECTIONS:
        if direction not in data:
            continue
        values = data[direction]
        if not isinstance(values, dict):
            raise InputError(f"\"{direction}\" must be an object of metrics", path)
        out[direction] = {}
        for metric in RECALL_METRICS:
            value = values.get(metric)
            if value is None:
                continue
            if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
                raise InputError(f"{direction} {metric} must be a finite number, got {value!r}", path)
            out[direction][metric] = float(value)
    return out


class CellEvaluator:
    """Computes cells, each input file parsed at most once per call and every result cached."""

    def __init__(self, cache: ResultCache):
        self.cache = cache
        self._qrels: Dict[str, Qrels] = {}
        self._extra: Dict[str, Optional[ExtraRecord]] = {}

    def _extra_record(self, qrels_path: Path) -> Optional[ExtraRecord]:
        """The extra judgments a qrels file holds ('qrels merge' sidecar), read once a file.
        Not cached with the numbers: the cache keys on the qrels' content, and whether that
        content is marked depends on the sidecar beside it now."""
        if str(qrels_path) not in self._extra:
            self._extra[str(qrels_path)] = merged_record(qrels_path)
        return self._extra[str(qrels_path)]

    def year_score(self, entry: RunEntry) -> YearScore:
        """The run (TREC or NIST XML) scored as ``score`` scores it; cached by content (the
        run's and the qrels' sha256, so a merged qrels never reads its base's numbers)."""
        qrels_path = resolve_qrels(entry.qrels)
        qrels_digest = file_sha256(qrels_path)
        extra = self._extra_record(qrels_path)
        key = cache_key("xinfap", file_sha256(entry.run), qrels_digest, _xinfap_code())
        hit = self.cache.get("xinfap", key)
        if hit is not None and all(isinstance(hit.get(k), float) for k in _YEAR_MEANS) \
                and all(isinstance(hit.get(k), dict) for k in _YEAR_TOPICS):
            return _year_score(hit, extra)
        if qrels_digest not in self._qrels:     # the record is read above: parse it alone here
            self._qrels[qrels_digest] = parse_qrels(qrels_path)
        # The one scorer `score` uses, so a NIST XML run scores here as it does there.
        scored = score_run(self._qrels[qrels_digest], entry.run, coverage=True)
        result, pool = scored.result, scored.coverage
        depth = pool.depths.index(LOW_DEPTH)
        values = {"infAP": result.infAP, "topics": {t.topic: t.infAP for t in result.topics},
                  "pooled": {t.topic: t.pooled[depth] for t in pool.topics},
                  "condensed": {t.topic: t.infAP_condensed for t in pool.topics},
                  "pooled_mean": pool.pooled[depth], "infAP_condensed": pool.infAP_condensed}
        self.cache.put("xinfap", key, dict(values, run=str(entry.run), qrels=str(qrels_path)))
        return _year_score(values, extra)

    def recall_shape(self, entry: RecallEntry) -> Tuple[Optional[List[int]], Optional[int]]:
        """([captions, videos], captions a video or None when it varies) of what the R@K were
        computed on: a result's ``meta``, or the matrix and its options (no second read)."""
        if entry.result is not None:
            data = json.loads(read_text(entry.result, "R@K result JSON"))
            meta = data.get("meta") if isinstance(data, dict) else None
            meta = meta if isinstance(meta, dict) else {}
            gt = meta.get("ground_truth") if isinstance(meta.get("ground_truth"), dict) else {}
            per_video = gt.get("captions_per_video")
            if per_video is None and gt.get("captions_per_video_min") == gt.get("captions_per_video_max"):
                per_video = gt.get("captions_per_video_min")
            shape = meta.get("shape")
            return (list(shape) if isinstance(shape, list) else None), per_video
        assert entry.sims is not None
        from ..evaluate import recall as recall_module
        options = dict(entry.options)
        shape = list(recall_module.load_sims(entry.sims).shape)
        per_video = options.get("captions_per_video")
        if per_video is None and "gt" in options:
            import numpy as np

            counts = np.bincount(recall_module.read_ground_truth(options["gt"]).caption_video)
            per_video = int(counts[0]) if (counts == counts[0]).all() else None
        return shape, per_video

    def recall(self, entry: RecallEntry) -> Dict[str, Dict[str, float]]:
        """R@K in percent per direction, from a result JSON or computed from a similarity matrix."""
        if entry.result is not None:
            try:
                data = json.loads(read_text(entry.result, "R@K result JSON"))
            except ValueError as exc:
                raise InputError(f"not valid JSON: {exc}", entry.result) from None
            return _recall_numbers(data, entry.result)
        assert entry.sims is not None
        from ..evaluate import recall as recall_module
        options = dict(entry.options)
        parts = [file_sha256(entry.sims), json.dumps(options, sort_keys=True),
                 code_digest((recall_module,))]
        if "gt" in options:
            parts.append(file_sha256(options["gt"]))
        key = cache_key("recall", *parts)
        hit = self.cache.get("recall", key)
        if hit is not None and all(isinstance(hit.get(d), dict) for d in DIRECTIONS):
            return _recall_numbers(hit, entry.sims)
        # the cache key already holds the file's sha256: no second hash of the matrix
        result = recall_module.recall_from_files(sims=entry.sims, fingerprint=False, **options)
        numbers = {d: result[d] for d in DIRECTIONS}
        self.cache.put("recall", key, dict(numbers, sims=str(entry.sims)))
        return _recall_numbers(numbers, entry.sims)
