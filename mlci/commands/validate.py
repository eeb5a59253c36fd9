from __future__ import annotations

import sys
from typing import Any

import click

from mlci.options import allow_empty_option, common_options, judging, option

EXAMPLES = """\b
Examples:
  # a predictions file with y_true, y_pred (and y_score) columns
  mlci validate --predictions eval/predictions.parquet

\b
  # run an MLflow model on a data file (enables latency and size tests)
  mlci validate --model model/ --data eval/holdout.csv

\b
  # data tests only, on a training file
  mlci validate --config data-tests.yml --data data/train.parquet
"""


@click.command(epilog=EXAMPLES)
@option("predictions", type=click.Path(dir_okay=False), metavar="FILE",
        help="Predictions file (CSV, Parquet or JSON Lines) with target and prediction columns.")
@option("model", metavar="URI",
        help="MLflow model to run on --data: a model folder, runs:/<id>/model or "
             "models:/<name>@<alias>.")
@option("data", type=click.Path(dir_okay=False), metavar="FILE",
        help="Rows to run --model on; data tests read this file when given.")
@allow_empty_option
@common_options
def validate(**kwargs: Any) -> None:
    """Run the model and data tests of the config on a model or its predictions.

    Writes <out>/validate.json, validate.junit.xml and validate.md; exits 1
    when a test fails, and 2 when nothing was judged (no tests, or all skipped)
    unless --allow-empty.
    """
    from mlci import runner
    from mlci.validate.options import Options
    from mlci.validate.run import run

    sys.exit(runner.run("validate", judging(kwargs), run, Options(
        predictions=kwargs["predictions"], model=kwargs["model"], data=kwargs["data"])))
