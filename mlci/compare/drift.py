"""`mlci compare --drift`: per-column drift between a reference and a current
dataset, and a dataset-level verdict. Tests and defaults: `mlci.stats.drift`.

Each column gets a `drift:<column>` check (its values) and, when either side has
missing values, a `missing:<column>` check (their share): a column that went from
0 % to 50 % missing warns even when the values left look the same."""

from __future__ import annotations

from pathlib import Path

from mlci.compare.settings import DriftSettings
from mlci.result import Check, Result
from mlci.stats.drift import (
    NULL_SHARE_ALPHA,
    DatasetDrift,
    DriftOptions,
    dataset_drift,
    missing_message,
    parquet_drift,
    select_columns,
)
from mlci.tables import FORMATS, file_digest, read_table


def _is_parquet(path: str) -> bool:
    if not Path(path).is_file():
        read_table(path)  # raises the usual "file not found"
    return FORMATS.get(Path(path).suffix.lower()) == "parquet"


def drift(settings: DriftSettings, *, reference: str, current: str) -> Result:
    options = DriftOptions(method=settings.method, methods=settings.methods,
                           thresholds=settings.thresholds, share=settings.share)
    if all(_is_parquet(path) for path in (reference, current)):
        # one column at a time: a quarter of the memory of reading both tables whole
        found = parquet_drift(reference, current, columns=settings.columns,
                              exclude=settings.exclude, options=options)
    else:
        ref, cur = read_table(reference), read_table(current)
        names = select_columns([str(c) for c in ref.columns], [str(c) for c in cur.columns],
                               settings.columns, settings.exclude, (reference, current))
        found = dataset_drift(ref, cur, columns=names, method=options.method,
                              methods=options.methods, thresholds=options.thresholds,
                              share=options.share)
    checks = _checks(found)
    return Result(step="drift", checks=checks, summary=found.message,
                  subject={"inputs": {"reference": file_digest(reference),
                                      "current": file_digest(current)}})


def _checks(found: DatasetDrift) -> list[Check]:
    """The dataset verdict, then per column its values and, with nulls, their share."""
    checks = [Check(name="dataset drift", status=found.status, message=found.message,
                    value=found.share, threshold=found.threshold,
                    extra={"columns_tested": found.n_tested, "columns_drifted": found.n_drifted,
                           "columns_missing_changed": found.n_null_drifted})]
    for column in found.columns:
        checks.append(Check(
            name=f"drift:{column.column}", status=column.status, message=column.message,
            column=column.column, value=column.score, threshold=column.threshold,
            p_value=column.score if column.is_p_value else None,
            extra={"method": column.method, "drifted": column.drifted, "kind": column.kind,
                   "rows": [column.n_reference, column.n_current],
                   "null_share": [column.null_reference, column.null_current]}))
        if column.null_reference or column.null_current:
            checks.append(Check(
                name=f"missing:{column.column}", column=column.column,
                status="warn" if column.null_drifted else "pass",
                message=missing_message(column), value=column.null_p_value,
                threshold=NULL_SHARE_ALPHA, p_value=column.null_p_value,
                extra={"method": "null share z", "drifted": column.null_drifted,
                       "null_share": [column.null_reference, column.null_current]}))
    return checks
