"""Lineage as tags on the MLflow run that trained the model (`tag --run-id`).

MLflow's own `mlflow.source.git.*` tags are set too, so its UI shows the
commit; the `mlci.lineage.*` tags are what `promote` falls back to when a job
has no lineage.json. Tag values are cut to MLflow's limit, and a parameter
name is made a valid tag key rather than refused."""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from typing import Any

from mlci.lineage.document import facts as record_facts
from mlci.registry import runs
from mlci.result import Check

_TAG_KEY_BAD = re.compile(r"[^A-Za-z0-9_\-. /]")  # what MLflow accepts in a tag key
_MLFLOW_TAG_MAX = 8000


def mlflow_tags(doc: Mapping[str, Any], ci: Mapping[str, str | None]) -> dict[str, str]:
    """The run's tags from a lineage record and the CI facts of this run; outside git,
    the CI's commit stands in for the record's."""
    git, recorded = doc["git"], record_facts(doc)
    commit = recorded.commit if git["recorded"] else (ci["head_sha"] or ci["sha"])
    tags: dict[str, str | None] = {
        "mlflow.source.git.commit": commit,
        "mlflow.source.git.branch": git.get("branch") or ci["ref"],
        "mlflow.source.git.repoURL": git.get("remote"),
        "mlci.lineage.commit": commit,
        "mlci.lineage.merge_commit": recorded.merge_commit,
        "mlci.lineage.dirty": str(recorded.dirty).lower() if git["recorded"] else None,
        "mlci.lineage.data_id": recorded.data_id,
        "mlci.lineage.model_digest": recorded.model_digest,
        "mlci.lineage.signature_key_id": recorded.signature_key_id,
        "mlci.lineage.packages_digest": doc["environment"]["packages_digest"],
        "mlci.lineage.config_sha256": doc["config"]["sha256"] if doc["config"] else None,
        "mlci.lineage.run_url": ci["run_url"],
        "mlci.lineage.actor": ci["actor"],
    }
    data = json.dumps(recorded.ids, separators=(",", ":"))
    if len(data) <= _MLFLOW_TAG_MAX:
        tags["mlci.lineage.data"] = data
    for name, value in doc["params"].items():
        tags[f"mlci.lineage.param.{_TAG_KEY_BAD.sub('_', name)}"] = value[:_MLFLOW_TAG_MAX]
    return {key: value for key, value in tags.items() if value is not None}


def tag_run(doc: Mapping[str, Any], ci: Mapping[str, str | None], run_id: str,
            tracking_uri: str | None) -> Check:
    recorded = record_facts(doc)
    runs.tag_run(run_id, mlflow_tags(doc, ci), tracking_uri, doc["data_id"],
             ", ".join(recorded.ids)[:500])
    return Check("mlflow run", "pass", f"tagged MLflow run {run_id} with commit, data ID and "
                 "mlci.lineage.* tags")
