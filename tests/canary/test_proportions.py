"""The two-proportion test for rates given as counts, held to statsmodels."""

from __future__ import annotations

import pytest
from statsmodels.stats.proportion import confint_proportions_2indep, proportions_ztest

from mlci.canary.proportions import rate_test


@pytest.mark.parametrize(("e1", "n1", "e2", "n2", "confidence"), [
    (12, 1000, 5, 1000, 0.98), (0, 500, 3, 700, 0.98), (40, 80, 38, 90, 0.95),
    (1, 100_000, 0, 100_000, 0.98), (250, 10_000, 180, 9_000, 0.9)])
def test_rate_test_matches_statsmodels(e1: int, n1: int, e2: int, n2: int,
                                       confidence: float) -> None:
    got = rate_test(e1, n1, e2, n2, confidence=confidence)
    _, p_value = proportions_ztest([e1, e2], [n1, n2])
    low, high = confint_proportions_2indep(e1, n1, e2, n2, method="newcomb", compare="diff",
                                           alpha=1 - confidence)
    assert got.p_value == pytest.approx(float(p_value), abs=1e-12)
    assert got.ci[0] == pytest.approx(float(low), abs=1e-12)
    assert got.ci[1] == pytest.approx(float(high), abs=1e-12)
    assert got.estimate == e1 / n1 - e2 / n2


def test_no_events_on_either_side_is_no_evidence() -> None:
    got = rate_test(0, 1000, 0, 1000)
    assert (got.p_value, got.estimate) == (1.0, 0.0)
    assert got.ci[0] < 0 < got.ci[1]
