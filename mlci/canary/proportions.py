"""Rates given as counts (errors out of requests, conversions out of visits).

Kayenta would feed 0/1 samples to Mann–Whitney; with counts the natural test is
the two-proportion z-test, and the interval for the difference of rates is
Newcombe's hybrid score interval (built from two Wilson intervals), which keeps
its coverage for the small rates error budgets are made of, where the Wald
interval does not. The interval plays the role the Hodges–Lehmann interval
plays for samples, so the judge classifies both the same way."""

from __future__ import annotations

import math
from dataclasses import dataclass

from scipy.special import ndtr, ndtri


@dataclass(frozen=True)
class RateTest:
    events_canary: float
    trials_canary: float
    events_stable: float
    trials_stable: float
    p_value: float  # two-sided pooled z-test, as statsmodels' proportions_ztest
    estimate: float  # rate(canary) − rate(stable)
    ci: tuple[float, float]  # Newcombe, as statsmodels' confint_proportions_2indep("newcomb")
    confidence: float

    @property
    def rate_canary(self) -> float:
        return self.events_canary / self.trials_canary

    @property
    def rate_stable(self) -> float:
        return self.events_stable / self.trials_stable


def wilson(events: float, trials: float, z: float) -> tuple[float, float]:
    share = events / trials
    scale = 1.0 + z * z / trials
    centre = (share + z * z / (2.0 * trials)) / scale
    half = z / scale * math.sqrt(share * (1.0 - share) / trials + z * z / (4.0 * trials * trials))
    return centre - half, centre + half


def rate_test(events_canary: float, trials_canary: float, events_stable: float,
              trials_stable: float, *, confidence: float = 0.98) -> RateTest:
    """Compare two rates; trials must be positive and events within [0, trials]."""
    p1, p2 = events_canary / trials_canary, events_stable / trials_stable
    pooled = (events_canary + events_stable) / (trials_canary + trials_stable)
    spread = math.sqrt(pooled * (1.0 - pooled) * (1.0 / trials_canary + 1.0 / trials_stable))
    p_value = 1.0 if spread == 0.0 else float(2.0 * ndtr(-abs(p1 - p2) / spread))
    z = float(ndtri(1.0 - (1.0 - confidence) / 2.0))
    low1, high1 = wilson(events_canary, trials_canary, z)
    low2, high2 = wilson(events_stable, trials_stable, z)
    difference = p1 - p2
    low = difference - math.sqrt((p1 - low1) ** 2 + (high2 - p2) ** 2)
    high = difference + math.sqrt((high1 - p1) ** 2 + (p2 - low2) ** 2)
    return RateTest(events_canary, trials_canary, events_stable, trials_stable,
                    p_value=min(p_value, 1.0), estimate=difference, ci=(low, high),
                    confidence=confidence)
