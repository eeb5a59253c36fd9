"""`mlci compare --shadow`: champion and candidate on the same logged rows.

Shadow testing lets the new model see production inputs while only the old one
answers. Given the logged rows (labels are not needed), this step runs both
MLflow models on them and reports how often they agree (classification), whether
the candidate's outputs are distributed differently (the per-column drift test of
`compare --drift`, on the predictions), and each model's latency percentiles.
It writes `<out>/shadow.json`, a result document naming the candidate (URI and
file digest), so `promote --require shadow` can gate the candidate on it.

Defaults (config section `shadow:`, `mlci.compare.settings`): agreement below 0.90
fails; a candidate p95 latency more than 1.5 × the champion's fails; drifted outputs
warn (a new model is *meant* to answer differently, the question is whether you
expected it)."""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any

from mlci.compare.options import ShadowOptions
from mlci.compare.settings import ShadowSettings
from mlci.config import Columns
from mlci.errors import InputError, MlciError
from mlci.lineage.digest import model_digest
from mlci.registry import model as registry_model
from mlci.registry.model import LoadedModel, local_path
from mlci.result import Check, Result, Status
from mlci.stats.drift import column_drift
from mlci.tables import file_digest, read_table

if TYPE_CHECKING:
    import numpy as np

WARMUP_CALLS = 5
PERCENTILES = (50, 95, 99)


def shadow(settings: ShadowSettings, columns: Columns, task: str | None,
           options: ShadowOptions) -> Result:
    """`columns`: what the logged rows hold besides features; `task`: the config's, when
    set (else guessed from the outputs)."""
    champion, candidate, data = options.champion, options.candidate, options.data
    frame = read_table(data)
    old, new = registry_model.load(champion), registry_model.load(candidate)
    drop = [c for c in (columns.target, columns.id, columns.prediction, columns.score) if c]
    old_rows, new_rows = old.features(frame, drop), new.features(frame, drop)
    old_out = _predict(old, old_rows, "champion", len(frame))
    new_out = _predict(new, new_rows, "candidate", len(frame))
    classification = _is_classification(task, old_out, new_out)
    checks = [_agreement(old_out, new_out, settings) if classification
              else _difference(old_out, new_out),
              _drift(old_out, new_out, classification, settings),
              _latency(old, old_rows, new, new_rows, settings)]
    subject = {"model": candidate, "model_digest": _digest(candidate),
               "inputs": {"data": file_digest(data)}}
    extra = {"champion": champion, "candidate": candidate, "rows": len(frame),
             "task": "classification" if classification else "regression"}
    summary = "; ".join(check.message for check in checks)
    return Result(step="shadow", checks=checks, summary=summary, subject=subject, extra=extra)


def _predict(model: LoadedModel, rows: Any, role: str, expected: int) -> np.ndarray:
    import numpy as np

    try:
        output = np.asarray(model.predict(rows))
    except MlciError:
        raise
    except Exception as exc:
        raise InputError(f"--{role} {model.uri}: predict failed on the logged rows: "
                         f"{type(exc).__name__}: {exc}") from exc
    if output.ndim == 2 and output.shape[1] == 1:
        output = output[:, 0]
    if output.ndim != 1 or output.shape[0] != expected:
        raise InputError(f"--{role} {model.uri}: expected one prediction per row ({expected}), "
                         f"got an array of shape {output.shape}")
    return output


def _is_classification(task: str | None, old: np.ndarray, new: np.ndarray) -> bool:
    import numpy as np

    if task in ("binary", "multiclass"):
        return True
    if task == "regression":
        return False
    for values in (old, new):
        if values.dtype.kind == "f" and not np.all(np.mod(values[np.isfinite(values)], 1) == 0):
            return False
    return True


def _same(old: np.ndarray, new: np.ndarray) -> np.ndarray:
    """Equal predictions, across types: 1, 1.0 and "1" from two flavours agree."""
    import numpy as np

    if old.dtype.kind in "biuf" and new.dtype.kind in "biuf":
        return np.asarray(old.astype(float) == new.astype(float))
    return np.asarray(np.char.strip(old.astype(str)) == np.char.strip(new.astype(str)))


def _agreement(old: np.ndarray, new: np.ndarray, settings: ShadowSettings) -> Check:
    same = _same(old, new)
    rate = float(same.mean())
    limit = settings.min_agreement
    status: Status = "fail" if limit is not None and rate < limit else "pass"
    rule = ("" if limit is None else
            f" ({'below' if status == 'fail' else 'at or above'} the minimum {limit:.0%})")
    return Check(name="agreement", status=status, value=rate, threshold=limit,
                 message=f"candidate agrees with the champion on {rate:.2%} of {same.size} "
                         f"rows{rule}",
                 extra={"rows": int(same.size), "disagreements": int(same.size - same.sum())})


def _difference(old: np.ndarray, new: np.ndarray) -> Check:
    import numpy as np

    gap = np.abs(new.astype(float) - old.astype(float))
    return Check(name="difference", status="pass", value=float(gap.mean()),
                 message=f"mean |candidate − champion| {gap.mean():.4g} (p95 "
                         f"{np.percentile(gap, 95):.4g}, max {gap.max():.4g}) over {gap.size} rows",
                 extra={"p95": float(np.percentile(gap, 95)), "max": float(gap.max())})


def _drift(old: np.ndarray, new: np.ndarray, classification: bool,
           settings: ShadowSettings) -> Check:
    if classification:
        old, new = old.astype(str), new.astype(str)
    found = column_drift(old, new, column="prediction",
                         kind="categorical" if classification else "numeric",
                         method=settings.drift_method,
                         threshold=settings.drift_threshold)
    return Check(name="output drift", status=found.status, column="prediction",
                 value=found.score, threshold=found.threshold,
                 p_value=found.score if found.is_p_value else None,
                 message=f"output distribution, champion vs candidate: {found.message}",
                 extra={"method": found.method, "drifted": found.drifted})


def _latency(old: LoadedModel, old_rows: Any, new: LoadedModel, new_rows: Any,
             settings: ShadowSettings) -> Check:
    """Per-call latency of each model on the same batches, calls interleaved so both
    see the same machine load."""
    import numpy as np

    batch = np.arange(settings.batch_size) % len(old_rows)
    old_batch, new_batch = old_rows.iloc[batch], new_rows.iloc[batch]
    for _ in range(WARMUP_CALLS):
        old.predict(old_batch)
        new.predict(new_batch)
    timings = np.empty((2, settings.calls))
    for i in range(settings.calls):
        for j, (model, rows) in enumerate(((old, old_batch), (new, new_batch))):
            start = time.perf_counter()
            model.predict(rows)
            timings[j, i] = (time.perf_counter() - start) * 1000.0
    old_p, new_p = (np.percentile(t, PERCENTILES) for t in timings)
    ratio = float(new_p[1] / old_p[1]) if old_p[1] > 0 else float("inf")
    limit = settings.max_latency_ratio
    status: Status = "fail" if limit is not None and ratio > limit else "pass"
    rule = "" if limit is None else f" ({'above' if status == 'fail' else 'within'} ×{limit:g})"
    names = [f"p{p}_ms" for p in PERCENTILES]
    return Check(name="latency", status=status, value=float(new_p[1]), baseline=float(old_p[1]),
                 threshold=None if limit is None else float(limit * old_p[1]),
                 message=f"p95 latency {new_p[1]:.3g} ms (candidate) vs {old_p[1]:.3g} ms "
                         f"(champion), ×{ratio:.2f}{rule}",
                 extra={"candidate": dict(zip(names, map(float, new_p), strict=True)),
                        "champion": dict(zip(names, map(float, old_p), strict=True)),
                        "ratio_p95": ratio, "calls": settings.calls,
                        "batch_size": settings.batch_size})


def _digest(uri: str) -> str | None:
    """The candidate's file digest, as `lineage tag --model` and `promote` compute it."""
    try:
        return model_digest(local_path(uri))
    except (MlciError, OSError):
        return None
