"""One column on both sides of a drift test: its values loaded once, then scored.

Each numeric column is sorted once per side and every numeric statistic reads the
sorted arrays; each categorical column is encoded once (one factorisation of both
sides) and counted with `np.bincount`, so a test never re-reads the raw column.
Every score is Evidently's (`mlci.stats.drift_stats`) except the chi-square (see
`mlci.stats.drift`)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from mlci.errors import InputError
from mlci.stats.drift_choice import DriftMethod, Kind
from mlci.stats.drift_stats import (
    FloatArray,
    IntArray,
    chisquare_counts,
    jensenshannon_counts,
    ks_sorted,
    psi_counts,
    wasserstein_sorted,
    z_counts,
)

BINNED_ABOVE = 20  # reference values above which numeric JS/PSI use Sturges bins
MIN_STD = 0.001  # Evidently's floor on the reference std for the normed Wasserstein


@dataclass
class Sides:
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


def distinct_sorted(values: FloatArray) -> int:
    return 0 if values.size == 0 else 1 + int(np.count_nonzero(values[1:] != values[:-1]))


def uniques_sorted(values: FloatArray) -> FloatArray:
    return values[np.r_[True, values[1:] != values[:-1]]] if values.size else values


def union_distinct(sides: Sides, cap: int) -> int:
    """Distinct values over both sides, exact up to `cap` (more is reported as cap + 1)."""
    if sides.kind == "categorical":
        assert sides.ref_counts is not None and sides.cur_counts is not None
        return int(((sides.ref_counts + sides.cur_counts) > 0).sum())
    assert sides.ref is not None and sides.cur is not None
    if distinct_sorted(sides.ref) > cap or distinct_sorted(sides.cur) > cap:
        return cap + 1
    return int(np.union1d(uniques_sorted(sides.ref), uniques_sorted(sides.cur)).shape[0])


def value_counts(sides: Sides) -> tuple[IntArray, IntArray]:
    """Counts per distinct value over both sides (numeric columns: from the sorted arrays)."""
    if sides.kind == "categorical":
        assert sides.ref_counts is not None and sides.cur_counts is not None
        keep = (sides.ref_counts + sides.cur_counts) > 0
        return sides.ref_counts[keep], sides.cur_counts[keep]
    assert sides.ref is not None and sides.cur is not None
    keys = np.union1d(uniques_sorted(sides.ref), uniques_sorted(sides.cur))
    counts = []
    for side in (sides.ref, sides.cur):  # two sides
        counts.append((np.searchsorted(side, keys, "right")
                       - np.searchsorted(side, keys, "left")).astype(np.int64))
    return counts[0], counts[1]


def binned(sides: Sides) -> tuple[IntArray, IntArray]:
    """Sturges bins over both sides for continuous columns, value counts otherwise."""
    if sides.kind == "numeric":
        assert sides.ref is not None and sides.cur is not None
        if distinct_sorted(sides.ref) > BINNED_ABOVE:
            edges = np.histogram_bin_edges(np.concatenate([sides.ref, sides.cur]), "sturges")
            out = []
            for side in (sides.ref, sides.cur):  # two sides
                cum = np.r_[np.searchsorted(side, edges[:-1], "left"),
                            np.searchsorted(side, edges[-1:], "right")]
                out.append(np.diff(cum).astype(np.int64))
            return out[0], out[1]
    return value_counts(sides)


def score(sides: Sides, method: DriftMethod) -> float | None:
    """The column's score by `method`; None when the data cannot carry the test."""
    if method in ("ks", "wasserstein"):
        if sides.kind != "numeric":
            raise InputError(f"drift method {method} needs a numeric column")
        assert sides.ref is not None and sides.cur is not None
        if method == "ks":
            return ks_sorted(sides.ref, sides.cur)[1]
        return wasserstein_sorted(sides.ref, sides.cur) / max(sides.ref_std, MIN_STD)
    if method == "jensenshannon":
        return jensenshannon_counts(*binned(sides))
    if method == "psi":
        return psi_counts(*binned(sides))
    ref, cur = value_counts(sides)
    return chisquare_counts(ref, cur) if method == "chisquare" else z_counts(ref, cur)


def numeric_values(values: Any, column: str, side: str) -> tuple[FloatArray, int]:
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


def categorical_counts(ref: Any, cur: Any) -> tuple[IntArray, IntArray, int, int]:
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
    except TypeError:  # labels of mixed types: sort by type, then text. Never by first
        # sight, which puts reference-only labels first and would bias grouped levels.
        keys = [(type(u).__name__, str(u)) for u in uniques]
        rank = np.empty(k, dtype=np.int64)
        rank[sorted(range(k), key=keys.__getitem__)] = np.arange(k)
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


def load(reference: Any, current: Any, column: str, kind: Kind) -> tuple[Sides, int, int]:
    """The column's non-null values per side, and each side's row count with nulls."""
    if kind == "numeric":
        ref, n_ref_all = numeric_values(reference, column, "reference")
        cur, n_cur_all = numeric_values(current, column, "current")
        std = float(np.std(ref)) if ref.size else 0.0
        return Sides(kind, ref=np.sort(ref), cur=np.sort(cur), ref_std=std), n_ref_all, n_cur_all
    rc, cc, n_ref_all, n_cur_all = categorical_counts(reference, current)
    return Sides(kind, ref_counts=rc, cur_counts=cc), n_ref_all, n_cur_all
