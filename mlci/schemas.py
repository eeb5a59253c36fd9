"""Where the JSON Schemas live: `schemas/` in a checkout, `mlci/schemas/` in a wheel.

One lookup so that config, results and lineage are checked against the very
files users read and editors use."""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path
from typing import Any

_CANDIDATES = (
    Path(__file__).parent / "schemas",  # installed wheel (force-included)
    Path(__file__).parent.parent / "schemas",  # source checkout / editable install
)

CONFIG = "mlci.schema.json"
RESULT = "result.schema.json"
LINEAGE = "lineage.schema.json"


def schema_path(name: str) -> Path:
    for folder in _CANDIDATES:
        path = folder / name
        if path.is_file():
            return path
    raise FileNotFoundError(f"schema {name} not found in {', '.join(map(str, _CANDIDATES))}")


@cache
def load_schema(name: str) -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads(schema_path(name).read_text(encoding="utf-8"))
    return loaded


def validator(name: str) -> Any:
    """A Draft 2020-12 validator; jsonschema is imported here so light commands stay fast."""
    from jsonschema import Draft202012Validator

    return Draft202012Validator(load_schema(name))
