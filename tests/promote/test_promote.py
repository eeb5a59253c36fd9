"""Promote against a real `mlflow server` (SQLite backend): gates, registration, history."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

from tests.promote.conftest import KeyPair, Lab

ALL_GATES = "validate,compare,lineage,signature"


def git(repo: Path, *args: str) -> None:
    subprocess.run(["git", "-c", "user.name=mlci-test", "-c", "user.email=test@mlci.invalid",
                    "-c", "commit.gpgsign=false", "-c", "init.defaultBranch=main", *args],
                   cwd=repo, check=True, capture_output=True)


def lineage_doc(lab: Lab, folder: Path, *, key: str | None, no_git: bool = False) -> Path:
    """`<out>/lineage.json` written by the real `mlci lineage tag --data … --model …
    [--key KEY]`, in a git checkout whose one commit holds the training data. With a key
    the record is signed (and the local folder re-signed, as `tag --key` does: the
    registered copy, which the signature gate reads, is not touched)."""
    from mlci.lineage.tagging import tag

    if not (lab.root / ".git").exists():
        git(lab.root, "init", "-q")
        (lab.root / ".gitignore").write_text(".mlci/\nmodels/\n")
        (lab.root / "train.csv").write_text("x,y\n1,0\n2,1\n")
        git(lab.root, "add", ".")
        git(lab.root, "commit", "-q", "-m", "data")
    facts = {"platform": "local", "run_url": None, "actor": "tester", "event": None,
             "sha": None, "head_sha": None, "ref": None, "repository": None,
             "pipeline_id": None, "job_id": None}
    tag(["train.csv"], model=str(folder), run_id=None, key=key, params={},
        config_path=None, out_dir=str(lab.out), facts=facts, no_git=no_git,
        tracking_uri=None)
    return lab.out / "lineage.json"


def signed_run(lab: Lab, keys: dict[str, KeyPair], label: str = "cand"
               ) -> tuple[str, str, Path]:
    folder = lab.model_dir(label, keys["ours"].private_pem)
    from mlci.promote.candidate import digest_of

    return f"runs:/{lab.log_run(folder)}/model", digest_of(folder), folder


def all_gates_pass(lab: Lab, uri: str, digest: str, folder: Path, key: KeyPair) -> None:
    lab.write_result("validate", "pass", model=uri)
    lab.write_result("compare", "warn", model=uri, digest=digest)
    lineage_doc(lab, folder, key=key.private_pem)


def test_staging_then_production_with_every_gate(lab: Lab, keys: dict[str, KeyPair]) -> None:
    uri, digest, folder = signed_run(lab, keys)
    all_gates_pass(lab, uri, digest, folder, keys["ours"])
    pub = str(keys["ours"].public_path)

    staged = lab.promote("staging", model=uri, require=(ALL_GATES,), allow_warn=True,
                         public_key=pub, reason="nightly candidate")
    assert staged.code == 0, staged.stdout + staged.stderr
    assert [c["name"] for c in staged.doc("promote")["checks"]] == [
        "validate", "compare", "lineage", "signature", "alias"]
    assert "outputs" not in staged.doc("promote")  # CI outputs, not part of the document
    assert lab.alias("staging") == 1
    assert staged.outputs("promote") == {"VERDICT": "pass", "RESULT_PATH": str(lab.out /
                                         "promote.json"), "JUNIT_PATH": str(lab.out /
                                         "promote.junit.xml"), "VERSION": "1",
                                         "PREVIOUS_VERSION": ""}
    version = lab.client.get_model_version(lab.name, "1")
    assert version.tags["mlci.model_digest"] == digest
    assert version.tags["mlci.signature.key_id"] == keys["ours"].key_id
    lineage = json.loads((lab.out / "lineage.json").read_text())
    assert version.tags["mlci.lineage.commit"] == lineage["git"]["commit"]
    assert version.tags["mlci.lineage.data_id"] == lineage["data_id"]
    assert version.tags["mlci.source"] == uri

    # The approval job: the version staging holds goes to production, same evidence.
    prod = lab.promote("production", model=f"models:/{lab.name}@staging",
                       require=("validate", "compare lineage signature"), allow_warn=True,
                       public_key=pub)
    assert prod.code == 0, prod.stdout + prod.stderr
    assert lab.alias("production") == 1
    assert lab.version_count() == 1  # promoted, not registered again
    history = lab.history("production")
    assert len(history) == 1
    entry = history[0]
    assert set(entry) == {"action", "from_version", "to_version", "time", "actor", "run_url",
                          "gates", "reason"}
    assert (entry["action"], entry["from_version"], entry["to_version"], entry["actor"],
            entry["run_url"], entry["gates"], entry["reason"]) == (
        "promote", None, 1, "tester", None, ["validate", "compare", "lineage", "signature"],
        None)
    assert lab.history("staging")[0]["reason"] == "nightly candidate"
    assert lab.tickets("production") == [] and lab.tickets("staging") == []


def test_history_records_ci_facts(lab: Lab, monkeypatch: pytest.MonkeyPatch,
                                  tmp_path: Path) -> None:
    (version,) = lab.versions(1)
    monkeypatch.setenv("GITHUB_ACTIONS", "true")
    monkeypatch.setenv("GITHUB_SERVER_URL", "https://github.example")
    monkeypatch.setenv("GITHUB_REPOSITORY", "org/fraud")
    monkeypatch.setenv("GITHUB_RUN_ID", "4242")
    monkeypatch.setenv("GITHUB_ACTOR", "octocat")
    monkeypatch.setenv("GITHUB_OUTPUT", str(tmp_path / "gh-output"))
    result = lab.promote("production", version=version)
    assert result.code == 0, result.stdout + result.stderr
    (entry,) = lab.history("production")
    assert (entry["actor"], entry["run_url"]) == (
        "octocat", "https://github.example/org/fraud/actions/runs/4242")
    written = (tmp_path / "gh-output").read_text()
    assert "version<<ghadelimiter_" in written and "\n1\nghadelimiter_" in written


def gate_failure(lab: Lab, which: str, uri: str, key: KeyPair) -> str:
    """Make exactly one gate fail; return the words its message must contain."""
    if which == "validate":
        lab.write_result("validate", "fail", model=uri)
        return "verdict fail"
    if which == "compare-other-model":
        other = lab.run_uri("other")
        lab.write_result("compare", "pass", model=other)
        return "not the promoted model's run"
    if which == "compare-warn":
        lab.write_result("compare", "warn", model=uri)
        return "pass --allow-warn"
    if which == "validate-predictions-only":
        lab.write_result("validate", "pass", model=None)
        return "names no model"
    if which == "lineage-digest":
        lineage_doc(lab, lab.model_dir("built-from-other-files"), key=key.private_pem)
        return "lineage records model digest sha256:"
    if which == "lineage-no-git":
        lineage_doc(lab, lab.root / "models" / "cand", key=key.private_pem, no_git=True)
        return "no commit recorded"
    raise AssertionError(which)


@pytest.mark.parametrize("which", ["validate", "compare-other-model", "compare-warn",
                                   "validate-predictions-only", "lineage-digest",
                                   "lineage-no-git"])
def test_each_gate_failing_alone_changes_nothing(lab: Lab, keys: dict[str, KeyPair],
                                                 which: str) -> None:
    (old,) = lab.versions(1)
    assert lab.promote("production", version=old).code == 0
    before = (lab.version_count(), lab.history("production"))
    uri, digest, folder = signed_run(lab, keys)
    all_gates_pass(lab, uri, digest, folder, keys["ours"])
    lab.write_result("compare", "pass", model=uri, digest=digest)
    expected = gate_failure(lab, which, uri, keys["ours"])

    result = lab.promote("production", model=uri, require=(ALL_GATES,),
                         public_key=str(keys["ours"].public_path))

    assert result.code == 1, result.stdout + result.stderr
    doc = result.doc("promote")
    failed = [c for c in doc["checks"] if c["status"] == "fail"]
    assert len(failed) == 1 and expected in failed[0]["message"], doc["checks"]
    assert doc["checks"][-1]["name"] == "alias" and doc["checks"][-1]["status"] == "skip"
    assert (lab.version_count(), lab.history("production")) == before
    assert lab.alias("production") == old
    assert lab.tickets("production") == []


@pytest.mark.parametrize("which", ["unsigned", "tampered", "other-key", "no-public-key"])
def test_signature_gate_failing_alone(lab: Lab, keys: dict[str, KeyPair], which: str) -> None:
    folder = lab.model_dir("cand", None if which == "unsigned" else
                           keys["theirs" if which == "other-key" else "ours"].private_pem)
    from mlci.promote.candidate import digest_of

    digest = digest_of(folder)
    if which == "tampered":
        (folder / "weights.bin").write_bytes(b"swapped after signing")
        digest = digest_of(folder)
    uri = f"runs:/{lab.log_run(folder)}/model"
    all_gates_pass(lab, uri, digest, folder, keys["ours"])
    lab.write_result("compare", "pass", model=uri)
    public = None if which == "no-public-key" else str(keys["ours"].public_path)

    result = lab.promote("production", model=uri, require=(ALL_GATES,), public_key=public)

    assert result.code == 1, result.stdout + result.stderr
    checks = {c["name"]: c for c in result.doc("promote")["checks"]}
    assert [n for n, c in checks.items() if c["status"] == "fail"] == ["signature"]
    expected = {"unsigned": "the model is not signed", "tampered": "changed after signing",
                "other-key": "does not verify with the given public key",
                "no-public-key": "pass --public-key"}[which]
    assert expected in checks["signature"]["message"]
    assert lab.version_count() == 0  # nothing registered


def lineage_attack(lab: Lab, which: str, folder: Path, uri: str, digest: str,
                   keys: dict[str, KeyPair]) -> str:
    """Put in place the lineage.json an attacker (or a careless job) would leave; return
    the words the failing lineage gate must say."""
    path = lab.out / "lineage.json"
    if which == "result-document":
        path.unlink()
        lab.write_result("lineage", "pass", model=uri, digest=digest, lineage={
            "commit": "c" * 40, "data_id": "sha256:" + "d" * 64, "model_digest": digest})
        return "it is a result document, not a signed lineage record"
    lineage_doc(lab, folder, key={"unsigned": None, "stripped": keys["ours"].private_pem,
                                  "other-key": keys["theirs"].private_pem,
                                  "edited": keys["ours"].private_pem}[which])
    record = json.loads(path.read_text())
    if which == "stripped":
        del record["attestation"]  # an edited record with its signature taken off
        record["git"]["commit"] = "e" * 40
    if which == "edited":
        record["git"]["commit"] = "e" * 40
    path.write_text(json.dumps(record))
    return {"unsigned": "the lineage record is not signed, so the commit and data IDs could "
                        "have been written by anyone; with --public-key the lineage gate needs "
                        "<out>/lineage.json signed by that key (`mlci lineage tag --key`)",
            "stripped": "the lineage record is not signed",
            "other-key": "the record signature does not verify with the given public key",
            "edited": "git.commit was edited after signing: signed "}[which]


@pytest.mark.parametrize("which", ["unsigned", "stripped", "other-key", "edited",
                                   "result-document"])
def test_with_a_public_key_the_lineage_gate_wants_a_record_signed_by_it(
        lab: Lab, keys: dict[str, KeyPair], which: str) -> None:
    """`--public-key` vouches for the lineage too: an unsigned record (or one whose
    signature was taken off, made with another key, or edited after signing) fails the
    gate with exit 1, and nothing in the registry changes."""
    uri, digest, folder = signed_run(lab, keys)
    all_gates_pass(lab, uri, digest, folder, keys["ours"])
    lab.write_result("compare", "pass", model=uri, digest=digest)
    expected = lineage_attack(lab, which, folder, uri, digest, keys)

    result = lab.promote("production", model=uri, require=(ALL_GATES,),
                         public_key=str(keys["ours"].public_path))

    assert result.code == 1, result.stdout + result.stderr
    checks = {c["name"]: c for c in result.doc("promote")["checks"]}
    assert [n for n, c in checks.items() if c["status"] == "fail"] == ["lineage"]
    message = checks["lineage"]["message"]
    assert message.startswith(f"{lab.out / 'lineage.json'}: "), message
    if which == "unsigned":
        assert message == f"{lab.out / 'lineage.json'}: {expected}"
    assert expected in message, message
    assert checks["alias"]["status"] == "skip"
    # nothing registered: not even the model name, so no alias, history or queue ticket
    assert lab.client.search_registered_models(f"name = '{lab.name}'") == []


def test_without_a_public_key_an_unsigned_record_is_still_accepted(
        lab: Lab, keys: dict[str, KeyPair]) -> None:
    """The key is what asks for signed lineage: the same unsigned record passes without it."""
    uri, _, folder = signed_run(lab, keys)
    lab.write_result("validate", "pass", model=uri)
    lineage_doc(lab, folder, key=None)

    result = lab.promote("production", model=uri, require=("validate,lineage",))

    assert result.code == 0, result.stdout + result.stderr
    lineage = result.doc("promote")["checks"][1]
    assert (lineage["name"], lineage["status"]) == ("lineage", "pass")
    assert lineage["message"].endswith("; model digest matches"), lineage["message"]


def test_lineage_from_run_tags_needs_no_key_and_fails_with_one(
        lab: Lab, keys: dict[str, KeyPair]) -> None:
    """Without lineage.json the gate reads the `mlci.lineage.*` tags of the model's run:
    anyone who can write to the run can set them, so with --public-key they do not count."""
    uri, digest, _ = signed_run(lab, keys)
    run_id = uri.split("/")[1]
    for key, value in {"mlci.lineage.commit": "a" * 40, "mlci.lineage.dirty": "false",
                       "mlci.lineage.data_id": "sha256:" + "b" * 64,
                       "mlci.lineage.model_digest": digest}.items():
        lab.client.set_tag(run_id, key, value)

    keyed = lab.promote("production", model=uri, require=("lineage",),
                        public_key=str(keys["ours"].public_path))
    assert keyed.code == 1, keyed.stdout + keyed.stderr
    check = keyed.doc("promote")["checks"][0]
    assert (check["name"], check["status"]) == ("lineage", "fail")
    assert check["message"] == (
        f"tags of run {run_id}: the run's mlci.lineage.* tags are not signed, so the commit and "
        "data IDs could have been written by anyone; with --public-key the lineage gate needs "
        "<out>/lineage.json signed by that key (`mlci lineage tag --key`)")
    assert lab.version_count() == 0

    plain = lab.promote("production", model=uri, require=("lineage",))
    assert plain.code == 0, plain.stdout + plain.stderr
    check = plain.doc("promote")["checks"][0]
    assert check["message"] == (f"tags of run {run_id}: commit {'a' * 12}, data "
                                "sha256:bbbbbbbbbbbb…; model digest matches")
    assert lab.client.get_model_version(lab.name, "1").tags["mlci.lineage.commit"] == "a" * 40


def test_promote_is_idempotent(lab: Lab) -> None:
    uri = lab.run_uri("one")
    lab.write_result("validate", "pass", model=uri)
    first = lab.promote("staging", model=uri, require=("validate",))
    second = lab.promote("staging", model=uri, require=("validate",))
    assert (first.code, second.code) == (0, 0)
    assert second.doc("promote")["checks"][-1]["message"] == \
        "staging already holds v1; nothing to do"
    assert second.doc("promote")["changed"] is False
    assert lab.version_count() == 1
    assert len(lab.history("staging")) == 1
    assert second.outputs("promote")["VERSION"] == "1"


def test_alias_moved_outside_mlci_is_refused_then_adopted_with_force(lab: Lab) -> None:
    v1, v2, v3 = lab.versions(3)
    assert lab.promote("production", version=v1).code == 0
    lab.client.set_registered_model_alias(lab.name, "production", str(v2))  # by hand, in the UI

    refused = lab.promote("production", version=v3)
    assert refused.code == 1
    message = refused.doc("promote")["checks"][-1]["message"]
    assert message.startswith("production holds v2, but its history's last entry is: promote "
                              "(none) → v1 by tester")
    assert "pass --force" in message
    assert lab.alias("production") == v2
    new_model = lab.promote("production", model=lab.run_uri("fresh"))
    assert new_model.code == 1
    assert lab.version_count() == 3  # refused before registering anything

    forced = lab.promote("production", version=v3, force=True)
    assert forced.code == 0, forced.stdout
    assert [(e["from_version"], e["to_version"]) for e in lab.history("production")] == [
        (None, 1), (2, 3)]
    assert lab.alias("production") == v3


def test_lost_race_against_a_writer_outside_mlci(lab: Lab, monkeypatch: pytest.MonkeyPatch
                                                 ) -> None:
    """Another writer (not mlci: no queue ticket) moves the alias between our alias write and
    our history append: the run must report the loss, name the winner, and leave no entry."""
    v1, v2, v3 = lab.versions(3)
    assert lab.promote("production", version=v1).code == 0
    from mlci.registry.client import Registry

    original = Registry.set_model_tag

    def racing(self: Registry, name: str, key: str, value: str, policy: object = None) -> None:
        if key.startswith("mlci.history.production."):
            lab.client.set_registered_model_alias(lab.name, "production", str(v3))
        original(self, name, key, value, policy)  # type: ignore[arg-type]

    monkeypatch.setattr(Registry, "set_model_tag", racing)
    result = lab.promote("production", version=v2)
    assert result.code == 1
    message = result.doc("promote")["checks"][-1]["message"]
    assert message == ("lost a race: production held v2 briefly, then v3, set by a writer "
                       "outside mlci (no history entry or queue ticket names it); this run's "
                       "history entry was withdrawn")
    assert [e["to_version"] for e in lab.history("production")] == [1]
    assert lab.alias("production") == v3
    assert lab.tickets("production") == []


@pytest.mark.parametrize(("case", "expected"), [
    ("unknown-name", "no registered model of that name"),
    ("missing-version", "has no version 99"),
    ("alias-latest", "--alias latest: reserved by MLflow"),
    ("alias-v3", "--alias v3: reserved by MLflow"),
    ("alias-V12", "--alias V12: reserved by MLflow"),
    ("alias-chars", "expected letters, digits"),
    ("model-and-version", "exactly one of --model"),
    ("no-such-folder", "no such model folder"),
    ("result-not-json", "validate.json: not valid JSON"),
    ("result-bad-verdict", "validate.json: verdict: 'maybe' is not one of"),
    ("result-no-checks", "validate.json: (top level): 'checks' is a required property"),
    ("result-wrong-step", "validate.json: step: 'compare', expected 'validate'"),
    ("result-missing", "validate.json: missing"),
    ("result-deeply-nested", "validate.json: not valid JSON (nested too deeply); expected an "
                             "mlci result document"),
    ("lineage-deeply-nested", "lineage.json: not valid JSON (nested too deeply); expected the "
                              "lineage.json written by `mlci lineage tag`"),
    ("bad-gate-name", "--require ../x"),
    ("bad-public-key", "not a PEM public key"),
])
def test_bad_input_exits_2_and_changes_nothing(lab: Lab, case: str, expected: str) -> None:
    (version,) = lab.versions(1)
    options: dict[str, object] = {"version": version, "require": ("validate",)}
    alias = "production"
    doc = lab.write_result("validate", "pass", model=f"models:/{lab.name}/{version}")
    if case == "unknown-name":
        options["name"] = "no-such-model"
    elif case == "missing-version":
        options["version"] = 99
    elif case.startswith("alias-"):
        alias = {"alias-latest": "latest", "alias-v3": "v3", "alias-V12": "V12",
                 "alias-chars": "prod.eu"}[case]
    elif case == "model-and-version":
        options["model"] = "runs:/abc/model"
    elif case == "no-such-folder":
        options = {"model": "nowhere/model"}
    elif case == "result-not-json":
        doc.write_text("{not json")
    elif case == "result-bad-verdict":
        doc.write_text(doc.read_text().replace('"verdict": "pass"', '"verdict": "maybe"'))
    elif case == "result-no-checks":
        loaded = json.loads(doc.read_text())
        del loaded["checks"]
        doc.write_text(json.dumps(loaded))
    elif case == "result-wrong-step":
        doc.write_text(doc.read_text().replace('"step": "validate"', '"step": "compare"'))
    elif case == "result-missing":
        doc.unlink()
    elif case == "result-deeply-nested":
        doc.write_text("[" * 200_000 + "]" * 200_000)
    elif case == "lineage-deeply-nested":
        options["require"] = ("validate,lineage",)
        (lab.out / "lineage.json").write_text('{"a": ' * 200_000 + "1" + "}" * 200_000)
    elif case == "bad-gate-name":
        options["require"] = ("validate,../x",)
    elif case == "bad-public-key":
        options["public_key"] = "-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----"

    result = lab.promote(alias, **options)

    assert result.code == 2, result.stdout + result.stderr
    assert result.stderr.startswith("mlci promote: error: ")
    assert expected in result.stderr, result.stderr
    assert lab.tags() == {}
    assert lab.version_count() == 1


def test_registering_from_a_run_is_reused_on_rerun(lab: Lab) -> None:
    uri = lab.run_uri("one")
    assert lab.promote("staging", model=uri).code == 0
    lab.client.delete_registered_model_alias(lab.name, "staging")
    # History says v1 but the alias is gone: a re-run must not register v2 for the same URI.
    again = lab.promote("staging", model=uri, force=True)
    assert again.code == 0, again.stdout
    assert lab.version_count() == 1
    assert lab.alias("staging") == 1



def test_mlflow3_logged_model_has_one_digest_before_and_after_registration(lab: Lab) -> None:
    """`runs:/<run>/model` of a `log_model` model resolves to a logged model, and MLflow adds
    a `registered_model_meta` receipt to such downloads; the digest must not see it, or a
    gate earned before registration would fail after it."""
    import mlflow
    import mlflow.sklearn
    import numpy as np
    from sklearn.linear_model import LogisticRegression

    from mlci.promote.candidate import digest_of
    from mlci.registry.client import Registry

    before = mlflow.get_tracking_uri()
    mlflow.set_tracking_uri(lab.url)
    try:
        features = np.arange(40, dtype=float).reshape(20, 2)
        with mlflow.start_run() as run:
            # Explicit requirements: inferring them would run a subprocess for seconds.
            mlflow.sklearn.log_model(LogisticRegression().fit(features, [0, 1] * 10),
                                     name="model", pip_requirements=["scikit-learn"])
    finally:
        mlflow.set_tracking_uri(before)
    uri = f"runs:/{run.info.run_id}/model"
    registry = Registry(lab.url)
    digest = digest_of(registry.download(uri, str(lab.root / "dl")))
    lab.write_result("compare", "pass", model=None, digest=digest)

    staged = lab.promote("staging", model=uri, require=("compare",))
    assert staged.code == 0, staged.stdout + staged.stderr
    prod = lab.promote("production", model=f"models:/{lab.name}@staging", require=("compare",))
    assert prod.code == 0, prod.stdout + prod.stderr
    assert lab.client.get_model_version(lab.name, "1").tags["mlci.model_digest"] == digest


def test_a_local_model_folder_is_uploaded_to_a_remote_server(lab: Lab,
                                                             keys: dict[str, KeyPair]) -> None:
    """A tracking server refuses a version whose source is a path on the runner's disk:
    the folder's files are copied byte for byte (signature included) into a logged model
    in the server's artifact store, and that copy registered, so the digest the gates
    checked is the digest of the registered files."""
    from mlci.promote.candidate import digest_of
    from mlci.registry.client import Registry

    folder = lab.model_dir("local", keys["ours"].private_pem)
    digest = digest_of(folder)
    lab.write_result("validate", "pass", model=str(folder), digest=digest)
    first = lab.promote("staging", model=str(folder), require=("validate",))
    assert first.code == 0, first.stderr
    version = first.outputs("promote")["VERSION"]
    registered = lab.client.get_model_version(lab.name, version)
    assert registered.source.startswith("models:/m-"), registered.source
    assert registered.tags["mlci.model_digest"] == digest
    files = Registry(lab.url).download_version(lab.name, int(version), str(lab.root / "dl"))
    assert sorted(p.name for p in files.iterdir()) == ["MLmodel", "mlci.sig", "weights.bin"]
    assert digest_of(files) == digest
    assert (files / "mlci.sig").read_bytes() == (folder / "mlci.sig").read_bytes()
    again = lab.promote("staging", model=str(folder), require=("validate",))
    assert again.code == 0
    assert lab.version_count() == 1
