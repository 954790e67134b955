"""``fpig-trecvid demo``: the whole pipeline on a synthetic V3C1, offline, in seconds.

It builds a workspace: a tiny randomly initialised text tower saved as an F-Pig checkpoint
(Hugging Face CLIP layout), and a synthetic collection of V3C1-style shot ids that contains
every shot of NIST's TV21 pool plus unjudged distractors. Every shot gets a random unit vector;
a shot judged relevant to a topic is moved towards that topic's encoded vector (its own
strength per topic, plus noise), so the run finds some relevant shots and misses others. The
collection goes through ``features convert`` from a BigFile, then ``run`` ranks it for TV21
and the shipped TV21 qrels score it: the same code paths as a real evaluation. The numbers
measure nothing but the planting.
"""
from __future__ import annotations

import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Dict, Iterable, List, Optional, Sequence, Tuple

import numpy as np

from .evaluate.score import load_qrels, score_rows, score_runs
from .pipeline import RunRequest, make_run
from .qrels import Qrels
from .search.store import convert_features
from .topics import load_topics

#: V3C1 holds 7475 videos; distractor ids are drawn from the same id space.
V3C1_VIDEOS = 7475
DEMO_SET = "tv21"
RUN_ID = "demo"
SYNTHETIC_NOTE = ("The collection is SYNTHETIC: random shot vectors, with the TV21 shots NIST "
                  "judged relevant (and unjudged pooled shots at their stratum's judged rate) "
                  "planted near their topic's vector. These scores measure the planting, not "
                  "any model.")


@dataclass(frozen=True)
class DemoResult:
    workdir: Path
    run_file: Path
    shots: int
    per_topic: Tuple[List[dict], List[str]]
    summary: Tuple[List[dict], List[str]]


def shot_ids(pool: Iterable[str], distractors: int, seed: int) -> List[str]:
    """The pool's shots plus `distractors` other V3C1-style ids, in (video, shot) order."""
    rng = np.random.default_rng(seed)
    entries = []
    for shot in pool:
        video, number = shot[4:].split("_")
        entries.append((int(video), int(number), shot))
    taken = {(v, n) for v, n, _ in entries}
    added = 0
    while added < distractors:
        for v, n in zip(rng.integers(1, V3C1_VIDEOS + 1, size=distractors).tolist(),
                        rng.integers(1, 400, size=distractors).tolist()):
            if (v, n) not in taken and added < distractors:
                taken.add((v, n))
                entries.append((v, n, f"shot{v:05d}_{n}"))
                added += 1
    entries.sort()
    return [shot for _, _, shot in entries]


def planted_features(ids: Sequence[str], qrels: Qrels, topic_vectors: Dict[str, np.ndarray],
                     seed: int) -> np.ndarray:
    """Random unit rows; each relevant shot pulled towards its topic's vector."""
    rng = np.random.default_rng(seed)
    dim = len(next(iter(topic_vectors.values())))
    features = rng.standard_normal((len(ids), dim)).astype(np.float32)
    features /= np.linalg.norm(features, axis=1, keepdims=True)
    row_of = {shot: row for row, shot in enumerate(ids)}
    for topic, tj in qrels.topics.items():
        strength = rng.uniform(0.15, 0.7)          # easy and hard topics
        # NIST judged a random sample of each stratum; pooled shots left unjudged are relevant
        # at the rate the sample shows, or the estimator's assumption (and infAP <= 1) breaks.
        rate = np.array([r / n if n else 0.0 for r, n in zip(tj.relevant, tj.judged)])
        unjudged = tj.grade < 0
        draw = rng.random(len(tj.grade)) < rate[tj.stratum]
        planted = (tj.grade > 0) | (unjudged & draw)
        relevant = [row_of[shot] for shot, r in tj.rows.items() if planted[r]]
        pull = strength * rng.uniform(0.5, 1.5, size=(len(relevant), 1)).astype(np.float32)
        features[relevant] += pull * topic_vectors[topic]
    return features


def write_bigfile(directory: Path, ids: Sequence[str], features: np.ndarray) -> Path:
    """The BigFile layout (feature.bin, id.txt, shape.txt) that w2vv++-style tools write."""
    directory.mkdir(parents=True, exist_ok=True)
    np.ascontiguousarray(features, dtype=np.float32).tofile(directory / "feature.bin")
    (directory / "id.txt").write_text(" ".join(ids), encoding="utf-8")
    (directory / "shape.txt").write_text(f"{len(ids)} {features.shape[1]}", encoding="utf-8")
    return directory


def run_demo(workdir: Optional[Path] = None, distractors: int = 100_000, seed: int = 0,
             progress: bool = False) -> DemoResult:
    """Build the workspace in `workdir` (a temporary one, removed, when None), run and score."""
    from .encode.synthetic import save_random_checkpoint
    from .encode.text_encoder import load_text_encoder

    keep = workdir is not None
    work = Path(workdir) if keep else Path(tempfile.mkdtemp(prefix="fpig-demo-"))
    try:
        work.mkdir(parents=True, exist_ok=True)
        checkpoint = save_random_checkpoint(work / "model_best.pt", "hf-clip", width=64,
                                            layers=2, embed_dim=64, seed=seed)
        topics = load_topics(DEMO_SET)
        encoder = load_text_encoder(checkpoint, device="cpu")
        vectors = encoder.encode(topics.texts)
        qrels = load_qrels(DEMO_SET)
        pool = {s for tj in qrels.topics.values() for s in tj.rows}
        ids = shot_ids(pool, distractors, seed)
        by_topic = dict(zip(topics.qrels_ids, vectors))
        bigfile = write_bigfile(work / "v3c1-synthetic.bigfile", ids,
                                planted_features(ids, qrels, by_topic, seed))
        store = work / "v3c1-synthetic.fpig"
        convert_features(bigfile, store, overwrite=True, progress=progress)
        shutil.rmtree(bigfile)
        outputs = make_run(RunRequest(run_id=RUN_ID, features=str(store), topics=(DEMO_SET,),
                                      checkpoint=str(checkpoint), out_dir=str(work / "runs"),
                                      exclude=("v3c1-dropped",), xml=True, device="cpu",
                                      progress=progress))
        run_file = outputs[0].run_file
        scored = score_runs(qrels, [run_file])
        return DemoResult(work, run_file, len(ids), score_rows(scored, True, RUN_ID),
                          score_rows(scored, False, RUN_ID))
    finally:
        if not keep:
            shutil.rmtree(work, ignore_errors=True)
