"""`mlci canary`: judge a live canary against stable, the way Kayenta does, in any CI job.

The judge (`judge.py`, statistics in `shift.py` and `proportions.py`) classifies
each metric and scores the run; this module reads the two sides (`inputs.py`,
`prometheus.py`) and turns the outcome into a result document whose verdict is
the judge's: pass at a score ≥ 95, warn (marginal) at ≥ 75, fail below or when
a critical metric fails — so `if: steps.judge.outputs.verdict == 'fail'` can
roll back, and `promote --require canary` can gate on it."""

from __future__ import annotations

import math
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from mlci.config import Config
from mlci.errors import InputError
from mlci.result import Check, Result, Status

if TYPE_CHECKING:
    from mlci.canary.inputs import Samples
    from mlci.canary.judge import Outcome, Score
    from mlci.canary.settings import Metric, Settings

JUDGE = "NetflixACAJudge-v1.0 semantics (mlci)"
SCORE_CHECK = "canary score"


@dataclass(frozen=True)
class Options:
    stable: str
    canary: str
    model: str | None = None  # the model version the canary serves (ties the verdict to it)
    weight: int | None = None  # the canary's share of traffic in this step, in percent


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


def run(config: Config, options: Options) -> Result:
    from mlci.canary import inputs, judge
    from mlci.canary import settings as settings_module

    settings = settings_module.load(config)
    listed = settings.metrics or None
    now = time.time()  # both sides are read over the same window
    stable = inputs.load(options.stable, "stable", settings, listed, now=now)
    canary = inputs.load(options.canary, "canary", settings, listed, now=now)
    metrics = list(listed) if listed else _common(settings, stable, canary, options)
    outcomes = judge.judge(metrics, canary.values, stable.values, canary.counts, stable.counts)
    scored = judge.score(outcomes, settings)
    checks = [_check(outcome) for outcome in outcomes]
    checks.append(_score_check(scored, settings, _unique_name(metrics)))
    subject: dict[str, Any] = {
        "model": options.model,
        "inputs": {side: samples.digest for side, samples in (("stable", stable),
                                                              ("canary", canary))
                   if samples.digest},
    }
    extra: dict[str, Any] = {
        "judge": JUDGE, "score": scored.score,
        "thresholds": {"pass": settings.pass_score, "marginal": settings.marginal_score},
        "groups": [{"name": g.name, "score": g.score, "weight": g.weight, "no_data": g.no_data,
                    "counts": g.counts} for g in scored.groups],
        "stable_source": options.stable, "canary_source": options.canary,
    }
    if options.weight is not None:
        extra["traffic"] = {"canary": options.weight, "stable": 100 - options.weight}
    queries = {f"{side}:{k}": q for side, samples in (("stable", stable), ("canary", canary))
               for k, q in samples.queries.items()}
    if queries:
        extra["queries"] = queries
    summary = (f"no score → {scored.verdict}: {scored.reason}" if scored.score is None else
               f"score {scored.score:g} → {scored.verdict} (pass ≥ {settings.pass_score:g}, "
               f"marginal ≥ {settings.marginal_score:g}): {scored.reason}")
    return CanaryResult(step="canary", checks=checks, summary=summary, subject=subject,
                        extra=extra, decision=scored.verdict)


def _common(settings: Settings, stable: Samples, canary: Samples,
            options: Options) -> list[Metric]:
    """Without `canary.metrics`, every metric both inputs have, with the defaults."""
    only_stable = [n for n in stable.values if n not in canary.values]
    only_canary = [n for n in canary.values if n not in stable.values]
    if only_stable or only_canary:
        name, side, src = ((only_stable[0], "stable", options.stable) if only_stable else
                           (only_canary[0], "canary", options.canary))
        other = options.canary if side == "stable" else options.stable
        raise InputError(f"metric {name!r} is in {src} (the {side} side) but not in {other}; "
                         "both sides need the same metrics, or list the ones to judge under "
                         "canary.metrics in the config")
    return [settings.metric(name) for name in stable.values]


def _unique_name(metrics: list[Metric]) -> str:
    names = {m.name for m in metrics}
    name = SCORE_CHECK
    while name in names:
        name = f"{name} (judge)"
    return name


def _status(outcome: Outcome) -> Status:
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


def _check(outcome: Outcome) -> Check:
    from mlci.canary.proportions import RateTest

    metric, test = outcome.metric, outcome.test
    message = f"(muted, not scored) {outcome.reason}" if metric.muted else outcome.reason
    extra: dict[str, Any] = {
        "classification": outcome.label, "critical": metric.critical,
        "direction": metric.direction, "groups": list(metric.groups),
        "ratio": _finite(outcome.ratio),
        "effect_size": {"measure": metric.effect_size, "value": _finite(outcome.effect),
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
        extra["median"] = {"canary": _finite(outcome.canary.median),
                           "stable": _finite(outcome.stable.median)}
    if test is not None:
        extra["confidence"] = test.confidence
        extra["tolerance"] = metric.tolerance
    return Check(name=metric.name, metric=metric.name, status=_status(outcome), message=message,
                 value=_finite(outcome.canary.mean), baseline=_finite(outcome.stable.mean),
                 delta=test.estimate if test else None, ci=test.ci if test else None,
                 threshold=_finite(outcome.bound), p_value=test.p_value if test else None,
                 location=metric.location, extra=extra)


def _score_check(scored: Score, settings: Settings, name: str) -> Check:
    location = settings.config.location("canary") if settings.config else None
    return Check(name=name, status=scored.verdict,
                 message=f"{_score_text(scored)}: {scored.reason}", value=scored.score,
                 threshold=settings.pass_score, location=location,
                 extra={"marginal": settings.marginal_score, "metrics_scored": scored.scored})


def _score_text(scored: Score) -> str:
    """`score 75`, or `no score` when nothing could be judged (never a made-up 100)."""
    return "no score" if scored.score is None else f"score {scored.score:g}"


def _finite(value: float) -> float | None:
    return None if value is None or (isinstance(value, float) and math.isnan(value)) else value
