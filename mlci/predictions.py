"""A table of labelled predictions, read from a file or made by running a model.

Columns are checked only when a test needs them, so a data-only run does not
demand a target column, and every error names the file and the column."""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property
from typing import TYPE_CHECKING

from mlci.config import Columns
from mlci.errors import InputError
from mlci.tables import file_digest, labels, numbers, read_table, require_column

if TYPE_CHECKING:
    import numpy as np
    import pandas as pd

    from mlci.registry.model import LoadedModel


@dataclass
class Predictions:
    source: str  # the file the rows came from (the data file when a model predicted)
    frame: pd.DataFrame
    columns: Columns
    task: str | None
    positive_label: object = None
    model: LoadedModel | None = None
    inputs: dict[str, str] = field(default_factory=dict)  # role → sha256 digest

    @cached_property
    def y_true(self) -> np.ndarray:
        why = "the target, set by columns.target"
        if self.task == "regression":
            return numbers(self.frame, self.columns.target, self.source, why)
        return labels(self.frame, self.columns.target, self.source, why)

    @cached_property
    def y_score(self) -> np.ndarray | None:
        if self.model is not None:
            return self._model_scores
        if self.columns.score not in self.frame.columns:
            return None
        return numbers(self.frame, self.columns.score, self.source,
                       "the positive-class probability, set by columns.score", probability=True)

    @cached_property
    def y_pred(self) -> np.ndarray:
        if self.model is not None:
            return self._model_predictions
        why = "the prediction, set by columns.prediction"
        if self.task == "regression":
            return numbers(self.frame, self.columns.prediction, self.source, why)
        if self.columns.prediction not in self.frame.columns and self.task == "binary" \
                and self.y_score is not None:
            return self._threshold(self.y_score)
        return labels(self.frame, self.columns.prediction, self.source, why)

    @cached_property
    def positive(self) -> object:
        """The positive label of a binary task: configured, else True for bools, else 1."""
        import numpy as np

        present = np.unique(np.asarray(self.y_true))
        if len(present) > 2:
            shown = ", ".join(map(repr, present[:5].tolist())) + (", …" if len(present) > 5
                                                                  else "")
            raise InputError(f"{self.source}: column {self.columns.target!r} has {len(present)} "
                             f"distinct labels ({shown}) but task is binary; "
                             f"{_task_hint(present)}")
        if self.positive_label is not None:
            wanted = self.positive_label
        elif present.dtype == bool:
            wanted = True
        else:
            wanted = 1
        if wanted not in present.tolist():
            shown = ", ".join(map(repr, present.tolist()))
            raise InputError(f"{self.source}: positive label {wanted!r} not found in column "
                             f"{self.columns.target!r} (labels: {shown}); "
                             f"{_positive_hint(wanted, present.tolist())}")
        return wanted

    def check_label_types(self) -> None:
        """Labels and predictions of different kinds (\"1\" vs 1) would silently never match."""
        if self.task == "regression":
            return
        true_kind, pred_kind = _kind(self.y_true), _kind(self.y_pred)
        if true_kind != pred_kind:
            raise InputError(f"{self.source}: column {self.columns.target!r} holds {true_kind} "
                             f"labels but the predictions hold {pred_kind} labels; expected the "
                             "same kind")

    @cached_property
    def _model_output(self) -> tuple[np.ndarray, np.ndarray | None]:
        import numpy as np

        assert self.model is not None
        drop = [self.columns.target, *([self.columns.id] if self.columns.id else [])]
        features = self.model.features(self.frame, drop)
        raw = self.model.predict(features)
        if hasattr(raw, "columns") and self.columns.prediction in raw.columns:
            score = raw[self.columns.score].to_numpy(float) \
                if self.columns.score in raw.columns else None
            return raw[self.columns.prediction].to_numpy(), score
        prediction = np.asarray(raw)
        if prediction.ndim == 2 and prediction.shape[1] == 1:
            prediction = prediction[:, 0]
        score = None
        if self.task == "binary":
            score = self.model.predict_scores(features, self.positive)
        return prediction, score

    @property
    def _model_predictions(self) -> np.ndarray:
        return self._model_output[0]

    @property
    def _model_scores(self) -> np.ndarray | None:
        return self._model_output[1]

    def _threshold(self, score: np.ndarray) -> np.ndarray:
        """Binary predictions from scores at 0.5, when the file has scores only."""
        import numpy as np

        present = np.unique(self.y_true)
        negative = next((v for v in present.tolist() if v != self.positive), None)
        return np.where(score >= 0.5, np.asarray(self.positive), np.asarray(negative))


# What YAML 1.1 (PyYAML) reads as a boolean when unquoted.
_YAML_BOOLEANS = {True: ("yes", "on", "true"), False: ("no", "off", "false")}


def _positive_hint(wanted: object, labels: list[object]) -> str:
    """`positive_label: yes` unquoted is the boolean true in YAML: say to quote it."""
    if isinstance(wanted, bool):
        spelled = [label for label in labels if isinstance(label, str)
                   and label.lower() in _YAML_BOOLEANS[wanted]]
        if spelled:
            return (f"YAML reads an unquoted {spelled[0]} as {str(wanted).lower()}: quote it "
                    f'in the config (positive_label: "{spelled[0]}")')
    return "set positive_label in the config"


def _task_hint(present: np.ndarray) -> str:
    """More than two labels: fractional (or very many) numbers are a regression target,
    anything else many classes (the same rule as task inference)."""
    import numpy as np
    import pandas as pd

    numeric = pd.api.types.is_numeric_dtype(present) and not pd.api.types.is_bool_dtype(present)
    if numeric and (len(present) > 20 or not np.all(np.mod(present, 1) == 0)):
        return "set task: regression (these are numbers, not class labels)"
    return "set task: multiclass"


def _kind(values: np.ndarray) -> str:
    import pandas as pd

    if pd.api.types.is_bool_dtype(values):
        return "boolean"
    if pd.api.types.is_numeric_dtype(values):
        return "numeric"
    return "text"


def infer_task(frame: pd.DataFrame, columns: Columns) -> str | None:
    """The task when the config does not say: two labels → binary, a few → multiclass,
    non-integer (or many) numbers → regression. Results record that it was inferred."""
    import pandas as pd

    if columns.target not in frame.columns:
        return None
    target = frame[columns.target].dropna()
    distinct = target.nunique()
    numeric = pd.api.types.is_numeric_dtype(target) and not pd.api.types.is_bool_dtype(target)
    if numeric and (pd.api.types.is_float_dtype(target) and not (target % 1 == 0).all()):
        return "regression"
    if distinct <= 2:
        return "binary"
    return "regression" if numeric and distinct > 20 else "multiclass"


def from_file(path: str, columns: Columns, task: str | None, positive_label: object,
              role: str = "predictions") -> Predictions:
    """Only the columns the config uses are read (`Columns.used`): a predictions file
    often carries every feature too, and memory should follow the data judged."""
    frame = read_table(path, columns.used)
    task = task or infer_task(frame, columns)
    return Predictions(source=path, frame=frame, columns=columns, task=task,
                       positive_label=positive_label, inputs={role: file_digest(path)})


def from_model(uri: str, data_path: str, columns: Columns, task: str | None,
               positive_label: object) -> Predictions:
    from mlci.registry import model as registry_model

    frame = read_table(data_path)
    require_column(frame, columns.target, data_path, "the target, set by columns.target")
    task = task or infer_task(frame, columns)
    loaded = registry_model.load(uri)
    return Predictions(source=data_path, frame=frame, columns=columns, task=task,
                       positive_label=positive_label, model=loaded,
                       inputs={"data": file_digest(data_path)})

