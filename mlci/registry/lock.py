"""Mutual exclusion between mlci processes moving one alias, built from registry tags alone.

MLflow offers no compare-and-set and no lock, but its tags are atomic
registers, and Lamport's bakery algorithm needs nothing more: each process
writes a ticket tag (`mlci.lock.<alias>.<id>`), takes a number one above
every number it sees, and waits until no ticket is still choosing a number
and no ticket holds a smaller (number, id). Processes that start while
others queue always draw larger numbers, so they queue behind, in order.

What this does not cover, and why the protocol still checks its work:
writers that are not mlci (the MLflow UI, a script) ignore tickets; a ticket
left by a killed process blocks the alias until `mlci history --repair`
removes it or it is `STALE_AFTER_S` old; a process paused for longer than
that may find its lock taken over. The promotion protocol therefore reads
the alias back after every write and reports a lost race instead of success.

The ticket doubles as the intent record: before moving the alias the holder
writes the planned history entry into its ticket, so a registry that dies
between the alias write and the history append leaves enough behind for
`mlci history --repair` to finish the entry with its real actor and gates."""

from __future__ import annotations

import json
import os
import random
import secrets
import socket
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from mlci.registry import retry
from mlci.registry.client import Registry

LOCK_PREFIX = "mlci.lock."
STALE_AFTER_S = 900.0  # no promotion holds the lock for 15 minutes; a crashed one does
# A ticket still choosing its number is seconds from either queueing behind us or not:
# even `--wait 0` gives it this long, or two newcomers would both give up on each other.
CHOOSING_GRACE_S = 3.0
MAX_POLL_S = 2.0


def prefix(alias: str) -> str:
    return f"{LOCK_PREFIX}{alias}."


@dataclass(frozen=True)
class Ticket:
    key: str
    id: str
    choosing: bool
    number: int
    created: float
    actor: str | None
    run_url: str | None
    host: str | None
    pid: int | None
    intent: dict[str, Any] | None

    def describe(self) -> str:
        who = self.actor or "someone"
        where = f" ({self.run_url})" if self.run_url else (
            f" (pid {self.pid} on {self.host})" if self.host else "")
        when = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(self.created))
        return f"{who}{where}, waiting since {when}"

    def age(self, now: float) -> float:
        return now - self.created


def read_tickets(tags: Mapping[str, str], alias: str) -> list[Ticket]:
    start = prefix(alias)
    found: list[Ticket] = []
    for key, value in tags.items():
        if not key.startswith(start):
            continue
        try:
            doc = json.loads(value)
            found.append(Ticket(
                key=key, id=key[len(start):], choosing=bool(doc.get("choosing")),
                number=int(doc.get("number") or 0), created=float(doc.get("created") or 0),
                actor=doc.get("actor"), run_url=doc.get("run_url"), host=doc.get("host"),
                pid=doc.get("pid"), intent=doc.get("intent")))
        except (ValueError, TypeError, AttributeError):
            # A damaged ticket must still block: treat it as choosing, so only
            # `mlci history --repair` (or its age) clears it.
            found.append(Ticket(key=key, id=key[len(start):], choosing=True, number=0,
                                created=0.0, actor=None, run_url=None, host=None, pid=None,
                                intent=None))
    return found


class LockTimeout(Exception):
    def __init__(self, waited: float, blockers: list[Ticket]) -> None:
        if blockers:
            names = "; ".join(t.describe() for t in blockers[:3])
            message = (f"waited {waited:.0f}s for {len(blockers)} other promotion(s) of this "
                       f"alias to finish: {names}")
        else:
            message = ("this process's queue ticket was removed while it waited (by "
                       "`mlci history --repair`?)")
        super().__init__(message)
        self.waited = waited
        self.blockers = blockers


class AliasLock:
    """Acquire, optionally record an intent, release. Not reentrant; one use."""

    def __init__(self, registry: Registry, name: str, alias: str,
                 owner: Mapping[str, str | None], wait_s: float, poll_s: float = 0.2,
                 clock: Callable[[], float] = time.time,
                 sleep: Callable[[float], None] = time.sleep) -> None:
        self.registry = registry
        self.name = name
        self.alias = alias
        self.owner = dict(owner)
        self.wait_s = max(0.0, wait_s)
        self.poll_s = poll_s
        self.clock = clock
        self.sleep = sleep
        self.id = f"{int(clock() * 1000):013x}{secrets.token_hex(3)}"
        self.key = prefix(alias) + self.id
        self.number = 0
        self.created = clock()
        self.held = False
        self.written = False
        self.ignored: list[Ticket] = []  # stale tickets passed over, for the report

    def _doc(self, choosing: bool, intent: Mapping[str, Any] | None = None) -> str:
        doc: dict[str, Any] = {"choosing": choosing, "number": self.number,
                               "created": round(self.created, 3),
                               "actor": self.owner.get("actor"),
                               "run_url": self.owner.get("run_url"),
                               "host": socket.gethostname(), "pid": os.getpid()}
        if intent is not None:
            doc["intent"] = dict(intent)
        return json.dumps(doc, separators=(",", ":"), sort_keys=True)

    def _others(self) -> list[Ticket]:
        state = self.registry.model(self.name)
        tags = state.tags if state is not None else {}
        if self.key not in tags:
            raise LockTimeout(self.clock() - self.created, [])
        now = self.clock()
        live: list[Ticket] = []
        for ticket in read_tickets(tags, self.alias):
            if ticket.key == self.key:
                continue
            if ticket.created and ticket.age(now) > STALE_AFTER_S:
                if ticket not in self.ignored:
                    self.ignored.append(ticket)
                continue
            live.append(ticket)
        return live

    def acquire(self) -> None:
        # The doorway: announce "choosing", draw a number above all others, publish it.
        self.registry.set_model_tag(self.name, self.key, self._doc(choosing=True))
        self.written = True
        others = self._others()
        self.number = 1 + max((t.number for t in others), default=0)
        self.registry.set_model_tag(self.name, self.key, self._doc(choosing=False))
        deadline = self.created + self.wait_s
        while True:
            blockers = [t for t in self._others()
                        if t.choosing or (t.number > 0 and (t.number, t.id) < (self.number,
                                                                               self.id))]
            if not blockers:
                self.held = True
                return
            now = self.clock()
            only_choosing = all(t.choosing for t in blockers)
            if now >= deadline and (not only_choosing
                                    or now >= self.created + CHOOSING_GRACE_S):
                self.release()
                blockers.sort(key=lambda t: (t.choosing, t.number, t.id))
                raise LockTimeout(self.clock() - self.created, blockers)
            # The next in line polls often, the tenth rarely: pollers must not starve the
            # registry that the holder is waiting on.
            ahead = sum(1 for t in blockers if not t.choosing)
            pause = min(MAX_POLL_S, self.poll_s * (1 + ahead))
            self.sleep(pause * random.uniform(0.7, 1.3))

    def record_intent(self, intent: Mapping[str, Any]) -> None:
        self.registry.set_model_tag(self.name, self.key, self._doc(choosing=False,
                                                                   intent=intent))

    def release(self, policy: retry.RetryPolicy | None = None) -> None:
        if self.written:
            self.registry.delete_model_tag(self.name, self.key, policy)
        self.written = False
        self.held = False
