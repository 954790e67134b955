"""``fpig-trecvid demo``: the whole pipeline on a synthetic V3C1, offline, in seconds.

It builds a workspace: a tiny randomly initialised text tower saved as an F-Pig checkpoint
(Hugging Face CLIP layout), and a synthetic collection of V3C1-style shot ids that contains
every shot of NIST's TV21 pool plus unjudged distractors. Every shot gets a random unit vector;
a shot judged relevant to a topic is moved towards that topic's encoded vector (its own
strength per topic, plus noise), so the run finds some relevant shots and misses others. The
collection goes through ``features convert`` from a BigFile, then ``run`` ranks it for TV21
and the shipped TV21 qrels score it: the same code paths as a real evaluation. The numbers
measure nothing but the planting.

With ``video=True`` the demo also goes the video way, from pixels: a tiny V3C-style
collection (a few short H.264 videos holding TV21-judged shots, their master shot boundaries
and keyframes) goes through ``features extract`` with the checkpoint's own (random) video
tower, then ``run`` and the qrels, offline. Those scores measure nothing at all: the frames are
noise and the tower is random; the chain is what is shown.
"""
from __future__ import annotations

import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Dict, Iterable, List, Optional, Sequence, Tuple

import numpy as np

from ..base.vectors import unit_float32
from ..evaluate.coverage import RunCoverage
from ..evaluate.score import score_rows, score_runs
from ..formats.qrels import Qrels, load_qrels
from ..formats.store import convert_features
from ..formats.topics import load_topics
from ..run.request import RunRequest
from ..run.single import make_run

#: V3C1 holds 7475 videos; distractor ids are drawn from the same id space.
V3C1_VIDEOS = 7475
DEMO_SET = "tv21"
RUN_ID = "demo"
SYNTHETIC_NOTE = ("The collection is SYNTHETIC: random shot vectors, with the TV21 shots NIST "
                  "judged relevant (and unjudged pooled shots at their stratum's judged rate) "
                  "planted near their topic's vector. These scores measure the planting, not "
                  "any model.")


VIDEO_RUN_ID = "demo-video"
#: Why the demo's run is not all pooled: what its coverage line says first.
COVERAGE_NOTE = "the distractors are shots NIST never pooled; docs/pool-bias.md"
VIDEO_NOTE = ("The video side is a CHAIN CHECK: noise frames, a random video tower; its scores "
              "measure nothing.")
#: The video side's collection: this many V3C1 videos, shots 1..N each, 1-2 s at 25 fps.
DEMO_VIDEOS, DEMO_FPS = 3, 25
#: x264 on one thread with fixed settings, fed frames already in yuv420p by one swscale
#: thread: the encoder's own conversion from RGB varied from run to run, so two demos printed
#: different infAP from the same seed. Its macroblock-tree rate control varied too on these
#: 64x48 frames (x264 in PyAV 18's wheels: one generation in two to four gave other bytes from
#: the same pixels, and other frames once decoded), so it is off; GOPs and B-frames are as x264's
#: defaults make them.
X264_OPTIONS = {"threads": "1", "preset": "medium", "crf": "23", "g": "250",
                "x264-params": "mbtree=0"}


@dataclass(frozen=True)
class VideoDemo:
    store: Path
    run_file: Path
    shots: int
    summary: Tuple[List[dict], List[str]]


@dataclass(frozen=True)
class DemoResult:
    workdir: Path
    run_file: Path
    shots: int
    per_topic: Tuple[List[dict], List[str]]
    summary: Tuple[List[dict], List[str]]
    coverage: RunCoverage                   # of the run: the distractors are never pooled
    video: Optional[VideoDemo] = None
    site: Optional[Path] = None             # the browse site's index.html, in a kept workspace


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
    features = unit_float32(rng.standard_normal((len(ids), dim)).astype(np.float32),
                            divide_in="float32")
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


def demo_collection(root: Path, qrels: Qrels, seed: int) -> Tuple[Path, Path, Path, int]:
    """Videos ``root/videos/VVVVV/VVVVV.mp4``, boundaries ``root/msb/VVVVV.tsv`` and keyframes
    ``root/keyframes/VVVVV/shotVVVVV_N_RKF.png`` for the V3C1 videos with the most TV21-relevant
    shots among their first 12; returns the three folders and the shot count."""
    import av
    from PIL import Image

    rng = np.random.default_rng(seed)
    relevant: Dict[str, set] = {}
    for tj in qrels.topics.values():
        for shot, row in tj.rows.items():
            video, number = shot[4:].split("_")
            if tj.grade[row] > 0 and int(number) <= 12:
                relevant.setdefault(video, set()).add(int(number))
    videos = sorted(relevant, key=lambda v: (-len(relevant[v]), v))[:DEMO_VIDEOS]
    shots = 0
    for video in sorted(videos):
        lengths = rng.integers(DEMO_FPS, 2 * DEMO_FPS, size=max(relevant[video]))
        with av.open(str(_mkdir(root / "videos" / video) / f"{video}.mp4"), "w") as container:
            stream = container.add_stream("libx264", rate=DEMO_FPS, options=X264_OPTIONS)
            stream.width, stream.height, stream.pix_fmt = 64, 48, "yuv420p"
            stream.codec_context.thread_count = 1
            for number, length in enumerate(lengths.tolist(), start=1):
                base = rng.integers(0, 256, size=(48, 64, 3), dtype=np.uint8)
                _mkdir(root / "keyframes" / video)
                Image.fromarray(base).save(root / "keyframes" / video /
                                           f"shot{video}_{number}_RKF.png")
                for t in range(length):
                    frame = av.VideoFrame.from_ndarray(np.roll(base, t, axis=1), format="rgb24")
                    frame = frame.reformat(format="yuv420p", threads=1)
                    for packet in stream.encode(frame):
                        container.mux(packet)
            for packet in stream.encode():
                container.mux(packet)
        ends = np.cumsum(lengths) - 1
        rows = ["startframe\tstarttime\tendframe\tendtime"]
        rows += [f"{e - n + 1}\t{(e - n + 1) / DEMO_FPS:.2f}\t{e}\t{(e + 1) / DEMO_FPS:.2f}"
                 for n, e in zip(lengths.tolist(), ends.tolist())]
        (_mkdir(root / "msb") / f"{video}.tsv").write_text("\n".join(rows) + "\n",
                                                           encoding="utf-8")
        shots += len(lengths)
    return root / "videos", root / "msb", root / "keyframes", shots


def _mkdir(path: Path) -> Path:
    path.mkdir(parents=True, exist_ok=True)
    return path


def run_video_demo(work: Path, checkpoint: Path, qrels: Qrels, seed: int,
                   progress: bool) -> VideoDemo:
    """extract -> run -> score on the generated collection, with the checkpoint's video tower."""
    from ..extract.job import ExtractRequest, extract_features

    videos, boundaries, _, shots = demo_collection(work / "v3c1-mini", qrels, seed)
    store = work / "v3c1-mini.fpig"
    extract_features(ExtractRequest(checkpoint=str(checkpoint), out=str(store), videos=str(videos),
                                    boundaries=str(boundaries), device="cpu", workers=1,
                                    overwrite=True, progress=progress))
    outputs = make_run(RunRequest(run_id=VIDEO_RUN_ID, features=str(store), topics=(DEMO_SET,),
                                  checkpoint=str(checkpoint), out_dir=str(work / "runs"),
                                  device="cpu", progress=progress))
    scored = score_runs(qrels, [outputs[0].run_file])
    return VideoDemo(store, outputs[0].run_file, shots, score_rows(scored, False, VIDEO_RUN_ID))


def browse_demo(work: Path, run_file: Path, video: VideoDemo) -> Path:
    """``browse`` of the demo's two runs side by side, pictures from the generated videos."""
    from ..browse.build import BrowseRequest, build_site

    collection = work / "v3c1-mini"
    return build_site(BrowseRequest(
        runs=(str(run_file), str(video.run_file)), qrels=DEMO_SET, out=str(work / "browse"),
        videos=str(collection / "videos"), boundaries=str(collection / "msb"),
        labels=(RUN_ID, VIDEO_RUN_ID), workers=1)).index


def run_demo(workdir: Optional[Path] = None, distractors: int = 100_000, seed: int = 0,
             progress: bool = False, video: bool = False) -> DemoResult:
    """Build the workspace in `workdir` (a temporary one, removed, when None), run and score."""
    from ..encode.text_encoder import load_text_encoder
    from .checkpoints import save_random_checkpoint

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
        scored = score_runs(qrels, [run_file], coverage=True)
        video_side = run_video_demo(work, checkpoint, qrels, seed, progress) if video else None
        site = browse_demo(work, run_file, video_side) if keep and video_side else None
        return DemoResult(work, run_file, len(ids), score_rows(scored, True, RUN_ID),
                          score_rows(scored, False, RUN_ID), scored[0].coverage, video_side,
                          site)
    finally:
        if not keep:
            shutil.rmtree(work, ignore_errors=True)
