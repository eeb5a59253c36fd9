"""Shadow comparison: champion and candidate MLflow models on the same logged rows.

Called through `runner.run("shadow", …, run_shadow, …)`, as `mlci compare --shadow` runs it."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

from mlci import runner, schemas
from mlci.compare.options import ShadowOptions
from mlci.compare.run import run_shadow
from mlci.options import Common

Write = Callable[..., Path]


class SlowModel:
    """Wraps a fitted model and sleeps in predict: a candidate that is slower to serve."""

    def __init__(self, model: Any, delay: float) -> None:
        self.model, self.delay = model, delay

    def predict(self, rows: Any) -> Any:
        time.sleep(self.delay)
        return self.model.predict(rows)


@pytest.fixture(scope="module")
def models(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    import mlflow.pyfunc
    import mlflow.sklearn
    from mlflow.models import infer_signature
    from sklearn.linear_model import LinearRegression, LogisticRegression

    rng = np.random.default_rng(0)
    rows = pd.DataFrame({"x1": rng.normal(size=600), "x2": rng.normal(size=600)})
    label = (rows["x1"] + 0.5 * rows["x2"] + rng.normal(0, 0.5, 600) > 0).astype(int)
    folder = tmp_path_factory.mktemp("models")
    champion = LogisticRegression().fit(rows, label)
    challenger = LogisticRegression().fit(rows, (rows["x1"] + 0.1 * rows["x2"] > 0.15).astype(int))
    signature = infer_signature(rows, label)
    paths = {}
    for name, model in (("champion", champion), ("candidate", challenger),
                        ("regressor", LinearRegression().fit(rows, rows["x1"] * 3))):
        mlflow.sklearn.save_model(model, str(folder / name), signature=signature)
        paths[name] = str(folder / name)

    class Slow(mlflow.pyfunc.PythonModel):  # type: ignore[name-defined,misc]
        def __init__(self) -> None:
            self.inner = SlowModel(champion, 0.004)

        # no type hints: MLflow reads them as an input schema and warns
        def predict(self, context, model_input, params=None):  # type: ignore[no-untyped-def]
            return self.inner.predict(model_input)

    mlflow.pyfunc.save_model(str(folder / "slow"), python_model=Slow(), signature=signature)
    paths["slow"] = str(folder / "slow")
    return {"paths": paths, "rows": rows.assign(y_true=label),
            "champion": champion.predict(rows), "candidate": challenger.predict(rows)}


def shadow(workdir: Path, champion: str, candidate: str, data: str = "logged.csv") -> tuple[
        int, dict[str, Any]]:
    code = runner.run("shadow", Common(config=None, out=str(workdir / ".mlci"), debug=False),
                      run_shadow, ShadowOptions(champion=champion, candidate=candidate, data=data))
    path = workdir / ".mlci" / "shadow.json"
    return code, json.loads(path.read_text()) if path.exists() else {}


def test_agreement_drift_and_latency_of_two_classifiers(models: dict[str, Any], workdir: Path,
                                                        write_table: Write,
                                                        write_config: Write) -> None:
    write_config("version: 1\nshadow:\n  calls: 20\n")
    write_table(models["rows"], "logged.csv")
    code, doc = shadow(workdir, models["paths"]["champion"], models["paths"]["candidate"])
    assert not list(schemas.validator(schemas.RESULT).iter_errors(doc))
    checks = {c["name"]: c for c in doc["checks"]}
    expected = float(np.mean(models["champion"] == models["candidate"]))
    assert checks["agreement"]["value"] == expected
    assert checks["agreement"]["disagreements"] == int(np.sum(models["champion"]
                                                              != models["candidate"]))
    assert checks["agreement"]["status"] == ("pass" if expected >= 0.9 else "fail")
    assert checks["output drift"]["method"] == "z"  # Evidently's default: 2 classes, ≤ 1,000 rows
    assert set(checks["latency"]["candidate"]) == {"p50_ms", "p95_ms", "p99_ms"}
    assert doc["subject"]["model"] == models["paths"]["candidate"]
    assert doc["subject"]["model_digest"].startswith("sha256:")
    assert (doc["step"], doc["rows"], doc["task"]) == ("shadow", 600, "classification")
    assert code == (1 if doc["verdict"] == "fail" else 0)


def test_the_same_model_agrees_everywhere(models: dict[str, Any], workdir: Path,
                                          write_table: Write, write_config: Write) -> None:
    write_config("version: 1\nshadow:\n  calls: 20\n  max_latency_ratio: null\n")
    write_table(models["rows"].drop(columns="y_true"), "logged.parquet")
    path = models["paths"]["champion"]
    code, doc = shadow(workdir, path, path, "logged.parquet")
    assert code == 0
    checks = {c["name"]: c for c in doc["checks"]}
    assert (checks["agreement"]["value"], checks["agreement"]["status"]) == (1.0, "pass")
    assert checks["output drift"]["drifted"] is False
    assert "threshold" not in checks["latency"]


def test_a_slow_candidate_fails_on_latency(models: dict[str, Any], workdir: Path,
                                           write_table: Write, write_config: Write) -> None:
    write_config("version: 1\nshadow:\n  calls: 15\n")
    write_table(models["rows"], "logged.csv")
    code, doc = shadow(workdir, models["paths"]["champion"], models["paths"]["slow"])
    latency = {c["name"]: c for c in doc["checks"]}["latency"]
    assert latency["status"] == "fail"
    assert latency["value"] >= 4.0  # the candidate sleeps 4 ms per call
    assert latency["ratio_p95"] > 1.5
    assert (code, doc["verdict"]) == (1, "fail")


def test_low_agreement_fails(models: dict[str, Any], workdir: Path, write_table: Write,
                             write_config: Write) -> None:
    write_config("version: 1\nshadow:\n  calls: 10\n  min_agreement: 0.999\n"
                 "  max_latency_ratio: null\n")
    write_table(models["rows"], "logged.csv")
    code, doc = shadow(workdir, models["paths"]["champion"], models["paths"]["candidate"])
    agreement = {c["name"]: c for c in doc["checks"]}["agreement"]
    assert (agreement["status"], agreement["threshold"], code) == ("fail", 0.999, 1)


def test_regression_outputs_are_compared_by_difference(models: dict[str, Any], workdir: Path,
                                                       write_table: Write,
                                                       write_config: Write) -> None:
    write_config("version: 1\ntask: regression\nshadow:\n  calls: 10\n"
                 "  max_latency_ratio: null\n")
    write_table(models["rows"], "logged.csv")
    path = models["paths"]["regressor"]
    code, doc = shadow(workdir, path, path)
    names = [c["name"] for c in doc["checks"]]
    assert names == ["difference", "output drift", "latency"]
    assert doc["checks"][0]["value"] == 0.0
    assert code == 0


@pytest.mark.parametrize(("champion", "data", "config", "message"), [
    ("missing-model", "logged.csv", "version: 1\n", "missing-model: model not found"),
    ("champion", "nothing.csv", "version: 1\n", "nothing.csv: file not found"),
    ("champion", "logged.csv", "version: 1\nshadow:\n  min_agreement: 2\n",
     "mlci.yml:3: shadow.min_agreement: 2 is greater than the maximum of 1"),
])
def test_bad_input_exits_2(champion: str, data: str, config: str, message: str,
                           models: dict[str, Any], workdir: Path, write_table: Write,
                           write_config: Write, capsys: pytest.CaptureFixture[str]) -> None:
    write_config(config)
    write_table(models["rows"], "logged.csv")
    code, doc = shadow(workdir, models["paths"].get(champion, champion),
                       models["paths"]["candidate"], data)
    assert (code, doc) == (2, {})
    assert message in capsys.readouterr().err
