"""Model-quality metrics in plain numpy.

The package must not depend on scikit-learn, yet users compare our numbers with
the ones their notebooks print, so every metric reproduces scikit-learn's
definition (and its edge-case conventions) to 1e-9; tests/test_metrics.py holds
us to that. Checking input *values* (NaN, probabilities outside [0, 1]) is the
caller's job, because only the caller can name the file and column at fault.
"""

from __future__ import annotations

import difflib
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from mlci.errors import InputError

TASKS: tuple[str, ...] = ("binary", "multiclass", "regression")

_CLASSIFICATION = frozenset({"binary", "multiclass"})
_BINARY = frozenset({"binary"})
_REGRESSION = frozenset({"regression"})

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]
BoolArray = npt.NDArray[np.bool_]


@dataclass(frozen=True)
class MetricSpec:
    """What a gate needs to know about a metric without computing it."""

    name: str
    tasks: frozenset[str]
    needs_score: bool
    higher_is_better: bool
    bounded: bool


METRICS: dict[str, MetricSpec] = {
    spec.name: spec
    for spec in (
        MetricSpec("accuracy", _CLASSIFICATION, False, True, True),
        MetricSpec("balanced_accuracy", _CLASSIFICATION, False, True, True),
        MetricSpec("precision", _CLASSIFICATION, False, True, True),
        MetricSpec("recall", _CLASSIFICATION, False, True, True),
        MetricSpec("f1", _CLASSIFICATION, False, True, True),
        MetricSpec("roc_auc", _BINARY, True, True, True),
        MetricSpec("log_loss", _BINARY, True, False, False),
        MetricSpec("brier", _BINARY, True, False, True),
        MetricSpec("rmse", _REGRESSION, False, False, False),
        MetricSpec("mae", _REGRESSION, False, False, False),
        MetricSpec("r2", _REGRESSION, False, True, False),
        MetricSpec("mape", _REGRESSION, False, False, False),
    )
}


def compute(
    name: str,
    y_true: npt.ArrayLike,
    y_pred: npt.ArrayLike | None = None,
    y_score: npt.ArrayLike | None = None,
    *,
    task: str,
    positive: object = 1,
    source: str | None = None,
) -> float:
    """Value of metric `name` for one task.

    `positive` only matters for binary tasks: labels there may be ints, bools or
    strings, so they are reduced once to "is the positive label" and every binary
    metric works on booleans. Score metrics read `y_score` (probability of the
    positive class) and ignore `y_pred`. `source`, the file the rows came from,
    starts every error message, so a CI log says which file to look at.
    """
    try:
        return _compute(name, y_true, y_pred, y_score, task=task, positive=positive)
    except InputError as exc:
        if source is None:
            raise
        raise InputError(f"{source}: {exc}") from None


def _compute(name: str, y_true: npt.ArrayLike, y_pred: npt.ArrayLike | None,
             y_score: npt.ArrayLike | None, *, task: str, positive: object) -> float:
    spec = _spec(name, task)
    truth = np.asarray(y_true)
    if truth.size == 0:
        raise InputError(f"metric {name} got no rows: y_true is empty")
    other_name, other = ("y_score", y_score) if spec.needs_score else ("y_pred", y_pred)
    if other is None:
        what = "a score (probability of the positive class)" if spec.needs_score else "predictions"
        raise InputError(f"metric {name} needs {what}, but {other_name} was not given")
    values = np.asarray(other)
    if values.ndim != 1 or truth.ndim != 1 or values.shape[0] != truth.shape[0]:
        raise InputError(
            f"metric {name} needs y_true and {other_name} as 1-d arrays of the same length, "
            f"got shapes {truth.shape} and {values.shape}"
        )

    if task == "regression":
        return _REGRESSION_METRICS[name](truth.astype(np.float64), values.astype(np.float64))
    if spec.needs_score:
        return _SCORE_METRICS[name](truth == positive, values.astype(np.float64), positive)
    if task == "binary":
        codes_true = (truth == positive).astype(np.int64)
        codes_pred = (values == positive).astype(np.int64)
        return _LABEL_METRICS[name](_confusion(codes_true, codes_pred, 2), True)
    (codes_true, codes_pred), n_labels = encode_labels([truth, values])
    return _LABEL_METRICS[name](_confusion(codes_true, codes_pred, n_labels), False)


def _spec(name: str, task: str) -> MetricSpec:
    if task not in TASKS:
        raise InputError(f"unknown task {task!r}; expected one of {', '.join(TASKS)}")
    spec = METRICS.get(name)
    if spec is None:
        close = difflib.get_close_matches(name, METRICS, n=1)
        hint = f"did you mean {close[0]!r}?" if close else f"known metrics: {', '.join(METRICS)}"
        raise InputError(f"unknown metric {name!r}; {hint}")
    require_task(spec, task)
    return spec


def require_task(spec: MetricSpec, task: str) -> None:
    """One wording, wherever a metric meets a task it does not apply to (computing it
    here, bootstrapping it in `mlci.stats.bootstrap`)."""
    if task not in spec.tasks:
        allowed = " or ".join(t for t in TASKS if t in spec.tasks)
        raise InputError(f"metric {spec.name} is for {allowed}, but task is {task}")


# --- label metrics: everything is read off one confusion matrix -------------

_MIXED_LABELS = (
    "multiclass labels mix strings and numbers in y_true and y_pred; use one type for all labels"
)


def encode_labels(arrays: Sequence[npt.NDArray[Any]],
                  mixed: str = _MIXED_LABELS) -> tuple[list[IntArray], int]:
    """Codes over the sorted union of labels, as scikit-learn's macro average uses, one
    array of codes per input (the paired bootstrap encodes three: truth and two models).

    numpy would silently turn a mix of numbers and strings into strings (so 1 and
    "1" would agree); scikit-learn refuses such a mix, and so do we, with `mixed`.
    """
    kinds = {a.dtype.kind for a in arrays}
    if kinds & set("US") and kinds & set("biuf"):
        raise InputError(mixed)
    try:
        _, inverse = np.unique(np.concatenate(arrays), return_inverse=True)
    except TypeError:  # object arrays holding both str and int cannot be sorted
        raise InputError(mixed) from None
    codes = inverse.reshape(-1).astype(np.int64)
    n = arrays[0].shape[0]
    return [codes[i * n:(i + 1) * n] for i in range(len(arrays))], int(codes.max()) + 1


def _confusion(codes_true: IntArray, codes_pred: IntArray, n_labels: int) -> IntArray:
    flat = np.bincount(codes_true * n_labels + codes_pred, minlength=n_labels * n_labels)
    return flat.reshape(n_labels, n_labels).astype(np.int64)


def ratio(num: npt.NDArray[Any], den: npt.NDArray[Any]) -> FloatArray:
    """num / den, with 0 where den is 0: scikit-learn's default zero_division result
    (here and in the bootstrap's vectorised metrics, which broadcast)."""
    out = np.zeros(np.broadcast_shapes(num.shape, den.shape), dtype=np.float64)
    np.divide(num, den, out=out, where=den != 0)
    return out


def _per_label(values: FloatArray, binary: bool) -> float:
    """Binary metrics are about the positive label (code 1); multiclass takes the macro mean."""
    return float(values[1] if binary else values.mean())


def _accuracy(cm: IntArray, binary: bool) -> float:
    return float(np.trace(cm) / cm.sum())


def _balanced_accuracy(cm: IntArray, binary: bool) -> float:
    # Labels never seen in y_true have no recall; scikit-learn leaves them out.
    true_sum = cm.sum(axis=1)
    seen = true_sum > 0
    return float((np.diag(cm)[seen] / true_sum[seen]).mean())


def _precision(cm: IntArray, binary: bool) -> float:
    return _per_label(ratio(np.diag(cm), cm.sum(axis=0)), binary)


def _recall(cm: IntArray, binary: bool) -> float:
    return _per_label(ratio(np.diag(cm), cm.sum(axis=1)), binary)


def _f1(cm: IntArray, binary: bool) -> float:
    return _per_label(ratio(2 * np.diag(cm), cm.sum(axis=0) + cm.sum(axis=1)), binary)


_LABEL_METRICS: dict[str, Callable[[IntArray, bool], float]] = {
    "accuracy": _accuracy,
    "balanced_accuracy": _balanced_accuracy,
    "precision": _precision,
    "recall": _recall,
    "f1": _f1,
}


# --- score metrics (binary) -------------------------------------------------


def _average_ranks(x: FloatArray) -> FloatArray:
    """1-based ranks, ties sharing the mean of the ranks they span."""
    _, inverse, counts = np.unique(x, return_inverse=True, return_counts=True)
    last_rank = np.cumsum(counts)
    return (last_rank - (counts - 1) / 2.0)[inverse.reshape(-1)]


def _roc_auc(is_pos: BoolArray, score: FloatArray, positive: object) -> float:
    """Mann-Whitney U / (n_pos * n_neg): the trapezoidal ROC area, ties counting half."""
    n_pos = int(is_pos.sum())
    n_neg = is_pos.shape[0] - n_pos
    if n_pos == 0 or n_neg == 0:
        which = "positive" if n_neg == 0 else "negative"
        raise InputError(
            f"metric roc_auc needs both classes in y_true, but all {is_pos.shape[0]} rows "
            f"are {which} (positive label {positive!r})"
        )
    rank_sum = _average_ranks(score)[is_pos].sum()
    return float((rank_sum - n_pos * (n_pos + 1) / 2.0) / (n_pos * n_neg))


def _log_loss(is_pos: BoolArray, score: FloatArray, positive: object) -> float:
    # scikit-learn clips the probability of the *observed* class (p or 1 - p)
    # to [eps, 1 - eps], so a confident miss costs about 36, not infinity.
    eps = np.finfo(np.float64).eps
    p_observed = np.clip(np.where(is_pos, score, 1.0 - score), eps, 1.0 - eps)
    return float(-np.log(p_observed).mean())


def _brier(is_pos: BoolArray, score: FloatArray, positive: object) -> float:
    return float(((is_pos - score) ** 2).mean())


_SCORE_METRICS: dict[str, Callable[[BoolArray, FloatArray, object], float]] = {
    "roc_auc": _roc_auc,
    "log_loss": _log_loss,
    "brier": _brier,
}


# --- regression -------------------------------------------------------------


def _rmse(y: FloatArray, pred: FloatArray) -> float:
    return float(np.sqrt(((y - pred) ** 2).mean()))


def _mae(y: FloatArray, pred: FloatArray) -> float:
    return float(np.abs(y - pred).mean())


def _r2(y: FloatArray, pred: FloatArray) -> float:
    if y.shape[0] < 2:
        # scikit-learn returns NaN here; a NaN would slip through a gate as "fail"
        # with no reason given, so say it instead.
        raise InputError(f"metric r2 needs at least 2 rows, got {y.shape[0]}")
    residual = ((y - pred) ** 2).sum()
    total = ((y - y.mean()) ** 2).sum()
    if total == 0:
        # scikit-learn's force_finite: a constant target is fit perfectly or not at all.
        return 1.0 if residual == 0 else 0.0
    return float(1.0 - residual / total)


def _mape(y: FloatArray, pred: FloatArray) -> float:
    # The epsilon keeps zero targets finite (and huge), as scikit-learn does.
    eps = np.finfo(np.float64).eps
    return float((np.abs(pred - y) / np.maximum(np.abs(y), eps)).mean())


_REGRESSION_METRICS: dict[str, Callable[[FloatArray, FloatArray], float]] = {
    "rmse": _rmse,
    "mae": _mae,
    "r2": _r2,
    "mape": _mape,
}
