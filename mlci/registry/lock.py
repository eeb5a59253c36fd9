"""Mutual exclusion between mlci processes moving one alias, built from registry tags alone.

MLflow offers no compare-and-set and no lock, but its tags are atomic
registers, and Lamport's bakery algorithm needs nothing more: each process
writes a ticket tag (`mlci.lock.<alias>.<id>`), takes a number one above
every number it sees, and waits until no ticket is still choosing a number
and no ticket holds a smaller (number, id). Processes that start while
others queue always draw larger numbers, so they queue behind, in order.

A ticket whose process is gone must not block the alias, or one killed
runner stops every later promotion. A ticket is taken to be dead, and is
reclaimed by whoever sees it, when it was left by an earlier attempt of the
same CI job (same run identity: a re-run never waits on itself), by a process
of this machine that no longer exists, or when it showed no sign of life for
`LEASE_S` (waiters refresh their ticket every `LEASE_S / 3`; a holder writes
its intent right before it moves the alias). `LEASE_S` is below the default
`--wait`, so a dead holder is reclaimed before a waiter gives up.

The ticket doubles as the intent record: before moving the alias the holder
writes the planned history entry (and its tag key) into its ticket. Reclaiming
a dead ticket whose alias holds the planned version without the entry writes
that entry (same key, so two reclaimers write one entry): a registry or runner
that died between the alias write and the history append is completed by the
next run, with the original actor, gates and reason.

What this does not cover, and why the protocol still checks its work:
writers that are not mlci (the MLflow UI, a script) ignore tickets, and a
holder stalled for longer than `LEASE_S` may be taken for dead. The promotion
protocol therefore reads the alias back after every write and reports a lost
race instead of success."""

from __future__ import annotations

import json
import os
import random
import secrets
import socket
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from mlci.registry import history as hist
from mlci.registry import retry
from mlci.registry.client import Registry

LOCK_PREFIX = "mlci.lock."
# A ticket silent for this long is dead. Below the default --wait (60 s), so a waiter
# reclaims a dead holder in time; above the slowest critical section (six registry
# calls of at most ~4 s each with the default retries).
LEASE_S = 30.0
# Tickets of mlci versions before the lease have no heartbeat: the old rule for them.
LEGACY_STALE_S = 900.0
# A ticket still choosing its number is seconds from either queueing behind us or not:
# even `--wait 0` gives it this long, or two newcomers would both give up on each other.
CHOOSING_GRACE_S = 3.0
MAX_POLL_S = 2.0
# Keys of the tickets this process is queueing or holding with right now: a ticket of
# this process that is not among them was left by a call that has ended.
_LIVE_KEYS: set[str] = set()


def prefix(alias: str) -> str:
    return f"{LOCK_PREFIX}{alias}."


def machine_id() -> str:
    """This machine, as far as a pid means anything: the host name and, on Linux, the
    boot ID (two containers on one host have distinct host names, a rebooted host a
    new boot ID)."""
    try:
        boot = Path("/proc/sys/kernel/random/boot_id").read_text(encoding="ascii").strip()
    except OSError:
        boot = ""
    return f"{socket.gethostname()}/{boot}" if boot else socket.gethostname()


def process_exists(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except (PermissionError, OverflowError, ValueError):
        return True  # exists but is someone else's (or cannot be asked): alive
    return True


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
    beat: float = 0.0  # last sign of life (0: only `created`)
    machine: str | None = None
    job: str | None = None  # the CI job's identity, the same in every attempt of it

    def describe(self) -> str:
        who = self.actor or "someone"
        where = f" ({self.run_url})" if self.run_url else (
            f" (pid {self.pid} on {self.host})" if self.host else "")
        when = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(self.created))
        return f"{who}{where}, waiting since {when}"

    def age(self, now: float) -> float:
        return now - self.created

    def silent_for(self, now: float) -> float:
        return now - max(self.created, self.beat)


def read_tickets(tags: Mapping[str, str], alias: str) -> list[Ticket]:
    start = prefix(alias)
    found: list[Ticket] = []
    for key, value in tags.items():
        if not key.startswith(start):
            continue
        try:
            doc = json.loads(value)
            pid = doc.get("pid")
            found.append(Ticket(
                key=key, id=key[len(start):], choosing=bool(doc.get("choosing")),
                number=int(doc.get("number") or 0), created=float(doc.get("created") or 0),
                actor=_text(doc.get("actor")), run_url=_text(doc.get("run_url")),
                host=_text(doc.get("host")),
                pid=pid if isinstance(pid, int) and not isinstance(pid, bool) else None,
                intent=doc.get("intent") if isinstance(doc.get("intent"), dict) else None,
                beat=float(doc.get("beat") or 0), machine=_text(doc.get("machine")),
                job=_text(doc.get("job"))))
        except (ValueError, TypeError, AttributeError):
            # A damaged ticket must still block: treat it as choosing, so only
            # `mlci history --repair` clears it.
            found.append(Ticket(key=key, id=key[len(start):], choosing=True, number=0,
                                created=0.0, actor=None, run_url=None, host=None, pid=None,
                                intent=None))
    return found


def _text(value: Any) -> str | None:
    return value if isinstance(value, str) and value else None


class LockTimeout(Exception):
    def __init__(self, waited: float, blockers: list[Ticket]) -> None:
        if blockers:
            names = "; ".join(t.describe() for t in blockers[:3])
            message = (f"waited {waited:.0f}s for {len(blockers)} other promotion(s) of this "
                       f"alias to finish: {names}")
        else:
            message = ("this process's queue ticket was removed while it waited (by "
                       "`mlci history --repair`, or by a run that took it for dead)")
        super().__init__(message)
        self.waited = waited
        self.blockers = blockers


@dataclass
class Reclaimed:
    """A dead ticket this run removed, and what it did about the move it was making."""

    ticket: Ticket
    why: str
    entry: hist.Entry | None = None  # the dead run's move, when the alias holds it now
    recorded: bool = False  # this run wrote that move's history entry
    own: bool = False  # left by an earlier attempt of this same CI job

    def describe(self) -> str:
        text = f"removed the queue ticket of {self.ticket.describe()} ({self.why})"
        if self.entry is not None and self.recorded:
            text += f"; recorded its interrupted move: {self.entry.describe()}"
        return text


class AliasLock:
    """Acquire, optionally record an intent, release. Not reentrant; one use.

    `owner` holds `actor` and `run_url` (shown to others) and `job`, the CI job's
    identity (None outside CI): a ticket with the same `job` was left by an earlier
    attempt of this job, which is over, so it is reclaimed rather than waited on."""

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
        self.beat = self.created
        self.machine = machine_id()
        self.held = False
        self.written = False
        self.reclaimed: list[Reclaimed] = []  # dead tickets removed, for the report

    def _doc(self, choosing: bool, intent: Mapping[str, Any] | None = None) -> str:
        doc: dict[str, Any] = {"choosing": choosing, "number": self.number,
                               "created": round(self.created, 3), "beat": round(self.beat, 3),
                               "actor": self.owner.get("actor"),
                               "run_url": self.owner.get("run_url"),
                               "job": self.owner.get("job"), "machine": self.machine,
                               "host": socket.gethostname(), "pid": os.getpid()}
        if intent is not None:
            doc["intent"] = dict(intent)
        return json.dumps(doc, separators=(",", ":"), sort_keys=True)

    def _write(self, choosing: bool, intent: Mapping[str, Any] | None = None) -> None:
        self.beat = self.clock()
        self.registry.set_model_tag(self.name, self.key, self._doc(choosing, intent))

    def why_dead(self, ticket: Ticket, now: float) -> str | None:
        """Why `ticket` cannot belong to a process still moving this alias, or None."""
        here = bool(ticket.machine) and ticket.machine == self.machine and ticket.pid is not None
        if here and ticket.pid == os.getpid():
            if ticket.key not in _LIVE_KEYS:
                return "left by an earlier call in this process"
        elif here and ticket.pid is not None and not process_exists(ticket.pid):
            return f"its process {ticket.pid} on this machine is gone"
        elif not here and ticket.job and ticket.job == self.owner.get("job"):
            # A CI job is re-run only after its earlier attempt ended. (A live process on
            # this machine is never taken for dead this way: `act` gives every run ID 1.)
            return "left by an earlier attempt of this CI job"
        lease = LEASE_S if ticket.beat else LEGACY_STALE_S
        if ticket.created and ticket.silent_for(now) > lease:
            return f"no sign of life for {ticket.silent_for(now):.0f}s"
        return None

    def _others(self) -> list[Ticket]:
        """The live tickets besides ours; dead ones are reclaimed on the way."""
        state = self.registry.model(self.name)
        tags = state.tags if state is not None else {}
        if self.key not in tags:
            raise LockTimeout(self.clock() - self.created, [])
        now = self.clock()
        live: list[Ticket] = []
        for ticket in read_tickets(tags, self.alias):
            if ticket.key == self.key:
                continue
            why = self.why_dead(ticket, now)
            if why is None:
                live.append(ticket)
            elif state is not None:
                self._reclaim(state.aliases.get(self.alias), tags, ticket, why)
        return live

    def _reclaim(self, current: int | None, tags: Mapping[str, str], ticket: Ticket,
                 why: str) -> None:
        entry, key = planned_move(ticket, self.alias)
        recorded = False
        if entry is not None and key is not None and current == entry.to_version:
            history = hist.read(tags, self.alias)
            if key not in tags and not history.consistent_with(current):
                by = self.owner.get("actor") or "another run"
                entry.extra["completed"] = (f"recorded by {by} from the queue ticket of the "
                                            f"interrupted move ({why})")
                self.registry.set_model_tag(self.name, key, entry.to_json())
                recorded = True
        else:
            entry = None  # the move never reached the alias (or was overtaken): nothing to do
        self.registry.delete_model_tag(self.name, ticket.key)
        own = bool(ticket.job) and ticket.job == self.owner.get("job")
        self.reclaimed.append(Reclaimed(ticket, why, entry, recorded, own))

    def acquire(self) -> None:
        # The doorway: announce "choosing", draw a number above all others, publish it.
        _LIVE_KEYS.add(self.key)
        self._write(choosing=True)
        self.written = True
        others = self._others()
        self.number = 1 + max((t.number for t in others), default=0)
        self._write(choosing=False)
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
            if now - self.beat >= LEASE_S / 3:
                self._write(choosing=False)  # still here: keep others from reclaiming us
            # The next in line polls often, the tenth rarely: pollers must not starve the
            # registry that the holder is waiting on.
            ahead = sum(1 for t in blockers if not t.choosing)
            pause = min(MAX_POLL_S, self.poll_s * (1 + ahead))
            self.sleep(pause * random.uniform(0.7, 1.3))

    def record_intent(self, intent: Mapping[str, Any]) -> None:
        self._write(choosing=False, intent=intent)

    def abandon(self) -> None:
        """Leave the ticket in the registry (its intent completes an interrupted move)
        and stop counting it as live in this process, so a later call reclaims it."""
        _LIVE_KEYS.discard(self.key)
        self.held = False

    def release(self, policy: retry.RetryPolicy | None = None) -> None:
        try:
            if self.written:
                self.registry.delete_model_tag(self.name, self.key, policy)
            self.written = False
            self.held = False
        finally:
            _LIVE_KEYS.discard(self.key)


def planned_move(ticket: Ticket, alias: str) -> tuple[hist.Entry | None, str | None]:
    """The history entry a ticket's holder planned, and its tag key, if both are sound.

    The key must be exactly the one the entry's own seq and id give under this alias:
    a ticket (tags are editable in the MLflow UI) must not be able to write elsewhere."""
    intent = ticket.intent or {}
    raw, key = intent.get("entry"), intent.get("key")
    if not isinstance(raw, dict) or not isinstance(key, str):
        return None, None
    try:
        entry = hist.Entry.from_json(json.dumps(raw))
    except (ValueError, TypeError):
        return None, None
    if key != f"{hist.prefix(alias)}{entry.seq:08d}.{entry.id}" or entry.seq < 1:
        return None, None
    return entry, key
