"""What `mlci validate` was asked to judge, as the CLI parsed it."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Options:
    predictions: str | None = None
    model: str | None = None
    data: str | None = None
