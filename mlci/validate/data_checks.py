"""Data tests: required columns and dtypes, null shares, ranges, allowed values,
row-count bounds. A data problem is the test's finding (fail), not bad input:
the file was readable, the data in it is what the test rejects."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from mlci.result import Check, Location, Status

if TYPE_CHECKING:
    import pandas as pd

NO_DATA = "not run: no data (pass --data FILE or --predictions FILE)"


def run(kind: str, test: dict[str, Any], frame: pd.DataFrame | None, source: str | None,
        location: Location | None) -> list[Check]:
    if kind == "row_count":
        name = test.get("name") or "row_count"
        if frame is None:
            return [Check(name=name, status="skip", message=NO_DATA, location=location)]
        return [_row_count(name, test["row_count"], len(frame), location)]
    column: str = test["column"]
    name = test.get("name") or f"column:{column}"
    if frame is None:
        return [Check(name=name, status="skip", message=NO_DATA, column=column,
                      location=location)]
    return [_column(name, test, frame, source or "data", location)]


def _row_count(name: str, bounds: dict[str, int], rows: int, location: Location | None) -> Check:
    low, high = bounds.get("min"), bounds.get("max")
    threshold: int | None
    if low is not None and rows < low:
        status, threshold, message = "fail", low, f"{rows} rows is below the minimum {low}"
    elif high is not None and rows > high:
        status, threshold, message = "fail", high, f"{rows} rows is above the maximum {high}"
    else:
        within = " and ".join(s for s in (f">= {low}" if low is not None else "",
                                          f"<= {high}" if high is not None else "") if s)
        status, threshold, message = "pass", low if low is not None else high, \
            f"{rows} rows, within {within}"
    return Check(name=name, status=status, message=message, value=float(rows),  # type: ignore[arg-type]
                 threshold=None if threshold is None else float(threshold), location=location)


def _column(name: str, test: dict[str, Any], frame: pd.DataFrame, source: str,
            location: Location | None) -> Check:
    column = test["column"]
    if column not in frame.columns:
        if test.get("required", True):
            return Check(name=name, status="fail", column=column, location=location,
                         message=f"required column {column!r} is missing from {source}")
        return Check(name=name, status="skip", column=column, location=location,
                     message=f"optional column {column!r} is not in {source}")
    series = frame[column]
    problems: list[str] = []
    notes: list[str] = []
    if "dtype" in test and not _has_dtype(series, test["dtype"]):
        problems.append(f"dtype is {series.dtype}, expected {test['dtype']}")
    null_share = float(series.isna().mean())
    if "max_null" in test:
        if null_share > test["max_null"]:
            problems.append(f"{null_share:.2%} nulls, above the maximum {test['max_null']:.2%}")
        else:
            notes.append(f"{null_share:.2%} nulls")
    present = series.dropna()
    if "min" in test or "max" in test:
        problems += _range(present, test.get("min"), test.get("max"))
    if "allowed" in test:
        problems += _allowed(present, test["allowed"])
    status: Status = "fail" if problems else "pass"
    message = f"{column}: " + ("; ".join(problems) if problems else
                              "ok" + (f" ({', '.join(notes)})" if notes else ""))
    return Check(name=name, status=status, column=column, message=message, location=location,
                 extra={"null_share": null_share})


def _has_dtype(series: pd.Series[Any], dtype: str) -> bool:
    import pandas as pd
    from pandas.api import types

    checks = {
        "numeric": lambda s: types.is_numeric_dtype(s) and not types.is_bool_dtype(s),
        "integer": types.is_integer_dtype,
        "float": types.is_float_dtype,
        "string": lambda s: types.is_string_dtype(s) or types.is_object_dtype(s),
        "boolean": types.is_bool_dtype,
        "datetime": types.is_datetime64_any_dtype,
        "categorical": lambda s: isinstance(s.dtype, pd.CategoricalDtype)
        or types.is_string_dtype(s) or types.is_object_dtype(s),
    }
    return bool(checks[dtype](series))


def _range(present: pd.Series[Any], low: float | None, high: float | None) -> list[str]:
    import pandas as pd

    values = pd.to_numeric(present, errors="coerce")
    if values.isna().any():
        return [f"has non-numeric values (e.g. {present[values.isna()].iloc[0]!r}); "
                "a range needs numbers"]
    problems = []
    if low is not None and (values < low).any():
        problems.append(f"{int((values < low).sum())} value(s) below the minimum {low} "
                        f"(smallest {values.min():.6g})")
    if high is not None and (values > high).any():
        problems.append(f"{int((values > high).sum())} value(s) above the maximum {high} "
                        f"(largest {values.max():.6g})")
    return problems


def _allowed(present: pd.Series[Any], allowed: list[Any]) -> list[str]:
    unexpected = sorted({v for v in present.unique().tolist() if v not in allowed}, key=str)
    if not unexpected:
        return []
    shown = ", ".join(map(repr, unexpected[:5])) + (", …" if len(unexpected) > 5 else "")
    return [f"{len(unexpected)} value(s) not allowed: {shown}"]
