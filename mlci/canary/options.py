"""What `mlci canary` and `mlci canary plan` were asked to do, as the CLI parsed it."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Options:
    """The judge: both sides' samples, and what the canary serves at which weight."""

    stable: str
    canary: str
    model: str | None = None  # the model version the canary serves (ties the verdict to it)
    weight: int | None = None  # the canary's share of traffic in this step, in percent


@dataclass(frozen=True)
class PlanOptions:
    """The plan: `--steps` as typed, or None for `canary.steps` in the config."""

    steps: str | None = None
