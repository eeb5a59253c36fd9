"""Loading `mlci.yml`: schema validation with file, line and field in every error.

The YAML node tree is kept beside the data so that any check can point CI
annotations at the exact line that configured it. The file is read by
`mlci.safe_yaml` (bounded cost, no duplicate keys), and every number must be
finite: `min: .nan` would otherwise pass every comparison vacuously."""

from __future__ import annotations

import difflib
import math
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from mlci import safe_yaml
from mlci.errors import InputError
from mlci.result import Location
from mlci.schemas import CONFIG, load_schema, validator

DEFAULT_FILE = "mlci.yml"
DEFAULT_FILES = (DEFAULT_FILE, "mlci.yaml")  # both spellings are common; never both at once
DEFAULT_COLUMNS = {"target": "y_true", "prediction": "y_pred", "score": "y_score"}
TEST_KINDS = ("metric", "fairness", "column", "row_count", "latency", "model_size_mb")

JsonPath = tuple[str | int, ...]


@dataclass(frozen=True)
class Columns:
    target: str = "y_true"
    prediction: str = "y_pred"
    score: str = "y_score"
    id: str | None = None
    groups: tuple[str, ...] = ()
    named: tuple[str, ...] = ()  # other columns the config names (tests, slices)

    @property
    def used(self) -> frozenset[str]:
        """Every column a predictions file is read for: the rest are never loaded."""
        return frozenset((self.target, self.prediction, self.score,
                          *((self.id,) if self.id else ()), *self.groups, *self.named))


@dataclass(frozen=True)
class Config:
    path: str | None
    data: dict[str, Any]
    lines: dict[JsonPath, int] = field(default_factory=dict)

    @property
    def task(self) -> str | None:
        task: str | None = self.data.get("task")
        return task

    @property
    def columns(self) -> Columns:
        raw = self.data.get("columns", {})
        return Columns(target=raw.get("target", DEFAULT_COLUMNS["target"]),
                       prediction=raw.get("prediction", DEFAULT_COLUMNS["prediction"]),
                       score=raw.get("score", DEFAULT_COLUMNS["score"]), id=raw.get("id"),
                       groups=tuple(raw.get("groups", ())), named=self._named_columns())

    def _named_columns(self) -> tuple[str, ...]:
        """Columns named outside `columns:`: data tests, metric slices, fairness groups,
        compare slices. A new setting that names a column must be added here, or the
        predictions file is read without it."""
        found: list[str] = []
        for test in self.tests:
            for key in ("column", "slice", "by"):
                found += _strings(test.get(key))
        found += _strings(self.section("compare").get("slices"))
        return tuple(dict.fromkeys(found))

    @property
    def tests(self) -> list[dict[str, Any]]:
        tests: list[dict[str, Any]] = self.data.get("tests", [])
        return tests

    def section(self, name: str) -> dict[str, Any]:
        section: dict[str, Any] = self.data.get(name) or {}
        return section

    def location(self, *path: str | int) -> Location | None:
        """The config line of `path` (or of its nearest configured parent)."""
        if self.path is None:
            return None
        for end in range(len(path), -1, -1):
            line = self.lines.get(tuple(path[:end]))
            if line is not None:
                return Location(self.path, line)
        return None

    def need_task(self, why: str) -> str:
        if self.task is None:
            raise InputError(f"{self.path or 'config'}: task: missing; {why} needs "
                             "task: binary, multiclass or regression")
        return self.task


def _strings(value: Any) -> list[str]:
    """Column names in a setting: a name, a list of names, or mappings with `column`."""
    if isinstance(value, str):
        return [value]
    if isinstance(value, dict):
        return _strings(value.get("column"))
    if isinstance(value, list):
        return [name for item in value for name in _strings(item)]
    return []


def format_path(path: JsonPath) -> str:
    """`("tests", 2, "min")` → `tests[2].min`, the form users see in errors."""
    text = ""
    for part in path:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else str(part))
    return text or "(top level)"


def resolve_path(option: str | None, environ: dict[str, str] | None = None) -> str | None:
    """--config, else $MLCI_CONFIG (click passes it), else ./mlci.yml or ./mlci.yaml.

    Both present is an error: silently preferring one would run the tests of the
    file the user did not edit."""
    if option:
        return option
    env = os.environ if environ is None else environ
    if env.get("MLCI_CONFIG"):
        return env["MLCI_CONFIG"]
    present = [name for name in DEFAULT_FILES if Path(name).is_file()]
    if len(present) > 1:
        raise InputError(f"{' and '.join(present)}: both exist; expected one config file "
                         "(delete one, or pass --config FILE)")
    return present[0] if present else None


def load(path: str | None) -> Config:
    """Read and validate a config; None gives the defaults (no tests)."""
    if path is None:
        return Config(path=None, data={"version": 1})
    file = Path(path)
    if not file.is_file():
        raise InputError(f"{path}: config file not found (expected an mlci.yml; "
                         "pass --config FILE or set MLCI_CONFIG)")
    loaded = _parse(path)
    if not isinstance(loaded.data, dict):
        raise InputError(f"{path}:1: expected a mapping with `version: 1` at the top level")
    lines: dict[JsonPath, int] = {}
    if loaded.node is not None:
        _collect_lines(loaded.node, (), lines)
    config = Config(path=path, data=loaded.data, lines=lines)
    _require_finite(config, config.data, ())
    _validate(config)
    return config


def _parse(path: str) -> safe_yaml.Loaded:
    try:
        return safe_yaml.load_file(path)
    except (OSError, UnicodeDecodeError) as exc:
        raise InputError(f"{path}: cannot read config: {exc}") from exc
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f":{mark.line + 1}" if mark is not None else ""
        problem = getattr(exc, "problem", None) or str(exc)
        raise InputError(f"{path}{where}: not valid YAML: {problem}", file=path,
                         line=mark.line + 1 if mark is not None else None) from exc


def _require_finite(config: Config, value: Any, path: JsonPath) -> None:
    """NaN compares false with everything and infinity with nothing useful, so a
    threshold of .nan or .inf would make its check pass vacuously: refuse both."""
    if isinstance(value, float) and not math.isfinite(value):
        location = config.location(*path)
        where = f"{config.path}:{location.line}" if location else f"{config.path}"
        raise InputError(f"{where}: {format_path(path)}: expected a finite number, got {value}",
                         file=config.path, line=location.line if location else None)
    if isinstance(value, dict):
        for key, item in value.items():
            _require_finite(config, item, (*path, str(key)))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            _require_finite(config, item, (*path, index))


def _collect_lines(node: yaml.Node, path: JsonPath, lines: dict[JsonPath, int]) -> None:
    lines[path] = node.start_mark.line + 1
    if isinstance(node, yaml.MappingNode):
        for key, value in node.value:
            child = (*path, str(key.value))
            _collect_lines(value, child, lines)
            lines[child] = key.start_mark.line + 1  # point at the key, where users look
    elif isinstance(node, yaml.SequenceNode):
        for index, item in enumerate(node.value):
            _collect_lines(item, (*path, index), lines)


def _validate(config: Config) -> None:
    errors = sorted(validator(CONFIG).iter_errors(config.data),
                    key=lambda e: (len(e.absolute_path), list(map(str, e.absolute_path))))
    if not errors:
        return
    error = _most_specific(errors)
    path = tuple(error.absolute_path)
    focus = path
    if error.validator == "additionalProperties" and isinstance(error.instance, dict):
        unknown = sorted(set(error.instance) - set(_allowed_keys(error.schema)))
        focus = (*path, unknown[0]) if unknown else path
    location = config.location(*focus)
    where = f"{config.path}:{location.line}" if location else f"{config.path}"
    raise InputError(f"{where}: {format_path(path)}: {_explain(error, path)}",
                     file=config.path, line=location.line if location else None)


def _most_specific(errors: list[Any]) -> Any:
    """Prefer the deepest error, then the most nested rule: it names what to fix."""
    return max(errors, key=lambda e: (len(e.absolute_path), len(e.schema_path)))


def _explain(error: Any, path: JsonPath) -> str:
    instance = error.instance
    if error.validator == "anyOf" and isinstance(instance, dict):
        keys = [" or ".join(s.get("required", [])) for s in error.validator_value]
        if tuple(keys) == TEST_KINDS:
            return "expected a test with one of the keys " + ", ".join(TEST_KINDS)
        return f"expected at least one of {', '.join(keys)}"
    if error.validator == "enum":
        options = [str(o) for o in error.validator_value]
        hint = difflib.get_close_matches(str(instance), options, n=1)
        suggestion = f" (did you mean {hint[0]!r}?)" if hint else ""
        return f"{instance!r} is not one of {', '.join(options)}{suggestion}"
    if error.validator == "additionalProperties":
        allowed = sorted(_allowed_keys(error.schema))
        unknown = sorted(set(instance) - set(allowed)) if isinstance(instance, dict) else []
        hint = difflib.get_close_matches(unknown[0], allowed, n=1) if unknown else []
        suggestion = f" (did you mean {hint[0]!r}?)" if hint else ""
        return (f"unknown key {', '.join(map(repr, unknown))}{suggestion}; "
                f"expected one of {', '.join(allowed)}")
    if error.validator == "pattern":
        return f"{instance!r} does not have the expected form ({error.validator_value})"
    if error.validator == "type":
        return f"expected {_article(error.validator_value)}, got {instance!r}"
    if error.validator == "const":
        return f"expected {error.validator_value!r}, got {instance!r}"
    if error.validator == "required":
        return error.message.replace("is a required property", "is required")
    return str(error.message)


def _allowed_keys(schema: dict[str, Any]) -> list[str]:
    keys: list[str] = list(schema.get("properties", {}))
    ref = schema.get("$ref")
    if ref:
        keys += _allowed_keys(load_schema(CONFIG)["$defs"][ref.rsplit("/", 1)[-1]])
    return keys


def _article(kind: Any) -> str:
    kinds = kind if isinstance(kind, list) else [kind]
    names = {"number": "a number", "integer": "an integer", "string": "a string",
             "boolean": "true or false", "array": "a list", "object": "a mapping", "null": "null"}
    return " or ".join(names.get(k, str(k)) for k in kinds)
