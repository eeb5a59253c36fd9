"""Verdicts: is the candidate not worse (or better) than the baseline, by a margin?

Every metric is put on an *improvement* scale (delta for higher-is-better
metrics, −delta for lower-is-better ones) and compared with a boundary: −margin
for the `not-worse` policy, +margin for `better`. With the two-sided interval of
the improvement:

* pass — the whole interval lies above the boundary;
* fail — the whole interval lies below it;
* warn — it straddles the boundary: the data cannot tell, and we estimate how
  many rows would.

Under `not-worse` a pass is a shown non-inferiority and a fail a shown
regression beyond the margin; under `better` a pass is a shown improvement of at
least the margin and a fail shows the improvement is smaller than the margin.
Each of these is a test of "improvement = boundary" at the two-sided level
1 − confidence (each direction at half of it), which is what makes the interval
wording and the test wording the same statement.

Multiplicity. When several metrics (and slices) are judged at once, each extra
interval is one more chance of a false pass or a false fail. We control the
family-wise error rate with Holm's step-down procedure, applied to the p-values
of those boundary tests — p-values obtained by inverting the very intervals we
display (`IntervalSource.p_value`: bootstrap, Dirichlet, score or DeLong), not
from a separate test. A hypothesis Holm rejects at rank j was tested at level α/(m − j + 1), and
we show its interval at confidence 1 − α/(m − j + 1): that interval excludes the
boundary. Hypotheses Holm does not reject are shown at the level where the
procedure stopped, where their intervals include the boundary. So every shown
interval agrees with its verdict, and the verdicts are Holm's — with one exception,
in the cautious direction: a verdict that claims a difference (`fail` under
not-worse, `pass` under better) is not given when the test of "no difference"
shown beside it (McNemar's exact test for accuracy, DeLong's for roc_auc) is not
significant at the interval's level; it is a `warn` that says why. At small n the
score interval of accuracy and McNemar's exact test can disagree, and a FAIL next to
"p = 0.07" would contradict itself. Holm rather than
Bonferroni because it is uniformly more powerful under the same (arbitrary)
dependence between metrics — and metrics on the same rows are strongly
dependent. The directional claims (pass vs fail) come from the sign of the
estimate, as in any two-sided test; Holm with directional decisions controls the
error rate for the usual, positively related statistics (Shaffer 1980; Finner
1999), and is the convention reviewers expect. A baseline known only by point
values (unpaired) has no interval and is not in the family.

Rows to settle a warn. A paired interval narrows as 1/√n. If the true delta is
the current estimate, the interval at the same level excludes the boundary with
80 % probability once n′ = n · ((z + 0.84) · se / |estimate − boundary|)², where
se is the interval's half-width towards the boundary divided by z. This is a
planning figure, not a promise: the estimate itself will move.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Literal

import numpy as np
from scipy.special import ndtri

from mlci.errors import InputError
from mlci.metrics import METRICS
from mlci.stats.bootstrap import DEFAULT_CONFIDENCE, DeltaEstimate, IntervalSource
from mlci.stats.tests import holm, holm_levels

Policy = Literal["not-worse", "better"]
Verdict = Literal["pass", "warn", "fail"]
POLICIES: tuple[str, ...] = ("not-worse", "better")

BOUNDED_MARGIN = 0.005  # absolute, for metrics bounded in [0, 1]
RELATIVE_MARGIN = 0.01  # of the baseline value, for unbounded metrics
ABSOLUTE_MARGIN = BOUNDED_MARGIN  # the floor of a relative margin
POWER_Z = float(ndtri(0.8))  # "would likely settle it": 80 % chance


@dataclass(frozen=True)
class Decision:
    """`threshold` and `ci` are on the delta (candidate − baseline) scale, like the
    result document; `ci` is the interval the verdict was read from, at `confidence`
    (Holm-adjusted when `tests` > 1); `p_value` is Holm's adjusted p-value of
    "improvement equals the boundary"."""

    status: Verdict
    message: str
    threshold: float
    ci: tuple[float, float] | None = None
    confidence: float | None = None
    p_value: float | None = None
    rows_needed: int | None = None
    more_rows: int | None = None
    tests: int = 1


@dataclass(frozen=True)
class Hypothesis:
    """One hypothesis of the family Holm's correction runs over: a metric (optionally
    in one slice), its direction and margin. (A "gate" is something else: a result
    document `promote --require` needs.)"""

    estimate: DeltaEstimate
    higher_is_better: bool
    margin: float
    label: str = ""


def default_margin(baseline: float, *, bounded: bool) -> float:
    """0.005 for metrics in [0, 1]; 1 % of the baseline otherwise, because "0.005"
    means nothing for an rmse measured in dollars — but never less than the absolute
    0.005: at a baseline of 0 (the mae of a perfect regressor, an r2 of 0) 1 % is 0,
    and a zero margin calls identical models inconclusive and 1e-6 worse a failure."""
    if bounded:
        return BOUNDED_MARGIN
    return max(RELATIVE_MARGIN * abs(float(baseline)), ABSOLUTE_MARGIN)


def margin_for(metric: str, baseline: float, *, bounded: bool,
               overrides: Mapping[str, float] | None = None) -> float:
    if overrides and metric in overrides:
        value = float(overrides[metric])
        if not math.isfinite(value) or value < 0:
            raise InputError(f"margin for {metric} must be a non-negative number, got {value}")
        return value
    return default_margin(baseline, bounded=bounded)


def hypothesis_for(estimate: DeltaEstimate, *, margins: Mapping[str, float] | None = None,
                   label: str = "") -> Hypothesis:
    """Direction and default margin from `mlci.metrics.METRICS`."""
    spec = METRICS.get(estimate.metric)
    if spec is None:
        raise InputError(f"unknown metric {estimate.metric!r}")
    margin = margin_for(estimate.metric, estimate.baseline, bounded=spec.bounded,
                        overrides=margins)
    return Hypothesis(estimate, spec.higher_is_better, margin, label)


def decide(hypothesis: Hypothesis, *, policy: Policy = "not-worse",
           confidence: float = DEFAULT_CONFIDENCE) -> Decision:
    """One metric alone: no multiplicity adjustment."""
    return decide_family([hypothesis], policy=policy, confidence=confidence)[0]


def decide_family(hypotheses: Sequence[Hypothesis], *, policy: Policy = "not-worse",
                  confidence: float = DEFAULT_CONFIDENCE) -> list[Decision]:
    """Verdicts for hypotheses judged together (all metrics × slices of one comparison),
    Holm-adjusted across the paired ones. Returned in the order given."""
    if policy not in POLICIES:
        raise InputError(f"unknown policy {policy!r}; expected one of {', '.join(POLICIES)}")
    if not 0.0 < confidence < 1.0:
        raise InputError(f"confidence must be between 0 and 1, got {confidence}")
    for hypothesis in hypotheses:
        if not math.isfinite(hypothesis.margin) or hypothesis.margin < 0:
            name = hypothesis.label or hypothesis.estimate.metric
            raise InputError(f"margin for {name} must be a non-negative number, "
                             f"got {hypothesis.margin}")

    thresholds = [_threshold(g, policy) for g in hypotheses]
    paired = [i for i, g in enumerate(hypotheses) if g.estimate.distribution is not None]
    alpha = 1.0 - confidence
    p_raw = np.array([_dist(hypotheses[i]).p_value(thresholds[i]) for i in paired])
    levels, _ = holm_levels(p_raw, alpha)
    p_adj = holm(p_raw)
    m = len(paired)

    out: list[Decision | None] = [None] * len(hypotheses)
    for j, i in enumerate(paired):
        out[i] = _paired_decision(hypotheses[i], policy, thresholds[i], 1.0 - float(levels[j]),
                                  float(p_adj[j]), m)
    for i, hypothesis in enumerate(hypotheses):
        if out[i] is None:
            out[i] = _unpaired_decision(hypothesis, policy, thresholds[i])
    return [d for d in out if d is not None]


def rows_to_settle(n: int, estimate: float, low: float, high: float, boundary: float,
                   confidence: float) -> int | None:
    """Total rows at which an interval like [low, high] around `estimate` would likely
    (80 %) exclude `boundary`, if the estimate stayed put; None if it sits on it."""
    gap = abs(estimate - boundary)
    if gap == 0.0 or n < 1:
        return None
    half = estimate - low if estimate > boundary else high - estimate
    if not half > 0.0:
        half = (high - low) / 2.0
    z = float(ndtri(0.5 + confidence / 2.0))
    se = half / z
    needed = n * ((z + POWER_Z) * se / gap) ** 2
    if not math.isfinite(needed):
        return None
    return max(n + 1, math.ceil(needed))


# --- internals ------------------------------------------------------------------


def _dist(hypothesis: Hypothesis) -> IntervalSource:
    dist = hypothesis.estimate.distribution
    assert dist is not None
    return dist


def _threshold(hypothesis: Hypothesis, policy: Policy) -> float:
    boundary = -hypothesis.margin if policy == "not-worse" else hypothesis.margin
    return boundary if hypothesis.higher_is_better else -boundary


def _paired_decision(hypothesis: Hypothesis, policy: Policy, threshold: float, level: float,
                     p_adj: float, tests: int) -> Decision:
    est = hypothesis.estimate
    dist = est.distribution
    assert dist is not None
    low, high = dist.interval(level)
    sign = 1.0 if hypothesis.higher_is_better else -1.0
    imp_low, imp_high = (low, high) if sign > 0 else (-high, -low)
    boundary = sign * threshold
    if imp_low > boundary:
        status: Verdict = "pass"
    elif imp_high < boundary:
        status = "fail"
    else:
        status = "warn"

    holm_note = f", Holm-adjusted over {tests} tests" if tests > 1 else ""
    where = f"delta {_num(est.delta)} ({_pct(level)} CI {_num(low)}..{_num(high)}{holm_note})"
    direction = "" if hypothesis.higher_is_better else " (lower is better)"
    name = f"{hypothesis.label}: " if hypothesis.label else ""
    rows_needed = more_rows = None
    unshown = _not_significant(est, status, policy, level)
    if unshown:
        message = (f"{name}{where} is {'below' if status == 'fail' else 'above'} the margin "
                   f"{_num(threshold)}{direction}, but {unshown}: inconclusive")
        return Decision("warn", message, threshold, (low, high), level, p_adj, None, None,
                        tests)
    if status == "warn":
        rows_needed = rows_to_settle(est.n, sign * est.delta, imp_low, imp_high, boundary,
                                     level)
        if rows_needed is None:
            tail = ("the estimate sits on the margin, so more rows alone are unlikely "
                    "to settle it")
        else:
            more_rows = rows_needed - est.n
            tail = (f"about {more_rows:,} more rows ({rows_needed:,} in all) would likely "
                    "settle it")
        message = (f"{name}{where} straddles the margin {_num(threshold)}{direction}: "
                   f"inconclusive; {tail}")
    else:
        above = (status == "pass") == hypothesis.higher_is_better
        side = "above" if above else "below"
        meaning = _meaning(status, policy)
        message = f"{name}{where} is {side} the margin {_num(threshold)}{direction}: {meaning}"
    return Decision(status, message, threshold, (low, high), level, p_adj, rows_needed,
                    more_rows, tests)


def _not_significant(est: DeltaEstimate, status: Verdict, policy: Policy,
                     level: float) -> str | None:
    """A verdict that claims a difference (worse beyond the margin; better by it) next to
    a test of "no difference" that does not find one would contradict itself on the
    page — a FAIL beside McNemar's p = 0.07. Such a verdict is not given: the reason,
    or None. The interval and the test can disagree at small n (McNemar's exact test
    is more conservative than the score interval)."""
    claims = (status == "fail") if policy == "not-worse" else (status == "pass")
    if not claims or est.p_value is None or est.p_value < 1.0 - level:
        return None
    test = {"mcnemar-exact": "McNemar's exact test", "delong": "DeLong's test"}.get(
        est.test or "", f"the {est.test} test")
    return (f"{test} does not show a difference (p = {est.p_value:.3g} ≥ "
            f"{1.0 - level:.3g})")


def _meaning(status: Verdict, policy: Policy) -> str:
    if policy == "not-worse":
        return "not worse than the baseline" if status == "pass" else "worse than the baseline"
    return "better than the baseline" if status == "pass" else \
        "not better than the baseline by the margin"


def _unpaired_decision(hypothesis: Hypothesis, policy: Policy, threshold: float) -> Decision:
    est = hypothesis.estimate
    sign = 1.0 if hypothesis.higher_is_better else -1.0
    improvement, boundary = sign * est.delta, sign * threshold
    passed = improvement >= boundary if policy == "not-worse" else improvement > boundary
    status: Verdict = "pass" if passed else "fail"
    above = passed == hypothesis.higher_is_better
    direction = "" if hypothesis.higher_is_better else " (lower is better)"
    name = f"{hypothesis.label}: " if hypothesis.label else ""
    message = (f"{name}delta {_num(est.delta)} is {'above' if above else 'below'} the margin "
               f"{_num(threshold)}{direction}; unpaired baseline (point values only), "
               "so no interval: this compares two numbers, not evidence")
    return Decision(status, message, threshold)


def _num(value: float) -> str:
    return f"{value:+.3g}"


def _pct(level: float) -> str:
    return f"{level * 100:.3g}%"
