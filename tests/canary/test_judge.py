"""The judge on constructed samples: classification, scoring and the verdict."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

from mlci.canary import checks, judge
from mlci.canary.settings import Metric, Settings, load
from mlci.config import Config

RNG = np.random.default_rng(2024)
STABLE = RNG.lognormal(4, 0.3, 2000)  # latency in ms
SLOWER = RNG.lognormal(4, 0.3, 2000) * 1.5  # the canary +50 %
SAME = RNG.lognormal(4, 0.3, 2000)  # another draw of stable's distribution


def settings(section: dict[str, Any] | None = None) -> Settings:
    return load(Config(path=None, data={"version": 1, "canary": section or {}}))


def run(metrics: dict[str, Any], canary: dict[str, np.ndarray], stable: dict[str, np.ndarray],
        **section: Any) -> tuple[list[judge.Outcome], judge.Score]:
    config = settings({"metrics": metrics, **section})
    outcomes = judge.judge(config.metrics, canary, stable, {}, {})
    return outcomes, judge.score(outcomes, config)


def test_identical_samples_pass() -> None:
    outcomes, score = run({"latency": {}}, {"latency": STABLE}, {"latency": STABLE.copy()})
    assert (outcomes[0].label, outcomes[0].reason) == (
        "Pass", "canary and stable samples are identical")
    assert (score.score, score.verdict) == (100.0, "pass")


def test_same_distribution_passes_with_an_interval_around_zero() -> None:
    outcomes, score = run({"latency": {"direction": "increase"}}, {"latency": SAME},
                          {"latency": STABLE})
    test = outcomes[0].test
    assert test is not None and test.ci[0] < 0 < test.ci[1]
    assert (outcomes[0].label, score.score, score.verdict) == ("Pass", 100.0, "pass")


def test_canary_latency_up_50_percent_fails_that_metric() -> None:
    outcomes, score = run({"latency": {"direction": "increase"}}, {"latency": SLOWER},
                          {"latency": STABLE})
    latency = outcomes[0]
    assert latency.label == "High"
    assert latency.ratio == pytest.approx(SLOWER.mean() / STABLE.mean(), abs=1e-12)
    assert latency.test is not None and latency.test.ci[0] > latency.bound > 0
    assert (score.score, score.verdict) == (0.0, "fail")
    check = checks.check(latency)
    assert (check.status, check.extra["classification"]) == ("fail", "High")


def test_one_high_metric_in_twenty_still_scores_95_and_passes_as_in_kayenta() -> None:
    metrics = {f"m{i}": {} for i in range(19)} | {"latency": {"direction": "increase"}}
    canary = {f"m{i}": STABLE for i in range(19)} | {"latency": SLOWER}
    stable = {f"m{i}": STABLE for i in range(19)} | {"latency": STABLE}
    outcomes, score = run(metrics, canary, stable)
    assert [o.label for o in outcomes].count("High") == 1
    assert (score.score, score.verdict) == (95.0, "pass")


def test_a_failing_critical_metric_fails_even_when_the_score_is_high() -> None:
    metrics = {f"m{i}": {} for i in range(19)} | {"latency": {"direction": "increase",
                                                              "critical": True}}
    canary = {f"m{i}": STABLE for i in range(19)} | {"latency": SLOWER}
    stable = {f"m{i}": STABLE for i in range(19)} | {"latency": STABLE}
    outcomes, score = run(metrics, canary, stable)
    assert outcomes[-1].critical is True
    assert (score.score, score.verdict) == (0.0, "fail")
    assert score.reason == "critical metric failed: latency (High)"


def test_too_few_samples_warn_and_never_pass() -> None:
    metrics = {"latency": {}, "errors": {"min_samples": 100}, "cpu": {}}
    canary = {"latency": STABLE, "errors": SAME[:40], "cpu": SAME}
    stable = {"latency": STABLE, "errors": STABLE[:40], "cpu": STABLE}
    outcomes, score = run(metrics, canary, stable)
    assert outcomes[1].label == "NotEnoughData"
    assert outcomes[1].reason == ("not enough data: 40 canary and 40 stable samples; need 100 "
                                  "per side to judge")
    assert (score.score, score.verdict) == (100.0, "warn")
    assert score.reason == ("2 of 3 metrics pass; too few samples for errors (40 canary and 40 "
                            "stable samples; needs 100 per side), so at most warn")
    assert checks.check(outcomes[1]).status == "warn"


def test_only_thin_metrics_warn_rather_than_roll_back() -> None:
    outcomes, score = run({"latency": {}, "cpu": {}}, {"latency": SAME[:10], "cpu": SAME[:10]},
                          {"latency": STABLE[:10], "cpu": STABLE[:12]})
    assert [o.label for o in outcomes] == ["NotEnoughData", "NotEnoughData"]
    assert (score.score, score.verdict) == (None, "warn")
    assert score.reason == ("too few samples to judge latency (10 canary and 10 stable samples; "
                            "needs 50 per side), cpu (10 canary and 12 stable samples; needs 50 "
                            "per side)")


def test_a_clearly_worse_canary_with_too_few_samples_has_no_score() -> None:
    """Issue 12: 30 samples of a canary twice as slow once read `WARN — score 100`."""
    outcomes, score = run({"latency": {"direction": "increase"}}, {"latency": STABLE[:30] * 2},
                          {"latency": STABLE[:49]})
    assert outcomes[0].label == "NotEnoughData"
    assert (score.score, score.verdict, score.scored) == (None, "warn", 1)
    assert score.reason == ("too few samples to judge latency (30 canary and 49 stable samples; "
                            "needs 50 per side)")
    check = checks.score_check(score, settings(), "canary score")
    assert (check.status, check.value, check.message) == (
        "warn", None, "no score: " + score.reason)


def test_enough_samples_on_the_boundary_are_judged() -> None:
    """`min_samples` is inclusive: 50 on each side is enough (and 49 was not, above)."""
    outcomes, score = run({"latency": {"direction": "increase"}}, {"latency": STABLE[:50] * 2},
                          {"latency": STABLE[:50]})
    assert (outcomes[0].label, score.score, score.verdict) == ("High", 0.0, "fail")


def test_thin_and_empty_metrics_together_have_no_score() -> None:
    outcomes, score = run({"a": {}, "b": {}, "c": {"min_samples": 5}},
                          {"a": SAME[:10], "b": SAME[:20], "c": np.array([np.nan, np.nan])},
                          {"a": STABLE[:10], "b": STABLE[:3], "c": STABLE[:10]})
    assert [o.label for o in outcomes] == ["NotEnoughData", "NotEnoughData", "NoData"]
    assert (score.score, score.verdict) == (None, "warn")
    assert score.reason == ("too few samples to judge a (10 canary and 10 stable samples; needs "
                            "50 per side), b (20 canary and 3 stable samples; needs 50 per "
                            "side); no data for c")


def test_a_thin_rate_counts_trials() -> None:
    config = settings({"metrics": {"errors": {"events": "e", "trials": "n"}}})
    outcome = judge.classify_rate(config.metrics[0], (9.0, 20.0), (0.0, 30.0))
    score = judge.score([outcome], config)
    assert (score.score, score.verdict, score.reason) == (
        None, "warn", "too few samples to judge errors (20 canary and 30 stable trials; needs 50 "
                      "per side)")


def test_a_thin_group_keeps_kayentas_score_of_the_rest_and_says_what_was_thin() -> None:
    """Some groups judged: the score is Kayenta's (a group without judged metrics counts
    100), capped at warn, and names the thin metric with its counts."""
    metrics = {"latency": {"group": "latency", "direction": "increase"},
               "cpu": {"group": "resources", "direction": "increase"},
               "memory": {"group": "resources", "direction": "increase"}}
    outcomes, score = run(metrics, {"latency": SLOWER[:20], "cpu": SLOWER, "memory": SAME},
                          {"latency": STABLE[:20], "cpu": STABLE, "memory": STABLE},
                          groups={"latency": 60, "resources": 40})
    assert [o.label for o in outcomes] == ["NotEnoughData", "High", "Pass"]
    assert (score.score, score.verdict) == (80.0, "warn")
    assert score.reason == ("1 of 3 metrics pass; too few samples for latency (20 canary and 20 "
                            "stable samples; needs 50 per side)")


def test_a_critical_failure_still_fails_beside_a_thin_metric() -> None:
    metrics = {"latency": {"direction": "increase", "critical": True}, "cpu": {}}
    _, score = run(metrics, {"latency": SLOWER, "cpu": SAME[:5]},
                   {"latency": STABLE, "cpu": STABLE[:5]})
    assert (score.score, score.verdict) == (0.0, "fail")
    assert score.reason == ("critical metric failed: latency (High); too few samples for cpu (5 "
                            "canary and 5 stable samples; needs 50 per side)")


def test_mostly_missing_data_fails_beside_a_thin_metric() -> None:
    empty = np.array([np.nan])
    outcomes, score = run({"a": {}, "b": {}, "c": {}}, {"a": empty, "b": empty, "c": SAME[:5]},
                          {"a": STABLE, "b": STABLE, "c": STABLE[:5]})
    assert [o.label for o in outcomes] == ["NoData", "NoData", "NotEnoughData"]
    assert (score.score, score.verdict) == (0.0, "fail")
    assert score.reason == ("2 of 3 metrics have no data (≥ 50%); too few samples for c (5 canary "
                            "and 5 stable samples; needs 50 per side)")


def test_direction_decides_which_changes_count() -> None:
    outcomes, _ = run({"latency": {"direction": "decrease"}}, {"latency": SLOWER},
                      {"latency": STABLE})
    assert outcomes[0].label == "Pass"
    assert "only decreases count" in outcomes[0].reason
    outcomes, _ = run({"throughput": {"direction": "decrease"}},
                      {"throughput": STABLE / 1.5}, {"throughput": STABLE})
    assert outcomes[0].label == "Low"


def test_allowed_increase_is_the_effect_size_a_change_must_reach() -> None:
    slightly = SAME * 1.05
    for allowed, label in (("10%", "Pass"), (1.04, "High"), ("60%", "Pass")):
        outcomes, _ = run({"latency": {"allowed_increase": allowed}},
                          {"latency": slightly if allowed != "60%" else SLOWER},
                          {"latency": STABLE})
        assert outcomes[0].label == label, allowed


def test_confidence_and_tolerance_are_configurable() -> None:
    base = run({"latency": {}}, {"latency": SLOWER}, {"latency": STABLE})[0][0]
    wider = run({"latency": {"confidence": 0.999}}, {"latency": SLOWER}, {"latency": STABLE})[0][0]
    assert base.test is not None and wider.test is not None
    assert wider.test.ci[0] < base.test.ci[0] and wider.test.ci[1] > base.test.ci[1]
    assert wider.test.estimate == base.test.estimate
    # tolerance 1: the interval would have to clear the estimate itself, so nothing is High
    strict = run({"latency": {"tolerance": 1.0}}, {"latency": SLOWER}, {"latency": STABLE})[0][0]
    assert (base.label, strict.label) == ("High", "Pass")
    assert strict.bound == abs(base.test.estimate)


def test_missing_values_are_dropped_and_all_missing_is_no_data() -> None:
    gappy = SAME.copy()
    gappy[::10] = np.nan
    outcomes, _ = run({"latency": {}}, {"latency": gappy}, {"latency": STABLE})
    assert (outcomes[0].canary.missing, outcomes[0].canary.n) == (200, 1800)
    empty = np.full(100, np.nan)
    for spec, label, critical in (({}, "NoData", False),
                                  ({"must_have_data": True}, "NodataFailMetric", False),
                                  ({"critical": True}, "NoData", True)):
        outcomes, score = run({"latency": spec, "cpu": {}}, {"latency": empty, "cpu": SAME},
                              {"latency": STABLE, "cpu": STABLE})
        assert (outcomes[0].label, outcomes[0].critical) == (label, critical)
    assert (score.score, score.verdict) == (0.0, "fail")  # the critical one


def test_half_the_metrics_without_data_scores_zero() -> None:
    empty = np.full(10, np.nan)
    _, score = run({"a": {}, "b": {}}, {"a": empty, "b": SAME}, {"a": STABLE, "b": STABLE})
    assert (score.score, score.verdict) == (0.0, "fail")
    assert score.reason == "1 of 2 metrics have no data (≥ 50%)"


def test_nan_strategy_replace_counts_missing_as_zero() -> None:
    gappy = STABLE.copy()
    gappy[:500] = np.nan
    outcomes, _ = run({"latency": {"nan_strategy": "replace"}}, {"latency": gappy},
                      {"latency": STABLE})
    assert (outcomes[0].canary.n, outcomes[0].canary.missing, outcomes[0].label) == (
        2000, 500, "Low")


def test_group_weights_as_kayenta_sums_them() -> None:
    metrics = {"p50": {"group": "latency"}, "p99": {"group": "latency"},
               "errors": {"group": "errors"}}
    canary = {"p50": SLOWER, "p99": STABLE, "errors": STABLE}
    stable = {"p50": STABLE, "p99": STABLE, "errors": STABLE}
    _, score = run(metrics, canary, stable, groups={"latency": 60, "errors": 40})
    assert [(g.name, g.score, g.weight) for g in score.groups] == [
        ("latency", 50.0, 60.0), ("errors", 100.0, 40.0)]
    assert (score.score, score.verdict) == (70.0, "fail")
    _, score = run(metrics, canary, stable, groups={"latency": 60})
    assert [g.weight for g in score.groups] == [60.0, 40.0]  # unweighted groups share the rest


def test_the_score_rounds_half_up_to_two_decimals() -> None:
    metrics = {"a": {}, "b": {}, "c": {}}
    _, score = run(metrics, {"a": SLOWER, "b": SAME, "c": SAME},
                   {"a": STABLE, "b": STABLE, "c": STABLE})
    assert (score.score, score.verdict) == (66.67, "fail")
    assert judge._round(12.345) == 12.35 and judge._round(0.125) == 0.13


def test_marginal_scores_warn() -> None:
    metrics = {f"m{i}": {} for i in range(9)} | {"latency": {}}
    canary = {f"m{i}": STABLE for i in range(9)} | {"latency": SLOWER}
    stable = {f"m{i}": STABLE for i in range(9)} | {"latency": STABLE}
    _, score = run(metrics, canary, stable)
    assert (score.score, score.verdict) == (90.0, "warn")
    _, score = run(metrics, canary, stable, **{"pass": 90})
    assert score.verdict == "pass"


def test_muted_metrics_are_reported_not_scored() -> None:
    outcomes, score = run({"latency": {"muted": True}, "cpu": {}},
                          {"latency": SLOWER, "cpu": SAME}, {"latency": STABLE, "cpu": STABLE})
    assert outcomes[0].label == "High"
    assert checks.check(outcomes[0]).status == "skip"
    assert (score.score, score.scored) == (100.0, 1)


def test_both_sides_constant_but_different_is_judged_exactly() -> None:
    outcomes, _ = run({"queue": {}}, {"queue": np.full(80, 3.0)}, {"queue": np.full(80, 2.0)})
    assert outcomes[0].label == "High"
    assert outcomes[0].test is not None and outcomes[0].test.ci == (1.0, 1.0)
    outcomes, _ = run({"queue": {}}, {"queue": np.full(80, 2.0)}, {"queue": np.full(60, 2.0)})
    assert (outcomes[0].label, outcomes[0].reason) == ("Pass", "every sample on both sides is 2")


def test_outliers_are_kept_unless_asked() -> None:
    spiky = np.concatenate([SAME, [1e6] * 5])
    kept = run({"latency": {}}, {"latency": spiky}, {"latency": STABLE})[0][0]
    removed = run({"latency": {"outliers": "remove"}}, {"latency": spiky},
                  {"latency": STABLE})[0][0]
    # Kayenta's IQRDetector(3, reduceSensitivity): fences widened to the 1st/99th percentiles
    q01, q25, q75, q99 = np.percentile(spiky, [1, 25, 75, 99], method="weibull")
    low, high = min(q01, q25 - 3 * (q75 - q25)), max(q99, q75 + 3 * (q75 - q25))
    outside = int(np.count_nonzero((spiky < low) | (spiky > high)))
    assert outside == 7  # the five spikes and two of the lognormal's own tail
    assert (kept.canary.n, kept.canary.outliers) == (2005, 0)
    assert (removed.canary.n, removed.canary.outliers) == (2005 - outside, outside)


def test_rates_from_counts_use_the_two_proportion_test() -> None:
    config = settings({"metrics": {"errors": {"events": "e", "trials": "n",
                                              "direction": "increase", "critical": True}}})
    metric = config.metrics[0]
    high = judge.classify_rate(metric, (300.0, 10_000.0), (100.0, 10_000.0))
    assert (high.label, high.critical, high.ratio) == ("High", True, 3.0)
    same = judge.classify_rate(metric, (101.0, 10_000.0), (100.0, 10_000.0))
    assert same.label == "Pass"
    thin = judge.classify_rate(metric, (1.0, 20.0), (0.0, 20.0))
    assert thin.label == "NotEnoughData"


def test_cles_effect_size() -> None:
    outcome = run({"latency": {"effect_size": "cles", "allowed_increase": 0.9}},
                  {"latency": SLOWER}, {"latency": STABLE})[0][0]
    assert outcome.test is not None
    assert outcome.effect == outcome.test.u / (2000 * 2000)
    assert 0.5 < outcome.effect < 0.9 and outcome.label == "Pass"


def test_metric_defaults_are_kayentas() -> None:
    metric = settings().metric("x")
    assert (metric.direction, metric.confidence, metric.tolerance, metric.allowed_increase,
            metric.allowed_decrease, metric.outliers, metric.nan_strategy) == (
        "either", 0.98, 0.25, 1.0, 1.0, "keep", "remove")
    assert Metric(name="x").groups == ("default",)
