"""What `mlci report` was asked to do, as the CLI parsed it."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Options:
    post: bool = False
    dry_run: bool = False  # implies post: show the requests, send nothing
    report_id: str | None = None
