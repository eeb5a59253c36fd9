"""The release pipelines, offline: .github/workflows/release.yml under the real act on a
tag push (every act run is a dry run: it checks, builds and prints what it would
publish, and never runs the publishing jobs), and the root .gitlab-ci.yml under the
real gitlab-ci-local on a tag pipeline (the components of that commit on examples/,
then the release notes and the release job; gitlab-ci-local ignores `release:`).

Both run on a copy of this tree whose CHANGELOG was dated by `scripts/release.py bump`
for the current version, as a release commit is. The build step downloads `build` and
hatchling from the package index (as the real workflow does)."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from .conftest import ActRun, act_runner, checkout_version, copy_tree, git_commit_all
from .gitlab_helpers import Pipeline, gitlab_ci_local, run_pipeline

pytestmark = pytest.mark.e2e

ROOT = Path(__file__).resolve().parents[2]
WORKFLOW = ".github/workflows/release.yml"
# Stands in for the PyPI upload: the dry run must never reach it.
PUBLISH_STAND_IN = """\
name: pypi-publish (test stand-in)
description: Fails, loudly; a dry run must never get here.
runs:
  using: composite
  steps:
    - shell: bash
      run: |
        echo "PUBLISH STAND-IN RAN"
        exit 1
"""


def release_tree(dest: Path, remote: str | None = None) -> Path:
    """This tree as a release commit of its current version: copied, the CHANGELOG's
    Unreleased section dated as that version, committed."""
    tree = copy_tree(ROOT, dest)
    version = checkout_version(tree)
    done = subprocess.run([sys.executable, "scripts/release.py", "bump", version], cwd=tree,
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stdout + done.stderr
    git_commit_all(tree)
    if remote:
        subprocess.run(["git", "remote", "add", "origin", remote], cwd=tree, check=True)
    return tree


@pytest.fixture(scope="module")
def tagged(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return release_tree(tmp_path_factory.mktemp("release") / "mlci")


@pytest.fixture(scope="module")
def publish_stand_ins(stand_ins: dict[str, Path],
                      tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    folder = tmp_path_factory.mktemp("publish-stand-in")
    (folder / "action.yml").write_text(PUBLISH_STAND_IN, encoding="utf-8")
    return {**stand_ins, "pypa/gh-action-pypi-publish": folder}


def run_release(act_bin: str, tree: Path, stand_ins: dict[str, Path], base: Path,
                tag: str) -> ActRun:
    event = base / "event.json"
    base.mkdir(parents=True, exist_ok=True)
    event.write_text(json.dumps({"ref": f"refs/tags/{tag}"}), encoding="utf-8")
    runner = act_runner(act_bin, tree, stand_ins, base)
    return runner(tree, WORKFLOW, timeout=600, extra=["-e", str(event)])


@pytest.fixture(scope="module")
def dry_run(act_bin: str, tagged: Path, publish_stand_ins: dict[str, Path],
            tmp_path_factory: pytest.TempPathFactory) -> ActRun:
    return run_release(act_bin, tagged, publish_stand_ins, tmp_path_factory.mktemp("act"),
                       f"v{checkout_version(tagged)}")


def test_a_tag_builds_and_checks_but_a_dry_run_publishes_nothing(dry_run: ActRun) -> None:
    version = checkout_version(ROOT)
    assert dry_run.succeeded, dry_run.log[-6000:]
    assert dry_run.lines("| release: dry-run=true (event push)")
    assert dry_run.lines(f"| release: mlci {version}")
    assert dry_run.lines(f"| mlci-{version}-py3-none-any.whl mlci-{version}.tar.gz")
    assert dry_run.lines(f"| dry run: would upload to PyPI: mlci-{version}-py3-none-any.whl "
                         f"mlci-{version}.tar.gz")
    assert dry_run.lines(f"| dry run: would create the GitHub release v{version} with ")
    assert dry_run.lines(f"| dry run: would move v{version.split('.')[0]} to ")
    # only the build job ran: the publishing jobs are skipped, their actions never start
    assert len(dry_run.lines("🏁  Job succeeded")) == 1
    assert "PUBLISH STAND-IN RAN" not in dry_run.log
    assert not dry_run.lines("gh release create")


def test_the_release_notes_are_the_changelog_section(dry_run: ActRun, tagged: Path) -> None:
    version = checkout_version(tagged)
    notes = subprocess.run([sys.executable, "scripts/release.py", "notes", version], cwd=tagged,
                           capture_output=True, text=True, check=True).stdout
    stored = (dry_run.artifact("release-notes") / "notes.md").read_text(encoding="utf-8")
    assert stored == notes and "### Added" in stored
    assert dry_run.lines("|   | - `mlci validate`: model tests (metrics, slices, fairness), "
                         "data tests, latency")


def test_the_built_wheel_carries_its_constraints(dry_run: ActRun, tagged: Path) -> None:
    version = checkout_version(tagged)
    dist = dry_run.artifact("dist")
    assert sorted(p.name for p in dist.iterdir()) == [f"mlci-{version}-py3-none-any.whl",
                                                      f"mlci-{version}.tar.gz"]
    with zipfile.ZipFile(dist / f"mlci-{version}-py3-none-any.whl") as wheel:
        shipped = wheel.read("mlci/constraints.txt").decode()
        meta = wheel.read(f"mlci-{version}.dist-info/METADATA").decode().splitlines()
    assert shipped == (tagged / "mlci" / "constraints.txt").read_text(encoding="utf-8")
    assert "Requires-Dist: mlflow-skinny>=2.16" in meta
    assert "Requires-Dist: mlflow>=2.16; extra == 'server'" in meta


def test_a_tag_that_is_not_the_version_stops_before_building(
        act_bin: str, tagged: Path, publish_stand_ins: dict[str, Path], tmp_path: Path) -> None:
    run = run_release(act_bin, tagged, publish_stand_ins, tmp_path / "act", "v9.9.9")
    assert run.failed, run.log[-4000:]
    assert run.lines(f"| release: tag v9.9.9 does not match mlci/__init__.py, which says "
                     f"{checkout_version(tagged)}")
    assert not run.lines("Build the sdist and the wheel") or not run.lines("would upload")
    assert not (run.base / "artifacts" / "dist").exists()
    assert "PUBLISH STAND-IN RAN" not in run.log


# ---------------------------------------------------------------- GitLab: the tag pipeline


@pytest.fixture(scope="module")
def gitlab_tag_pipeline(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Pipeline]:
    """The root pipeline at the tag X.Y.Z. Its components are included at
    $CI_COMMIT_SHA of this project, which gitlab-ci-local reads from the working tree;
    the setup.yml they include `local:` it looks up where GitLab would fetch it, the
    project at that commit, laid here as it would be."""
    gitlab_ci_local()
    tree = release_tree(tmp_path_factory.mktemp("gitlab") / "mlci",
                        remote="https://gitlab.com/org/mlci.git")
    sha = subprocess.run(["git", "rev-parse", "HEAD"], cwd=tree, capture_output=True,
                         text=True, check=True).stdout.strip()
    shutil.copytree(tree / "templates",
                    tree / ".gitlab-ci-local" / "includes" / "gitlab.com" / "org" / "mlci" / sha
                    / "templates")
    version = checkout_version(tree)
    return tree, run_pipeline(tree, f"CI_COMMIT_TAG={version}", timeout=600)


def test_the_tag_pipeline_tests_the_components_then_releases(
        gitlab_tag_pipeline: tuple[Path, Pipeline]) -> None:
    tree, pipeline = gitlab_tag_pipeline
    version = checkout_version(tree)
    assert pipeline.returncode == 0, pipeline.describe()
    assert pipeline.statuses == {
        "train": "PASS", "mlci-validate": "PASS", "mlci-compare": "PASS",
        "mlci-lineage": "PASS", "mlci-report": "PASS", "release-notes": "PASS",
        "release": "PASS"}
    notes = subprocess.run([sys.executable, "scripts/release.py", "notes", version], cwd=tree,
                           capture_output=True, text=True, check=True).stdout
    artifact = pipeline.artifact("release-notes", "release-notes.md")
    assert artifact.read_text(encoding="utf-8") == notes
    assert f"mlci {version} → GitLab release and CI/CD Catalog" in pipeline.log("release")
    # every component job ran this commit's templates with mlci already on PATH
    assert f"mlci {version} is already on PATH" in pipeline.log("mlci-validate")


def test_a_branch_pipeline_does_not_release(gitlab_tag_pipeline: tuple[Path, Pipeline]) -> None:
    tree, _ = gitlab_tag_pipeline
    listed = subprocess.run([str(gitlab_ci_local()), "--list", "--no-color", "--home",
                             str(tree.parent / "list-home")], cwd=tree, capture_output=True,
                            text=True, timeout=120, env={**os.environ, "GITLAB_CI": "true"})
    assert listed.returncode == 0, listed.stdout + listed.stderr
    jobs = [line.split()[0] for line in listed.stdout.splitlines()[1:] if line.strip()]
    assert "mlci-validate" in jobs and "train" in jobs
    assert "release" not in jobs and "release-notes" not in jobs


def test_a_tag_that_is_not_the_version_fails_the_release_notes(tmp_path: Path) -> None:
    """Checked without the component jobs: only release-notes runs, on a tag whose
    number the tree does not carry."""
    tree = release_tree(tmp_path / "mlci", remote="https://gitlab.com/org/mlci.git")
    sha = subprocess.run(["git", "rev-parse", "HEAD"], cwd=tree, capture_output=True,
                         text=True, check=True).stdout.strip()
    shutil.copytree(tree / "templates", tree / ".gitlab-ci-local" / "includes" / "gitlab.com"
                    / "org" / "mlci" / sha / "templates")
    pipeline = run_pipeline(tree, "CI_COMMIT_TAG=9.9.9", jobs=("release-notes",), timeout=300)
    assert pipeline.statuses.get("release-notes") == "FAIL", pipeline.describe()
    assert (f"release: tag 9.9.9 does not match mlci/__init__.py, which says "
            f"{checkout_version(tree)}") in pipeline.log("release-notes")

