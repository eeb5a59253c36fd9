"""What promote, rollback and history share: the registry they talk to, who is acting,
and how an outcome of the protocol becomes checks in a result document."""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from mlci import config as config_module
from mlci.ci.base import Facts
from mlci.exitcodes import ExitCode
from mlci.options import Common
from mlci.promote import identity
from mlci.promote.protocol import Outcome
from mlci.registry import history as hist
from mlci.registry import lock
from mlci.registry.client import Registry, check_name, embedded_uri, resolve_uri
from mlci.result import Check, Result, Status


def registry_section(common: Common) -> dict[str, Any]:
    return config_module.load(config_module.resolve_path(common.config)).section("registry")


def project_dir(common: Common) -> str:
    """The folder of the config file, else the current folder: where the project's
    embedded registry lives, whatever `--out` says."""
    path = config_module.resolve_path(common.config)
    return str(Path(path).resolve().parent) if path else os.getcwd()


def open_registry(common: Common, option: str | None, section: Mapping[str, Any],
                  label: str) -> Registry:
    """The registry to use. The embedded default is announced on stderr (stdout may be
    JSON for a script), so nobody wonders which file their aliases went to."""
    uri = resolve_uri(option, section, project_dir(common))
    if uri == embedded_uri(project_dir(common)):
        print(f"{label}: registry: {uri} (the project's embedded registry; --registry, "
              "registry.uri or MLFLOW_TRACKING_URI name a shared one)", file=sys.stderr)
    return Registry(uri)


def model_name(option: str | None, section: Mapping[str, Any]) -> str:
    configured = section.get("name")
    return check_name(option or (configured if isinstance(configured, str) else None))


def owner(facts: Facts) -> dict[str, str | None]:
    return {"actor": facts.get("actor"), "run_url": facts.get("run_url"), "job": identity.job()}


def own_move(reclaimed: list[lock.Reclaimed], history: hist.History, alias: str,
             action: hist.Action, target: int) -> Outcome | None:
    """The move an earlier attempt of this CI job made (or half made, and the queue just
    completed), when it is the one asked for now and the alias holds it: this attempt
    reports it as its own move, so that a rollback later in this job knows there is
    something to undo, rather than "nothing to do"."""
    job = identity.job()
    found: tuple[hist.Entry, str] | None = None
    for item in reclaimed:
        if item.own and item.entry is not None:
            found = (item.entry, "recorded its history entry now" if item.recorded
                     else "its history entry was already written")
    head = history.head
    if head is not None and job is not None and head.extra.get("job") == job:
        found = (head, "it is recorded in the history")
    if found is None or found[0].action != action or found[0].to_version != target:
        return None
    entry, how = found
    start = f"v{entry.from_version}" if entry.from_version is not None else "(none)"
    return Outcome("moved", f"{alias}: {start} → v{target}, moved by an earlier attempt of "
                   f"this job ({how})", entry.from_version, target, entry=entry)


def service_exit(label: str, code: int, produced: list[Result]) -> int:
    """Exit 3 when the step's outcome stands but the registry failed afterwards (its
    queue ticket could not be removed): a warning in the result, an error line here."""
    if code != 0 or not produced:
        return code
    problem = produced[-1].extra.get("service_error")
    if not problem:
        return code
    print(f"{label}: error: {problem}", file=sys.stderr)
    return int(ExitCode.SERVICE)


def outcome_checks(name: str, outcome: Outcome) -> list[Check]:
    status: Status = "pass" if outcome.status in ("moved", "noop") else "fail"
    checks = [Check(name, status, outcome.message, extra={"outcome": outcome.status})]
    checks += [Check(f"note {index}", "warn", note)
               for index, note in enumerate(outcome.notes, start=1)]
    if outcome.service_error:
        checks.append(Check("queue ticket", "warn", outcome.service_error))
    return checks


def version_text(version: int | None) -> str:
    return "" if version is None else str(version)


def entry_for(action: hist.Action, outcome_from: int | None, to_version: int, facts: Facts,
              gates: list[str], reason: str | None, extra: dict[str, Any] | None = None
              ) -> hist.Entry:
    from mlci.result import now_iso

    extra = dict(extra or {})
    job = identity.job()
    if job is not None:
        extra["job"] = job  # so a re-run of this job knows the move for its own
    return hist.Entry(action=action, from_version=outcome_from, to_version=to_version,
                      time=now_iso(), actor=facts.get("actor"), run_url=facts.get("run_url"),
                      gates=gates, reason=hist.clip_reason(reason), extra=extra)


def mismatch(alias: str, current: int | None, history: hist.History) -> str:
    holds = f"v{current}" if current is not None else "nothing (no such alias)"
    head = history.head
    says = head.describe() if head is not None else "no mlci history at all"
    return (f"{alias} holds {holds}, but its history's last entry is: {says}. It was moved "
            "outside mlci")


def previous_promote(out_dir: str, name: str, alias: str
                     ) -> tuple[dict[str, Any] | None, str | None]:
    """This run's own `promote.json` for the same model and alias, if there is one: what
    a rollback in the same run may undo; else why a file that is there was set aside.

    Only a document written by this very CI run counts (its `run` identity): an old
    out folder on a laptop, or another run's artifact, says nothing about what this
    run did, so the rollback then goes back one step in the alias history."""
    path = Path(out_dir) / "promote.json"
    try:
        doc = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None, None
    if not isinstance(doc, dict) or doc.get("step") != "promote":
        return None, None
    if doc.get("name") != name or doc.get("alias") != alias:
        return None, None
    ours = identity.run()
    if ours is None:
        return None, (f"{path} was set aside: outside CI no promote.json can be told to be "
                      "this run's")
    if doc.get("run") != ours:
        return None, f"{path} was set aside: it was written by another run ({doc.get('run')})"
    return doc, None
