"""The drift statistics themselves, on sorted arrays and on counts.

Each is held to a reference implementation in the tests: KS and Wasserstein to
scipy, Jensen–Shannon, PSI and the z test to Evidently's definitions (natural
logarithms, Evidently's smoothing of empty bins for PSI, none for Jensen–Shannon),
the chi-square to `scipy.stats.chi2_contingency`.

Speed: KS and Wasserstein come from merging two sorted arrays (linear time), not
from `scipy.stats.wasserstein_distance`, which re-sorts and binary-searches.
"""

from __future__ import annotations

import math

import numpy as np
import numpy.typing as npt
from scipy import stats
from scipy.spatial.distance import jensenshannon
from scipy.special import ndtr

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]

EXACT_KS_MAX = 10_000  # scipy's ks_2samp 'auto' is exact up to this many rows per side
MIN_EXPECTED = 5.0  # Cochran's rule: the chi-square approximation wants ≥ 5 expected per cell


def merge_sorted(ref: FloatArray, cur: FloatArray) -> tuple[FloatArray, IntArray, IntArray]:
    """Merged sorted values, and how many reference / current values are ≤ each
    position's value *at the last position of each run of equal values* (elsewhere
    the counts are partial, which only ever meets a zero-width step)."""
    n = ref.shape[0] + cur.shape[0]
    at_cur = np.searchsorted(ref, cur, "left") + np.arange(cur.shape[0])
    is_cur = np.zeros(n, dtype=bool)
    is_cur[at_cur] = True
    merged = np.empty(n)
    merged[at_cur] = cur
    merged[~is_cur] = ref
    n_cur = np.cumsum(is_cur, dtype=np.int64)
    n_ref = np.arange(1, n + 1, dtype=np.int64) - n_cur
    return merged, n_ref, n_cur


def wasserstein_sorted(ref: FloatArray, cur: FloatArray,
                       merged: tuple[FloatArray, IntArray, IntArray] | None = None) -> float:
    """First Wasserstein distance, ∫|F_ref − F_cur| dx, from sorted samples.

    When the two sizes have a small common multiple L (equal sizes, or one a
    multiple of the other), the same integral over quantiles, ∫|Q_ref − Q_cur| du,
    is a mean of |differences| between the sorted samples each repeated to length
    L: one pass, no merge. Otherwise the samples are merged."""
    n1, n2 = ref.shape[0], cur.shape[0]
    lcm = math.lcm(n1, n2)
    if merged is None and lcm <= 2 * (n1 + n2):
        a = ref if lcm == n1 else np.repeat(ref, lcm // n1)
        b = cur if lcm == n2 else np.repeat(cur, lcm // n2)
        return float(np.abs(a - b).mean())
    values, n_ref, n_cur = merged if merged is not None else merge_sorted(ref, cur)
    gaps = np.diff(values)
    diff = np.abs(n_ref[:-1] / ref.shape[0] - n_cur[:-1] / cur.shape[0])
    return float(np.dot(diff, gaps))


def ks_sorted(ref: FloatArray, cur: FloatArray,
              merged: tuple[FloatArray, IntArray, IntArray] | None = None
              ) -> tuple[float, float]:
    """Two-sample KS statistic and p-value, as `scipy.stats.ks_2samp(method='auto')`.

    Small samples go to scipy itself (its exact p-value; cheap at that size); large
    ones take the statistic from the merge and Smirnov's asymptotic p-value exactly
    as scipy computes it."""
    n1, n2 = ref.shape[0], cur.shape[0]
    if max(n1, n2) <= EXACT_KS_MAX:
        res = stats.ks_2samp(ref, cur)
        return float(res.statistic), float(res.pvalue)
    values, c_ref, c_cur = merged if merged is not None else merge_sorted(ref, cur)
    last = np.r_[values[1:] != values[:-1], True]
    cd = c_ref[last] / n1 - c_cur[last] / n2
    d = float(max(np.clip(-cd.min(), 0, 1), cd.max()))
    m, n = sorted([float(n1), float(n2)], reverse=True)
    en = m * n / (m + n)
    p = float(np.clip(stats.kstwo.sf(d, np.round(en)), 0, 1))
    return d, p


def group_rare_levels(ref: IntArray, cur: IntArray) -> tuple[IntArray, IntArray]:
    """Counts per level, with the levels too rare for the chi-square approximation
    (fewer than 5 expected on the smaller side) merged into groups just large enough.

    Rare levels are taken in order of their pooled count, then of their position
    (the label order), and cut greedily; a short last group joins the one before it,
    or the least frequent common level. Which levels share a group depends only on
    the pooled counts and the labels, never on which side a row came from, so under
    no drift the test keeps its nominal false-positive rate — with 3,000 levels in
    10,000 rows as with 10. Without grouping a 2 × k table of mostly single rows
    leaves the chi-square approximation far behind."""
    total = ref + cur
    n_all = int(total.sum())
    need = MIN_EXPECTED * n_all / max(min(int(ref.sum()), int(cur.sum())), 1)
    rare = total < need
    if not rare.any():
        return ref, cur
    order = np.flatnonzero(rare)
    order = order[np.argsort(total[order], kind="stable")]
    cum = np.cumsum(total[order])
    starts, at, done = [], 0, 0.0
    while at < order.shape[0]:  # one pass per group; searchsorted finds where it fills up
        starts.append(at)
        at = int(np.searchsorted(cum, done + need, "left")) + 1
        done = float(cum[at - 1]) if at <= cum.shape[0] else done
    ids = np.zeros(order.shape[0], dtype=np.int64)
    ids[starts[1:]] = 1
    ids = np.cumsum(ids)
    n_groups = len(starts)
    g_ref = np.bincount(ids, weights=ref[order], minlength=n_groups).astype(np.int64)
    g_cur = np.bincount(ids, weights=cur[order], minlength=n_groups).astype(np.int64)
    common_ref, common_cur = ref[~rare], cur[~rare]
    if g_ref[-1] + g_cur[-1] < need:  # a short last group
        if n_groups > 1:
            g_ref[-2] += g_ref[-1]
            g_cur[-2] += g_cur[-1]
            g_ref, g_cur = g_ref[:-1], g_cur[:-1]
        elif common_ref.shape[0]:
            smallest = int(np.argmin(common_ref + common_cur))
            common_ref, common_cur = common_ref.copy(), common_cur.copy()
            common_ref[smallest] += g_ref[-1]
            common_cur[smallest] += g_cur[-1]
            g_ref, g_cur = g_ref[:0], g_cur[:0]
    return np.r_[common_ref, g_ref], np.r_[common_cur, g_cur]


def chisquare_counts(ref: IntArray, cur: IntArray) -> float | None:
    """p-value of the two-sample chi-square test on the 2 × k table of counts, rare
    levels grouped (`group_rare_levels`). 1.0 when only one level occurs at all (a
    constant column); None when there are levels to compare but too few rows for
    any two groups of them: the test cannot say, and that is not a pass."""
    keep = (ref + cur) > 0
    if int(keep.sum()) < 2:
        return 1.0
    g_ref, g_cur = group_rare_levels(ref[keep], cur[keep])
    if g_ref.shape[0] < 2:
        return None
    return float(stats.chi2_contingency(np.vstack([g_ref, g_cur])).pvalue)


def proportions_z(x1: float, n1: float, x2: float, n2: float) -> float:
    """Two-sided p-value of the two-proportion z test with pooled variance (Evidently's
    z test; statsmodels' `proportions_ztest`). 1.0 when the pooled share is 0 or 1:
    both sides then agree exactly."""
    pooled = (x1 + x2) / (n1 + n2)
    if pooled <= 0.0 or pooled >= 1.0:
        return 1.0
    z = (x1 / n1 - x2 / n2) / math.sqrt(pooled * (1 - pooled) * (1 / n1 + 1 / n2))
    return float(2.0 * ndtr(-abs(z)))


def z_counts(ref: IntArray, cur: IntArray) -> float:
    """Evidently's z test: the share of the first category (in sorted order) on each side."""
    return proportions_z(float(ref[0]), float(ref.sum()), float(cur[0]), float(cur.sum()))


def jensenshannon_counts(ref: IntArray | FloatArray, cur: IntArray | FloatArray,
                         base: float | None = None) -> float:
    """Jensen–Shannon distance with natural logarithms (scipy's default, and
    Evidently's): bounded by √ln 2 ≈ 0.83, not 1. Base 2 would make the same 0.1
    threshold flag more (0.1042 where Evidently says 0.0867)."""
    return float(jensenshannon(ref / ref.sum(), cur / cur.sum(), base))


def psi_counts(ref: IntArray | FloatArray, cur: IntArray | FloatArray) -> float:
    """Population stability index with Evidently's smoothing of empty bins."""
    r = _smooth(ref / ref.sum())
    c = _smooth(cur / cur.sum())
    return float(np.sum((r - c) * np.log(r / c)))


def _smooth(share: FloatArray) -> FloatArray:
    nonzero = share[share != 0]
    if nonzero.size == 0 or nonzero.size == share.size:
        return share
    smallest = float(nonzero.min())
    fill = smallest / 10**6 if smallest <= 0.0001 else 0.0001
    return np.where(share == 0, fill, share)
