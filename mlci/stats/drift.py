"""Per-column data drift between a reference and a current dataset.

Per column, after dropping nulls (and ±inf), with n_eff = n_ref · n_cur /
(n_ref + n_cur) (see `mlci.stats.drift_choice` for why both sizes decide):

==============  =======================================  ===============================
n_eff           numeric column                            categorical column
==============  =======================================  ===============================
≤ 1,000         > 5 distinct values: KS, p ≤ 0.05;        > 2 distinct: chi-square,
                3–5 distinct: chi-square, p < 0.05;       p < 0.05; ≤ 2 distinct:
                ≤ 2 distinct: two-proportion z, p < 0.05  two-proportion z, p < 0.05
> 1,000         > 5 distinct: Wasserstein distance ÷      ≤ n_eff / 50 levels: Jensen–
                std(reference) ≥ 0.1; ≤ 5 distinct:       Shannon distance ≥ 0.1; more
                Jensen–Shannon distance ≥ 0.1             levels: chi-square, p < 0.05
==============  =======================================  ===============================

With a large current window n_eff ≈ n_ref and this is Evidently's DataDriftPreset
rule. "Distinct values" counts both sides together. PSI (≥ 0.1) is available on
request, as are the other tests for any column. Every statistic is Evidently's
(`mlci.stats.drift_stats`), so a column scored by the same method gets the same
number, except the chi-square: Evidently's treats the reference frequencies as
the true expected counts of a one-sample goodness-of-fit test, ignoring that the
reference is itself a sample (with 1,000 vs 1,000 rows of a 10-level column and no
drift at all it flags about half of all columns). mlci runs the two-sample test on
the 2 × k table, rare levels grouped, whose false-positive rate is the nominal 5 %.

Identifiers: a categorical column nearly unique on both sides (order numbers,
user IDs) is skipped with a note unless a method is named for it; two samples of
IDs share no value, so any level-by-level test has nothing to compare.

Missing values: the share of nulls is tested on its own for every column (two-
proportion z, p < 0.05), so a jump from 0 % to 50 % missing is a finding even
when the values that remain look alike.

Dataset drift: when the share of drifted columns (among the columns that could
be tested) reaches the threshold, 0.5 by default (Evidently's `drift_share`).
A column that is entirely null on one side cannot be tested; it is reported
(warn) and left out of the share, never a crash. A constant column is tested
like any other (no drift if the constant is the same on both sides).

Speed: each column is loaded once per side (`mlci.stats.drift_sides`): numeric
columns sorted, categorical columns encoded and counted with `np.bincount`.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Collection, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any, Literal

from mlci.errors import InputError
from mlci.stats import drift_sides
from mlci.stats.drift_choice import DriftMethod, Kind, default_method, looks_like_id
from mlci.stats.drift_stats import proportions_z

if TYPE_CHECKING:
    import pandas as pd

ColumnStatus = Literal["pass", "warn", "skip"]

METHODS: tuple[str, ...] = ("ks", "chisquare", "z", "wasserstein", "jensenshannon", "psi")
P_VALUE_METHODS = frozenset({"ks", "chisquare", "z"})
DEFAULT_THRESHOLDS: dict[str, float] = {
    "ks": 0.05, "chisquare": 0.05, "z": 0.05,
    "wasserstein": 0.1, "jensenshannon": 0.1, "psi": 0.1,
}
METHOD_NAMES = {
    "ks": "KS p-value", "chisquare": "chi-square p-value", "z": "two-proportion z p-value",
    "wasserstein": "Wasserstein distance (normed)", "jensenshannon": "Jensen-Shannon distance",
    "psi": "PSI",
}
DEFAULT_SHARE = 0.5
NULL_SHARE_ALPHA = 0.05  # the missing-value share test: drift when its p-value is below


@dataclass(frozen=True)
class ColumnDrift:
    """`score` is a p-value for ks/chisquare/z (drift when below `threshold`; for KS at
    or below, as in Evidently) and a distance otherwise (drift when at or above it).
    `null_p_value` tests the share of missing values (None when a side has no rows)."""

    column: str
    kind: Kind
    method: DriftMethod | None
    score: float | None
    threshold: float | None
    drifted: bool
    status: ColumnStatus
    message: str
    n_reference: int = 0
    n_current: int = 0
    null_reference: float = 0.0
    null_current: float = 0.0
    null_p_value: float | None = None
    null_drifted: bool = False

    @property
    def is_p_value(self) -> bool:
        return self.method in P_VALUE_METHODS

    @property
    def tested(self) -> bool:
        return self.score is not None


@dataclass(frozen=True)
class DatasetDrift:
    columns: tuple[ColumnDrift, ...]
    n_tested: int
    n_drifted: int
    share: float
    threshold: float
    drifted: bool
    status: Literal["pass", "fail", "skip"]
    message: str
    n_null_drifted: int = 0


# --- one column ---------------------------------------------------------------


def _untested_note(sides: drift_sides.Sides, column: str,
                   skip_ids: bool) -> tuple[ColumnStatus, str] | None:
    """Why a column is not tested at all, if it is not: no values on a side, or an
    identifier (when `skip_ids`)."""
    n_ref, n_cur = sides.sizes()
    if n_ref == 0 and n_cur == 0:
        return "skip", f"{column}: all values are null on both sides; not tested"
    if n_ref == 0 or n_cur == 0:
        side = "reference" if n_ref == 0 else "current"
        return "warn", (f"{column}: all values are null in the {side} data; not tested and "
                        "left out of the drift share")
    if sides.kind == "categorical" and skip_ids:
        assert sides.ref_counts is not None and sides.cur_counts is not None
        d_ref, d_cur = int((sides.ref_counts > 0).sum()), int((sides.cur_counts > 0).sum())
        if looks_like_id(d_ref, n_ref, d_cur, n_cur):
            return "skip", (f"{column}: looks like an identifier ({d_ref:,} distinct values in "
                            f"{n_ref:,} reference rows, {d_cur:,} in {n_cur:,} current rows); "
                            "not tested: exclude it, or name a drift method for it to test it")
    return None


def _verdict(column: str, method: DriftMethod, score: float, limit: float,
             constant: bool) -> tuple[bool, str]:
    """Drift or not, and the message. KS drifts at p ≤ threshold (Evidently's `<=`),
    the other tests below it, distances at or above it."""
    if method in P_VALUE_METHODS:
        strict = method != "ks"
        drifted = score < limit if strict else score <= limit
        relation = ("<" if strict else "≤") if drifted else ("≥" if strict else ">")
    else:
        drifted = score >= limit
        relation = "≥" if drifted else "<"
    verdict = "drift detected" if drifted else "no drift"
    note = " (constant column)" if constant else ""
    return drifted, (f"{column}: {METHOD_NAMES[method]} {score:.4g} {relation} {limit:g}: "
                     f"{verdict}{note}")


def missing_message(found: ColumnDrift) -> str:
    """One line on the share of missing values, for the column's missing-value check."""
    before, after = f"{found.null_reference:.1%}", f"{found.null_current:.1%}"
    if found.null_p_value is None:
        return f"{found.column}: missing values {before} → {after}; not tested (no rows)"
    relation = "<" if found.null_drifted else "≥"
    verdict = "changed" if found.null_drifted else "no change"
    return (f"{found.column}: missing values {before} → {after}, two-proportion z p-value "
            f"{found.null_p_value:.4g} {relation} {NULL_SHARE_ALPHA:g}: {verdict}")


def column_drift(
    reference: Any,
    current: Any,
    *,
    column: str = "value",
    kind: Kind | None = None,
    method: DriftMethod | None = None,
    threshold: float | None = None,
    skip_identifiers: bool | None = None,
) -> ColumnDrift:
    """Drift of one column (array-likes or pandas Series): the default test for its
    kind and both sample sizes (`drift_choice.default_method`) unless `method` is
    given, and the test of its share of missing values. An identifier column is
    skipped when `skip_identifiers`, by default when no method is named."""
    if method is not None and method not in METHODS:
        raise InputError(f"column {column!r}: unknown drift method {method!r}; expected one "
                         f"of {', '.join(METHODS)}")
    if threshold is not None and (isinstance(threshold, bool)
                                  or not isinstance(threshold, (int, float))
                                  or not (math.isfinite(threshold) and threshold > 0)):
        raise InputError(f"column {column!r}: drift threshold must be a number above 0, "
                         f"got {threshold!r}")
    kind = kind or drift_sides.infer_kind(reference)
    if kind not in ("numeric", "categorical"):
        raise InputError(f"column {column!r}: kind must be numeric or categorical, got {kind!r}")
    sides, n_ref_all, n_cur_all = drift_sides.load(reference, current, column, kind)
    n_ref, n_cur = sides.sizes()
    null_p = (proportions_z(n_ref_all - n_ref, n_ref_all, n_cur_all - n_cur, n_cur_all)
              if n_ref_all and n_cur_all else None)
    base = ColumnDrift(column, kind, None, None, None, False, "skip", "", n_ref, n_cur,
                       1.0 - n_ref / n_ref_all if n_ref_all else 0.0,
                       1.0 - n_cur / n_cur_all if n_cur_all else 0.0,
                       null_p, null_p is not None and null_p < NULL_SHARE_ALPHA)
    skip_ids = method is None if skip_identifiers is None else skip_identifiers
    untested = _untested_note(sides, column, skip_ids)
    if untested is not None:
        return replace(base, status=untested[0], message=untested[1])
    chosen: DriftMethod = method or default_method(n_ref, n_cur, kind,
                                                   drift_sides.union_distinct(sides, 5))
    limit = DEFAULT_THRESHOLDS[chosen] if threshold is None else float(threshold)
    score = drift_sides.score(sides, chosen)
    if score is None:
        levels = drift_sides.value_counts(sides)[0].shape[0]
        return replace(base, method=chosen, threshold=limit, message=(
            f"{column}: {levels:,} levels and too few rows to compare them ({n_ref:,} "
            f"reference, {n_cur:,} current); not tested"))
    constant = drift_sides.union_distinct(sides, 1) == 1
    drifted, message = _verdict(column, chosen, score, limit, constant)
    return replace(base, method=chosen, score=float(score), threshold=limit, drifted=drifted,
                   status="warn" if drifted else "pass", message=message)


ColumnLoader = Callable[[str], tuple[Any, Any]]


@dataclass(frozen=True)
class DriftOptions:
    """What to test and how: `method` applies to every column (like Evidently's
    `stattest`); `methods`, `thresholds` and `kinds` override per column."""

    kinds: Mapping[str, Kind] = field(default_factory=dict)
    method: DriftMethod | None = None
    methods: Mapping[str, DriftMethod] = field(default_factory=dict)
    thresholds: Mapping[str, float] = field(default_factory=dict)
    share: float = DEFAULT_SHARE


def drift_columns(names: Sequence[str], load: ColumnLoader,
                  options: DriftOptions | None = None) -> DatasetDrift:
    """Drift of each named column, loaded one at a time by `load(name)` → (reference,
    current), so a caller that streams columns from disk holds one column per side
    in memory instead of two whole tables."""
    opts = options or DriftOptions()
    if not 0.0 < opts.share <= 1.0:
        raise InputError(f"drift share threshold must be in (0, 1], got {opts.share}")
    results = []
    for name in names:  # one per column
        ref, cur = load(name)
        # one method for every column does not name one for an identifier; `methods` does
        results.append(column_drift(ref, cur, column=name, kind=opts.kinds.get(name),
                                    method=opts.methods.get(name, opts.method),
                                    threshold=opts.thresholds.get(name),
                                    skip_identifiers=name not in opts.methods))
        del ref, cur
    return _summarise(tuple(results), opts.share)


def _summarise(results: tuple[ColumnDrift, ...], share: float) -> DatasetDrift:
    tested = [r for r in results if r.tested]
    n_drifted = sum(r.drifted for r in tested)
    n_null = sum(r.null_drifted for r in results)
    nulls = (f"; {n_null} column{'s' if n_null > 1 else ''} with a changed share of missing "
             "values" if n_null else "")
    if not tested:
        return DatasetDrift(results, 0, 0, 0.0, share, False, "skip",
                            "no column could be tested for drift" + nulls, n_null)
    frac = n_drifted / len(tested)
    drifted = frac >= share
    message = (f"{n_drifted} of {len(tested)} columns drifted ({frac:.0%}); dataset drift "
               f"{'detected' if drifted else 'not detected'} (threshold {share:.0%})")
    untested = len(results) - len(tested)
    if untested:
        message += f"; {untested} column{'s' if untested > 1 else ''} not tested"
    return DatasetDrift(results, len(tested), n_drifted, frac, share, drifted,
                        "fail" if drifted else "pass", message + nulls, n_null)


def select_columns(reference: Sequence[str], current: Sequence[str],
                   columns: Sequence[str] | None = None, exclude: Collection[str] = (),
                   where: tuple[str, str] = ("reference", "current")) -> list[str]:
    """The columns to test: `columns` or all of the reference's, minus `exclude`; each
    must exist on both sides (`where` names the two sides in the error)."""
    skip = set(exclude)
    chosen = [c for c in (columns if columns is not None else reference) if c not in skip]
    for side, present in zip(where, (set(reference), set(current)), strict=True):
        for name in chosen:
            if name not in present:
                raise InputError(f"drift column {name!r} is missing from {side}")
    return chosen


def dataset_drift(
    reference: pd.DataFrame,
    current: pd.DataFrame,
    *,
    columns: Sequence[str] | None = None,
    exclude: Collection[str] = (),
    kinds: Mapping[str, Kind] | None = None,
    method: DriftMethod | None = None,
    methods: Mapping[str, DriftMethod] | None = None,
    thresholds: Mapping[str, float] | None = None,
    share: float = DEFAULT_SHARE,
) -> DatasetDrift:
    """Drift of every chosen column of two DataFrames, and whether the dataset as a
    whole drifted. `columns` defaults to the reference's."""
    names = select_columns([str(c) for c in reference.columns],
                           [str(c) for c in current.columns], columns, exclude,
                           ("the reference data", "the current data"))
    options = DriftOptions(kinds or {}, method, methods or {}, thresholds or {}, share)
    return drift_columns(names, lambda name: (reference[name], current[name]), options)


def parquet_drift(
    reference: str,
    current: str,
    *,
    columns: Sequence[str] | None = None,
    exclude: Collection[str] = (),
    options: DriftOptions | None = None,
) -> DatasetDrift:
    """`dataset_drift` on two Parquet files, reading one column at a time: peak memory
    is one column per side plus the interpreter, not two tables (on 1M rows × 25
    columns, about a quarter of reading both tables whole)."""
    import pyarrow.parquet as pq

    files = []
    for path in (reference, current):
        try:
            files.append(pq.ParquetFile(path))
        except Exception as exc:  # pyarrow raises several types for unreadable files
            first = (str(exc).splitlines() or [type(exc).__name__])[0]
            raise InputError(f"{path}: cannot read as parquet: {first}") from exc
    names = select_columns(files[0].schema_arrow.names, files[1].schema_arrow.names, columns,
                           exclude, (reference, current))

    def load(name: str) -> tuple[Any, Any]:
        ref, cur = (f.read(columns=[name]).column(0).to_pandas() for f in files)
        return ref, cur

    return drift_columns(names, load, options)
