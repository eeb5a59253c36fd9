"""The order statistics of the m·n pairwise differences canary_i − stable_j,
which bound the Hodges–Lehmann interval (`shift.py`).

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
from typing import Literal

import numpy as np
import numpy.typing as npt

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]

DIRECT_MAX = 1 << 21  # up to this many pairs, form every difference and partition
_GRID = 192  # quantile points per side for the first guess of each rank
_SKELETON = 2048  # canary rows whose counts estimate the total between exact passes
_GATHER_MAX = 4_000_000  # most differences gathered for the final partition
_WEIGHTED_MAX = 1 << 17  # distinct-value pairs formed when samples repeat values


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
        x = self.x
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
        flat = self._candidates(wanted, pos, nearest, upward=upward)
        if flat is None:
            return None
        # The wanted-th nearest of these bounds the wanted-th nearest of all. Only the
        # differences strictly between the counted value and that bound need gathering:
        # any wanted rank beyond them ties with the bound (which keeps ties cheap).
        if upward:
            bound = float(np.partition(flat, wanted - 1)[wanted - 1])
        else:
            bound = float(-np.partition(-flat, wanted - 1)[wanted - 1])
        inner = self._gather(wanted, pos, nearest, bound, upward=upward)
        return None if inner is None else (inner, bound)

    def _candidates(self, wanted: int, pos: IntArray, nearest: FloatArray, *,
                    upward: bool) -> FloatArray | None:
        """At least `wanted` finite differences on one side: each row's nearest one, or
        each row's `width` nearest when one per row cannot hold `wanted`."""
        x, w, last = self.x, self.w, self.n - 1
        live = np.flatnonzero(np.isfinite(nearest))
        width = -(-2 * wanted // max(live.size, 1))
        while True:
            if width <= 1:
                flat = nearest
            else:
                if live.size * width > _GATHER_MAX:
                    return None
                steps = np.arange(width)
                cols = pos[live, None] + steps if upward else pos[live, None] - 1 - steps
                inside = (cols <= last) if upward else (cols >= 0)
                flat = np.where(inside, x[live, None] + w[np.clip(cols, 0, last)],
                                np.inf if upward else -np.inf).ravel()
            if np.count_nonzero(np.isfinite(flat)) >= wanted:
                return np.asarray(flat, dtype=np.float64)
            if width >= self.n:
                return None
            width = min(2 * max(width, 1), self.n)

    def _gather(self, wanted: int, pos: IntArray, nearest: FloatArray, bound: float, *,
                upward: bool) -> FloatArray | None:
        """The (at most `wanted`) differences strictly between the counted value and
        `bound`, sorted away from the counted value; None when too many lie there."""
        x, w = self.x, self.w
        if upward:
            active = np.flatnonzero(nearest < bound)
            starts = pos[active]
            sizes = self.positions(x[active], bound, strict=True)[0] - starts
        else:
            active = np.flatnonzero(nearest > bound)
            starts = self.positions(x[active], bound)[0]
            sizes = pos[active] - starts
        total = int(sizes.sum(dtype=np.int64))
        if total > _GATHER_MAX:
            return None
        first = np.repeat(starts - (np.cumsum(sizes) - sizes), sizes)
        values = x[np.repeat(active, sizes)] + w[first + np.arange(total)]
        if upward:
            return np.sort(np.partition(values, wanted - 1)[:wanted] if total > wanted
                           else values)
        return -np.sort(np.partition(-values, wanted - 1)[:wanted] if total > wanted
                        else -values)
