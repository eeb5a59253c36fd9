from __future__ import annotations

import sys
from typing import Any

import click

from mlci.options import (
    RESAMPLES,
    allow_empty_option,
    common,
    common_options,
    judging,
    option,
    whole,
)

EXAMPLES = """\b
Examples:
  # two predictions files on the same rows (paired)
  mlci compare --candidate eval/predictions.csv --baseline eval/baseline.csv

\b
  # against the production model, run on the holdout set
  mlci compare --candidate eval/predictions.csv --baseline models:/fraud@production \\
               --data eval/holdout.csv

\b
  # against the predictions committed on main
  mlci compare --candidate eval/predictions.csv \\
               --baseline git:origin/main:eval/predictions.csv

\b
  # shadow: run both models on logged requests (agreement, output drift, latency)
  mlci compare --shadow --champion models:/fraud@production --candidate runs:/<id>/model \\
               --data logs/requests.parquet

\b
  # data drift between the training data and today's data
  mlci compare --drift --reference data/train.parquet --current data/today.parquet
"""


@click.command(epilog=EXAMPLES)
@option("candidate", metavar="SRC",
        help="The new model's predictions file (CSV, Parquet or JSON Lines), or an MLflow "
             "model URI (run on --data).")
@option("baseline", metavar="SRC",
        help="What to compare with: a predictions file on the same rows, an MLflow model URI "
             "(run on --data), git:REF:PATH (a file at another commit, e.g. "
             "git:origin/main:eval/predictions.csv), or a result/metrics JSON.")
@option("data", type=click.Path(dir_okay=False), metavar="FILE",
        help="Rows to run a model URI (--candidate or --baseline) on; with --shadow, the "
             "logged rows both models run on.")
@option("model", metavar="URI",
        help="The model the candidate predictions came from (recorded as the subject, "
             "so a promotion gate can tie this result to it).")
@option("policy", type=click.Choice(["not-worse", "better"]),
        help="not-worse: pass unless shown worse by more than the margin; better: pass only "
             "when shown better by the margin [default: compare.policy in the config, else "
             "not-worse].")
@option("resamples", type=whole(*RESAMPLES), metavar="N",
        help="Bootstrap resamples, 100 to 100000 [default: compare.resamples in the config, "
             "else 2000].")
@option("seed", type=click.IntRange(min=0), metavar="N",
        help="Seed for reproducible intervals [default: compare.seed in the config, else a "
             "fresh one each run].")
@option("drift", is_flag=True,
        help="Test every column of --reference against --current for data drift instead of "
             "comparing models. Writes <out>/drift.json.")
@option("shadow", is_flag=True,
        help="Run --champion and --candidate (MLflow model URIs) on the same logged rows "
             "(--data): agreement, output drift, latency. Writes <out>/shadow.json.")
@option("champion", metavar="URI",
        help="With --shadow, the model serving today, e.g. models:/fraud@production.")
@option("reference", type=click.Path(dir_okay=False), metavar="FILE",
        help="With --drift, the reference data (e.g. the training data).")
@option("current", type=click.Path(dir_okay=False), metavar="FILE",
        help="With --drift, the current data (e.g. this week's rows).")
@allow_empty_option
@common_options
def compare(**kwargs: Any) -> None:
    """Compare a candidate model with a baseline: metric deltas with confidence
    intervals and a verdict (pass: not worse; warn: inconclusive; fail: worse).

    With --drift, test every column of two datasets for drift instead.
    Writes <out>/compare.json (or <out>/drift.json).
    """
    from mlci import runner
    from mlci.compare.options import DriftOptions, Options, ShadowOptions
    from mlci.compare.run import run, run_drift, run_shadow

    # --allow-empty: a model comparison or a drift run that judged nothing (no column
    # could be tested) is exit 2 without it; shadow always judges its two models
    if kwargs["shadow"]:
        _require(kwargs, "champion", "candidate", "data", mode="--shadow")
        sys.exit(runner.run("shadow", common(kwargs), run_shadow, ShadowOptions(
            champion=kwargs["champion"], candidate=kwargs["candidate"], data=kwargs["data"])))
    if kwargs["drift"]:
        _require(kwargs, "reference", "current", mode="--drift")
        sys.exit(runner.run("drift", judging(kwargs), run_drift, DriftOptions(
            reference=kwargs["reference"], current=kwargs["current"])))
    _require(kwargs, "candidate", "baseline", mode="compare")
    sys.exit(runner.run("compare", judging(kwargs), run, Options(
        candidate=kwargs["candidate"], baseline=kwargs["baseline"], data=kwargs["data"],
        policy=kwargs["policy"], resamples=kwargs["resamples"], seed=kwargs["seed"],
        model=kwargs["model"])))


def _require(kwargs: dict[str, Any], *names: str, mode: str) -> None:
    missing = [f"--{n}" for n in names if not kwargs[n]]
    if missing:
        raise click.UsageError(f"{mode} needs {' and '.join(missing)}")
