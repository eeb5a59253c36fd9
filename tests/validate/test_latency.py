"""The latency test's statistic on injected timings: what is gated, exactly.

No test here times anything real to assert a speed; the clock is scripted, so every
value is known. How stable the verdict is on a busy machine is measured by
bench/latency_stability.py, not asserted here."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

from mlci.registry.model import LoadedModel
from mlci.validate import model_checks
from mlci.validate.model_checks import (
    ADJUSTED,
    WALL,
    CallTime,
    ModelUnderTest,
    Reading,
    ThreadClock,
    measure,
    summarize,
)


def calls(*walls: float, waited: float | None = 0.0, ran: float | None = None) -> list[CallTime]:
    """Calls of the given wall times; `ran` defaults to the wall time less the wait."""
    return [CallTime(w, waited, (w - (waited or 0.0)) if ran is None and waited is not None
                     else ran) for w in walls]


def test_a_call_loses_only_its_wait_for_a_cpu() -> None:
    assert CallTime(10.0, 6.0, 4.0).busy_ms == 4.0
    # the counters are read a moment apart: never below the CPU time used …
    assert CallTime(10.0, 9.5, 2.0).busy_ms == 2.0
    # … nor above the wall time (threads inside predict can add up to more CPU time)
    assert CallTime(10.0, 0.0, 30.0).busy_ms == 10.0
    assert CallTime(10.0).busy_ms == 10.0


def test_a_reading_pair_becomes_one_call() -> None:
    call = CallTime.between(Reading(1.0, 5_000_000, 7_000_000),
                            Reading(1.012, 13_000_000, 11_000_000))
    assert (round(call.wall_ms, 9), call.waited_ms, call.ran_ms) == (12.0, 8.0, 4.0)
    assert CallTime.between(Reading(1.0), Reading(1.5, 1, 1)) == CallTime(500.0)


def test_the_gate_is_the_median_of_the_repeats_statistic() -> None:
    # three repeats of 21 calls: 1..21 ms with no wait, except that in the second
    # repeat every call also waited 100 ms for a CPU, and the third is slower by 1 ms.
    quiet = calls(*range(1, 22))
    busy = [CallTime(w + 100.0, 100.0, w) for w in range(1, 22)]
    slower = calls(*range(2, 23))
    found = summarize([quiet, busy, slower], "p95")
    # p95 of 1..21 (numpy's linear rule): index 0.95 × 20 = 19 → 20
    assert found.per_repeat == [20.0, 20.0, 21.0]
    assert found.wall == [20.0, 120.0, 21.0]
    assert found.waited == [0.0, 2100.0, 0.0]
    assert (found.value, found.wall_ms, found.waited_ms, found.method) == (
        20.0, 21.0, 2100.0, ADJUSTED)


@pytest.mark.parametrize(("which", "expected"), [
    ("p50", [3.0, 5.0, 7.0]), ("p90", [4.6, 6.6, 8.6]), ("p100", [5.0, 7.0, 9.0]),
    ("mean", [3.0, 5.0, 7.0]), ("max", [5.0, 7.0, 9.0])])
def test_every_statistic_per_repeat(which: str, expected: list[float]) -> None:
    rounds = [calls(1, 2, 3, 4, 5), calls(3, 4, 5, 6, 7), calls(5, 6, 7, 8, 9)]
    found = summarize(rounds, which)
    assert [round(v, 12) for v in found.per_repeat] == expected
    assert found.value == pytest.approx(expected[1], abs=1e-12)


def test_one_contended_repeat_does_not_move_the_verdict() -> None:
    """Contention the counters cannot see (cache misses, a hypervisor's steal) makes
    a repeat slow; the median of five ignores up to two such repeats."""
    rounds = [calls(4, 4, 5), calls(40, 40, 50), calls(4, 4, 5), calls(4, 5, 5),
              calls(45, 45, 45)]
    found = summarize(rounds, "max")
    assert (found.per_repeat, found.value) == ([5.0, 50.0, 5.0, 5.0, 45.0], 5.0)


def test_an_even_number_of_repeats_averages_the_middle_two() -> None:
    assert summarize([calls(2), calls(4), calls(6), calls(10)], "max").value == 5.0


def test_without_counters_the_wall_clock_is_gated_and_said_so() -> None:
    rounds = [[CallTime(30.0), CallTime(40.0)], [CallTime(10.0), CallTime(20.0)]]
    found = summarize(rounds, "max")
    assert (found.method, found.per_repeat, found.value, found.waited) == (
        WALL, [40.0, 20.0], 30.0, [0.0, 0.0])


def test_counters_stuck_at_zero_are_not_believed() -> None:
    """A sandbox whose /proc answers zeros must not make every call 0 ms (a pass by
    accident); one call without counters means none are used."""
    zeros = [[CallTime(30.0, 0.0, 0.0), CallTime(40.0, 0.0, 0.0)]]
    assert (summarize(zeros, "max").method, summarize(zeros, "max").value) == (WALL, 40.0)
    mixed = [[CallTime(30.0, 25.0, 5.0), CallTime(40.0)]]
    assert (summarize(mixed, "max").method, summarize(mixed, "max").value) == (WALL, 40.0)


def scripted(readings: list[Reading]) -> Callable[[], Reading]:
    it: Iterator[Reading] = iter(readings)
    return lambda: next(it)


def test_measure_warms_up_then_times_each_repeat() -> None:
    made: list[str] = []
    clock = scripted([Reading(float(i), i * 1_000_000, i * 500_000) for i in range(12)])
    rounds = measure(lambda: made.append("call"), clock, calls=3, repeats=2, warmup=4)
    assert len(made) == 4 + 6
    # calls are timed between consecutive pairs of readings: (0,1), (2,3), …
    assert [[(c.wall_ms, c.waited_ms, c.ran_ms) for c in r] for r in rounds] == [
        [(1000.0, 1.0, 0.5)] * 3, [(1000.0, 1.0, 0.5)] * 3]


class FakeModel:
    """A pyfunc stand-in: what predict is given, and nothing else."""

    def __init__(self) -> None:
        self.batches: list[pd.DataFrame] = []

    def predict(self, rows: pd.DataFrame) -> list[int]:
        self.batches.append(rows)
        return [0] * len(rows)


def model_under_test(fake: FakeModel) -> ModelUnderTest:
    rows = pd.DataFrame({"x": [1.0, 2.0, 3.0], "y_true": [0, 1, 0]})
    loaded = LoadedModel(uri="fake", pyfunc=fake, input_columns=None)
    return ModelUnderTest(uri="fake", rows=rows, drop=["y_true"], loaded=loaded)


def busy_clock(wall_ms: float, waited_ms: float) -> Callable[[], Reading]:
    """Each call takes `wall_ms`, of which `waited_ms` waiting for a CPU (readings
    come in pairs: before and after a call)."""
    state = {"t": 0.0, "waited": 0, "ran": 0, "end": False}

    def read() -> Reading:
        if state["end"]:
            state["t"] = float(state["t"]) + wall_ms / 1000
            state["waited"] = int(state["waited"]) + round(waited_ms * 1e6)
            state["ran"] = int(state["ran"]) + round((wall_ms - waited_ms) * 1e6)
        state["end"] = not state["end"]
        return Reading(float(state["t"]), int(state["waited"]), int(state["ran"]))

    return read


def test_a_busy_machine_does_not_fail_a_model_within_its_limit() -> None:
    """Every call 68 ms on the wall clock, 43 of them waiting for a CPU: 25 ms of work
    against a 50 ms limit passes, and the check records how it was measured."""
    fake = FakeModel()
    check = model_checks._latency("p95_ms", {"latency": "p95_ms", "max": 50, "calls": 10,
                                             "repeats": 3, "batch_size": 4},
                                  model_under_test(fake), None, clock=busy_clock(68.0, 43.0))
    assert check.value is not None  # wall times are float seconds: exact to 1e-9 ms
    assert (check.status, round(check.value, 9), check.threshold) == ("pass", 25.0, 50)
    assert check.message == (
        "p95 25 ms is within the maximum 50 ms (median of 3 repeats × 10 calls of batch 4 "
        "after 5 warm-up calls; 1.29 s of waiting for a CPU left out; wall-clock p95 68 ms)")
    extra = check.extra
    assert (extra["method"], extra["repeats"], extra["calls"], extra["warmup_calls"],
            extra["aggregate"]) == (ADJUSTED, 3, 10, 5, "median of repeats")
    assert [round(v, 6) for v in extra["per_repeat_ms"]] == [25.0, 25.0, 25.0]
    assert [round(v, 6) for v in extra["wall_per_repeat_ms"]] == [68.0, 68.0, 68.0]
    assert [round(v, 6) for v in extra["waited_per_repeat_ms"]] == [430.0, 430.0, 430.0]
    assert len(fake.batches) == 5 + 30
    assert fake.batches[0]["x"].tolist() == [1.0, 2.0, 3.0, 1.0]  # batch 4 from 3 rows
    assert "y_true" not in fake.batches[0]


def test_a_model_slow_by_itself_still_fails() -> None:
    fake = FakeModel()
    check = model_checks._latency("slow", {"latency": "p99_ms", "max": 50, "calls": 5,
                                           "repeats": 1},
                                  model_under_test(fake), None, clock=busy_clock(80.0, 20.0))
    assert check.value is not None
    assert (check.status, round(check.value, 9)) == ("fail", 60.0)
    assert check.message.startswith("p99 60 ms is above the maximum 50 ms (median of 1 "
                                     "repeats × 5 calls of batch 1")


def test_without_counters_the_message_says_wall_clock() -> None:
    ticks = iter(range(1000))
    check = model_checks._latency("p50_ms", {"latency": "p50_ms", "max": 2000, "calls": 5,
                                             "repeats": 2},
                                  model_under_test(FakeModel()), None,
                                  clock=lambda: Reading(float(next(ticks))))
    assert (check.status, check.value, check.extra["method"]) == ("pass", 1000.0, WALL)
    assert check.message.endswith("(median of 2 repeats × 5 calls of batch 1 after 5 warm-up "
                                  "calls; wall clock: this platform does not report the time "
                                  "spent waiting for a CPU)")


def test_the_thread_clock_falls_back_when_the_counter_file_is_odd(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    odd = tmp_path / "schedstat"
    odd.write_text("not numbers\n")
    monkeypatch.setattr(ThreadClock, "PATH", str(odd))
    with ThreadClock.open() as read:
        assert (read().waiting_ns, read().running_ns) == (None, None)
    odd.write_text("123\n")  # one field where two are expected
    with ThreadClock.open() as read:
        assert read().waiting_ns is None
    monkeypatch.setattr(ThreadClock, "PATH", str(tmp_path / "missing"))
    with ThreadClock.open() as read:
        assert (read().waiting_ns, read().running_ns) == (None, None)


def test_the_thread_clock_reads_its_counters_inside_the_timed_window(
        monkeypatch: pytest.MonkeyPatch) -> None:
    """The wall clock first at both ends: a preemption on the return of the counter
    reads is then inside the call at the start and after it at the end, and the
    scheduler counts each wait when the thread runs again (see ThreadClock)."""
    order: list[str] = []
    ticks = iter([1.0, 1.5])
    monkeypatch.setattr(model_checks.time, "perf_counter",
                        lambda: (order.append("wall"), next(ticks))[1])
    monkeypatch.setattr(model_checks.time, "thread_time_ns", lambda: (order.append("cpu"), 7)[1])
    clock = ThreadClock(None)
    monkeypatch.setattr(clock, "_waiting", lambda: (order.append("wait"), 3)[1])
    assert (clock.read(), clock.read()) == (Reading(1.0, 3, 7), Reading(1.5, 3, 7))
    assert order == ["wall", "wait", "cpu", "wall", "wait", "cpu"]


def test_sleeping_inside_predict_is_not_taken_out() -> None:
    """Only waiting for a CPU is left out: a model that waits on I/O (here: sleeps
    20 ms) is not made fast. A lower bound the OS guarantees, not a speed."""
    with ThreadClock.open() as read:
        rounds = measure(lambda: time.sleep(0.02), read, calls=2, repeats=1, warmup=0)
    found = summarize(rounds, "p50")
    assert found.value >= 20.0
    assert found.method == (ADJUSTED if Path(ThreadClock.PATH).exists() else WALL)


@pytest.mark.parametrize(("value", "problem"), [
    ("0", "0 is less than the minimum of 1"),
    ("'5; rm -rf /'", "expected an integer, got '5; rm -rf /'"),
    ("true", "expected an integer, got True"),
    ("2.5", "expected an integer, got 2.5")])
def test_repeats_must_be_a_whole_number_of_at_least_one(
        value: str, problem: str, write_config: Callable[..., Path],
        write_table: Callable[..., Path], mlci: Any) -> None:
    write_config(f"version: 1\ntests:\n  - latency: p95_ms\n    max: 50\n    repeats: {value}\n")
    write_table({"x": [1.0], "y_true": [1]}, "rows.csv")
    run = mlci("validate", "--model", "model", "--data", "rows.csv")
    assert run.exit_code == 2
    assert run.stderr == f"mlci validate: error: mlci.yml:5: tests[0].repeats: {problem}\n"
