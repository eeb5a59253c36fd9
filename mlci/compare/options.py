"""What `mlci compare` was asked to judge, one dataclass per mode, as the CLI parsed it."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from mlci.stats.decision import Policy


@dataclass(frozen=True)
class Options:
    """`mlci compare`: a candidate against a baseline. Unset values fall back to the
    `compare:` settings of the config."""

    candidate: str
    baseline: str
    data: str | None = None
    policy: Policy | None = None
    resamples: int | None = None
    seed: int | None = None
    model: str | None = None  # the model the candidate predictions came from


@dataclass(frozen=True)
class DriftOptions:
    """`mlci compare --drift`: the two datasets whose columns are tested."""

    reference: str
    current: str


@dataclass(frozen=True)
class ShadowOptions:
    """`mlci compare --shadow`: two MLflow models and the logged rows both run on."""

    champion: str
    candidate: str
    data: str
