"""Issue 12, items 8 and 9: small current windows, many levels, identifiers and missing
values. Simulations are small (fixed seeds, exact counts); bench/drift_calibration.py
runs the same experiment at 500 repetitions."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
import pytest
from scipy import stats
from statsmodels.stats.proportion import proportions_ztest

from mlci.stats import drift_choice, drift_stats
from mlci.stats.drift import column_drift, dataset_drift, missing_message

REPS = 60


def _flags(draw: Any, n_cur: int, seed: int, method: Any = None) -> tuple[int, set[str]]:
    """How many of REPS undrifted columns (5,000 reference rows) are flagged."""
    rng = np.random.default_rng(seed)
    flagged, methods = 0, set()
    for _ in range(REPS):  # repetitions of an experiment
        found = column_drift(draw(rng, 5000), draw(rng, n_cur), method=method)
        flagged += found.drifted
        methods.add(str(found.method))
    return flagged, methods


def _normal(rng: np.random.Generator, n: int) -> Any:
    return rng.normal(0, 1, n)


@pytest.mark.parametrize(("n_cur", "ours", "evidently"), [
    (100, 3, 46), (200, 3, 18), (500, 2, 2), (1000, 2, 0),
])
def test_small_windows_get_a_test_not_a_distance(n_cur: int, ours: int, evidently: int) -> None:
    """5,000 reference rows: Evidently's normed Wasserstein (its pick for any reference
    over 1,000 rows) flags most undrifted columns at 100 current rows; mlci's KS,
    chosen because n_eff ≤ 1,000, stays near its 5 % level at every size."""
    flagged, methods = _flags(_normal, n_cur, seed=n_cur)
    assert methods == {"ks"}
    assert flagged == ours
    assert _flags(_normal, n_cur, seed=n_cur, method="wasserstein")[0] == evidently


def test_the_effective_size_decides() -> None:
    assert drift_choice.effective_size(5000, 100) == pytest.approx(5000 * 100 / 5100)
    assert drift_choice.effective_size(0, 100) == 0.0
    # Evidently's rule is the large-current limit: n_eff → n_ref
    assert drift_choice.default_method(2000, 10**9, "numeric", 6) == "wasserstein"
    assert drift_choice.default_method(1000, 10**9, "numeric", 6) == "ks"
    # either side small is enough
    assert drift_choice.default_method(10**9, 1000, "numeric", 6) == "ks"
    assert drift_choice.default_method(10**9, 1000, "categorical", 4) == "chisquare"


def _levels_3000(rng: np.random.Generator, n: int) -> Any:
    return rng.choice(np.array([f"v{i:04}" for i in range(3000)]), n)


def test_a_3000_level_category_is_tested_not_measured() -> None:
    """Same distribution on both sides, 5,000 vs 5,000 rows: Jensen–Shannon says 0.43
    (about 0.51 in base 2) — "drift" every time. mlci's default is the two-sample
    chi-square with rare levels grouped, at its nominal rate."""
    rng = np.random.default_rng(3)
    ref, cur = _levels_3000(rng, 5000), _levels_3000(rng, 5000)
    js = column_drift(ref, cur, method="jensenshannon")
    assert js.drifted and js.score == pytest.approx(0.43224, abs=1e-5)
    found = column_drift(ref, cur)
    assert (found.method, found.drifted) == ("chisquare", False)
    assert _flags(_levels_3000, 5000, seed=4) == (4, {"chisquare"})
    assert _flags(_levels_3000, 100, seed=5) == (4, {"chisquare"})
    assert _flags(_levels_3000, 5000, seed=4, method="jensenshannon") == (REPS, {"jensenshannon"})


def test_a_real_change_in_a_3000_level_category_is_found() -> None:
    """A third of the levels twice as common: grouping rare levels keeps the power."""
    rng = np.random.default_rng(6)
    levels = np.array([f"v{i:04}" for i in range(3000)])
    weights = np.where(np.arange(3000) < 1000, 2.0, 1.0)
    ref = rng.choice(levels, 5000)
    cur = rng.choice(levels, 5000, p=weights / weights.sum())
    found = column_drift(ref, cur)
    assert found.method == "chisquare" and found.drifted and found.score < 1e-6


def test_grouping_rare_levels() -> None:
    ref = np.array([40, 30, 1, 2, 0, 3, 1, 2], dtype=np.int64)
    cur = np.array([35, 33, 2, 0, 1, 1, 3, 1], dtype=np.int64)
    # 155 rows, 76 on the smaller side: a level needs 5 · 155 / 76 = 10.2 pooled rows.
    # Rare levels by pooled count then position: totals 3,2,1,4,4,3 → order
    # [4 (1), 3 (2), 2 (3), 7 (3), 5 (4), 6 (4)]; groups fill at 1+2+3+3+4 = 13 and 4
    # (short: joins the group before).
    g_ref, g_cur = drift_stats.group_rare_levels(ref, cur)
    assert g_ref.tolist() == [40, 30, 9] and g_cur.tolist() == [35, 33, 8]
    # which side a row came from never decides the groups
    s_cur, s_ref = drift_stats.group_rare_levels(cur, ref)
    assert (s_ref.tolist(), s_cur.tolist()) == (g_ref.tolist(), g_cur.tolist())
    p = drift_stats.chisquare_counts(ref, cur)
    assert p == stats.chi2_contingency(np.vstack([g_ref, g_cur])).pvalue
    # a short last group with no group before it joins the least frequent common level
    one_ref, one_cur = drift_stats.group_rare_levels(np.array([40, 30, 1, 2]),
                                                     np.array([35, 20, 1, 1]))
    assert (one_ref.tolist(), one_cur.tolist()) == ([40, 33], [35, 22])


def test_levels_too_rare_to_compare_are_not_a_pass() -> None:
    # 30 levels once each: nothing to group into two bins
    assert drift_stats.chisquare_counts(np.ones(20, dtype=np.int64),
                                        np.r_[np.zeros(10), np.ones(10)].astype(np.int64)) is None
    assert drift_stats.chisquare_counts(np.array([5, 0]), np.array([4, 0])) == 1.0  # constant
    found = column_drift([f"a{i % 15}" for i in range(15)], ["a1", "a2", "a3", "b1"],
                         column="tiny")
    assert found.status == "skip" and not found.tested and not found.drifted
    assert found.message == ("tiny: 16 levels and too few rows to compare them (15 reference, "
                             "4 current); not tested")


def _uuids(rng: np.random.Generator, n: int) -> pd.Series:
    return pd.Series([f"u{x:012x}" for x in rng.integers(0, 2**48, n)])


def test_identifier_columns_are_skipped_with_a_note() -> None:
    rng = np.random.default_rng(8)
    ref, cur = _uuids(rng, 5000), _uuids(rng, 100)
    found = column_drift(ref, cur, column="user_id")
    assert (found.status, found.tested, found.drifted) == ("skip", False, False)
    assert found.message == (
        "user_id: looks like an identifier (5,000 distinct values in 5,000 reference rows, "
        "100 in 100 current rows); not tested: exclude it, or name a drift method for it to "
        "test it")
    # named explicitly, it is tested
    assert column_drift(ref, cur, column="user_id", method="jensenshannon").tested
    # before: the chi-square on the 2 × 5,100 table of two samples that share no value
    # said "no drift" (every level once: the statistic is 5,100 on 5,099 degrees of freedom)
    table = np.vstack([np.r_[np.ones(5000), np.zeros(100)], np.r_[np.zeros(5000), np.ones(100)]])
    assert stats.chi2_contingency(table).pvalue == pytest.approx(0.49342, abs=1e-5)
    # an ID column that collapsed to one value in the current data is not an ID any more
    collapsed = column_drift(ref, pd.Series(["unknown"] * 100), column="user_id")
    assert (collapsed.method, collapsed.drifted) == ("chisquare", True)
    frame = dataset_drift(pd.DataFrame({"id": ref[:3000], "x": rng.normal(size=3000)}),
                          pd.DataFrame({"id": cur, "x": rng.normal(size=100)}))
    assert (frame.n_tested, frame.n_drifted) == (1, 0)
    assert frame.message == ("0 of 1 columns drifted (0%); dataset drift not detected "
                             "(threshold 50%); 1 column not tested")


def test_one_method_for_all_columns_still_skips_identifiers() -> None:
    rng = np.random.default_rng(12)
    ref = pd.DataFrame({"id": _uuids(rng, 2000), "x": rng.normal(size=2000)})
    cur = pd.DataFrame({"id": _uuids(rng, 2000), "x": rng.normal(size=2000)})
    every = dataset_drift(ref, cur, method="psi")
    assert [(c.column, c.status, c.method) for c in every.columns] == [
        ("id", "skip", None), ("x", "pass", "psi")]
    named = dataset_drift(ref, cur, method="psi", methods={"id": "psi"})
    assert [(c.column, c.status, c.method) for c in named.columns] == [
        ("id", "warn", "psi"), ("x", "pass", "psi")]
    assert named.drifted and named.message.startswith("1 of 2 columns drifted (50%)")


@pytest.mark.parametrize(("n", "unique", "is_id"), [
    (20, 19, True), (20, 18, False), (19, 19, False), (1000, 950, True), (1000, 949, False),
])
def test_identifier_rule(n: int, unique: int, is_id: bool) -> None:
    assert drift_choice.looks_like_id(unique, n, n, n) is is_id
    assert drift_choice.looks_like_id(n, n, unique, n) is is_id


def test_numbers_are_never_identifiers() -> None:
    """Continuous numbers are unique too; they have an order and are tested."""
    rng = np.random.default_rng(9)
    assert column_drift(rng.normal(size=500), rng.normal(size=500)).method == "ks"


def test_a_jump_in_missing_values_is_found() -> None:
    """0 % → 50 % missing while the values that remain look the same: the values pass,
    the missing-value share does not."""
    rng = np.random.default_rng(10)
    ref = rng.normal(size=2000)
    cur = rng.normal(size=2000)
    cur[::2] = np.nan
    found = column_drift(ref, cur, column="income")
    assert (found.method, found.drifted, found.status) == ("ks", False, "pass")
    assert found.null_drifted and (found.null_reference, found.null_current) == (0.0, 0.5)
    _, want = proportions_ztest([0, 1000], [2000, 2000])
    assert found.null_p_value == pytest.approx(want, rel=1e-12)
    assert missing_message(found) == (
        f"income: missing values 0.0% → 50.0%, two-proportion z p-value {want:.4g} < 0.05: "
        "changed")
    cats = pd.Series(rng.choice(["a", "b", None], 3000, p=[.45, .45, .1]))
    same = column_drift(cats, pd.Series(rng.choice(["a", "b", None], 3000, p=[.45, .45, .1])))
    assert not same.null_drifted and same.null_p_value is not None
    assert same.null_p_value > 0.05
    none = column_drift(rng.normal(size=50), rng.normal(size=40))
    assert (none.null_p_value, none.null_drifted) == (1.0, False)


def test_missing_share_is_counted_in_the_dataset_message() -> None:
    rng = np.random.default_rng(11)
    ref = pd.DataFrame({"a": rng.normal(size=800), "b": rng.normal(size=800)})
    cur = pd.DataFrame({"a": rng.normal(size=800), "b": rng.normal(size=800)})
    cur.loc[:399, "a"] = np.nan
    found = dataset_drift(ref, cur)
    assert found.n_null_drifted == 1
    assert found.message == ("0 of 2 columns drifted (0%); dataset drift not detected "
                             "(threshold 50%); 1 column with a changed share of missing values")


def test_null_share_false_positive_rate() -> None:
    """10 % missing on both sides, 5,000 vs 500 rows, 200 repetitions: near 5 %."""
    rng = np.random.default_rng(13)
    hits = 0
    for _ in range(200):  # repetitions of an experiment
        nulls = rng.random(5000) < 0.1, rng.random(500) < 0.1
        p = drift_stats.proportions_z(float(nulls[0].sum()), 5000, float(nulls[1].sum()), 500)
        hits += p < 0.05
    assert hits == 5
