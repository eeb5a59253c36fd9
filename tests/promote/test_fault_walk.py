"""Kill the registry at every registry call of promote and rollback, in turn.

For each call mlci makes (counted by a wrapper around `Registry._call`, the one
door every registry operation goes through), the registry is killed with
SIGKILL either just before the call, or, for a write, just after the write
reached the server (so the write landed but its reply never came back). Then
the registry comes back and the same CI job is re-run. What is killed is the
relay process through which mlci reaches a real `mlflow server` (see
`servers.Relay`: for the client the same death, but back in milliseconds
rather than seconds); test_faults.py kills the server itself.

At every point:
- the faulty run exits 3, with one line naming the registry;
- either the alias and its history are exactly as before, or the re-run
  completes the half-written move;
- the re-run (same run identity, `--wait 0`: it must not wait on its own
  ticket) exits 0 and reports the move as its own (`changed`), the alias holds
  the target, the history gained exactly the one entry it should, no queue
  ticket is left, and no second version of the same files was registered."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import pytest

from mlci.errors import ServiceError
from mlci.registry import retry
from mlci.registry.client import Registry
from tests.promote.conftest import Invocation, Lab, in_github_job
from tests.promote.servers import MlflowServer, Relay

T = TypeVar("T")
WRITES = ("setting", "deleting", "registering", "copying")


@pytest.fixture(scope="module")
def fragile_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[MlflowServer]:
    root = tmp_path_factory.mktemp("mlflow-walk")
    server = MlflowServer(f"sqlite:///{root}/mlflow.db", root).start()
    yield server
    server.stop()


@pytest.fixture
def relay(fragile_server: MlflowServer) -> Iterator[Relay]:
    """The registry as mlci reaches it; the walk kills this again and again."""
    front = Relay(fragile_server).start()
    yield front
    front.stop()


@dataclass
class Fault:
    at: int | None  # the index of the call to fail at; None: count only
    mode: str  # "before": killed before the call; "lost-reply": after it landed


class Killer:
    """Counts registry calls and kills the server at the chosen one."""

    def __init__(self, server: Relay, fault: Fault) -> None:
        self.server = server
        self.fault = fault
        self.calls: list[str] = []
        self.original = Registry._call

    def install(self, monkeypatch: pytest.MonkeyPatch) -> None:
        killer = self

        def call(registry: Registry, operation: str, fn: Callable[[], T],
                 policy: retry.RetryPolicy | None = None) -> T:
            index = len(killer.calls)
            killer.calls.append(operation)
            if index != killer.fault.at:
                return killer.original(registry, operation, fn, policy)
            if killer.fault.mode == "before":
                killer.server.kill()
                return killer.original(registry, operation, fn, policy)
            killer.original(registry, operation, fn, policy)  # the write lands…
            killer.server.kill()  # …and the server dies before it could answer
            raise ServiceError(f"registry {registry.display}: {operation} failed: "
                               "connection reset by peer")

        monkeypatch.setattr(Registry, "_call", call)


Entry = tuple[str, "int | None", int, "str | None"]  # action, from, to, reason
State = tuple["int | None", list[Entry]]  # what the alias holds, its history


@dataclass
class Walk:
    """One operation to walk: how to set it up, run it, and what done looks like."""

    step: str
    setup: Callable[[Lab], dict[str, Any]]
    run: Callable[[Lab, dict[str, Any]], Invocation]
    done: Callable[[Lab, dict[str, Any]], tuple[int, Entry]]  # the target, the new entry


def snapshot(lab: Lab, alias: str) -> State:
    return lab.alias(alias), [(e["action"], e["from_version"], e["to_version"], e["reason"])
                              for e in lab.history(alias)]


def fresh_lab(server: Relay, folder: Path) -> Lab:
    """mlci goes through the relay; the test looks at the server directly."""
    from mlflow.tracking import MlflowClient

    folder.mkdir()
    lab = Lab(server.url, folder)
    lab.client = MlflowClient(tracking_uri=server.upstream.url, registry_uri=server.upstream.url)
    return lab


def walk(server: Relay, laptop: Path, monkeypatch: pytest.MonkeyPatch, spec: Walk,
         alias: str = "production") -> list[str]:
    """Every point of `spec.run`, each on a model of its own; returns what went wrong."""
    monkeypatch.setenv("MLCI_REGISTRY_RETRIES", "2")  # a dead server is dead: fail fast
    counted = fresh_lab(server, laptop / "count")
    counting = Killer(server, Fault(None, "before"))
    setup = spec.setup(counted)
    with monkeypatch.context() as patch:
        counting.install(patch)
        in_github_job(patch, counted.root, run_id="1", job=spec.step)
        assert spec.run(counted, setup).code == 0
    points = [Fault(i, "before") for i in range(len(counting.calls))]
    points += [Fault(i, "lost-reply") for i, op in enumerate(counting.calls)
               if op.startswith(WRITES)]
    problems: list[str] = []
    unchanged = 0
    for number, fault in enumerate(points, start=2):
        where = f"{fault.mode} call {fault.at} ({counting.calls[fault.at or 0]})"
        lab = fresh_lab(server, laptop / f"point-{number}")
        setup = spec.setup(lab)
        before = snapshot(lab, alias)
        with monkeypatch.context() as patch:
            in_github_job(patch, lab.root, run_id=str(number), job=spec.step)
            Killer(server, fault).install(patch)
            faulty = spec.run(lab, setup)
            if server.proc is None:
                server.start()  # the registry is back
            after = snapshot(lab, alias)
            rerun = spec.run(lab, setup)  # the job's re-run: same run identity
        problems += check_point(where, lab, spec, setup, before, after, faulty, rerun, alias)
        unchanged += after == before
    print(f"\n{spec.step}: {len(counting.calls)} registry calls, {len(points)} fault points; "
          f"{unchanged} left {alias} and its history unchanged, {len(points) - unchanged} "
          f"were half-made and completed by the re-run; problems: {len(problems)}")
    return problems


def check_point(where: str, lab: Lab, spec: Walk, setup: dict[str, Any], before: State,
                after: State, faulty: Invocation, rerun: Invocation, alias: str) -> list[str]:
    problems: list[str] = []
    lines = faulty.stderr.strip().splitlines()
    if faulty.code != 3 or not lines or not lines[-1].startswith(
            f"mlci {spec.step}: error: registry {lab.url}: "):
        problems.append(f"{where}: the faulty run exited {faulty.code}: {faulty.stderr[-400:]}")
    target, entry = spec.done(lab, setup)
    # Half-made: the alias moved and its entry is missing, or both are done (the run
    # died afterwards, leaving only its queue ticket).
    if after not in (before, (target, before[1]), (target, [*before[1], entry])):
        problems.append(f"{where}: left {after}: neither {before} nor part of the move to "
                        f"v{target}")
    if rerun.code != 0:
        problems.append(f"{where}: the re-run exited {rerun.code}: "
                        f"{rerun.stdout[-600:]} {rerun.stderr[-400:]}")
        return problems
    final = snapshot(lab, alias)
    changed = rerun.doc(spec.step)["changed"]
    if final != (target, [*before[1], entry]) or lab.tickets(alias) or not changed:
        problems.append(f"{where}: after the re-run: {final}, tickets {lab.tickets(alias)}, "
                        f"changed={changed}")
    return problems


# -- promote: a model folder through a gate, registered, then the alias moved ----------


def promote_setup(lab: Lab) -> dict[str, Any]:
    from mlci.promote.candidate import digest_of

    (v1,) = lab.versions(1)
    assert lab.promote("production", version=v1, out=lab.root / "earlier").code == 0
    folder = lab.model_dir("candidate")
    lab.write_result("validate", "pass", model="candidate", digest=digest_of(folder))
    return {"v1": v1, "folder": folder}


def promote_run(lab: Lab, setup: dict[str, Any]) -> Invocation:
    return lab.promote("production", model=str(setup["folder"]), require=("validate",),
                       reason="release 2", wait=0)


def promote_done(lab: Lab, setup: dict[str, Any]) -> tuple[int, Entry]:
    count = lab.version_count()
    assert count in (1, 2), f"{count} versions: the same files were registered twice"
    return 2, ("promote", setup["v1"], 2, "release 2")


@pytest.mark.e2e
def test_killing_the_registry_at_every_call_of_promote(
        relay: Relay, laptop: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    problems = walk(relay, laptop, monkeypatch,
                    Walk("promote", promote_setup, promote_run, promote_done))
    assert problems == []


# -- rollback: production v1 → v2 by earlier runs, this job rolls it back -------------


def rollback_setup(lab: Lab) -> dict[str, Any]:
    v1, v2 = lab.versions(2)
    for version in (v1, v2):
        assert lab.promote("production", version=version, out=lab.root / f"p{version}").code == 0
    return {"v1": v1, "v2": v2}


def rollback_run(lab: Lab, setup: dict[str, Any]) -> Invocation:
    return lab.rollback("production", "deploy failed", wait=0)


def rollback_done(lab: Lab, setup: dict[str, Any]) -> tuple[int, Entry]:
    return setup["v1"], ("rollback", setup["v2"], setup["v1"], "deploy failed")


@pytest.mark.e2e
def test_killing_the_registry_at_every_call_of_rollback(
        relay: Relay, laptop: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    problems = walk(relay, laptop, monkeypatch,
                    Walk("rollback", rollback_setup, rollback_run, rollback_done))
    assert problems == []
