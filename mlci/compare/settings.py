"""The `compare:`, `drift:` and `shadow:` sections of mlci.yml as typed settings.

The config is validated against the schema when it is loaded (types, ranges, known
keys), so these readers only apply the defaults, each defined once: the statistics'
own (`mlci.stats`) where they exist, mlci's choices here. They live beside compare,
not in `mlci.config`, because the statistics' defaults import numpy and scipy, which
every other step (and `mlci --help`) must not pay for."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, cast

from mlci.config import Config
from mlci.stats.bootstrap import DEFAULT_CONFIDENCE, DEFAULT_RESAMPLES
from mlci.stats.decision import Policy
from mlci.stats.drift import DEFAULT_SHARE
from mlci.stats.drift_choice import DriftMethod

DEFAULT_POLICY: Policy = "not-worse"
# shadow: agreement below this fails; a candidate p95 latency above this × the
# champion's fails; latency is measured over this many calls of this batch size.
MIN_AGREEMENT = 0.90
MAX_LATENCY_RATIO = 1.5
CALLS = 100
BATCH_SIZE = 1


@dataclass(frozen=True)
class CompareSettings:
    """`compare:`. Empty `metrics`: the metrics the tests name, else per-task defaults.
    `slices` is resolved already: `compare.slices`, else `columns.groups`."""

    metrics: tuple[str, ...] = ()
    policy: Policy = DEFAULT_POLICY
    confidence: float = DEFAULT_CONFIDENCE
    resamples: int = DEFAULT_RESAMPLES
    seed: int | None = None
    margins: Mapping[str, float] = field(default_factory=dict)
    slices: tuple[str, ...] = ()


@dataclass(frozen=True)
class DriftSettings:
    """`drift:`. `columns` None: every column of the reference."""

    columns: tuple[str, ...] | None = None
    exclude: tuple[str, ...] = ()
    share: float = DEFAULT_SHARE
    method: DriftMethod | None = None
    methods: Mapping[str, DriftMethod] = field(default_factory=dict)
    thresholds: Mapping[str, float] = field(default_factory=dict)


@dataclass(frozen=True)
class ShadowSettings:
    """`shadow:`. A limit of None turns its check into a report (never fails)."""

    min_agreement: float | None = MIN_AGREEMENT
    max_latency_ratio: float | None = MAX_LATENCY_RATIO
    calls: int = CALLS
    batch_size: int = BATCH_SIZE
    drift_method: DriftMethod | None = None
    drift_threshold: float | None = None


def compare_settings(config: Config) -> CompareSettings:
    raw, default = config.section("compare"), CompareSettings()
    seed = raw.get("seed")
    return CompareSettings(
        metrics=tuple(str(name) for name in raw.get("metrics") or ()),
        policy=cast(Policy, raw.get("policy", default.policy)),
        confidence=float(raw.get("confidence", default.confidence)),
        resamples=int(raw.get("resamples", default.resamples)),
        seed=None if seed is None else int(seed),
        margins={str(k): float(v) for k, v in (raw.get("margin") or {}).items()},
        slices=tuple(str(c) for c in raw.get("slices", config.columns.groups)))


def drift_settings(config: Config) -> DriftSettings:
    raw, default = config.section("drift"), DriftSettings()
    columns = raw.get("columns")
    return DriftSettings(
        columns=None if columns is None else tuple(str(c) for c in columns),
        exclude=tuple(str(c) for c in raw.get("exclude", default.exclude)),
        share=float(raw.get("share", default.share)),
        method=raw.get("method"),
        methods={str(k): v for k, v in (raw.get("methods") or {}).items()},
        thresholds={str(k): float(v) for k, v in (raw.get("thresholds") or {}).items()})


def shadow_settings(config: Config) -> ShadowSettings:
    raw, default = config.section("shadow"), ShadowSettings()

    def limit(key: str, unset: float | None) -> float | None:
        value: Any = raw.get(key, unset)  # null in the config: the check is off
        return None if value is None else float(value)

    return ShadowSettings(
        min_agreement=limit("min_agreement", default.min_agreement),
        max_latency_ratio=limit("max_latency_ratio", default.max_latency_ratio),
        calls=int(raw.get("calls", default.calls)),
        batch_size=int(raw.get("batch_size", default.batch_size)),
        drift_method=raw.get("drift_method"),
        drift_threshold=limit("drift_threshold", default.drift_threshold))
