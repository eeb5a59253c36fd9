"""What `mlci lineage tag`, `verify` and `keygen` were asked to do, as the CLI parsed it."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class TagOptions:
    data: tuple[str, ...]
    model: str | None = None
    run_id: str | None = None
    key: str | None = None  # a PEM file, or the PEM text itself (a CI secret)
    params: tuple[str, ...] = ()  # KEY=VALUE, as given
    no_git: bool = False
    python: str | None = None
    registry: str | None = None


@dataclass(frozen=True)
class VerifyOptions:
    lineage: str
    public_key: str | None = None
    allow_paths: tuple[str, ...] = ()


@dataclass(frozen=True)
class KeygenOptions:
    directory: str
