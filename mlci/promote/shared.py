"""What promote, rollback and history share: who is acting, how a history entry is
made, and how an outcome of the protocol becomes checks in a result document."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from mlci.ci.base import Facts
from mlci.errors import InputError
from mlci.jsonfile import read_json
from mlci.promote import identity
from mlci.promote.protocol import Outcome
from mlci.registry import history as hist
from mlci.registry import lock
from mlci.result import Check, Status, now_iso


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


def previous_promote(out_dir: Path, name: str, alias: str
                     ) -> tuple[dict[str, Any] | None, str | None]:
    """This run's own `promote.json` for the same model and alias, if there is one: what
    a rollback in the same run may undo; else why a file that is there was set aside.

    Only a document written by this very CI run counts (its `run` identity): an old
    out folder on a laptop, or another run's artifact, says nothing about what this
    run did, so the rollback then goes back one step in the alias history."""
    path = out_dir / "promote.json"
    try:
        doc = read_json(path, "the promote.json of this run")
    except InputError:  # none, or unreadable: nothing this run can be shown to have done
        return None, None
    if doc.get("step") != "promote":
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
