"""recall_metrics against an independent sort-based reference (CLIP4Clip's formulation), and
hand-worked cases that pin the conventions: ties, group max, median, DSL, NaN."""
import math
import warnings

import numpy as np
import pytest
import xxhash

from trecvid_fpig.errors import InputError
from trecvid_fpig.evaluate.recall import recall_from_files, recall_metrics

# --- the reference: how CLIP4Clip's metrics.py computes it, re-written here from its description


def ref_compute_metrics(x):
    """Rows are queries, the diagonal is the ground truth; sort each row and find the truth."""
    sorted_desc = np.sort(-x, axis=1)
    positions = np.where(sorted_desc - np.diag(-x)[:, None] == 0)[1]
    return ref_summary(positions + 1)


def ref_multi_caption(sims, caption_video):
    """t2v by double argsort of the -inf padded videos x slots x videos tensor; v2t by the max
    over each video's slots (CLIP4Clip tensor_text_to_video_metrics / tensor_video_to_text_sim)."""
    n_videos = sims.shape[1]
    by_video = [sims[caption_video == v] for v in range(n_videos)]
    slots = max(len(b) for b in by_video)
    padded = np.full((n_videos, slots, n_videos), -np.inf)
    for v, rows in enumerate(by_video):
        padded[v, :len(rows)] = rows
    stacked = padded.transpose(1, 0, 2)                        # slot x group x video
    first = np.argsort(-stacked, axis=-1, kind="stable")
    second = np.argsort(first, axis=-1, kind="stable")
    ranks = np.diagonal(second, axis1=1, axis2=2).ravel()    # slot-major, 0-based
    valid = np.isfinite(np.diagonal(padded, axis1=0, axis2=2).ravel())
    t2v = ref_summary(ranks[valid] + 1)
    v2t = ref_compute_metrics(padded.max(axis=1).T)           # video x group
    return t2v, v2t


def ref_summary(ranks):
    out = {f"R@{k}": 100.0 * np.sum(ranks <= k) / len(ranks) for k in (1, 5, 10)}
    out.update(MdR=float(np.median(ranks)), MnR=float(np.mean(ranks)))
    return out


def ref_dsl(x, temperature=100.0):
    z = temperature * x
    w = np.exp(z - z.max(axis=0))
    return x * (w / w.sum(axis=0))


def tie_free(n_captions, n_videos, caption_video, seed):
    """Distinct values with the ground truth lifted, so ranks spread like a real model's."""
    rng = np.random.default_rng(seed)
    size = n_captions * n_videos
    x = rng.permutation(size).reshape(n_captions, n_videos) / size
    x[np.arange(n_captions), caption_video] += rng.uniform(0, 0.5, n_captions)
    assert_no_ties(x)
    return x


def assert_no_ties(x):
    assert (np.diff(np.sort(x, axis=1), axis=1) != 0).all()
    assert (np.diff(np.sort(x, axis=0), axis=0) != 0).all()


def assert_same(ours, ref):
    assert ours.keys() == ref.keys()
    for key in ref:
        assert ours[key] == pytest.approx(ref[key], rel=1e-12), key


# --- parity on random tie-free matrices


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("dsl", [False, True])
def test_1k_a_shape_matches_compute_metrics_both_directions(dtype, dsl):
    x = tie_free(1000, 1000, np.arange(1000), seed=1).astype(dtype)
    ours = recall_metrics(x, captions_per_video=1, dsl=dsl)
    ref_matrix = ref_dsl(x.astype(np.float64)) if dsl else x
    assert_no_ties(ref_matrix)
    assert_same(ours["t2v"], ref_compute_metrics(ref_matrix))
    assert_same(ours["v2t"], ref_compute_metrics(ref_matrix.T))


def test_1k_a_shape_tensor_metrics_agree_with_compute_metrics():
    x = tie_free(300, 300, np.arange(300), seed=2)
    t2v, v2t = ref_multi_caption(x, np.arange(300))
    assert_same(t2v, ref_compute_metrics(x))
    assert_same(v2t, ref_compute_metrics(x.T))


@pytest.mark.parametrize("dsl", [False, True])
@pytest.mark.parametrize("chunk_rows", [7, 2048])
def test_3k_shape_contiguous_blocks(dsl, chunk_rows):
    n_videos, per_video = 60, 20
    groups = np.arange(n_videos * per_video) // per_video
    x = tie_free(len(groups), n_videos, groups, seed=3)
    ours = recall_metrics(x, captions_per_video=per_video, dsl=dsl, chunk_rows=chunk_rows)
    ref_matrix = ref_dsl(x) if dsl else x
    assert_no_ties(ref_matrix)
    t2v, v2t = ref_multi_caption(ref_matrix, groups)
    assert_same(ours["t2v"], t2v)
    assert_same(ours["v2t"], v2t)


@pytest.mark.parametrize("dsl", [False, True])
def test_shuffled_uneven_ground_truth(dsl):
    rng = np.random.default_rng(4)
    n_videos = 40
    groups = rng.permutation(np.r_[np.arange(n_videos), rng.integers(0, n_videos, 300)])
    x = tie_free(len(groups), n_videos, groups, seed=5)
    ours = recall_metrics(x, caption_video=groups, dsl=dsl, chunk_rows=16)
    ref_matrix = ref_dsl(x) if dsl else x
    t2v, v2t = ref_multi_caption(ref_matrix, groups)
    assert_same(ours["t2v"], t2v)
    assert_same(ours["v2t"], v2t)
    assert ours["meta"]["ground_truth"]["captions_per_video_min"] >= 1


# --- hand-worked conventions


def test_ties_count_in_the_querys_favour():
    # rows = captions, caption i belongs to video i.
    x = np.array([[0.5, 0.5, 0.2],      # own 0.5 ties video 1: nothing strictly higher -> 1
                  [0.9, 0.4, 0.4],      # own 0.4: 0.9 higher, 0.4 ties -> 2
                  [0.1, 0.1, 0.1]])     # all tied -> 1
    # v2t columns: video 0 (0.5, 0.9, 0.1) own 0.5 -> 2; video 1 (0.5, 0.4, 0.1) own 0.4 -> 2;
    # video 2 (0.2, 0.4, 0.1) own 0.1 -> 3.
    result = recall_metrics(x, ks=(1, 2))
    assert result["t2v"] == {"R@1": pytest.approx(200 / 3), "R@2": 100.0, "MdR": 1.0,
                             "MnR": pytest.approx(4 / 3)}
    assert result["v2t"] == {"R@1": 0.0, "R@2": pytest.approx(200 / 3), "MdR": 2.0,
                             "MnR": pytest.approx(7 / 3)}
    # CLIP4Clip's compute_metrics counts each tied position: t2v positions are
    # [0, 1], [1, 2], [0, 1, 2], so its R@1 is 2/7, not 2/3.
    assert ref_compute_metrics(x)["R@1"] == pytest.approx(200 / 7)


def test_video_to_text_scores_a_group_by_its_best_caption():
    x = np.array([[0.9, 0.1],     # caption 0, video 0: rank 1
                  [0.0, 0.5],     # caption 1, video 0: 0.5 > 0.0 -> rank 2
                  [0.3, 0.4],     # caption 2, video 1: rank 1
                  [0.8, 0.7]])    # caption 3, video 1: 0.8 > 0.7 -> rank 2
    # group maxima [group, video] = [[0.9, 0.5], [0.8, 0.7]]: video 0 ranks its group first
    # (0.9 > 0.8), video 1 too (0.7 > 0.5). Group means would put video 0's group second
    # (0.45 < 0.55). t2v ranks [1, 2, 1, 2]: the median is 1.5 (torch.median would say 1).
    expected_t2v = {"R@1": 50.0, "R@5": 100.0, "R@10": 100.0, "MdR": 1.5, "MnR": 1.5}
    expected_v2t = {"R@1": 100.0, "R@5": 100.0, "R@10": 100.0, "MdR": 1.0, "MnR": 1.0}
    result = recall_metrics(x, captions_per_video=2)
    assert (result["t2v"], result["v2t"]) == (expected_t2v, expected_v2t)
    order = [2, 0, 3, 1]                       # the same captions, interleaved
    shuffled = recall_metrics(x[order], caption_video=[1, 0, 1, 0], chunk_rows=1)
    assert (shuffled["t2v"], shuffled["v2t"]) == (expected_t2v, expected_v2t)


DSL_EXAMPLE = np.array([[2.0, 3.0, 0.0],
                        [1.0, 3.0, 0.0],
                        [0.0, 2.0, 1.0]])


def test_dsl_on_a_3x3_example_worked_by_hand():
    # Raw: t2v ranks [2 (3 > 2), 1, 2 (2 > 1)]; v2t columns (2,1,0) (3,3,2) (0,0,1): all rank 1,
    # video 1's own caption tying caption 0 at 3.
    raw = recall_metrics(DSL_EXAMPLE, ks=(1,))
    assert raw["t2v"] == {"R@1": pytest.approx(100 / 3), "MdR": 2.0, "MnR": pytest.approx(5 / 3)}
    assert raw["v2t"] == {"R@1": 100.0, "MdR": 1.0, "MnR": 1.0}
    # T = ln 2 makes the softmax weights 2**s over each column (the caption axis):
    #   video 0: 2**(2,1,0) = (4,2,1)/7   -> dsl column (8/7, 2/7, 0)
    #   video 1: 2**(3,3,2) = (8,8,4)/20  -> (1.2, 1.2, 0.4)
    #   video 2: 2**(0,0,1) = (1,1,2)/4   -> (0, 0, 0.5)
    # t2v: caption 0 has 8/7 < 1.2 -> rank 2; caption 1 -> 1; caption 2: 0.5 > 0.4 -> 1.
    # v2t: 8/7 top, 1.2 ties 1.2, 0.5 top -> all 1.
    half = recall_metrics(DSL_EXAMPLE, ks=(1,), dsl=True, dsl_temperature=math.log(2))
    assert half["t2v"] == {"R@1": pytest.approx(200 / 3), "MdR": 1.0, "MnR": pytest.approx(4 / 3)}
    assert half["v2t"] == {"R@1": 100.0, "MdR": 1.0, "MnR": 1.0}
    # T = ln 4 makes them 4**s: video 0 (16,4,1)/21 -> (32/21, 4/21, 0); video 1 (64,64,16)/144
    # -> (4/3, 4/3, 2/9); video 2 (1,1,4)/6 -> (0, 0, 2/3). Caption 0 now has 32/21 > 4/3: all 1.
    quarter = recall_metrics(DSL_EXAMPLE, ks=(1,), dsl=True, dsl_temperature=math.log(4))
    assert quarter["t2v"] == {"R@1": 100.0, "MdR": 1.0, "MnR": 1.0}
    assert quarter["v2t"] == {"R@1": 100.0, "MdR": 1.0, "MnR": 1.0}
    assert quarter["meta"]["dsl"] is True
    assert quarter["meta"]["dsl_temperature"] == pytest.approx(math.log(4))


def test_nan_is_an_error_unless_ranked_lowest():
    x = np.array([[np.nan, 0.2, 0.1],
                  [0.3, 0.5, np.nan],
                  [0.1, 0.2, 0.3]])
    with pytest.raises(InputError, match=r"NaN similarity at row 0, column 0"):
        recall_metrics(x, source="sims.npy")
    result = recall_metrics(x, nan_as_lowest=True, ks=(1,))
    # t2v: caption 0's own NaN is lowest, below 0.2 and 0.1 -> 3; captions 1, 2 -> 1.
    # v2t: video 0 (NaN, 0.3, 0.1) -> 3; video 1 (0.2, 0.5, 0.2) -> 1; video 2 (0.1, NaN, 0.3) -> 1.
    expected = {"R@1": pytest.approx(200 / 3), "MdR": 1.0, "MnR": pytest.approx(5 / 3)}
    assert result["t2v"] == expected and result["v2t"] == expected
    assert result["meta"]["nan_values"] == 2
    dsl = recall_metrics(x, nan_as_lowest=True, dsl=True, ks=(1,))
    assert dsl["t2v"]["MnR"] == pytest.approx(5 / 3)     # NaN stays lowest after DSL


@pytest.mark.parametrize("value", [np.inf, -np.inf])
def test_infinity_is_always_an_error(value):
    x = np.eye(3)
    x[1, 2] = value
    with pytest.raises(InputError, match=r"sims\.npy: infinite similarity .* row 1, column 2"):
        recall_metrics(x, nan_as_lowest=True, source="sims.npy")


@pytest.mark.parametrize("dtype,big", [(np.float16, 6e4), (np.float32, 3e38)])
def test_similarities_near_the_dtypes_largest_value_rank_without_a_warning(dtype, big):
    # the fast finiteness check sums a block: that sum overflowed and numpy's RuntimeWarning
    # reached the CLI's stderr ("overflow encountered in reduce") for a valid matrix
    x = np.full((3, 3), big / 2, dtype=dtype)
    np.fill_diagonal(x, big)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        result = recall_metrics(x, ks=(1,))
    assert result["t2v"]["R@1"] == result["v2t"]["R@1"] == 100.0


def test_recall_cut_offs_are_sorted_and_can_exceed_the_videos():
    result = recall_metrics(np.eye(4), ks=(50, 1, 5, 5))
    assert list(result["t2v"]) == ["R@1", "R@5", "R@50", "MdR", "MnR"]
    assert result["t2v"]["R@50"] == 100.0


# --- metadata


def test_fingerprint_is_the_documented_xxh3_128_whatever_the_chunking():
    x = tie_free(50, 10, np.arange(50) // 5, seed=6).astype(np.float32)
    expected = xxhash.xxh3_128(b"float32 50x10\n" + x.astype("<f4").tobytes()).hexdigest()
    for chunk_rows in (1, 3, 50, 4096):
        meta = recall_metrics(x, captions_per_video=5, chunk_rows=chunk_rows)["meta"]
        assert meta["sims_xxh3_128"] == expected
    y = x.copy()
    y[49, 9] = np.nextafter(y[49, 9], np.float32(2))
    assert recall_metrics(y, captions_per_video=5)["meta"]["sims_xxh3_128"] != expected
    big_endian = recall_metrics(x.astype(">f4"), captions_per_video=5)["meta"]
    assert big_endian["sims_xxh3_128"] == expected
    fortran = recall_metrics(np.asfortranarray(x), captions_per_video=5, chunk_rows=4)["meta"]
    assert fortran["sims_xxh3_128"] == expected
    assert recall_metrics(x, captions_per_video=5, fingerprint=False)["meta"]["sims_xxh3_128"] is None


def test_meta_carries_shapes_and_conventions():
    meta = recall_metrics(np.eye(6, 3), caption_video=[0, 1, 2, 0, 1, 2])["meta"]
    assert meta["shape"] == [6, 3] and meta["captions"] == 6 and meta["videos"] == 3
    assert {"rank", "t2v", "v2t", "MdR", "dsl", "nan", "clip4clip"} <= set(meta["conventions"])
    assert meta["ground_truth"]["captions_per_video_max"] == 2
    assert len(meta["ground_truth"]["caption_video_sha256"]) == 64


def test_results_do_not_depend_on_chunking():
    groups = np.arange(400) // 20
    x = tie_free(400, 20, groups, seed=7)
    results = [recall_metrics(x, captions_per_video=20, dsl=True, chunk_rows=c)
               for c in (1, 13, 400)]
    assert results[0] == results[1] == results[2]


# --- bad input


@pytest.mark.parametrize("sims,kwargs,message", [
    (np.zeros((0, 3)), {}, "empty similarity matrix"),
    (np.zeros((3,)), {}, "expected a 2-D"),
    (np.zeros((2, 2), dtype=int), {}, "floating-point"),
    (np.zeros((4, 2)), {}, "not square"),
    (np.zeros((5, 2)), {"captions_per_video": 2}, "5 captions .* not 2 captions for each of 2"),
    (np.zeros((3, 2)), {"caption_video": [0, 1]}, "assigns 2 captions but the matrix has 3 rows"),
    (np.zeros((3, 2)), {"caption_video": [0, 1, 2]}, "caption 2 belongs to video 2"),
    (np.zeros((3, 3)), {"caption_video": [0, 0, 1]}, "video column 2 has no caption"),
    (np.zeros((2, 2)), {"ks": (0, 1)}, "positive integers"),
    (np.zeros((2, 2)), {"dsl": True, "dsl_temperature": 0.0}, "positive number"),
])
def test_bad_input_is_an_input_error_naming_the_source(sims, kwargs, message):
    with pytest.raises(InputError, match=message) as info:
        recall_metrics(sims, source="m.npy", **kwargs)
    if "ks" not in kwargs and "dsl" not in kwargs:
        assert info.value.path == "m.npy"


def test_recall_from_files_can_skip_the_fingerprint(tmp_path):
    sims = tmp_path / "s.npy"
    np.save(sims, np.eye(4, dtype=np.float32))
    hashed = recall_from_files(sims=sims, captions_per_video=1)
    unhashed = recall_from_files(sims=sims, captions_per_video=1, fingerprint=False)
    assert hashed["meta"]["sims_xxh3_128"] and unhashed["meta"]["sims_xxh3_128"] is None
    assert hashed["t2v"] == unhashed["t2v"] and hashed["v2t"] == unhashed["v2t"]


# --- DSL on logits or with a large temperature: the exact formula's ranks, never free ties ---

def exact_dsl_ranks(x, temperature, groups=None):
    """t2v and v2t ranks of sims * softmax(T * sims over captions), in 60-digit arithmetic.

    mpmath's numbers have unbounded exponents, and T * sims is exact at 60 digits (a product
    of two doubles needs 106 bits), so every value, however far below 1, keeps 60 digits.
    Values closer than float64 can tell (0.4 / (1 + e^-1e284) against 0.8 / 2) are ties for
    recall_metrics, as for any float64 formula, and may not be here: the matrices the tests
    give it have exact ties and clear differences only.
    """
    import mpmath

    mpmath.mp.dps = 60
    n_captions, n_videos = x.shape
    groups = list(range(n_videos)) if groups is None else [int(g) for g in groups]
    values = [[mpmath.mpf(float(v)) for v in row] for row in x]
    dsl = [[None] * n_videos for _ in range(n_captions)]
    for j in range(n_videos):
        weights = [mpmath.exp(mpmath.mpf(temperature) * values[i][j]) for i in range(n_captions)]
        total = mpmath.fsum(weights)
        for i in range(n_captions):
            dsl[i][j] = values[i][j] * weights[i] / total
    t2v = [1 + sum(dsl[i][j] > dsl[i][groups[i]] for j in range(n_videos))
           for i in range(n_captions)]
    best = [[max(dsl[i][j] for i in range(n_captions) if groups[i] == g) for j in range(n_videos)]
            for g in range(n_videos)]
    v2t = [1 + sum(best[g][j] > best[j][j] for g in range(n_videos)) for j in range(n_videos)]
    return np.array(t2v), np.array(v2t)


@pytest.mark.parametrize("scale, temperature", [(100.0, 100.0), (1.0, 1e4), (100.0, 1.0),
                                                (1.0, 100.0)])
def test_dsl_ranks_match_the_exact_formula(scale, temperature):
    rng = np.random.default_rng(11)
    x = (scale * np.tanh(rng.standard_normal((24, 24)))).astype(np.float32)
    t2v, v2t = exact_dsl_ranks(x, temperature)
    ours = recall_metrics(x, dsl=True, dsl_temperature=temperature, ks=(1, 5))
    for direction, ranks in (("t2v", t2v), ("v2t", v2t)):
        assert ours[direction]["MnR"] == pytest.approx(ranks.mean())
        assert ours[direction]["R@1"] == pytest.approx(100 * np.mean(ranks <= 1))
        assert ours[direction]["R@5"] == pytest.approx(100 * np.mean(ranks <= 5))


@pytest.mark.parametrize("scale, temperature", [(100.0, 100.0), (1.0, 1e4)])
def test_dsl_on_random_features_is_chance_level(scale, temperature):
    rng = np.random.default_rng(5)
    n = 400
    text, video = (rng.standard_normal((n, 64)) for _ in range(2))
    text /= np.linalg.norm(text, axis=1, keepdims=True)
    video /= np.linalg.norm(video, axis=1, keepdims=True)
    sims = (scale * text @ video.T).astype(np.float32)
    result = recall_metrics(sims, dsl=True, dsl_temperature=temperature, ks=(10,))
    # chance is 10 / 400 = 2.5 %; underflowed ties once gave 84-100 %
    assert result["t2v"]["R@10"] < 6 and result["v2t"]["R@10"] < 6
    assert result["t2v"]["MnR"] > n / 4


def test_dsl_temperature_that_overflows_is_refused():
    with pytest.raises(InputError, match="overflows"):
        recall_metrics(np.array([[1.0, -1.0], [0.5, 0.2]]), dsl=True, dsl_temperature=1e308)


# --- DSL where T * (max - min) is far beyond float64's digits: still the exact formula's ranks ---
# (a log-space key offset by about T * (max - min) once absorbed log|value| from about 1e14 on)

def assert_exact_dsl(x, temperature, per_video=1, **kwargs):
    groups = np.repeat(np.arange(x.shape[1]), per_video)
    t2v, v2t = exact_dsl_ranks(x, temperature, groups)
    ours = recall_metrics(x, dsl=True, dsl_temperature=temperature, ks=(1, 5),
                          captions_per_video=per_video, **kwargs)
    for direction, ranks in (("t2v", t2v), ("v2t", v2t)):
        assert ours[direction] == pytest.approx({
            "R@1": 100 * np.mean(ranks <= 1), "R@5": 100 * np.mean(ranks <= 5),
            "MdR": float(np.median(ranks)), "MnR": float(ranks.mean())}), direction


def test_dsl_2x2_with_a_huge_temperature():
    # caption 0's own value 0.9 * 1 is below 1.0 * 1: rank 2, not a free hit (R@1 once 100)
    assert_exact_dsl(np.array([[0.9, 1.0], [-0.9, 0.7]]), 1e15)


def test_dsl_60x60_with_a_huge_temperature():
    x = np.tanh(np.random.default_rng(2).standard_normal((60, 60)))    # t2v R@1 3.33, once 5.0
    assert_exact_dsl(x, 1e15)


@pytest.mark.parametrize("temperature", [1e3, 1e14, 1e15, 1e30, 1e100, 1e300])
@pytest.mark.parametrize("per_video", [1, 3])
def test_dsl_is_exact_at_every_scale(temperature, per_video):
    rng = np.random.default_rng(int(math.log10(temperature)) * 10 + per_video)
    x = np.tanh(rng.standard_normal((10 * per_video, 10)))
    x[1] = x[0]                      # ties of the formula itself: equal values in every column
    x[2, :3] = 0.0                   # zeros, which rank between the signs
    assert_exact_dsl(x, temperature, per_video)


def test_dsl_in_log_space_keeps_nan_lowest():
    x = np.array([[np.nan, 0.5, 0.1], [0.2, 0.8, np.nan], [-0.4, 0.3, 0.7]])
    result = recall_metrics(x, dsl=True, dsl_temperature=1e15, nan_as_lowest=True, ks=(1,))
    # caption 0's own value is NaN: both numbers beat it; captions 1 and 2 hold their column max
    assert result["t2v"]["MnR"] == pytest.approx((3 + 1 + 1) / 3)
    # video 0's own caption is NaN: captions 1 and 2 beat it there
    assert result["v2t"]["MnR"] == pytest.approx((3 + 1 + 1) / 3)


@pytest.mark.parametrize("temperature", [100.0, 1e15])
def test_dsl_tiny_similarities_do_not_underflow_into_ties(temperature):
    # T * (max - min) = 500 lets the weights be computed directly, but 2e-300 * e^-500 is
    # below float64's normal range: the products once underflowed to equal zeros
    x = np.array([[1e-300, 5.0, 0.1], [5.0, 3e-300, 0.2], [2e-300, 5e-324, 5.0]])
    assert_exact_dsl(x, temperature)
