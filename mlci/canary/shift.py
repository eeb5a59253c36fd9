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

Forming all m·n differences is impossible at 100,000 samples a side (10¹⁰ pairs),
so large samples use selection in the sorted matrix canary_i − stable_j: a small
grid of quantile pairs and a row subsample locate each wanted rank to within a few
thousand, one exact pass counts the differences below that value (a linear merge of
the two sorted samples), and the few differences between it and the wanted rank are
gathered and partitioned. Every count is exact for the floating-point differences
`canary_i − stable_j` (searchsorted positions are corrected against the computed
differences), so the result equals sorting all differences, only faster.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

import numpy as np
import numpy.typing as npt
from scipy.special import ndtr, ndtri

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]

DIRECT_MAX = 1 << 21  # up to this many pairs, form every difference and partition
_GRID = 192  # quantile points per side for the first guess of each rank
_SKELETON = 2048  # canary rows whose counts estimate the total between exact passes
_GATHER_MAX = 4_000_000  # most differences gathered for the final partition
_WEIGHTED_MAX = 1 << 17  # distinct-value pairs formed when samples repeat values


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


def merged_positions(values: FloatArray, keys: FloatArray,
                     side: Literal["left", "right"]) -> IntArray:
    """`np.searchsorted(values, keys, side)` for ascending keys, by merging: a stable
    argsort of two sorted runs is one linear merge (timsort), about a third faster
    than a binary search per key, and the passes over all rows are the judge's cost."""
    if side == "right":  # equal values before keys: they count as ≤
        order = np.argsort(np.concatenate((values, keys)), kind="stable")
        is_key = order >= values.size
    else:
        order = np.argsort(np.concatenate((keys, values)), kind="stable")
        is_key = order < keys.size
    return np.flatnonzero(is_key) - np.arange(keys.size)


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


def order_statistics(canary: FloatArray, stable: FloatArray,
                     ranks: Sequence[int]) -> FloatArray:
    """The values at 1-based `ranks` of the sorted differences canary_i − stable_j
    (both inputs sorted ascending), in the order the ranks were given."""
    asked = np.asarray(ranks, dtype=np.int64)
    pairs = canary.size * stable.size
    if asked.size == 0:
        return np.empty(0)
    if asked.min() < 1 or asked.max() > pairs:
        raise ValueError(f"ranks must lie in 1..{pairs}")
    wanted = np.unique(asked)
    if pairs <= DIRECT_MAX:
        differences = np.subtract.outer(canary, stable).ravel()
        values = np.partition(differences, wanted - 1)[wanted - 1]
    elif (few := _distinct(canary, stable)) is not None:
        values = _weighted(*few, wanted)
    elif canary.size > stable.size:  # search with the smaller side: y − x = −(x − y) exactly
        return -order_statistics(stable, canary, list(pairs + 1 - asked))
    else:
        matrix = _SortedSums(canary, -stable[::-1])
        groups = [wanted[group] for group in _groups(wanted, canary.size)]
        values = np.concatenate(matrix.select(groups))
    return np.asarray(values[np.searchsorted(wanted, asked)], dtype=np.float64)


def _runs(values: FloatArray) -> tuple[FloatArray, IntArray]:
    """Distinct values of a sorted array and how often each occurs."""
    starts = np.flatnonzero(np.concatenate(([True], values[1:] != values[:-1])))
    return values[starts], np.diff(np.append(starts, values.size))


def _distinct(canary: FloatArray, stable: FloatArray
              ) -> tuple[FloatArray, IntArray, FloatArray, IntArray] | None:
    """Both samples as distinct values with counts, when they are few enough that every
    distinct difference can be formed (metrics rounded to milliseconds, counters)."""
    cv, cc = _runs(canary)
    if cv.size * 2 > canary.size:
        return None
    sv, sc = _runs(stable)
    if cv.size * sv.size > _WEIGHTED_MAX:
        return None
    return cv, cc, sv, sc


def _weighted(cv: FloatArray, cc: IntArray, sv: FloatArray, sc: IntArray,
              ranks: IntArray) -> FloatArray:
    """Order statistics of the differences from distinct values and their counts."""
    values = np.subtract.outer(cv, sv).ravel()
    order = np.argsort(values, kind="stable")
    cumulative = np.cumsum(np.outer(cc, sc).ravel()[order])
    return np.asarray(values[order][np.searchsorted(cumulative, ranks, side="left")],
                      dtype=np.float64)


def _take(first: FloatArray, rest: float, index: IntArray) -> FloatArray:
    """Items of `first` followed by `rest` repeated, at `index` (0-based)."""
    if first.size == 0:
        return np.full(index.size, rest)
    return np.where(index < first.size, first[np.minimum(index, first.size - 1)], rest)


def _bit_midpoint(low: float, high: float) -> float:
    """A float halfway between two others in the order of all floats: at most 64
    halvings separate any two, whatever their magnitudes."""
    def key(value: float) -> int:
        bits = int(np.float64(value).view(np.int64))
        return bits if bits >= 0 else -(bits & 0x7FFFFFFFFFFFFFFF)

    middle = (key(low) + key(high)) // 2
    bits = middle if middle >= 0 else -middle | -0x8000000000000000
    return float(np.int64(bits).view(np.float64))


def _groups(ranks: IntArray, rows: int) -> list[slice]:
    """Runs of sorted ranks close enough to share one exact pass."""
    groups: list[slice] = []
    start = 0
    for i in range(1, ranks.size + 1):
        if i == ranks.size or ranks[i] - ranks[start] > min(max(rows // 2, 1024),
                                                            _GATHER_MAX // 8):
            groups.append(slice(start, i))
            start = i
    return groups


class _SortedSums:
    """The matrix x_i + w_j of two ascending arrays, never formed: sorted along
    both axes, which is what makes counting below a value one search per row.

    With w = −stable reversed, x_i + w_j are the canary − stable differences, and
    fl(x_i + w_j) is the very number `canary_i − stable_j` evaluates to."""

    def __init__(self, x: FloatArray, w: FloatArray) -> None:
        self.x, self.w = x, w
        self.x_desc = x[::-1]
        self.padded = np.concatenate(([-np.inf], w, [np.inf]))
        self.m, self.n = x.size, w.size
        self.pairs = self.m * self.n
        rows = min(self.m, _SKELETON)
        edges = np.linspace(0, self.m, rows + 1)
        self.skeleton = x[((edges[:-1] + edges[1:]) / 2).astype(np.int64)]
        self.skeleton_weight = np.diff(edges)

    # --- counting ---

    def estimate(self, values: FloatArray) -> FloatArray:
        """Approximate #{x_i + w_j ≤ v} for each v, from the skeleton rows only."""
        keys = values[:, None] - self.skeleton[None, :]
        counts = np.searchsorted(self.w, keys.ravel(), side="right").reshape(keys.shape)
        return np.asarray(counts @ self.skeleton_weight, dtype=np.float64)

    def positions(self, rows: FloatArray, value: float, strict: bool = False
                  ) -> tuple[IntArray, FloatArray, FloatArray]:
        """Exactly #{j : fl(x + w_j) ≤ value} (< value when strict) for each x in `rows`,
        and the differences on either side of that boundary (±inf past the ends)."""
        side: Literal["left", "right"] = "left" if strict else "right"
        if rows is self.x:  # every row: the keys, walked backwards, ascend: merge them
            pos = merged_positions(self.w, value - self.x_desc, side)[::-1]
        else:
            pos = np.searchsorted(self.w, value - rows, side=side)
        pos = pos.astype(np.int64, copy=False)
        padded = self.padded
        while True:  # `value − x` rounds differently from `x + w`: settle the edges
            before = rows + padded.take(pos)  # w[pos − 1], or −inf before the first
            at = rows + padded.take(pos + 1)  # w[pos], or +inf past the last
            if strict:
                back, ahead = before >= value, at < value
            else:
                back, ahead = before > value, at <= value
            if not (back.any() or ahead.any()):
                return pos, before, at
            pos = pos - back + ahead

    # --- selection ---

    def _guess(self, ranks: FloatArray) -> FloatArray:
        """Values whose count is near each rank: quantiles of a grid of quantile pairs,
        refined by secant steps on the skeleton estimate (no exact count yet)."""
        gx = self.x[np.linspace(0, self.m - 1, min(self.m, _GRID)).astype(np.int64)]
        gw = self.w[np.linspace(0, self.n - 1, min(self.n, _GRID)).astype(np.int64)]
        grid = np.sort(np.add.outer(gx, gw).ravel())
        at = np.clip(((ranks - 0.5) / self.pairs * grid.size).astype(np.int64), 0,
                     grid.size - 1)
        spread = max(2, grid.size // 200)
        v0 = grid[np.clip(at - spread, 0, grid.size - 1)]
        v1 = grid[np.clip(at + spread, 0, grid.size - 1)]
        f0, f1 = self.estimate(v0) - ranks, self.estimate(v1) - ranks
        for _ in range(10):
            if np.all(np.abs(f1) <= self.m / 4):
                break
            moved = (f1 != f0) & (v1 != v0)
            v2 = np.where(moved, v1 - f1 * (v1 - v0) / np.where(moved, f1 - f0, 1.0), v1)
            v0, f0 = v1, f1
            v1, f1 = v2, self.estimate(v2) - ranks
        return np.asarray(v1, dtype=np.float64)

    def select(self, groups: list[IntArray]) -> list[FloatArray]:
        """The differences at each group of sorted ranks (a group spans a few
        thousand ranks at most); one guess per group, all guessed together."""
        targets = np.array([(g[0] + g[-1]) / 2.0 for g in groups])
        guesses = self._guess(targets)
        return [self._select(g, float(t), float(v))
                for g, t, v in zip(groups, targets, guesses, strict=True)]

    def _select(self, ranks: IntArray, target: float, value: float) -> FloatArray:
        """One exact count at a good guess usually suffices. Otherwise the guess moves
        between exact counts, cycling regula falsi, bisection and bisection of the
        floating-point bit patterns, so that it ends even on pathological data."""
        smallest = float(self.x[0] + self.w[0])
        low: tuple[float, int] = (float(np.nextafter(smallest, -math.inf)), 0)
        high: tuple[float, int] = (float(self.x[-1] + self.w[-1]), self.pairs)
        value = min(max(value, low[0]), high[0])
        for attempt in range(400):
            pos, before, at = self.positions(self.x, value)
            count = int(pos.sum(dtype=np.int64))
            found = self._local(ranks, value, count, pos, before, at)
            if found is not None:
                return found
            if count < target:
                low = (value, count)
            else:
                high = (value, count)
            if np.nextafter(low[0], math.inf) >= high[0]:
                return np.full(ranks.size, high[0])  # every rank in between ties there
            if attempt % 3 == 0:
                share = (target - low[1]) / max(high[1] - low[1], 1)
                value = low[0] + (high[0] - low[0]) * min(max(share, 0.01), 0.99)
            elif attempt % 3 == 1:
                value = low[0] / 2.0 + high[0] / 2.0
            else:
                value = _bit_midpoint(low[0], high[0])
            if not low[0] < value < high[0]:
                value = _bit_midpoint(low[0], high[0])
        raise RuntimeError("selection of pairwise differences did not converge")

    def _local(self, ranks: IntArray, value: float, count: int, pos: IntArray,
               before: FloatArray, at: FloatArray) -> FloatArray | None:
        """Ranks near `count` (the exact number of differences ≤ value), from the
        few differences on either side of `value`; None when too many lie between."""
        out = np.empty(ranks.size)
        below = ranks <= count
        if below.any():
            picked = self._side(int(count - ranks[below].min() + 1), pos, before,
                                upward=False)
            if picked is None:
                return None
            out[below] = _take(*picked, count - ranks[below])  # t-th largest: rank count − t + 1
        if (~below).any():
            picked = self._side(int(ranks[~below].max() - count), pos, at, upward=True)
            if picked is None:
                return None
            out[~below] = _take(*picked, ranks[~below] - count - 1)
        return out

    def _side(self, wanted: int, pos: IntArray, nearest: FloatArray, *,
              upward: bool) -> tuple[FloatArray, float] | None:
        """The `wanted` differences nearest to the counted value on one side (`nearest`
        holds each row's first one), sorted away from it: the first few, then one value
        that all the rest tie at (so a tie run of millions costs nothing)."""
        x, w, last = self.x, self.w, self.n - 1
        finite = nearest[np.isfinite(nearest)]
        if finite.size == 0:
            return None
        edge = float(finite.min() if upward else finite.max())
        rows = np.flatnonzero(nearest == edge)
        if upward:  # how many differences tie at the nearest value (metrics in whole ms)
            run = self.positions(x[rows], edge)[0] - pos[rows]
        else:
            run = pos[rows] - self.positions(x[rows], edge, strict=True)[0]
        if int(run.sum(dtype=np.int64)) >= wanted:
            return np.empty(0), edge
        if wanted > _GATHER_MAX // 2:
            return None
        live = np.flatnonzero(np.isfinite(nearest))
        width = -(-2 * wanted // max(live.size, 1))
        while True:
            if width <= 1:
                flat = nearest
            else:  # each row's `width` nearest, when one per row cannot hold `wanted`
                if live.size * width > _GATHER_MAX:
                    return None
                steps = np.arange(width)
                cols = pos[live, None] + steps if upward else pos[live, None] - 1 - steps
                inside = (cols <= last) if upward else (cols >= 0)
                flat = np.where(inside, x[live, None] + w[np.clip(cols, 0, last)],
                                np.inf if upward else -np.inf).ravel()
            if np.count_nonzero(np.isfinite(flat)) >= wanted:
                break
            if width >= self.n:
                return None
            width = min(2 * max(width, 1), self.n)
        # The wanted-th nearest of these bounds the wanted-th nearest of all. Only the
        # differences strictly between the counted value and that bound need gathering:
        # any wanted rank beyond them ties with the bound (which keeps ties cheap).
        if upward:
            bound = float(np.partition(flat, wanted - 1)[wanted - 1])
            active = np.flatnonzero(nearest < bound)
            starts = pos[active]
            sizes = self.positions(x[active], bound, strict=True)[0] - starts
        else:
            bound = float(-np.partition(-flat, wanted - 1)[wanted - 1])
            active = np.flatnonzero(nearest > bound)
            starts = self.positions(x[active], bound)[0]
            sizes = pos[active] - starts
        total = int(sizes.sum(dtype=np.int64))
        if total > _GATHER_MAX:
            return None
        first = np.repeat(starts - (np.cumsum(sizes) - sizes), sizes)
        values = x[np.repeat(active, sizes)] + w[first + np.arange(total)]
        if upward:
            inner = np.sort(np.partition(values, wanted - 1)[:wanted] if total > wanted
                            else values)
        else:
            inner = -np.sort(np.partition(-values, wanted - 1)[:wanted] if total > wanted
                             else -values)
        return inner, bound
