"""`mlci validate`: the step's run function and how it picks each test's input."""

from __future__ import annotations

from typing import Any

from mlci.config import Config
from mlci.errors import InputError
from mlci.predictions import Predictions, from_file, from_model
from mlci.result import Check, Result, unique_names
from mlci.runner import Context
from mlci.tables import file_digest, read_table
from mlci.validate import data_checks, metric_checks, model_checks
from mlci.validate.options import Options


def run(context: Context, options: Options) -> Result:
    config, inputs = context.config, options
    if inputs.model and not (inputs.data or inputs.predictions):
        raise InputError("--model needs --data (the rows to run it on) or --predictions "
                         "(what it predicted)")
    if not (inputs.predictions or inputs.model or inputs.data):
        raise InputError("nothing to validate: pass --predictions FILE, or --model URI "
                         "--data FILE, or --data FILE for data tests only")
    preds = _predictions(config, inputs)
    data_frame, data_source = _data_table(inputs, preds)
    model = model_checks.ModelUnderTest.of(inputs.model, preds, data_frame, config)
    checks: list[Check] = []
    for index, test in enumerate(config.tests):
        location = config.location("tests", index)
        kind = next(k for k in ("metric", "fairness", "column", "row_count", "latency",
                                "model_size_mb") if k in test)
        if kind in ("metric", "fairness"):
            found = metric_checks.run(kind, test, preds, config, location)
        elif kind in ("column", "row_count"):
            found = data_checks.run(kind, test, data_frame, data_source, location)
        else:
            found = model_checks.run(kind, test, model, location)
        checks += found
    task = preds.task if preds is not None else config.task
    return Result(step="validate", checks=unique_names(checks), summary=_summary(checks),
                  subject=_subject(inputs, preds),
                  extra={"task": task, "task_inferred": config.task is None and task is not None})


def _subject(inputs: Options, preds: Predictions | None) -> dict[str, Any]:
    """What was judged: the model (with the digest promotion gates compare) and inputs."""
    digests = dict(preds.inputs) if preds else {}
    if inputs.data and "data" not in digests:
        digests["data"] = file_digest(inputs.data)
    from mlci.lineage.digest import local_model_digest

    subject: dict[str, Any] = {"model": inputs.model, "inputs": digests}
    digest = local_model_digest(inputs.model)
    if digest is not None:
        subject["model_digest"] = digest
    return subject


def _predictions(config: Config, inputs: Options) -> Predictions | None:
    positive = config.data.get("positive_label")
    if inputs.predictions:
        return from_file(inputs.predictions, config.columns, config.task, positive)
    if inputs.model and inputs.data:
        return from_model(inputs.model, inputs.data, config.columns, config.task, positive)
    return None


def _data_table(inputs: Options, preds: Predictions | None) -> tuple[Any, str | None]:
    if preds is not None and (inputs.data is None or preds.source == inputs.data):
        return preds.frame, preds.source
    if inputs.data:
        return read_table(inputs.data), inputs.data
    return None, None


def _summary(checks: list[Check]) -> str:
    counts = {s: sum(c.status == s for c in checks) for s in ("pass", "fail", "warn", "skip")}
    if not checks:
        return "no tests configured"
    parts = [f"{counts['pass']} of {len(checks)} checks passed"]
    parts += [f"{counts[s]} {word}" for s, word in
              (("fail", "failed"), ("warn", "warned"), ("skip", "skipped")) if counts[s]]
    return ", ".join(parts)
