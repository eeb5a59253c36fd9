"""One side's samples, whichever source they came from (a file or Prometheus), and
the check every rate's counts pass before the judge sees them."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt

from mlci.canary.settings import Metric
from mlci.errors import InputError

FloatArray = npt.NDArray[np.float64]


@dataclass
class Samples:
    """One side's data: raw samples per metric (NaN = missing) and counts per rate."""

    side: str
    source: str
    values: dict[str, FloatArray] = field(default_factory=dict)
    counts: dict[str, tuple[float, float]] = field(default_factory=dict)  # (events, trials)
    digest: str | None = None
    available: tuple[str, ...] = ()  # metric names the input offers (to judge them all)
    queries: dict[str, str] = field(default_factory=dict)  # metric → query as sent


def totals(events: FloatArray, trials: FloatArray, metric: Metric,
           where: str) -> tuple[float, float]:
    """Sum counts over rows (time buckets, instances); missing cells count as none."""
    e, t = float(np.nansum(events)), float(np.nansum(trials))
    if np.any(events < 0) or np.any(trials < 0):
        raise InputError(f"{where}: rate {metric.name}: counts must not be negative")
    if t <= 0:
        raise InputError(f"{where}: rate {metric.name}: no trials ({metric.trials or 'trials'} "
                         "adds up to 0); the side has no samples")
    if e > t:
        raise InputError(f"{where}: rate {metric.name}: {e:g} events out of {t:g} trials; "
                         "events cannot exceed trials")
    return e, t
