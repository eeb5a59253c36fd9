from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from mlci import config
from mlci.errors import InputError


def error_of(path: Path) -> str:
    with pytest.raises(InputError) as info:
        config.load(str(path))
    return str(info.value)


@pytest.mark.parametrize(("body", "message"), [
    ("version: 1\ntests:\n  - metric: accuracy\n    min: high\n",
     "mlci.yml:4: tests[0].min: expected a number, got 'high'"),
    ("version: 1\ntests:\n  - metric: acuracy\n    min: 1\n",
     "mlci.yml:3: tests[0].metric: 'acuracy' is not one of accuracy, balanced_accuracy, "
     "precision, recall, f1, roc_auc, log_loss, brier, rmse, mae, r2, mape "
     "(did you mean 'accuracy'?)"),
    ("version: 1\ntests:\n  - metric: accuracy\n",
     "mlci.yml:3: tests[0]: expected at least one of min, max"),
    ("version: 1\ntests:\n  - foo: 1\n",
     "mlci.yml:3: tests[0]: expected a test with one of the keys metric, fairness, column, "
     "row_count, latency, model_size_mb"),
    ("version: 1\n\ntaks: binary\n",
     "mlci.yml:3: (top level): unknown key 'taks' (did you mean 'task'?); expected one of "
     "canary, columns, compare, drift, positive_label, registry, shadow, task, tests, "
     "version"),
    ("version: 1\ntask: bin\n",
     "mlci.yml:2: task: 'bin' is not one of binary, multiclass, regression "
     "(did you mean 'binary'?)"),
    ("version: 2\n", "mlci.yml:1: version: expected 1, got 2"),
    ("task: binary\n", "mlci.yml:1: (top level): 'version' is required"),
    ("version: 1\ntests: [\n", "mlci.yml:3: not valid YAML: expected the node content, "
                               "but found '<stream end>'"),
    ("- 1\n", "mlci.yml:1: expected a mapping with `version: 1` at the top level"),
    ("version: 1\ntests:\n  - fairness: recall\n    by: sex\n",
     "mlci.yml:3: tests[0]: 'max_gap' is required"),
    ("version: 1\ntests:\n  - latency: p95\n    max: 3\n",
     "mlci.yml:3: tests[0].latency: 'p95' does not have the expected form "
     "(^(p(100|[1-9]?[0-9])|mean|max)_ms$)"),
])
def test_errors_name_file_line_and_field(write_config: Callable[[str], Path], body: str,
                                         message: str) -> None:
    path = write_config(body)
    assert error_of(path) == message.replace("mlci.yml", str(path))


def test_error_carries_location_for_annotations(write_config: Callable[[str], Path]) -> None:
    path = write_config("version: 1\ntests:\n  - metric: accuracy\n    min: high\n")
    with pytest.raises(InputError) as info:
        config.load(str(path))
    assert (info.value.file, info.value.line) == (str(path), 4)


def test_missing_file(workdir: Path) -> None:
    with pytest.raises(InputError, match=r"^nope.yml: config file not found"):
        config.load("nope.yml")


def test_defaults_and_locations(write_config: Callable[[str], Path]) -> None:
    path = write_config("""
        version: 1
        task: binary
        tests:
          - metric: accuracy
            min: 0.9
          - column: age
            max_null: 0
    """)
    loaded = config.load(str(path))
    assert loaded.columns == config.Columns(named=("age",))  # the column test names it
    assert loaded.task == "binary"
    assert loaded.location("tests", 1) is not None
    assert loaded.location("tests", 0).line == 4  # type: ignore[union-attr]
    assert loaded.location("tests", 1).line == 6  # type: ignore[union-attr]
    assert loaded.location("tests", 1, "nothing").line == 6  # type: ignore[union-attr]


def test_resolve_path_prefers_option_then_env_then_default(workdir: Path) -> None:
    assert config.resolve_path(None, {}) is None
    (workdir / "mlci.yml").write_text("version: 1\n")
    assert config.resolve_path(None, {}) == "mlci.yml"
    assert config.resolve_path(None, {"MLCI_CONFIG": "other.yml"}) == "other.yml"
    assert config.resolve_path("given.yml", {"MLCI_CONFIG": "other.yml"}) == "given.yml"


def test_format_path() -> None:
    assert config.format_path(("tests", 2, "min")) == "tests[2].min"
    assert config.format_path(()) == "(top level)"


def test_resolve_path_finds_mlci_yaml_and_refuses_both(workdir: Path) -> None:
    (workdir / "mlci.yaml").write_text("version: 1\n")
    assert config.resolve_path(None, {}) == "mlci.yaml"
    (workdir / "mlci.yml").write_text("version: 1\n")
    with pytest.raises(InputError) as info:
        config.resolve_path(None, {})
    assert str(info.value) == ("mlci.yml and mlci.yaml: both exist; expected one config file "
                               "(delete one, or pass --config FILE)")
    assert config.resolve_path("mlci.yaml", {}) == "mlci.yaml"  # naming one settles it
    assert config.resolve_path(None, {"MLCI_CONFIG": "mlci.yml"}) == "mlci.yml"


# --- numbers that would make a check pass vacuously, and absurd settings ---------------

@pytest.mark.parametrize(("body", "message"), [
    ("version: 1\ntests:\n  - metric: accuracy\n    min: .nan\n",
     "mlci.yml:4: tests[0].min: expected a finite number, got nan"),
    ("version: 1\ntests:\n  - metric: accuracy\n    min: .NaN\n",
     "mlci.yml:4: tests[0].min: expected a finite number, got nan"),
    ("version: 1\ntests:\n  - metric: log_loss\n    max: .inf\n",
     "mlci.yml:4: tests[0].max: expected a finite number, got inf"),
    ("version: 1\ntests:\n  - metric: accuracy\n    min: -.Inf\n",
     "mlci.yml:4: tests[0].min: expected a finite number, got -inf"),
    ("version: 1\ntests:\n  - fairness: recall\n    by: sex\n    max_gap: .nan\n",
     "mlci.yml:5: tests[0].max_gap: expected a finite number, got nan"),
    ("version: 1\ncompare:\n  margin:\n    accuracy: .inf\n",
     "mlci.yml:4: compare.margin.accuracy: expected a finite number, got inf"),
    ("version: 1\ncompare:\n  confidence: .nan\n",
     "mlci.yml:3: compare.confidence: expected a finite number, got nan"),
    ("version: 1\ntests:\n  - column: age\n    allowed: [1, .nan]\n",
     "mlci.yml:4: tests[0].allowed[1]: expected a finite number, got nan"),
    ("version: 1\ncompare:\n  resamples: 1000000000\n",
     "mlci.yml:3: compare.resamples: 1000000000 is greater than the maximum of 100000"),
    ("version: 1\ncompare:\n  resamples: 10\n",
     "mlci.yml:3: compare.resamples: 10 is less than the minimum of 100"),
    ("version: 1\ncompare:\n  confidence: 0.99999\n",
     "mlci.yml:3: compare.confidence: 0.99999 is greater than the maximum of 0.9999"),
    ("version: 1\ncompare:\n  confidence: 0.4\n",
     "mlci.yml:3: compare.confidence: 0.4 is less than the minimum of 0.5"),
    ("version: 1\ntests:\n  - metric: accuracy\n    min: 0.9\n    min: 0.0\n",
     "mlci.yml:5: not valid YAML: tests[0].min: duplicate key 'min' (first on line 4); "
     "expected each key once"),
    ("version: 1\ntask: binary\ntask: regression\n",
     "mlci.yml:3: not valid YAML: task: duplicate key 'task' (first on line 2); expected each "
     "key once"),
])
def test_non_finite_absurd_and_repeated_settings_are_bad_input(
        write_config: Callable[[str], Path], body: str, message: str) -> None:
    path = write_config(body)
    assert error_of(path) == message.replace("mlci.yml", str(path))


@pytest.mark.parametrize("body", [
    "version: 1\ncompare:\n  confidence: 0.5\n  resamples: 100\n",
    "version: 1\ncompare:\n  confidence: 0.9999\n  resamples: 100000\n",
    # the same key in two different mappings is not a repeat
    "version: 1\ntests:\n  - metric: accuracy\n    min: 0.9\n  - metric: recall\n    min: 0.8\n",
    # an anchor and an alias, as people write to share settings
    "version: 1\ntests:\n  - &t {metric: accuracy, min: 0.9}\n  - *t\n",
])
def test_bounds_are_inclusive_and_ordinary_yaml_still_loads(
        write_config: Callable[[str], Path], body: str) -> None:
    loaded = config.load(str(write_config(body)))
    assert loaded.data["version"] == 1
