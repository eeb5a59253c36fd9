from __future__ import annotations

import sys
from typing import Any

import click

from mlci.options import Common, common, common_options, option

EXAMPLES = """\b
Examples:
  # latency/error samples exported per deployment (one column per metric)
  mlci canary --stable metrics/stable.csv --canary metrics/canary.csv

\b
  # one long file (metric,value,side) for both sides, tied to the model it serves
  mlci canary --stable samples.parquet --canary samples.parquet \\
              --model models:/fraud/7 --weight 25

\b
  # straight from Prometheus: each metric's query in mlci.yml has {{side}} in it
  mlci canary --stable prometheus+http://prometheus:9090 \\
              --canary prometheus+http://prometheus:9090

\b
  # the traffic split of each step, for the deploy tool
  mlci canary plan --steps 5,25,50,100

\b
Verdict: pass at score >= 95, warn (marginal) at >= 75, fail below or when a
critical metric fails; the thresholds, metrics, directions and allowed effect
sizes live under canary: in mlci.yml (docs/canary.md).
"""

PLAN_EXAMPLES = """\b
Examples:
  mlci canary plan --steps 5,25,50,100
  # → .mlci/canary-plan.json and .mlci/canary-plan/canary-5.yml:
  #     traffic_split:
  #       canary: 5
  #       stable: 95

\b
  # steps from canary.steps in mlci.yml, written elsewhere
  mlci canary plan --out deploy/
"""


@click.group(invoke_without_command=True, epilog=EXAMPLES)
@option("stable", metavar="SRC",
        help="Stable (control) samples: a CSV, Parquet or JSON Lines file (wide: one column "
             "per metric; long: metric,value[,side]), or prometheus[+http://HOST:PORT].")
@option("canary", metavar="SRC", help="Canary samples, in the same forms as --stable (a long "
        "file with a side column can serve both).")
@option("model", metavar="URI",
        help="The model the canary serves (recorded, so `promote --require canary` can tie "
             "the verdict to it).")
@option("weight", type=click.IntRange(1, 100), metavar="PERCENT",
        help="The canary's share of traffic in this step, in percent (recorded in the result).")
@common_options
@click.pass_context
def canary(ctx: click.Context, /, **kwargs: Any) -> None:
    """Judge canary samples against stable ones, as Kayenta does: Mann-Whitney per
    metric, a weighted score, pass / warn (marginal) / fail.

    Writes <out>/canary.json; exits 1 when the canary fails, so the next step
    can roll back.
    """
    shared = common(kwargs)
    if ctx.invoked_subcommand is not None:
        ctx.obj = shared
        return
    missing = [f"--{name}" for name in ("stable", "canary") if not kwargs[name]]
    if missing:
        raise click.UsageError(f"canary needs {' and '.join(missing)} (or a subcommand: plan)")
    from mlci import runner
    from mlci.canary.options import Options
    from mlci.canary.run import run

    sys.exit(runner.run("canary", shared, run, Options(
        stable=kwargs["stable"], canary=kwargs["canary"], model=kwargs["model"],
        weight=kwargs["weight"])))


@canary.command("plan", epilog=PLAN_EXAMPLES,
                short_help="Write the traffic split of each step, for a deploy tool.")
@option("steps", metavar="LIST",
        help="Canary traffic per step in percent, increasing, e.g. 5,25,50,100 "
             "[default: canary.steps in the config].")
@common_options
@click.pass_context
def plan(ctx: click.Context, /, **kwargs: Any) -> None:
    """Write the traffic split of each canary step (JSON, and one
    `traffic_split:` YAML per step) for a deploy tool to apply.
    """
    from mlci import runner
    from mlci.canary.options import PlanOptions
    from mlci.canary.run import run_plan

    # Not a judgement: no result document (mlci/canary/run.py, run_plan).
    sys.exit(runner.run("canary-plan", _merged(ctx, common(kwargs)), run_plan,
                        PlanOptions(steps=kwargs["steps"]), document=False))


def _merged(ctx: click.Context, own: Common) -> Common:
    """`mlci canary --out X plan` means the same as `mlci canary plan --out X`."""
    parent = ctx.parent
    outer = parent.obj if parent is not None else None
    if not isinstance(outer, Common) or parent is None:
        return own

    def given(context: click.Context, name: str) -> bool:
        source = context.get_parameter_source(name)
        return source not in (None, click.core.ParameterSource.DEFAULT)

    return Common(
        config=own.config if given(ctx, "config") or not given(parent, "config") else outer.config,
        out=own.out if given(ctx, "out") or not given(parent, "out") else outer.out,
        debug=own.debug or outer.debug)
