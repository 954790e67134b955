"""`run --model` (similarity-level fusion) against the full weighted cosine sum in numpy.

The unit tests use small dyadic values, so every float32 product and weighted sum is exact and
the streamed search must agree with the full sort to the last bit; the end-to-end test uses
random stores and compares the written run file byte for byte with one written here.
"""
import json

import numpy as np
import pytest
from click.testing import CliRunner

from trecvid_fpig.cli import cli
from trecvid_fpig.formats.matrix import FeatureMatrix
from trecvid_fpig.formats.store import convert_features
from trecvid_fpig.formats.topics import load_topics
from trecvid_fpig.search.fused import ScoredModel, fused_search


def reference_fused(matrices, queries, weights, ids, t, k, excluded=()):
    """Full float64 cosines per model, weighted sum, NIST order on the written score."""
    total = sum(w * (m.astype(np.float64) @ q[t].astype(np.float64))
                for m, q, w in zip(matrices, queries, weights))
    ranked = sorted((float(f"{total[r]:.6f}"), ids[r], r) for r in range(len(ids))
                    if r not in set(excluded))
    ranked.reverse()
    return [(ids[r], total[r]) for _, _, r in ranked[:k]]


def dyadic(rng, shape, scale=8):
    return (rng.integers(-4, 5, size=shape) / scale).astype(np.float32)


def in_memory(matrix, ids):
    return FeatureMatrix("mem", "test", len(ids), matrix.shape[1], matrix.dtype, ids=tuple(ids),
                         matrix=matrix, normalized=True)


@pytest.mark.parametrize("block_rows", [1, 33, 1000])
@pytest.mark.parametrize("k", [1, 20, 199, 400])
def test_streamed_fusion_equals_the_full_sum(block_rows, k):
    rng = np.random.default_rng(block_rows * 7 + k)
    n = 400
    ids = [f"shot{v:05d}_{s}" for v, s in zip(rng.permutation(n) + 1, rng.integers(1, 9, n))]
    matrices = [dyadic(rng, (n, 16)), dyadic(rng, (n, 8)), dyadic(rng, (n, 16))]
    queries = [dyadic(rng, (3, 16)), dyadic(rng, (3, 8)), dyadic(rng, (3, 16))]
    weights = [1.0, 0.5, 2.25]
    excluded = [5, 17, 300]
    models = [ScoredModel(in_memory(m, ids), q, w) for m, q, w in zip(matrices, queries, weights)]
    hits = fused_search(models, k=k, exclude_rows=excluded, block_rows=block_rows)
    for t, h in enumerate(hits):
        expected = reference_fused(matrices, queries, weights, ids, t, k, excluded)
        assert list(h.ids) == [i for i, _ in expected]
        np.testing.assert_array_equal(h.scores, [s for _, s in expected])


def test_a_shot_that_only_the_sum_ranks_first_is_found():
    """Last for each model's own top 2, first in the sum: fusing truncated runs loses it."""
    ids = ["shot00001_1", "shot00002_1", "shot00003_1"]
    a = np.array([[1, 0], [0, 1], [0.75, 0.75]], dtype=np.float32)
    b = np.array([[0, 1], [1, 0], [0.75, 0.75]], dtype=np.float32)
    q = np.array([[1, 0]], dtype=np.float32)
    hits = fused_search([ScoredModel(in_memory(a, ids), q, 1.0),
                         ScoredModel(in_memory(b, ids), q, 1.0)], k=1)
    assert hits[0].ids == ("shot00003_1",) and hits[0].scores[0] == 1.5


def tv21_store(tmp_path, name, dim, ids, seed, dtype="float32"):
    rng = np.random.default_rng(seed)
    np.save(tmp_path / f"{name}.npy", rng.standard_normal((len(ids), dim)).astype(np.float32))
    (tmp_path / f"{name}.ids.txt").write_text("\n".join(ids) + "\n")
    convert_features(tmp_path / f"{name}.npy", tmp_path / f"{name}.fpig", dtype=dtype)
    q = rng.standard_normal((len(load_topics("tv21")), dim)).astype(np.float32)
    np.save(tmp_path / f"{name}.q.npy", q)
    return tmp_path / f"{name}.fpig", tmp_path / f"{name}.q.npy"


def shot_ids(n):
    return [f"shot{1 + i // 40:05d}_{i % 40 + 1}" for i in range(n)]


def invoke(*args):
    return CliRunner().invoke(cli, [str(a) for a in args])


def fused_args(out, *models, run_id="fused"):
    args = ["run", "--topics", "tv21", "--run-id", run_id, "--out-dir", out, "--quiet"]
    for m in models:
        args += ["--model", m]
    return args


def test_run_file_is_byte_identical_to_the_numpy_fusion(tmp_path):
    ids = shot_ids(3000)
    store_a, q_a = tv21_store(tmp_path, "a", 32, ids, 1)
    store_b, q_b = tv21_store(tmp_path, "b", 24, ids, 2, dtype="float16")
    result = invoke(*fused_args(tmp_path / "runs", f"{q_a}:{store_a}:0.7",
                                f"{q_b}:{store_b}"), "--top", "250")
    assert result.exit_code == 0, result.output
    matrices = [np.load(s / "features.npy") for s in (store_a, store_b)]
    queries = []
    for q in (q_a, q_b):
        q = np.load(q)
        queries.append((q / np.linalg.norm(q, axis=1, keepdims=True)).astype(np.float32))
    lines = []
    for t, topic in enumerate(load_topics("tv21").qrels_ids):
        for rank, (shot, score) in enumerate(reference_fused(matrices, queries, [0.7, 1.0], ids,
                                                             t, 250), 1):
            lines.append(f"{topic} Q0 {shot} {rank} {score:.6f} fused\n")
    assert (tmp_path / "runs/fused/tv21.txt").read_text() == "".join(lines)
    sidecar = json.loads((tmp_path / "runs/fused/tv21.json").read_text())
    models = sidecar["query"]["models"]
    assert [m["weight"] for m in models] == [0.7, 1.0]
    assert [m["query_features"] for m in models] == [str(q_a), str(q_b)]
    assert all(len(m["sha256"]) == 64 for m in models)
    assert [f["dim"] for f in sidecar["features"]] == [32, 24]


def test_one_model_at_weight_one_equals_a_plain_run(tmp_path):
    store, q = tv21_store(tmp_path, "a", 16, shot_ids(800), 3)
    fused = invoke(*fused_args(tmp_path / "f", f"{q}:{store}", run_id="same"))
    plain = invoke("run", "--query-features", q, "--features", store, "--topics", "tv21",
                   "--run-id", "same", "--out-dir", tmp_path / "p", "--quiet")
    assert fused.exit_code == 0 and plain.exit_code == 0, (fused.output, plain.output)
    assert (tmp_path / "f/same/tv21.txt").read_bytes() == (tmp_path / "p/same/tv21.txt").read_bytes()


def test_checkpoint_model_encodes_the_topics(tmp_path):
    from trecvid_fpig.demo.checkpoints import save_random_checkpoint

    ids = shot_ids(500)
    checkpoint = save_random_checkpoint(tmp_path / "model_best.pt", "hf-clip", width=64,
                                        layers=1, embed_dim=16)
    store_a, _ = tv21_store(tmp_path, "a", 16, ids, 4)
    store_b, q_b = tv21_store(tmp_path, "b", 8, ids, 5)
    encoded = invoke("encode", "--checkpoint", checkpoint, "--topics", "tv21", "--out",
                     tmp_path / "q_ck.npy", "--quiet", "--device", "cpu")
    assert encoded.exit_code == 0, encoded.output
    via_checkpoint = invoke(*fused_args(tmp_path / "a", f"{checkpoint}:{store_a}:2",
                                        f"{q_b}:{store_b}"), "--device", "cpu")
    via_file = invoke(*fused_args(tmp_path / "b", f"{tmp_path / 'q_ck.npy'}:{store_a}:2",
                                  f"{q_b}:{store_b}"))
    assert via_checkpoint.exit_code == 0, via_checkpoint.output
    assert via_file.exit_code == 0, via_file.output
    assert ((tmp_path / "a/fused/tv21.txt").read_bytes()
            == (tmp_path / "b/fused/tv21.txt").read_bytes())
    sidecar = json.loads((tmp_path / "a/fused/tv21.json").read_text())
    assert sidecar["query"]["models"][0]["checkpoint_layout"] == "hf-clip"
    assert not list((tmp_path / "a/fused").glob("*.topics.npy"))


def test_bad_model_requests_are_refused(tmp_path):
    ids = shot_ids(300)
    store, q = tv21_store(tmp_path, "a", 16, ids, 6)
    other_dim, q8 = tv21_store(tmp_path, "b", 8, ids, 7)
    reordered, _ = tv21_store(tmp_path, "c", 16, ids[:5] + [ids[6], ids[5]] + ids[7:], 8)
    fewer, _ = tv21_store(tmp_path, "d", 16, ids[:200], 9)
    out = tmp_path / "r"
    cases = [
        ([f"{q}:{store}:heavy"], "the weight 'heavy' is not a number"),
        ([f"{q}:{store}:-1"], "must be a finite number above 0"),
        ([f"{q}:{store}:nan"], "must be a finite number above 0"),
        ([f"{q}"], "--model takes CKPT_OR_QF:STORE[:WEIGHT]"),
        ([f"{q}:{tmp_path / 'missing.fpig'}"], "missing.fpig: no such file or directory"),
        ([f"{q}:{store}", f"{q}:{other_dim}"], "shot features are 8-d but query features"),
        ([f"{q}:{store}", f"{q}:{reordered}"], "row 5 is shot shot00001_7 but row 5 of"),
        ([f"{q}:{store}", f"{q}:{fewer}"], "holds 200 shots but"),
    ]
    for models, message in cases:
        result = invoke(*fused_args(out, *models))
        assert result.exit_code == 2, (models, result.output)
        assert message in result.output, (message, result.output)
    mixed = invoke(*fused_args(out, f"{q}:{store}"), "--features", store)
    assert mixed.exit_code == 2 and "give it instead of --features, not with" in mixed.output
    assert not out.exists()
