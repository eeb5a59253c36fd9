"""The bakery queue over registry tags, on an in-memory registry with racing threads."""

from __future__ import annotations

import json
import random
import threading
import time
from typing import Any

import pytest

from mlci.registry import lock
from mlci.registry.client import ModelState


class MemoryRegistry:
    """Atomic tag reads and writes, like rows in the registry's database, with random
    delays so that threads interleave at every step of the algorithm."""

    def __init__(self) -> None:
        self.tags: dict[str, str] = {}
        self.aliases: dict[str, int] = {}
        self.mutex = threading.Lock()
        self.rng = random.Random(1)

    def _jitter(self) -> None:
        time.sleep(self.rng.random() * 0.002)

    def model(self, name: str, policy: Any = None) -> ModelState:
        self._jitter()
        with self.mutex:
            return ModelState(name=name, aliases=dict(self.aliases), tags=dict(self.tags))

    def set_model_tag(self, name: str, key: str, value: str, policy: Any = None) -> None:
        self._jitter()
        with self.mutex:
            self.tags[key] = value

    def delete_model_tag(self, name: str, key: str, policy: Any = None) -> None:
        self._jitter()
        with self.mutex:
            self.tags.pop(key, None)


def owner(who: str, job: str | None = None) -> dict[str, str | None]:
    return {"actor": who, "run_url": None, "job": job}


def test_mutual_exclusion_and_everyone_gets_a_turn() -> None:
    registry = MemoryRegistry()
    inside: list[str] = []
    overlaps: list[tuple[str, ...]] = []
    done: list[str] = []

    def worker(who: str) -> None:
        queue = lock.AliasLock(registry, "m", "prod", owner(who), wait_s=60,  # type: ignore[arg-type]
                               poll_s=0.001)
        queue.acquire()
        inside.append(who)
        if len(inside) > 1:
            overlaps.append(tuple(inside))
        time.sleep(0.003)
        inside.remove(who)
        done.append(who)
        queue.release()

    threads = [threading.Thread(target=worker, args=(f"w{i}",)) for i in range(12)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert overlaps == []
    assert sorted(done) == sorted(f"w{i}" for i in range(12))
    assert registry.tags == {}


def test_wait_zero_gives_up_at_once_naming_the_holder() -> None:
    registry = MemoryRegistry()
    holder = lock.AliasLock(registry, "m", "prod", owner("alice"), wait_s=0)  # type: ignore[arg-type]
    holder.acquire()
    late = lock.AliasLock(registry, "m", "prod", owner("bob"), wait_s=0)  # type: ignore[arg-type]
    with pytest.raises(lock.LockTimeout) as caught:
        late.acquire()
    assert str(caught.value).startswith("waited 0s for 1 other promotion(s) of this alias to "
                                        "finish: alice (pid ")
    assert list(registry.tags) == [holder.key]  # bob's ticket is gone again
    holder.release()
    assert registry.tags == {}


def ticket(who: str, *, silent_s: float = 0.0, job: str | None = None,
           machine: str | None = "elsewhere/boot", pid: int | None = 4242,
           intent: dict[str, Any] | None = None, number: int = 1) -> str:
    """A ticket as another mlci process writes it."""
    now = time.time()
    doc: dict[str, Any] = {"choosing": False, "number": number, "created": now - silent_s,
                           "beat": now - silent_s, "actor": who, "run_url": None,
                           "host": "elsewhere", "pid": pid, "machine": machine, "job": job}
    if intent is not None:
        doc["intent"] = intent
    return json.dumps(doc)


def test_a_live_ticket_of_another_job_on_another_machine_blocks() -> None:
    registry = MemoryRegistry()
    registry.tags["mlci.lock.prod.0000000000001aaaaaa"] = ticket("busy", job="github:o/r/1/a")
    queue = lock.AliasLock(registry, "m", "prod", owner("me", job="github:o/r/2/a"),  # type: ignore[arg-type]
                           wait_s=0)
    with pytest.raises(lock.LockTimeout, match="waited 0s for 1 other promotion"):
        queue.acquire()
    assert list(registry.tags) == ["mlci.lock.prod.0000000000001aaaaaa"]


@pytest.mark.parametrize(("case", "why"), [
    ("same-job", "left by an earlier attempt of this CI job"),
    ("silent", "no sign of life for 31s"),
    ("dead-pid", "its process"),
    ("this-process", "left by an earlier call in this process"),
    ("legacy-old", "no sign of life for 901s"),
])
def test_dead_tickets_are_reclaimed_at_once(case: str, why: str) -> None:
    import os
    import subprocess
    import sys

    registry = MemoryRegistry()
    key = "mlci.lock.prod.0000000000001aaaaaa"
    me = lock.machine_id()
    if case == "same-job":
        registry.tags[key] = ticket("attempt-1", job="github:o/r/7/promote")
    elif case == "silent":
        registry.tags[key] = ticket("crashed", silent_s=lock.LEASE_S + 1)
    elif case == "dead-pid":
        gone = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"],
                              capture_output=True, text=True, check=True).stdout.strip()
        registry.tags[key] = ticket("killed", machine=me, pid=int(gone))
    elif case == "this-process":
        registry.tags[key] = ticket("earlier call", machine=me, pid=os.getpid())
    else:  # a ticket of an mlci version without heartbeats: the old 15 minutes
        registry.tags[key] = json.dumps({"choosing": False, "number": 1,
                                         "created": time.time() - 901, "actor": "old",
                                         "host": "h", "pid": 1})
    queue = lock.AliasLock(registry, "m", "prod", owner("me", job="github:o/r/7/promote"),  # type: ignore[arg-type]
                           wait_s=0)
    queue.acquire()
    (done,) = queue.reclaimed
    assert done.why.startswith(why), done.why
    assert key not in registry.tags
    assert done.own is (case == "same-job")
    queue.release()
    assert registry.tags == {}


def test_a_live_process_on_this_machine_is_never_taken_for_its_job() -> None:
    """`act` gives every run the ID 1: two local runs share a job identity, yet the one
    that is alive must keep its turn."""
    import os

    registry = MemoryRegistry()
    key = "mlci.lock.prod.0000000000001aaaaaa"
    registry.tags[key] = ticket("other act run", job="github:o/r/1/promote",
                                machine=lock.machine_id(), pid=os.getppid())
    queue = lock.AliasLock(registry, "m", "prod", owner("me", job="github:o/r/1/promote"),  # type: ignore[arg-type]
                           wait_s=0)
    with pytest.raises(lock.LockTimeout):
        queue.acquire()
    assert key in registry.tags


def intent(alias: str, seq: int, to: int, source: int | None, key: str | None = None
           ) -> dict[str, Any]:
    from mlci.registry.history import Entry

    entry = Entry("promote", source, to, "2026-01-01T00:00:00+00:00", "attempt-1",
                  "https://ci/run/7", ["validate"], "release", seq=seq, id="abcd0123")
    return {"entry": json.loads(entry.to_json()),
            "key": key or f"mlci.history.{alias}.{seq:08d}.abcd0123"}


def previous_entry(registry: MemoryRegistry, seq: int, to: int) -> None:
    from mlci.registry.history import Entry

    entry = Entry("promote", None, to, "2026-01-01T00:00:00+00:00", "x", None, [], None,
                  seq=seq, id="00000000")
    registry.tags[entry.key("prod")] = entry.to_json()


def test_a_dead_holders_half_made_move_is_completed_from_its_intent() -> None:
    registry = MemoryRegistry()
    previous_entry(registry, 1, 1)
    registry.aliases["prod"] = 2  # the alias write landed, the history append did not
    registry.tags["mlci.lock.prod.0000000000001aaaaaa"] = ticket(
        "attempt-1", job="gitlab:7/9/mlci-promote", intent=intent("prod", 2, 2, 1))
    queue = lock.AliasLock(registry, "m", "prod", owner("me", job="gitlab:7/9/mlci-promote"),  # type: ignore[arg-type]
                           wait_s=0)
    queue.acquire()
    queue.release()
    written = json.loads(registry.tags.pop("mlci.history.prod.00000002.abcd0123"))
    assert (written["from_version"], written["to_version"], written["actor"],
            written["run_url"], written["gates"], written["reason"]) == (
        1, 2, "attempt-1", "https://ci/run/7", ["validate"], "release")
    assert written["extra"]["completed"].startswith("recorded by me from the queue ticket")
    assert list(registry.tags) == ["mlci.history.prod.00000001.00000000"]
    (done,) = queue.reclaimed
    assert (done.recorded, done.own, done.entry is not None) == (True, True, True)


@pytest.mark.parametrize("case", ["alias-not-moved", "hostile-key", "other-alias-key",
                                  "already-recorded"])
def test_reclaiming_writes_nothing_it_should_not(case: str) -> None:
    registry = MemoryRegistry()
    previous_entry(registry, 1, 1)
    registry.aliases["prod"] = 1 if case == "alias-not-moved" else 2
    key = {"hostile-key": "mlci.lock.prod.zzz", "other-alias-key":
           "mlci.history.staging.00000002.abcd0123"}.get(case)
    if case == "already-recorded":
        registry.tags["mlci.history.prod.00000002.abcd0123"] = "as written by the holder"
    registry.tags["mlci.lock.prod.0000000000001aaaaaa"] = ticket(
        "dead", silent_s=lock.LEASE_S + 5, intent=intent("prod", 2, 2, 1, key))
    before = {k: v for k, v in registry.tags.items() if not k.startswith("mlci.lock.")}
    queue = lock.AliasLock(registry, "m", "prod", owner("me"), wait_s=0)  # type: ignore[arg-type]
    queue.acquire()
    queue.release()
    assert registry.tags == before
    assert queue.reclaimed[0].recorded is False


def test_damaged_tickets_block_like_a_choosing_one() -> None:
    registry = MemoryRegistry()
    registry.tags["mlci.lock.prod.zzz"] = "{broken"
    now = [1000.0]
    queue = lock.AliasLock(registry, "m", "prod", owner("me"), wait_s=0,  # type: ignore[arg-type]
                           clock=lambda: now[0],
                           sleep=lambda s: now.__setitem__(0, now[0] + s))
    with pytest.raises(lock.LockTimeout):
        queue.acquire()
    assert now[0] >= 1000.0 + lock.CHOOSING_GRACE_S  # waited out the grace, not forever


def test_tickets_of_other_aliases_do_not_block() -> None:
    registry = MemoryRegistry()
    other = lock.AliasLock(registry, "m", "staging", owner("x"), wait_s=0)  # type: ignore[arg-type]
    other.acquire()
    queue = lock.AliasLock(registry, "m", "prod", owner("y"), wait_s=0)  # type: ignore[arg-type]
    queue.acquire()
    queue.release()
    other.release()
