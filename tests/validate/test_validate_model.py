"""`mlci validate --model URI --data FILE` with a real MLflow model."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pandas as pd
import pytest


@pytest.fixture(scope="module")
def model_dir(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, pd.DataFrame]:
    import mlflow.sklearn
    from mlflow.models import infer_signature
    from sklearn.linear_model import LogisticRegression

    rows = pd.DataFrame({"x1": [0.1, 0.4, 0.35, 0.8, 0.9, 0.2, 0.7, 0.65],
                         "x2": [1.0, 0.2, 0.4, 0.1, 0.0, 0.9, 0.3, 0.2],
                         "y_true": [0, 1, 0, 1, 1, 0, 1, 1]})
    model = LogisticRegression().fit(rows[["x1", "x2"]], rows["y_true"])
    path = tmp_path_factory.mktemp("model") / "model"
    mlflow.sklearn.save_model(model, str(path),
                              signature=infer_signature(rows[["x1", "x2"]], rows["y_true"]))
    expected = rows.assign(y_pred=model.predict(rows[["x1", "x2"]]),
                           y_score=model.predict_proba(rows[["x1", "x2"]])[:, 1])
    return path, expected


def test_model_on_data(model_dir: tuple[Path, pd.DataFrame], write_config: Callable[..., Path],
                       write_table: Callable[..., Path], mlci: Any) -> None:
    from sklearn.metrics import accuracy_score, roc_auc_score

    path, expected = model_dir
    write_config("""
        version: 1
        task: binary
        tests:
          - metric: accuracy
            min: 0.5
          - metric: roc_auc
            min: 0.5
          - latency: p95_ms
            max: 1000
            calls: 10
          - model_size_mb:
              max: 10
    """)
    write_table(expected[["x1", "x2", "y_true"]], "holdout.csv")
    run = mlci("validate", "--model", str(path), "--data", "holdout.csv")
    assert run.exit_code == 0, run.stdout + run.stderr
    doc = run.doc("validate")
    values = {c["name"]: c for c in doc["checks"]}
    assert values["accuracy"]["value"] == accuracy_score(expected["y_true"], expected["y_pred"])
    assert values["roc_auc"]["value"] == pytest.approx(
        roc_auc_score(expected["y_true"], expected["y_score"]), abs=1e-9)
    assert values["p95_ms"]["status"] == "pass"
    assert values["p95_ms"]["calls"] == 10
    assert 0 < values["model_size_mb"]["value"] < 10
    assert doc["subject"]["model"] == str(path)
    assert doc["subject"]["inputs"]["data"].startswith("sha256:")


def test_size_limit_fails(model_dir: tuple[Path, pd.DataFrame], write_config: Callable[..., Path],
                          write_table: Callable[..., Path], mlci: Any) -> None:
    path, expected = model_dir
    write_config("version: 1\ntests:\n  - model_size_mb: {max: 0.000001}\n")
    write_table(expected[["x1", "x2", "y_true"]], "holdout.csv")
    run = mlci("validate", "--model", str(path), "--data", "holdout.csv")
    assert run.exit_code == 1
    assert run.doc("validate")["checks"][0]["message"].endswith("is above the maximum 1e-06 MB")


def test_missing_model_is_bad_input(write_config: Callable[..., Path],
                                    write_table: Callable[..., Path], mlci: Any) -> None:
    write_config("version: 1\ntask: binary\ntests:\n  - metric: accuracy\n    min: 0.5\n")
    write_table({"x1": [1], "y_true": [1]}, "holdout.csv")
    run = mlci("validate", "--model", "no-model", "--data", "holdout.csv")
    assert run.exit_code == 2
    assert run.stderr == ("mlci validate: error: no-model: model not found (expected an MLflow "
                          "model folder or a URI such as runs:/<run-id>/model or "
                          "models:/<name>@<alias>)\n")


def test_data_without_model_columns(model_dir: tuple[Path, pd.DataFrame],
                                    write_config: Callable[..., Path],
                                    write_table: Callable[..., Path], mlci: Any) -> None:
    path, _ = model_dir
    write_config("version: 1\ntask: binary\ntests:\n  - metric: accuracy\n    min: 0.5\n")
    write_table({"x1": [1.0], "y_true": [1]}, "holdout.csv")
    run = mlci("validate", "--model", str(path), "--data", "holdout.csv")
    assert run.exit_code == 2
    assert run.stderr == (f"mlci validate: error: model {path} expects column(s) x2 that the "
                          "data file does not have\n")


def test_predictions_attributed_to_a_model(model_dir: tuple[Path, pd.DataFrame],
                                           write_config: Callable[..., Path],
                                           write_table: Callable[..., Path], mlci: Any) -> None:
    """--predictions with --model: metrics from the file, the model is the subject (its digest
    is what promotion gates compare), the size test runs, latency needs --data rows."""
    from mlci.lineage.digest import model_digest

    path, expected = model_dir
    write_config("""
        version: 1
        task: binary
        tests:
          - metric: accuracy
            min: 0.5
          - model_size_mb: {max: 10}
          - latency: p95_ms
            max: 1000
    """)
    write_table(expected[["y_true", "y_pred", "y_score"]], "predictions.csv")
    run = mlci("validate", "--predictions", "predictions.csv", "--model", str(path))
    assert run.exit_code == 0, run.stderr
    doc = run.doc("validate")
    assert doc["subject"]["model"] == str(path)
    assert doc["subject"]["model_digest"] == model_digest(path)
    assert [(c["name"], c["status"]) for c in doc["checks"]] == [
        ("accuracy", "pass"), ("model_size_mb", "pass"), ("p95_ms", "skip")]
    assert doc["checks"][2]["message"] == ("not run: needs rows to call the model with "
                                           "(pass --data FILE)")
