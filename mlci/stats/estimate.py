"""What a paired comparison of one metric produces: the delta, its interval and test.

Light on purpose (no numpy or scipy): the decision step and the result documents
read estimates without needing the machinery that made them."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Protocol

DEFAULT_RESAMPLES = 2000
DEFAULT_CONFIDENCE = 0.95


class IntervalSource(Protocol):
    """What the decision step needs from an estimate: its interval at any level and
    the p-value of any null, each the inverse of the other. A bootstrap (or Dirichlet)
    distribution is one; the score interval of paired proportions is another."""

    @property
    def estimate(self) -> float: ...

    @property
    def resamples(self) -> int: ...

    def interval(self, confidence: float) -> tuple[float, float]: ...

    def p_value(self, null: float) -> float: ...


@dataclass(frozen=True)
class DeltaEstimate:
    """One metric, candidate vs baseline. `ci` is for `delta` at `confidence`;
    `p_value` is the test of "no difference" named in `test` (McNemar's exact test
    for accuracy, DeLong's for roc_auc, the inverted bootstrap otherwise — which
    cannot resolve p below 1 / (resamples + 1), so is floored there), shown to the
    user; verdicts come from `decision`, which tests against the margin."""

    metric: str
    candidate: float
    baseline: float
    delta: float
    ci: tuple[float, float] | None
    p_value: float | None
    method: str
    test: str | None = None
    confidence: float = DEFAULT_CONFIDENCE
    n: int = 0
    resamples: int = 0
    notes: tuple[str, ...] = ()
    distribution: IntervalSource | None = field(default=None, repr=False, compare=False)

    @property
    def paired(self) -> bool:
        return self.distribution is not None


def unpaired_estimate(metric: str, candidate: float, baseline: float) -> DeltaEstimate:
    """A baseline known only as a point value (a metrics JSON): no rows to pair, so no
    interval is claimed; the decision says so instead of pretending."""
    return DeltaEstimate(metric, float(candidate), float(baseline), float(candidate - baseline),
                         None, None, "point", notes=("unpaired: baseline has point values only",))
