"""Margins, policies, Holm across a family, rows-to-settle, and the A/A error rates."""

from __future__ import annotations

import math

import numpy as np
import pytest

from mlci.errors import InputError
from mlci.stats.bootstrap import (
    BootstrapDistribution,
    DeltaEstimate,
    paired_bootstrap,
    unpaired_estimate,
)
from mlci.stats.decision import (
    Hypothesis,
    decide,
    decide_family,
    default_margin,
    hypothesis_for,
    margin_for,
    rows_to_settle,
)


def _estimate(center: float, sd: float, *, metric: str = "accuracy", n: int = 1000,
              baseline: float = 0.9, seed: int = 0) -> DeltaEstimate:
    """A synthetic normal bootstrap distribution, so verdicts can be set up exactly."""
    rng = np.random.default_rng(seed)
    deltas = np.sort(center + sd * rng.standard_normal(4000))
    dist = BootstrapDistribution(deltas, center, 0.0, 0.0, "percentile")
    return DeltaEstimate(metric, baseline + center, baseline, center, dist.interval(0.95),
                         None, "bootstrap-percentile", n=n, resamples=4000, distribution=dist)


def test_default_margins() -> None:
    assert default_margin(0.8, bounded=True) == 0.005
    assert default_margin(250.0, bounded=False) == pytest.approx(2.5)
    assert default_margin(-40.0, bounded=False) == pytest.approx(0.4)
    assert margin_for("rmse", 10.0, bounded=False, overrides={"rmse": 0.3}) == 0.3
    with pytest.raises(InputError, match="non-negative"):
        margin_for("rmse", 10.0, bounded=False, overrides={"rmse": -1})


def test_hypothesis_for_reads_direction_and_boundedness_from_metrics() -> None:
    acc = hypothesis_for(_estimate(0.0, 0.01))
    assert acc.higher_is_better and acc.margin == 0.005
    rmse = hypothesis_for(_estimate(0.0, 0.01, metric="rmse", baseline=20.0))
    assert not rmse.higher_is_better and rmse.margin == pytest.approx(0.2)
    brier = hypothesis_for(_estimate(0.0, 0.01, metric="brier", baseline=0.2))
    assert brier.margin == 0.005  # bounded, lower is better
    assert hypothesis_for(_estimate(0, 0.01), margins={"accuracy": 0.02}).margin == 0.02


@pytest.mark.parametrize(("center", "status"), [(0.002, "pass"), (-0.02, "fail"),
                                                (-0.005, "warn")])
def test_not_worse_higher_is_better(center: float, status: str) -> None:
    d = decide(Hypothesis(_estimate(center, 0.002), True, 0.005, "accuracy"))
    assert d.status == status
    assert d.threshold == -0.005
    assert d.ci is not None and d.confidence == 0.95
    if status == "pass":
        assert d.ci[0] > -0.005 and "is above the margin -0.005" in d.message
    elif status == "fail":
        assert d.ci[1] < -0.005 and "is below the margin" in d.message
    else:
        assert d.ci[0] < -0.005 < d.ci[1] and "straddles" in d.message


@pytest.mark.parametrize(("center", "status"), [(-0.3, "pass"), (0.5, "fail"),
                                                (0.2, "warn")])
def test_not_worse_lower_is_better(center: float, status: str) -> None:
    # rmse: margin 0.2 means the candidate may be up to 0.2 worse (higher)
    d = decide(Hypothesis(_estimate(center, 0.05, metric="rmse"), False, 0.2, "rmse"))
    assert d.status == status
    assert d.threshold == 0.2
    assert "lower is better" in d.message


@pytest.mark.parametrize(("center", "status"), [(0.02, "pass"), (0.0, "fail"),
                                                (0.005, "warn")])
def test_better_policy(center: float, status: str) -> None:
    d = decide(Hypothesis(_estimate(center, 0.002), True, 0.005), policy="better")
    assert d.status == status
    assert d.threshold == 0.005


def test_warn_estimates_rows_to_settle() -> None:
    d = decide(Hypothesis(_estimate(0.0, 0.004, n=2000), True, 0.005))
    assert d.status == "warn"
    assert d.rows_needed is not None and d.more_rows == d.rows_needed - 2000
    # se at n = 2000 is 0.004; 80 % power at the 95 % level needs (2.80 · se′)² ≤ gap²
    expected = 2000 * ((1.959964 + 0.841621) * 0.004 / 0.005) ** 2
    assert d.rows_needed == pytest.approx(expected, rel=0.05)
    assert f"{d.more_rows:,} more rows" in d.message
    # a larger sample with the same estimate would (usually) settle it
    settled = decide(Hypothesis(_estimate(0.0, 0.004 * math.sqrt(2000 / d.rows_needed),
                                    n=d.rows_needed), True, 0.005))
    assert settled.status == "pass"


def test_rows_to_settle_edge_cases() -> None:
    assert rows_to_settle(100, -0.005, -0.01, 0.0, -0.005, 0.95) is None
    assert rows_to_settle(100, 0.0, -0.01, 0.01, -0.005, 0.95) == math.ceil(
        100 * ((1.959964 + 0.841621) * (0.01 / 1.959964) / 0.005) ** 2)


def test_holm_widens_intervals_and_keeps_them_consistent() -> None:
    # Alone, each would pass at 95 % (p ≈ 0.03 for the first two); together, Holm tests
    # the second-smallest p at 0.05 / 2, where they stop being conclusive.
    estimates = [_estimate(0.0037, 0.004, seed=1), _estimate(0.0037, 0.004, seed=2),
                 _estimate(0.030, 0.004, seed=3)]
    hypotheses = [Hypothesis(e, True, 0.005, f"m{i}") for i, e in enumerate(estimates)]
    alone = [decide(g) for g in hypotheses]
    assert [d.status for d in alone] == ["pass", "pass", "pass"]
    family = decide_family(hypotheses)
    assert [d.status for d in family] == ["warn", "warn", "pass"]
    assert all(d.tests == 3 for d in family)
    for d in family:
        assert d.confidence is not None and d.confidence > 0.95
        assert d.ci is not None and d.p_value is not None
        excludes = d.ci[0] > d.threshold or d.ci[1] < d.threshold
        assert excludes == (d.status != "warn")
        assert (d.p_value < 0.05) == (d.status != "warn")
        assert "Holm-adjusted over 3 tests" in d.message


def test_unpaired_gates_say_so_and_stay_out_of_the_family() -> None:
    hypotheses = [Hypothesis(unpaired_estimate("accuracy", 0.90, 0.902), True, 0.005),
                  Hypothesis(_estimate(0.01, 0.002), True, 0.005)]
    first, second = decide_family(hypotheses)
    assert first.status == "pass" and "unpaired" in first.message and first.ci is None
    assert second.tests == 1
    worse = decide(Hypothesis(unpaired_estimate("accuracy", 0.88, 0.90), True, 0.005))
    assert worse.status == "fail"


def test_bad_policy_and_confidence() -> None:
    hypothesis = Hypothesis(_estimate(0.0, 0.01), True, 0.005)
    with pytest.raises(InputError, match="unknown policy"):
        decide(hypothesis, policy="maybe")  # type: ignore[arg-type]
    with pytest.raises(InputError, match="confidence"):
        decide(hypothesis, confidence=95)


# --- A/A error rates (bench/aa_simulation.py is the full version) -----------------


def _fail_rate(cells: tuple[float, float, float, float], reps: int, n: int,
               seed: int) -> float:
    """Share of `fail` verdicts (not-worse, accuracy, default margin) over simulated
    eval sets whose rows fall into (both right, only candidate right, only baseline
    right, both wrong) with the given probabilities."""
    rng = np.random.default_rng(seed)
    fails = 0
    for rep in range(reps):  # repetitions of an experiment, not bootstrap resamples
        kind = rng.choice(4, size=n, p=cells)
        y = rng.integers(0, 2, n)
        cand_right = (kind == 0) | (kind == 1)
        base_right = (kind == 0) | (kind == 2)
        pc = np.where(cand_right, y, 1 - y)
        pb = np.where(base_right, y, 1 - y)
        est = paired_bootstrap(["accuracy"], y, task="binary", candidate_pred=pc,
                               baseline_pred=pb, seed=rep)["accuracy"]
        fails += decide(hypothesis_for(est)).status == "fail"
    return fails / reps


def test_aa_rarely_fails_and_a_real_drop_usually_does() -> None:
    """Equal models disagreeing on 10 % of 5,000 rows: `fail` in ≤ 5 % of runs. A true
    2-point accuracy drop with the same disagreement: `fail` in ≥ 90 %. 200 runs each,
    seeded (so the rates are fixed numbers, not flaky draws), through accuracy's score
    interval; the exact rates (bench/aa_simulation.py) are 0.10 % and 92.0 %."""
    aa = _fail_rate((0.80, 0.05, 0.05, 0.10), reps=200, n=5000, seed=1)
    drop = _fail_rate((0.80, 0.04, 0.06, 0.10), reps=200, n=5000, seed=2)
    assert aa <= 0.05, aa
    assert drop >= 0.90, drop


def test_a_relative_margin_never_falls_below_the_absolute_one() -> None:
    """1 % of a zero baseline (mae of a perfect regressor, r2 of 0) would be a zero
    margin; the absolute 0.005 is the floor, and above it the relative margin stands."""
    assert default_margin(0.0, bounded=False) == 0.005
    assert default_margin(0.3, bounded=False) == 0.005
    assert default_margin(-0.2, bounded=False) == 0.005
    assert default_margin(0.5, bounded=False) == 0.005
    assert default_margin(0.6, bounded=False) == pytest.approx(0.006)
    identical = hypothesis_for(_estimate(0.0, 0.0, metric="mae", baseline=0.0))
    assert identical.margin == 0.005
    assert decide(identical).status == "pass"
    slightly_worse = hypothesis_for(_estimate(1e-6, 1e-7, metric="mae", baseline=0.0))
    assert decide(slightly_worse).status == "pass"
    assert hypothesis_for(_estimate(0.0, 0.001, metric="r2", baseline=0.0)).margin == 0.005
