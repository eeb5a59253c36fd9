"""Which drift test a column gets by default, and which columns are identifiers.

Evidently picks by the reference size alone: statistical tests (KS, chi-square,
z) up to 1,000 reference rows, distances (Wasserstein, Jensen–Shannon) above. A
distance has no sense of sample size, so its noise alone crosses the 0.1
threshold when the *current* window is small: with 5,000 reference rows the
normed Wasserstein flags undrifted columns 73 % of the time at 100 current rows
(32 % at 200, 5.8 % at 500). The noise of any two-sample comparison scales with
1/√n_eff, where n_eff = n_ref · n_cur / (n_ref + n_cur) is the size of the two
samples taken together (it is never more than the smaller one), so mlci chooses by
n_eff: statistical tests while n_eff ≤ 1,000 — whenever either side has at most
1,000 rows, and when both are moderate — distances above. With a large current
window n_eff is about n_ref and the rule is Evidently's.

Jensen–Shannon on a many-level column has the same problem from the other side:
with k levels its no-drift value grows like √(k / n_eff) (a 3,000-level column
"drifts" at 0.51 with nothing changed). It is kept only while k ≤ n_eff / 50, where
its no-drift noise stays far below 0.1 (simulated false-positive rate 0 % at the
boundary, uniform and Zipf-shaped levels); above, the column gets the two-sample
chi-square with rare levels grouped, whose false-positive rate is the nominal 5 %.
"""

from __future__ import annotations

from typing import Literal

Kind = Literal["numeric", "categorical"]
DriftMethod = Literal["ks", "chisquare", "z", "wasserstein", "jensenshannon", "psi"]

SMALL_SAMPLE = 1000  # n_eff up to this: statistical tests; above: distances
JS_ROWS_PER_LEVEL = 50  # Jensen–Shannon only while levels ≤ n_eff / this
ID_UNIQUE_SHARE = 0.95  # a categorical column this unique on both sides is an identifier
ID_MIN_ROWS = 20  # … when each side has at least this many values


def effective_size(n_reference: int, n_current: int) -> float:
    """n_ref · n_cur / (n_ref + n_cur): the one size that sets a two-sample statistic's
    noise (its variance goes as 1/n_ref + 1/n_cur = 1/n_eff)."""
    if n_reference <= 0 or n_current <= 0:
        return 0.0
    return n_reference * n_current / (n_reference + n_current)


def default_method(n_reference: int, n_current: int, kind: Kind, distinct: int) -> DriftMethod:
    """The default test for a column with these many non-null rows per side and
    `distinct` values over both sides (for a numeric column, any count above 5 may
    be given as 6)."""
    n_eff = effective_size(n_reference, n_current)
    if n_eff <= SMALL_SAMPLE:
        if kind == "numeric" and distinct > 5:
            return "ks"
        return "chisquare" if distinct > 2 else "z"
    if kind == "numeric" and distinct > 5:
        return "wasserstein"
    if distinct <= n_eff / JS_ROWS_PER_LEVEL:
        return "jensenshannon"
    return "chisquare"


def looks_like_id(distinct_reference: int, n_reference: int, distinct_current: int,
                  n_current: int) -> bool:
    """Nearly every value unique on both sides: order numbers, user IDs, free text.
    Two such samples share almost no value, so every level-by-level comparison is
    empty — the chi-square has nothing to count and called them "no drift"."""
    sides = ((distinct_reference, n_reference), (distinct_current, n_current))
    return all(n >= ID_MIN_ROWS and d >= ID_UNIQUE_SHARE * n for d, n in sides)
