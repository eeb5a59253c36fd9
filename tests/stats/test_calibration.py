"""Calibration of the accuracy verdict, exactly: every possible eval set of a small size,
weighed by its probability (bench/aa_simulation.py does the same up to n = 5,000).

The verdict of a comparison of accuracies depends only on the counts (both right, only
the candidate, only the baseline, neither), so the probability of a false `fail` is a
finite sum — no simulation, no tolerance for Monte-Carlo noise."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.stats import binom, multinomial

from mlci.stats.bootstrap import score_estimate
from mlci.stats.decision import decide, decide_family, hypothesis_for
from mlci.stats.paired_proportions import scas_score

Z95 = 1.959963984540054


def _all_outcomes(n: int, both_share: float = 0.8) -> tuple[np.ndarray, ...]:
    """Every (a, b, c, d) with b + c ≤ n; concordant rows split both-right/neither."""
    b, c = np.meshgrid(np.arange(n + 1), np.arange(n + 1), indexing="ij")
    keep = b + c <= n
    b, c = b[keep], c[keep]
    a = np.round((n - b - c) * both_share).astype(int)
    return a, b, c, n - a - b - c


def _fails(a: np.ndarray, b: np.ndarray, c: np.ndarray, d: np.ndarray) -> np.ndarray:
    """The rule the bench weighs: the score at the margin below −z (the interval's upper
    end below −0.005) and McNemar's exact p below 0.05."""
    at_margin = scas_score(-0.005, a, b, c, d)
    p = np.minimum(1.0, 2.0 * binom.cdf(np.minimum(b, c), b + c, 0.5))
    return (at_margin < -Z95) & (p < 0.05)


def test_the_weighed_rule_is_the_verdict_for_every_outcome() -> None:
    a, b, c, d = _all_outcomes(24)
    rule = _fails(a, b, c, d)
    verdicts = np.array([decide(hypothesis_for(score_estimate((int(w), int(x), int(y), int(z)),
                                                        0.95))).status == "fail"
                         for w, x, y, z in zip(a, b, c, d, strict=True)])
    assert np.array_equal(rule, verdicts)
    assert 20 < rule.sum() < 200  # the rule is not vacuous


def _false_fail(n: int, disagree: float, delta: float) -> float:
    p10, p01 = (disagree + delta) / 2, (disagree - delta) / 2
    a, b, c, d = _all_outcomes(n)
    prob = multinomial.pmf(np.stack([b, c, n - b - c], axis=1), n,
                           [p10, p01, 1 - disagree])
    assert prob.sum() == pytest.approx(1.0, abs=1e-9)
    return float(prob @ _fails(a, b, c, d))


@pytest.mark.parametrize("disagree", [0.05, 0.10, 0.20, 0.30])
def test_false_fails_at_the_margin_stay_within_the_one_sided_level(disagree: float) -> None:
    """True delta exactly on the margin (−0.005): a `fail` is a false fail. The rate
    must not exceed 2.5 % at any n; every n from 20 to 120 is checked exactly."""
    rates = [_false_fail(n, disagree, -0.005) for n in range(20, 121)]
    assert max(rates) <= 0.025, max(rates)
    assert max(rates) > 0.002  # and the test is not trivially conservative


def test_the_bootstrap_did_not() -> None:
    """The same rule with the plain Tango score (no skewness, bias or continuity
    correction, no McNemar guard) exceeds 2.5 % at some n: the corrections are needed."""
    worst = 0.0
    for n in range(60, 121):
        p10, p01 = 0.0475, 0.0525
        a, b, c, d = _all_outcomes(n)
        prob = multinomial.pmf(np.stack([b, c, n - b - c], axis=1), n, [p10, p01, 0.9])
        plain = scas_score(-0.005, a, b, c, d, continuity=0.0, skew=False,
                           bias_correction=False)
        worst = max(worst, float(prob @ (plain < -Z95)))
    assert worst > 0.025


def test_a_fail_never_sits_beside_a_mcnemar_p_that_finds_no_difference() -> None:
    """(a, b, c, d) = (25, 1, 7, 7): the score interval ends below the margin, but
    McNemar's exact p is 0.0703 — the verdict is `warn`, and says why."""
    est = score_estimate((25, 1, 7, 7), 0.95)
    assert est.ci is not None and est.ci[1] < -0.005
    assert est.p_value == pytest.approx(0.0703125, abs=1e-12)
    made = decide(hypothesis_for(est))
    assert made.status == "warn"
    assert made.message == ("delta -0.15 (95% CI -0.306..-0.0057) is below the margin -0.005, "
                            "but McNemar's exact test does not show a difference "
                            "(p = 0.0703 ≥ 0.05): inconclusive")
    assert decide(hypothesis_for(score_estimate((24, 0, 8, 8), 0.95))).status == "fail"
    better = decide(hypothesis_for(score_estimate((7, 7, 1, 25), 0.95)), policy="better")
    assert better.status == "warn" and "McNemar's exact test" in better.message


def test_in_a_family_the_guard_reads_holms_level() -> None:
    """(10, 0, 6, 5) alone fails (McNemar p = 0.031 < 0.05). Judged first of two, at
    Holm's 97.5 %, its interval still ends below the margin but p ≥ 0.025: `warn`."""
    edge = score_estimate((10, 0, 6, 5), 0.95)
    assert edge.p_value == pytest.approx(0.03125, abs=1e-12)
    assert decide(hypothesis_for(edge)).status == "fail"
    unsure = score_estimate((20, 0, 0, 1), 0.95)
    first, second = decide_family([hypothesis_for(edge), hypothesis_for(unsure)])
    assert (first.confidence, first.status) == (0.975, "warn")
    assert first.ci is not None and first.ci[1] < -0.005
    assert "(p = 0.0312 ≥ 0.025)" in first.message
    assert second.status == "warn"
