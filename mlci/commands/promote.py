from __future__ import annotations

import sys
from typing import Any

import click

from mlci.options import WAIT_SECONDS, common, common_options, option
from mlci.promote.options import DEFAULT_WAIT_S

EXAMPLES = """\b
Examples:
  # register a run's model and point staging at it, if validate and compare passed
  mlci promote --name fraud --model runs:/3f2a.../model --alias staging \\
      --require validate,compare

\b
  # later, after approval: the same version to production, with lineage and signature
  mlci promote --name fraud --model models:/fraud@staging --alias production \\
      --require validate,compare,lineage,signature --public-key mlci-signing.pub.pem

\b
  # an existing version; a shared registry (or set MLFLOW_TRACKING_URI)
  mlci promote --name fraud --version 7 --alias champion --registry http://mlflow:5000

\b
Gates read <out>/<gate>.json (any step's result document) and must have been
produced for this model. Outputs: version, previous-version, verdict.
Exit 1 when a gate fails, the alias was moved outside mlci (--force adopts
it) or a race was lost; nothing is changed in those cases. Exit 3 when the
registry failed: nothing changed, or a half-made move that re-running the job
completes. A model folder is copied into the registry and found again by its
content, never its path.
"""


@click.command(epilog=EXAMPLES)
@option("name", metavar="NAME", help="Registered model name [default: registry.name in the "
        "config].")
@option("model", metavar="URI", help="Model to promote: runs:/<run>/<path>, models:/<name>/<n>, "
        "models:/<name>@<alias>, a model folder, or a version number. New URIs are registered "
        "once the gates pass.")
@option("version", type=int, metavar="N", help="An existing version to promote (instead of "
        "--model).")
@option("alias", required=True, metavar="ALIAS", help="Alias to move, e.g. staging or "
        "production (`latest` and v<n> are reserved by MLflow).")
@option("require", multiple=True, metavar="GATE,...", help="Steps whose result documents must "
        "pass for this model: validate, compare, canary, lineage, signature, ... "
        "(comma- or space-separated, or repeated) [default: none: promoted on trust, verdict "
        "warn].")
@option("allow-warn", is_flag=True, help="Accept gates whose verdict is warn.")
@option("public-key", metavar="PEM", help="Public key (a PEM file or PEM text) the signature "
        "and lineage gates verify with; given, the lineage record must be signed by it.")
@option("registry", metavar="URI", help="MLflow tracking/registry URI [default: registry.uri in "
        "the config, else $MLFLOW_TRACKING_URI, else the project's embedded registry "
        ".mlci/registry.db beside mlci.yml (or in the current folder)].")
@option("reason", metavar="TEXT", help="Why; recorded in the alias history.")
@option("force", is_flag=True, help="Promote even though the alias was moved outside mlci "
        "(adopts the current state and records it).")
@option("wait", type=WAIT_SECONDS, default=DEFAULT_WAIT_S, show_default=True,
        metavar="SECONDS",
        help="Seconds to queue behind other mlci runs moving the same alias.")
@common_options
def promote(**kwargs: Any) -> None:
    """Move a registry alias to a model version, only if every required gate passed.

    Records the move (from, to, time, actor, run URL, gates, reason) in the
    alias history kept in the registry. Promoting the version the alias
    already holds is a no-op. Writes <out>/promote.json.
    """
    from mlci import runner
    from mlci.promote.options import PromoteOptions
    from mlci.promote.run import run

    sys.exit(runner.run("promote", common(kwargs), run, PromoteOptions(
        name=kwargs["name"], alias=kwargs["alias"], model=kwargs["model"],
        version=kwargs["version"], require=tuple(kwargs["require"]),
        allow_warn=kwargs["allow_warn"], public_key=kwargs["public_key"],
        registry=kwargs["registry"], force=kwargs["force"], reason=kwargs["reason"],
        wait=kwargs["wait"])))
