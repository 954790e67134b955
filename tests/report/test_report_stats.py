"""Paired tests of `compare` against independent references: brute-force enumeration, scipy."""
import itertools
import math

import numpy as np
import pytest
from scipy import stats

from trecvid_fpig.errors import InputError
from trecvid_fpig.report.stats import (WinsTiesLosses, bootstrap_ci, effect_size, holm,
                                       paired_t_test, randomization_test, wins_ties_losses)


def brute_force_p(a, b):
    """Two-sided exact p by listing every sign assignment with itertools (no numpy tricks)."""
    d = [x - y for x, y in zip(a, b)]
    observed = abs(sum(d))
    hits = total = 0
    for signs in itertools.product((1, -1), repeat=len(d)):
        total += 1
        hits += abs(sum(s * x for s, x in zip(signs, d))) >= observed - 1e-12
    return hits / total


@pytest.mark.parametrize("seed", range(5))
def test_exact_randomization_matches_enumeration_and_scipy(seed):
    rng = np.random.default_rng(100 + seed)
    a, b = rng.random(10), rng.random(10) * 0.8
    p = randomization_test(a, b, permutations=10_000)      # 2^10 <= 10,000: exact
    assert p == pytest.approx(brute_force_p(a, b), abs=1e-12)
    ref = stats.permutation_test((a, b), lambda x, y: np.mean(x - y), permutation_type="samples",
                                 n_resamples=np.inf, alternative="two-sided")
    assert p == pytest.approx(ref.pvalue, abs=1e-12)


def test_exact_p_with_tied_magnitudes():
    # Differences 0.1, 0.1, -0.1, 0.3 (sum 0.4), counted by hand: with +0.3 the three 0.1s sum
    # to 0.3 (1 way), 0.1 (3), -0.1 (3), -0.3 (1), totals 0.6, 0.4, 0.2, 0.0; so 4 of 8 reach
    # |0.4| (two of them only up to rounding), and as many with -0.3: p = 8/16.
    a, b = [0.5, 0.4, 0.2, 0.6], [0.4, 0.3, 0.3, 0.3]
    assert randomization_test(a, b) == 8 / 16


def test_monte_carlo_close_to_exact_and_seeded():
    rng = np.random.default_rng(7)
    a = rng.random(16)
    b = a - rng.normal(0.05, 0.2, 16)
    d = a - b
    codes = np.arange(2 ** 16)
    signs = 1 - 2 * ((codes[:, None] >> np.arange(16)) & 1)
    exact = np.mean(np.abs(signs @ d) >= abs(d.sum()) - 1e-12)
    p = randomization_test(a, b, permutations=10_000, seed=3)     # 2^16 > 10,000: sampled
    assert abs(p - exact) < 4 * math.sqrt(exact * (1 - exact) / 10_000) + 1e-4
    assert randomization_test(a, b, permutations=10_000, seed=3) == p        # deterministic
    assert randomization_test(a, b, permutations=10_000, seed=4) != p        # and really seeded


def test_identical_runs_are_never_significant():
    a = [0.1, 0.2, 0.3, 0.4] * 5
    assert randomization_test(a, a) == 1.0
    assert paired_t_test(a, a) == 1.0


@pytest.mark.parametrize("seed", range(5))
def test_t_test_matches_scipy(seed):
    rng = np.random.default_rng(seed)
    a, b = rng.random(20), rng.random(20)
    assert paired_t_test(a, b) == pytest.approx(stats.ttest_rel(a, b).pvalue, rel=1e-10)


def test_too_few_topics_is_an_input_error():
    with pytest.raises(InputError, match="at least 2 topics"):
        randomization_test([0.1], [0.2])


def test_holm_by_hand():
    # sorted: 0.01 (x3 = 0.03), 0.03 (x2 = 0.06), 0.04 (x1 = 0.04, but not below 0.06)
    assert holm([0.04, 0.01, 0.03]) == pytest.approx([0.06, 0.03, 0.06])
    # capped at 1 and monotone
    assert holm([0.5, 0.2]) == pytest.approx([0.5, 0.4])
    assert holm([0.9, 0.8, 0.01]) == pytest.approx([1.0, 1.0, 0.03])   # 0.8 x 2 caps at 1
    assert holm([]) == []


@pytest.mark.parametrize("seed", range(3))
def test_bootstrap_ci_is_scipys_paired_percentile_interval(seed):
    rng = np.random.default_rng(200 + seed)
    a, b = rng.random(25), rng.random(25)
    ci = stats.bootstrap((a - b,), np.mean, n_resamples=2_000, method="percentile",
                         random_state=np.random.default_rng(seed)).confidence_interval
    assert bootstrap_ci(a, b, 2_000, seed) == pytest.approx((ci.low, ci.high), abs=1e-12)


def test_bootstrap_ci_by_enumeration_on_two_topics():
    # Differences 0 and 1: a resample's mean is 0, 0.5 or 1 with chance 1/4, 1/2, 1/4, so the
    # 2.5th and 97.5th percentiles of many resampled means are 0 and 1.
    assert bootstrap_ci([1.0, 1.0], [1.0, 0.0], 4_000, 1) == (0.0, 1.0)


def test_effect_size_and_wins_ties_losses_by_hand():
    a, b = [0.5, 0.4, 0.2, 0.6], [0.4, 0.4, 0.3, 0.3]   # differences 0.1, 0, -0.1, 0.3
    d = [0.1, 0.0, -0.1, 0.3]
    mean = sum(d) / 4
    sd = math.sqrt(sum((x - mean) ** 2 for x in d) / 3)
    assert effect_size(a, b) == pytest.approx(mean / sd)
    assert wins_ties_losses(a, b) == WinsTiesLosses(2, 1, 1)
    assert effect_size([0.2, 0.3], [0.1, 0.2]) is None          # constant difference: sd 0
