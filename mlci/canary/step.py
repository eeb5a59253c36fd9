"""The functions behind `mlci canary` and `mlci canary plan`."""

from __future__ import annotations

import json
from pathlib import Path

from mlci import config as config_module
from mlci.ci import Platform, detect
from mlci.errors import InputError
from mlci.exitcodes import ExitCode
from mlci.options import Common
from mlci.result import Result
from mlci.runner import attempt, run_step


def canary_step(common: Common, options: object) -> int:
    def produce(platform: Platform) -> Result:
        from mlci import canary

        assert isinstance(options, canary.Options)
        config = config_module.load(config_module.resolve_path(common.config))
        return canary.run(config, options)

    def outputs(result: Result) -> dict[str, str]:
        # Empty when the judge could not score: a `0` or `100` here would be read as one.
        score = result.extra.get("score")
        return {"score": "" if score is None else f"{score:g}"}

    return run_step("canary", common, produce, outputs)


def plan_step(common: Common, *, steps: str | None) -> int:
    """Write the plan. Not a judgement, so no result document: `report` and the
    gates only ever see verdicts that something actually earned."""
    from mlci.canary import plan

    platform = detect()

    def make() -> tuple[list[plan.Step], Path]:
        if steps:
            parsed = plan.parse_steps(steps)
        else:
            config = config_module.load(config_module.resolve_path(common.config))
            configured = config.section("canary").get("steps")
            if not configured:
                raise InputError("no steps: pass --steps 5,25,50,100 or set canary.steps in the "
                                 "config")
            parsed = plan.parse_steps(list(configured), origin="canary.steps")
        return parsed, plan.write(parsed, common.out)

    made = attempt("mlci canary plan", platform, common.debug, make)
    if isinstance(made, int):
        return made
    parsed, path = made
    weights = [s.weight for s in parsed]
    platform.set_outputs("canary-plan", {
        "weights": json.dumps(weights), "steps": str(len(parsed)),
        "plan-path": str(path), "first-weight": str(weights[0]),
        "folder": str(Path(common.out) / plan.FOLDER)}, Path(common.out))
    print(plan.table(parsed))
    print(f"wrote {path} and {len(parsed)} traffic_split file(s) in "
          f"{Path(common.out) / plan.FOLDER}")
    return int(ExitCode.OK)
