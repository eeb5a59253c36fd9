"""McNemar against statsmodels, DeLong against the paper's own formulas, Holm against
statsmodels."""

from __future__ import annotations

import itertools
import math

import numpy as np
import numpy.typing as npt
import pytest
from scipy.stats import norm
from statsmodels.stats.contingency_tables import mcnemar as sm_mcnemar
from statsmodels.stats.multitest import multipletests

from mlci.errors import InputError
from mlci.stats.tests import delong, holm, holm_levels, mcnemar_exact, mcnemar_exact_counts

Floats = npt.NDArray[np.float64]


@pytest.mark.parametrize(("b", "c"), [
    *itertools.product([0, 1, 2, 5, 17], [0, 1, 3, 17]),
    (250, 300), (4000, 4100), (12, 100), (500, 501),
])
def test_mcnemar_equals_statsmodels_exact(b: int, c: int) -> None:
    table = [[1000, b], [c, 50]]
    ref = sm_mcnemar(table, exact=True)
    ours = mcnemar_exact_counts(b, c)
    assert abs(ours.p_value - ref.pvalue) <= 1e-9
    assert ours.statistic == ref.statistic


def test_mcnemar_from_rows() -> None:
    rng = np.random.default_rng(0)
    cand = rng.random(3000) < 0.8
    base = rng.random(3000) < 0.78
    ours = mcnemar_exact(cand, base)
    table = [[int((cand & base).sum()), int((cand & ~base).sum())],
             [int((~cand & base).sum()), int((~cand & ~base).sum())]]
    assert abs(ours.p_value - sm_mcnemar(table, exact=True).pvalue) <= 1e-9
    with pytest.raises(InputError):
        mcnemar_exact(cand, base[:-1])


def _delong_paper(y: npt.NDArray[np.bool_], scores: list[Floats]) -> tuple[Floats, Floats]:
    """DeLong, DeLong & Clarke-Pearson (1988), written from the paper: ψ(X, Y) = 1 if
    Y < X, 1/2 if Y = X, 0 otherwise, for X a positive's score and Y a negative's;
    structural components V10(X_i) = mean_j ψ(X_i, Y_j), V01(Y_j) = mean_i ψ(X_i, Y_j);
    S10, S01 their sample covariance matrices (divisor m − 1, n − 1); the AUC covariance
    is S = S10 / m + S01 / n."""
    x = [s[y] for s in scores]
    yy = [s[~y] for s in scores]
    m, n = x[0].shape[0], yy[0].shape[0]
    v10 = np.zeros((2, m))
    v01 = np.zeros((2, n))
    auc = np.zeros(2)
    for r in range(2):
        psi = np.zeros((m, n))
        for i in range(m):
            for j in range(n):
                psi[i, j] = 1.0 if yy[r][j] < x[r][i] else (0.5 if yy[r][j] == x[r][i] else 0.0)
        auc[r] = psi.sum() / (m * n)
        v10[r] = psi.mean(axis=1)
        v01[r] = psi.mean(axis=0)
    s10 = np.zeros((2, 2))
    s01 = np.zeros((2, 2))
    for r in range(2):
        for s in range(2):
            s10[r, s] = ((v10[r] - auc[r]) * (v10[s] - auc[s])).sum() / (m - 1)
            s01[r, s] = ((v01[r] - auc[r]) * (v01[s] - auc[s])).sum() / (n - 1)
    return auc, s10 / m + s01 / n


@pytest.mark.parametrize("seed", [0, 1, 2])
@pytest.mark.parametrize("ties", [False, True])
def test_delong_matches_the_paper(seed: int, ties: bool) -> None:
    rng = np.random.default_rng(seed)
    n = 120
    y = rng.random(n) < 0.4
    s1 = y * 0.8 + rng.normal(0, 0.6, n)
    s2 = y * 0.5 + 0.5 * s1 + rng.normal(0, 0.6, n)
    if ties:
        s1, s2 = np.round(s1, 1), np.round(s2, 1)
    auc, cov = _delong_paper(y, [s1, s2])
    var = cov[0, 0] + cov[1, 1] - 2 * cov[0, 1]
    z = (auc[0] - auc[1]) / math.sqrt(var)
    ours = delong(y, s1, s2)
    assert ours.auc_candidate == pytest.approx(auc[0], abs=1e-12)
    assert ours.auc_baseline == pytest.approx(auc[1], abs=1e-12)
    assert ours.se == pytest.approx(math.sqrt(var), abs=1e-12)
    assert ours.z == pytest.approx(z, abs=1e-9)
    assert ours.p_value == pytest.approx(2 * norm.sf(abs(z)), abs=1e-12)
    half = norm.ppf(0.975) * math.sqrt(var)
    assert ours.ci == pytest.approx((ours.delta - half, ours.delta + half), abs=1e-12)


def test_delong_identical_scores_and_bad_input() -> None:
    y = np.array([0, 1, 0, 1, 1, 0], dtype=bool)
    s = np.array([0.1, 0.9, 0.3, 0.6, 0.4, 0.5])
    res = delong(y, s, s)
    assert res.delta == 0.0 and res.p_value == 1.0
    with pytest.raises(InputError, match="at least 2 positive"):
        delong(np.array([1, 0, 0], dtype=bool), s[:3], s[:3])


@pytest.mark.parametrize("seed", range(5))
def test_holm_equals_statsmodels(seed: int) -> None:
    rng = np.random.default_rng(seed)
    p = rng.random(9) ** 3
    p[3] = p[5]  # a tie
    ours = holm(p)
    ref = multipletests(p, method="holm")[1]
    assert ours == pytest.approx(ref, abs=1e-15)


def test_holm_levels_follow_the_step_down() -> None:
    p = np.array([0.04, 0.001, 0.02, 0.3])
    levels, rejected = holm_levels(p, 0.05)
    # sorted: 0.001 (≤ .05/4), 0.02 (≤ .05/3 = .0167? no) → stop at rank 2
    assert rejected.tolist() == [False, True, False, False]
    assert levels[1] == pytest.approx(0.05 / 4)
    assert levels[[0, 2, 3]] == pytest.approx([0.05 / 3] * 3)
    adjusted = holm(p)
    assert ((adjusted < 0.05) == rejected).all()


def test_holm_rejects_bad_p_values() -> None:
    with pytest.raises(InputError):
        holm([0.1, 1.5])
    assert holm([]).shape == (0,)
