"""Mann–Whitney U and the Hodges–Lehmann shift of canary over stable, with the
confidence interval Kayenta's NetflixACAJudge classifies on.

Kayenta (`kayenta-mannwhitney`, a port of R's `wilcox.test(conf.int = TRUE)` with
the normal approximation and continuity correction) finds the interval ends with a
root-finder on the step function

    f(d) = (U(d) − mn/2 − ½·sign(U(d) − mn/2)) / σ − q,
    U(d) = #{canary_i − d > stable_j} + ½ #{canary_i − d = stable_j},

which can only cross zero at a pairwise difference canary_i − stable_j. So the ends
*are* order statistics of the m·n pairwise differences D, and we compute those
exactly instead of to a solver tolerance:

    lower = D_(k_lo),  k_lo = ⌈mn/2 − ½ − z·σ⌉,     upper = D_(k_hi),  k_hi = ⌈mn/2 + ½ + z·σ⌉,

with z the normal quantile of the two-sided confidence and σ² = mn/12 · ((N+1) −
Σ(t³−t)/(N(N−1))), N = m+n, ties t counted within each sample (at a generic shift d,
canary − d and stable share no values). The estimate is the Hodges–Lehmann estimator
itself, the median of D (Kayenta's root-finder lands within its tolerance of it).

The order statistics themselves, at any sample size, are `pairwise.py`'s.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
from scipy.special import ndtr, ndtri

from mlci.canary.pairwise import merged_positions, order_statistics

FloatArray = npt.NDArray[np.float64]


@dataclass(frozen=True)
class Shift:
    """The comparison of one metric's canary and stable samples."""

    n_canary: int
    n_stable: int
    u: float  # U of the canary sample: #(canary > stable) + ½ #(canary = stable)
    p_value: float  # two-sided, normal approximation, tie and continuity corrected
    estimate: float  # Hodges–Lehmann: median of canary_i − stable_j
    ci: tuple[float, float]
    confidence: float
    ranks: tuple[int, int]  # the order statistics of the differences that bound the interval


def tie_sum(sorted_values: FloatArray) -> float:
    """Σ (t³ − t) over the runs t of equal values in a sorted array."""
    size = sorted_values.size
    if size < 2:
        return 0.0
    change = np.flatnonzero(sorted_values[1:] != sorted_values[:-1])
    if change.size == size - 1:
        return 0.0
    bounds = np.concatenate(([0], change + 1, [size]))
    runs = np.diff(bounds).astype(np.float64)
    return float(np.sum(runs * runs * runs - runs))


def u_statistic(canary: FloatArray, stable: FloatArray) -> tuple[float, float]:
    """U of the canary sample and the tie sum of the pooled sample, from sorted arrays.

    One binary search per canary value replaces ranking the pooled sample."""
    n = stable.size
    left = merged_positions(stable, canary, "left")
    less = int(left.sum(dtype=np.int64))
    equal = (stable.take(left, mode="clip") == canary) & (left < n)
    ties = 0
    if equal.any():
        right = np.searchsorted(stable, canary[equal], side="right")
        ties = int((right - left[equal]).sum(dtype=np.int64))
    u = less + 0.5 * ties
    if ties:
        pooled = tie_sum(np.sort(np.concatenate((canary, stable))))
    else:
        pooled = tie_sum(canary) + tie_sum(stable)
    return u, pooled


def _sigma(m: int, n: int, ties: float) -> float:
    total = m + n
    variance = m * n / 12.0 * ((total + 1) - ties / (total * (total - 1)))
    return math.sqrt(max(variance, 0.0))


def p_value(u: float, m: int, n: int, ties: float) -> float:
    """Two-sided p-value of U, as `scipy.stats.mannwhitneyu(method="asymptotic")`."""
    sigma = _sigma(m, n, ties)
    if sigma == 0.0:
        return 1.0
    z = (max(u, m * n - u) - m * n / 2.0 - 0.5) / sigma
    return float(min(1.0, 2.0 * ndtr(-z)))


def interval_ranks(m: int, n: int, within_ties: float, confidence: float) -> tuple[int, int]:
    """1-based ranks of the pairwise differences that bound the interval (see module doc)."""
    pairs = m * n
    z = float(ndtri(1.0 - (1.0 - confidence) / 2.0))
    spread = z * _sigma(m, n, within_ties)
    low = math.ceil(pairs / 2.0 - 0.5 - spread)
    high = math.ceil(pairs / 2.0 + 0.5 + spread)
    return min(max(low, 1), pairs), min(max(high, 1), pairs)


def median_ranks(pairs: int) -> tuple[int, ...]:
    return ((pairs + 1) // 2,) if pairs % 2 else (pairs // 2, pairs // 2 + 1)


def shift_test(canary: npt.ArrayLike, stable: npt.ArrayLike, *, confidence: float = 0.98,
               presorted: bool = False) -> Shift:
    """U, p-value, Hodges–Lehmann estimate and interval of canary − stable.

    Both samples must be non-empty and finite (the judge drops NaNs first)."""
    x = np.asarray(canary, dtype=np.float64)
    y = np.asarray(stable, dtype=np.float64)
    if not presorted:
        x, y = np.sort(x), np.sort(y)
    m, n = x.size, y.size
    if m == 0 or n == 0:
        raise ValueError("both samples need at least one value")
    u, pooled_ties = u_statistic(x, y)
    within = tie_sum(x) + tie_sum(y)
    low, high = interval_ranks(m, n, within, confidence)
    middle = median_ranks(m * n)
    wanted = sorted({low, high, *middle})
    found = dict(zip(wanted, order_statistics(x, y, wanted).tolist(), strict=True))
    estimate = float(np.mean([found[k] for k in middle]))
    return Shift(n_canary=m, n_stable=n, u=u, p_value=p_value(u, m, n, pooled_ties),
                 estimate=estimate, ci=(found[low], found[high]), confidence=confidence,
                 ranks=(low, high))
