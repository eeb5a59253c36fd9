"""Moving an alias safely on a registry without compare-and-set.

The steps, for promote and rollback alike:

1. queue behind other mlci processes moving the same alias (`AliasLock`);
2. read the alias and its history in one response and let the caller decide
   (no-op, refuse, or move from X to Y) from that fresh state;
3. write the planned history entry into the queue ticket (the intent);
4. set the alias, read it back: another value means a writer outside mlci
   won, reported as a lost race naming what the alias now holds;
5. append the history entry, read back again: if the alias changed in
   between, the entry is withdrawn and the race reported as lost;
6. prune old entries, leave the queue.

A registry failure after step 4 is reconciled: if the history entry landed
after all, the move stands; if the alias moved without its entry, the alias
is put back; if the registry cannot even be read, the ticket with the intent
stays behind, and the next run that queues for the alias (this job's re-run at
once, any other run once the ticket is found dead) completes the move from it.
Nothing is reported as done unless the final read-back shows it done, and a
ticket that could not be removed afterwards is reported (exit 3), not
swallowed."""

from __future__ import annotations

import contextlib
import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Literal

from mlci.errors import ServiceError
from mlci.registry import history as hist
from mlci.registry import lock as lock_module
from mlci.registry.client import ModelState, Registry
from mlci.registry.retry import CLEANUP_POLICY

Status = Literal["moved", "noop", "refused", "lost"]


@dataclass
class Plan:
    """Move the alias from `from_version` to `entry.to_version`, recording `entry`."""

    entry: hist.Entry
    notes: list[str] = field(default_factory=list)
    why: str | None = None  # how the target was chosen, told in the outcome's message

    @property
    def from_version(self) -> int | None:
        return self.entry.from_version

    @property
    def to_version(self) -> int:
        return self.entry.to_version


@dataclass
class Outcome:
    status: Status
    message: str
    from_version: int | None = None
    to_version: int | None = None
    entry: hist.Entry | None = None
    notes: list[str] = field(default_factory=list)
    # The registry failed after the outcome was settled (the queue ticket could not be
    # removed): the step reports it and exits 3, though the outcome stands.
    service_error: str | None = None

    @property
    def changed(self) -> bool:
        return self.status == "moved"


# The decision sees the state read under the lock, its history, and the dead tickets
# the queue reclaimed on the way in (a re-run finds its own earlier attempt there).
Decide = Callable[[ModelState, hist.History, "list[lock_module.Reclaimed]"], "Plan | Outcome"]


def holder_of(state: ModelState | None, alias: str, version: int | None) -> str:
    """Who put `version` on the alias, as far as the registry can tell: the winner to name."""
    if version is None:
        return "nobody (the alias was deleted)"
    if state is not None:
        for ticket in lock_module.read_tickets(state.tags, alias):
            intent = (ticket.intent or {}).get("entry") or {}
            if intent.get("to_version") == version:
                return f"v{version}, being set by {ticket.describe()}"
        history = hist.read(state.tags, alias)
        for entry in reversed(history.entries):
            if entry.to_version == version:
                return f"v{version}, from {entry.describe()}"
    return f"v{version}, set by a writer outside mlci (no history entry or queue ticket names it)"


def move(registry: Registry, name: str, alias: str, owner: Mapping[str, str | None],
         decide: Decide, wait_s: float) -> Outcome:
    """Run the protocol; `decide` sees the state under the lock and plans the move."""
    queue = lock_module.AliasLock(registry, name, alias, owner, wait_s)
    try:
        outcome = _locked(registry, name, alias, queue, decide)
    except _Unreconciled:
        queue.abandon()  # the ticket's intent is what completes the move later
        raise
    except BaseException:
        # Already reported (exit 3 or an internal error); a ticket left behind is
        # reclaimed by the next run, so failing to remove it adds nothing worth saying.
        with contextlib.suppress(ServiceError):
            queue.release(CLEANUP_POLICY)
        raise
    try:
        queue.release(CLEANUP_POLICY)
    except ServiceError as exc:
        outcome.service_error = (
            f"{exc}. {outcome.message}: that stands, but this run's queue ticket is left in "
            f"the registry; the next move of {alias} removes it (at once when it is this "
            "job's re-run)")
    return outcome


def _locked(registry: Registry, name: str, alias: str, queue: lock_module.AliasLock,
            decide: Decide) -> Outcome:
    try:
        queue.acquire()
        state = registry.require_model(name)
        history = hist.read(state.tags, alias)
        decision = decide(state, history, queue.reclaimed)
        if isinstance(decision, Outcome):
            decision.notes = _reclaim_notes(queue) + decision.notes
            return decision
        plan = decision
        plan.entry.seq = history.next_seq()
        entry_key = plan.entry.key(alias)
        queue.record_intent({"entry": json.loads(plan.entry.to_json()), "key": entry_key})
    except lock_module.LockTimeout as exc:
        return Outcome("lost", f"not moved: {exc}; nothing changed. Serialize moves of "
                       f"this alias in CI; a run that died leaves a ticket that is "
                       f"reclaimed after {lock_module.LEASE_S:.0f}s of silence (or run "
                       f"`mlci history --name {name} --alias {alias} --repair`)",
                       notes=_reclaim_notes(queue))
    except ServiceError as exc:
        raise ServiceError(f"{exc}; {alias} and its history were not changed") from exc
    notes = list(plan.notes) + _reclaim_notes(queue)
    try:
        outcome = _write(registry, name, alias, plan, entry_key)
    except ServiceError as exc:
        outcome = _reconcile(registry, name, alias, plan, entry_key, exc)
    outcome.notes = notes + outcome.notes
    return outcome


def _reclaim_notes(queue: lock_module.AliasLock) -> list[str]:
    return [reclaimed.describe() for reclaimed in queue.reclaimed]


def _write(registry: Registry, name: str, alias: str, plan: Plan, entry_key: str) -> Outcome:
    registry.set_alias(name, alias, plan.to_version)
    after = registry.model(name)
    now = after.aliases.get(alias) if after is not None else None
    if now != plan.to_version:
        return Outcome("lost", f"lost a race: set {alias} to v{plan.to_version}, but it now "
                       f"holds {holder_of(after, alias, now)}; no history entry written",
                       plan.from_version, plan.to_version)
    registry.set_model_tag(name, entry_key, plan.entry.to_json())
    final = registry.model(name)
    now = final.aliases.get(alias) if final is not None else None
    if now != plan.to_version:
        registry.delete_model_tag(name, entry_key)
        return Outcome("lost", f"lost a race: {alias} held v{plan.to_version} briefly, then "
                       f"{holder_of(final, alias, now)}; this run's history entry was withdrawn",
                       plan.from_version, plan.to_version)
    notes: list[str] = []
    if final is not None:
        current = hist.read(final.tags, alias)
        for key in hist.keys_to_prune(current):
            try:
                registry.delete_model_tag(name, key, CLEANUP_POLICY)
            except ServiceError:
                notes.append(f"could not prune old history entry {key}; the next move will")
                break
    start = f"v{plan.from_version}" if plan.from_version is not None else "(none)"
    why = f" ({plan.why})" if plan.why else ""
    return Outcome("moved", f"{alias}: {start} → v{plan.to_version}{why}", plan.from_version,
                   plan.to_version, entry=plan.entry, notes=notes)


class _Unreconciled(ServiceError):
    """The registry could not be read after a failed move: the ticket must stay."""


def _reconcile(registry: Registry, name: str, alias: str, plan: Plan, entry_key: str,
               error: ServiceError) -> Outcome:
    """After a registry failure mid-move: finish, undo, or leave the intent for repair.

    Returns an outcome only if the registry shows the move complete; raises
    ServiceError when it was undone, `_Unreconciled` when nobody can tell."""
    repair = f"mlci history --name {name} --alias {alias} --repair"
    try:
        state = registry.model(name, CLEANUP_POLICY)
        now = state.aliases.get(alias) if state is not None else None
        has_entry = state is not None and entry_key in state.tags
        if now == plan.to_version and has_entry:
            return Outcome("moved", f"{alias}: moved to v{plan.to_version} (the registry "
                           f"answered late: {error})", plan.from_version, plan.to_version,
                           entry=plan.entry)
        if has_entry:
            registry.delete_model_tag(name, entry_key, CLEANUP_POLICY)
        if now == plan.to_version:
            if plan.from_version is None:
                registry.delete_alias(name, alias, CLEANUP_POLICY)
            else:
                registry.set_alias(name, alias, plan.from_version, CLEANUP_POLICY)
            undone = (f"; {alias} was put back to v{plan.from_version}"
                      if plan.from_version is not None else f"; {alias} was removed again")
        else:
            undone = ""
    except ServiceError:
        raise _Unreconciled(
            f"{error}. {alias} may now hold v{plan.to_version} without its history entry; "
            f"the planned entry is kept in this run's queue ticket, and the next promote "
            f"or rollback of {alias} completes it (at once when it is this job's re-run; "
            f"`{repair}` does it by hand)") from error
    raise ServiceError(f"{error}{undone}; nothing changed") from error
