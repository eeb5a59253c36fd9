"""Pairing candidate and baseline rows, so both models are judged on the same rows.

By the `columns.id` key when the config names one, else by position (with a
row-count check). The target must then agree row by row: if it does not, the
two files are not predictions on the same rows and any delta would be noise."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from mlci.errors import InputError
from mlci.predictions import Predictions
from mlci.tables import plain

if TYPE_CHECKING:
    import numpy as np


@dataclass(frozen=True)
class Paired:
    y_true: np.ndarray
    candidate_pred: np.ndarray | None
    baseline_pred: np.ndarray | None
    candidate_score: np.ndarray | None
    baseline_score: np.ndarray | None
    order: np.ndarray  # baseline row of each candidate row

    @property
    def n(self) -> int:
        return int(self.y_true.shape[0])


def pair(candidate: Predictions, baseline: Predictions, *, id_column: str | None,
         need_labels: bool, need_scores: bool) -> Paired:
    import numpy as np

    order = _order(candidate, baseline, id_column)
    y_true, base_true = candidate.y_true, baseline.y_true[order]
    if len(y_true) < 2:
        raise InputError(f"{candidate.source}: a comparison needs at least 2 rows, got "
                         f"{len(y_true)}")
    mismatch = np.flatnonzero(np.asarray(y_true != base_true))
    if mismatch.size:
        row = int(mismatch[0])
        raise InputError(f"{candidate.source} and {baseline.source}: column "
                         f"{candidate.columns.target!r} differs in {mismatch.size} paired "
                         f"row(s) (first: row {row + 1}, {plain(y_true[row])!r} vs "
                         f"{plain(base_true[row])!r}); expected predictions on the same rows")
    cand_pred = base_pred = cand_score = base_score = None
    if need_labels:
        candidate.check_label_types()
        baseline.check_label_types()
        cand_pred, base_pred = candidate.y_pred, baseline.y_pred[order]
    if need_scores:
        cand_score = _scores(candidate, "candidate")
        base_score = _scores(baseline, "baseline")[order]
    return Paired(y_true, cand_pred, base_pred, cand_score, base_score, order)


def _scores(preds: Predictions, role: str) -> np.ndarray:
    score = preds.y_score
    if score is None:
        where = f"model {preds.model.uri}" if preds.model else preds.source
        raise InputError(f"{where}: the {role} has no scores (column "
                         f"{preds.columns.score!r}), which roc_auc, log_loss and brier need")
    return score


def _order(candidate: Predictions, baseline: Predictions, id_column: str | None) -> np.ndarray:
    import numpy as np
    import pandas as pd

    n_cand, n_base = len(candidate.frame), len(baseline.frame)
    if id_column is None:
        if n_cand != n_base:
            raise InputError(f"{candidate.source} has {n_cand} rows but {baseline.source} has "
                             f"{n_base}, and no id column pairs them; set columns.id")
        return np.arange(n_cand)
    ids = []
    for preds in (candidate, baseline):
        if id_column not in preds.frame.columns:
            raise InputError(f"{preds.source}: id column {id_column!r} not found "
                             "(set by columns.id)")
        series = preds.frame[id_column]
        duplicated = series[series.duplicated()]
        if len(duplicated):
            raise InputError(f"{preds.source}: id column {id_column!r} has duplicate values "
                             f"(first: {plain(duplicated.iloc[0])!r}); expected one row per id")
        ids.append(series)
    position = pd.Index(ids[1]).get_indexer(ids[0])
    missing = np.flatnonzero(position < 0)
    extra = n_base - (n_cand - missing.size)
    if missing.size or extra:
        example = plain(ids[0].iloc[int(missing[0])]) if missing.size else None
        raise InputError(f"ids do not match: {missing.size} id(s) of {candidate.source} are "
                         f"not in {baseline.source}"
                         + (f" (first: {example!r})" if example is not None else "")
                         + f" and {extra} of {baseline.source} are not in {candidate.source}")
    return position
