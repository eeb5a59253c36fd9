"""Tests of the model itself: predict latency and size on disk.

They need a model to call, so with predictions only they are reported as
skipped, never as passed."""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from mlci.config import Config
from mlci.predictions import Predictions
from mlci.result import Check, Location, Status

if TYPE_CHECKING:
    import pandas as pd

    from mlci.registry.model import LoadedModel

NO_MODEL = "not run: needs a model (pass --model URI)"
NO_ROWS = "not run: needs rows to call the model with (pass --data FILE)"
WARMUP_CALLS = 5


@dataclass
class ModelUnderTest:
    """The `--model` of a validate run, loaded only when a latency test calls it."""

    uri: str
    rows: pd.DataFrame | None  # the data rows, for latency calls
    drop: list[str]  # target and id columns, never model inputs
    loaded: LoadedModel | None = None

    @classmethod
    def of(cls, uri: str | None, preds: Predictions | None, data: pd.DataFrame | None,
           config: Config) -> ModelUnderTest | None:
        if uri is None:
            return None
        columns = config.columns
        drop = [columns.target, *([columns.id] if columns.id else [])]
        loaded = preds.model if preds is not None else None
        has_rows = data is not None and (preds is None or preds.model is not None
                                         or data is not preds.frame)
        return cls(uri=uri, rows=data if has_rows else None, drop=drop, loaded=loaded)

    def model(self) -> LoadedModel:
        if self.loaded is None:
            from mlci.registry import model as registry_model

            self.loaded = registry_model.load(self.uri)
        return self.loaded


def run(kind: str, test: dict[str, Any], model: ModelUnderTest | None,
        location: Location | None) -> list[Check]:
    name = test.get("name") or (test["latency"] if kind == "latency" else "model_size_mb")
    if model is None:
        return [Check(name=name, status="skip", message=NO_MODEL, location=location)]
    if kind == "latency":
        if model.rows is None:
            return [Check(name=name, status="skip", message=NO_ROWS, location=location)]
        return [_latency(name, test, model, location)]
    return [_size(name, test["model_size_mb"]["max"], model.uri, location)]


def _latency(name: str, test: dict[str, Any], model: ModelUnderTest,
             location: Location | None) -> Check:
    import numpy as np

    assert model.rows is not None
    statistic, limit = test["latency"], test["max"]
    batch, calls = test.get("batch_size", 1), test.get("calls", 100)
    loaded = model.model()
    features = loaded.features(model.rows, model.drop)
    rows = features.iloc[np.arange(batch) % len(features)]
    for _ in range(WARMUP_CALLS):
        loaded.predict(rows)
    timings = np.empty(calls)
    for i in range(calls):
        start = time.perf_counter()
        loaded.predict(rows)
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


def _size(name: str, limit: float, uri: str, location: Location | None) -> Check:
    from mlci.registry.model import local_path

    folder = local_path(uri)
    files = [folder] if folder.is_file() else [p for p in folder.rglob("*") if p.is_file()]
    size_mb = sum(p.stat().st_size for p in files) / 1_000_000
    status: Status = "fail" if size_mb > limit else "pass"
    relation = "above" if status == "fail" else "within"
    return Check(name=name, status=status, value=size_mb, threshold=limit, location=location,
                 message=f"model size {size_mb:.3g} MB is {relation} the maximum {limit} MB")
