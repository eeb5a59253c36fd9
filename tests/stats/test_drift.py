"""Drift statistics against scipy and Evidently's definitions, the choice of test,
and the two-sample chi-square's false-positive rate."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
import pytest
from scipy import stats
from scipy.spatial.distance import jensenshannon
from statsmodels.stats.proportion import proportions_ztest

from mlci.errors import InputError
from mlci.stats import drift, drift_choice, drift_stats
from mlci.stats.drift import column_drift, dataset_drift


def _pair(n_ref: int, n_cur: int, seed: int, shift: float = 0.0,
          decimals: int | None = None) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    ref = rng.normal(0, 1, n_ref)
    cur = rng.normal(shift, 1.2, n_cur)
    if decimals is not None:  # ties within and across samples
        ref, cur = np.round(ref, decimals), np.round(cur, decimals)
    return ref, cur


@pytest.mark.parametrize(("n_ref", "n_cur", "decimals"), [
    (300, 700, None), (1000, 1000, 1), (50, 20_000, None), (15_000, 12_000, 2),
    (20_000, 30_000, None),
])
def test_ks_equals_scipy(n_ref: int, n_cur: int, decimals: int | None) -> None:
    ref, cur = _pair(n_ref, n_cur, seed=n_ref, shift=0.03, decimals=decimals)
    d, p = drift_stats.ks_sorted(np.sort(ref), np.sort(cur))
    want = stats.ks_2samp(ref, cur)
    assert abs(d - want.statistic) <= 1e-12
    assert abs(p - want.pvalue) <= 1e-9


@pytest.mark.parametrize(("n_ref", "n_cur", "decimals"), [
    # merged path: (300, 700), (999, 1000); quantile path (small common multiple): others
    (300, 700, None), (999, 1000, 1), (1000, 1000, 1), (5000, 20_000, 2), (2000, 3000, None),
    (1, 3, None),
])
def test_wasserstein_equals_scipy(n_ref: int, n_cur: int, decimals: int | None) -> None:
    ref, cur = _pair(n_ref, n_cur, seed=7, shift=0.3, decimals=decimals)
    ours = drift_stats.wasserstein_sorted(np.sort(ref), np.sort(cur))
    assert abs(ours - stats.wasserstein_distance(ref, cur)) <= 1e-9


def test_wasserstein_column_is_normed_by_reference_std() -> None:
    ref, cur = _pair(5000, 4000, seed=3, shift=0.2)
    res = column_drift(ref, cur, column="x")
    assert res.method == "wasserstein" and res.kind == "numeric"
    want = stats.wasserstein_distance(ref, cur) / max(np.std(ref), 0.001)
    assert res.score == pytest.approx(want, abs=1e-9)
    assert res.drifted == (want >= 0.1) and res.threshold == 0.1


def _shares(ref: pd.Series, cur: pd.Series) -> tuple[np.ndarray, np.ndarray]:
    """Evidently's value-count shares over the union of non-null values."""
    keys = sorted(set(ref.dropna()) | set(cur.dropna()))
    r, c = ref.dropna().value_counts(), cur.dropna().value_counts()
    return (np.array([r.get(k, 0) for k in keys]) / len(ref.dropna()),
            np.array([c.get(k, 0) for k in keys]) / len(cur.dropna()))


def test_jensenshannon_equals_scipy_on_categories() -> None:
    rng = np.random.default_rng(4)
    ref = pd.Series(rng.choice(list("abcdef"), 3000, p=[.3, .2, .2, .1, .1, .1]))
    cur = pd.Series(rng.choice(list("abcdeg"), 2500, p=[.2, .2, .2, .2, .1, .1]))
    ref[::50] = None
    res = column_drift(ref, cur, column="c")
    assert res.method == "jensenshannon" and res.kind == "categorical"
    p, q = _shares(ref, cur)
    assert res.score == pytest.approx(float(jensenshannon(p, q)), abs=1e-9)
    assert res.null_reference == pytest.approx(60 / 3000)


def test_jensenshannon_and_psi_on_binned_numbers() -> None:
    ref, cur = _pair(4000, 3000, seed=5, shift=0.15)
    edges = np.histogram_bin_edges(np.concatenate([ref, cur]), bins="sturges")
    p = np.histogram(ref, edges)[0] / len(ref)
    q = np.histogram(cur, edges)[0] / len(cur)
    js = column_drift(ref, cur, method="jensenshannon")
    assert js.score == pytest.approx(float(jensenshannon(p, q)), abs=1e-9)
    psi = column_drift(ref, cur, method="psi")
    assert psi.score == pytest.approx(_psi_reference(p, q), abs=1e-9)
    assert psi.threshold == 0.1


def _psi_reference(ref: np.ndarray, cur: np.ndarray) -> float:
    """PSI written out as Evidently defines it: empty bins get a small share."""
    def fill(x: np.ndarray) -> np.ndarray:
        smallest = min(x[x != 0])
        return np.where(x == 0, smallest / 10**6 if smallest <= 0.0001 else 0.0001, x)
    r, c = fill(ref.astype(float)), fill(cur.astype(float))
    return float(sum((a - b) * np.log(a / b) for a, b in zip(r, c, strict=True)))


def test_psi_on_categories_with_an_empty_level() -> None:
    rng = np.random.default_rng(6)
    ref = pd.Series(rng.choice(list("abc"), 2000))
    cur = pd.Series(rng.choice(list("abcd"), 2000, p=[.4, .3, .2, .1]))
    res = column_drift(ref, cur, method="psi")
    p, q = _shares(ref, cur)
    assert res.score == pytest.approx(_psi_reference(p, q), abs=1e-9)
    assert res.drifted


def test_z_test_equals_statsmodels() -> None:
    rng = np.random.default_rng(1)
    ref = pd.Series(rng.choice(["yes", "no"], 800, p=[.3, .7]))
    cur = pd.Series(rng.choice(["yes", "no"], 600, p=[.36, .64]))
    res = column_drift(ref, cur)
    assert res.method == "z"
    count = [(ref == "no").sum(), (cur == "no").sum()]
    _, want = proportions_ztest(count, [len(ref), len(cur)])
    assert res.score == pytest.approx(want, abs=1e-9)


def test_chisquare_is_the_two_sample_test() -> None:
    rng = np.random.default_rng(2)
    ref = pd.Series(rng.choice(list("abcde"), 900))
    cur = pd.Series(rng.choice(list("abcdf"), 700))
    res = column_drift(ref, cur)
    assert res.method == "chisquare"
    table = pd.crosstab(np.r_[np.zeros(900), np.ones(700)], np.r_[ref, cur]).to_numpy()
    assert res.score == pytest.approx(stats.chi2_contingency(table).pvalue, abs=1e-12)


@pytest.mark.parametrize(("n_ref", "n_cur", "kind", "distinct", "method"), [
    # Evidently's small-reference rule
    (1000, 500, "numeric", 6, "ks"), (1000, 500, "numeric", 5, "chisquare"),
    (1000, 500, "numeric", 2, "z"), (1000, 500, "categorical", 3, "chisquare"),
    (1000, 500, "categorical", 2, "z"),
    # a small current window: n_eff = 5000·1000/6000 = 833, tests although the reference is big
    (5000, 1000, "numeric", 6, "ks"), (5000, 100, "categorical", 3, "chisquare"),
    (2000, 2000, "numeric", 40, "ks"),  # n_eff exactly 1,000
    # n_eff = 5000·1300/6300 = 1031.7: distances, as Evidently
    (5000, 1300, "numeric", 6, "wasserstein"), (5000, 1300, "numeric", 5, "jensenshannon"),
    (5000, 1300, "categorical", 2, "jensenshannon"),
    (5000, 1300, "categorical", 20, "jensenshannon"),  # 20 ≤ 1031.7 / 50
    (5000, 1300, "categorical", 21, "chisquare"),  # too many levels for Jensen–Shannon
])
def test_default_method(n_ref: int, n_cur: int, kind: Any, distinct: int, method: str) -> None:
    assert drift_choice.default_method(n_ref, n_cur, kind, distinct) == method
    rng = np.random.default_rng(0)
    values = np.arange(distinct, dtype=float)
    ref = rng.choice(values, n_ref)
    ref[:distinct] = values  # every value present
    cur = rng.choice(values, n_cur)
    data = (ref, cur) if kind == "numeric" else (ref.astype(int).astype(str),
                                                  cur.astype(int).astype(str))
    assert column_drift(*data).method == method


def test_two_sample_chisquare_false_positive_rate_is_nominal() -> None:
    """Undrifted 10-level columns, 1,000 vs 1,000 rows, 400 repetitions: the two-sample
    test flags about 5 % (binomial sd 1.1 points; the band is about ±3 sd). Evidently's
    one-sample version (reference shares as the truth) flags about half of them."""
    rng = np.random.default_rng(2024)
    levels = np.array(list("abcdefghij"))
    probs = np.linspace(1, 2, 10) / np.linspace(1, 2, 10).sum()
    ours = evidently_style = 0
    reps = 400
    for _ in range(reps):  # repetitions of an experiment
        ref = pd.Series(rng.choice(levels, 1000, p=probs))
        cur = pd.Series(rng.choice(levels, 1000, p=probs))
        res = column_drift(ref, cur)
        assert res.method == "chisquare"
        ours += res.drifted
        r = ref.value_counts().reindex(levels, fill_value=0).to_numpy()
        c = cur.value_counts().reindex(levels, fill_value=0).to_numpy()
        evidently_style += stats.chisquare(c, r / r.sum() * c.sum()).pvalue < 0.05
    assert 0.02 <= ours / reps <= 0.085
    assert evidently_style / reps > 0.3


def test_constant_and_null_columns_are_reported() -> None:
    same = column_drift(np.ones(2000), np.ones(1500), column="k")
    assert not same.drifted and same.status == "pass" and "constant" in same.message
    moved = column_drift(np.ones(2000), np.full(1500, 2.0), column="k")
    assert moved.drifted
    small = column_drift(np.ones(200), np.ones(100), column="k")
    assert small.method == "z" and small.score == 1.0
    empty = column_drift(np.full(10, np.nan), np.ones(10), column="e")
    assert empty.status == "warn" and not empty.tested and "reference" in empty.message
    both = column_drift(pd.Series([None] * 5, dtype=object), pd.Series([None] * 3,
                        dtype=object), column="e")
    assert both.status == "skip"
    inf = column_drift(np.r_[np.ones(5), np.inf], np.ones(4), column="i")
    assert inf.n_reference == 5 and inf.null_reference == pytest.approx(1 / 6)


def test_pandas_dtypes() -> None:
    rng = np.random.default_rng(3)
    ints = pd.Series(rng.integers(0, 50, 3000), dtype="Int64")
    ints[::7] = pd.NA
    res = column_drift(ints, pd.Series(rng.integers(0, 50, 2000), dtype="Int64"))
    assert res.kind == "numeric" and res.method == "wasserstein"
    cats = pd.Series(rng.choice(list("xyz"), 3000)).astype("category")
    cur = pd.Series(rng.choice(list("xyw"), 3000)).astype("category")
    res_cat = column_drift(cats, cur)
    p, q = _shares(cats.astype(str), cur.astype(str))
    assert res_cat.score == pytest.approx(float(jensenshannon(p, q)), abs=1e-9)
    flags = column_drift(pd.Series([True, False] * 600), pd.Series([True] * 700 + [False] * 500))
    assert flags.kind == "categorical" and flags.method == "z"  # n_eff 600: a test


def test_dataset_drift_share_and_columns() -> None:
    rng = np.random.default_rng(0)
    n = 3000
    ref = pd.DataFrame({"a": rng.normal(0, 1, n), "b": rng.normal(0, 1, n),
                        "c": rng.choice(list("xyz"), n), "d": np.full(n, np.nan)})
    cur = pd.DataFrame({"a": rng.normal(1, 1, n), "b": rng.normal(0, 1, n),
                        "c": rng.choice(list("xyz"), n, p=[.8, .1, .1]), "d": np.ones(n)})
    res = dataset_drift(ref, cur)
    assert [c.column for c in res.columns] == ["a", "b", "c", "d"]
    assert res.n_tested == 3 and res.n_drifted == 2
    assert res.drifted and res.status == "fail" and res.share == pytest.approx(2 / 3)
    assert "1 column not tested" in res.message
    calm = dataset_drift(ref, cur, columns=["a", "b", "c"], share=0.7)
    assert not calm.drifted and calm.status == "pass"
    only_b = dataset_drift(ref, cur, exclude=["a", "c", "d"])
    assert [c.column for c in only_b.columns] == ["b"] and not only_b.drifted
    psi = dataset_drift(ref, cur, columns=["a", "b"], method="psi", thresholds={"a": 5.0})
    assert [c.method for c in psi.columns] == ["psi", "psi"] and not psi.columns[0].drifted


def test_parquet_drift_reads_column_by_column(tmp_path: Any) -> None:
    rng = np.random.default_rng(5)
    ref = pd.DataFrame({"a": rng.normal(0, 1, 1500), "c": rng.choice(list("xyz"), 1500),
                        "e": rng.integers(0, 9, 1500)})
    cur = pd.DataFrame({"a": rng.normal(0.5, 1, 1200), "c": rng.choice(list("xyz"), 1200),
                        "e": rng.integers(0, 9, 1200), "extra": 1.0})
    ref.to_parquet(tmp_path / "ref.parquet")
    cur.to_parquet(tmp_path / "cur.parquet")
    options = drift.DriftOptions(methods={"e": "psi"})
    from_files = drift.parquet_drift(str(tmp_path / "ref.parquet"), str(tmp_path / "cur.parquet"),
                                     options=options)
    from_frames = dataset_drift(ref, cur, methods={"e": "psi"})
    assert from_files == from_frames
    assert [c.column for c in from_files.columns] == ["a", "c", "e"]
    with pytest.raises(InputError, match=r"'extra' is missing from .*ref\.parquet"):
        drift.parquet_drift(str(tmp_path / "cur.parquet"), str(tmp_path / "ref.parquet"))
    (tmp_path / "bad.parquet").write_text("not parquet")
    with pytest.raises(InputError, match=r"bad\.parquet: cannot read as parquet"):
        drift.parquet_drift(str(tmp_path / "bad.parquet"), str(tmp_path / "ref.parquet"))


def test_bad_drift_input() -> None:
    ref = pd.DataFrame({"a": [1.0, 2.0], "s": ["x", "y"]})
    with pytest.raises(InputError, match="'a' is missing from the current data"):
        dataset_drift(ref, pd.DataFrame({"s": ["x"]}))
    with pytest.raises(InputError, match="unknown drift method"):
        column_drift([1.0], [2.0], method="magic")  # type: ignore[arg-type]
    with pytest.raises(InputError, match="needs a numeric column"):
        column_drift(["x", "y"], ["y", "y"], method="ks")
    with pytest.raises(InputError, match="expected numbers"):
        column_drift(pd.Series(["x", "y"]), pd.Series(["y", "z"]), kind="numeric")
    with pytest.raises(InputError, match="share"):
        dataset_drift(ref, ref, share=0)
    for bad in (float("nan"), float("inf"), 0.0, -0.1, "0.05", True):
        with pytest.raises(InputError, match=r"^column 'a': drift threshold must be a number "
                                             r"above 0, got "):
            dataset_drift(ref, ref, columns=["a"], thresholds={"a": bad})  # type: ignore[dict-item]
