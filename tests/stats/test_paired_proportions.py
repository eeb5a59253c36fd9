"""The SCAS score interval of a paired difference of proportions (accuracy of two models
on the same rows), against published values, an independent implementation of Tango's
interval, and McNemar's statistic."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy.optimize import brentq
from scipy.stats import norm
from statsmodels.stats.contingency_tables import mcnemar

from mlci.stats.paired_proportions import PairedScoreInterval, counts_of, scas_score


def test_scas_matches_the_published_example() -> None:
    """ratesci's `scorepairci(x = c(1, 1, 7, 12))` (Fagerland et al. 2014's airway data):
    lower −0.528113, upper −0.018422; score at 0 −2.070197, two-sided p 0.03843393."""
    plain = PairedScoreInterval(1, 1, 7, 12, continuity=0.0)
    low, high = plain.interval(0.95)
    assert (round(low, 6), round(high, 6)) == (-0.528113, -0.018422)
    assert round(plain.score(0.0), 6) == -2.070197
    assert round(plain.p_value(0.0), 8) == 0.03843393
    assert plain.estimate == pytest.approx(-6 / 21, abs=1e-15)


def _tango(a: int, b: int, c: int, d: int, confidence: float) -> tuple[float, float]:
    """Tango's (1998) interval as Fagerland, Lydersen & Laake write it (R package
    contingencytables, Tango_asymptotic_score_CI_paired_2x2): their statistic, their
    restricted MLE, roots by Brent's method."""
    n = a + b + c + d
    z = norm.ppf(0.5 + confidence / 2)

    def statistic(delta: float) -> float:
        big_b = -b - c + (2 * n - b + c) * delta
        big_c = -c * delta * (1 - delta)
        p21 = (math.sqrt(big_b**2 - 8 * n * big_c) - big_b) / (4 * n)
        return (b - c - n * delta) / math.sqrt(n * (2 * p21 + delta * (1 - delta)))

    tol = 1e-7
    low = brentq(lambda t: statistic(t) - z, -1 + tol, 1 - tol, xtol=1e-14)
    high = brentq(lambda t: statistic(t) + z, -1 + tol, 1 - tol, xtol=1e-14)
    return low, high


@pytest.mark.parametrize("counts", [(1, 1, 7, 12), (59, 6, 16, 80), (40, 10, 3, 47),
                                    (800, 45, 60, 95)])
@pytest.mark.parametrize("confidence", [0.9, 0.95, 0.99])
def test_without_corrections_it_is_tangos_interval(counts: tuple[int, int, int, int],
                                                   confidence: float) -> None:
    ours = PairedScoreInterval(*counts, continuity=0.0)
    a, b, c, d = counts

    def plain(theta: float) -> float:
        return float(scas_score(theta, a, b, c, d, continuity=0.0, skew=False,
                                bias_correction=False))

    z = norm.ppf(0.5 + confidence / 2)
    low = brentq(lambda t: plain(t) - z, -1 + 1e-7, (b - c) / sum(counts), xtol=1e-14)
    high = brentq(lambda t: plain(t) + z, (b - c) / sum(counts), 1 - 1e-7, xtol=1e-14)
    assert (low, high) == pytest.approx(_tango(*counts, confidence), abs=1e-9)
    assert ours.interval(confidence) != pytest.approx((low, high), abs=1e-6)  # SCAS differs


@pytest.mark.parametrize(("b", "c"), [(3, 9), (10, 4), (25, 31), (0, 6), (1, 7)])
def test_at_zero_it_is_mcnemars_statistic(b: int, c: int) -> None:
    """Tango's statistic at δ = 0 is McNemar's (its square is the chi-square without
    correction); with continuity 0.5 it is the corrected one."""
    table = [[30, b], [c, 40]]
    for continuity, corrected in ((0.0, False), (0.5, True)):
        score = float(scas_score(0.0, 30, b, c, 40, continuity=continuity, skew=False,
                                 bias_correction=False))
        chi2 = mcnemar(table, exact=False, correction=corrected).statistic
        assert score**2 == pytest.approx(chi2, rel=1e-12)
        assert math.copysign(1, score) == math.copysign(1, b - c)


@pytest.mark.parametrize("counts", [(1, 1, 7, 12), (60, 3, 9, 28), (4000, 300, 350, 350),
                                    (0, 20, 0, 0), (10, 0, 0, 0), (5, 2, 0, 13)])
def test_interval_and_p_value_are_one_statement(counts: tuple[int, int, int, int]) -> None:
    """Holm widens intervals and reads p-values of the margins: the two must agree at
    every level and every null."""
    source = PairedScoreInterval(*counts)
    for level in (0.8, 0.95, 0.99, 0.999):
        low, high = source.interval(level)
        assert -1.0 <= low <= source.estimate <= high <= 1.0
        for null in np.linspace(-1, 1, 401):
            p = source.p_value(float(null))
            if abs(p - (1 - level)) > 1e-9:
                assert (null < low or null > high) == (p < 1 - level), (level, null, p)


def test_swapping_the_models_mirrors_the_interval() -> None:
    for counts in [(1, 1, 7, 12), (60, 3, 9, 28), (5, 2, 0, 13)]:
        a, b, c, d = counts
        low, high = PairedScoreInterval(a, b, c, d).interval(0.95)
        assert PairedScoreInterval(a, c, b, d).interval(0.95) == pytest.approx(
            (-high, -low), abs=1e-12)


def test_the_score_never_increases_with_theta_where_an_interval_can_end() -> None:
    """The interval ends are found by refining a grid, which needs a monotone score
    wherever an end can be (|score| ≥ 0.5: any level above 38 %). Right at the estimate
    the skewness term and the continuity band make it wobble by a few hundredths."""
    rng = np.random.default_rng(0)
    theta = np.linspace(-0.999, 0.999, 4001)
    for _ in range(300):
        n = int(rng.integers(5, 400))
        a, b, c, d = rng.multinomial(n, rng.dirichlet(np.ones(4)))
        scores = scas_score(theta, a, b, c, d)
        far = (np.abs(scores[:-1]) >= 0.5) & (np.abs(scores[1:]) >= 0.5)
        assert np.all(np.diff(scores)[far] <= 1e-12), (a, b, c, d)
        assert np.all(np.abs(scores[np.isclose(theta, (b - c) / n, atol=1e-3)]) < 0.5)


def test_continuity_widens_the_interval_a_little() -> None:
    bare = PairedScoreInterval(60, 3, 9, 28, continuity=0.0).interval(0.95)
    used = PairedScoreInterval(60, 3, 9, 28).interval(0.95)
    assert used[0] < bare[0] and used[1] > bare[1]
    assert used[1] - bare[1] < 0.005  # 0.1 of a row's worth, at n = 100, and skew


def test_counts_of_correctness() -> None:
    assert counts_of([1, 1, 0, 0, 1], [1, 0, 1, 0, 0]) == (1, 2, 1, 1)
