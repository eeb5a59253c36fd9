"""The CI identity that tells a job's re-run from another job or matrix leg."""

from __future__ import annotations

from mlci.promote import identity

GITHUB = {"GITHUB_ACTIONS": "true", "GITHUB_REPOSITORY": "org/app", "GITHUB_RUN_ID": "77",
          "GITHUB_JOB": "canary"}


def test_a_github_job_is_repository_run_and_job() -> None:
    assert identity.job(GITHUB) == "github:org/app/77/canary"


def test_matrix_legs_are_told_apart_by_their_job_key() -> None:
    """The legs share GITHUB_JOB; without MLCI_JOB_KEY one leg's move would read as
    another's earlier attempt."""
    leg_25 = identity.job({**GITHUB, "MLCI_JOB_KEY": "25"})
    leg_100 = identity.job({**GITHUB, "MLCI_JOB_KEY": "100"})
    assert (leg_25, leg_100) == ("github:org/app/77/canary#25", "github:org/app/77/canary#100")
    assert identity.job({**GITHUB, "MLCI_JOB_KEY": "  "}) == "github:org/app/77/canary"


def test_gitlab_job_name_and_no_identity_outside_ci() -> None:
    gitlab = {"GITLAB_CI": "true", "CI_PROJECT_ID": "5", "CI_PIPELINE_ID": "9",
              "CI_JOB_NAME": "promote"}
    assert identity.job(gitlab) == "gitlab:5/9/promote"
    assert identity.job({"MLCI_JOB_KEY": "1"}) is None
