"""The `canary:` section of mlci.yml as typed settings.

The JSON Schema catches misspelt keys and wrong types; this module adds the
checks a schema cannot express (percentages, ranges that depend on the effect
measure, weights that must add up) and applies Kayenta's defaults, so that every
error names the config line to fix and the judge never sees a half-valid value."""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

from mlci.config import Config
from mlci.errors import InputError
from mlci.result import Location

Direction = Literal["increase", "decrease", "either"]
Measure = Literal["mean_ratio", "cles"]

# Kayenta's NetflixACAJudge defaults (hard-coded there, configurable here).
PASS_SCORE = 95.0
MARGINAL_SCORE = 75.0
CONFIDENCE = 0.98
TOLERANCE = 0.25
OUTLIER_FACTOR = 3.0
# mlci's own: fewer samples than this on a side is "not enough data" (warn, never pass).
MIN_SAMPLES = 50
DEFAULT_GROUP = "default"

_PERCENT = re.compile(r"^\s*([0-9]+(?:\.[0-9]+)?)\s*%\s*$")
_DURATION = re.compile(r"^\s*([0-9]+(?:\.[0-9]+)?)\s*(ms|s|m|h|d)?\s*$")
_UNITS = {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0, "d": 86400.0, None: 1.0}


@dataclass(frozen=True)
class Metric:
    name: str
    direction: Direction = "either"
    critical: bool = False
    must_have_data: bool = False
    muted: bool = False
    groups: tuple[str, ...] = (DEFAULT_GROUP,)
    effect_size: Measure = "mean_ratio"
    allowed_increase: float = 1.0
    allowed_decrease: float = 1.0
    critical_increase: float = 1.0
    critical_decrease: float = 1.0
    confidence: float = CONFIDENCE
    tolerance: float = TOLERANCE
    min_samples: int = MIN_SAMPLES
    nan_strategy: Literal["remove", "replace"] = "remove"
    outliers: Literal["keep", "remove"] = "keep"
    outlier_factor: float = OUTLIER_FACTOR
    column: str | None = None  # wide files: the column; long files: the `metric` value
    query: str | None = None  # Prometheus: PromQL with {{side}}
    events: str | None = None  # rates: the column/metric holding event counts …
    trials: str | None = None  # … and the one holding trial counts
    events_query: str | None = None
    trials_query: str | None = None
    location: Location | None = None

    @property
    def is_rate(self) -> bool:
        return bool(self.events or self.trials or self.events_query or self.trials_query)

    @property
    def source(self) -> str:
        return self.column or self.name


@dataclass(frozen=True)
class Prometheus:
    """`canary.prometheus`; these defaults are the ones the config reference documents."""

    url: str | None = None
    token_env: str = "PROMETHEUS_TOKEN"
    window_s: float = 600.0
    step_s: float = 15.0
    start: str | None = None
    end: str | None = None
    timeout_s: float = 10.0
    retries: int = 3
    sides: Mapping[str, str] = field(default_factory=lambda: {"stable": "stable",
                                                              "canary": "canary"})


@dataclass(frozen=True)
class Settings:
    metrics: tuple[Metric, ...]  # empty: judge every metric the input has, with defaults
    pass_score: float = PASS_SCORE
    marginal_score: float = MARGINAL_SCORE
    group_weights: Mapping[str, float] = field(default_factory=dict)
    defaults: Metric = field(default_factory=lambda: Metric(name="*"))
    prometheus: Prometheus = field(default_factory=Prometheus)
    config: Config | None = None

    def metric(self, name: str) -> Metric:
        """Settings for a metric the config does not list (when it lists none)."""
        return _replace(self.defaults, name=name)


def _replace(metric: Metric, **changes: Any) -> Metric:
    from dataclasses import replace

    return replace(metric, **changes)


class _Reader:
    """Reads values out of the section with errors that point at the line."""

    def __init__(self, config: Config) -> None:
        self.config = config

    def fail(self, path: tuple[str | int, ...], problem: str) -> InputError:
        location = self.config.location(*path)
        where = f"{self.config.path}:{location.line}" if location else str(self.config.path
                                                                          or "config")
        dotted = ".".join(str(p) for p in path)
        return InputError(f"{where}: {dotted}: {problem}", file=self.config.path,
                          line=location.line if location else None)

    def number(self, raw: Any, path: tuple[str | int, ...], *, low: float | None = None,
               high: float | None = None, low_open: bool = False) -> float:
        if isinstance(raw, bool) or not isinstance(raw, (int, float)) or not math.isfinite(raw):
            raise self.fail(path, f"expected a number, got {raw!r}")
        value = float(raw)
        if low is not None and (value < low or (low_open and value == low)):
            raise self.fail(path, f"{value:g} is too small; expected "
                                  f"{'more than' if low_open else 'at least'} {low:g}")
        if high is not None and value > high:
            raise self.fail(path, f"{value:g} is too large; expected at most {high:g}")
        return value

    def duration(self, raw: Any, path: tuple[str | int, ...]) -> float:
        if isinstance(raw, (int, float)) and not isinstance(raw, bool):
            return self.number(raw, path, low=0.0, low_open=True)
        match = _DURATION.match(str(raw))
        if not match or float(match[1]) <= 0:
            raise self.fail(path, f"{raw!r} is not a duration; expected e.g. 30s, 10m, 1h")
        return float(match[1]) * _UNITS[match[2]]

    def effect(self, raw: Any, path: tuple[str | int, ...], *, up: bool,
               measure: Measure) -> float:
        """A mean ratio (1.1), a percentage ('10%': up → 1.1, down → 0.9) or, for cles,
        a probability."""
        if isinstance(raw, str):
            match = _PERCENT.match(raw)
            if not match:
                raise self.fail(path, f"{raw!r} is not a number or a percentage such as '10%'")
            if measure == "cles":
                raise self.fail(path, "percentages apply to effect_size mean_ratio; with cles "
                                      "give a probability such as 0.6")
            share = float(match[1]) / 100.0
            if not up and share >= 1.0:
                raise self.fail(path, f"{raw!r}: a decrease must be below 100%")
            return 1.0 + share if up else 1.0 - share
        if measure == "cles":
            return self.number(raw, path, low=0.0, high=1.0)
        return self.number(raw, path, low=0.0)


def load(config: Config) -> Settings:
    section = config.section("canary")
    read = _Reader(config)
    base = ("canary",)
    pass_score = read.number(section.get("pass", PASS_SCORE), (*base, "pass"), low=0, high=100)
    marginal = read.number(section.get("marginal", MARGINAL_SCORE), (*base, "marginal"),
                           low=0, high=100)
    if marginal > pass_score:
        raise read.fail((*base, "marginal"), f"{marginal:g} is above pass ({pass_score:g}); "
                                             "expected marginal ≤ pass")
    defaults = _metric(read, "*", {key: section[key] for key in
                                   ("confidence", "tolerance", "min_samples") if key in section},
                       base, None)
    raw_metrics = section.get("metrics") or {}
    if not isinstance(raw_metrics, Mapping):
        raise read.fail((*base, "metrics"), "expected a mapping of metric name to settings")
    metrics = tuple(_metric(read, str(name), spec or {}, (*base, "metrics", str(name)), defaults)
                    for name, spec in raw_metrics.items())
    weights = _weights(read, section.get("groups") or {}, metrics, base)
    return Settings(metrics=metrics, pass_score=pass_score, marginal_score=marginal,
                    group_weights=weights, defaults=defaults,
                    prometheus=_prometheus(read, section.get("prometheus") or {}, base),
                    config=config)


def _metric(read: _Reader, name: str, spec: Mapping[str, Any], path: tuple[str, ...],
            defaults: Metric | None) -> Metric:
    if not isinstance(spec, Mapping):
        raise read.fail(path, "expected a mapping of settings (or nothing for the defaults)")
    base = defaults or Metric(name=name)
    measure: Measure = spec.get("effect_size", base.effect_size)
    if measure not in ("mean_ratio", "cles"):
        raise read.fail((*path, "effect_size"), f"{measure!r}; expected mean_ratio or cles")
    neutral = 0.5 if measure == "cles" else 1.0
    direction = spec.get("direction", base.direction)
    if direction not in ("increase", "decrease", "either"):
        raise read.fail((*path, "direction"), f"{direction!r}; expected increase (an increase "
                                              "is bad), decrease or either")
    groups = spec.get("groups", [spec["group"]] if "group" in spec else list(base.groups))
    if isinstance(groups, str):
        groups = [groups]
    for key, allowed in (("nan_strategy", ("remove", "replace")), ("outliers", ("keep", "remove"))):
        if key in spec and spec[key] not in allowed:
            raise read.fail((*path, key), f"{spec[key]!r}; expected {' or '.join(allowed)}")

    def effect(key: str, up: bool) -> float:
        if key not in spec:
            return neutral
        return read.effect(spec[key], (*path, key), up=up, measure=measure)

    min_samples = spec.get("min_samples", base.min_samples)
    if isinstance(min_samples, bool) or not isinstance(min_samples, int) or min_samples < 1:
        raise read.fail((*path, "min_samples"), f"expected a whole number ≥ 1, got "
                                                f"{min_samples!r}")
    metric = Metric(
        name=name, direction=direction, critical=bool(spec.get("critical", False)),
        must_have_data=bool(spec.get("must_have_data", False)),
        muted=bool(spec.get("muted", False)), groups=tuple(str(g) for g in groups) or
        (DEFAULT_GROUP,), effect_size=measure,
        allowed_increase=effect("allowed_increase", True),
        allowed_decrease=effect("allowed_decrease", False),
        critical_increase=effect("critical_increase", True),
        critical_decrease=effect("critical_decrease", False),
        confidence=read.number(spec.get("confidence", base.confidence), (*path, "confidence"),
                               low=0.5, high=0.9999),
        tolerance=read.number(spec.get("tolerance", base.tolerance), (*path, "tolerance"),
                              low=0.0),
        min_samples=min_samples, nan_strategy=spec.get("nan_strategy", base.nan_strategy),
        outliers=spec.get("outliers", base.outliers),
        outlier_factor=read.number(spec.get("outlier_factor", base.outlier_factor),
                                   (*path, "outlier_factor"), low=0.0, low_open=True),
        column=spec.get("column"), query=spec.get("query"), events=spec.get("events"),
        trials=spec.get("trials"), events_query=spec.get("events_query"),
        trials_query=spec.get("trials_query"), location=read.config.location(*path))
    if metric.is_rate:
        pairs = ((metric.events, metric.trials), (metric.events_query, metric.trials_query))
        if any(bool(a) != bool(b) for a, b in pairs) or metric.query:
            raise read.fail(path, "a rate needs both events and trials (columns or metric "
                                  "names), or both events_query and trials_query, and no query")
        if measure == "cles":
            raise read.fail((*path, "effect_size"), "rates (events/trials) use mean_ratio, "
                                                    "the ratio of the two rates")
    return metric


def _weights(read: _Reader, raw: Any, metrics: tuple[Metric, ...],
             base: tuple[str, ...]) -> dict[str, float]:
    if not isinstance(raw, Mapping):
        raise read.fail((*base, "groups"), "expected a mapping of group name to weight")
    weights = {str(name): read.number(value, (*base, "groups", str(name)), low=0.0, high=100.0)
               for name, value in raw.items()}
    used = {group for metric in metrics for group in metric.groups}
    for name in weights:
        if metrics and name not in used:
            raise read.fail((*base, "groups", name),
                            f"no metric is in group {name!r}; its weight would never count "
                            f"(groups in use: {', '.join(sorted(used)) or 'none'})")
    total = sum(weights.values())
    unweighted = used - set(weights) if metrics else set()
    if total > 100.0 + 1e-9 or (weights and not unweighted and abs(total - 100.0) > 1e-9):
        raise read.fail((*base, "groups"), f"weights add up to {total:g}; expected 100 (or "
                                           "less, the rest shared by unweighted groups)")
    return weights


def _prometheus(read: _Reader, raw: Any, base: tuple[str, ...]) -> Prometheus:
    path = (*base, "prometheus")
    if not isinstance(raw, Mapping):
        raise read.fail(path, "expected a mapping (url, window, step, …)")
    default = Prometheus()
    sides = {**default.sides, **(raw.get("sides") or {})}
    retries = raw.get("retries", default.retries)
    if isinstance(retries, bool) or not isinstance(retries, int) or retries < 0:
        raise read.fail((*path, "retries"), f"expected a whole number ≥ 0, got {retries!r}")

    def duration(key: str, unset: float) -> float:
        return read.duration(raw[key], (*path, key)) if key in raw else unset

    return Prometheus(
        url=raw.get("url"), token_env=str(raw.get("token_env", default.token_env)),
        window_s=duration("window", default.window_s), step_s=duration("step", default.step_s),
        start=None if raw.get("start") is None else str(raw["start"]),
        end=None if raw.get("end") is None else str(raw["end"]),
        timeout_s=duration("timeout", default.timeout_s),
        retries=retries, sides={str(k): str(v) for k, v in sides.items()})


def fail(settings: Settings, path: tuple[str | int, ...], problem: str) -> InputError:
    """An input error pointing at a config line (for problems found while judging)."""
    if settings.config is None:
        return InputError(f"{'.'.join(map(str, path))}: {problem}")
    return _Reader(settings.config).fail(path, problem)
