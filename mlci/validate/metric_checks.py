"""Metric tests (`metric:` with min/max, optionally per slice) and fairness
tests (`fairness:` largest gap between groups)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from mlci import metrics
from mlci.config import Config
from mlci.errors import InputError
from mlci.predictions import Predictions
from mlci.result import Check, Location, Status
from mlci.tables import plain, require_column

if TYPE_CHECKING:
    import numpy as np

NO_PREDICTIONS = "not run: no predictions (pass --predictions FILE or --model URI --data FILE)"


def fmt(value: float) -> str:
    return f"{value:.4g}"


def run(kind: str, test: dict[str, Any], preds: Predictions | None, config: Config,
        location: Location | None) -> list[Check]:
    metric: str = test[kind]
    if preds is None:
        name = test.get("name") or (metric if kind == "metric" else f"fairness:{metric}")
        return [Check(name=name, status="skip", message=NO_PREDICTIONS, metric=metric,
                      location=location)]
    task = preds.task or config.need_task(f"the {metric} test")
    spec = metrics.METRICS[metric]
    if task not in spec.tasks:
        raise InputError(f"{config.path}: metric {metric} is for "
                         f"{' or '.join(sorted(spec.tasks))} tasks, but task is {task}")
    if kind == "fairness":
        return _fairness(test, preds, task, location)
    if test.get("slice"):
        return _sliced(test, preds, task, location)
    value = value_of(metric, preds, task)
    return [_bounded(test.get("name") or metric, test, value, location)]


def value_of(metric: str, preds: Predictions, task: str, mask: np.ndarray | None = None) -> float:
    spec = metrics.METRICS[metric]
    y_true = preds.y_true
    y_pred = y_score = None
    if spec.needs_score:
        y_score = preds.y_score
        if y_score is None:
            where = f"model {preds.model.uri}" if preds.model else preds.source
            raise InputError(f"{where}: metric {metric} needs scores, but column "
                             f"{preds.columns.score!r} was not found (set columns.score)")
    else:
        y_pred = preds.y_pred
        preds.check_label_types()
    positive = preds.positive if task == "binary" else 1
    if mask is not None:
        y_true = y_true[mask]
        y_pred = None if y_pred is None else y_pred[mask]
        y_score = None if y_score is None else y_score[mask]
    return metrics.compute(metric, y_true, y_pred, y_score, task=task, positive=positive,
                           source=preds.source if mask is None else None)


def _bounded(name: str, test: dict[str, Any], value: float, location: Location | None,
             slice_: dict[str, Any] | None = None) -> Check:
    metric = test["metric"]
    low, high = test.get("min"), test.get("max")
    status: Status = "pass"
    if low is not None and value < low:
        status, threshold = "fail", low
        message = f"{metric} {fmt(value)} is below the minimum {low}"
    elif high is not None and value > high:
        status, threshold = "fail", high
        message = f"{metric} {fmt(value)} is above the maximum {high}"
    else:
        threshold = low if low is not None else high
        bounds = " and ".join(s for s in (f">= {low}" if low is not None else "",
                                          f"<= {high}" if high is not None else "") if s)
        message = f"{metric} {fmt(value)} {bounds}"
    if slice_ is not None:
        message = f"{slice_['column']}={slice_['value']}: {message}"
    return Check(name=name, status=status, message=message, metric=metric, slice=slice_,
                 value=value, threshold=threshold, location=location,
                 extra={"bounds": {k: test[k] for k in ("min", "max") if k in test}})


def groups(preds: Predictions, column: str) -> list[tuple[Any, np.ndarray]]:
    """(value, row mask) per group, in a stable order; missing values form their own group."""
    import numpy as np
    import pandas as pd

    series = require_column(preds.frame, column, preds.source, "a slice/group column")
    codes, uniques = pd.factorize(series, sort=True, use_na_sentinel=True)
    found = [(plain(value), codes == i) for i, value in enumerate(uniques)]
    if (codes == -1).any():
        found.append(("(missing)", codes == -1))
    return [(value, np.asarray(mask)) for value, mask in found]


def _sliced(test: dict[str, Any], preds: Predictions, task: str,
            location: Location | None) -> list[Check]:
    metric, column = test["metric"], test["slice"]
    value_of(metric, preds, task)  # structural problems (columns, task) fail the run here
    checks = []
    for value, mask in groups(preds, column):
        name = f"{test.get('name') or metric}[{column}={value}]"
        slice_ = {"column": column, "value": value}
        try:
            result = value_of(metric, preds, task, mask)
        except InputError as exc:
            checks.append(not_computable(name, metric, slice_, mask, exc, location))
            continue
        checks.append(_bounded(name, test, result, location, slice_))
    return checks


def not_computable(name: str, metric: str, slice_: dict[str, Any], mask: np.ndarray,
                   exc: InputError, location: Location | None) -> Check:
    """A metric that cannot be computed on one slice (roc_auc on a slice of one class) is
    a visible skip, never a pass; the other slices are still judged."""
    return Check(name=name, status="skip", metric=metric, slice=slice_,
                 message=f"{slice_['column']}={slice_['value']}: cannot compute {metric} on "
                         f"these {int(mask.sum())} rows, so not judged: {exc}",
                 location=location, extra={"n": int(mask.sum())})


def _fairness(test: dict[str, Any], preds: Predictions, task: str,
              location: Location | None) -> list[Check]:
    """The largest gap between the groups where the metric can be computed; each group
    where it cannot is its own skip check (a gap over the other groups is still judged,
    and the skipped group is never silently counted as within the gap)."""
    metric, column = test["fairness"], test["by"]
    name = test.get("name") or f"fairness:{metric} by {column}"
    value_of(metric, preds, task)
    per_group: dict[str, float] = {}
    skipped: list[Check] = []
    for value, mask in groups(preds, column):
        try:
            per_group[str(value)] = value_of(metric, preds, task, mask)
        except InputError as exc:
            skipped.append(not_computable(f"{name}[{column}={value}]", metric,
                                          {"column": column, "value": value}, mask, exc,
                                          location))
    gap = _gap(name, test, per_group, location)
    if skipped:
        left_out = ", ".join(f"{column}={c.slice['value']}" for c in skipped if c.slice)
        gap.message += f" (not computable, so left out: {left_out})"
    return [gap, *skipped]


def _gap(name: str, test: dict[str, Any], per_group: dict[str, float],
         location: Location | None) -> Check:
    metric, column, max_gap = test["fairness"], test["by"], test["max_gap"]
    if len(per_group) < 2:
        return Check(name=name, status="warn", metric=metric, column=column,
                     message=f"{column} has {len(per_group)} group(s) where {metric} can be "
                             "computed; a gap needs two or more",
                     location=location, extra={"groups": per_group})
    ranked = sorted(per_group, key=lambda group: (per_group[group], group))
    worst, best = ranked[0], ranked[-1]
    gap = per_group[best] - per_group[worst]
    status: Status = "fail" if gap > max_gap else "pass"
    relation = "exceeds" if status == "fail" else "is within"
    message = (f"{metric} gap {fmt(gap)} between {column}={best} ({fmt(per_group[best])}) and "
               f"{column}={worst} ({fmt(per_group[worst])}) {relation} the maximum {max_gap}")
    return Check(name=name, status=status, message=message, metric=metric, column=column,
                 value=gap, threshold=max_gap, location=location, extra={"groups": per_group})
