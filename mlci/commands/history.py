from __future__ import annotations

import sys
from typing import Any

import click

from mlci.options import common, common_options, option

EXAMPLES = """\b
Examples:
  mlci history --name fraud --alias production

\b
  # for scripts: a JSON list, oldest first, each entry with action, from_version,
  # to_version, time, actor, run_url, gates and reason
  mlci history --name fraud --alias production --format json | jq '.[-1]'

\b
  # after a registry outage interrupted a promotion (exit 3 said so)
  mlci history --name fraud --alias production --repair
"""


@click.command(epilog=EXAMPLES)
@option("name", metavar="NAME", help="Registered model name [default: registry.name in the "
        "config].")
@option("alias", required=True, metavar="ALIAS", help="Alias whose history to print.")
@option("registry", metavar="URI", help="MLflow tracking/registry URI [default: registry.uri in "
        "the config, else $MLFLOW_TRACKING_URI, else the project's embedded registry "
        ".mlci/registry.db beside mlci.yml (or in the current folder)].")
@option("format", dest="fmt", type=click.Choice(["text", "json"]), default="text",
        show_default=True, help="Output format.")
@option("repair", is_flag=True, help="Record an interrupted move or one made outside mlci, and "
        "remove queue tickets left by runs that are gone. Run it when nothing else moves the "
        "alias.")
@common_options
def history(**kwargs: Any) -> None:
    """Print an alias's history (promotions and rollbacks), oldest first."""
    from mlci import runner
    from mlci.promote.options import HistoryOptions
    from mlci.promote.run import run_history

    # Prints, writes no result document and leaves the out folder alone.
    sys.exit(runner.run("history", common(kwargs), run_history, HistoryOptions(
        name=kwargs["name"], alias=kwargs["alias"], registry=kwargs["registry"],
        format=kwargs["fmt"], repair=kwargs["repair"]), document=False, uses_out=False))
