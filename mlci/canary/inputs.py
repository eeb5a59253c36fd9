"""Where canary and stable samples come from: files, or Prometheus.

A SRC is a CSV / Parquet / JSON Lines file, either wide (one column per metric,
one row per sample) or long (`metric,value` and optionally `side` columns, so one
file can hold both sides); or `prometheus` / `prometheus+http(s)://host:port`,
which runs each metric's PromQL query over `query_range` with `{{side}}` replaced.

Empty cells and NaN are missing samples (Kayenta drops them, and so does the
judge, reporting how many); text where a number belongs, infinities, and a metric
with no samples at all are bad input (exit 2) naming the file, column and row."""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

import numpy as np

from mlci.canary import prometheus
from mlci.canary.samples import FloatArray, Samples, totals
from mlci.canary.settings import Metric, Settings
from mlci.errors import InputError
from mlci.tables import file_digest, read_table

if TYPE_CHECKING:
    import pandas as pd

SIDES = ("stable", "canary")
LONG_COLUMNS = ("metric", "value")


def is_prometheus(spec: str) -> bool:
    return spec == "prometheus" or spec.startswith(("prometheus+http://", "prometheus+https://"))


def load(spec: str, side: str, settings: Settings, metrics: Iterable[Metric] | None, *,
         now: float | None = None) -> Samples:
    """Samples of `side` for `metrics` (None: every metric the input has). `now` ends
    the Prometheus window, the same instant for both sides."""
    if is_prometheus(spec):
        if metrics is None:
            raise settings_error(settings, "canary.metrics: a Prometheus source needs the "
                                           "metrics listed, each with its query")
        return prometheus.load(spec, side, settings, list(metrics), now=now)
    return load_file(spec, side, metrics)


def settings_error(settings: Settings, message: str) -> InputError:
    path = settings.config.path if settings.config else "config"
    return InputError(f"{path}: {message}", file=settings.config.path if settings.config else None)


def load_file(path: str, side: str, metrics: Iterable[Metric] | None) -> Samples:
    frame = read_table(path)
    frame.columns = [str(c) for c in frame.columns]
    long = all(c in frame.columns for c in LONG_COLUMNS)
    samples = Samples(side=side, source=path, digest=file_digest(path))
    if long:
        frame = _side_rows(frame, path, side)
        names = [str(n) for n in frame["metric"].dropna().unique()]
        groups = {str(name): rows for name, rows in frame.groupby("metric", sort=False)}
        samples.available = tuple(names)

        def column(name: str, why: str) -> tuple[Any, str]:
            if name not in groups:
                raise InputError(f"{path}: no rows with metric {name!r}{_for_side(frame, side)} "
                                 f"({why}); metrics present: {_listing(names)}")
            return groups[name]["value"], f"value (metric {name!r})"
    else:
        samples.available = tuple(frame.columns)

        def column(name: str, why: str) -> tuple[Any, str]:
            if name not in frame.columns:
                raise InputError(f"{path}: column {name!r} not found ({why}); columns are: "
                                 f"{_listing(list(frame.columns))}; a long file has the columns "
                                 "metric, value (and side)")
            return frame[name], repr(name)
    wanted = list(metrics) if metrics is not None else None
    if wanted is None:
        candidates = [n for n in samples.available if long or _numeric_column(frame[n])]
        if not candidates:
            raise InputError(f"{path}: no numeric column to judge; columns are: "
                             f"{_listing(list(frame.columns))}")
        wanted = [Metric(name=n) for n in candidates]
    for metric in wanted:
        if metric.is_rate:
            if not (metric.events and metric.trials):
                raise InputError(f"{path}: rate {metric.name} has only Prometheus queries; for a "
                                 "file, name its count columns with events: and trials:")
            events = _numbers(*column(metric.events, f"events of rate {metric.name}"), path)
            trials = _numbers(*column(metric.trials, f"trials of rate {metric.name}"), path)
            samples.counts[metric.name] = totals(events, trials, metric, path)
        else:
            values = _numbers(*column(metric.source, f"metric {metric.name}"), path)
            if values.size == 0:
                raise InputError(f"{path}: metric {metric.name!r} has no {side} samples")
            samples.values[metric.name] = values
    return samples


def _side_rows(frame: pd.DataFrame, path: str, side: str) -> pd.DataFrame:
    if "side" not in frame.columns:
        return frame
    labels = frame["side"].astype(str).str.strip().str.lower()
    unknown = sorted(set(labels) - set(SIDES))
    if unknown:
        raise InputError(f"{path}: column 'side' has value(s) {_listing(unknown)}; expected "
                         "stable or canary")
    rows = frame[labels == side]
    if rows.empty:
        raise InputError(f"{path}: no rows with side {side!r} (the {side} side has no "
                         f"samples); sides present: {_listing(sorted(set(labels)))}")
    return rows


def _for_side(frame: pd.DataFrame, side: str) -> str:
    return f" and side {side!r}" if "side" in frame.columns else ""


def _numeric_column(series: Any) -> bool:
    import pandas as pd

    return bool(pd.api.types.is_numeric_dtype(series) and not pd.api.types.is_bool_dtype(series))


def _numbers(series: Any, label: str, path: str) -> FloatArray:
    """Floats with NaN for missing cells; text or infinities are bad input."""
    import pandas as pd

    if not _numeric_column(series):
        coerced = pd.to_numeric(series, errors="coerce")
        bad = coerced.isna() & series.notna() & (series.astype(str).str.strip() != "")
        if bad.any():
            first = int(np.flatnonzero(bad.to_numpy())[0])
            raise InputError(f"{path}: column {label} must be numeric; found "
                             f"{series.iloc[first]!r} in row {_row(series, first)}")
        series = coerced
    values = series.to_numpy(dtype=np.float64, na_value=np.nan)
    infinite = np.isinf(values)
    if infinite.any():
        first = int(np.flatnonzero(infinite)[0])
        raise InputError(f"{path}: column {label} has {int(infinite.sum())} infinite value(s), "
                         f"first in row {_row(series, first)}; expected finite numbers "
                         "(leave a cell empty for a missing sample)")
    return values


def _row(series: Any, position: int) -> int:
    """1-based data row in the file (long files keep the original row index)."""
    index = series.index[position]
    return int(index) + 1 if isinstance(index, (int, np.integer)) else position + 1


def _listing(names: list[str], limit: int = 12) -> str:
    shown = ", ".join(map(str, names[:limit]))
    return shown + (", …" if len(names) > limit else "") if names else "(none)"
