"""validate's slices and fairness: a (metric, group) that cannot be computed is a visible
skip with the reason; the other groups are still judged."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import jsonschema

from mlci.schemas import RESULT, load_schema

CONFIG = """
version: 1
task: binary
tests:
  - metric: roc_auc
    min: 0.6
    slice: site
  - fairness: roc_auc
    by: site
    max_gap: 0.05
"""

ROWS: dict[str, list[Any]] = {
    "y_true": [1, 0, 1, 0, 1, 0, 1, 1, 1],
    "y_pred": [1, 0, 1, 0, 0, 1, 0, 0, 0],
    "y_score": [0.9, 0.1, 0.8, 0.2, 0.3, 0.7, 0.2, 0.1, 0.3],
    "site": ["a", "a", "a", "b", "b", "b", "c", "c", "c"],
}


def test_a_group_of_one_class_is_skipped_and_the_others_judged(
        write_config: Callable[..., Path], write_table: Callable[..., Path], mlci: Any) -> None:
    write_config(CONFIG)
    write_table(ROWS)
    run = mlci("validate", "--predictions", "predictions.csv")
    assert run.exit_code == 1, run.stderr
    doc = run.doc("validate")
    jsonschema.validate(doc, load_schema(RESULT))
    checks = {c["name"]: c for c in doc["checks"]}
    assert [(name, c["status"]) for name, c in checks.items()] == [
        ("roc_auc[site=a]", "pass"), ("roc_auc[site=b]", "fail"), ("roc_auc[site=c]", "skip"),
        ("fairness:roc_auc by site", "fail"), ("fairness:roc_auc by site[site=c]", "skip")]
    reason = ("cannot compute roc_auc on these 3 rows, so not judged: metric roc_auc needs "
              "both classes in y_true, but all 3 rows are positive (positive label 1)")
    assert checks["roc_auc[site=c]"]["message"] == f"site=c: {reason}"
    assert checks["roc_auc[site=c]"]["slice"] == {"column": "site", "value": "c"}
    assert checks["fairness:roc_auc by site[site=c]"]["message"] == f"site=c: {reason}"
    gap = checks["fairness:roc_auc by site"]
    assert gap["groups"] == {"a": 1.0, "b": 0.5}
    assert gap["value"] == 0.5
    assert gap["message"] == ("roc_auc gap 0.5 between site=a (1) and site=b (0.5) exceeds the "
                              "maximum 0.05 (not computable, so left out: site=c)")
    assert doc["verdict"] == "fail"


def test_fairness_with_one_computable_group_is_not_a_pass(
        write_config: Callable[..., Path], write_table: Callable[..., Path], mlci: Any) -> None:
    write_config(CONFIG.replace("max_gap: 0.05", "max_gap: 5"))
    rows = {k: v[:3] + v[6:] for k, v in ROWS.items()}
    write_table(rows)
    run = mlci("validate", "--predictions", "predictions.csv")
    checks = {c["name"]: c for c in run.doc("validate")["checks"]}
    gap = checks["fairness:roc_auc by site"]
    assert gap["status"] == "warn"
    assert gap["message"] == ("site has 1 group(s) where roc_auc can be computed; a gap needs "
                              "two or more (not computable, so left out: site=c)")
    assert checks["fairness:roc_auc by site[site=c]"]["status"] == "skip"


def test_a_metric_not_computable_on_the_whole_set_is_bad_input(
        write_config: Callable[..., Path], write_table: Callable[..., Path], mlci: Any) -> None:
    write_config(CONFIG)
    write_table({k: v[6:] for k, v in ROWS.items()})
    run = mlci("validate", "--predictions", "predictions.csv")
    assert run.exit_code == 2
    assert run.stderr.count("\n") == 1
    assert "metric roc_auc needs both classes in y_true, but all 3 rows are positive" in (
        run.stderr)
