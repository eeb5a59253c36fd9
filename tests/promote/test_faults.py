"""Registry faults: down from the start, killed mid-move, failing writes, transient errors.

The "killed between the alias write and the history append" case kills the
real server process (SIGKILL to its process group) from a wrapper around
mlci's registry client, at the moment mlci is about to append the history
entry, i.e. after its alias write was acknowledged and read back. Nothing in
mlci knows about the test: the wrapper only decides *when* the kill happens."""

from __future__ import annotations

import contextlib
import io
import re
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from mlci.errors import ServiceError
from mlci.registry.client import Registry
from tests.promote.conftest import Lab, run_cli
from tests.promote.servers import MlflowServer, free_port


@pytest.fixture(scope="module")
def fragile_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[MlflowServer]:
    """A server of its own: this module kills it."""
    root = tmp_path_factory.mktemp("mlflow-fragile")
    server = MlflowServer(f"sqlite:///{root}/mlflow.db", root).start()
    yield server
    server.stop()


def test_registry_down_from_the_start_exits_3_fast(laptop: Path) -> None:
    url = f"http://127.0.0.1:{free_port()}"
    lab_out = laptop / ".mlci"
    import mlflow.tracking  # noqa: F401  (imported before the clock starts: not the point)

    from mlci import runner
    from mlci.options import Common
    from mlci.promote.options import PromoteOptions
    from mlci.promote.run import run

    started = time.monotonic()
    stderr = io.StringIO()
    with contextlib.redirect_stderr(stderr), contextlib.redirect_stdout(io.StringIO()):
        code = runner.run("promote", Common(None, str(lab_out), False), run, PromoteOptions(
            name="fraud", alias="production", version=3, registry=url))
    elapsed = time.monotonic() - started
    assert code == 3
    assert elapsed < 8, elapsed
    assert re.match(rf"mlci promote: error: registry {re.escape(url)}: reading registered model "
                    r"'fraud' failed after 5 attempts over \d+\.\ds: API request to .*"
                    r"Connection refused", stderr.getvalue()), stderr.getvalue()


def test_registry_down_from_the_start_cli(laptop: Path) -> None:
    """The same through the command line, MLflow's own retries included: still seconds."""
    url = f"http://127.0.0.1:{free_port()}"
    started = time.monotonic()
    result = run_cli("rollback", "--name", "fraud", "--alias", "production", "--reason", "x",
                     "--registry", url, cwd=laptop)
    elapsed = time.monotonic() - started
    assert result.returncode == 3, result.stderr
    assert elapsed < 20, elapsed
    assert f"mlci rollback: error: registry {url}: reading registered model 'fraud' failed " \
        "after 5 attempts" in result.stderr


@pytest.mark.parametrize("then", ["next-run", "repair"])
def test_server_killed_between_alias_write_and_history_append(
        fragile_server: MlflowServer, laptop: Path, monkeypatch: pytest.MonkeyPatch,
        then: str) -> None:
    lab = Lab(fragile_server.url, laptop)
    v1, v2, v3 = lab.versions(3)
    assert lab.promote("production", version=v1).code == 0
    original = Registry.set_model_tag

    def kill_before_history(self: Registry, name: str, key: str, value: str,
                            policy: object = None) -> None:
        if key.startswith("mlci.history.production."):
            fragile_server.kill()
        original(self, name, key, value, policy)  # type: ignore[arg-type]

    monkeypatch.setattr(Registry, "set_model_tag", kill_before_history)
    started = time.monotonic()
    result = lab.promote("production", version=v2, reason="release 2")
    elapsed = time.monotonic() - started
    monkeypatch.setattr(Registry, "set_model_tag", original)

    assert result.code == 3
    assert elapsed < 20, elapsed
    message = result.stderr.strip()
    assert message.startswith(f"mlci promote: error: registry {fragile_server.url}: setting tag "
                              f"'mlci.history.production."), message
    assert message.endswith(
        "production may now hold v2 without its history entry; the planned entry is kept in "
        "this run's queue ticket, and the next promote or rollback of production completes it "
        "(at once when it is this job's re-run; `mlci history --name "
        f"{lab.name} --alias production --repair` does it by hand)"), message

    fragile_server.start()  # same port, same database: the registry comes back
    assert lab.alias("production") == v2  # the alias write had landed
    assert [e["to_version"] for e in lab.history("production")] == [v1]
    assert len(lab.tickets("production")) == 1  # the intent
    shown = lab.history_cmd("production")
    assert "a move of production is queued or was interrupted: tester" in shown.stderr

    if then == "repair":
        repaired = lab.history_cmd("production", repair=True)
        assert repaired.code == 0
        lines = repaired.stdout.splitlines()
        assert lines[0].startswith("recorded the interrupted move: promote v1 → v2 by tester at ")
        assert lines[1].startswith("removed queue ticket of tester")
        assert len(lines) == 2
    # The next run, whoever it is, completes the move first, without waiting.
    after = lab.promote("production", version=v3, wait=0)
    assert after.code == 0, after.stdout + after.stderr
    notes = [c["message"] for c in after.doc("promote")["checks"] if c["name"].startswith("note")]
    if then == "next-run":
        (note,) = notes
        assert note.startswith("removed the queue ticket of tester"), note
        assert "(left by an earlier call in this process); recorded its interrupted move: " \
            "promote v1 → v2 by tester" in note, note
    else:
        assert notes == []
    (_first, second, third) = lab.history("production")
    assert (second["from_version"], second["to_version"], second["reason"], second["actor"]) \
        == (v1, v2, "release 2", "tester")
    assert (third["from_version"], third["to_version"]) == (v2, v3)
    assert lab.tickets("production") == []
    assert lab.alias("production") == v3


def test_failed_history_append_is_undone(fragile_server: MlflowServer, laptop: Path,
                                         monkeypatch: pytest.MonkeyPatch) -> None:
    """The registry refuses the history write (simulated: the wrapper raises mlci's own
    ServiceError) while it still answers reads: the alias is put back, nothing changed."""
    lab = Lab(fragile_server.url, laptop)
    v1, v2 = lab.versions(2)
    assert lab.promote("production", version=v1).code == 0
    original = Registry.set_model_tag

    def refuse_history(self: Registry, name: str, key: str, value: str,
                       policy: object = None) -> None:
        if key.startswith("mlci.history.production."):
            raise ServiceError(f"registry {self.display}: setting tag {key!r} failed: "
                               "simulated outage")
        original(self, name, key, value, policy)  # type: ignore[arg-type]

    monkeypatch.setattr(Registry, "set_model_tag", refuse_history)
    result = lab.promote("production", version=v2)
    monkeypatch.setattr(Registry, "set_model_tag", original)
    assert result.code == 3
    assert result.stderr.strip().endswith(
        "failed: simulated outage; production was put back to v1; nothing changed")
    assert lab.alias("production") == v1
    assert [e["to_version"] for e in lab.history("production")] == [v1]
    assert lab.tickets("production") == []


def test_racing_alias_creation_400_is_retried(fragile_server: MlflowServer, laptop: Path,
                                              monkeypatch: pytest.MonkeyPatch) -> None:
    """The error a server returns when two writers create one alias at once (an
    IntegrityError surfaced as HTTP 400) is retried, and the promotion completes."""
    from mlflow.exceptions import MlflowException
    from mlflow.protos.databricks_pb2 import BAD_REQUEST
    from mlflow.tracking import MlflowClient

    lab = Lab(fragile_server.url, laptop)
    (v1,) = lab.versions(1)
    original = MlflowClient.set_registered_model_alias
    calls: list[str] = []

    def first_call_races(self: MlflowClient, name: str, alias: str, version: str) -> None:
        calls.append(alias)
        if len(calls) == 1:
            raise MlflowException(
                "(sqlite3.IntegrityError) UNIQUE constraint failed: registered_model_aliases."
                "name, registered_model_aliases.alias", error_code=BAD_REQUEST)
        original(self, name, alias, version)

    monkeypatch.setattr(MlflowClient, "set_registered_model_alias", first_call_races)
    result = lab.promote("canary", version=v1)
    monkeypatch.setattr(MlflowClient, "set_registered_model_alias", original)
    assert result.code == 0, result.stdout + result.stderr
    assert calls == ["canary", "canary"]
    assert lab.alias("canary") == v1


def test_a_failed_ticket_release_is_a_warning_with_exit_3(
        lab: Lab, monkeypatch: pytest.MonkeyPatch) -> None:
    """The move is done and recorded, then the registry fails as mlci removes its queue
    ticket: that is reported (exit 3, a warning check), not swallowed as a success."""
    v1, v2 = lab.versions(2)
    original = Registry.delete_model_tag

    def refuse_release(self: Registry, name: str, key: str, policy: object = None) -> None:
        if key.startswith("mlci.lock.production."):
            raise ServiceError(f"registry {self.display}: deleting tag {key!r} of {name!r} "
                               "failed: simulated outage")
        original(self, name, key, policy)  # type: ignore[arg-type]

    monkeypatch.setattr(Registry, "delete_model_tag", refuse_release)
    result = lab.promote("production", version=v1)
    monkeypatch.setattr(Registry, "delete_model_tag", original)

    assert result.code == 3
    (line,) = result.stderr.strip().splitlines()
    assert line.startswith(f"mlci promote: error: registry {lab.url}: deleting tag "
                           "'mlci.lock.production."), line
    assert line.endswith("failed: simulated outage. production: (none) → v1: that stands, but "
                         "this run's queue ticket is left in the registry; the next move of "
                         "production removes it (at once when it is this job's re-run)"), line
    doc = result.doc("promote")
    assert (doc["outcome"], doc["changed"], doc["verdict"]) == ("moved", True, "warn")
    assert doc["checks"][-1]["name"] == "queue ticket"
    assert doc["checks"][-1]["status"] == "warn"
    assert lab.alias("production") == v1 and len(lab.history("production")) == 1
    assert len(lab.tickets("production")) == 1
    after = lab.promote("production", version=v2, wait=0)
    assert after.code == 0, after.stdout + after.stderr
    assert lab.tickets("production") == []
    assert [e["to_version"] for e in lab.history("production")] == [v1, v2]


SELF_KILL = """
import os, signal, sys
from mlci.registry.client import Registry
original = Registry.set_alias
def set_alias_then_die(self, *args, **kwargs):
    original(self, *args, **kwargs)
    os.kill(os.getpid(), signal.SIGKILL)  # the runner dies right after the alias write
Registry.set_alias = set_alias_then_die
from mlci.commands.promote import promote
sys.argv[0] = "mlci promote"
promote()
"""


def test_a_killed_runner_is_reclaimed_and_its_move_completed_by_the_next_run(
        lab: Lab) -> None:
    """kill -9 of the mlci process itself while it holds the queue, the alias moved and
    its history entry not written: the next run on this machine sees the process is gone,
    records the dead run's move with its details, and goes ahead without waiting."""
    import os
    import subprocess
    import sys

    from tests.promote.conftest import CI_VARIABLES

    v1, v2, v3 = lab.versions(3)
    assert lab.promote("production", version=v1).code == 0
    env = {k: v for k, v in os.environ.items() if k not in CI_VARIABLES}
    env["USER"] = "killed-runner"
    died = subprocess.run([sys.executable, "-c", SELF_KILL, "--name", lab.name, "--version",
                           str(v2), "--alias", "production", "--registry", lab.url,
                           "--reason", "release 2", "--out", str(lab.root / "dead")],
                          cwd=lab.root, env=env, capture_output=True, text=True, timeout=120)
    assert died.returncode == -9, died.stderr
    assert lab.alias("production") == v2
    assert [e["to_version"] for e in lab.history("production")] == [v1]
    assert len(lab.tickets("production")) == 1

    after = lab.promote("production", version=v3, wait=0)

    assert after.code == 0, after.stdout + after.stderr
    notes = [c["message"] for c in after.doc("promote")["checks"] if c["name"] == "note 1"]
    assert notes[0].startswith("removed the queue ticket of killed-runner"), notes
    assert re.search(r" \(its process \d+ on this machine is gone\); recorded its "
                     r"interrupted move: promote v1 → v2 by killed-runner at ", notes[0]), notes
    entries = lab.history("production")
    assert [(e["from_version"], e["to_version"], e["actor"], e["reason"]) for e in entries] == [
        (None, v1, "tester", None), (v1, v2, "killed-runner", "release 2"),
        (v2, v3, "tester", None)]
    assert lab.tickets("production") == []
