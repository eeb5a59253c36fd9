"""The canary judge: classify each metric, then score the run, as Kayenta's
NetflixACAJudge does (read from its source, `kayenta-judge`):

* per metric: NaNs dropped (or replaced by 0), outliers kept unless asked
  (Tukey fences at 3 × IQR, widened to the 1st/99th percentiles); an empty side
  is NoData (NodataFailMetric when `must_have_data`); identical samples, or one
  value on both sides, Pass; otherwise a two-sided Mann–Whitney test with the
  Hodges–Lehmann shift and its interval at confidence 0.98 (`shift.py`).
  High when the direction allows it, the interval's low end is above
  0.25 × |estimate| and the effect size (mean ratio canary/stable) is at least
  `allowed_increase` (1.0); Low mirrored with `allowed_decrease`. A critical
  metric that is High/Low beyond `critical_increase`/`critical_decrease`, or has
  no data, is a critical failure.
* score: per group, 100 × Pass / (Pass + High + Low + NodataFailMetric) (a group
  with none of these counts 100); summed with the group weights (groups without a
  weight share what the weights leave of 100 equally); rounded to 2 decimals.
  The score is 0 when a critical metric failed or ≥ 50 % of the metrics had no
  data. Pass at ≥ 95, marginal (warn) at ≥ 75, fail below (Kayenta's usual setup).

Where mlci differs (see docs/canary.md): confidence and tolerance are
configurable; fewer than `min_samples` values on a side is NotEnoughData — left
out of the score like NoData but not counted towards the 50 % rule (too early to
tell is no reason to roll back), and the verdict is at most warn; when no metric
could be judged at all there is no score (None, never Kayenta's 100 for a run
without scoreable groups) and the verdict is warn, saying how many samples each
side had and needed; both
sides constant but different is judged exactly (the shift is the difference)
instead of adding Gaussian noise; the interval ends are computed exactly; and
rates given as counts use the two-proportion test instead of Mann–Whitney."""

from __future__ import annotations

import math
import os
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal
from typing import Literal, TypeVar

import numpy as np
import numpy.typing as npt

from mlci.canary.proportions import RateTest, rate_test
from mlci.canary.settings import Metric, Settings
from mlci.canary.shift import Shift, shift_test

FloatArray = npt.NDArray[np.float64]
Label = Literal["Pass", "High", "Low", "NoData", "NodataFailMetric", "NotEnoughData"]
Verdict = Literal["pass", "warn", "fail", "skip"]
NODATA_SHARE = 50.0  # Kayenta: the score is 0 when this % or more of the metrics have no data
_PARALLEL_SAMPLES = 400_000  # judge metrics on threads above this many samples in all

T = TypeVar("T")
R = TypeVar("R")


@dataclass(frozen=True)
class Side:
    """What one side's samples looked like after NaN and outlier handling."""

    n: int
    missing: int = 0
    outliers: int = 0
    mean: float = math.nan
    median: float = math.nan


@dataclass(frozen=True)
class Outcome:
    metric: Metric
    label: Label
    critical: bool  # a critical failure: fails the run on its own
    reason: str
    canary: Side
    stable: Side
    test: Shift | RateTest | None = None
    ratio: float = math.nan  # mean(canary) / mean(stable), Kayenta's "deviation"
    effect: float = math.nan  # the effect size compared with allowed_* (ratio or CLES)
    bound: float = math.nan  # tolerance × |estimate|: what the interval had to clear


@dataclass(frozen=True)
class GroupScore:
    name: str
    score: float
    weight: float
    no_data: bool
    counts: dict[str, int] = field(default_factory=dict)


@dataclass(frozen=True)
class Score:
    score: float | None  # None: nothing could be judged, so there is no number to show
    verdict: Verdict
    reason: str
    groups: tuple[GroupScore, ...]
    scored: int


# --- per metric ---


def prepare(values: FloatArray, metric: Metric) -> tuple[FloatArray, Side]:
    """NaN strategy, then outliers; returns the sorted sample and what was dropped."""
    missing = int(np.count_nonzero(np.isnan(values)))
    if missing:
        values = np.nan_to_num(values, nan=0.0) if metric.nan_strategy == "replace" else values[
            ~np.isnan(values)]
    values = np.sort(values)
    removed = 0
    if metric.outliers == "remove" and values.size:
        values, removed = _without_outliers(values, metric.outlier_factor)
    if not values.size:
        return values, Side(0, missing, removed)
    middle = values.size // 2
    median = float(values[middle] if values.size % 2 else (values[middle - 1] + values[middle]) / 2)
    return values, Side(int(values.size), missing, removed, float(values.mean()), median)


def _without_outliers(values: FloatArray, factor: float) -> tuple[FloatArray, int]:
    """Kayenta's IQRDetector(factor, reduceSensitivity = true); percentiles as
    commons-math computes them (Hyndman–Fan type 6, numpy's "weibull")."""
    q01, q25, q75, q99 = np.percentile(values, [1, 25, 75, 99], method="weibull")
    iqr = q75 - q25
    low, high = min(q01, q25 - factor * iqr), max(q99, q75 + factor * iqr)
    keep = (values >= low) & (values <= high)
    return values[keep], int(values.size - np.count_nonzero(keep))


def classify(metric: Metric, canary_values: FloatArray, stable_values: FloatArray) -> Outcome:
    canary, canary_side = prepare(np.asarray(canary_values, dtype=np.float64), metric)
    stable, stable_side = prepare(np.asarray(stable_values, dtype=np.float64), metric)
    sides = {"canary": canary_side, "stable": stable_side}
    early = _without_test(metric, canary, stable, canary_side, stable_side)
    if early is not None:
        return early
    test = shift_test(canary, stable, confidence=metric.confidence, presorted=True)
    ratio = _ratio(canary_side.mean, stable_side.mean)
    effect = ratio if metric.effect_size == "mean_ratio" else test.u / (canary.size * stable.size)
    return _decide(metric, test, ratio, effect, **sides)


def _without_test(metric: Metric, canary: FloatArray, stable: FloatArray, canary_side: Side,
                  stable_side: Side) -> Outcome | None:
    def outcome(label: Label, reason: str, critical: bool = False) -> Outcome:
        ratio = _ratio(canary_side.mean, stable_side.mean)
        return Outcome(metric, label, critical, reason, canary_side, stable_side, ratio=ratio)

    if canary.size == 0 or stable.size == 0:
        empty = " and ".join(side for side, values in (("canary", canary), ("stable", stable))
                             if values.size == 0)
        if metric.nan_strategy == "replace":
            return outcome("Pass", f"no {empty} data (nan_strategy replace counts that as a pass)")
        if metric.must_have_data and not metric.critical:
            return outcome("NodataFailMetric", f"no {empty} data, and must_have_data is set")
        return outcome("NoData", f"no {empty} data (every sample missing)", metric.critical)
    if canary.size < metric.min_samples or stable.size < metric.min_samples:
        return outcome("NotEnoughData", f"not enough data: {canary.size} canary and "
                                        f"{stable.size} stable samples; need "
                                        f"{metric.min_samples} per side to judge")
    if canary.size == stable.size and np.array_equal(canary, stable):
        return outcome("Pass", "canary and stable samples are identical")
    if canary[0] == canary[-1] == stable[0] == stable[-1]:
        return outcome("Pass", f"every sample on both sides is {_num(canary[0])}")
    return None


def classify_rate(metric: Metric, canary: tuple[float, float],
                  stable: tuple[float, float]) -> Outcome:
    """A rate given as (events, trials) per side: the two-proportion test."""
    (e1, n1), (e2, n2) = canary, stable
    canary_side = Side(int(n1), mean=e1 / n1, median=math.nan)
    stable_side = Side(int(n2), mean=e2 / n2, median=math.nan)
    if n1 < metric.min_samples or n2 < metric.min_samples:
        return Outcome(metric, "NotEnoughData", False,
                       f"not enough data: {n1:g} canary and {n2:g} stable trials; need "
                       f"{metric.min_samples} per side to judge", canary_side, stable_side,
                       ratio=_ratio(e1 / n1, e2 / n2))
    test = rate_test(e1, n1, e2, n2, confidence=metric.confidence)
    ratio = _ratio(test.rate_canary, test.rate_stable)
    return _decide(metric, test, ratio, ratio, canary=canary_side, stable=stable_side)


def _decide(metric: Metric, test: Shift | RateTest, ratio: float, effect: float, *,
            canary: Side, stable: Side) -> Outcome:
    bound = metric.tolerance * abs(test.estimate)
    low, high = test.ci
    unknown = math.isnan(effect)
    is_high = (metric.direction in ("increase", "either") and low > bound
               and (unknown or effect >= metric.allowed_increase))
    is_low = (metric.direction in ("decrease", "either") and high < -bound
              and (unknown or effect <= metric.allowed_decrease))
    label: Label = "High" if is_high else "Low" if is_low else "Pass"
    critical = metric.critical and (
        (is_high and (unknown or effect >= metric.critical_increase))
        or (is_low and (unknown or effect <= metric.critical_decrease)))
    reason = _reason(metric, test, label, bound, effect, critical)
    return Outcome(metric, label, critical, reason, canary, stable, test, ratio, effect, bound)


def _reason(metric: Metric, test: Shift | RateTest, label: Label, bound: float, effect: float,
            critical: bool) -> str:
    what = "rate difference" if isinstance(test, RateTest) else "shift"
    level = f"{test.confidence * 100:g}%"
    ci = f"{level} CI {_num(test.ci[0], True)}..{_num(test.ci[1], True)}"
    shift = f"{what} {_num(test.estimate, True)} ({ci})"
    measure = "mean ratio" if metric.effect_size == "mean_ratio" else "CLES"
    if label in ("High", "Low"):
        word = "higher" if label == "High" else "lower"
        side = "low" if label == "High" else "high"
        edge = test.ci[0] if label == "High" else test.ci[1]
        allowed = metric.allowed_increase if label == "High" else metric.allowed_decrease
        size = "" if math.isnan(effect) else (
            f"; {measure} {effect:.4g} {'≥' if label == 'High' else '≤'} allowed {allowed:g}")
        tag = " (critical)" if critical else ""
        return (f"{label}{tag}: canary is {word}: {shift}; the interval's {side} end "
                f"{_num(edge, True)} is beyond ±{_num(bound)} ({metric.tolerance:g} × |shift|)"
                f"{size}")
    low, high = test.ci
    up_ok = metric.direction in ("increase", "either")
    down_ok = metric.direction in ("decrease", "either")
    if low > bound:
        why = (f"higher, but only {metric.direction}s count (direction)" if not up_ok else
               f"higher, but {measure} {effect:.4g} < allowed increase "
               f"{metric.allowed_increase:g}")
    elif high < -bound:
        why = (f"lower, but only {metric.direction}s count (direction)" if not down_ok else
               f"lower, but {measure} {effect:.4g} > allowed decrease "
               f"{metric.allowed_decrease:g}")
    else:
        why = f"no shift beyond ±{_num(bound)} ({metric.tolerance:g} × |shift|)"
    return f"Pass: {why}: {shift}"


def _ratio(canary_mean: float, stable_mean: float) -> float:
    """Kayenta's meanRatio: NaN when either mean is 0 (the ratio says nothing then)."""
    if canary_mean == 0.0 or stable_mean == 0.0 or math.isnan(canary_mean) or math.isnan(
            stable_mean):
        return math.nan
    return canary_mean / stable_mean


def _num(value: float, signed: bool = False) -> str:
    text = f"{value:+.4g}" if signed else f"{value:.4g}"
    return text.replace("-", "−")


# --- all metrics ---


def judge(metrics: Sequence[Metric], canary: dict[str, FloatArray], stable: dict[str, FloatArray],
          canary_counts: dict[str, tuple[float, float]],
          stable_counts: dict[str, tuple[float, float]]) -> list[Outcome]:
    """Classify every metric, in the given order (large samples on threads: numpy's
    sorts and searches release the GIL)."""
    def one(metric: Metric) -> Outcome:
        if metric.is_rate:
            return classify_rate(metric, canary_counts[metric.name], stable_counts[metric.name])
        return classify(metric, canary[metric.name], stable[metric.name])

    total = sum(v.size for v in canary.values()) + sum(v.size for v in stable.values())
    return _map(one, metrics, parallel=total >= _PARALLEL_SAMPLES and len(metrics) > 1)


def _map(function: Callable[[T], R], items: Iterable[T], *, parallel: bool) -> list[R]:
    workers = min(4, os.cpu_count() or 1)
    if not parallel or workers < 2:
        return [function(item) for item in items]
    with ThreadPoolExecutor(max_workers=workers) as pool:
        return list(pool.map(function, items))


def score(outcomes: Sequence[Outcome], settings: Settings) -> Score:
    scored = [o for o in outcomes if not o.metric.muted]
    if not scored:
        return Score(0.0, "skip", "every metric is muted: nothing was judged", (), 0)
    groups = _groups(scored, settings)
    failures = [o for o in scored if o.critical and o.label != "Pass"]
    no_data = [o for o in scored if o.label == "NoData"]
    thin = [o for o in scored if o.label == "NotEnoughData"]
    if failures:
        names = ", ".join(f"{o.metric.name} ({o.label})" for o in failures)
        value, reason = 0.0, f"critical metric failed: {names}"
    elif len(no_data) * 100.0 / len(scored) >= NODATA_SHARE:
        value = 0.0
        reason = f"{len(no_data)} of {len(scored)} metrics have no data (≥ {NODATA_SHARE:g}%)"
    elif all(g.no_data for g in groups):
        return Score(None, "warn", _unjudged(thin, no_data), tuple(groups), len(scored))
    else:
        value = _round(sum((100.0 if g.no_data else g.score) * g.weight / 100.0 for g in groups))
        passing = sum(o.label == "Pass" for o in scored)
        reason = f"{passing} of {len(scored)} metrics pass"
    verdict: Verdict = ("pass" if value >= settings.pass_score else
                        "warn" if value >= settings.marginal_score else "fail")
    if thin:
        reason += f"; too few samples for {_counts(thin)}"
        if verdict == "pass":
            verdict = "warn"
            reason += ", so at most warn"
    return Score(value, verdict, reason, tuple(groups), len(scored))


def _unjudged(thin: Sequence[Outcome], no_data: Sequence[Outcome]) -> str:
    """Why there is no score: a group of only NoData/NotEnoughData metrics would count
    100 in Kayenta's sum, and a run of only such groups would score 100 — a number
    earned by nothing. Warn instead, saying what each side had and needs."""
    parts = []
    if thin:
        parts.append(f"too few samples to judge {_counts(thin)}")
    if no_data:
        parts.append(f"no data for {', '.join(o.metric.name for o in no_data)}")
    return "; ".join(parts)


def _counts(thin: Sequence[Outcome]) -> str:
    """`latency (20 canary and 12 stable samples; needs 50 per side)` per metric."""
    def one(o: Outcome) -> str:
        unit = "trials" if o.metric.is_rate else "samples"
        return (f"{o.metric.name} ({o.canary.n} canary and {o.stable.n} stable {unit}; needs "
                f"{o.metric.min_samples} per side)")

    return ", ".join(one(o) for o in thin)


def _groups(scored: Sequence[Outcome], settings: Settings) -> list[GroupScore]:
    labels: dict[str, list[Label]] = {}
    for outcome in scored:
        for group in outcome.metric.groups:
            labels.setdefault(group, []).append(outcome.label)
    weights = settings.group_weights
    unweighted = [g for g in labels if g not in weights]
    share = (100.0 - sum(weights.values())) / len(unweighted) if unweighted else 0.0
    found = []
    for name, members in labels.items():
        counts: dict[str, int] = {label: members.count(label) for label in dict.fromkeys(members)}
        total = sum(counts.get(k, 0) for k in ("Pass", "High", "Low", "NodataFailMetric"))
        value = 100.0 * counts.get("Pass", 0) / total if total else 0.0
        found.append(GroupScore(name, value, weights.get(name, share), total == 0, counts))
    return found


def _round(value: float) -> float:
    """Half-up to 2 decimals, as commons-math's Precision.round does in Kayenta."""
    return float(Decimal(repr(value)).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP))

