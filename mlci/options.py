"""Click options shared by the steps, defined once.

Every option `--some-flag` can also be set as `MLCI_SOME_FLAG`, and the
action input / GitLab component input has the same kebab-case name, so the
actions and templates pass inputs through the environment and never splice
them into a script line."""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Any, TypeVar

import click

F = TypeVar("F", bound=Callable[..., Any])

DEFAULT_OUT = ".mlci"


def env_name(flag: str) -> str:
    """`result-path` → `MLCI_RESULT_PATH`: the one rule from input name to variable."""
    return "MLCI_" + flag.upper().replace("-", "_")


def option(flag: str, *aliases: str, dest: str | None = None,
           **kwargs: Any) -> Callable[[F], F]:
    """`--flag` (plus any `aliases`, e.g. the original short names), read also from MLCI_FLAG;
    the value arrives as the keyword `dest` (default: the flag in snake_case)."""
    return click.option(f"--{flag}", *aliases, dest or flag.replace("-", "_"),
                        envvar=env_name(flag), show_envvar=True, **kwargs)


class Bounded(click.ParamType):
    """A finite number within [low, high], for every numeric flag.

    click's FLOAT accepts `nan` and `inf`, and a NaN compares false with every bound,
    so `--wait nan` or a billion resamples would be taken at face value; here they
    are bad usage (exit 2) naming the flag and the expected range."""

    def __init__(self, low: float, high: float, *, whole: bool = False) -> None:
        self.low, self.high, self.whole = low, high, whole
        self.name = "integer" if whole else "number"

    def convert(self, value: Any, param: click.Parameter | None,
                ctx: click.Context | None) -> Any:
        kind = "a whole number" if self.whole else "a finite number"
        expected = f"expected {kind} from {self.low:g} to {self.high:g}, got {value!r}"
        try:
            number: float = int(value) if self.whole else float(value)
        except (TypeError, ValueError, OverflowError):
            self.fail(expected, param, ctx)
        if isinstance(value, float) and self.whole and value != number:
            self.fail(expected, param, ctx)
        if not math.isfinite(number) or not self.low <= number <= self.high:
            self.fail(expected, param, ctx)
        return number

    def __repr__(self) -> str:
        return f"Bounded({self.low!r}, {self.high!r}, whole={self.whole!r})"


def number(low: float, high: float) -> Bounded:
    return Bounded(low, high)


def whole(low: int, high: int) -> Bounded:
    return Bounded(low, high, whole=True)


RESAMPLES = (100, 100_000)  # --resamples and compare.resamples: beyond this only time grows
WAIT_SECONDS = number(0, 86_400)  # --wait: a day is already longer than any CI job may run


@dataclass(frozen=True)
class Common:
    config: str | None
    out: str
    debug: bool
    # validate and compare: a run whose checks were all skipped (or that had none)
    # is bad input (exit 2) unless --allow-empty; other steps leave this False.
    require_checks: bool = False


def common_options(func: F) -> F:
    """--config, --out and --debug, on every step (docs/architecture.md)."""
    decorators = [
        option("config", type=click.Path(dir_okay=False), metavar="FILE",
               help="Config file [default: mlci.yml or mlci.yaml when present]."),
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


def allow_empty_option(func: F) -> F:
    """--allow-empty, on the steps that judge (validate, compare)."""
    return option("allow-empty", is_flag=True,
                  help="Exit 0 even when nothing was judged (no tests configured, or every "
                       "check skipped); without it such a run exits 2.")(func)


def judging(kwargs: dict[str, Any]) -> Common:
    """`common()` for validate and compare: also takes --allow-empty out of kwargs."""
    return replace(common(kwargs), require_checks=not kwargs.pop("allow_empty"))

