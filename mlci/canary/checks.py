"""The judge's outcome as a result document: one check per metric, one for the score,
and a result whose verdict is the judge's decision."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from mlci.canary.judge import Outcome, Score
from mlci.canary.proportions import RateTest
from mlci.canary.settings import Metric, Settings
from mlci.result import Check, Result, Status

JUDGE = "NetflixACAJudge-v1.0 semantics (mlci)"
SCORE_CHECK = "canary score"


@dataclass
class CanaryResult(Result):
    """A result whose verdict is the judge's decision from the score, not the worst
    check: a non-critical metric classified High or Low fails its own check and
    lowers the score, but a run that still scores at least `pass` passes, exactly
    as in Kayenta."""

    decision: Status = "skip"

    @property
    def verdict(self) -> Status:
        return self.decision


def unique_name(metrics: list[Metric]) -> str:
    """The score check's name, clear of a metric that happens to be called the same."""
    names = {m.name for m in metrics}
    name = SCORE_CHECK
    while name in names:
        name = f"{name} (judge)"
    return name


def status(outcome: Outcome) -> Status:
    """High, Low and NodataFailMetric fail their metric (Kayenta shows them red) while
    the run's verdict still comes from the score; a metric without (enough) data warns
    unless it is critical."""
    if outcome.metric.muted:
        return "skip"
    if outcome.label == "Pass":
        return "pass"
    if outcome.label in ("NoData", "NotEnoughData"):
        return "fail" if outcome.critical else "warn"
    return "fail"


def check(outcome: Outcome) -> Check:
    metric, test = outcome.metric, outcome.test
    message = f"(muted, not scored) {outcome.reason}" if metric.muted else outcome.reason
    return Check(name=metric.name, metric=metric.name, status=status(outcome), message=message,
                 value=finite(outcome.canary.mean), baseline=finite(outcome.stable.mean),
                 delta=test.estimate if test else None, ci=test.ci if test else None,
                 threshold=finite(outcome.bound), p_value=test.p_value if test else None,
                 location=metric.location, extra=_details(outcome))


def _details(outcome: Outcome) -> dict[str, Any]:
    """What Kayenta's report shows for a metric: classification, effect size, samples,
    and the test that decided it."""
    metric, test = outcome.metric, outcome.test
    extra: dict[str, Any] = {
        "classification": outcome.label, "critical": metric.critical,
        "direction": metric.direction, "groups": list(metric.groups),
        "ratio": finite(outcome.ratio),
        "effect_size": {"measure": metric.effect_size, "value": finite(outcome.effect),
                        "allowed_increase": metric.allowed_increase,
                        "allowed_decrease": metric.allowed_decrease},
        "samples": {"canary": outcome.canary.n, "stable": outcome.stable.n},
    }
    if outcome.canary.missing or outcome.stable.missing:
        extra["missing"] = {"canary": outcome.canary.missing, "stable": outcome.stable.missing}
    if outcome.canary.outliers or outcome.stable.outliers:
        extra["outliers_removed"] = {"canary": outcome.canary.outliers,
                                     "stable": outcome.stable.outliers}
    if isinstance(test, RateTest):
        extra["test"] = "two-proportion"
        extra["counts"] = {"canary": [test.events_canary, test.trials_canary],
                           "stable": [test.events_stable, test.trials_stable]}
    elif test is not None:
        extra["test"] = "mann-whitney"
        extra["u"] = test.u
        extra["median"] = {"canary": finite(outcome.canary.median),
                           "stable": finite(outcome.stable.median)}
    if test is not None:
        extra["confidence"] = test.confidence
        extra["tolerance"] = metric.tolerance
    return extra


def score_check(scored: Score, settings: Settings, name: str) -> Check:
    location = settings.config.location("canary") if settings.config else None
    return Check(name=name, status=scored.verdict,
                 message=f"{score_text(scored)}: {scored.reason}", value=scored.score,
                 threshold=settings.pass_score, location=location,
                 extra={"marginal": settings.marginal_score, "metrics_scored": scored.scored})


def score_text(scored: Score) -> str:
    """`score 75`, or `no score` when nothing could be judged (never a made-up 100)."""
    return "no score" if scored.score is None else f"score {scored.score:g}"


def summary(scored: Score, settings: Settings) -> str:
    if scored.score is None:
        return f"no score → {scored.verdict}: {scored.reason}"
    return (f"score {scored.score:g} → {scored.verdict} (pass ≥ {settings.pass_score:g}, "
            f"marginal ≥ {settings.marginal_score:g}): {scored.reason}")


def finite(value: float) -> float | None:
    return None if value is None or (isinstance(value, float) and math.isnan(value)) else value
