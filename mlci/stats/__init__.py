"""Statistics behind `mlci compare`: paired bootstrap intervals of metric deltas,
classical paired tests, margin verdicts with Holm's adjustment, and data drift.

Plain functions that take arrays and return dataclasses; the CLI turns them into
`mlci.result.Check`s. Only `compare` imports this package, so scipy loads here."""

from __future__ import annotations

from mlci.stats.bootstrap import (
    DEFAULT_CONFIDENCE,
    DEFAULT_RESAMPLES,
    SUPPORTED,
    BootstrapDistribution,
    DeltaEstimate,
    paired_bootstrap,
    unpaired_estimate,
)
from mlci.stats.decision import (
    Decision,
    Hypothesis,
    decide,
    decide_family,
    default_margin,
    hypothesis_for,
    margin_for,
    rows_to_settle,
)
from mlci.stats.drift import (
    ColumnDrift,
    DatasetDrift,
    DriftOptions,
    column_drift,
    dataset_drift,
    drift_columns,
    parquet_drift,
)
from mlci.stats.tests import (
    DeLongResult,
    PairedTestResult,
    delong,
    holm,
    holm_levels,
    mcnemar_exact,
    mcnemar_exact_counts,
)

__all__ = [
    "DEFAULT_CONFIDENCE",
    "DEFAULT_RESAMPLES",
    "SUPPORTED",
    "BootstrapDistribution",
    "ColumnDrift",
    "DatasetDrift",
    "DeLongResult",
    "Decision",
    "DeltaEstimate",
    "DriftOptions",
    "Hypothesis",
    "PairedTestResult",
    "column_drift",
    "dataset_drift",
    "decide",
    "decide_family",
    "default_margin",
    "delong",
    "drift_columns",
    "holm",
    "holm_levels",
    "hypothesis_for",
    "margin_for",
    "mcnemar_exact",
    "mcnemar_exact_counts",
    "paired_bootstrap",
    "parquet_drift",
    "rows_to_settle",
    "unpaired_estimate",
]
