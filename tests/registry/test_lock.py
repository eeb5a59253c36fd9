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
        self.mutex = threading.Lock()
        self.rng = random.Random(1)

    def _jitter(self) -> None:
        time.sleep(self.rng.random() * 0.002)

    def model(self, name: str, policy: Any = None) -> ModelState:
        self._jitter()
        with self.mutex:
            return ModelState(name=name, aliases={}, tags=dict(self.tags))

    def set_model_tag(self, name: str, key: str, value: str, policy: Any = None) -> None:
        self._jitter()
        with self.mutex:
            self.tags[key] = value

    def delete_model_tag(self, name: str, key: str, policy: Any = None) -> None:
        self._jitter()
        with self.mutex:
            self.tags.pop(key, None)


def owner(who: str) -> dict[str, str | None]:
    return {"actor": who, "run_url": None}


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


def test_stale_tickets_are_passed_over_and_reported() -> None:
    registry = MemoryRegistry()
    old = {"choosing": False, "number": 1, "created": time.time() - lock.STALE_AFTER_S - 5,
           "actor": "crashed-runner", "run_url": None, "host": "h", "pid": 1}
    registry.tags["mlci.lock.prod.0000000000001aaaaaa"] = json.dumps(old)
    queue = lock.AliasLock(registry, "m", "prod", owner("me"), wait_s=0)  # type: ignore[arg-type]
    queue.acquire()
    assert [t.actor for t in queue.ignored] == ["crashed-runner"]
    queue.release()


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
