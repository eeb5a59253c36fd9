"""`lineage tag --run-id` against a real MLflow tracking store (SQLite in tmp_path)."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from mlci.errors import InputError
from mlci.registry.runs import mlflow_digest
from mlci.result import Result
from tests.lineage.conftest import LOCAL_FACTS, git


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> tuple[str, str]:
    """One SQLite store per module: creating its tables takes seconds."""
    from mlflow.tracking import MlflowClient

    folder = tmp_path_factory.mktemp("mlflow")
    uri = f"sqlite:///{folder / 'mlflow.db'}"
    experiment = MlflowClient(tracking_uri=uri).create_experiment(
        "lineage-test", artifact_location=str(folder / "artifacts"))
    return uri, experiment


@pytest.fixture
def tracking(store: tuple[str, str]) -> tuple[str, str]:
    from mlflow.tracking import MlflowClient

    uri, experiment = store
    return uri, MlflowClient(tracking_uri=uri).create_run(experiment).info.run_id


def test_tag_sets_git_tags_and_logs_the_exact_data_id(work: Path, run_tag: Callable[..., Result],
                                                      tracking: tuple[str, str],
                                                      keys: Callable[[str], tuple[Path, Path]]
                                                      ) -> None:
    from mlflow.tracking import MlflowClient

    uri, run_id = tracking
    private, _ = keys("a")
    git(work, "remote", "add", "origin", "https://tok:secret@github.com/org/repo.git")
    facts: dict[str, Any] = {**LOCAL_FACTS, "run_url": "https://ci/run/5", "actor": "alice"}
    result = run_tag(run_id=run_id, tracking_uri=uri, key=str(private),
                     params={"lr": "0.1", "bad key!": "x"}, facts=facts)
    doc = json.loads((work / ".mlci/lineage.json").read_text())
    run = MlflowClient(tracking_uri=uri).get_run(run_id)
    tags = run.data.tags
    assert tags["mlflow.source.git.commit"] == doc["git"]["commit"]
    assert tags["mlflow.source.git.branch"] == "main"
    assert tags["mlflow.source.git.repoURL"] == "https://github.com/org/repo.git"
    assert tags["mlci.lineage.data_id"] == doc["data_id"]
    assert json.loads(tags["mlci.lineage.data"]) == {r["path"]: r["id"] for r in doc["data"]}
    assert tags["mlci.lineage.model_digest"] == doc["model"]["digest"]
    assert tags["mlci.lineage.signature_key_id"] == doc["model"]["signature"]["key_id"]
    assert tags["mlci.lineage.dirty"] == "false"
    assert (tags["mlci.lineage.run_url"], tags["mlci.lineage.actor"]) == (
        "https://ci/run/5", "alice")
    assert (tags["mlci.lineage.param.lr"], tags["mlci.lineage.param.bad key_"]) == ("0.1", "x")
    assert run.inputs is not None
    [dataset_input] = run.inputs.dataset_inputs
    assert dataset_input.dataset.digest == doc["data_id"][7:43] == mlflow_digest(doc["data_id"])
    assert json.loads(str(dataset_input.dataset.profile)) == {"mlci_data_id": doc["data_id"]}
    assert dataset_input.dataset.name == "data/train.csv, data/eval"
    assert [(t.key, t.value) for t in dataset_input.tags] == [("mlflow.data.context",
                                                               "training")]
    assert doc["mlflow"] == {"run_id": run_id, "tracking_uri": uri}
    assert next(c.status for c in result.checks if c.name == "mlflow run") == "pass"


def test_unknown_run_is_bad_input_and_writes_no_lineage(work: Path,
                                                        run_tag: Callable[..., Result],
                                                        tracking: tuple[str, str]) -> None:
    uri, _ = tracking
    with pytest.raises(InputError, match=r"--run-id 0123abcd: MLflow at sqlite:.* refused it"):
        run_tag(run_id="0123abcd", tracking_uri=uri)
    assert not (work / ".mlci/lineage.json").exists()
