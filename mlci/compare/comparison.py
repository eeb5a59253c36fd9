"""`mlci compare`: candidate vs baseline with paired intervals and a verdict.

The statistics live in `mlci.stats`; this module decides what to compare
(metrics, slices), pairs the rows, and turns estimates and decisions into the
checks of a result document."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from mlci import metrics
from mlci.compare import pairing, sources
from mlci.compare.options import Options
from mlci.compare.settings import CompareSettings
from mlci.config import Config
from mlci.errors import InputError
from mlci.lineage.digest import local_model_digest
from mlci.result import Check, Result
from mlci.stats import decision
from mlci.stats.bootstrap import paired_bootstrap, unpaired_estimate
from mlci.validate.metric_checks import groups, value_of

DEFAULT_METRICS = {"binary": ("accuracy", "roc_auc"), "multiclass": ("accuracy", "f1"),
                   "regression": ("rmse", "mae")}


@dataclass(frozen=True)
class Skipped:
    """A (metric, slice) that cannot be computed, e.g. roc_auc on a slice of one class.
    It becomes a visible `skip` check and stays out of Holm's family; the slice's other
    metrics are still judged."""

    metric: str
    reason: str
    rows: int


Judged = dict[str, tuple[Any, dict[str, Any] | None]]


def compare(config: Config, settings: CompareSettings, options: Options) -> Result:
    """`settings` already carry the command line's policy, resamples and seed."""
    candidate = sources.load(options.candidate, role="candidate", config=config,
                             data=options.data)
    baseline = sources.load(options.baseline, role="baseline", config=config, data=options.data)
    if not candidate.paired:
        raise InputError(f"--candidate {options.candidate}: expected predictions or a model "
                         "(rows to judge), not point values")
    assert candidate.predictions is not None
    task = candidate.predictions.task or config.need_task("compare")
    names = _metrics(config, settings, task, candidate, baseline)
    if baseline.paired:
        rows = _rows(config, candidate, baseline, names)
        estimates = _paired(names, rows, task, candidate, settings)
    else:
        estimates = _unpaired(names, candidate, baseline, task)
    checks = _judge(estimates, settings)
    extra = {"paired": baseline.paired, "policy": settings.policy,
             "confidence": settings.confidence, "task": task,
             "task_inferred": config.task is None, "baseline_source": options.baseline,
             "candidate_source": options.candidate}
    return Result(step="compare", checks=checks,
                  summary=_summary(checks, settings.policy, baseline.paired),
                  subject=_subject(options, candidate, baseline), extra=extra)


def _judge(estimates: Judged, settings: CompareSettings) -> list[Check]:
    """One check per estimate, in order: the computable ones judged as one Holm family,
    the rest a visible skip."""
    judged = {label: est for label, (est, _) in estimates.items()
              if not isinstance(est, Skipped)}
    hypotheses = [decision.hypothesis_for(est, margins=settings.margins)
                  for est in judged.values()]
    decisions = decision.decide_family(hypotheses, policy=settings.policy,
                                       confidence=settings.confidence)
    made = dict(zip(judged, decisions, strict=True))
    return [_skip_check(label, est, slice_) if isinstance(est, Skipped)
            else _check(label, est, slice_, made[label])
            for label, (est, slice_) in estimates.items()]


def _subject(options: Options, candidate: sources.Source,
             baseline: sources.Source) -> dict[str, Any]:
    """The candidate model (named by --model, or the candidate SRC when it is a model),
    with the digest promotion gates compare, and the digests of the input files."""
    preds = candidate.predictions
    model = options.model or (preds.model.uri if preds is not None and preds.model else None)
    subject: dict[str, Any] = {
        "model": model,
        "inputs": {k: v for k, v in (("candidate", candidate.digest),
                                     ("baseline", baseline.digest)) if v},
    }
    digest = local_model_digest(model)
    if digest is not None:
        subject["model_digest"] = digest
    return subject


def _metrics(config: Config, settings: CompareSettings, task: str, candidate: sources.Source,
             baseline: sources.Source) -> list[str]:
    """`compare.metrics`, else the metrics the tests name, else per-task defaults
    (dropping score metrics from the defaults when a side has no scores)."""
    named = [t.get("metric") or t.get("fairness") for t in config.tests]
    names = list(settings.metrics or dict.fromkeys(n for n in named if n))
    if not names:
        names = [n for n in DEFAULT_METRICS[task]
                 if not metrics.METRICS[n].needs_score or _has_scores(candidate, baseline, n)]
    for name in names:
        if task not in metrics.METRICS[name].tasks:
            raise InputError(f"{config.path}: metric {name} is for "
                             f"{' or '.join(sorted(metrics.METRICS[name].tasks))} tasks, "
                             f"but task is {task}")
    return names


def _has_scores(candidate: sources.Source, baseline: sources.Source, metric: str) -> bool:
    return all(metric in side.points if side.predictions is None
               else side.predictions.y_score is not None for side in (candidate, baseline))


def _rows(config: Config, candidate: sources.Source, baseline: sources.Source,
          names: list[str]) -> pairing.Paired:
    assert candidate.predictions is not None and baseline.predictions is not None
    specs = [metrics.METRICS[n] for n in names]
    regression = config.task == "regression"
    return pairing.pair(candidate.predictions, baseline.predictions,
                        id_column=config.columns.id,
                        need_labels=regression or any(not s.needs_score for s in specs),
                        need_scores=not regression and any(s.needs_score for s in specs))


def _paired(names: list[str], rows: pairing.Paired, task: str, candidate: sources.Source,
            settings: CompareSettings) -> Judged:
    import numpy as np

    assert candidate.predictions is not None
    positive = candidate.predictions.positive if task == "binary" else 1
    rng = np.random.default_rng(settings.seed)

    def estimate(which: list[str], mask: Any = None) -> Any:
        def take(values: Any) -> Any:
            return values if values is None or mask is None else values[mask]

        return paired_bootstrap(which, take(rows.y_true), task=task,
                                candidate_pred=take(rows.candidate_pred),
                                baseline_pred=take(rows.baseline_pred),
                                candidate_score=take(rows.candidate_score),
                                baseline_score=take(rows.baseline_score),
                                positive=positive, resamples=settings.resamples,
                                confidence=settings.confidence,
                                seed=rng)

    try:
        found: Judged = {name: (est, None) for name, est in estimate(names).items()}
    except InputError as exc:  # not computable on the whole set: bad input
        raise InputError(f"{candidate.predictions.source}: {exc}") from None
    for column in settings.slices:
        for value, mask in groups(candidate.predictions, column):
            slice_ = {"column": column, "value": value}
            for name, est in _slice_estimates(names, mask, estimate).items():
                found[f"{name}[{column}={value}]"] = (est, slice_)
    return found


def _slice_estimates(names: list[str], mask: Any,
                     estimate: Callable[[list[str], Any], dict[str, Any]]) -> dict[str, Any]:
    """All metrics of one slice; when that fails, each metric alone, so that only the
    metrics that cannot be computed there (roc_auc on one class) are skipped."""
    try:
        return estimate(names, mask)
    except InputError:
        pass
    out: dict[str, Any] = {}
    for name in names:
        try:
            out[name] = estimate([name], mask)[name]
        except InputError as exc:
            out[name] = Skipped(name, str(exc), int(mask.sum()))
    return out


def _unpaired(names: list[str], candidate: sources.Source, baseline: sources.Source,
              task: str) -> Judged:
    assert candidate.predictions is not None
    found: Judged = {}
    for name in names:
        if name not in baseline.points:
            raise InputError(f"{baseline.spec}: no value for metric {name}; it has "
                             f"{', '.join(sorted(baseline.points))}")
        value = value_of(name, candidate.predictions, task)
        found[name] = (unpaired_estimate(name, value, baseline.points[name]), None)
    return found


def _check(label: str, est: Any, slice_: dict[str, Any] | None, made: Any) -> Check:
    extra: dict[str, Any] = {"paired": est.paired, "n": est.n, "method": est.method}
    if est.resamples:
        extra["resamples"] = est.resamples
    if est.test:
        extra["test"] = est.test
    if made.rows_needed:
        extra["rows_needed"] = made.rows_needed
    if made.confidence is not None:
        extra["confidence"] = made.confidence
    return Check(name=label, status=made.status, message=made.message, metric=est.metric,
                 slice=slice_, value=est.candidate, baseline=est.baseline, delta=est.delta,
                 ci=made.ci, threshold=made.threshold, p_value=est.p_value, extra=extra)


def _skip_check(label: str, skipped: Skipped, slice_: dict[str, Any] | None) -> Check:
    where = f"{slice_['column']}={slice_['value']}: " if slice_ else ""
    return Check(name=label, status="skip", metric=skipped.metric, slice=slice_,
                 message=f"{where}cannot compute {skipped.metric} on these {skipped.rows} "
                         f"rows, so not judged: {skipped.reason}",
                 extra={"n": skipped.rows})


def _summary(checks: list[Check], policy: str, paired: bool) -> str:
    overall = [c for c in checks if c.slice is None]
    passed = sum(c.status == "pass" for c in overall)
    verb = "not worse than" if policy == "not-worse" else "better than"
    text = f"candidate is {verb} baseline on {passed} of {len(overall)} metrics"
    failed = [c.name for c in checks if c.status == "fail"]
    if failed:
        text += f"; worse on {', '.join(failed)}"
    unsettled = [c.name for c in checks if c.status == "warn"]
    if unsettled:
        text += f"; inconclusive on {', '.join(unsettled)}"
    skipped = [c.name for c in checks if c.status == "skip"]
    if skipped:
        text += f"; not judged (cannot be computed) on {', '.join(skipped)}"
    if not paired:
        text += " (unpaired: the baseline has point values only, no interval)"
    return text
