"""Mann–Whitney U, the Hodges–Lehmann shift and its interval, held to scipy and to a
direct computation over every pairwise difference."""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pytest
from scipy import stats
from scipy.special import ndtri

from mlci.canary import pairwise, shift


def samples(kind: str, m: int, n: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    if kind == "normal":
        return rng.normal(0, 1, m), rng.normal(0.3, 2, n)
    if kind == "latency":
        return rng.lognormal(4, 0.4, m) * 1.1, rng.lognormal(4, 0.4, n)
    if kind == "ties":  # whole milliseconds: many equal values within and across sides
        return np.round(rng.lognormal(3, 0.3, m)), np.round(rng.lognormal(3, 0.3, n))
    if kind == "counts":
        return rng.integers(0, 6, m).astype(float), rng.integers(0, 8, n).astype(float)
    return rng.standard_cauchy(m), np.concatenate([rng.standard_cauchy(n - n // 2),
                                                   np.full(n // 2, 0.5)])


CASES = [("normal", 40, 55, 1), ("latency", 300, 200, 2), ("ties", 250, 310, 3),
         ("counts", 120, 90, 4), ("cauchy", 77, 64, 5), ("latency", 1, 9, 6),
         ("normal", 2, 2, 7)]


def differences(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    return np.sort(np.subtract.outer(np.sort(x), np.sort(y)).ravel())


@pytest.mark.parametrize(("kind", "m", "n", "seed"), CASES)
def test_u_and_p_value_match_scipy(kind: str, m: int, n: int, seed: int) -> None:
    x, y = samples(kind, m, n, seed)
    expected = stats.mannwhitneyu(x, y, alternative="two-sided", method="asymptotic",
                                  use_continuity=True)
    got = shift.shift_test(x, y)
    assert got.u == pytest.approx(float(expected.statistic), abs=1e-9)
    assert got.p_value == pytest.approx(float(expected.pvalue), abs=1e-9)


@pytest.mark.parametrize(("kind", "m", "n", "seed"), CASES)
def test_hodges_lehmann_and_interval_match_direct_computation(kind: str, m: int, n: int,
                                                              seed: int) -> None:
    x, y = samples(kind, m, n, seed)
    d = differences(x, y)
    got = shift.shift_test(x, y, confidence=0.98)
    assert abs(got.estimate - float(np.median(d))) <= 1e-9
    within = shift.tie_sum(np.sort(x)) + shift.tie_sum(np.sort(y))
    sigma = math.sqrt(m * n / 12 * ((m + n + 1) - within / ((m + n) * (m + n - 1))))
    z = float(ndtri(0.99))
    low = min(max(math.ceil(m * n / 2 - 0.5 - z * sigma), 1), m * n)
    high = min(max(math.ceil(m * n / 2 + 0.5 + z * sigma), 1), m * n)
    assert got.ranks == (low, high)
    assert got.ci == (d[low - 1], d[high - 1])


def kayenta_wilcoxon_diff(mu: float, quantile: float, x: np.ndarray, y: np.ndarray) -> float:
    """Kayenta's MannWhitney.wilcoxonDiff (kayenta-mannwhitney), transcribed."""
    ranks = stats.rankdata(np.concatenate([x - mu, y]))
    _, ties = np.unique(ranks, return_counts=True)
    m, n = float(x.size), float(y.size)
    dz = ranks[: x.size].sum() - m * (m + 1) / 2 - m * n / 2
    correction = np.sign(dz) * 0.5
    tie_term = np.sum(ties**3 - ties) / ((m + n) * (m + n - 1))
    sigma = math.sqrt(m * n / 12 * ((m + n + 1) - tie_term))
    return float((dz - correction) / sigma - quantile)


@pytest.mark.parametrize(("kind", "m", "n", "seed"), [c for c in CASES if c[1] > 2])
def test_interval_ends_are_where_kayentas_root_finder_crosses_zero(kind: str, m: int, n: int,
                                                                   seed: int) -> None:
    """Kayenta solves wilcoxonDiff(mu, ±z) = 0 with Brent's method; that step function
    changes sign exactly at our interval ends (checked just below and just above)."""
    x, y = samples(kind, m, n, seed)
    d = np.unique(differences(x, y))
    got = shift.shift_test(x, y, confidence=0.98)
    z = float(ndtri(0.99))
    for end, quantile in ((got.ci[0], z), (got.ci[1], -z)):
        i = int(np.searchsorted(d, end))
        below = (d[i - 1] + end) / 2 if i > 0 else end - 1.0
        above = (d[i + 1] + end) / 2 if i + 1 < d.size else end + 1.0
        assert kayenta_wilcoxon_diff(below, quantile, x, y) > 0
        assert kayenta_wilcoxon_diff(above, quantile, x, y) < 0


@pytest.mark.parametrize("seed", range(40))
def test_selection_in_the_sorted_matrix_is_exact(seed: int, monkeypatch: Any) -> None:
    """The large-sample path (no differences formed) against sorting all of them,
    with its limits shrunk so that the fallbacks (wide windows, bisection) run too."""
    monkeypatch.setattr(pairwise, "DIRECT_MAX", 0)
    monkeypatch.setattr(pairwise, "_WEIGHTED_MAX", 0)
    if seed % 2:
        monkeypatch.setattr(pairwise, "_GATHER_MAX", 256)
    rng = np.random.default_rng(seed)
    kind = ("normal", "latency", "ties", "counts", "cauchy")[seed % 5]
    x, y = samples(kind, int(rng.integers(1, 300)), int(rng.integers(1, 300)), seed)
    x, y = np.sort(x), np.sort(y)
    d = differences(x, y)
    ranks = np.unique(np.concatenate([[1, d.size, (d.size + 1) // 2, d.size // 2 + 1],
                                      rng.integers(1, d.size + 1, 6)]))
    assert np.array_equal(pairwise.order_statistics(x, y, list(ranks)), d[ranks - 1])


def test_large_samples_without_forming_every_difference() -> None:
    """1,500 × 1,600 = 2.4 M pairs is past DIRECT_MAX: the selection path, checked
    against all 2.4 M differences sorted."""
    x, y = samples("latency", 1500, 1600, 9)
    assert x.size * y.size > pairwise.DIRECT_MAX
    d = differences(x, y)
    got = shift.shift_test(x, y)
    assert got.estimate == float(np.median(d))
    assert got.ci == (d[got.ranks[0] - 1], d[got.ranks[1] - 1])


def test_repeated_values_use_distinct_pairs() -> None:
    x, y = samples("counts", 2000, 1500, 10)
    d = differences(x, y)
    got = shift.shift_test(x, y)
    assert (got.estimate, got.ci) == (float(np.median(d)),
                                      (d[got.ranks[0] - 1], d[got.ranks[1] - 1]))


def test_two_constant_samples_shift_by_their_difference() -> None:
    got = shift.shift_test(np.full(60, 12.0), np.full(80, 10.0))
    assert (got.estimate, got.ci) == (2.0, (2.0, 2.0))


def test_ranks_are_returned_in_the_order_asked() -> None:
    x, y = np.array([1.0, 5.0, 9.0]), np.array([0.0, 2.0])
    d = differences(x, y)
    assert list(pairwise.order_statistics(x, y, [6, 1, 3])) == [d[5], d[0], d[2]]
    with pytest.raises(ValueError, match=r"1\.\.6"):
        pairwise.order_statistics(x, y, [7])


def test_bit_midpoint_halves_the_floats_between() -> None:
    assert pairwise._bit_midpoint(1.0, 2.0) == 1.5
    assert pairwise._bit_midpoint(-1.0, 1.0) == 0.0
    tiny = pairwise._bit_midpoint(0.0, 1e-300)
    assert 0.0 < tiny < 1e-300
