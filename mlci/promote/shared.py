"""What promote, rollback and history share: the registry they talk to, who is acting,
and how an outcome of the protocol becomes checks in a result document."""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from mlci import config as config_module
from mlci.ci.base import Facts
from mlci.options import Common
from mlci.promote.protocol import Outcome
from mlci.registry import history as hist
from mlci.registry.client import Registry, check_name, resolve_uri
from mlci.result import Check, Status


def registry_section(common: Common) -> dict[str, Any]:
    return config_module.load(config_module.resolve_path(common.config)).section("registry")


def open_registry(common: Common, option: str | None, section: Mapping[str, Any]) -> Registry:
    uri = resolve_uri(option, section, common.out)
    if uri.startswith("sqlite:///"):
        # The embedded default lives in the out folder, which may not exist yet.
        Path(uri[len("sqlite:///"):]).parent.mkdir(parents=True, exist_ok=True)
    return Registry(uri)


def model_name(option: str | None, section: Mapping[str, Any]) -> str:
    configured = section.get("name")
    return check_name(option or (configured if isinstance(configured, str) else None))


def owner(facts: Facts) -> dict[str, str | None]:
    return {"actor": facts.get("actor"), "run_url": facts.get("run_url")}


def outcome_checks(name: str, outcome: Outcome) -> list[Check]:
    status: Status = "pass" if outcome.status in ("moved", "noop") else "fail"
    checks = [Check(name, status, outcome.message, extra={"outcome": outcome.status})]
    checks += [Check(f"note {index}", "warn", note)
               for index, note in enumerate(outcome.notes, start=1)]
    return checks


def version_text(version: int | None) -> str:
    return "" if version is None else str(version)


def entry_for(action: hist.Action, outcome_from: int | None, to_version: int, facts: Facts,
              gates: list[str], reason: str | None, extra: dict[str, Any] | None = None
              ) -> hist.Entry:
    from mlci.result import now_iso

    return hist.Entry(action=action, from_version=outcome_from, to_version=to_version,
                      time=now_iso(), actor=facts.get("actor"), run_url=facts.get("run_url"),
                      gates=gates, reason=hist.clip_reason(reason), extra=dict(extra or {}))


def mismatch(alias: str, current: int | None, history: hist.History) -> str:
    holds = f"v{current}" if current is not None else "nothing (no such alias)"
    head = history.head
    says = head.describe() if head is not None else "no mlci history at all"
    return (f"{alias} holds {holds}, but its history's last entry is: {says}. It was moved "
            "outside mlci")


def previous_promote(out_dir: str, name: str, alias: str) -> dict[str, Any] | None:
    """This job's own `promote.json` for the same model and alias, if there is one: what
    a rollback in the same job may undo."""
    path = Path(out_dir) / "promote.json"
    try:
        doc = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    if not isinstance(doc, dict) or doc.get("step") != "promote":
        return None
    if doc.get("name") != name or doc.get("alias") != alias:
        return None
    return doc
