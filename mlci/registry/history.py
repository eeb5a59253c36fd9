"""Alias history kept in the registry itself: one registered-model tag per entry.

Why one tag per entry, not one tag holding a JSON list: MLflow has no
compare-and-set, so a list in one tag is a read-modify-write that loses
entries when two writers overlap (both read N entries, both write N+1, one
entry is gone, and neither can tell). A tag per entry has a key of its own
(`mlci.history.<alias>.<seq>.<id>`), so writers never overwrite each other's
entries; the sequence number orders them and the random id keeps keys unique
even if two writers ever chose the same number. Why registered-model tags,
not version tags: the history of an alias is about the alias, and one
`get_registered_model` call returns the alias and all its entries from the
same read, which is what lets the protocol compare them.

The history is bounded (`HISTORY_LIMIT` entries per alias; older ones are
deleted after each append) so a long-lived model does not carry thousands of
tags. The JSON form printed by `mlci history --format json` is fixed in
docs/promotion.md: exactly the eight public fields, oldest first."""

from __future__ import annotations

import json
import secrets
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

HISTORY_PREFIX = "mlci.history."
HISTORY_LIMIT = 100
REASON_MAX = 2000  # keeps an entry far below MLflow's 100,000-character tag value limit
PUBLIC_FIELDS = ("action", "from_version", "to_version", "time", "actor", "run_url", "gates",
                 "reason")

Action = Literal["promote", "rollback"]


def new_id() -> str:
    return secrets.token_hex(4)


def prefix(alias: str) -> str:
    return f"{HISTORY_PREFIX}{alias}."


@dataclass
class Entry:
    action: Action
    from_version: int | None
    to_version: int
    time: str
    actor: str | None
    run_url: str | None
    gates: list[str]
    reason: str | None
    seq: int = 0
    id: str = field(default_factory=new_id)
    # Not part of the printed JSON: who/what else, for repair and for people reading tags.
    extra: dict[str, Any] = field(default_factory=dict)
    tag: str | None = None  # the tag key it was read from

    def key(self, alias: str) -> str:
        return self.tag or f"{prefix(alias)}{self.seq:08d}.{self.id}"

    def public(self) -> dict[str, Any]:
        return {"action": self.action, "from_version": self.from_version,
                "to_version": self.to_version, "time": self.time, "actor": self.actor,
                "run_url": self.run_url, "gates": list(self.gates), "reason": self.reason}

    def to_json(self) -> str:
        doc = {**self.public(), "seq": self.seq, "id": self.id}
        if self.extra:
            doc["extra"] = self.extra
        return json.dumps(doc, separators=(",", ":"), sort_keys=True)

    @classmethod
    def from_json(cls, text: str) -> Entry:
        doc = json.loads(text)
        if not isinstance(doc, dict):
            raise ValueError("not a JSON object")
        action = doc.get("action")
        if action not in ("promote", "rollback"):
            raise ValueError(f"action {action!r} is not promote or rollback")
        gates = doc.get("gates") or []
        if not isinstance(gates, list):
            raise ValueError("gates is not a list")
        return cls(action=action, from_version=_version_or_none(doc.get("from_version")),
                   to_version=_version(doc.get("to_version")), time=str(doc.get("time") or ""),
                   actor=_str_or_none(doc.get("actor")), run_url=_str_or_none(doc.get("run_url")),
                   gates=[str(g) for g in gates], reason=_str_or_none(doc.get("reason")),
                   seq=int(doc.get("seq") or 0), id=str(doc.get("id") or new_id()),
                   extra=dict(doc.get("extra") or {}))

    def describe(self) -> str:
        by = f" by {self.actor}" if self.actor else ""
        where = f" ({self.run_url})" if self.run_url else ""
        start = f"v{self.from_version}" if self.from_version is not None else "(none)"
        return f"{self.action} {start} → v{self.to_version}{by} at {self.time}{where}"


def _version(value: Any) -> int:
    if isinstance(value, bool) or value is None:
        raise ValueError(f"version {value!r} is not a number")
    return int(value)


def _version_or_none(value: Any) -> int | None:
    return None if value is None else _version(value)


def _str_or_none(value: Any) -> str | None:
    return None if value is None else str(value)


@dataclass(frozen=True)
class History:
    """The entries of one alias, oldest first, and the tags that could not be read."""

    alias: str
    entries: list[Entry]
    damaged: list[str]  # tag keys holding something that is not an entry

    @property
    def head(self) -> Entry | None:
        return self.entries[-1] if self.entries else None

    def next_seq(self) -> int:
        return (max(e.seq for e in self.entries) + 1) if self.entries else 1

    def held(self) -> set[int]:
        """Every version that held the alias while mlci watched."""
        versions: set[int] = set()
        for entry in self.entries:
            versions.add(entry.to_version)
            if entry.from_version is not None:
                versions.add(entry.from_version)
        return versions

    def stack(self) -> list[int]:
        """Versions in the order they took over, with rolled-back ones removed: the
        top is the current holder, the one below it is what a rollback restores.

        A rollback pops back to its target, so a second rollback for another
        failure goes one further back, never forward again."""
        stack: list[int] = []
        for entry in self.entries:
            if entry.from_version is not None and (not stack or stack[-1] != entry.from_version):
                stack.append(entry.from_version)
            if entry.action == "rollback" and entry.to_version in stack:
                last = len(stack) - 1 - stack[::-1].index(entry.to_version)
                del stack[last + 1:]
            elif not stack or stack[-1] != entry.to_version:
                stack.append(entry.to_version)
        return stack

    def consistent_with(self, alias_version: int | None) -> bool:
        """Does the alias hold what the history says it holds (both empty counts)?"""
        head = self.head
        if head is None:
            return alias_version is None
        return head.to_version == alias_version


def read(tags: Mapping[str, str], alias: str) -> History:
    start = prefix(alias)
    entries: list[Entry] = []
    damaged: list[str] = []
    for key, value in tags.items():
        if not key.startswith(start):
            continue
        try:
            entry = Entry.from_json(value)
        except (ValueError, TypeError) as exc:
            damaged.append(f"{key} ({exc})")
            continue
        entry.tag = key
        entries.append(entry)
    entries.sort(key=lambda e: (e.seq, e.id))
    return History(alias=alias, entries=entries, damaged=sorted(damaged))


def keys_to_prune(history: History, limit: int = HISTORY_LIMIT) -> list[str]:
    excess = len(history.entries) - limit
    return [e.key(history.alias) for e in history.entries[:excess]] if excess > 0 else []


def clip_reason(reason: str | None) -> str | None:
    if reason is None:
        return None
    reason = reason.strip()
    if not reason:
        return None
    return reason if len(reason) <= REASON_MAX else reason[:REASON_MAX - 1] + "…"


def public_list(entries: Iterable[Entry]) -> list[dict[str, Any]]:
    return [entry.public() for entry in entries]
