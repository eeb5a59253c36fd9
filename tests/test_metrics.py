"""mlci.metrics against scikit-learn (the reference users compare with) to 1e-9."""

from __future__ import annotations

import math
import warnings
from collections.abc import Callable
from typing import Any

import numpy as np
import pytest
from sklearn import metrics as skm

from mlci import metrics
from mlci.errors import InputError

TOL = 1e-9
SIZES = (1, 2, 7, 100, 2_000)
LABEL_METRICS = ("accuracy", "balanced_accuracy", "precision", "recall", "f1")

# Binary label sets: (negative, positive) as a user's data might hold them.
BINARY_LABELS: dict[str, tuple[Any, Any]] = {
    "int": (0, 1),
    "bool": (False, True),
    "str": ("no", "yes"),
    "int-positive-is-smaller": (7, 2),
    "str-positive-is-smaller": ("spam", "ham"),
}


def _close(ours: float, ref: float) -> None:
    assert isinstance(ours, float)
    assert abs(ours - ref) <= TOL, (ours, ref)


def _sk_binary(name: str, y_true: np.ndarray, y_pred: np.ndarray, positive: Any) -> float:
    if name == "accuracy":
        return float(skm.accuracy_score(y_true, y_pred))
    if name == "balanced_accuracy":
        with warnings.catch_warnings():  # one class in y_true: sklearn warns, result is defined
            warnings.simplefilter("ignore")
            return float(skm.balanced_accuracy_score(y_true, y_pred))
    fn = {"precision": skm.precision_score, "recall": skm.recall_score, "f1": skm.f1_score}[name]
    return float(fn(y_true, y_pred, pos_label=positive, zero_division=0))


def _sk_macro(name: str, y_true: np.ndarray, y_pred: np.ndarray) -> float:
    if name == "accuracy":
        return float(skm.accuracy_score(y_true, y_pred))
    if name == "balanced_accuracy":
        with warnings.catch_warnings():  # labels only in y_pred: sklearn warns and drops them
            warnings.simplefilter("ignore")
            return float(skm.balanced_accuracy_score(y_true, y_pred))
    fn = {"precision": skm.precision_score, "recall": skm.recall_score, "f1": skm.f1_score}[name]
    return float(fn(y_true, y_pred, average="macro", zero_division=0))


def _binary_data(
    seed: int, n: int, labels: tuple[Any, Any], pos_share: float = 0.5
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Labels, noisy predictions and scores correlated with the truth."""
    rng = np.random.default_rng(seed)
    is_pos = rng.random(n) < pos_share
    flip = rng.random(n) < 0.25
    neg, pos = labels
    y_true = np.where(is_pos, pos, neg)
    y_pred = np.where(is_pos ^ flip, pos, neg)
    score = np.clip(0.5 * is_pos + 0.6 * rng.random(n) - 0.05, 0.0, 1.0)
    if isinstance(neg, bool):
        y_true, y_pred = y_true.astype(bool), y_pred.astype(bool)
    return y_true, y_pred, score


# --- spec table ----------------------------------------------------------------


def test_metric_table() -> None:
    assert metrics.TASKS == ("binary", "multiclass", "regression")
    assert list(metrics.METRICS) == [
        "accuracy",
        "balanced_accuracy",
        "precision",
        "recall",
        "f1",
        "roc_auc",
        "log_loss",
        "brier",
        "rmse",
        "mae",
        "r2",
        "mape",
    ]
    table = {
        name: (sorted(s.tasks), s.needs_score, s.higher_is_better, s.bounded)
        for name, s in metrics.METRICS.items()
    }
    cls = ["binary", "multiclass"]
    assert table == {
        "accuracy": (cls, False, True, True),
        "balanced_accuracy": (cls, False, True, True),
        "precision": (cls, False, True, True),
        "recall": (cls, False, True, True),
        "f1": (cls, False, True, True),
        "roc_auc": (["binary"], True, True, True),
        "log_loss": (["binary"], True, False, False),
        "brier": (["binary"], True, False, True),
        "rmse": (["regression"], False, False, False),
        "mae": (["regression"], False, False, False),
        "r2": (["regression"], False, True, False),
        "mape": (["regression"], False, False, False),
    }
    assert all(name == spec.name for name, spec in metrics.METRICS.items())
    with pytest.raises(AttributeError):
        metrics.METRICS["f1"].name = "g"  # type: ignore[misc]


# --- binary label metrics ------------------------------------------------------


@pytest.mark.parametrize("name", LABEL_METRICS)
@pytest.mark.parametrize("kind", BINARY_LABELS)
@pytest.mark.parametrize("n", SIZES)
def test_binary_label_metrics_match_sklearn(name: str, kind: str, n: int) -> None:
    labels = BINARY_LABELS[kind]
    for seed in range(3):
        y_true, y_pred, _ = _binary_data(seed, n, labels)
        ours = metrics.compute(name, y_true, y_pred, task="binary", positive=labels[1])
        _close(ours, _sk_binary(name, y_true, y_pred, labels[1]))


@pytest.mark.parametrize("name", LABEL_METRICS)
def test_binary_label_metrics_imbalanced(name: str) -> None:
    y_true, y_pred, _ = _binary_data(11, 5_000, (0, 1), pos_share=0.02)
    assert 0 < (y_true == 1).sum() < 200
    _close(
        metrics.compute(name, y_true, y_pred, task="binary"),
        _sk_binary(name, y_true, y_pred, 1),
    )


@pytest.mark.parametrize("name", LABEL_METRICS)
def test_binary_label_metrics_on_object_arrays(name: str) -> None:
    """pandas hands string columns over as object arrays."""
    y_true, y_pred, _ = _binary_data(5, 300, ("no", "yes"))
    y_true, y_pred = y_true.astype(object), y_pred.astype(object)
    ours = metrics.compute(name, y_true, y_pred, task="binary", positive="yes")
    _close(ours, _sk_binary(name, y_true, y_pred, "yes"))


def test_binary_label_metrics_exact_values() -> None:
    y_true = np.array([1, 1, 1, 1, 0, 0, 0, 0, 0, 0])
    y_pred = np.array([1, 1, 1, 0, 1, 1, 0, 0, 0, 0])
    # tp=3 fn=1 fp=2 tn=4
    expected = {
        "accuracy": 0.7,
        "balanced_accuracy": (3 / 4 + 4 / 6) / 2,
        "precision": 3 / 5,
        "recall": 3 / 4,
        "f1": 6 / 9,
    }
    for name, value in expected.items():
        assert metrics.compute(name, y_true, y_pred, task="binary") == pytest.approx(
            value, abs=1e-15
        )
    # The same data with 0 as the positive label: tp=4 fn=2 fp=1.
    assert metrics.compute("precision", y_true, y_pred, task="binary", positive=0) == 0.8
    assert metrics.compute("recall", y_true, y_pred, task="binary", positive=0) == 4 / 6


def test_binary_without_any_positive_gives_zero_like_sklearn() -> None:
    y = np.array([0, 0, 0])
    for name in ("precision", "recall", "f1"):
        assert metrics.compute(name, y, y, task="binary") == 0.0
        assert _sk_binary(name, y, y, 1) == 0.0
    assert metrics.compute("accuracy", y, y, task="binary") == 1.0
    assert metrics.compute("balanced_accuracy", y, y, task="binary") == 1.0


# --- binary score metrics ------------------------------------------------------


def _sk_score(name: str, is_pos: np.ndarray, score: np.ndarray) -> float:
    if name == "roc_auc":
        return float(skm.roc_auc_score(is_pos, score))
    if name == "log_loss":
        return float(skm.log_loss(is_pos, score, labels=[False, True]))
    return float(skm.brier_score_loss(is_pos, score, pos_label=True))


SCORE_METRICS = ("roc_auc", "log_loss", "brier")


@pytest.mark.parametrize("name", SCORE_METRICS)
@pytest.mark.parametrize("kind", BINARY_LABELS)
@pytest.mark.parametrize("n", (2, 7, 100, 2_000))
@pytest.mark.parametrize("decimals", (None, 1), ids=("distinct", "ties"))
def test_score_metrics_match_sklearn(name: str, kind: str, n: int, decimals: int | None) -> None:
    labels = BINARY_LABELS[kind]
    for seed in range(3):
        y_true, y_pred, score = _binary_data(seed, n, labels)
        y_true[:2] = labels  # both classes present, so roc_auc is defined
        if decimals is not None:
            score = np.round(score, decimals)
        ours = metrics.compute(name, y_true, y_pred, score, task="binary", positive=labels[1])
        _close(ours, _sk_score(name, y_true == labels[1], score))


@pytest.mark.parametrize("name", SCORE_METRICS)
def test_score_metrics_imbalanced(name: str) -> None:
    y_true, _, score = _binary_data(3, 20_000, (0, 1), pos_share=0.01)
    assert 50 < y_true.sum() < 400
    _close(
        metrics.compute(name, y_true, y_score=score, task="binary"),
        _sk_score(name, y_true == 1, score),
    )


@pytest.mark.parametrize("name", SCORE_METRICS)
def test_score_metrics_with_saturated_probabilities(name: str) -> None:
    """0 and 1 exactly: log_loss must clip like sklearn instead of returning inf."""
    rng = np.random.default_rng(8)
    y_true = rng.integers(0, 2, 500)
    score = rng.choice([0.0, 1.0, 0.5, 1e-20, 1 - 1e-17], 500)
    _close(
        metrics.compute(name, y_true, y_score=score, task="binary"),
        _sk_score(name, y_true == 1, score),
    )


def test_score_metrics_exact_values() -> None:
    y_true = np.array(["a", "b", "b", "a", "b"])
    score = np.array([0.2, 0.8, 0.2, 0.5, 0.9])  # probability of "b"
    # Pairs (pos, neg): 0.8>0.2, 0.8>0.5, 0.2=0.2 (half), 0.2<0.5, 0.9>0.2, 0.9>0.5 -> 4.5/6
    assert metrics.compute("roc_auc", y_true, y_score=score, task="binary", positive="b") == 0.75
    brier = metrics.compute("brier", y_true, y_score=score, task="binary", positive="b")
    assert brier == pytest.approx((0.04 + 0.04 + 0.64 + 0.25 + 0.01) / 5, abs=1e-15)
    loss = metrics.compute("log_loss", y_true, y_score=score, task="binary", positive="b")
    expected = -(math.log(0.8) * 2 + math.log(0.2) + math.log(0.5) + math.log(0.9)) / 5
    assert loss == pytest.approx(expected, abs=1e-15)
    # A confident miss costs -log(eps), as in sklearn.
    miss = metrics.compute("log_loss", np.array([1]), y_score=np.array([0.0]), task="binary")
    assert miss == -math.log(np.finfo(np.float64).eps)
    # All scores tied: no ranking information at all.
    flat = metrics.compute(
        "roc_auc", np.array([0, 1, 0, 1]), y_score=np.full(4, 0.3), task="binary"
    )
    assert flat == 0.5


def test_score_metrics_ignore_y_pred() -> None:
    y_true = np.array([0, 1, 1, 0])
    score = np.array([0.1, 0.7, 0.6, 0.4])
    assert metrics.compute("roc_auc", y_true, None, score, task="binary") == 1.0
    assert metrics.compute("roc_auc", y_true, np.array([9, 9, 9, 9]), score, task="binary") == 1.0


# --- multiclass ----------------------------------------------------------------


def _multiclass_data(
    seed: int, n: int, labels: np.ndarray, weights: np.ndarray | None = None
) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    y_true = rng.choice(labels, n, p=weights)
    wrong = rng.random(n) < 0.3
    y_pred = np.where(wrong, rng.choice(labels, n), y_true)
    return y_true, y_pred


MULTICLASS_LABELS = {
    "int": np.array([0, 1, 2, 3]),
    "int-sparse": np.array([-5, 3, 40]),
    "str": np.array(["cat", "dog", "eel", "fox", "gnu"]),
}


@pytest.mark.parametrize("name", LABEL_METRICS)
@pytest.mark.parametrize("kind", MULTICLASS_LABELS)
@pytest.mark.parametrize("n", SIZES)
def test_multiclass_matches_sklearn_macro(name: str, kind: str, n: int) -> None:
    for seed in range(3):
        y_true, y_pred = _multiclass_data(seed, n, MULTICLASS_LABELS[kind])
        ours = metrics.compute(name, y_true, y_pred, task="multiclass")
        _close(ours, _sk_macro(name, y_true, y_pred))


@pytest.mark.parametrize("name", LABEL_METRICS)
def test_multiclass_label_only_in_y_pred(name: str) -> None:
    y_true, y_pred = _multiclass_data(4, 400, np.array(["a", "b", "c"]))
    y_pred[::37] = "zzz"  # never true: precision 0, no recall, counted in the macro mean
    ours = metrics.compute(name, y_true, y_pred, task="multiclass")
    _close(ours, _sk_macro(name, y_true, y_pred))


@pytest.mark.parametrize("name", LABEL_METRICS)
def test_multiclass_label_only_in_y_true_and_imbalanced(name: str) -> None:
    labels = np.array([10, 20, 30, 40])
    y_true, y_pred = _multiclass_data(6, 3_000, labels, np.array([0.9, 0.07, 0.02, 0.01]))
    y_pred[y_pred == 40] = 10  # class 40 is never predicted
    ours = metrics.compute(name, y_true, y_pred, task="multiclass")
    _close(ours, _sk_macro(name, y_true, y_pred))


@pytest.mark.parametrize("name", LABEL_METRICS)
def test_multiclass_object_arrays(name: str) -> None:
    y_true, y_pred = _multiclass_data(9, 250, MULTICLASS_LABELS["str"])
    y_true, y_pred = y_true.astype(object), y_pred.astype(object)
    _close(
        metrics.compute(name, y_true, y_pred, task="multiclass"), _sk_macro(name, y_true, y_pred)
    )


def test_multiclass_exact_values() -> None:
    y_true = np.array(["a", "a", "b", "b", "c"])
    y_pred = np.array(["a", "b", "b", "b", "d"])
    # per label (a, b, c, d): precision 1, 2/3, 0, 0; recall 1/2, 1, 0, -(absent)
    assert metrics.compute("accuracy", y_true, y_pred, task="multiclass") == 0.6
    assert metrics.compute("precision", y_true, y_pred, task="multiclass") == pytest.approx(
        (1 + 2 / 3) / 4, abs=1e-15
    )
    assert metrics.compute("recall", y_true, y_pred, task="multiclass") == pytest.approx(
        1.5 / 4, abs=1e-15
    )
    assert metrics.compute("f1", y_true, y_pred, task="multiclass") == pytest.approx(
        (2 / 3 + 0.8) / 4, abs=1e-15
    )
    assert metrics.compute("balanced_accuracy", y_true, y_pred, task="multiclass") == 0.5


# --- regression ----------------------------------------------------------------


def _sk_regression(name: str) -> Callable[[np.ndarray, np.ndarray], float]:
    table: dict[str, Callable[[np.ndarray, np.ndarray], float]] = {
        "rmse": skm.root_mean_squared_error,
        "mae": skm.mean_absolute_error,
        "r2": skm.r2_score,
        "mape": skm.mean_absolute_percentage_error,
    }
    return table[name]


REGRESSION_METRICS = ("rmse", "mae", "r2", "mape")


@pytest.mark.parametrize("name", REGRESSION_METRICS)
@pytest.mark.parametrize("n", (2, 3, 100, 2_000, 50_000))
def test_regression_matches_sklearn(name: str, n: int) -> None:
    for seed in range(3):
        rng = np.random.default_rng(seed)
        y_true = rng.normal(50, 20, n)
        y_pred = y_true + rng.normal(0, 5, n)
        ours = metrics.compute(name, y_true, y_pred, task="regression")
        ref = float(_sk_regression(name)(y_true, y_pred))
        assert abs(ours - ref) <= TOL * max(1.0, abs(ref)), (ours, ref)


@pytest.mark.parametrize("name", REGRESSION_METRICS)
def test_regression_integer_input_and_zero_targets(name: str) -> None:
    """Zero targets make mape huge (sklearn's epsilon), but finite and equal to sklearn's."""
    rng = np.random.default_rng(2)
    y_true = rng.integers(-3, 4, 200)
    y_pred = rng.integers(-3, 4, 200)
    ours = metrics.compute(name, y_true, y_pred, task="regression")
    ref = float(_sk_regression(name)(y_true, y_pred))
    assert math.isfinite(ours)
    assert abs(ours - ref) <= TOL * max(1.0, abs(ref)), (ours, ref)


def test_regression_exact_values() -> None:
    y_true = np.array([1.0, 2.0, 4.0, 0.0])
    y_pred = np.array([2.0, 2.0, 2.0, 0.0])
    assert metrics.compute("rmse", y_true, y_pred, task="regression") == math.sqrt(5 / 4)
    assert metrics.compute("mae", y_true, y_pred, task="regression") == 0.75
    assert metrics.compute("r2", y_true, y_pred, task="regression") == 1 - 5 / 8.75
    assert metrics.compute("mape", y_true, y_pred, task="regression") == (1 + 0 + 0.5 + 0) / 4


def test_r2_constant_target_follows_sklearn_force_finite() -> None:
    y = np.array([3.0, 3.0, 3.0])
    assert metrics.compute("r2", y, y, task="regression") == 1.0 == skm.r2_score(y, y)
    off = np.array([3.0, 3.0, 4.0])
    assert metrics.compute("r2", y, off, task="regression") == 0.0 == skm.r2_score(y, off)


# --- errors --------------------------------------------------------------------

Y = np.array([0, 1, 1, 0])


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        (
            {"name": "acuracy", "task": "binary"},
            "unknown metric 'acuracy'; did you mean 'accuracy'?",
        ),
        (
            {"name": "rocauc", "task": "binary"},
            "unknown metric 'rocauc'; did you mean 'roc_auc'?",
        ),
        (
            {"name": "zzz", "task": "binary"},
            "unknown metric 'zzz'; known metrics: accuracy, balanced_accuracy, precision, "
            "recall, f1, roc_auc, log_loss, brier, rmse, mae, r2, mape",
        ),
        (
            {"name": "accuracy", "task": "ranking"},
            "unknown task 'ranking'; expected one of binary, multiclass, regression",
        ),
        (
            {"name": "rmse", "task": "binary"},
            "metric rmse is for regression, but task is binary",
        ),
        (
            {"name": "roc_auc", "task": "multiclass"},
            "metric roc_auc is for binary, but task is multiclass",
        ),
        (
            {"name": "f1", "task": "regression"},
            "metric f1 is for binary or multiclass, but task is regression",
        ),
        (
            {"name": "log_loss", "task": "binary", "y_pred": Y},
            "metric log_loss needs a score (probability of the positive class), "
            "but y_score was not given",
        ),
        (
            {"name": "accuracy", "task": "binary", "y_score": np.full(4, 0.5)},
            "metric accuracy needs predictions, but y_pred was not given",
        ),
        (
            {"name": "accuracy", "task": "multiclass", "y_true": np.array([]), "y_pred": []},
            "metric accuracy got no rows: y_true is empty",
        ),
        (
            {"name": "mae", "task": "regression", "y_true": [], "y_pred": []},
            "metric mae got no rows: y_true is empty",
        ),
        (
            {"name": "accuracy", "task": "binary", "y_pred": Y[:3]},
            "metric accuracy needs y_true and y_pred as 1-d arrays of the same length, "
            "got shapes (4,) and (3,)",
        ),
        (
            {"name": "brier", "task": "binary", "y_score": np.ones((4, 2))},
            "metric brier needs y_true and y_score as 1-d arrays of the same length, "
            "got shapes (4,) and (4, 2)",
        ),
        (
            {"name": "roc_auc", "task": "binary", "y_true": [1, 1, 1], "y_score": [0.2, 0.4, 0.9]},
            "metric roc_auc needs both classes in y_true, but all 3 rows are positive "
            "(positive label 1)",
        ),
        (
            {
                "name": "roc_auc",
                "task": "binary",
                "y_true": ["n", "n"],
                "y_score": [0.2, 0.4],
                "positive": "y",
            },
            "metric roc_auc needs both classes in y_true, but all 2 rows are negative "
            "(positive label 'y')",
        ),
        (
            {"name": "r2", "task": "regression", "y_true": [1.0], "y_pred": [2.0]},
            "metric r2 needs at least 2 rows, got 1",
        ),
        (
            {"name": "f1", "task": "multiclass", "y_pred": np.array(["0", "1", "1", "0"])},
            "multiclass labels mix strings and numbers in y_true and y_pred; "
            "use one type for all labels",
        ),
        (
            {"name": "f1", "task": "multiclass", "y_pred": np.array(["0", 1, 1, 0], dtype=object)},
            "multiclass labels mix strings and numbers in y_true and y_pred; "
            "use one type for all labels",
        ),
    ],
)
def test_errors(kwargs: dict[str, Any], message: str) -> None:
    args = {"y_true": Y, "y_pred": None, "y_score": None, **kwargs}
    name, task = args.pop("name"), args.pop("task")
    with pytest.raises(InputError) as caught:
        metrics.compute(name, task=task, **args)
    assert str(caught.value) == message
    assert "\n" not in message
