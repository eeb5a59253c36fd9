"""Click options shared by the steps, defined once.

Every option `--some-flag` can also be set as `MLCI_SOME_FLAG`, and the
action input / GitLab component input has the same kebab-case name, so the
actions and templates pass inputs through the environment and never splice
them into a script line."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar

import click

F = TypeVar("F", bound=Callable[..., Any])

DEFAULT_OUT = ".mlci"


def env_name(flag: str) -> str:
    """`result-path` → `MLCI_RESULT_PATH`: the one rule from input name to variable."""
    return "MLCI_" + flag.upper().replace("-", "_")


def option(flag: str, *aliases: str, dest: str | None = None,
           **kwargs: Any) -> Callable[[F], F]:
    """`--flag` (plus any `aliases`, e.g. DESIGN.md's short names), read also from MLCI_FLAG;
    the value arrives as the keyword `dest` (default: the flag in snake_case)."""
    return click.option(f"--{flag}", *aliases, dest or flag.replace("-", "_"),
                        envvar=env_name(flag), show_envvar=True, **kwargs)


@dataclass(frozen=True)
class Common:
    config: str | None
    out: str
    debug: bool


def common_options(func: F) -> F:
    """--config, --out and --debug, on every step (DESIGN.md)."""
    decorators = [
        option("config", type=click.Path(dir_okay=False), metavar="FILE",
               help="Config file [default: mlci.yml when present]."),
        option("out", default=DEFAULT_OUT, show_default=True, type=click.Path(file_okay=False),
               metavar="DIR", help="Folder for result documents, JUnit and summaries."),
        option("debug", is_flag=True, help="Show tracebacks instead of one-line errors."),
    ]
    for decorator in reversed(decorators):
        func = decorator(func)
    return func


def common(kwargs: dict[str, Any]) -> Common:
    """Take the shared options out of a command's keyword arguments."""
    return Common(config=kwargs.pop("config"), out=kwargs.pop("out"), debug=kwargs.pop("debug"))
