"""Streamed top-k against a full sort written here, with NIST's tie rule on the written scores.

Values are small dyadic fractions, so float32 products are exact and the reference (float64)
and the search must agree to the last bit: any difference is a bug, not rounding noise.
"""
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from trecvid_fpig.errors import InputError
from trecvid_fpig.formats.matrix import FeatureMatrix
from trecvid_fpig.search.topk import search


def reference_topk(matrix, ids, query, k, excluded=(), norms=None):
    """Full sort: score rounded to 6 decimals as the run file writes it, descending, then id
    descending as a string; excluded rows never appear."""
    scores = matrix.astype(np.float64) @ query.astype(np.float64)
    if norms is not None:
        scores = scores / norms
    ranked = sorted((float(f"{scores[r]:.6f}"), ids[r], r) for r in range(len(ids))
                    if r not in set(excluded))
    ranked.reverse()
    return [(ids[r], scores[r]) for _, _, r in ranked[:k]]


def dyadic(rng, shape, low=-4, high=4, scale=8):
    return (rng.integers(low, high + 1, size=shape) / scale).astype(np.float32)


def features_of(matrix, ids, normalized=True):
    return FeatureMatrix("mem", "test", len(ids), matrix.shape[1], matrix.dtype, ids=tuple(ids),
                         matrix=matrix, normalized=normalized)


def assert_matches(hits, matrix, ids, queries, k, excluded=(), norms=None):
    for t, h in enumerate(hits):
        expected = reference_topk(matrix, ids, queries[t], k, excluded, norms)
        assert list(h.ids) == [i for i, _ in expected]
        np.testing.assert_array_equal(h.scores, [s for _, s in expected])
        assert [ids[r] for r in h.rows] == list(h.ids)


def shuffled_ids(rng, n):
    return [f"shot{v:05d}_{s}" for v, s in zip(rng.permutation(n) + 1, rng.integers(1, 50, n))]


@pytest.mark.parametrize("block_rows", [1, 7, 64, 1000])
@pytest.mark.parametrize("k", [1, 5, 50, 299, 300, 500])
def test_matches_full_sort(block_rows, k):
    rng = np.random.default_rng(k * 1000 + block_rows)
    matrix = dyadic(rng, (300, 16))
    ids = shuffled_ids(rng, 300)
    queries = dyadic(rng, (4, 16))
    hits = search(features_of(matrix, ids), queries, k=k, block_rows=block_rows)
    assert_matches(hits, matrix, ids, queries, k)


def test_planted_ties_are_ordered_by_id_descending_across_blocks():
    rng = np.random.default_rng(1)
    matrix = dyadic(rng, (400, 8), -1, 1, 2)          # few distinct rows: scores tie massively
    matrix[::3] = matrix[0]                             # one score shared by a third of the shots
    ids = shuffled_ids(rng, 400)
    queries = np.vstack([matrix[0], dyadic(rng, (2, 8), -1, 1, 2)])
    for k in (3, 40, 133, 1000):
        hits = search(features_of(matrix, ids), queries, k=k, block_rows=16)
        assert_matches(hits, matrix, ids, queries, k)


def test_scores_that_only_tie_after_rounding_follow_the_written_order():
    # 0.5 + j * 2**-24 (j = -8..7) are distinct float32 values that all print as 0.500000: the
    # evaluator sees a tie and orders by shot id, so the top k must be chosen by id, not by raw
    # score.
    n = 200
    matrix = np.zeros((n, 2), dtype=np.float32)
    matrix[:, 0] = 0.5 + (np.arange(n) % 16 - 8) * 2.0 ** -24
    assert {f"{v:.6f}" for v in matrix[:, 0]} == {"0.500000"}
    matrix[150:, 0] = 0.25
    ids = [f"shot{(i * 37) % n + 1:05d}_1" for i in range(n)]
    queries = np.array([[1.0, 0.0]], dtype=np.float32)
    for block_rows in (8, 200):
        hits = search(features_of(matrix, ids), queries, k=10, block_rows=block_rows)
        assert_matches(hits, matrix, ids, queries, 10)
        top = sorted((ids[i] for i in range(150)), reverse=True)[:10]
        assert list(hits[0].ids) == top


def test_excluded_rows_never_appear():
    rng = np.random.default_rng(2)
    matrix = dyadic(rng, (120, 8))
    ids = shuffled_ids(rng, 120)
    queries = dyadic(rng, (3, 8))
    best = search(features_of(matrix, ids), queries, k=5)
    excluded = sorted({int(r) for h in best for r in h.rows[:3]} | {0, 119})
    hits = search(features_of(matrix, ids), queries, k=120, exclude_rows=excluded, block_rows=13)
    assert_matches(hits, matrix, ids, queries, 120, excluded)
    assert all(len(h.ids) == 120 - len(excluded) for h in hits)


def test_float16_is_scored_in_float32():
    rng = np.random.default_rng(4)
    matrix = dyadic(rng, (250, 16)).astype(np.float16)
    ids = shuffled_ids(rng, 250)
    queries = dyadic(rng, (3, 16))
    hits = search(features_of(matrix, ids), queries, k=30, block_rows=33)
    assert_matches(hits, matrix, ids, queries, 30)


def test_unnormalised_source_is_scored_by_cosine():
    rng = np.random.default_rng(5)
    # Rows of +-1 (norm 4) and +-2 (norm 8) keep the division by the norm exact.
    matrix = (rng.choice([-1.0, 1.0], size=(90, 16)) * rng.choice([1.0, 2.0], size=(90, 1))).astype(np.float32)
    ids = shuffled_ids(rng, 90)
    queries = dyadic(rng, (2, 16))
    hits = search(features_of(matrix, ids, normalized=False), queries, k=25, block_rows=10)
    assert_matches(hits, matrix, ids, queries, 25, norms=np.linalg.norm(matrix, axis=1))


@settings(max_examples=60, deadline=None)
@given(n=st.integers(1, 90), d=st.integers(1, 6), topics=st.integers(1, 3), k=st.integers(1, 100),
       block_rows=st.integers(1, 40), levels=st.integers(1, 4), seed=st.integers(0, 2 ** 16),
       exclude=st.sets(st.integers(0, 89), max_size=10))
def test_property_matches_full_sort(n, d, topics, k, block_rows, levels, seed, exclude):
    rng = np.random.default_rng(seed)
    matrix = dyadic(rng, (n, d), -levels, levels, 4)
    ids = shuffled_ids(rng, n)
    queries = dyadic(rng, (topics, d), -levels, levels, 4)
    excluded = sorted(e for e in exclude if e < n)
    if len(excluded) == n:          # nothing left to rank: refused, never an empty run
        with pytest.raises(InputError, match="leaves out all"):
            search(features_of(matrix, ids), queries, k=k, exclude_rows=excluded,
                   block_rows=block_rows)
        return
    hits = search(features_of(matrix, ids), queries, k=k, exclude_rows=excluded,
                  block_rows=block_rows)
    assert_matches(hits, matrix, ids, queries, k, excluded)


def test_random_float_data_agrees_with_float64_reference():
    rng = np.random.default_rng(6)
    matrix = rng.standard_normal((5000, 32)).astype(np.float32)
    matrix /= np.linalg.norm(matrix, axis=1, keepdims=True)
    ids = shuffled_ids(rng, 5000)
    queries = rng.standard_normal((3, 32)).astype(np.float32)
    queries /= np.linalg.norm(queries, axis=1, keepdims=True)
    hits = search(features_of(matrix, ids), queries, k=100, block_rows=512)
    for t, h in enumerate(hits):
        exact = matrix.astype(np.float64) @ queries[t].astype(np.float64)
        kth = np.sort(exact)[-100]
        np.testing.assert_allclose(h.scores, exact[h.rows], atol=1e-6)
        # Every shot clearly above the cut is returned; none clearly below it is.
        assert set(np.flatnonzero(exact > kth + 2e-6)) <= set(h.rows.tolist())
        assert exact[h.rows].min() > kth - 2e-6


def test_gpu_backend_matches_numpy():
    torch = pytest.importorskip("torch")
    if not torch.cuda.is_available():
        pytest.skip("no CUDA GPU")
    rng = np.random.default_rng(7)
    for dtype in (np.float32, np.float16):
        matrix = dyadic(rng, (3000, 16)).astype(dtype)
        ids = shuffled_ids(rng, 3000)
        queries = dyadic(rng, (5, 16))
        for normalized in (True, False):
            hits = search(features_of(matrix, ids, normalized), queries, k=200, block_rows=700,
                          device="cuda")
            cpu = search(features_of(matrix, ids, normalized), queries, k=200, block_rows=700)
            for g, c in zip(hits, cpu):
                assert g.ids == c.ids


def test_half_bits_are_every_finite_float16_scaled_by_two_to_the_minus_112():
    from trecvid_fpig.search.topk import _half_bits_as_float32

    every = np.arange(1 << 16, dtype=np.uint16).view(np.float16)
    finite = np.tile(every[np.isfinite(every)], 5)       # several cache-sized chunks
    out = np.empty(finite.shape, dtype=np.float32)
    _half_bits_as_float32(out, finite)
    np.testing.assert_array_equal(out.astype(np.float64) * 2.0 ** 112, finite.astype(np.float64))


def test_unnormalised_float16_source_uses_a_checked_cast():
    rng = np.random.default_rng(8)
    matrix = (rng.choice([-1.0, 1.0], size=(300, 16)) * rng.choice([1.0, 2.0], size=(300, 1))
              ).astype(np.float16)
    ids = shuffled_ids(rng, 300)
    queries = dyadic(rng, (3, 16))
    hits = search(features_of(matrix, ids, normalized=False), queries, k=60, block_rows=97)
    assert_matches(hits, matrix, ids, queries, 60, norms=np.linalg.norm(matrix.astype(np.float64), axis=1))
    matrix[150, 3] = np.inf
    with pytest.raises(InputError, match="row 150"):
        search(features_of(matrix, ids, normalized=False), queries, k=60, block_rows=97)
