from __future__ import annotations

import sys
from typing import Any

import click

from mlci.options import WAIT_SECONDS, common, common_options, option
from mlci.promote.options import DEFAULT_WAIT_S

EXAMPLES = """\b
Examples:
  # the kill switch: after a failed deploy, in the same job as the promote
  mlci rollback --name fraud --alias production --reason "deploy failed in run 1234"

\b
  # to a given version (it must have held the alias and still exist)
  mlci rollback --name fraud --alias production --to-version 3 \\
      --reason "v4 hallucinates on long inputs"

\b
In the CI run that promoted (its <out>/promote.json, written by this same run, is
present), rollback undoes exactly that promotion and nothing else: if the promote
moved nothing, it is a no-op. Elsewhere (a laptop, a manual kill switch, an old
promote.json from another run) it goes back one step in the alias history and
says which move it undid. A second rollback for the same reason and run is a no-op.
Outputs: version, previous-version, verdict.
"""


@click.command(epilog=EXAMPLES)
@option("name", metavar="NAME", help="Registered model name [default: registry.name in the "
        "config].")
@option("alias", required=True, metavar="ALIAS", help="Alias to move back, e.g. production.")
@option("to-version", type=int, metavar="N", help="Version to go back to; it must have held "
        "the alias and still exist [default: the one this CI run's promotion replaced, else "
        "the previous one in the alias history].")
@option("reason", required=True, metavar="TEXT", help="Why; recorded in the alias history. "
        "The same reason in the same CI run is a no-op, so a retried job does not go back "
        "twice.")
@option("registry", metavar="URI", help="MLflow tracking/registry URI [default: registry.uri in "
        "the config, else $MLFLOW_TRACKING_URI, else the project's embedded registry "
        ".mlci/registry.db beside mlci.yml (or in the current folder)].")
@option("wait", type=WAIT_SECONDS, default=DEFAULT_WAIT_S, show_default=True,
        metavar="SECONDS",
        help="Seconds to queue behind other mlci runs moving the same alias.")
@common_options
def rollback(**kwargs: Any) -> None:
    """Move a registry alias back to the previous version in its history (or a given one).

    Records the reason in the alias history. Writes <out>/rollback.json.
    """
    from mlci import runner
    from mlci.promote.options import RollbackOptions
    from mlci.promote.run import run_rollback

    sys.exit(runner.run("rollback", common(kwargs), run_rollback, RollbackOptions(
        name=kwargs["name"], alias=kwargs["alias"], reason=kwargs["reason"],
        to_version=kwargs["to_version"], registry=kwargs["registry"], wait=kwargs["wait"])))
