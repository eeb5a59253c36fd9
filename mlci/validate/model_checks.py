"""Tests of the model itself: predict latency and size on disk.

They need a model to call, so with predictions only they are reported as
skipped, never as passed."""

from __future__ import annotations

import time
from typing import Any

from mlci.predictions import Predictions
from mlci.result import Check, Location, Status

NO_MODEL = "not run: needs a model (pass --model URI --data FILE)"
WARMUP_CALLS = 5


def run(kind: str, test: dict[str, Any], preds: Predictions | None,
        location: Location | None) -> list[Check]:
    name = test.get("name") or (test["latency"] if kind == "latency" else "model_size_mb")
    if preds is None or preds.model is None:
        return [Check(name=name, status="skip", message=NO_MODEL, location=location)]
    if kind == "latency":
        return [_latency(name, test, preds, location)]
    return [_size(name, test["model_size_mb"]["max"], preds, location)]


def _latency(name: str, test: dict[str, Any], preds: Predictions,
             location: Location | None) -> Check:
    import numpy as np

    assert preds.model is not None
    statistic, limit = test["latency"], test["max"]
    batch, calls = test.get("batch_size", 1), test.get("calls", 100)
    drop = [preds.columns.target, *([preds.columns.id] if preds.columns.id else [])]
    features = preds.model.features(preds.frame, drop)
    rows = features.iloc[np.arange(batch) % len(features)]
    for _ in range(WARMUP_CALLS):
        preds.model.predict(rows)
    timings = np.empty(calls)
    for i in range(calls):
        start = time.perf_counter()
        preds.model.predict(rows)
        timings[i] = (time.perf_counter() - start) * 1000.0
    value = _statistic(timings, statistic.removesuffix("_ms"))
    status: Status = "fail" if value > limit else "pass"
    relation = "above" if status == "fail" else "within"
    return Check(name=name, status=status, value=value, threshold=limit, location=location,
                 message=f"{statistic} {value:.3g} ms over {calls} calls of batch {batch} is "
                         f"{relation} the maximum {limit} ms",
                 extra={"calls": calls, "batch_size": batch})


def _statistic(timings: Any, which: str) -> float:
    import numpy as np

    if which == "mean":
        return float(timings.mean())
    if which == "max":
        return float(timings.max())
    return float(np.percentile(timings, float(which[1:])))


def _size(name: str, limit: float, preds: Predictions, location: Location | None) -> Check:
    from mlci.registry.model import local_path

    assert preds.model is not None
    folder = local_path(preds.model.uri)
    files = [folder] if folder.is_file() else [p for p in folder.rglob("*") if p.is_file()]
    size_mb = sum(p.stat().st_size for p in files) / 1_000_000
    status: Status = "fail" if size_mb > limit else "pass"
    relation = "above" if status == "fail" else "within"
    return Check(name=name, status=status, value=size_mb, threshold=limit, location=location,
                 message=f"model size {size_mb:.3g} MB is {relation} the maximum {limit} MB")
