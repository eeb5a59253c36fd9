"""The `mlci` command. Each step lives in `mlci/commands/<step>.py` and is
imported only when run, so `mlci --help` starts without pandas or mlflow."""

from __future__ import annotations

import importlib
from typing import Any

import click

from mlci import __version__

# step name → "module:attribute"; the order is the pipeline's order in --help.
COMMANDS = {
    "validate": "mlci.commands.validate:validate",
    "compare": "mlci.commands.compare:compare",
    "lineage": "mlci.commands.lineage:lineage",
    "promote": "mlci.commands.promote:promote",
    "rollback": "mlci.commands.rollback:rollback",
    "history": "mlci.commands.history:history",
    "canary": "mlci.commands.canary:canary",
    "report": "mlci.commands.report:report",
}


class LazyGroup(click.Group):
    def list_commands(self, ctx: click.Context) -> list[str]:
        return list(COMMANDS)

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        target = COMMANDS.get(cmd_name)
        if target is None:
            return None
        module, attribute = target.split(":")
        command: click.Command = getattr(importlib.import_module(module), attribute)
        return command


@click.group(cls=LazyGroup, context_settings={"help_option_names": ["-h", "--help"],
                                              "max_content_width": 100})
@click.version_option(__version__, prog_name="mlci")
def main(**_: Any) -> None:
    """CI/CD steps for machine-learning models.

    Pipeline: validate → compare → lineage → promote → report (→ rollback);
    canary judges a live canary.
    Every step writes <out>/<step>.json and exits 0 (pass or warn), 1 (a gate
    failed), 2 (bad usage or input) or 3 (an outside service failed).
    Run `mlci STEP --help` for a worked example.
    """
