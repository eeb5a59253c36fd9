"""What `mlci promote`, `rollback` and `history` were asked to do, as the CLI parsed it.

Values arrive as typed; what they name (the model, the alias, the gates, the
key) is checked by the run functions, so an in-process caller gets the same
exit 2 as the command line."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

# How long a move queues behind other mlci runs moving the same alias: the flags'
# default, bounded by mlci.options.WAIT_SECONDS.
DEFAULT_WAIT_S = 60.0


@dataclass(frozen=True)
class PromoteOptions:
    name: str | None  # None: registry.name in the config
    alias: str
    model: str | None = None
    version: int | None = None
    require: tuple[str, ...] = ()  # as given: comma- or space-separated, or repeated
    allow_warn: bool = False
    public_key: str | None = None  # a PEM file, or the PEM text itself
    registry: str | None = None
    force: bool = False
    reason: str | None = None
    wait: float = DEFAULT_WAIT_S


@dataclass(frozen=True)
class RollbackOptions:
    name: str | None
    alias: str
    reason: str
    to_version: int | None = None
    registry: str | None = None
    wait: float = DEFAULT_WAIT_S


@dataclass(frozen=True)
class HistoryOptions:
    name: str | None
    alias: str
    registry: str | None = None
    format: Literal["text", "json"] = "text"
    repair: bool = False
