"""Issue 12, item 10: every default statistic is Evidently's, number for number.

Evidently (0.7, `evidently.legacy.calculations.stattests`) cannot be installed next
to pandas 3, so its definitions are written out here from its source; bench/drift.py
runs Evidently itself in its own environment and compares every column's value."""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pandas as pd
import pytest
from scipy import stats
from scipy.spatial.distance import jensenshannon

from mlci.stats.drift import column_drift


def _evidently_shares(ref: pd.Series, cur: pd.Series, numeric: bool,
                      fill_zeroes: bool) -> tuple[np.ndarray, np.ndarray]:
    """Evidently's binning: Sturges bins over both sides when a numeric reference has
    more than 20 distinct values, else value shares over the union of values; with
    `fill_zeroes` (PSI, K-L), empty bins get a millionth of the smallest share, or
    0.0001 when that is larger than 0.0001."""
    if numeric and ref.nunique() > 20:
        edges = np.histogram_bin_edges(np.concatenate([ref, cur]), bins="sturges")
        r = np.histogram(ref, edges)[0] / len(ref)
        c = np.histogram(cur, edges)[0] / len(cur)
    else:
        keys = list(set(ref.dropna().unique()) | set(cur.dropna().unique()))
        rc, cc = ref.value_counts(), cur.value_counts()
        r = np.array([rc.get(k, 0) / len(ref) for k in keys])
        c = np.array([cc.get(k, 0) / len(cur) for k in keys])
    if fill_zeroes:
        for share in (r, c):  # two sides
            smallest = share[share != 0].min()
            share[share == 0] = smallest / 10**6 if smallest <= 0.0001 else 0.0001
    return r, c


def _evidently(method: str, ref: pd.Series, cur: pd.Series, numeric: bool) -> float:
    if method == "wasserstein":
        return float(stats.wasserstein_distance(ref, cur) / max(float(np.std(ref)), 0.001))
    if method == "ks":
        return float(stats.ks_2samp(ref, cur)[1])
    if method == "jensenshannon":  # base None: natural logarithms
        return float(jensenshannon(*_evidently_shares(ref, cur, numeric, False)))
    if method == "psi":
        r, c = _evidently_shares(ref, cur, numeric, True)
        return float(np.sum((r - c) * np.log(r / c)))
    assert method == "z"
    first = sorted(set(ref.unique()) | set(cur.unique()))[0]
    a, b = (ref != first).astype(float), (cur != first).astype(float)
    p1, p2 = a.mean(), b.mean()
    pooled = (a.sum() + b.sum()) / (len(a) + len(b))
    z = (p1 - p2) / math.sqrt(pooled * (1 - pooled) * (1 / len(a) + 1 / len(b)))
    return float(2 * (1 - stats.norm.cdf(abs(z))))


def _data(kind: str, n_ref: int, n_cur: int, seed: int) -> tuple[pd.Series, pd.Series]:
    rng = np.random.default_rng(seed)
    if kind == "continuous":
        return pd.Series(rng.normal(0, 1, n_ref)), pd.Series(rng.normal(0.1, 1.1, n_cur))
    if kind == "counts":  # 6 to 20 distinct integers: value shares, not bins
        return (pd.Series(rng.binomial(12, 0.5, n_ref).astype(float)),
                pd.Series(rng.binomial(12, 0.55, n_cur).astype(float)))
    if kind == "levels":
        return (pd.Series(rng.choice(list("abcdefg"), n_ref)),
                pd.Series(rng.choice(list("abcdefh"), n_cur, p=[.2, .2, .2, .1, .1, .1, .1])))
    return (pd.Series(rng.choice(["no", "yes"], n_ref, p=[.7, .3])),
            pd.Series(rng.choice(["no", "yes"], n_cur, p=[.66, .34])))


@pytest.mark.parametrize(("kind", "method"), [
    ("continuous", "wasserstein"), ("continuous", "ks"), ("continuous", "jensenshannon"),
    ("continuous", "psi"), ("counts", "wasserstein"), ("counts", "jensenshannon"),
    ("counts", "psi"), ("levels", "jensenshannon"), ("levels", "psi"), ("flag", "z"),
    ("flag", "jensenshannon"), ("flag", "psi"),
])
@pytest.mark.parametrize(("n_ref", "n_cur"), [(5000, 300), (3000, 4000)])
def test_every_value_is_evidentlys(kind: str, method: Any, n_ref: int, n_cur: int) -> None:
    ref, cur = _data(kind, n_ref, n_cur, seed=n_cur)
    found = column_drift(ref, cur, method=method)
    assert found.score == pytest.approx(_evidently(method, ref, cur, kind != "levels"
                                                   and kind != "flag"), rel=1e-9, abs=1e-12)


def test_jensen_shannon_uses_natural_logarithms() -> None:
    """Base 2 made the same 0.1 threshold flag more: 0.1041 where Evidently says 0.0866."""
    ref = pd.Series(["a"] * 1800 + ["b"] * 1200)
    cur = pd.Series(["a"] * 1434 + ["b"] * 1566)
    found = column_drift(ref, cur, column="plan")
    assert found.method == "jensenshannon"
    assert found.score == pytest.approx(0.086642, abs=1e-6)
    assert not found.drifted and found.message == (
        "plan: Jensen-Shannon distance 0.08664 < 0.1: no drift")
    shares = np.array([0.6, 0.4]), np.array([1434, 1566]) / 3000
    assert jensenshannon(*shares, 2.0) == pytest.approx(0.104068, abs=1e-6)


def test_ks_drifts_at_the_threshold_itself() -> None:
    """Evidently's KS drifts at p ≤ threshold (its chi-square and z below it)."""
    rng = np.random.default_rng(2)
    ref, cur = rng.normal(size=400), rng.normal(0.1, 1, 300)
    p = stats.ks_2samp(ref, cur).pvalue
    at = column_drift(ref, cur, method="ks", threshold=p, column="x")
    assert at.drifted and at.message == f"x: KS p-value {p:.4g} ≤ {p:g}: drift detected"
    above = column_drift(ref, cur, method="ks", threshold=p * 0.999, column="x")
    assert not above.drifted and " > " in above.message
    flag = pd.Series(["a"] * 50 + ["b"] * 50)
    z = column_drift(flag, pd.Series(["a"] * 60 + ["b"] * 40), method="z")
    same = column_drift(flag, pd.Series(["a"] * 60 + ["b"] * 40), method="z",
                        threshold=z.score)
    assert not same.drifted and " ≥ " in same.message
