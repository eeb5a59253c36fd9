"""Per-column data drift between a reference and a current dataset.

Defaults are Evidently's (DataDriftPreset), so teams can switch without their
gates changing meaning. Per column, after dropping nulls (and ±inf):

==================  =====================================  ================================
reference rows      numeric column                          categorical column
==================  =====================================  ================================
≤ 1,000             > 5 distinct values: KS, p < 0.05       > 2 distinct: chi-square, p < 0.05
                    3–5 distinct: chi-square, p < 0.05      ≤ 2 distinct: two-proportion z,
                    ≤ 2 distinct: two-proportion z, p < .05 p < 0.05
> 1,000             > 5 distinct: Wasserstein distance ÷    Jensen–Shannon distance ≥ 0.1
                    std(reference) ≥ 0.1; ≤ 5 distinct:
                    Jensen–Shannon distance ≥ 0.1
==================  =====================================  ================================

"Distinct values" counts both sides together. PSI (≥ 0.1) is available on
request, as are the other tests for any column. Jensen–Shannon uses base-2
logarithms (bounded by 1) and PSI Evidently's smoothing of empty bins; both bin
numeric columns with more than 20 reference values into Sturges bins over both
sides, and use value counts otherwise.

One deliberate difference: Evidently's chi-square treats the reference
frequencies as the true expected counts of a one-sample goodness-of-fit test,
ignoring that the reference is itself a sample. With 1,000 vs 1,000 rows of a
10-level column and no drift at all, that flags about half of all columns. We
run the two-sample test the situation calls for — `scipy.stats.chi2_contingency`
on the 2 × k table of counts — whose false-positive rate is the nominal 5 %.

Dataset drift: when the share of drifted columns (among the columns that could
be tested) reaches the threshold, 0.5 by default (Evidently's `drift_share`).
A column that is entirely null on one side cannot be tested; it is reported
(warn) and left out of the share, never a crash. A constant column is tested
like any other (no drift if the constant is the same on both sides).

Speed: each numeric column is sorted once per side; KS and Wasserstein both
come from merging the two sorted arrays (linear time), not from
`scipy.stats.wasserstein_distance`, which re-sorts and binary-searches. Each
categorical column is encoded once (one factorisation of both sides) and
counted with `np.bincount`.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Collection, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal

import numpy as np
import numpy.typing as npt
from scipy import stats
from scipy.spatial.distance import jensenshannon
from scipy.special import ndtr

from mlci.errors import InputError

if TYPE_CHECKING:
    import pandas as pd

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]
Kind = Literal["numeric", "categorical"]
DriftMethod = Literal["ks", "chisquare", "z", "wasserstein", "jensenshannon", "psi"]
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
SMALL_REFERENCE = 1000  # Evidently: up to this many reference rows, use tests; above, distances
DEFAULT_SHARE = 0.5
JS_BASE = 2.0
_BINNED_ABOVE = 20  # reference values above which numeric JS/PSI use Sturges bins
_EXACT_KS_MAX = 10_000  # scipy's ks_2samp 'auto' is exact up to this many rows per side
_MIN_STD = 0.001  # Evidently's floor on the reference std for the normed Wasserstein


@dataclass(frozen=True)
class ColumnDrift:
    """`score` is a p-value for ks/chisquare/z (drift when below `threshold`) and a
    distance otherwise (drift when at or above it)."""

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


# --- statistics on sorted arrays and counts (public so tests can hold them to scipy) ---


def merge_sorted(ref: FloatArray, cur: FloatArray) -> tuple[FloatArray, IntArray, IntArray]:
    """Merged sorted values, and how many reference / current values are ≤ each
    position's value *at the last position of each run of equal values* (elsewhere
    the counts are partial, which only ever meets a zero-width step)."""
    n = ref.shape[0] + cur.shape[0]
    at_cur = np.searchsorted(ref, cur, "left") + np.arange(cur.shape[0])
    is_cur = np.zeros(n, dtype=bool)
    is_cur[at_cur] = True
    merged = np.empty(n)
    merged[at_cur] = cur
    merged[~is_cur] = ref
    n_cur = np.cumsum(is_cur, dtype=np.int64)
    n_ref = np.arange(1, n + 1, dtype=np.int64) - n_cur
    return merged, n_ref, n_cur


def wasserstein_sorted(ref: FloatArray, cur: FloatArray,
                       merged: tuple[FloatArray, IntArray, IntArray] | None = None) -> float:
    """First Wasserstein distance, ∫|F_ref − F_cur| dx, from sorted samples.

    When the two sizes have a small common multiple L (equal sizes, or one a
    multiple of the other), the same integral over quantiles, ∫|Q_ref − Q_cur| du,
    is a mean of |differences| between the sorted samples each repeated to length
    L: one pass, no merge. Otherwise the samples are merged."""
    n1, n2 = ref.shape[0], cur.shape[0]
    lcm = math.lcm(n1, n2)
    if merged is None and lcm <= 2 * (n1 + n2):
        a = ref if lcm == n1 else np.repeat(ref, lcm // n1)
        b = cur if lcm == n2 else np.repeat(cur, lcm // n2)
        return float(np.abs(a - b).mean())
    values, n_ref, n_cur = merged if merged is not None else merge_sorted(ref, cur)
    gaps = np.diff(values)
    diff = np.abs(n_ref[:-1] / ref.shape[0] - n_cur[:-1] / cur.shape[0])
    return float(np.dot(diff, gaps))


def ks_sorted(ref: FloatArray, cur: FloatArray,
              merged: tuple[FloatArray, IntArray, IntArray] | None = None
              ) -> tuple[float, float]:
    """Two-sample KS statistic and p-value, as `scipy.stats.ks_2samp(method='auto')`.

    Small samples go to scipy itself (its exact p-value; cheap at that size); large
    ones take the statistic from the merge and Smirnov's asymptotic p-value exactly
    as scipy computes it."""
    n1, n2 = ref.shape[0], cur.shape[0]
    if max(n1, n2) <= _EXACT_KS_MAX:
        res = stats.ks_2samp(ref, cur)
        return float(res.statistic), float(res.pvalue)
    values, c_ref, c_cur = merged if merged is not None else merge_sorted(ref, cur)
    last = np.r_[values[1:] != values[:-1], True]
    cd = c_ref[last] / n1 - c_cur[last] / n2
    d = float(max(np.clip(-cd.min(), 0, 1), cd.max()))
    m, n = sorted([float(n1), float(n2)], reverse=True)
    en = m * n / (m + n)
    p = float(np.clip(stats.kstwo.sf(d, np.round(en)), 0, 1))
    return d, p


def chisquare_counts(ref: IntArray, cur: IntArray) -> float:
    """p-value of the two-sample chi-square test on the 2 × k table (see module doc)."""
    keep = (ref + cur) > 0
    if int(keep.sum()) < 2:
        return 1.0
    return float(stats.chi2_contingency(np.vstack([ref[keep], cur[keep]])).pvalue)


def z_counts(ref: IntArray, cur: IntArray) -> float:
    """Two-proportion z-test p-value of the first category's share (Evidently's z test:
    pooled variance, two-sided)."""
    n1, n2 = float(ref.sum()), float(cur.sum())
    if int(((ref + cur) > 0).sum()) < 2:
        return 1.0
    p1, p2 = ref[0] / n1, cur[0] / n2
    pooled = (ref[0] + cur[0]) / (n1 + n2)
    z = (p1 - p2) / math.sqrt(pooled * (1 - pooled) * (1 / n1 + 1 / n2))
    return float(2.0 * ndtr(-abs(z)))


def jensenshannon_counts(ref: IntArray | FloatArray, cur: IntArray | FloatArray,
                         base: float = JS_BASE) -> float:
    return float(jensenshannon(ref / ref.sum(), cur / cur.sum(), base))


def psi_counts(ref: IntArray | FloatArray, cur: IntArray | FloatArray) -> float:
    """Population stability index with Evidently's smoothing of empty bins."""
    r = _smooth(ref / ref.sum())
    c = _smooth(cur / cur.sum())
    return float(np.sum((r - c) * np.log(r / c)))


def _smooth(share: FloatArray) -> FloatArray:
    nonzero = share[share != 0]
    if nonzero.size == 0 or nonzero.size == share.size:
        return share
    smallest = float(nonzero.min())
    fill = smallest / 10**6 if smallest <= 0.0001 else 0.0001
    return np.where(share == 0, fill, share)


# --- one column ---------------------------------------------------------------


@dataclass
class _Sides:
    """A column's non-null values on each side: sorted floats, or category counts."""

    kind: Kind
    ref: FloatArray | None = None
    cur: FloatArray | None = None
    ref_counts: IntArray | None = None
    cur_counts: IntArray | None = None
    ref_std: float = 0.0

    def sizes(self) -> tuple[int, int]:
        if self.kind == "numeric":
            assert self.ref is not None and self.cur is not None
            return int(self.ref.shape[0]), int(self.cur.shape[0])
        assert self.ref_counts is not None and self.cur_counts is not None
        return int(self.ref_counts.sum()), int(self.cur_counts.sum())


def _distinct_sorted(values: FloatArray) -> int:
    return 0 if values.size == 0 else 1 + int(np.count_nonzero(values[1:] != values[:-1]))


def _uniques_sorted(values: FloatArray) -> FloatArray:
    return values[np.r_[True, values[1:] != values[:-1]]] if values.size else values


def _union_distinct(sides: _Sides, cap: int) -> int:
    """Distinct values over both sides, exact up to `cap` (more is reported as cap + 1)."""
    if sides.kind == "categorical":
        assert sides.ref_counts is not None and sides.cur_counts is not None
        return int(((sides.ref_counts + sides.cur_counts) > 0).sum())
    assert sides.ref is not None and sides.cur is not None
    if _distinct_sorted(sides.ref) > cap or _distinct_sorted(sides.cur) > cap:
        return cap + 1
    return int(np.union1d(_uniques_sorted(sides.ref), _uniques_sorted(sides.cur)).shape[0])


def default_method(n_reference: int, kind: Kind, distinct: int) -> DriftMethod:
    """Evidently's choice of test (see the module docstring)."""
    if n_reference <= SMALL_REFERENCE:
        if kind == "numeric" and distinct > 5:
            return "ks"
        return "chisquare" if distinct > 2 else "z"
    if kind == "numeric" and distinct > 5:
        return "wasserstein"
    return "jensenshannon"


def _value_counts(sides: _Sides) -> tuple[IntArray, IntArray]:
    """Counts per distinct value over both sides (numeric columns: from the sorted arrays)."""
    if sides.kind == "categorical":
        assert sides.ref_counts is not None and sides.cur_counts is not None
        keep = (sides.ref_counts + sides.cur_counts) > 0
        return sides.ref_counts[keep], sides.cur_counts[keep]
    assert sides.ref is not None and sides.cur is not None
    keys = np.union1d(_uniques_sorted(sides.ref), _uniques_sorted(sides.cur))
    counts = []
    for side in (sides.ref, sides.cur):  # two sides
        counts.append((np.searchsorted(side, keys, "right")
                       - np.searchsorted(side, keys, "left")).astype(np.int64))
    return counts[0], counts[1]


def _binned(sides: _Sides) -> tuple[IntArray, IntArray]:
    """Sturges bins over both sides for continuous columns, value counts otherwise."""
    if sides.kind == "numeric":
        assert sides.ref is not None and sides.cur is not None
        if _distinct_sorted(sides.ref) > _BINNED_ABOVE:
            edges = np.histogram_bin_edges(np.concatenate([sides.ref, sides.cur]), "sturges")
            out = []
            for side in (sides.ref, sides.cur):  # two sides
                cum = np.r_[np.searchsorted(side, edges[:-1], "left"),
                            np.searchsorted(side, edges[-1:], "right")]
                out.append(np.diff(cum).astype(np.int64))
            return out[0], out[1]
    return _value_counts(sides)


def _score(sides: _Sides, method: DriftMethod) -> float:
    if method in ("ks", "wasserstein"):
        if sides.kind != "numeric":
            raise InputError(f"drift method {method} needs a numeric column")
        assert sides.ref is not None and sides.cur is not None
        if method == "ks":
            return ks_sorted(sides.ref, sides.cur)[1]
        return wasserstein_sorted(sides.ref, sides.cur) / max(sides.ref_std, _MIN_STD)
    if method == "jensenshannon":
        return jensenshannon_counts(*_binned(sides))
    if method == "psi":
        return psi_counts(*_binned(sides))
    ref, cur = _value_counts(sides)
    return chisquare_counts(ref, cur) if method == "chisquare" else z_counts(ref, cur)


def _numeric_values(values: Any, column: str, side: str) -> tuple[FloatArray, int]:
    try:
        if hasattr(values, "to_numpy"):  # pandas, including nullable dtypes with <NA>
            arr = values.to_numpy(dtype=np.float64, na_value=np.nan)
        else:
            arr = np.asarray(values, dtype=np.float64)
    except (TypeError, ValueError):
        raise InputError(f"{side} column {column!r}: expected numbers for a numeric drift "
                         "test; set its kind to categorical") from None
    finite = np.isfinite(arr)
    return (arr if finite.all() else arr[finite]), int(arr.shape[0])


def _categorical_counts(ref: Any, cur: Any) -> tuple[IntArray, IntArray, int, int]:
    import pandas as pd

    r = pd.Series(ref) if not isinstance(ref, pd.Series) else ref
    c = pd.Series(cur) if not isinstance(cur, pd.Series) else cur
    if isinstance(r.dtype, pd.CategoricalDtype) and isinstance(c.dtype, pd.CategoricalDtype):
        cats = r.cat.categories.union(c.cat.categories)
        out = []
        for side in (r, c):  # two sides
            codes = side.cat.codes.to_numpy()
            mapped = cats.get_indexer(side.cat.categories)[codes[codes >= 0]]
            out.append(np.bincount(mapped, minlength=len(cats)).astype(np.int64))
        return out[0], out[1], len(r), len(c)
    codes, uniques = pd.factorize(pd.concat([r, c], ignore_index=True), use_na_sentinel=True)
    k = len(uniques)
    # Evidently's z test counts the first category in sorted order; keep that order.
    try:
        order = np.argsort(np.asarray(uniques, dtype=object), kind="stable")
        rank = np.empty(k, dtype=np.int64)
        rank[order] = np.arange(k)
    except TypeError:  # labels of mixed types cannot be sorted: keep first-seen order
        rank = np.arange(k, dtype=np.int64)
    n_ref = len(r)
    out = []
    for part in (codes[:n_ref], codes[n_ref:]):  # two sides
        out.append(np.bincount(rank[part[part >= 0]], minlength=k).astype(np.int64))
    return out[0], out[1], n_ref, len(c)


def infer_kind(values: Any) -> Kind:
    """Numeric dtypes (not bool) are numeric; everything else is categorical."""
    import pandas as pd

    dtype = values.dtype if hasattr(values, "dtype") else np.asarray(values).dtype
    if pd.api.types.is_bool_dtype(dtype) or not pd.api.types.is_numeric_dtype(dtype):
        return "categorical"
    return "numeric"


def column_drift(
    reference: Any,
    current: Any,
    *,
    column: str = "value",
    kind: Kind | None = None,
    method: DriftMethod | None = None,
    threshold: float | None = None,
) -> ColumnDrift:
    """Drift of one column (array-likes or pandas Series), with Evidently's default test
    unless `method` is given."""
    if method is not None and method not in METHODS:
        raise InputError(f"column {column!r}: unknown drift method {method!r}; expected one "
                         f"of {', '.join(METHODS)}")
    kind = kind or infer_kind(reference)
    if kind not in ("numeric", "categorical"):
        raise InputError(f"column {column!r}: kind must be numeric or categorical, got {kind!r}")
    if kind == "numeric":
        ref, n_ref_all = _numeric_values(reference, column, "reference")
        cur, n_cur_all = _numeric_values(current, column, "current")
        std = float(np.std(ref)) if ref.size else 0.0
        sides = _Sides(kind, ref=np.sort(ref), cur=np.sort(cur), ref_std=std)
    else:
        rc, cc, n_ref_all, n_cur_all = _categorical_counts(reference, current)
        sides = _Sides(kind, ref_counts=rc, cur_counts=cc)
    n_ref, n_cur = sides.sizes()
    null_ref = 1.0 - n_ref / n_ref_all if n_ref_all else 0.0
    null_cur = 1.0 - n_cur / n_cur_all if n_cur_all else 0.0

    def result(method: DriftMethod | None, score: float | None, limit: float | None,
               drifted: bool, status: ColumnStatus, message: str) -> ColumnDrift:
        return ColumnDrift(column, kind, method, score, limit, drifted, status, message,
                           n_ref, n_cur, null_ref, null_cur)

    if n_ref == 0 or n_cur == 0:
        if n_ref == 0 and n_cur == 0:
            return result(None, None, None, False, "skip",
                          f"{column}: all values are null on both sides; not tested")
        side = "reference" if n_ref == 0 else "current"
        return result(None, None, None, False, "warn",
                      f"{column}: all values are null in the {side} data; not tested and "
                      "left out of the drift share")

    chosen: DriftMethod = method or default_method(n_ref, kind, _union_distinct(sides, 5))
    limit = DEFAULT_THRESHOLDS[chosen] if threshold is None else float(threshold)
    score = _score(sides, chosen)
    if chosen in P_VALUE_METHODS:
        drifted = score < limit
        relation = "<" if drifted else "≥"
    else:
        drifted = score >= limit
        relation = "≥" if drifted else "<"
    verdict = "drift detected" if drifted else "no drift"
    note = " (constant column)" if _union_distinct(sides, 1) == 1 else ""
    message = (f"{column}: {METHOD_NAMES[chosen]} {score:.4g} {relation} {limit:g}: "
               f"{verdict}{note}")
    return result(chosen, float(score), limit, drifted, "warn" if drifted else "pass", message)


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
        results.append(column_drift(ref, cur, column=name, kind=opts.kinds.get(name),
                                    method=opts.methods.get(name, opts.method),
                                    threshold=opts.thresholds.get(name)))
        del ref, cur
    return _summarise(tuple(results), opts.share)


def _summarise(results: tuple[ColumnDrift, ...], share: float) -> DatasetDrift:
    tested = [r for r in results if r.tested]
    n_drifted = sum(r.drifted for r in tested)
    if not tested:
        return DatasetDrift(results, 0, 0, 0.0, share, False, "skip",
                            "no column could be tested for drift")
    frac = n_drifted / len(tested)
    drifted = frac >= share
    message = (f"{n_drifted} of {len(tested)} columns drifted ({frac:.0%}); dataset drift "
               f"{'detected' if drifted else 'not detected'} (threshold {share:.0%})")
    untested = len(results) - len(tested)
    if untested:
        message += f"; {untested} column{'s' if untested > 1 else ''} not tested"
    return DatasetDrift(results, len(tested), n_drifted, frac, share, drifted,
                        "fail" if drifted else "pass", message)


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
