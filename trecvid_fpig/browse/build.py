"""Building a browse site: every input is read and checked first; then, under the output lock, the
whole site is written into a staging directory that replaces DIR in one rename. The thumbnails
already in ``DIR/thumbs/`` are linked into the stage first, so the cache survives a rebuild and a
failed build leaves DIR as it was.
"""
from __future__ import annotations

import json
import os
import shutil
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Dict, List, Optional, Sequence, Tuple
from urllib.parse import quote

from .._version import __version__
from ..base.files import file_sha256
from ..base.locks import output_lock
from ..base.outputs import atomic_directory
from ..base.workers import usable_cores
from ..errors import InputError, InputWarning
from ..evaluate.score import ScoredRun, score_runs
from ..extract import shots as shot_lists
from ..extract.job import input_kind
from ..extract.shots import Shot, natural_key
from ..formats.qrels import MAX_RESULT_SIZE, Qrels, load_qrels
from ..formats.topics import REGISTRY, load_topics
from .pages import render_pages
from .site import LEGEND, MAX_RUNS, POOLED_DEPTH, index_rows, judged_by_you, topic_pages
from .thumbs import Thumb, make_thumbs

#: The file that makes a directory a browse site: only such a directory (or an empty one) is
#: replaced, never a folder of the user's that --out named by mistake.
SITE_FILE = "site.json"
MIN_THUMB_SIZE, MAX_THUMB_SIZE = 32, 1024
#: Default labels longer than this fall back to A, B, C, D.
MAX_LABEL_CHARS = 24
STATIC = Path(__file__).parent / "static"


@dataclass(frozen=True)
class BrowseRequest:
    """What ``fpig-trecvid browse`` was asked; the shot source is one of ``keyframes``,
    ``videos`` with ``boundaries``, or ``shot_table`` (with ``videos`` where its paths are)."""
    runs: Tuple[str, ...]
    qrels: str
    out: str
    topics: Optional[str] = None
    keyframes: Optional[str] = None
    videos: Optional[str] = None
    boundaries: Optional[str] = None
    shot_table: Optional[str] = None
    labels: Optional[Tuple[str, ...]] = None
    depth: int = 100
    thumb_size: int = 160
    workers: Optional[int] = None
    extra_qrels: Tuple[str, ...] = ()


@dataclass(frozen=True)
class BrowseResult:
    index: Path
    topics: int
    runs: int
    thumbs: int                 # distinct shots shown with a picture
    made: int                   # of those, decoded by this build (the rest from the cache)
    without_picture: int        # distinct shots shown with a placeholder


def build_site(request: BrowseRequest) -> BrowseResult:
    """Check the request and its inputs, then write the site at ``request.out`` atomically."""
    _check_numbers(request)
    out = Path(request.out)
    _check_destination(out)
    kind = input_kind(request)
    # A 'qrels merge' output is taken apart as its sidecar records it: the pages show NIST's
    # judgments as NIST's and the merged ones as yours, as with --qrels BASE --extra-qrels FILE.
    merged = load_qrels(request.qrels, request.extra_qrels)  # checked: nothing written yet
    qrels = merged.without_extra()
    base = merged.extra_record.base if merged.extra_record else request.qrels
    scored = score_runs(qrels, list(request.runs))
    labels = run_labels(request.labels, scored)
    texts = topic_texts(request.topics, base)
    listed = {s.shot_id: s for s in list_source_shots(request, kind)}
    pages = topic_pages(qrels, scored, texts, request.depth)
    if request.topics is not None and not any(p["text"] for p in pages):
        warnings.warn(InputWarning(f"{request.topics}: none of its topics is one the site shows "
                                   f"({pages[0]['topic'] if pages else 'none'} …): the pages "
                                   f"show no topic text"), stacklevel=2)
    shown = sorted({e["shot"] for p in pages for r in p["runs"] for e in r["shots"] + r["missed"]},
                   key=natural_key)
    workers = usable_cores() if request.workers is None else request.workers
    site = _site_data(request, base, merged, scored, labels, kind)
    site["extra_qrels"] = merged.extra_record.listed() if merged.extra_record else []
    site["judged_by_you"] = judged_by_you(merged)
    with output_lock(out):
        with atomic_directory(out) as stage:
            _link_cache(out / "thumbs", stage / "thumbs")
            thumbs = make_thumbs([listed[s] for s in shown if s in listed], stage,
                                 request.thumb_size, workers)
            missing = [s for s in shown if thumbs.get(s) is None or thumbs[s].file is None]
            _write_site(stage, out, site, pages, thumbs, listed, set(missing))
    return BrowseResult(out / "index.html", len(pages), len(scored), len(shown) - len(missing),
                        sum(t.made for t in thumbs.values()), len(missing))


def _site_data(request: BrowseRequest, base: str, merged: Qrels, scored: Sequence[ScoredRun],
               labels: Sequence[str], kind: str) -> dict:
    """What every page reads (``data/site.js``): the settings, the classes, the runs' means.
    NIST's judgments come from `base` (as given, or as 'qrels merge' recorded it): the pages
    keep judgments made in them under its sha256, so a merged file and its base with
    --extra-qrels open the same ones."""
    record = merged.extra_record
    sha256 = record.base_sha256 if record else file_sha256(merged.path, "qrels file")
    return {
        "tool": "fpig-trecvid browse", "version": __version__, "qrels": merged.path,
        "qrels_name": base if base in REGISTRY else Path(base).name, "qrels_sha256": sha256,
        "depth": request.depth,
        "pooled_depth": POOLED_DEPTH, "source": kind, "videos": kind != "keyframes",
        "classes": [{"class": cls, "letter": letter, "name": name}
                    for cls, (letter, name, _) in LEGEND.items()],
        "runs": [{"label": label, "key": chr(ord("A") + i), "path": s.run.path, "tag": s.run.tag,
                  "infAP": s.result.infAP, "topics": len(s.result.topics),
                  "pooled": s.coverage.pooled[s.coverage.depths.index(POOLED_DEPTH)]}
                 for i, (label, s) in enumerate(zip(labels, scored))]}


def _check_numbers(request: BrowseRequest) -> None:
    if not 1 <= len(request.runs) <= MAX_RUNS:
        raise InputError(f"browse shows 1 to {MAX_RUNS} runs side by side, got "
                         f"{len(request.runs)}")
    if not 1 <= request.depth <= MAX_RESULT_SIZE:
        raise InputError(f"--depth must be 1 to {MAX_RESULT_SIZE}, got {request.depth}")
    if not MIN_THUMB_SIZE <= request.thumb_size <= MAX_THUMB_SIZE:
        raise InputError(f"--thumb-size must be {MIN_THUMB_SIZE} to {MAX_THUMB_SIZE} pixels, "
                         f"got {request.thumb_size}")
    if request.workers is not None and request.workers < 0:
        raise InputError(f"--workers must be 0 or more, got {request.workers}")


def _check_destination(out: Path) -> None:
    """DIR may be new, empty, or an earlier site; anything else is the user's and stays."""
    if not os.path.lexists(out):
        return
    if not out.is_dir():
        raise InputError("exists and is not a directory; choose another --out", out)
    if any(out.iterdir()) and not (out / SITE_FILE).is_file():
        raise InputError(f"exists and is not a browse site (no {SITE_FILE}); choose another "
                         f"--out, or empty it", out)
    foreign = next((p for p in sorted(out.rglob("*")) if not _written_by_browse(out, p)), None)
    if foreign is not None:
        raise InputError(f"holds {foreign.relative_to(out)}, which browse did not write and a "
                         f"rebuild would delete; move it out of --out", out)


#: Files an operating system's file browser leaves in any folder it shows.
FOLDER_METADATA = {".DS_Store", "Thumbs.db", "desktop.ini"}


def _written_by_browse(out: Path, path: Path) -> bool:
    """Whether a site build writes `path`: a rebuild replaces DIR whole, so anything else in
    it (judgments.txt saved beside the pages, a run file) would be lost."""
    parts = path.relative_to(out).parts
    if parts[-1] in FOLDER_METADATA:
        return True
    if len(parts) == 1:
        return parts[0] in ("index.html", SITE_FILE, "data", "static", "thumbs") or (
            parts[0].startswith("topic-") and parts[0].endswith(".html"))
    if parts[0] == "data":
        return len(parts) == 2 and parts[1].endswith(".js")
    if parts[0] == "thumbs":
        return len(parts) == 2 and path.is_dir() or len(parts) == 3 and parts[2].endswith(".jpg")
    return parts[0] == "static"


def run_labels(given: Optional[Sequence[str]], scored: Sequence[ScoredRun]) -> List[str]:
    """The names over the run columns: `given` (one per run, distinct), or else the runs' tags
    when they are distinct and short, or else A, B, C, D."""
    if given is not None:
        labels = [label.strip() for label in given]
        if len(labels) != len(scored):
            raise InputError(f"--labels gives {len(labels)} label(s) for {len(scored)} run(s): "
                             f"give one per run, in order, separated by commas")
        if not all(labels):
            raise InputError("--labels has an empty label")
        if len(set(labels)) != len(labels):
            raise InputError("--labels gives a label twice: each run needs its own")
        return labels
    tags = [s.run.name for s in scored]
    if len(set(tags)) == len(tags) and all(len(t) <= MAX_LABEL_CHARS for t in tags):
        return tags
    return [chr(ord("A") + i) for i in range(len(scored))]


def topic_texts(topics: Optional[str], qrels: str) -> Dict[str, str]:
    """Topic text by the id runs use (1661); shipped qrels bring their own topic set."""
    if topics is None:
        info = REGISTRY.get(str(qrels))
        if info is None:
            return {}
        topics = info.name
    topic_set = load_topics(topics)
    return dict(zip(topic_set.qrels_ids, topic_set.texts))


def list_source_shots(request: BrowseRequest, kind: str) -> List[Shot]:
    """Every shot of the keyframe tree, the videos' boundaries or the shot table."""
    if kind == "keyframes":
        return shot_lists.keyframe_shots(request.keyframes)
    if kind == "videos":
        return shot_lists.video_shots(request.videos, request.boundaries)
    return shot_lists.table_shots(request.shot_table, request.videos)


def _link_cache(old: Path, new: Path) -> None:
    """Hard links (copies where links fail) of the old site's thumbnails in the stage."""
    if not old.is_dir():
        return
    for folder in sorted(p for p in old.iterdir() if p.is_dir()):
        target = new / folder.name
        target.mkdir(parents=True, exist_ok=True)
        for thumb in folder.glob("*.jpg"):
            try:
                os.link(thumb, target / thumb.name)
            except OSError:
                shutil.copyfile(thumb, target / thumb.name)


def _script(name: str, data) -> str:
    """A data file the pages load with <script src>: browsers refuse fetch() on file://."""
    return f"window.{name} = {json.dumps(data, ensure_ascii=False, sort_keys=True)};\n"


def _write_site(stage: Path, out: Path, site: dict, pages: List[dict], thumbs: Dict[str, Thumb],
                listed: Dict[str, Shot], missing: set) -> None:
    root = out.resolve()
    rows = index_rows(pages)
    for row, page in zip(rows, pages):
        topic_shots = {e["shot"] for r in page["runs"] for e in r["shots"] + r["missed"]}
        page["thumbs"] = {s: thumbs[s].file if s not in missing else None
                          for s in sorted(topic_shots, key=natural_key)}
        page["clips"] = {s: [_video_url(listed[s].source, root), *thumbs[s].clip]
                         for s in page["thumbs"] if s not in missing and thumbs[s].clip}
        row["without_picture"] = len(topic_shots & missing)
    site["topics"] = rows
    site["without_picture"] = len(missing)
    (stage / "data").mkdir()
    (stage / "data" / "site.js").write_text(_script("FPIG_SITE", site), encoding="utf-8")
    for page in pages:
        (stage / "data" / f"topic-{page['topic']}.js").write_text(
            _script("FPIG_TOPIC", page), encoding="utf-8")
    shutil.copytree(STATIC, stage / "static")
    render_pages(stage, site)
    manifest = {k: site[k] for k in ("tool", "version", "qrels", "qrels_sha256", "depth",
                                     "source", "runs", "extra_qrels")}
    (stage / SITE_FILE).write_text(json.dumps(manifest, indent=2, sort_keys=True) + "\n",
                                   encoding="utf-8")


def _video_url(video: str, root: Path) -> str:
    """The video's path relative to the site, as a URL (spaces and # escaped)."""
    relative = os.path.relpath(Path(video).resolve(), root)
    return quote(relative.replace(os.sep, "/"))
