"""`mlci history`: print an alias's history, or repair it after an interruption.

Printing is read-only and writes no result document (its JSON goes to
stdout, for scripts). `--repair` is for after a registry or runner died in
the middle of a move: it records an interrupted move from the intent its
queue ticket kept, records an alias found moved outside mlci as such, and
removes queue tickets left by processes that are gone. Run it when no
promote or rollback of that alias is running: it removes every ticket."""

from __future__ import annotations

import json
from dataclasses import dataclass

from mlci.ci.base import Facts
from mlci.promote import shared
from mlci.registry import history as hist
from mlci.registry import lock
from mlci.registry.client import Registry
from mlci.result import now_iso


@dataclass(frozen=True)
class Shown:
    """What `history` prints: `text` on stdout, each warning on stderr."""

    text: str
    warnings: list[str]


def show(registry: Registry, name: str, alias: str, fmt: str) -> Shown:
    state = registry.require_model(name)
    history = hist.read(state.tags, alias)
    current = state.aliases.get(alias)
    tickets = lock.read_tickets(state.tags, alias)
    warnings = _warnings(name, alias, current, history, tickets)
    if fmt == "json":
        return Shown(json.dumps(hist.public_list(history.entries), indent=2), warnings)
    return Shown(render_text(name, alias, current, history), warnings)


def _warnings(name: str, alias: str, current: int | None, history: hist.History,
              tickets: list[lock.Ticket]) -> list[str]:
    warnings: list[str] = []
    repair = f"mlci history --name {name} --alias {alias} --repair"
    if not history.consistent_with(current):
        warnings.append(f"{shared.mismatch(alias, current, history)}, or a move was "
                        f"interrupted; if nothing is running, `{repair}` records it")
    for ticket in tickets:
        warnings.append(f"a move of {alias} is queued or was interrupted: {ticket.describe()}")
    for damaged in history.damaged:
        warnings.append(f"unreadable history tag {damaged}; `{repair}` removes it")
    return warnings


def render_text(name: str, alias: str, current: int | None, history: hist.History) -> str:
    holds = f"v{current}" if current is not None else "nothing"
    lines = [f"{name}@{alias} holds {holds}; {len(history.entries)} history entr"
             f"{'y' if len(history.entries) == 1 else 'ies'} (oldest first)"]
    for entry in history.entries:
        start = f"v{entry.from_version}" if entry.from_version is not None else "-"
        lines.append(f"  {entry.time}  {entry.action:<8}  {start:>5} → v{entry.to_version:<5}"
                     f"  {entry.actor or '-'}")
        if entry.gates:
            lines.append(f"      gates: {', '.join(entry.gates)}")
        if entry.reason:
            lines.append(f"      reason: {entry.reason}")
        if entry.run_url:
            lines.append(f"      run: {entry.run_url}")
    return "\n".join(lines)


def repair(registry: Registry, name: str, alias: str, facts: Facts) -> list[str]:
    """Make the history describe the alias again; return what was done, one line each."""
    done: list[str] = []
    state = registry.require_model(name)
    history = hist.read(state.tags, alias)
    current = state.aliases.get(alias)
    tickets = sorted(lock.read_tickets(state.tags, alias), key=lambda t: (t.number, t.id))
    for ticket in tickets:
        intent = ticket.intent or {}
        raw, key = intent.get("entry"), intent.get("key")
        if not isinstance(raw, dict) or not isinstance(key, str) or key in state.tags:
            continue
        try:
            entry = hist.Entry.from_json(json.dumps(raw))
        except (ValueError, TypeError):
            continue
        if entry.to_version == current and not history.consistent_with(current):
            entry.seq = history.next_seq()
            entry.extra["repaired"] = f"recorded by `mlci history --repair` at {now_iso()}"
            registry.set_model_tag(name, entry.key(alias), entry.to_json())
            history = hist.History(alias, [*history.entries, entry], history.damaged)
            done.append(f"recorded the interrupted move: {entry.describe()}")
    if current is not None and not history.consistent_with(current):
        head = history.head
        entry = shared.entry_for(
            "promote", head.to_version if head is not None else None, current, facts, [],
            "recorded by `mlci history --repair`: the alias was moved outside mlci",
            {"repaired": True})
        entry.seq = history.next_seq()
        registry.set_model_tag(name, entry.key(alias), entry.to_json())
        done.append(f"recorded a move made outside mlci: {entry.describe()}")
    elif current is None and history.head is not None:
        done.append(f"{alias} does not exist, but its history says v{history.head.to_version}: "
                    "left as is; `mlci promote --force` sets it again and records that")
    for ticket in tickets:
        registry.delete_model_tag(name, ticket.key)
        done.append(f"removed queue ticket of {ticket.describe()}")
    for damaged in history.damaged:
        key = damaged.split(" ", 1)[0]
        registry.delete_model_tag(name, key)
        done.append(f"removed unreadable history tag {damaged}")
    if not done:
        done.append(f"{name}@{alias}: history and alias agree (v{current}); nothing to repair"
                    if current is not None else f"{name}@{alias}: nothing to repair")
    return done
