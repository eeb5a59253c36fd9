"""Loading an MLflow model (local folder, `runs:/…`, `models:/name@alias`) and
predicting with it, so `validate` and `compare` can judge a model directly."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from mlci.errors import InputError, ServiceError

if TYPE_CHECKING:
    import numpy as np
    import pandas as pd


@dataclass
class LoadedModel:
    uri: str
    pyfunc: Any
    input_columns: list[str] | None  # from the model's signature, when it has one

    def features(self, frame: pd.DataFrame, drop: list[str]) -> pd.DataFrame:
        """The columns the model expects: its signature's, else all but target/id columns."""
        if self.input_columns:
            missing = [c for c in self.input_columns if c not in frame.columns]
            if missing:
                raise InputError(f"model {self.uri} expects column(s) {', '.join(missing)} "
                                 "that the data file does not have")
            return frame[self.input_columns]
        return frame.drop(columns=[c for c in drop if c in frame.columns])

    def predict(self, features: pd.DataFrame) -> Any:
        return self.pyfunc.predict(features)

    def predict_scores(self, features: pd.DataFrame, positive: object) -> np.ndarray | None:
        """Probability of the positive class, when the underlying model can give it."""
        import numpy as np

        try:
            raw = self.pyfunc.get_raw_model()
        except Exception:
            return None
        proba = getattr(raw, "predict_proba", None)
        classes = list(getattr(raw, "classes_", []))
        if proba is None or positive not in classes:
            return None
        values: np.ndarray = np.asarray(proba(features))[:, classes.index(positive)]
        return values


def load(uri: str) -> LoadedModel:
    try:
        import mlflow.pyfunc
    except ImportError as exc:  # pragma: no cover - mlflow is a dependency
        raise InputError(f"model {uri}: mlflow is not installed ({exc})") from exc
    from mlci.registry import quiet_mlflow

    quiet_mlflow()
    if "://" not in uri and ":/" not in uri and not Path(uri).exists():
        raise InputError(f"{uri}: model not found (expected an MLflow model folder or a "
                         "URI such as runs:/<run-id>/model or models:/<name>@<alias>)")
    try:
        model = mlflow.pyfunc.load_model(uri)
    except OSError as exc:
        raise InputError(f"model {uri}: cannot load: {exc}") from exc
    except Exception as exc:
        name = type(exc).__name__
        if "Connection" in name or "Timeout" in name:
            raise ServiceError(f"model {uri}: registry not reachable: {exc}") from exc
        first = str(exc).splitlines()[0] if str(exc) else name
        raise InputError(f"model {uri}: cannot load as an MLflow model: {first}") from exc
    signature = model.metadata.get_input_schema() if model.metadata else None
    columns = signature.input_names() if signature is not None and signature.has_input_names() \
        else None
    return LoadedModel(uri=uri, pyfunc=model, input_columns=list(columns) if columns else None)


def local_path(uri: str) -> Path:
    """A local folder holding the model's files (downloaded when the URI is remote)."""
    if Path(uri).exists():
        return Path(uri)
    import mlflow.artifacts

    try:
        return Path(mlflow.artifacts.download_artifacts(artifact_uri=uri))
    except Exception as exc:
        raise InputError(f"model {uri}: cannot download its files: {exc}") from exc
