"""A model folder is identified by its content, never its path; one embedded registry
per project. Real MLflow: the `lab` server, or the embedded SQLite registry itself."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from mlci.promote.candidate import digest_of
from tests.promote.conftest import CI_VARIABLES, Invocation, Lab, _capture


def model(folder: Path, weights: bytes) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "MLmodel").write_text("flavors: {}\n")
    (folder / "weights.bin").write_bytes(weights)
    return folder


def retrain_in_place(folder: Path, weights: bytes) -> None:
    (folder / "weights.bin").write_bytes(weights)


@pytest.mark.e2e
def test_retraining_in_place_then_promoting_gives_v2_on_a_server(lab: Lab) -> None:
    folder = model(lab.root / "model", b"round 1")
    first_digest = digest_of(folder)
    lab.write_result("validate", "pass", model="model", digest=first_digest)
    first = lab.promote("production", model="model", require=("validate",))
    assert first.code == 0, first.stdout + first.stderr

    retrain_in_place(folder, b"round 2, same path")
    # The old pass (for round 1's bytes) must not promote round 2's.
    stale = lab.promote("production", model="model", require=("validate",))
    assert stale.code == 1
    assert lab.version_count() == 1
    second_digest = digest_of(folder)
    lab.write_result("validate", "pass", model="model", digest=second_digest)
    second = lab.promote("production", model="model", require=("validate",))

    assert second.code == 0, second.stdout + second.stderr
    assert second.doc("promote")["checks"][-1]["message"] == "production: v1 → v2"
    assert lab.alias("production") == 2
    assert [(e["from_version"], e["to_version"]) for e in lab.history("production")] == [
        (None, 1), (1, 2)]
    tags = {v: lab.client.get_model_version(lab.name, str(v)).tags for v in (1, 2)}
    assert (tags[1]["mlci.model_digest"], tags[2]["mlci.model_digest"]) == (first_digest,
                                                                          second_digest)
    from mlci.registry.client import Registry

    kept = Registry(lab.url).download_version(lab.name, 1, str(lab.root / "v1"))
    assert (kept / "weights.bin").read_bytes() == b"round 1"  # v1 is still round 1


def embedded_promote(project: Path, alias: str, out: str = ".mlci",
                     **options: Any) -> Invocation:
    """`mlci promote` with nothing configured: the project's embedded registry."""
    from mlci import runner
    from mlci.options import Common
    from mlci.promote.options import PromoteOptions
    from mlci.promote.run import run

    options.setdefault("name", "fraud")
    return _capture(project / out, lambda: runner.run(
        "promote", Common(config=None, out=str(project / out), debug=False), run,
        PromoteOptions(alias=alias, **options)))


def embedded_client(project: Path) -> Any:
    from mlflow.tracking import MlflowClient

    uri = f"sqlite:///{project}/.mlci/registry.db"
    return MlflowClient(tracking_uri=uri, registry_uri=uri)


def test_retraining_in_place_with_the_embedded_registry(laptop: Path) -> None:
    """The embedded registry used to register the folder by its path: retraining in place
    changed what v1 served, and the next promote said "production already holds v1"."""
    folder = model(laptop / "model", b"round 1")
    first = embedded_promote(laptop, "production", model="model")
    assert first.code == 0, first.stdout + first.stderr
    assert first.stderr.startswith(f"mlci promote: registry: sqlite:///{laptop}/.mlci/"
                                   "registry.db (the project's embedded registry; ")
    retrain_in_place(folder, b"round 2")

    second = embedded_promote(laptop, "production", model="model", out="next/.mlci")

    assert second.code == 0, second.stdout + second.stderr
    assert second.doc("promote")["version"] == 2
    assert second.doc("promote")["checks"][-1]["message"] == "production: v1 → v2"
    client = embedded_client(laptop)
    assert [int(v.version) for v in client.search_model_versions("name = 'fraud'")] in (
        [1, 2], [2, 1])
    import mlflow.artifacts

    served = {}
    for version in (1, 2):
        location = client.get_model_version_download_uri("fraud", str(version))
        files = Path(mlflow.artifacts.download_artifacts(
            artifact_uri=location, dst_path=str(laptop / f"dl-{version}")))
        served[version] = (files / "weights.bin").read_bytes()
    assert served == {1: b"round 1", 2: b"round 2"}
    # One registry for the project, whatever --out says; its files beside it.
    assert not (laptop / "next" / ".mlci" / "registry.db").exists()
    assert (laptop / ".mlci" / ".registry-artifacts").is_dir()
    assert not (laptop / "mlruns").exists()


def test_a_version_registered_from_a_path_then_rewritten_fails_closed(laptop: Path) -> None:
    """A registry written by an earlier mlci holds v1 *at the folder's path*, tagged with
    round 1's digest; the folder was retrained since. Promoting v1 must not pass on the
    new bytes, nor rewrite v1's digest tag to match them."""
    folder = model(laptop / "model", b"round 1")
    first_digest = digest_of(folder)
    from mlci.registry.client import Registry

    Registry(f"sqlite:///{laptop}/.mlci/registry.db")  # create the embedded database
    client = embedded_client(laptop)
    client.create_registered_model("fraud")
    client.create_model_version("fraud", str(folder), tags={"mlci.model_digest": first_digest})
    retrain_in_place(folder, b"round 2")
    from mlci.result import Check, Result, write_json

    write_json(Result(step="validate", checks=[Check("a check", "pass", "ok")], summary="ok",
                      subject={"model": "model", "model_digest": digest_of(folder)}),
               laptop / ".mlci")

    result = embedded_promote(laptop, "production", version=1, require=("validate",))

    assert result.code == 1, result.stdout + result.stderr
    checks = {c["name"]: c for c in result.doc("promote")["checks"]}
    assert checks["validate"]["status"] == "pass"  # the document does match v1's bytes now…
    assert checks["digest"]["status"] == "fail"  # …which are not the bytes v1 was
    assert checks["digest"]["message"] == (
        f"fraud v1: its files hash to {digest_of(folder)}, but the version was recorded as "
        f"{first_digest} (mlci.model_digest): its files changed after registration "
        "(registered from a folder that was rewritten since?) or the tag was edited; "
        "register the model again and promote the new version")
    assert client.get_model_version("fraud", "1").tags["mlci.model_digest"] == first_digest
    assert client.get_registered_model("fraud").aliases == {}
    # Promoting the folder registers its current files as a new version instead.
    again = embedded_promote(laptop, "production", model="model", require=("validate",))
    assert again.code == 0, again.stdout + again.stderr
    assert again.doc("promote")["version"] == 2


@pytest.mark.e2e
def test_an_edited_digest_tag_fails_closed_and_is_not_rewritten(lab: Lab) -> None:
    folder = model(lab.root / "model", b"weights")
    digest = digest_of(folder)
    lab.write_result("validate", "pass", model="model", digest=digest)
    assert lab.promote("staging", model="model", require=("validate",)).code == 0
    forged = "sha256:" + "0" * 64
    lab.client.set_model_version_tag(lab.name, "1", "mlci.model_digest", forged)

    result = lab.promote("production", version=1, require=("validate",))

    assert result.code == 1
    failed = [c for c in result.doc("promote")["checks"] if c["status"] == "fail"]
    assert [c["name"] for c in failed] == ["digest"]
    assert lab.client.get_model_version(lab.name, "1").tags["mlci.model_digest"] == forged
    assert lab.history("production") == []


@pytest.mark.e2e
def test_the_same_files_anywhere_are_the_same_version_and_a_new_signature_is_not(
        lab: Lab, keys: Any) -> None:
    from tests.promote.conftest import sign

    first = model(lab.root / "build-1" / "model", b"weights")
    assert lab.promote("staging", model=str(first)).code == 0
    copy = model(lab.root / "elsewhere" / "renamed", b"weights")
    same = lab.promote("staging", model=str(copy))
    assert same.code == 0
    assert same.doc("promote")["version"] == 1 and lab.version_count() == 1
    sign(copy, keys["ours"].private_pem)  # same model bytes, but now with an mlci.sig
    signed = lab.promote("production", model=str(copy))
    assert signed.code == 0
    assert signed.doc("promote")["version"] == 2 and lab.version_count() == 2


def test_a_symbolic_link_inside_a_model_folder_is_refused(laptop: Path) -> None:
    folder = model(laptop / "model", b"weights")
    (laptop / "elsewhere.bin").write_bytes(b"outside")
    os.symlink(laptop / "elsewhere.bin", folder / "extra.bin")
    result = embedded_promote(laptop, "production", model="model")
    assert result.code == 2
    assert result.stderr.splitlines()[-1] == (
        "mlci promote: error: --model model: extra.bin is a symbolic link; a registry stores "
        "files, not links: put the file itself in its place")
    assert not (laptop / ".mlci" / "registry.db").exists() or \
        embedded_client(laptop).search_registered_models() == []


def test_the_project_registry_sits_beside_the_config(laptop: Path) -> None:
    project = laptop / "proj"
    model(project / "model", b"weights")
    (project / "mlci.yml").write_text("version: 1\nregistry:\n  name: fraud\n")
    from mlci import runner
    from mlci.options import Common
    from mlci.promote.options import PromoteOptions
    from mlci.promote.run import run

    out = laptop / "elsewhere" / "out"
    done = _capture(out, lambda: runner.run(
        "promote", Common(config=str(project / "mlci.yml"), out=str(out), debug=False), run,
        PromoteOptions(name=None, alias="production", model=str(project / "model"))))
    assert done.code == 0, done.stdout + done.stderr
    assert (project / ".mlci" / "registry.db").is_file()
    assert not (laptop / ".mlci").exists() and not (out / "registry.db").exists()


LAUNCHER = """
import os, pathlib, sys, time
import mlflow.tracking, mlflow.store.tracking.sqlalchemy_store, mlci.promote.run
from mlci.commands.promote import promote
pathlib.Path(os.environ["RACE_READY"]).touch()
while not os.path.exists(os.environ["RACE_GO"]):
    time.sleep(0.005)
sys.argv[0] = "mlci promote"
promote()
"""


def test_two_processes_opening_a_new_embedded_registry_at_once(laptop: Path) -> None:
    """Both create the same new SQLite registry at the same moment: before, one of them
    died in alembic's migration with a traceback."""
    go = laptop / "go"
    procs = []
    for alias in ("staging", "production"):
        model(laptop / f"model-{alias}", alias.encode())
        env = {k: v for k, v in os.environ.items() if k not in CI_VARIABLES}
        env.update(RACE_GO=str(go), RACE_READY=str(laptop / f"ready-{alias}"))
        procs.append(subprocess.Popen(
            [sys.executable, "-c", LAUNCHER, "--name", "fraud", "--model", f"model-{alias}",
             "--alias", alias, "--out", f"out-{alias}"],
            cwd=laptop, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True))
    deadline = time.monotonic() + 120
    while not all((laptop / f"ready-{a}").exists() for a in ("staging", "production")):
        assert time.monotonic() < deadline, [p.communicate() for p in procs]
        time.sleep(0.05)
    go.touch()
    results = [p.communicate(timeout=180) for p in procs]
    assert [p.returncode for p in procs] == [0, 0], results
    assert not any("Traceback" in err for _, err in results), results
    assert not any(" INFO mlflow" in err for _, err in results), results  # quiet in CI logs
    client = embedded_client(laptop)
    aliases = client.get_registered_model("fraud").aliases
    assert sorted(aliases) == ["production", "staging"]
    assert sorted(aliases.values()) == [1, 2]


def test_the_embedded_registry_is_announced_and_created_quietly(laptop: Path) -> None:
    from tests.promote.conftest import run_cli

    result = run_cli("history", "--name", "fraud", "--alias", "production", cwd=laptop)
    assert result.returncode == 2, result.stderr
    assert result.stderr.splitlines() == [
        f"mlci history: registry: sqlite:///{laptop}/.mlci/registry.db (the project's embedded "
        "registry; --registry, registry.uri or MLFLOW_TRACKING_URI name a shared one)",
        "mlci history: error: --name fraud: no registered model of that name in registry "
        f"sqlite:///{laptop}/.mlci/registry.db"]
    assert result.stdout == ""
