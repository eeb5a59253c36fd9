"""The function behind `mlci rollback`: move an alias back, safely and only once.

The kill-switch step runs under `if: failure()`, which also fires when the
promote step itself failed or lost a race; a rollback must then undo nothing
that this run did not do. So, when the out folder holds `promote.json` for
the same alias written by this same CI run, rollback undoes exactly that move
(and does nothing if it moved nothing, or refuses if someone promoted since).
Without one (a laptop, a manual kill switch, an old out folder from another
run), the alias goes back one step in its history: a stack where rollbacks
pop, so a second rollback for the same failure is a no-op and a rollback for
a later failure goes one further back, never forward; the result says which
move it undid. `--to-version N` names the target explicitly; it must have
held the alias and still exist."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from mlci.ci.base import Facts
from mlci.errors import InputError
from mlci.promote import protocol, shared
from mlci.registry import history as hist
from mlci.registry import lock
from mlci.registry.client import ModelState, Registry
from mlci.result import Check, Result


@dataclass(frozen=True)
class Rollback:
    """A rollback as asked, every value already checked (name, alias, reason)."""

    name: str
    alias: str
    reason: str
    out: Path  # where this run's promote.json would be
    to_version: int | None = None
    wait: float = 0.0


def check_reason(reason: str | None) -> str:
    """The reason, as the history records it; a rollback nobody explains is refused."""
    clipped = hist.clip_reason(reason)
    if clipped is None:
        raise InputError("--reason: missing; say why, e.g. --reason \"deploy failed in run "
                         "1234\" (it is recorded in the alias history)")
    return clipped


def rollback(registry: Registry, ask: Rollback, facts: Facts) -> Result:
    name, alias = ask.name, ask.alias
    state = registry.require_model(name)
    history = hist.read(state.tags, alias)
    if ask.to_version is not None:
        _check_target(registry, name, alias, ask.to_version, history)
    job, set_aside = shared.previous_promote(ask.out, name, alias)
    outcome = protocol.move(registry, name, alias, shared.owner(facts),
                            _decide(registry, ask, facts, job), ask.wait)
    if set_aside is not None and job is None and ask.to_version is None:
        outcome.message += f"; {set_aside}"
    return _result(registry, ask, outcome)


def _result(registry: Registry, ask: Rollback, outcome: protocol.Outcome) -> Result:
    alias = ask.alias
    checks: list[Check] = shared.outcome_checks("rollback", outcome)
    summary = {"moved": f"rolled {alias} back to v{outcome.to_version}",
               "noop": f"nothing to roll back for {alias}",
               "refused": f"not rolled back: {alias}",
               "lost": f"not rolled back: lost a race for {alias}"}[outcome.status]
    if outcome.status == "refused":
        summary = f"not rolled back: {outcome.message}"
    current = outcome.to_version if outcome.changed else outcome.from_version
    subject = {"model": f"models:/{ask.name}/{current}"} if current is not None else {}
    extra: dict[str, Any] = {"registry": registry.display, "name": ask.name, "alias": alias,
                             "version": current, "previous_version": outcome.from_version,
                             "changed": outcome.changed, "outcome": outcome.status,
                             "reason": ask.reason}
    if outcome.service_error:
        extra["service_error"] = outcome.service_error
    return Result(step="rollback", checks=checks, summary=summary, subject=subject, extra=extra,
                  outputs={"version": shared.version_text(current),
                           "previous-version": shared.version_text(outcome.from_version)})


def _check_target(registry: Registry, name: str, alias: str, version: int,
                  history: hist.History) -> None:
    """An explicit target is user input: a wrong one is exit 2, before anything is queued."""
    held = sorted(history.held(), reverse=True)
    listing = ", ".join(f"v{v}" for v in held) or "none recorded"
    if registry.version(name, version) is None:
        raise InputError(f"--to-version {version}: {name} has no version {version} (deleted, "
                         f"or never registered); versions that held {alias}: {listing}")
    if version not in held:
        raise InputError(f"--to-version {version}: v{version} never held {alias} in its "
                         f"history; versions that did: {listing}")


def _decide(registry: Registry, ask: Rollback, facts: Facts, job: dict[str, Any] | None
            ) -> protocol.Decide:
    name, alias, reason = ask.name, ask.alias, ask.reason

    def decide(state: ModelState, history: hist.History,
               reclaimed: list[lock.Reclaimed]) -> protocol.Plan | protocol.Outcome:
        current = state.aliases.get(alias)
        head = history.head
        if current is not None:
            finished = shared.own_move(reclaimed, history, alias, "rollback", current)
            if finished is not None and finished.entry is not None \
                    and finished.entry.reason == reason:
                return finished
        if (head is not None and head.action == "rollback" and head.reason == reason
                and head.run_url == facts.get("run_url") and current == head.to_version):
            return protocol.Outcome("noop", f"{alias} was already rolled back to "
                                    f"v{current} for this reason ({head.describe()})",
                                    current, current)
        found = _target(alias, current, history, ask.to_version, job)
        if isinstance(found, protocol.Outcome):
            return found
        target, why = found
        if current == target:
            return protocol.Outcome("noop", f"{alias} already holds v{target}; nothing to do",
                                    current, target)
        if registry.version(name, target) is None:
            return protocol.Outcome(
                "refused", f"the version to go back to, v{target}, was deleted; pass "
                "--to-version N with a version that still exists", current, target)
        entry = shared.entry_for("rollback", current, target, facts, [], reason)
        return protocol.Plan(entry, why=why)

    return decide


def _target(alias: str, current: int | None, history: hist.History, to_version: int | None,
            job: dict[str, Any] | None) -> tuple[int, str | None] | protocol.Outcome:
    """The version to go back to, and how it was chosen (for the message)."""
    if to_version is not None:
        return to_version, f"--to-version {to_version}"
    if job is not None:
        found = _undo_this_job(alias, current, history, job)
        if isinstance(found, protocol.Outcome):
            return found
        return found, f"undoes this run's promotion of v{current}"
    if not history.consistent_with(current):
        return protocol.Outcome(
            "refused", f"{shared.mismatch(alias, current, history)}; the previous "
            "version is ambiguous: pass --to-version N", current, None)
    stack = history.stack()
    if len(stack) < 2:
        return protocol.Outcome(
            "refused", f"{alias} has no earlier version in its history to go back "
            f"to (held: {', '.join(f'v{v}' for v in stack) or 'nothing'})", current, None)
    undone = next((e for e in reversed(history.entries) if e.to_version == stack[-1]), None)
    what = f": undoes {undone.describe()}" if undone is not None else ""
    return stack[-2], f"one step back in {alias}'s history{what}"


def _undo_this_job(alias: str, current: int | None, history: hist.History,
                   job: dict[str, Any]) -> int | protocol.Outcome:
    """Undo exactly this job's promotion, if it made one and it still stands."""
    moved_to, moved_from = job.get("version"), job.get("previous_version")
    if not job.get("changed"):
        said = job.get("summary") or "see promote.json"
        return protocol.Outcome(
            "noop", f"this job's promote did not move {alias} ({said}), so there is nothing "
            "of this run to undo; to roll back anyway pass --to-version N", current, current)
    if current != moved_to:
        head = history.head
        if current == moved_from and head is not None and head.action == "rollback":
            return protocol.Outcome("noop", f"this job's promotion of v{moved_to} was already "
                                    f"rolled back ({head.describe()})", current, current)
        now = f"v{current}" if current is not None else "nothing"
        return protocol.Outcome(
            "refused", f"this job promoted v{moved_to}, but {alias} now holds {now}: someone "
            "moved it since, and their move is not this run's to undo; pass --to-version N "
            "to choose", current, None)
    if not isinstance(moved_from, int):
        return protocol.Outcome(
            "refused", f"this job's promote created {alias} (it held nothing before), so there "
            "is no earlier version to go back to; pass --to-version N", current, None)
    return moved_from
