"""`compare:`, `drift:` and `shadow:` settings: each default is defined once (the
statistics' own in mlci.stats, the rest in mlci/compare/settings.py), and the config
schema documents the same values."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from mlci import config as config_module
from mlci.compare import settings
from mlci.config import Config
from mlci.errors import InputError
from mlci.schemas import CONFIG, load_schema
from mlci.stats import bootstrap, drift

EMPTY = Config(path=None, data={"version": 1})
# schema key -> settings attribute, where the names differ
ATTRIBUTE = {"margin": "margins"}


def documented(section: str) -> dict[str, Any]:
    """Every `default` the schema documents for a section."""
    schema = load_schema(CONFIG)
    node: dict[str, Any] = schema["properties"][section]
    if "$ref" in node:
        node = schema["$defs"][node["$ref"].rsplit("/", 1)[1]]
    return {key: spec["default"] for key, spec in node["properties"].items()
            if "default" in spec}


@pytest.mark.parametrize(("section", "read"), [
    ("compare", settings.compare_settings),
    ("drift", settings.drift_settings),
    ("shadow", settings.shadow_settings),
])
def test_the_schema_documents_the_defaults_the_reader_applies(section: str, read: Any) -> None:
    applied = read(EMPTY)
    defaults = documented(section)
    assert defaults  # the schema documents some default for each section
    assert {key: getattr(applied, ATTRIBUTE.get(key, key)) for key in defaults} == defaults


def test_the_documented_defaults_are_these_values() -> None:
    assert documented("compare") == {"policy": "not-worse", "confidence": 0.95,
                                     "resamples": 2000}
    assert documented("drift") == {"share": 0.5}
    assert documented("shadow") == {"min_agreement": 0.9, "max_latency_ratio": 1.5,
                                    "calls": 100, "batch_size": 1}


def test_the_statistics_defaults_are_the_ones_compare_applies() -> None:
    read = settings.compare_settings(EMPTY)
    assert (read.confidence, read.resamples) == (bootstrap.DEFAULT_CONFIDENCE,
                                                 bootstrap.DEFAULT_RESAMPLES)
    assert settings.drift_settings(EMPTY).share == drift.DEFAULT_SHARE


@pytest.mark.parametrize(("section", "read", "cls"), [
    ("compare", settings.compare_settings, settings.CompareSettings),
    ("drift", settings.drift_settings, settings.DriftSettings),
    ("shadow", settings.shadow_settings, settings.ShadowSettings),
])
def test_an_empty_section_reads_as_the_dataclass_defaults(section: str, read: Any,
                                                          cls: Any) -> None:
    assert read(Config(path=None, data={"version": 1, section: {}})) == cls()
    assert read(Config(path=None, data={"version": 1, section: None})) == cls()
    assert read(EMPTY) == cls()


def test_compare_slices_are_compare_slices_else_the_group_columns() -> None:
    grouped = {"version": 1, "columns": {"groups": ["region", "plan"]}}
    assert settings.compare_settings(Config(None, grouped)).slices == ("region", "plan")
    assert settings.compare_settings(Config(None, {**grouped, "compare": {
        "slices": ["plan"]}})).slices == ("plan",)
    # an empty list is a choice (no slices), not "unset"
    assert settings.compare_settings(Config(None, {**grouped, "compare": {
        "slices": []}})).slices == ()


def test_configured_values_are_read_typed(tmp_path: Path) -> None:
    path = tmp_path / "mlci.yml"
    path.write_text("version: 1\ncompare:\n  policy: better\n  confidence: 0.9\n"
                    "  resamples: 300\n  seed: 4\n  metrics: [accuracy, f1]\n"
                    "  margin: {accuracy: 0}\n"
                    "drift:\n  columns: [a, b]\n  exclude: [c]\n  share: 1\n  method: psi\n"
                    "  methods: {a: ks}\n  thresholds: {a: 1}\n"
                    "shadow:\n  min_agreement: null\n  max_latency_ratio: 2\n  calls: 3\n"
                    "  batch_size: 8\n  drift_method: z\n  drift_threshold: 0.01\n")
    loaded = config_module.load(str(path))
    assert settings.compare_settings(loaded) == settings.CompareSettings(
        metrics=("accuracy", "f1"), policy="better", confidence=0.9, resamples=300, seed=4,
        margins={"accuracy": 0.0}, slices=())
    read_drift = settings.drift_settings(loaded)
    assert read_drift == settings.DriftSettings(
        columns=("a", "b"), exclude=("c",), share=1.0, method="psi", methods={"a": "ks"},
        thresholds={"a": 1.0})
    assert type(read_drift.share) is float
    assert settings.shadow_settings(loaded) == settings.ShadowSettings(
        min_agreement=None, max_latency_ratio=2.0, calls=3, batch_size=8, drift_method="z",
        drift_threshold=0.01)


@pytest.mark.parametrize(("body", "message"), [
    ("shadow:\n  calls: true\n", "shadow.calls: expected an integer, got True"),
    ("shadow:\n  calls: 0\n", "shadow.calls: 0 is less than the minimum of 1"),
    ("shadow:\n  batch_size: 2.5\n", "shadow.batch_size: expected an integer, got 2.5"),
    ("shadow:\n  min_agreement: '0.9'\n",
     "shadow.min_agreement: expected a number or null, got '0.9'"),
    ("shadow:\n  max_latency_ratio: .nan\n",
     "shadow.max_latency_ratio: expected a finite number, got nan"),
    ("shadow:\n  drift_threshold: 0\n", "shadow.drift_threshold: 0 is less than or equal"),
    ("compare:\n  confidence: 1\n", "compare.confidence: 1 is greater than the maximum"),
    ("compare:\n  resamples: 2000.5\n", "compare.resamples: expected an integer, got 2000.5"),
    ("compare:\n  seed: -1\n", "compare.seed: -1 is less than the minimum of 0"),
    ("compare:\n  margin: {accuracy: -0.1}\n", "compare.margin.accuracy: -0.1 is less than"),
    ("drift:\n  share: 0\n", "drift.share: 0 is less than or equal to the minimum of 0"),
    ("drift:\n  thresholds: {a: .inf}\n",
     "drift.thresholds.a: expected a finite number, got inf"),
])
def test_values_the_readers_would_misread_never_reach_them(tmp_path: Path, body: str,
                                                           message: str) -> None:
    """The readers trust the schema (no third validator): so the schema, applied when
    the config is loaded, must refuse every value they would turn into nonsense — a
    boolean count, a fraction of a resample, a NaN limit that passes everything."""
    path = tmp_path / "mlci.yml"
    path.write_text("version: 1\n" + body)
    with pytest.raises(InputError) as info:
        config_module.load(str(path))
    assert f"{path}:3: {message}" in str(info.value)
