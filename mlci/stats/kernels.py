"""Metric kernels of the paired bootstrap: (candidate, baseline) values from unit counts.

Every metric is computed from a count matrix of shape (resamples, units) with array
operations, so a chunk of resamples costs a few matrix products, not a Python loop
per resample. A unit is a row, or for label metrics a cell (true, candidate,
baseline label) holding many rows (`mlci.stats.units`)."""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np
import numpy.typing as npt
from scipy import sparse

from mlci.metrics import ratio

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]
BoolArray = npt.NDArray[np.bool_]

LABEL_METRICS = frozenset({"accuracy", "balanced_accuracy", "precision", "recall", "f1"})
SCORE_METRICS = frozenset({"roc_auc", "log_loss", "brier"})
REGRESSION_METRICS = frozenset({"rmse", "mae", "r2", "mape"})
SUPPORTED = LABEL_METRICS | SCORE_METRICS | REGRESSION_METRICS


class Statistic:
    """A metric for both models as a function of how often each unit is drawn."""

    bytes_per_unit = 8  # working memory per (resample, unit), for chunk sizing

    def values(self, counts: FloatArray) -> FloatArray:
        """(resamples, units) counts → (resamples, 2) [candidate, baseline]."""
        raise NotImplementedError

    def jackknife(self, mult: FloatArray) -> tuple[FloatArray, FloatArray]:
        """Values with one row of each unit left out, and the weight of each unit."""
        raise NotImplementedError


class Linear(Statistic):
    """Metrics that are a function of weighted sums of per-unit quantities.

    `x` is (units, quantities), dense, or sparse when there are many quantities with
    few non-zeros per unit (per-class counts of a many-class problem)."""

    def __init__(self, x: FloatArray | sparse.csr_array,
                 fn: Callable[[FloatArray], FloatArray]) -> None:
        self.x = x
        self.fn = fn

    def sums(self, counts: FloatArray) -> FloatArray:
        if isinstance(self.x, np.ndarray):
            return counts @ self.x
        return np.asarray((self.x.T @ counts.T).T)

    def values(self, counts: FloatArray) -> FloatArray:
        return self.fn(self.sums(counts))

    def jackknife(self, mult: FloatArray) -> tuple[FloatArray, FloatArray]:
        keep = np.flatnonzero(mult > 0)
        total = self.sums(mult[None, :])
        step = max(1, 2**22 // self.x.shape[1])  # bound the dense block of units
        parts = []
        for start in range(0, keep.shape[0], step):  # chunks of units
            block = self.x[keep[start:start + step]]
            dense = block if isinstance(block, np.ndarray) else block.toarray()
            parts.append(self.fn(total - dense))
        return np.concatenate(parts), mult[keep]


class Auc(Statistic):
    """ROC AUC as the Mann-Whitney U with ties counting one half.

    Scores are sorted once per model; a resample only re-weights the sorted
    groups of tied scores, so U is a cumulative sum instead of a re-sort. All sums
    are of integer counts, hence exact: the AUC equals the rank formula to the
    last bit or two."""

    bytes_per_unit = 48

    def __init__(self, is_pos: BoolArray, scores: Sequence[FloatArray]) -> None:
        self.is_pos = is_pos
        self.models: list[tuple[IntArray, IntArray | None, IntArray, FloatArray]] = []
        for score in scores:
            order = np.argsort(score, kind="stable")
            ordered = score[order]
            is_start = np.r_[True, ordered[1:] != ordered[:-1]]
            starts = np.flatnonzero(is_start)
            group = np.empty(score.shape[0], dtype=np.int64)
            group[order] = np.cumsum(is_start) - 1
            tied = starts if starts.shape[0] < score.shape[0] else None
            self.models.append((order, tied, group, is_pos[order].astype(np.float64)))

    def values(self, counts: FloatArray) -> FloatArray:
        out = np.empty((counts.shape[0], len(self.models)))
        for m, (order, tied, _, pos_sorted) in enumerate(self.models):  # two models
            ordered = np.take(counts, order, axis=1)
            wp = ordered * pos_sorted
            wn = ordered - wp
            if tied is not None:
                wp = np.add.reduceat(wp, tied, axis=1)
                wn = np.add.reduceat(wn, tied, axis=1)
            # negatives strictly below each group, plus half of those tied with it
            beaten = np.cumsum(wn, axis=1)
            beaten -= 0.5 * wn
            u = np.einsum("rg,rg->r", wp, beaten)
            with np.errstate(invalid="ignore", divide="ignore"):
                out[:, m] = u / (wp.sum(axis=1) * wn.sum(axis=1))
        return out

    def jackknife(self, mult: FloatArray) -> tuple[FloatArray, FloatArray]:
        keep = mult > 0
        out = np.empty((int(keep.sum()), len(self.models)))
        pos = self.is_pos[keep]
        for m, (order, tied, group, pos_sorted) in enumerate(self.models):  # two models
            ordered = mult[order]
            starts = tied if tied is not None else np.arange(order.shape[0])
            wp = np.add.reduceat(ordered * pos_sorted, starts)
            wn = np.add.reduceat(ordered * (1.0 - pos_sorted), starts)
            n_pos, n_neg = float(wp.sum()), float(wn.sum())
            below_neg = np.cumsum(wn) - wn
            above_pos = n_pos - np.cumsum(wp)
            u = float(wp @ (below_neg + 0.5 * wn))
            g = group[keep]
            with np.errstate(invalid="ignore", divide="ignore"):
                out[:, m] = np.where(
                    pos,
                    (u - below_neg[g] - 0.5 * wn[g]) / ((n_pos - 1.0) * n_neg),
                    (u - above_pos[g] - 0.5 * wp[g]) / (n_pos * (n_neg - 1.0)),
                )
        return out, mult[keep]


def _label_metric(name: str, diag: FloatArray, true_sum: FloatArray, pred_sum: FloatArray,
                  binary: bool) -> FloatArray:
    """Vectorised `mlci.metrics` label metrics from per-class counts, (resamples, classes):
    correct predictions, true labels and predicted labels — all a confusion-matrix
    metric needs, in 3k numbers instead of k²."""
    if name == "accuracy":
        return diag.sum(axis=1) / true_sum.sum(axis=1)
    if name == "balanced_accuracy":
        seen = true_sum > 0
        return (ratio(diag, true_sum) * seen).sum(axis=1) / seen.sum(axis=1)
    if name == "precision":
        per_label = ratio(diag, pred_sum)
    elif name == "recall":
        per_label = ratio(diag, true_sum)
    else:
        per_label = ratio(2.0 * diag, pred_sum + true_sum)
    if binary:
        return per_label[:, 1]
    # Macro over the labels the resample contains for this model, as scikit-learn
    # (and mlci.metrics) take the union of y_true's and y_pred's labels.
    present = (true_sum + pred_sum) > 0
    return (per_label * present).sum(axis=1) / present.sum(axis=1)


def label_statistic(name: str, k: int, binary: bool,
                     x: FloatArray | sparse.csr_array) -> Linear:
    def fn(sums: FloatArray) -> FloatArray:
        true_sum = sums[:, 1:1 + k]
        out = []
        for m in range(2):  # two models
            start = 1 + k + 2 * k * m
            out.append(_label_metric(name, sums[:, start:start + k],
                                     true_sum, sums[:, start + k:start + 2 * k], binary))
        return np.stack(out, axis=1)

    return Linear(x, fn)


def _mean_pair(sums: FloatArray) -> FloatArray:
    return sums[:, 1:3] / sums[:, :1]


def _sqrt_mean_pair(sums: FloatArray) -> FloatArray:
    return np.sqrt(sums[:, 1:3] / sums[:, :1])


def _r2_pair(sums: FloatArray) -> FloatArray:
    # columns: weight, Σy', Σy'², SSE_c, SSE_b with y' = y − mean(y) (shift-invariant,
    # and centring keeps Σy'² − (Σy')²/W free of cancellation).
    w, s1, s2 = sums[:, 0], sums[:, 1], sums[:, 2]
    total = s2 - s1 * s1 / w
    flat = total <= 1e-12 * np.maximum(s2, np.finfo(np.float64).tiny)
    out = np.empty((sums.shape[0], 2))
    for m in range(2):  # two models
        sse = sums[:, 3 + m]
        with np.errstate(invalid="ignore", divide="ignore"):
            r2 = 1.0 - sse / total
        # mlci.metrics (scikit-learn's force_finite): a constant target scores 1 if fit exactly.
        out[:, m] = np.where(flat, np.where(sse == 0, 1.0, 0.0), r2)
    return out



def row_statistic(name: str, y: FloatArray | BoolArray,
                   preds: Sequence[FloatArray]) -> Statistic:
    ones = np.ones(y.shape[0])
    if name == "roc_auc":
        return Auc(y.astype(bool), preds)
    if name in SCORE_METRICS:
        t = y.astype(np.float64)
        if name == "brier":
            cols = [(t - p) ** 2 for p in preds]
        else:
            eps = np.finfo(np.float64).eps
            cols = [-np.log(np.clip(np.where(t > 0, p, 1.0 - p), eps, 1.0 - eps)) for p in preds]
        return Linear(np.column_stack([ones, *cols]), _mean_pair)
    yf = y.astype(np.float64)
    if name == "r2":
        centred = yf - yf.mean()
        x = np.column_stack([ones, centred, centred**2, *[(yf - p) ** 2 for p in preds]])
        return Linear(x, _r2_pair)
    if name == "rmse":
        return Linear(np.column_stack([ones, *[(yf - p) ** 2 for p in preds]]), _sqrt_mean_pair)
    if name == "mae":
        return Linear(np.column_stack([ones, *[np.abs(yf - p) for p in preds]]), _mean_pair)
    eps = np.finfo(np.float64).eps  # mape, as scikit-learn: zero targets stay finite
    scale = np.maximum(np.abs(yf), eps)
    return Linear(np.column_stack([ones, *[np.abs(p - yf) / scale for p in preds]]), _mean_pair)

