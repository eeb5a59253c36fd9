"""Paired bootstrap: agreement with scipy.stats.bootstrap, with mlci.metrics, and with itself.

Two kinds of agreement with scipy are checked, and they differ on purpose:

* Row resampling (``resampling="rows"``) draws the very same resamples as
  ``scipy.stats.bootstrap(paired=True, vectorized=True)`` for the same seed (both
  call ``Generator.integers(0, n, (B, n))``), computes the same jackknife and
  uses the same quantile rule, so percentile and BCa intervals must agree to
  1e-9 — the only differences are floating-point summation order.
* The fast path for label metrics draws cell counts from a multinomial instead of
  row indices. That has the same distribution as row resampling but not the same
  draws, so it can only agree within Monte-Carlo error: with B resamples a 2.5 %
  quantile has a standard error of about 0.04 σ·sqrt(4000 / B), σ being the
  bootstrap standard deviation; the difference of two independent runs is √2 times
  that, and we allow 0.3 σ (five standard errors) at B = 4000.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import numpy.typing as npt
import pytest
from scipy import stats

from mlci import metrics
from mlci.errors import InputError
from mlci.stats import bootstrap, intervals, kernels, units
from mlci.stats.bootstrap import paired_bootstrap

IntArr = npt.NDArray[np.int64]


def _binary(n: int, seed: int, acc_c: float = 0.85, acc_b: float = 0.82) -> dict[str, Any]:
    rng = np.random.default_rng(seed)
    y = rng.integers(0, 2, n)
    pc = np.where(rng.random(n) < acc_c, y, 1 - y)
    pb = np.where(rng.random(n) < acc_b, y, 1 - y)
    sc = np.clip(0.5 * pc + 0.5 * rng.random(n), 0, 1)
    sb = np.clip(0.5 * pb + 0.5 * rng.random(n), 0, 1)
    return {"y": y, "pc": pc, "pb": pb, "sc": sc, "sb": sb}


def _regression(n: int, seed: int) -> dict[str, Any]:
    rng = np.random.default_rng(seed)
    y = rng.normal(10, 3, n)
    return {"y": y, "pc": y + rng.normal(0, 1.0, n), "pb": y + rng.normal(0.2, 1.1, n)}


# Reference statistics for scipy, written directly on index arrays of any shape (…, n).

def _acc(y: Any, p: Any, i: IntArr) -> Any:
    return (p[i] == y[i]).mean(axis=-1)


def _f1(y: Any, p: Any, i: IntArr) -> Any:
    tp = ((p == 1) & (y == 1))[i].sum(axis=-1)
    fp = ((p == 1) & (y == 0))[i].sum(axis=-1)
    fn = ((p == 0) & (y == 1))[i].sum(axis=-1)
    return 2 * tp / (2 * tp + fp + fn)


def _auc(y: Any, s: Any, i: IntArr) -> Any:
    pos = (y == 1)[i]
    ranks = stats.rankdata(s[i], axis=-1)
    n_pos = pos.sum(axis=-1)
    n_neg = pos.shape[-1] - n_pos
    return ((ranks * pos).sum(axis=-1) - n_pos * (n_pos + 1) / 2) / (n_pos * n_neg)


def _log_loss(y: Any, s: Any, i: IntArr) -> Any:
    eps = np.finfo(np.float64).eps
    p = np.clip(np.where(y == 1, s, 1 - s), eps, 1 - eps)
    return (-np.log(p))[i].mean(axis=-1)


def _brier(y: Any, s: Any, i: IntArr) -> Any:
    return ((y - s) ** 2)[i].mean(axis=-1)


def _rmse(y: Any, p: Any, i: IntArr) -> Any:
    return np.sqrt(((y - p) ** 2)[i].mean(axis=-1))


def _mae(y: Any, p: Any, i: IntArr) -> Any:
    return np.abs(y - p)[i].mean(axis=-1)


def _r2(y: Any, p: Any, i: IntArr) -> Any:
    yi = y[i]
    sse = ((yi - p[i]) ** 2).sum(axis=-1)
    sst = ((yi - yi.mean(axis=-1, keepdims=True)) ** 2).sum(axis=-1)
    return 1 - sse / sst


REFERENCE = {"accuracy": ("pc", "pb", _acc), "f1": ("pc", "pb", _f1),
             "roc_auc": ("sc", "sb", _auc), "log_loss": ("sc", "sb", _log_loss),
             "brier": ("sc", "sb", _brier)}
REGRESSION_REFERENCE = {"rmse": _rmse, "mae": _mae, "r2": _r2}


def _scipy_ci(data: dict[str, Any], fn: Any, cand: str, base: str, method: str,
              resamples: int, seed: int) -> tuple[float, float]:
    y = data["y"]

    def statistic(i: IntArr, axis: int = -1) -> Any:
        return fn(y, data[cand], i) - fn(y, data[base], i)

    res = stats.bootstrap((np.arange(y.shape[0]),), statistic, paired=True, vectorized=True,
                          n_resamples=resamples, rng=seed, method=method)
    return float(res.confidence_interval.low), float(res.confidence_interval.high)


@pytest.mark.parametrize("method", ["percentile", "bca"])
@pytest.mark.parametrize("metric", sorted(REFERENCE))
def test_rows_match_scipy_bootstrap_exactly(metric: str, method: str) -> None:
    data = _binary(300, seed=11)
    cand, base, fn = REFERENCE[metric]
    ours = paired_bootstrap([metric], data["y"], task="binary", candidate_pred=data["pc"],
                            baseline_pred=data["pb"], candidate_score=data["sc"],
                            baseline_score=data["sb"], resamples=999, seed=5,
                            method=method, resampling="rows")[metric]  # type: ignore[arg-type]
    ref = _scipy_ci(data, fn, cand, base, method, 999, 5)
    assert ours.ci is not None
    assert ours.ci == pytest.approx(ref, abs=1e-9)
    assert ours.method == f"bootstrap-{method}"


@pytest.mark.parametrize("method", ["percentile", "bca"])
@pytest.mark.parametrize("metric", sorted(REGRESSION_REFERENCE))
def test_regression_rows_match_scipy_bootstrap_exactly(metric: str, method: str) -> None:
    data = _regression(250, seed=3)
    ours = paired_bootstrap([metric], data["y"], task="regression", candidate_pred=data["pc"],
                            baseline_pred=data["pb"], resamples=999, seed=9,
                            method=method)[metric]  # type: ignore[arg-type]
    ref = _scipy_ci(data, REGRESSION_REFERENCE[metric], "pc", "pb", method, 999, 9)
    assert ours.ci == pytest.approx(ref, abs=1e-9)


def test_row_draws_do_not_depend_on_chunk_size(monkeypatch: pytest.MonkeyPatch) -> None:
    data = _binary(400, seed=2)
    args = {"task": "binary", "candidate_score": data["sc"], "baseline_score": data["sb"],
            "candidate_pred": data["pc"], "baseline_pred": data["pb"], "resamples": 500,
            "seed": 4, "resampling": "rows"}
    whole = paired_bootstrap(["roc_auc", "f1"], data["y"], **args)
    monkeypatch.setattr(units, "ROW_CHUNK_ELEMENTS", 3 * 400)
    monkeypatch.setattr(units, "CHUNK_BYTES", 1)
    chunked = paired_bootstrap(["roc_auc", "f1"], data["y"], **args)
    for name in whole:
        assert whole[name].ci == chunked[name].ci


def test_cells_agree_with_scipy_within_monte_carlo_error() -> None:
    """The multinomial-over-cells fast path vs scipy's row resampling; see module doc."""
    data = _binary(2000, seed=21)
    for metric in ("accuracy", "f1"):
        cand, base, fn = REFERENCE[metric]
        ours = paired_bootstrap([metric], data["y"], task="binary", candidate_pred=data["pc"],
                                baseline_pred=data["pb"], resamples=4000, seed=1,
                                method="bca")[metric]
        ref = _scipy_ci(data, fn, cand, base, "bca", 4000, 2)
        assert ours.distribution is not None and ours.ci is not None
        sigma = float(np.std(ours.distribution.deltas))
        assert abs(ours.ci[0] - ref[0]) <= 0.3 * sigma
        assert abs(ours.ci[1] - ref[1]) <= 0.3 * sigma


def test_multiclass_cells_agree_with_rows() -> None:
    rng = np.random.default_rng(8)
    n = 1500
    y = rng.choice(["a", "b", "c", "d"], n)
    pc = np.where(rng.random(n) < 0.7, y, rng.choice(["a", "b", "c", "d"], n))
    pb = np.where(rng.random(n) < 0.65, y, rng.choice(["a", "b", "c", "e"], n))
    names = ["accuracy", "balanced_accuracy", "precision", "recall", "f1"]
    fast = paired_bootstrap(names, y, task="multiclass", candidate_pred=pc, baseline_pred=pb,
                            resamples=4000, seed=1, method="bca")
    rows = paired_bootstrap(names, y, task="multiclass", candidate_pred=pc, baseline_pred=pb,
                            resamples=4000, seed=2, resampling="rows")
    for name in names:
        a, b = fast[name], rows[name]
        assert a.distribution is not None and a.ci is not None and b.ci is not None
        sigma = float(np.std(a.distribution.deltas))
        assert a.delta == b.delta
        assert abs(a.ci[0] - b.ci[0]) <= 0.3 * sigma
        assert abs(a.ci[1] - b.ci[1]) <= 0.3 * sigma


# --- the vectorised metrics are mlci.metrics ------------------------------------

LABEL = ["accuracy", "balanced_accuracy", "precision", "recall", "f1"]


def _resampled_counts(group: Any, idx: IntArr) -> Any:
    units = group.mult.shape[0]
    mapped = group.unit_of_row[idx] if group.unit_of_row is not None else idx
    return np.stack([np.bincount(row, minlength=units) for row in mapped]).astype(float)


@pytest.mark.parametrize(("task", "k"), [("binary", 2), ("multiclass", 4),
                                         ("multiclass", 12)])  # 12: the sparse layout
def test_label_metrics_equal_mlci_metrics_on_resamples(task: str, k: int) -> None:
    rng = np.random.default_rng(5)
    n = 40  # small, so resamples often miss a class: the edge cases of macro averages
    labels = list(range(k))
    y = rng.choice(labels, n)
    pc, pb = rng.choice(labels, n), rng.choice(labels, n)
    group, _ = units.label_group(LABEL, y, [pc, pb], task, 1, by_cells=True)
    idx = rng.integers(0, n, (30, n))
    idx[0] = np.arange(n)  # the full data
    idx[1] = np.flatnonzero(y == y[0])[0]  # one row repeated: single-class resample
    counts = _resampled_counts(group, idx)
    for name in LABEL:
        got = group.stats[name].values(counts)
        for r in range(idx.shape[0]):
            want_c = metrics.compute(name, y[idx[r]], pc[idx[r]], task=task)
            want_b = metrics.compute(name, y[idx[r]], pb[idx[r]], task=task)
            assert got[r] == pytest.approx([want_c, want_b], abs=1e-12), (name, r)


@pytest.mark.parametrize("name", ["rmse", "mae", "r2", "mape", "roc_auc", "log_loss", "brier"])
def test_row_metrics_equal_mlci_metrics_on_resamples(name: str) -> None:
    rng = np.random.default_rng(6)
    n = 60
    if name in ("roc_auc", "log_loss", "brier"):
        task = "binary"
        y = rng.integers(0, 2, n)
        preds = [np.round(rng.random(n), 1), rng.random(n)]  # rounding makes tied scores
        truth: Any = y == 1
    else:
        task = "regression"
        y = np.round(rng.normal(0, 2, n), 1)
        y[:5] = 0.0  # zero targets: mape's epsilon
        preds = [y + rng.normal(0, 1, n), y + rng.normal(0, 1.5, n)]
        truth = y.astype(float)
    stat = kernels.row_statistic(name, truth, preds)
    idx = rng.integers(0, n, (25, n))
    idx[0] = np.arange(n)
    counts = np.stack([np.bincount(row, minlength=n) for row in idx]).astype(float)
    got = stat.values(counts)
    for r in range(idx.shape[0]):
        i = idx[r]
        if name == "roc_auc" and len(set(y[i])) < 2:
            continue
        key = "y_score" if task == "binary" else "y_pred"
        want = [metrics.compute(name, y[i], **{key: p[i]}, task=task) for p in preds]
        assert got[r] == pytest.approx(want, rel=1e-12, abs=1e-12), (name, r)


@pytest.mark.parametrize("name", ["r2", "roc_auc", "rmse", "accuracy", "f1", "f1-12"])
def test_jackknife_is_leave_one_row_out(name: str) -> None:
    rng = np.random.default_rng(9)
    n = 30
    y: Any
    preds: list[Any]
    if name in ("accuracy", "f1", "f1-12"):
        k = 12 if name == "f1-12" else 2
        name = name.split("-")[0]
        y = rng.integers(0, k, n)
        preds = [rng.integers(0, k, n), rng.integers(0, k, n)]
        task = "binary" if k == 2 else "multiclass"
        group, _ = units.label_group([name], y, preds, task, 1, by_cells=True)
        stat, mult, unit = group.stats[name], group.mult, group.unit_of_row
    else:
        y = rng.integers(0, 2, n) if name == "roc_auc" else rng.normal(0, 1, n)
        preds = [np.round(rng.random(n), 1), rng.random(n)]
        truth = (y == 1) if name == "roc_auc" else y
        stat, mult, unit = kernels.row_statistic(name, truth, preds), np.ones(n), None
    values, weights = stat.jackknife(mult)
    assert weights.sum() == n
    unit_of = unit if unit is not None else np.arange(n)
    kept = np.flatnonzero(mult > 0)
    for row in range(n):  # leave each row out by hand
        counts = np.bincount(unit_of[np.delete(np.arange(n), row)], minlength=mult.shape[0])
        want = stat.values(counts[None, :].astype(float))[0]
        got = values[np.searchsorted(kept, unit_of[row])]
        assert got == pytest.approx(want, abs=1e-12)


def test_many_classes_stay_fast_and_exact() -> None:
    rng = np.random.default_rng(1)
    n, k = 3000, 150  # more cells than rows / 4: rows are drawn, sums stay sparse
    y = rng.integers(0, k, n)
    pc = np.where(rng.random(n) < 0.6, y, rng.integers(0, k, n))
    pb = np.where(rng.random(n) < 0.5, y, rng.integers(0, k, n))
    est = paired_bootstrap(LABEL, y, task="multiclass", candidate_pred=pc, baseline_pred=pb,
                           resamples=300, seed=0)
    for name in LABEL:
        assert est[name].candidate == pytest.approx(
            metrics.compute(name, y, pc, task="multiclass"), abs=1e-12)
        ci = est[name].ci
        assert ci is not None and ci[0] > 0


def test_point_values_equal_mlci_metrics() -> None:
    data = _binary(500, seed=4)
    names = ["accuracy", "balanced_accuracy", "precision", "recall", "f1", "roc_auc",
             "log_loss", "brier"]
    est = paired_bootstrap(names, data["y"], task="binary", candidate_pred=data["pc"],
                           baseline_pred=data["pb"], candidate_score=data["sc"],
                           baseline_score=data["sb"], resamples=50, seed=0)
    for name in names:
        key, c, b = ("y_score", "sc", "sb") if name in kernels.SCORE_METRICS else \
            ("y_pred", "pc", "pb")
        want_c = metrics.compute(name, data["y"], **{key: data[c]}, task="binary")
        want_b = metrics.compute(name, data["y"], **{key: data[b]}, task="binary")
        assert est[name].candidate == pytest.approx(want_c, abs=1e-12)
        assert est[name].baseline == pytest.approx(want_b, abs=1e-12)
        assert est[name].delta == pytest.approx(want_c - want_b, abs=1e-12)


# --- behaviour ------------------------------------------------------------------


def test_seeded_runs_repeat_and_direction_is_candidate_minus_baseline() -> None:
    data = _binary(1000, seed=1, acc_c=0.9, acc_b=0.8)
    a = paired_bootstrap(["accuracy"], data["y"], task="binary", candidate_pred=data["pc"],
                         baseline_pred=data["pb"], seed=7, method="bca")["accuracy"]
    b = paired_bootstrap(["accuracy"], data["y"], task="binary", candidate_pred=data["pc"],
                         baseline_pred=data["pb"], seed=7, method="bca")["accuracy"]
    assert a.ci == b.ci
    assert a.delta > 0 and a.ci is not None and a.ci[0] > 0
    assert a.resamples == bootstrap.DEFAULT_RESAMPLES
    assert a.test == "mcnemar-exact" and a.p_value is not None and a.p_value < 1e-4
    auto = paired_bootstrap(["accuracy"], data["y"], task="binary", candidate_pred=data["pc"],
                            baseline_pred=data["pb"], seed=8)["accuracy"]
    assert (auto.method, auto.resamples, auto.test, auto.p_value) == (
        "score-scas", 0, "mcnemar-exact", a.p_value)
    assert auto.delta == a.delta and auto.ci is not None and auto.ci[0] > 0


def test_methods_chosen_per_metric() -> None:
    data = _binary(300, seed=3)
    est = paired_bootstrap(["accuracy", "f1", "precision", "roc_auc", "brier"], data["y"],
                           task="binary", candidate_pred=data["pc"], baseline_pred=data["pb"],
                           candidate_score=data["sc"], baseline_score=data["sb"],
                           resamples=200, seed=1)
    assert {k: (e.method, e.test, e.resamples) for k, e in est.items()} == {
        "accuracy": ("score-scas", "mcnemar-exact", 0),
        "f1": ("dirichlet", "dirichlet", 200), "precision": ("dirichlet", "dirichlet", 200),
        "roc_auc": ("delong", "delong", 0),
        "brier": ("bootstrap-percentile-expanded", "bootstrap", 200)}
    plain = paired_bootstrap(["accuracy", "f1"], data["y"], task="binary",
                             candidate_pred=data["pc"], baseline_pred=data["pb"],
                             resamples=200, seed=1, method="percentile")
    assert [e.method for e in plain.values()] == ["bootstrap-percentile"] * 2


def test_identical_models() -> None:
    """Identical predictions on 300 rows: the bootstrap sees no disagreement and says
    [0, 0]; the score interval and the Dirichlet posterior still allow the disagreement
    300 rows cannot rule out (up to about 1 %), symmetrically for accuracy."""
    data = _binary(300, seed=3)
    args = {"task": "binary", "candidate_pred": data["pc"], "baseline_pred": data["pc"],
            "candidate_score": data["sc"], "baseline_score": data["sc"], "resamples": 200,
            "seed": 1}
    boot = paired_bootstrap(["accuracy", "f1", "roc_auc"], data["y"], method="bca", **args)
    for e in boot.values():
        assert e.delta == 0.0 and e.ci == (0.0, 0.0)
        assert e.p_value == 1.0
    auto = paired_bootstrap(["accuracy", "f1", "roc_auc"], data["y"], **args)
    low, high = auto["accuracy"].ci or (0.0, 0.0)
    assert low == pytest.approx(-high, abs=1e-15) and high == pytest.approx(0.0108931061, 1e-8)
    assert auto["accuracy"].p_value == 1.0
    f1_low, f1_high = auto["f1"].ci or (0.0, 0.0)
    assert f1_low < -0.005 and f1_high > 0.005
    assert auto["roc_auc"].ci == (0.0, 0.0)


def test_interval_and_p_value_agree_at_every_level() -> None:
    data = _binary(800, seed=12)
    e = paired_bootstrap(["f1"], data["y"], task="binary", candidate_pred=data["pc"],
                         baseline_pred=data["pb"], resamples=1000, seed=3)["f1"]
    dist = e.distribution
    assert dist is not None
    for null in np.linspace(dist.deltas[0] - 0.01, dist.deltas[-1] + 0.01, 41):
        p = dist.p_value(float(null))
        for level in (0.8, 0.9, 0.95, 0.99):
            low, high = dist.interval(level)
            excluded = low > null or high < null
            if abs(p - (1 - level)) > 1e-9:
                assert excluded == (p < 1 - level), (null, level, p, low, high)


@pytest.mark.parametrize(("kwargs", "needle"), [
    ({"y_true": [1]}, "at least 2 rows"),
    ({"candidate_pred": [0, 1]}, "has 2 rows but y_true has 4"),
    ({"metrics": ["accuracyy"]}, "no paired bootstrap"),
    ({"metrics": ["rmse"]}, "is for regression"),
    ({"metrics": ["roc_auc"], "candidate_score": None}, "needs scores"),
    ({"metrics": ["roc_auc"], "candidate_score": [0.1, float("nan"), 0.3, 0.4]}, "missing"),
    ({"metrics": ["roc_auc"], "y_true": [1, 1, 1, 1]}, "both classes"),
    ({"resamples": 0}, "resamples"),
    ({"confidence": 1.0}, "confidence"),
    ({"task": "ranking"}, "unknown task"),
])
def test_bad_input_is_one_clear_error(kwargs: dict[str, Any], needle: str) -> None:
    args: dict[str, Any] = {"metrics": ["accuracy"], "y_true": [0, 1, 1, 0],
                            "candidate_pred": [0, 1, 0, 0], "baseline_pred": [0, 1, 1, 1],
                            "candidate_score": [0.1, 0.9, 0.4, 0.3],
                            "baseline_score": [0.2, 0.8, 0.7, 0.6], "task": "binary"}
    args.update(kwargs)
    with pytest.raises(InputError, match=needle):
        paired_bootstrap(args.pop("metrics"), args.pop("y_true"), **args)


def test_unpaired_estimate_has_no_interval() -> None:
    est = bootstrap.unpaired_estimate("accuracy", 0.91, 0.9)
    assert est.ci is None and not est.paired
    assert est.delta == pytest.approx(0.01)


# --- the small-sample methods of method="auto" -------------------------------------


def test_expanded_tails_are_hesterbergs() -> None:
    """α' = Φ(√(n/(n−1)) · t_{n−1}(α)), by hand with scipy's t quantile, and back."""
    for n in (2, 5, 20, 100, 999):
        for alpha in (0.0005, 0.025, 0.05, 0.3):
            want = stats.norm.cdf(np.sqrt(n / (n - 1)) * stats.t.ppf(alpha, n - 1))
            got = intervals.expanded_tail(alpha, n)
            assert got == pytest.approx(want, rel=1e-10, abs=1e-300)
            if got > 1e-250:  # below, Φ underflows: no level reaches that far out
                assert intervals.nominal_tail(got, n) == pytest.approx(alpha, rel=1e-9)
    assert intervals.expanded_tail(0.025, 20) == pytest.approx(0.0158808, abs=1e-7)


def test_expanded_interval_and_p_value_agree_at_every_level() -> None:
    data = _regression(60, seed=4)
    e = paired_bootstrap(["mae"], data["y"], task="regression", candidate_pred=data["pc"],
                         baseline_pred=data["pb"], resamples=1000, seed=3)["mae"]
    dist = e.distribution
    assert isinstance(dist, intervals.BootstrapDistribution)
    assert (e.method, dist.method, dist.expand_n) == (
        "bootstrap-percentile-expanded", "percentile", 60)
    level = intervals.expanded_tail(0.025, 60)
    assert e.ci == pytest.approx(tuple(np.quantile(dist.deltas, [level, 1 - level])), abs=1e-15)
    for null in np.linspace(dist.deltas[0] - 0.01, dist.deltas[-1] + 0.01, 41):
        p = dist.p_value(float(null))
        for confidence in (0.8, 0.9, 0.95, 0.99):
            low, high = dist.interval(confidence)
            if abs(p - (1 - confidence)) > 1e-9:
                assert (low > null or high < null) == (p < 1 - confidence)
    big = _regression(1200, seed=4)
    e = paired_bootstrap(["mae"], big["y"], task="regression", candidate_pred=big["pc"],
                         baseline_pred=big["pb"], resamples=200, seed=3)["mae"]
    assert e.method == "bootstrap-bca-expanded"


def test_dirichlet_draws_are_numpys_with_jeffreys_prior() -> None:
    """The f1 interval of a binary task, recomputed by hand: weights over the 8 cells
    (true, candidate, baseline label) from numpy's Dirichlet with the observed counts
    plus 0.5 each, f1 of both models from the weighted cells, type-7 quantiles."""
    data = _binary(150, seed=9)
    y, pc, pb = data["y"], data["pc"], data["pb"]
    est = paired_bootstrap(["f1"], y, task="binary", candidate_pred=pc, baseline_pred=pb,
                           resamples=500, seed=21)["f1"]
    counts = np.bincount((y * 2 + pc) * 2 + pb, minlength=8).astype(float)
    weights = np.random.default_rng(21).dirichlet(counts + 0.5, size=500)
    cell = np.arange(8)
    t, c, b = cell // 4, (cell // 2) % 2, cell % 2

    def f1(pred: Any) -> Any:
        tp = weights @ ((t == 1) & (pred == 1))
        return 2 * tp / (weights @ (t == 1) + weights @ (pred == 1))

    deltas = np.sort(f1(c) - f1(b))
    assert est.ci == pytest.approx(tuple(np.quantile(deltas, [0.025, 0.975])), abs=1e-12)
    assert est.delta == pytest.approx(metrics.compute("f1", y, pc, task="binary")
                                      - metrics.compute("f1", y, pb, task="binary"), abs=1e-12)
    assert (est.method, est.test, est.resamples) == ("dirichlet", "dirichlet", 500)


def test_many_classes_fall_back_to_the_bootstrap() -> None:
    rng = np.random.default_rng(2)
    n, k = 600, 20  # 20 true labels x 400 label pairs: more cells than the posterior weighs
    y = rng.integers(0, k, n)
    pc = np.where(rng.random(n) < 0.7, y, rng.integers(0, k, n))
    pb = np.where(rng.random(n) < 0.7, y, rng.integers(0, k, n))
    est = paired_bootstrap(["f1"], y, task="multiclass", candidate_pred=pc, baseline_pred=pb,
                           resamples=200, seed=0)["f1"]
    assert est.method == "bootstrap-percentile-expanded"


def test_roc_auc_is_delongs_interval() -> None:
    from mlci.stats.tests import delong

    data = _binary(400, seed=6)
    est = paired_bootstrap(["roc_auc"], data["y"], task="binary", candidate_score=data["sc"],
                           baseline_score=data["sb"], confidence=0.9, seed=1)["roc_auc"]
    ref = delong(data["y"] == 1, data["sc"], data["sb"], confidence=0.9)
    assert est.ci == pytest.approx(ref.ci, abs=1e-15)
    assert (est.p_value, est.delta, est.method) == (ref.p_value, ref.delta, "delong")
    assert est.distribution is not None
    assert est.distribution.p_value(0.0) == pytest.approx(ref.p_value, abs=1e-15)
    tiny = paired_bootstrap(["roc_auc"], [1, 0, 0, 0, 0], task="binary",
                            candidate_score=[0.9, 0.1, 0.2, 0.3, 0.4],
                            baseline_score=[0.8, 0.5, 0.2, 0.3, 0.1], resamples=50, seed=1)
    assert tiny["roc_auc"].method.startswith("bootstrap-")  # DeLong needs 2 of each class
