"""Tagging an MLflow run with mlci's lineage: git facts set explicitly, and the exact data ID.

MLflow fills `mlflow.source.git.commit` only when it finds a repository from
the entry point (never under `python -c`, notebooks or pytest, never with a
dirty flag), and its dataset digest covers the first 10,000 rows in 8 hex
characters. mlci sets the git tags from its own lineage and logs a dataset
input whose digest is mlci's data ID.

MLflow caps a dataset digest at 36 characters (`MAX_DATASET_DIGEST_SIZE`), so
the digest field holds the first 36 hex digits of the SHA-256 (144 bits, far
beyond collision range) and the full `sha256:` ID goes in the dataset's
profile and in the `mlci.lineage.data_id` run tag."""

from __future__ import annotations

import json
from collections.abc import Mapping

from mlci.errors import InputError, ServiceError

MLFLOW_DIGEST_MAX = 36
_BAD_INPUT_CODES = {"RESOURCE_DOES_NOT_EXIST", "INVALID_PARAMETER_VALUE"}


def mlflow_digest(data_id: str) -> str:
    return data_id.removeprefix("sha256:")[:MLFLOW_DIGEST_MAX]


def tag_run(run_id: str, tags: Mapping[str, str], tracking_uri: str | None,
            dataset_digest: str, dataset_name: str) -> None:
    """Set `tags` on the run and log the data as a training dataset input.

    An unknown run ID is bad input (exit 2); a tracking server that cannot be
    reached after MLflow's own retries is a service error (exit 3)."""
    from mlflow.entities import Dataset, DatasetInput, InputTag, RunTag
    from mlflow.exceptions import MlflowException
    from mlflow.tracking import MlflowClient

    where = f" at {tracking_uri}" if tracking_uri else ""
    try:
        client = MlflowClient(tracking_uri=tracking_uri)
        client.get_run(run_id)
        client.log_batch(run_id, tags=[RunTag(key, value) for key, value in tags.items()])
        dataset = Dataset(
            name=dataset_name,
            digest=mlflow_digest(dataset_digest),
            source_type="mlci",
            source=json.dumps({"mlci_data_id": dataset_digest, "paths": dataset_name}),
            profile=json.dumps({"mlci_data_id": dataset_digest}),
        )
        client.log_inputs(run_id, datasets=[
            DatasetInput(dataset, tags=[InputTag("mlflow.data.context", "training")]),
        ])
    except MlflowException as exc:
        if getattr(exc, "error_code", None) in _BAD_INPUT_CODES:
            raise InputError(f"--run-id {run_id}: MLflow{where} refused it: "
                             f"{exc.message}") from exc
        raise ServiceError(f"MLflow{where}: tagging run {run_id} failed: {exc.message}") from exc
    except OSError as exc:
        raise ServiceError(f"MLflow{where}: tagging run {run_id} failed: {exc}") from exc
