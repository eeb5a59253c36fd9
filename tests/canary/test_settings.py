"""`canary:` settings: each default is defined once, in mlci/canary/settings.py, and
the config schema documents the same values."""

from __future__ import annotations

from typing import Any

from mlci.canary import settings
from mlci.config import Config
from mlci.schemas import CONFIG, load_schema


def canary_schema() -> dict[str, Any]:
    schema = load_schema(CONFIG)
    section: dict[str, Any] = schema["properties"]["canary"]
    if "$ref" in section:  # "#/$defs/canary"
        section = schema["$defs"][section["$ref"].rsplit("/", 1)[1]]
    return section


def test_the_schema_documents_the_defaults_the_reader_applies() -> None:
    read = settings.load(Config(path=None, data={"version": 1, "canary": {}}))
    documented = canary_schema()["properties"]
    assert {key: documented[key]["default"] for key in
            ("pass", "marginal", "confidence", "tolerance", "min_samples")} == {
        "pass": read.pass_score, "marginal": read.marginal_score,
        "confidence": read.defaults.confidence, "tolerance": read.defaults.tolerance,
        "min_samples": read.defaults.min_samples}
    prometheus = documented["prometheus"]["properties"]
    assert (prometheus["token_env"]["default"], prometheus["retries"]["default"]) == (
        read.prometheus.token_env, read.prometheus.retries)


def test_an_empty_prometheus_section_reads_as_the_dataclass_defaults() -> None:
    empty = settings.load(Config(path=None, data={"version": 1, "canary": {"prometheus": {}}}))
    assert empty.prometheus == settings.Prometheus()
    assert (empty.prometheus.window_s, empty.prometheus.step_s, empty.prometheus.timeout_s,
            empty.prometheus.retries, dict(empty.prometheus.sides)) == (
        600.0, 15.0, 10.0, 3, {"stable": "stable", "canary": "canary"})


def test_a_metric_left_unset_takes_the_section_defaults() -> None:
    read = settings.load(Config(path=None, data={"version": 1, "canary": {
        "confidence": 0.9, "min_samples": 7, "metrics": {"latency": {}}}}))
    (metric,) = read.metrics
    assert (metric.confidence, metric.min_samples, metric.tolerance, metric.nan_strategy,
            metric.outliers, metric.outlier_factor) == (0.9, 7, 0.25, "remove", "keep", 3.0)
    assert read.metric("cpu").confidence == 0.9  # a metric the config does not list
