"""`mlci canary` and `mlci canary plan`: the step's run functions, one per mode."""

from __future__ import annotations

import json
import time
from typing import Any

from mlci.canary import checks, inputs, judge, plan, settings
from mlci.canary.checks import CanaryResult
from mlci.canary.options import Options, PlanOptions
from mlci.canary.samples import Samples
from mlci.errors import InputError
from mlci.result import Result
from mlci.runner import Context


def run(context: Context, options: Options) -> Result:
    """Read both sides over the same window, judge every metric, score the run."""
    config = settings.load(context.config)
    listed = config.metrics or None
    now = time.time()  # both sides are read over the same window
    stable = inputs.load(options.stable, "stable", config, listed, now=now)
    canary = inputs.load(options.canary, "canary", config, listed, now=now)
    metrics = list(listed) if listed else _common(config, stable, canary, options)
    outcomes = judge.judge(metrics, canary.values, stable.values, canary.counts, stable.counts)
    scored = judge.score(outcomes, config)
    found = [checks.check(outcome) for outcome in outcomes]
    found.append(checks.score_check(scored, config, checks.unique_name(metrics)))
    sides = (("stable", stable), ("canary", canary))
    subject: dict[str, Any] = {
        "model": options.model,
        "inputs": {side: samples.digest for side, samples in sides if samples.digest},
    }
    # Empty when the judge could not score: a `0` or `100` here would be read as one.
    score = "" if scored.score is None else f"{scored.score:g}"
    return CanaryResult(step="canary", checks=found, summary=checks.summary(scored, config),
                        subject=subject, extra=_extra(scored, config, options, sides),
                        outputs={"score": score}, decision=scored.verdict)


def _extra(scored: judge.Score, config: settings.Settings, options: Options,
           sides: tuple[tuple[str, Samples], ...]) -> dict[str, Any]:
    """The judge's own fields of the document: score, thresholds, groups, sources."""
    extra: dict[str, Any] = {
        "judge": checks.JUDGE, "score": scored.score,
        "thresholds": {"pass": config.pass_score, "marginal": config.marginal_score},
        "groups": [{"name": g.name, "score": g.score, "weight": g.weight, "no_data": g.no_data,
                    "counts": g.counts} for g in scored.groups],
        "stable_source": options.stable, "canary_source": options.canary,
    }
    if options.weight is not None:
        extra["traffic"] = {"canary": options.weight, "stable": 100 - options.weight}
    queries = {f"{side}:{k}": q for side, samples in sides for k, q in samples.queries.items()}
    if queries:
        extra["queries"] = queries
    return extra


def _common(config: settings.Settings, stable: Samples, canary: Samples,
            options: Options) -> list[settings.Metric]:
    """Without `canary.metrics`, every metric both inputs have, with the defaults."""
    only_stable = [n for n in stable.values if n not in canary.values]
    only_canary = [n for n in canary.values if n not in stable.values]
    if only_stable or only_canary:
        name, side, src = ((only_stable[0], "stable", options.stable) if only_stable else
                           (only_canary[0], "canary", options.canary))
        other = options.canary if side == "stable" else options.stable
        raise InputError(f"metric {name!r} is in {src} (the {side} side) but not in {other}; "
                         "both sides need the same metrics, or list the ones to judge under "
                         "canary.metrics in the config")
    return [config.metric(name) for name in stable.values]


def run_plan(context: Context, options: PlanOptions) -> Result:
    """Write the plan. Not a judgement, so the runner writes no result document for it
    (`document=False`): `report` and the gates only ever see verdicts that something
    actually earned. The result carries the CI outputs and the text to print."""
    steps = (plan.parse_steps(options.steps) if options.steps else
             plan.configured(context.config))
    path = plan.write(steps, context.out)
    weights = [s.weight for s in steps]
    folder = context.out / plan.FOLDER
    return Result(step="canary-plan", checks=[], summary=(
        f"{plan.table(steps)}\nwrote {path} and {len(steps)} traffic_split file(s) in {folder}"),
        outputs={"weights": json.dumps(weights), "steps": str(len(steps)),
                 "plan-path": str(path), "first-weight": str(weights[0]),
                 "folder": str(folder)})
