"""Rollback and history against a real `mlflow server` (SQLite backend)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.promote.conftest import Lab, in_github_job, run_cli


def moves(lab: Lab, alias: str) -> list[tuple[str, int | None, int]]:
    return [(e["action"], e["from_version"], e["to_version"]) for e in lab.history(alias)]


def promoted(lab: Lab, count: int, alias: str = "production") -> list[int]:
    versions = lab.versions(count)
    for version in versions:
        result = lab.promote(alias, version=version, out=lab.root / f"job-{version}")
        assert result.code == 0, result.stdout + result.stderr
    return versions


def test_rollback_goes_to_the_previous_version_and_is_idempotent(lab: Lab) -> None:
    promoted(lab, 3)
    first = lab.rollback("production", "deploy failed in run 17")
    assert first.code == 0, first.stdout + first.stderr
    assert lab.alias("production") == 2
    assert first.outputs("rollback") == {
        "VERDICT": "pass", "RESULT_PATH": str(lab.out / "rollback.json"),
        "JUNIT_PATH": str(lab.out / "rollback.junit.xml"), "VERSION": "2",
        "PREVIOUS_VERSION": "3"}
    assert "outputs" not in first.doc("rollback")  # CI outputs, not part of the document

    again = lab.rollback("production", "deploy failed in run 17")
    assert again.code == 0
    assert again.doc("rollback")["changed"] is False
    assert lab.alias("production") == 2  # not two versions back

    later = lab.rollback("production", "v2 also fails the smoke test")
    assert later.code == 0
    assert lab.alias("production") == 1
    assert moves(lab, "production") == [
        ("promote", None, 1), ("promote", 1, 2), ("promote", 2, 3), ("rollback", 3, 2),
        ("rollback", 2, 1)]
    assert [e["reason"] for e in lab.history("production")][-2:] == [
        "deploy failed in run 17", "v2 also fails the smoke test"]

    nothing_left = lab.rollback("production", "and v1?")
    assert nothing_left.code == 1
    assert nothing_left.doc("rollback")["checks"][0]["message"] == (
        "production has no earlier version in its history to go back to (held: v1)")


def test_a_hostile_promote_json_is_set_aside_not_an_internal_error(lab: Lab) -> None:
    """A promote.json nested a hundred thousand deep says nothing about this run: the
    rollback goes back one step in the history, as with no promote.json at all."""
    promoted(lab, 2)
    lab.out.mkdir(parents=True)
    (lab.out / "promote.json").write_text("[" * 200_000 + "]" * 200_000)
    result = lab.rollback("production", "deploy failed")
    assert result.code == 0, result.stdout + result.stderr
    assert lab.alias("production") == 1
    assert result.doc("rollback")["checks"][0]["message"] == (
        "production: v2 → v1 (one step back in production's history: undoes promote v1 → v2 "
        "by tester at " + lab.history("production")[1]["time"] + ")")


def test_rollback_to_a_given_version(lab: Lab) -> None:
    promoted(lab, 3)
    result = lab.rollback("production", "back to the audited one", to_version=1)
    assert result.code == 0, result.stdout + result.stderr
    assert lab.alias("production") == 1
    assert moves(lab, "production")[-1] == ("rollback", 3, 1)
    # Forward again to a version that held the alias is allowed, too.
    assert lab.rollback("production", "v3 was fine after all", to_version=3).code == 0
    assert lab.alias("production") == 3


def test_rollback_refuses_never_held_and_deleted_versions(lab: Lab) -> None:
    promoted(lab, 2)
    (never,) = lab.versions(1)  # v3, registered, never on production
    result = lab.rollback("production", "r", to_version=never)
    assert result.code == 2
    assert result.stderr == ("mlci rollback: error: --to-version 3: v3 never held production "
                             "in its history; versions that did: v2, v1\n")
    lab.client.delete_model_version(lab.name, "1")
    deleted = lab.rollback("production", "r", to_version=1)
    assert deleted.code == 2
    assert "--to-version 1: " in deleted.stderr and "has no version 1 (deleted" in deleted.stderr
    implicit = lab.rollback("production", "deploy failed")
    assert implicit.code == 1
    assert implicit.doc("rollback")["checks"][0]["message"] == (
        "the version to go back to, v1, was deleted; pass --to-version N with a version that "
        "still exists")
    assert lab.alias("production") == 2
    assert len(lab.history("production")) == 2


def test_rollback_in_the_promoting_job_undoes_only_that_promotion(
        lab: Lab, monkeypatch: pytest.MonkeyPatch) -> None:
    _v1, v2 = promoted(lab, 2)
    in_github_job(monkeypatch, lab.root)
    (v3,) = lab.versions(1)
    job = lab.root / "deploy-job"
    # The job's promote fails its gate: `if: failure()` runs rollback, which must not touch
    # production, whose v2 was put there by someone else and is fine.
    lab.write_result("validate", "fail", model=f"models:/{lab.name}/{v3}")
    (job / "validate.json").parent.mkdir(parents=True, exist_ok=True)
    (job / "validate.json").write_text((lab.out / "validate.json").read_text())
    gated = lab.promote("production", version=v3, require=("validate",), out=job)
    assert gated.code == 1
    undo = lab.rollback("production", "deploy failed", out=job)
    assert undo.code == 0, undo.stdout
    assert undo.doc("rollback")["checks"][0]["message"].startswith(
        "this job's promote did not move production (not promoted: gate(s) validate failed)")
    assert lab.alias("production") == v2

    # The same job promoting successfully, then failing to deploy: exactly that is undone.
    (job / "validate.json").unlink()
    moved = lab.promote("production", version=v3, out=job)
    assert moved.code == 0
    assert lab.rollback("production", "deploy failed", out=job).code == 0
    assert lab.alias("production") == v2
    assert moves(lab, "production")[-2:] == [("promote", 2, 3), ("rollback", 3, 2)]


def test_rollback_in_the_promoting_job_refuses_when_someone_promoted_since(
        lab: Lab, monkeypatch: pytest.MonkeyPatch) -> None:
    promoted(lab, 1)
    v2, v3 = lab.versions(2)
    job = lab.root / "slow-job"
    in_github_job(monkeypatch, lab.root, run_id="17")
    assert lab.promote("production", version=v2, out=job).code == 0
    in_github_job(monkeypatch, lab.root, run_id="18")
    assert lab.promote("production", version=v3, out=lab.root / "fast-job").code == 0
    in_github_job(monkeypatch, lab.root, run_id="17")
    late = lab.rollback("production", "deploy of v2 failed", out=job)
    assert late.code == 1
    assert late.doc("rollback")["checks"][0]["message"] == (
        "this job promoted v2, but production now holds v3: someone moved it since, and their "
        "move is not this run's to undo; pass --to-version N to choose")
    assert lab.alias("production") == v3


def test_history_text_json_and_cli(lab: Lab) -> None:
    promoted(lab, 2)
    assert lab.rollback("production", "smoke test failed").code == 0
    text = lab.history_cmd("production")
    assert text.code == 0 and text.stderr == ""
    lines = text.stdout.splitlines()
    assert lines[0] == f"{lab.name}@production holds v1; 3 history entries (oldest first)"
    assert "rollback" in lines[-2] and lines[-1] == "      reason: smoke test failed"

    cli = run_cli("history", "--name", lab.name, "--alias", "production", "--registry",
                  lab.url, "--format", "json", cwd=lab.root, env={"USER": "tester"})
    assert cli.returncode == 0, cli.stderr
    entries = json.loads(cli.stdout)
    assert [(e["action"], e["from_version"], e["to_version"], e["actor"], e["gates"],
             e["reason"]) for e in entries] == [
        ("promote", None, 1, "tester", [], None), ("promote", 1, 2, "tester", [], None),
        ("rollback", 2, 1, "tester", [], "smoke test failed")]
    assert all(list(e) == ["action", "from_version", "to_version", "time", "actor", "run_url",
                           "gates", "reason"] for e in entries)

    missing = lab.history_cmd("production", name="no-such-model")
    assert missing.code == 2
    assert missing.stderr.startswith("mlci history: error: --name no-such-model: no registered")


def test_history_warns_about_a_move_outside_mlci_and_repair_records_it(lab: Lab) -> None:
    v1, v2 = promoted(lab, 2)
    lab.client.set_registered_model_alias(lab.name, "production", str(v1))
    shown = lab.history_cmd("production")
    assert shown.code == 0
    assert shown.stderr.startswith("mlci history: warning: production holds v1, but its "
                                   "history's last entry is: promote v1 → v2"), shown.stderr
    assert len(shown.stderr.splitlines()) == 1
    repaired = lab.history_cmd("production", repair=True)
    assert repaired.code == 0
    assert repaired.stdout.startswith("recorded a move made outside mlci: promote v2 → v1 by "
                                      "tester")
    assert moves(lab, "production")[-1] == ("promote", 2, 1)
    assert lab.history("production")[-1]["reason"] == (
        "recorded by `mlci history --repair`: the alias was moved outside mlci")
    assert lab.history_cmd("production").stderr == ""
    assert not lab.out.exists()  # history prints; it writes nothing to the out folder
    # Now consistent again: a normal promotion goes through without --force.
    assert lab.promote("production", version=v2).code == 0


def test_cli_help_has_worked_examples(laptop: Path) -> None:
    for step in ("promote", "rollback", "history"):
        result = run_cli(step, "--help", cwd=laptop)
        assert result.returncode == 0, result.stderr
        assert "Examples:" in result.stdout and f"mlci {step} --name fraud" in result.stdout


def test_the_kill_switch_works_from_a_laptop_with_an_old_promote_json(
        lab: Lab, monkeypatch: pytest.MonkeyPatch) -> None:
    """`.mlci/promote.json` left from a CI run weeks ago (or a local promote) names a move
    that is not this run's: the documented kill switch goes back one step in the alias
    history and says which move it undid, instead of refusing."""
    v1, v2 = lab.versions(2)
    run_9 = in_github_job(monkeypatch, lab.root, run_id="9")
    assert lab.promote("production", version=v1).code == 0  # writes lab.out/promote.json
    in_github_job(monkeypatch, lab.root, run_id="10")
    assert lab.promote("production", version=v2, out=lab.root / "run-10").code == 0
    for name in ("GITHUB_ACTIONS", "GITHUB_RUN_ID", "GITHUB_JOB", "GITHUB_OUTPUT",
                 "GITHUB_STEP_SUMMARY"):
        monkeypatch.delenv(name)
    assert json.loads((lab.out / "promote.json").read_text())["run"] == "github:org/fraud/9"

    result = lab.rollback("production", "kill switch: v2 misbehaves")

    assert result.code == 0, result.stdout + result.stderr
    assert lab.alias("production") == v1
    doc = result.doc("rollback")
    assert doc["summary"] == "rolled production back to v1"
    message = doc["checks"][0]["message"]
    assert message.startswith("production: v2 → v1 (one step back in production's history: "
                              "undoes promote v1 → v2 by octocat at "), message
    assert message.endswith(f"({run_9.replace('/9', '/10')})); {lab.out / 'promote.json'} was "
                            "set aside: outside CI no promote.json can be told to be this "
                            "run's"), message
    assert moves(lab, "production")[-1] == ("rollback", v2, v1)


def test_in_ci_a_promote_json_of_another_run_is_set_aside(
        lab: Lab, monkeypatch: pytest.MonkeyPatch) -> None:
    v1, v2 = lab.versions(2)
    in_github_job(monkeypatch, lab.root, run_id="9")
    assert lab.promote("production", version=v1).code == 0
    in_github_job(monkeypatch, lab.root, run_id="10")
    assert lab.promote("production", version=v2, out=lab.root / "run-10").code == 0
    in_github_job(monkeypatch, lab.root, run_id="11", job="kill-switch")
    result = lab.rollback("production", "manual kill switch in run 11")
    assert result.code == 0, result.stdout + result.stderr
    assert lab.alias("production") == v1
    assert result.doc("rollback")["checks"][0]["message"].endswith(
        f"{lab.out / 'promote.json'} was set aside: it was written by another run "
        "(github:org/fraud/9)")


def test_a_promote_json_of_this_run_keeps_its_guard_across_jobs(
        lab: Lab, monkeypatch: pytest.MonkeyPatch) -> None:
    """GitLab's rollback job is another job of the same pipeline, with the promote job's
    promote.json as an artifact: that is this run's promotion, guarded as before."""
    v1, v2, v3 = lab.versions(3)
    assert lab.promote("production", version=v1).code == 0
    for name, value in {"GITLAB_CI": "true", "CI_PROJECT_ID": "7", "CI_PIPELINE_ID": "70",
                        "CI_JOB_NAME": "mlci-promote", "GITLAB_USER_LOGIN": "dev"}.items():
        monkeypatch.setenv(name, value)
    assert lab.promote("production", version=v2, out=lab.root / "pipeline-70").code == 0
    monkeypatch.setenv("CI_PIPELINE_ID", "71")
    assert lab.promote("production", version=v3, out=lab.root / "pipeline-71").code == 0
    monkeypatch.setenv("CI_PIPELINE_ID", "70")
    monkeypatch.setenv("CI_JOB_NAME", "mlci-rollback")
    late = lab.rollback("production", "deploy failed", out=lab.root / "pipeline-70")
    assert late.code == 1
    assert late.doc("rollback")["checks"][0]["message"] == (
        "this job promoted v2, but production now holds v3: someone moved it since, and their "
        "move is not this run's to undo; pass --to-version N to choose")
    assert lab.alias("production") == v3
