"""Paired significance tests over topics, and Holm's correction for testing several pairs.

The randomization test is the one IR papers use (Smucker, Allan & Carterette, CIKM 2007): under
the null hypothesis each topic's two scores are exchangeable, so each per-topic difference
keeps or flips its sign with probability 1/2; p is the share of sign assignments whose mean
difference is at least as far from zero as the observed one.

Beside the p-values, a pair is described by how large the difference is: a paired bootstrap
confidence interval of the mean difference, an effect size (mean / sd of the differences) and
wins / ties / losses over topics, which a reader can judge without a significance threshold.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Iterator, List, Optional, Sequence, Tuple

import numpy as np

from ..errors import InputError

#: Sign assignments drawn per block; fixed so that a seed always gives the same p.
_BLOCK = 10_000
#: Bounds of the tests' settings: seeds as numpy's legacy seeding takes them; random sign
#: flips beyond 10^7 take minutes per pair for no visible change in p; a bootstrap draws all
#: its indices at once (resamples x topics int64 and as many float64 differences), so 10^6
#: resamples of 40 pooled topics hold 640 MB.
MAX_SEED = 2 ** 32 - 1
MAX_PERMUTATIONS = 10_000_000
MAX_RESAMPLES = 1_000_000


def check_settings(permutations: int, resamples: int, seed: int) -> None:
    """Refuse settings outside the bounds above, naming the one that is."""
    for name, value, low, high in (("permutations", permutations, 1, MAX_PERMUTATIONS),
                                   ("bootstrap resamples", resamples, 1, MAX_RESAMPLES),
                                   ("seed", seed, 0, MAX_SEED)):
        if not low <= value <= high:
            raise InputError(f"{name} must be between {low} and {high}, got {value}")


def _differences(a: Sequence[float], b: Sequence[float]) -> np.ndarray:
    x, y = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
    if x.shape != y.shape or x.ndim != 1:
        raise ValueError("paired tests need two score vectors of the same length")
    if len(x) < 2:
        raise InputError(f"a paired test needs at least 2 topics scored by both runs, got {len(x)}")
    return x - y


def _all_signs(n: int) -> Iterator[np.ndarray]:
    """Every one of the 2^n sign vectors, in blocks."""
    bits = np.arange(n, dtype=np.int64)
    for start in range(0, 2 ** n, _BLOCK):
        codes = np.arange(start, min(start + _BLOCK, 2 ** n), dtype=np.int64)
        yield 1.0 - 2.0 * ((codes[:, None] >> bits) & 1)


def _random_signs(n: int, count: int, seed: int) -> Iterator[np.ndarray]:
    rng = np.random.default_rng(seed)
    for start in range(0, count, _BLOCK):
        size = min(_BLOCK, count - start)
        yield 1.0 - 2.0 * rng.integers(0, 2, size=(size, n))


def is_exact(n: int, permutations: int) -> bool:
    """Whether the test on n topics enumerates all 2^n sign flips instead of drawing them."""
    return n < 63 and 2 ** n <= permutations


def randomization_test(a: Sequence[float], b: Sequence[float], permutations: int = 10_000,
                       seed: int = 0) -> float:
    """Two-sided paired randomization test of "mean(a - b) = 0".

    Exact when 2^n <= `permutations` (all sign flips enumerated, p = hits / 2^n); otherwise
    `permutations` random sign flips from a generator seeded with `seed`, and
    p = (1 + hits) / (1 + permutations), which never reports an impossible p = 0.
    """
    check_settings(permutations, 1, seed)
    d = _differences(a, b)
    n = len(d)
    observed = abs(math.fsum(d))
    # Sums of the same terms in another order may differ in the last bits; such a tie is a hit.
    tolerance = 1e-9 * math.fsum(np.abs(d))
    exact = is_exact(n, permutations)
    blocks = _all_signs(n) if exact else _random_signs(n, permutations, seed)
    hits = sum(int(np.count_nonzero(np.abs(signs @ d) >= observed - tolerance)) for signs in blocks)
    return hits / 2 ** n if exact else (1 + hits) / (1 + permutations)


def paired_t_test(a: Sequence[float], b: Sequence[float]) -> float:
    """Two-sided paired t-test p (Student's t with n - 1 degrees of freedom).

    Identical pairs give p = 1; a constant non-zero difference gives p = 0.
    """
    from scipy.stats import t as student_t

    d = _differences(a, b)
    n = len(d)
    mean = d.mean()
    sd = d.std(ddof=1)
    if sd == 0:
        return 1.0 if mean == 0 else 0.0
    statistic = mean / (sd / math.sqrt(n))
    return float(min(1.0, 2 * student_t.sf(abs(statistic), n - 1)))


def bootstrap_ci(a: Sequence[float], b: Sequence[float], resamples: int = 10_000, seed: int = 0,
                 level: float = 0.95) -> Tuple[float, float]:
    """Paired bootstrap percentile interval of mean(a - b).

    Topics are resampled with replacement: ``numpy.random.default_rng(seed).integers(0, n,
    (resamples, n))`` draws all indices at once, and the interval is numpy's (linear)
    percentiles (1 - level) / 2 and (1 + level) / 2 of the resampled means: the same numbers
    as ``scipy.stats.bootstrap(method="percentile")`` with that generator.
    """
    check_settings(1, resamples, seed)
    d = _differences(a, b)
    indices = np.random.default_rng(seed).integers(0, len(d), (resamples, len(d)))
    means = d[indices].mean(axis=1)
    low, high = np.percentile(means, [50 * (1 - level), 50 * (1 + level)])
    return float(low), float(high)


def effect_size(a: Sequence[float], b: Sequence[float]) -> Optional[float]:
    """Mean of the paired differences over their sample sd (ddof=1): Cohen's d_z.

    None when every difference is the same up to rounding (sd 0): the ratio is undefined, not
    a huge number made of rounding error.
    """
    d = _differences(a, b)
    if np.allclose(d, d[0], rtol=1e-9, atol=1e-12):
        return None
    return float(d.mean() / d.std(ddof=1))


@dataclass(frozen=True)
class WinsTiesLosses:
    wins: int
    ties: int
    losses: int


def wins_ties_losses(a: Sequence[float], b: Sequence[float]) -> WinsTiesLosses:
    """Topics where a scores higher, exactly the same, lower than b."""
    d = _differences(a, b)
    return WinsTiesLosses(int(np.count_nonzero(d > 0)), int(np.count_nonzero(d == 0)),
                          int(np.count_nonzero(d < 0)))


def holm(pvalues: Sequence[float]) -> List[float]:
    """Holm's step-down adjusted p-values, in the input order.

    The i-th smallest p is multiplied by (m - i + 1), capped at 1, and made monotone so that an
    adjusted p is never below that of a smaller raw p. Rejecting adjusted p < alpha controls the
    family-wise error rate at alpha.
    """
    m = len(pvalues)
    order = sorted(range(m), key=lambda i: pvalues[i])
    adjusted = [0.0] * m
    running = 0.0
    for rank, i in enumerate(order):
        running = max(running, min(1.0, (m - rank) * pvalues[i]))
        adjusted[i] = running
    return adjusted
