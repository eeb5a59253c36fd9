"""Eight `mlci promote` processes, eight versions, one alias, at the same moment.

Each process is the real command; the test only lines up their start: each
imports MLflow first, says it is ready, and waits for one "go" file, so the
registry calls overlap instead of being spread out by import times. After
they all exit, whatever the interleaving:

- every process's exit code and message is true: exit 0 exactly for those
  whose move is in the history, exit 1 naming the run ahead for the others;
- the history holds one entry per winner, none lost, none invented, and each
  entry starts where the previous one ended;
- the alias holds the last entry's version, and no queue ticket is left."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from tests.promote.conftest import CI_VARIABLES, Lab
from tests.promote.servers import MlflowServer

WRITERS = 8
LAUNCHER = """
import os, pathlib, sys, time
# The slow imports first, so that the registry calls, not imports, overlap.
import mlflow.tracking, mlflow.store.model_registry.rest_store, mlflow.store.tracking.rest_store
import mlci.promote.run, mlci.promote.gates, mlci.registry.lock, jsonschema
from mlci.commands.promote import promote
pathlib.Path(os.environ["RACE_READY"]).touch()
while not os.path.exists(os.environ["RACE_GO"]):
    time.sleep(0.005)
sys.argv[0] = "mlci promote"
promote()
"""


@pytest.fixture(params=["sqlite", "postgres"])
def race_server(request: pytest.FixtureRequest) -> MlflowServer:
    server: MlflowServer = request.getfixturevalue(f"{request.param}_server")
    return server


def race(lab: Lab, versions: list[int], *extra: str) -> list[dict[str, Any]]:
    go = lab.root / "go"
    procs = []
    for version in versions:
        env = {k: v for k, v in os.environ.items() if k not in CI_VARIABLES}
        env.update(USER=f"runner-{version}", RACE_GO=str(go),
                   RACE_READY=str(lab.root / f"ready-{version}"))
        out = lab.root / f"job-{version}"
        procs.append((version, out, subprocess.Popen(
            [sys.executable, "-c", LAUNCHER, "--name", lab.name, "--version", str(version),
             "--alias", "production", "--registry", lab.url, "--out", str(out), *extra],
            cwd=lab.root, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)))
    deadline = time.monotonic() + 120
    while not all((lab.root / f"ready-{v}").exists() for v in versions):
        assert time.monotonic() < deadline, "writers did not get ready"
        assert all(p.poll() is None for _, _, p in procs), [p.communicate() for _, _, p in procs]
        time.sleep(0.05)
    go.touch()
    results = []
    for version, out, proc in procs:
        stdout, stderr = proc.communicate(timeout=180)
        doc = json.loads((out / "promote.json").read_text()) if proc.returncode in (0, 1) else {}
        results.append({"version": version, "code": proc.returncode, "stdout": stdout,
                        "stderr": stderr, "doc": doc})
    return results


def check_truthful(lab: Lab, results: list[dict[str, Any]]) -> tuple[list[int], list[int]]:
    assert all(r["code"] in (0, 1) for r in results), [(r["code"], r["stderr"]) for r in results]
    winners = sorted(r["version"] for r in results if r["code"] == 0)
    losers = sorted(r["version"] for r in results if r["code"] == 1)
    for r in results:
        outcome = r["doc"]["outcome"]
        alias_check = r["doc"]["checks"][-1]
        if r["code"] == 0:
            assert outcome == "moved" and alias_check["status"] == "pass", r
        else:
            assert outcome == "lost" and alias_check["status"] == "fail", r
            assert alias_check["message"].startswith("not moved: waited "), alias_check
            assert "runner-" in alias_check["message"]  # names the run ahead of it
    history = lab.history("production")
    assert sorted(e["to_version"] for e in history) == winners  # one each, none lost
    assert [e["actor"] for e in history] == [f"runner-{e['to_version']}" for e in history]
    assert history[0]["from_version"] is None
    assert all(history[i]["from_version"] == history[i - 1]["to_version"]
               for i in range(1, len(history)))
    assert lab.alias("production") == history[-1]["to_version"]
    assert lab.tickets("production") == []
    return winners, losers


def test_eight_concurrent_promotions_queue_and_all_record(race_server: MlflowServer,
                                                          laptop: Path) -> None:
    lab = Lab(race_server.url, laptop)
    versions = lab.versions(WRITERS)
    started = time.monotonic()
    results = race(lab, versions, "--wait", "150")  # the default 60 s, with room for a slow CI
    winners, losers = check_truthful(lab, results)
    # Queueing, every writer gets its turn.
    assert (winners, losers) == (versions, [])
    order = [e["to_version"] for e in lab.history("production")]
    print(f"\n{race_server.backend_uri.split(':')[0]}: {WRITERS} writers, "
          f"{time.monotonic() - started:.1f}s after go; order {order}")


def test_eight_concurrent_promotions_without_waiting(sqlite_server: MlflowServer,
                                                     laptop: Path) -> None:
    """`--wait 0`: a writer that finds another ahead of it gives up at once, says so and
    names it; the invariants hold for the ones that went through."""
    lab = Lab(sqlite_server.url, laptop)
    versions = lab.versions(WRITERS)
    results = race(lab, versions, "--wait", "0")
    winners, losers = check_truthful(lab, results)
    assert winners, "somebody must win"
    print(f"\n--wait 0: winners {winners}, losers {losers}")
