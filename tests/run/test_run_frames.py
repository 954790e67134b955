"""`run --frame-pool max` and `run --frame-weight W` against a plain numpy reference: float64
cosines of every frame, max per shot, NIST's order (rounded score, then shot id, descending)."""
import json

import numpy as np
import pytest
from support.cli import invoke
from support.extraction import FakeVideoEncoder, keyframe_collection

from trecvid_fpig.errors import InputError
from trecvid_fpig.extract import job
from trecvid_fpig.formats.runs import parse_run
from trecvid_fpig.formats.store import convert_features, read_features
from trecvid_fpig.search.frames import FrameScoring, frame_search, read_frames

D = 8


def reference(shots, frames, counts, ids, query, weight, k, excluded=()):
    """Each shot's score from its own frames, in float64, then the evaluator's order."""
    q = query.astype(np.float64)
    frame_cos = frames.astype(np.float64) @ q
    bounds = np.concatenate(([0], np.cumsum(counts)))
    scores = []
    for i in range(len(ids)):
        best = frame_cos[bounds[i]:bounds[i + 1]].max()
        scores.append(best if weight is None else shots[i].astype(np.float64) @ q + weight * best)
    keep = [i for i in range(len(ids)) if ids[i] not in excluded]
    keep.sort(key=lambda i: (float(f"{scores[i]:.6f}"), ids[i]), reverse=True)
    return [ids[i] for i in keep[:k]], np.array([scores[i] for i in keep[:k]])


def unit(rng, n):
    rows = rng.standard_normal((n, D))
    return (rows / np.linalg.norm(rows, axis=1, keepdims=True)).astype(np.float32)


def hand_built_store(tmp_path, shots=60, seed=0, dtype="float32"):
    """A store converted from a .npy, then given frames.npy and frame_offsets.npy by hand;
    some frames repeat in other shots so that scores tie exactly."""
    rng = np.random.default_rng(seed)
    ids = [f"shot{1 + i // 7:05d}_{i % 7 + 1}" for i in range(shots)]
    matrix = unit(rng, shots)
    np.save(tmp_path / "shots.npy", matrix)
    (tmp_path / "shots.ids.txt").write_text("\n".join(ids) + "\n")
    store = tmp_path / "shots.fpig"
    convert_features(tmp_path / "shots.npy", store, dtype=dtype)
    counts = rng.integers(1, 6, size=shots)
    frames = unit(rng, int(counts.sum())).astype(dtype)
    offsets = np.concatenate(([0], np.cumsum(counts)))
    frames[offsets[5]] = frames[offsets[20]]           # shots 5 and 20 can tie on that frame
    np.save(store / "frames.npy", frames)
    np.save(store / "frame_offsets.npy", offsets.astype(np.int64))
    manifest = json.loads((store / "manifest.json").read_text())
    manifest["frames"] = {"file": "frames.npy", "offsets": "frame_offsets.npy", "sha256": "x"}
    (store / "manifest.json").write_text(json.dumps(manifest))
    stored = read_features(store)
    return store, np.asarray(stored.matrix), frames, counts, ids


@pytest.mark.parametrize("weight", [None, 0.5, 2.0])
@pytest.mark.parametrize("dtype", ["float32", "float16"])
def test_frame_search_matches_reference_whatever_the_block_size(tmp_path, weight, dtype):
    store, shots, frames, counts, ids = hand_built_store(tmp_path, dtype=dtype)
    features = read_features(store)
    rng = np.random.default_rng(1)
    queries = unit(rng, 5)
    shared = frames[np.cumsum(counts)[4]].astype(np.float32)          # in shots 5 and 20
    queries[1] = shared / np.linalg.norm(shared)
    excluded = [3, 17]
    scoring = FrameScoring("max", weight)
    results = [frame_search(features, read_frames(features), queries, scoring, k=k,
                            exclude_rows=np.array(excluded), block_rows=b)
               for k in (7, 40) for b in (1, 4, 13, 10000)]
    for i, k in enumerate((7, 40)):
        first = results[4 * i]
        for other in results[4 * i + 1:4 * i + 4]:
            for a, b in zip(first, other):
                assert a.ids == b.ids and a.scores.tobytes() == b.scores.tobytes()
        for t, hits in enumerate(first):
            expected_ids, expected_scores = reference(shots, frames, counts, ids, queries[t],
                                                      weight, k, {ids[r] for r in excluded})
            assert list(hits.ids) == expected_ids
            np.testing.assert_allclose(hits.scores, expected_scores, rtol=0, atol=1e-12)
    if weight is None:          # both shots hold the query's frame: tied, id descending
        tied = results[0][1].ids[:2]
        assert sorted(tied, reverse=True) == list(tied) and {ids[5], ids[20]} == set(tied)


def test_run_cli_writes_the_reference_ranking_and_records_the_pooling(tmp_path):
    store, shots, frames, counts, ids = hand_built_store(tmp_path)
    queries = unit(np.random.default_rng(2), 3)
    topics = tmp_path / "t.txt"
    topics.write_text("1 a dog\n2 a cat\n3 a bird\n")
    np.save(tmp_path / "q.npy", queries)
    base = ("run", "--query-features", tmp_path / "q.npy", "--features", store, "--topics",
            topics, "--out-dir", tmp_path / "runs", "--top", 10, "--quiet")
    for run_id, extra, weight in (("max", ("--frame-pool", "max"), None),
                                  ("rerank", ("--frame-weight", "0.5"), 0.5)):
        invoke(*base, "--run-id", run_id, *extra)
        run = parse_run(tmp_path / "runs" / run_id / "t.txt")
        for t, topic in enumerate(run.topics.values()):
            q = queries[t] / np.linalg.norm(queries[t])
            expected_ids, expected_scores = reference(shots, frames, counts, ids, q, weight, 10)
            assert list(topic.shots) == expected_ids
            np.testing.assert_allclose(topic.scores, expected_scores, atol=1.5e-6)
        search = json.loads((tmp_path / "runs" / run_id / "t.json").read_text())["search"]
        assert search["frames"]["pool"] == "max" and search["frames"]["weight"] == weight
        assert search["frames"]["frame_rows"] == len(frames)
        assert "frame_f" in search["score"]
    plain = json.loads((tmp_path / "runs" / "max" / "t.json").read_text())
    assert plain["search"]["score"] == "max_f cos(q, frame_f)"


def test_store_extracted_with_keep_frames(tmp_path, monkeypatch):
    encoder = FakeVideoEncoder()
    monkeypatch.setattr(job, "open_encoder", lambda checkpoint, device, plugin, tower_config=None: encoder)
    counts = {"shot00001_1": 3, "shot00001_2": 1, "shot00001_3": 5, "shot00002_1": 2,
              "shot00002_2": 4}
    root = keyframe_collection(tmp_path / "kf", counts)
    out = tmp_path / "kf.fpig"
    invoke("features", "extract", "--checkpoint", "x.pt", "--keyframes", root, "--workers", "1",
           "--quiet", "--keep-frames", out)
    features = read_features(out)
    frames = np.load(out / "frames.npy")
    per_shot = np.diff(np.load(out / "frame_offsets.npy"))
    queries = frames[[0, 6, 9]]                       # a frame of three different shots
    for weight in (None, 1.0):
        hits = frame_search(features, read_frames(features), queries, FrameScoring("max", weight),
                            k=5, block_rows=2)
        for t, h in enumerate(hits):
            expected_ids, expected_scores = reference(np.asarray(features.matrix), frames,
                                                      per_shot, features.ids, queries[t],
                                                      weight, 5)
            assert list(h.ids) == expected_ids
            np.testing.assert_allclose(h.scores, expected_scores, atol=1e-12)
    assert hits[0].ids[0] == "shot00001_1"

    # --verify re-hashes the frame files too: moving one shot's frames to another is found.
    invoke("features", "inspect", "--verify", out)
    offsets = np.load(out / "frame_offsets.npy")
    offsets[1] += 1
    np.save(out / "frame_offsets.npy", offsets)
    verify = invoke("features", "inspect", "--verify", out, ok=False)
    assert verify.exit_code == 2 and f"{out / 'frame_offsets.npy'}: sha256 differs from the " \
        "manifest's frames.offsets_sha256" in verify.stderr


def test_a_store_without_frames_is_one_clear_error(tmp_path):
    rng = np.random.default_rng(0)
    np.save(tmp_path / "s.npy", unit(rng, 4))
    (tmp_path / "s.ids.txt").write_text("shot00001_1\nshot00001_2\nshot00001_3\nshot00001_4\n")
    convert_features(tmp_path / "s.npy", tmp_path / "s.fpig")
    np.save(tmp_path / "q.npy", unit(rng, 1))
    (tmp_path / "t.txt").write_text("1 a dog\n")
    for source in (tmp_path / "s.fpig", tmp_path / "s.npy"):
        result = invoke("run", "--query-features", tmp_path / "q.npy", "--features", source,
                        "--topics", tmp_path / "t.txt", "--run-id", "x", "--out-dir",
                        tmp_path / "runs", "--frame-pool", "max", ok=False)
        assert result.exit_code == 2
        message = result.output + result.stderr
        assert f"error: {source}: holds no frame vectors" in message
        assert "features extract --keep-frames" in message
    assert not (tmp_path / "runs" / "x" / "t.txt").exists()


@pytest.mark.parametrize("weight", ["0", "-1", "nan", "inf", "1e308", "1000001"])
def test_bad_frame_weight_is_refused(tmp_path, weight):
    result = invoke("run", "--query-features", "q.npy", "--features", "s.fpig", "--topics", "tv19",
                    "--run-id", "x", "--frame-weight", weight, ok=False)
    assert result.exit_code == 2
    assert "--frame-weight must be a positive" in result.output + result.stderr


def test_offsets_that_do_not_match_the_store_are_refused(tmp_path):
    store, *_ = hand_built_store(tmp_path, shots=30)
    offsets = np.load(store / "frame_offsets.npy")
    np.save(store / "frame_offsets.npy", offsets[:-1])
    with pytest.raises(InputError, match="must hold 31 offsets"):
        read_frames(read_features(store))
    offsets[3] = offsets[2]
    np.save(store / "frame_offsets.npy", offsets)
    with pytest.raises(InputError, match="shot row 2 .* owns no frame rows"):
        read_frames(read_features(store))


def test_frame_scoring_and_model_fusion_are_refused_together(tmp_path):
    result = invoke("run", "--model", "q.npy:a.fpig", "--model", "q.npy:b.fpig", "--topics", "tv21",
                    "--run-id", "x", "--out-dir", tmp_path, "--frame-pool", "max", ok=False)
    assert result.exit_code == 2 and "--model" in result.stderr and "--frame-pool" in result.stderr
    assert not (tmp_path / "x").exists()
