"""Releases (docs/releasing.md): one version everywhere, the release checks and
their failure messages, the release workflow and pipeline as files, the
constraints file, and what a listing needs (license, changelog, security policy,
action branding, a README section per component)."""

from __future__ import annotations

import importlib.util
import re
import shutil
import subprocess
import sys
import tarfile
import zipfile
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
import yaml
from packaging.markers import default_environment
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

import mlci
from tests.tools import find_tool

ROOT = Path(__file__).resolve().parents[1]
SHA_PIN = re.compile(r"^[\w.-]+/[\w./-]+@[0-9a-f]{40}$")
# What `check` reads, copied for the tests that change it.
RELEASE_FILES = ("mlci/__init__.py", "mlci/constraints.txt", "pyproject.toml", "CHANGELOG.md",
                 "setup/action.yml", "examples/.gitlab-ci.yml", "scripts/constraints.py",
                 "scripts/release.py")


def load_script(name: str) -> ModuleType:
    spec = importlib.util.spec_from_file_location(f"mlci_script_{name}",
                                                  ROOT / "scripts" / f"{name}.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


release = load_script("release")
constraints = load_script("constraints")


def load(path: Path) -> dict[str, Any]:
    loaded = yaml.safe_load(path.read_text(encoding="utf-8"))
    assert isinstance(loaded, dict), path
    return loaded


@pytest.fixture
def tree(tmp_path: Path) -> Path:
    """The files a release check reads, copied (a change there stays in the test)."""
    for name in RELEASE_FILES:
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(ROOT / name, tmp_path / name)
    shutil.copytree(ROOT / "templates", tmp_path / "templates")
    return tmp_path


def set_changelog(root: Path, body: str) -> None:
    (root / "CHANGELOG.md").write_text(body, encoding="utf-8")


# ---------------------------------------------------------------- one version everywhere


def test_every_default_names_the_package_version() -> None:
    found = dict(release.defaults())
    templates = {p.name for p in (ROOT / "templates").glob("*.yml")} - {"setup.yml"}
    assert {f"templates/{name}" for name in templates} | {
        "setup/action.yml", "examples/.gitlab-ci.yml"} == set(found)
    assert set(found.values()) == {mlci.__version__}


def test_the_tree_passes_the_release_check() -> None:
    done = subprocess.run([sys.executable, str(ROOT / "scripts" / "release.py"), "check"],
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert done.stdout == f"{mlci.__version__}\n"


def test_setup_action_defaults_to_its_release() -> None:
    inputs = load(ROOT / "setup" / "action.yml")["inputs"]
    assert inputs["mlci-version"]["default"] == mlci.__version__


def test_a_tag_for_another_version_is_refused(tree: Path) -> None:
    with pytest.raises(release.ReleaseError) as caught:
        release.check(tree, tag="v9.9.9")
    assert str(caught.value) == (f"tag v9.9.9 does not match mlci/__init__.py, "
                                 f"which says {mlci.__version__}")


@pytest.mark.parametrize("tag", ["v1.2", "1.2.3-rc1", "vv1.2.3", "1.02.3", "V1.2.3", " 1.2.3"])
def test_only_release_tags_are_release_tags(tag: str) -> None:
    with pytest.raises(release.ReleaseError) as caught:
        release.parse_tag(tag)
    assert str(caught.value) == f"tag {tag!r} is not a release tag (expected vX.Y.Z or X.Y.Z)"


@pytest.mark.parametrize(("tag", "version"), [("v1.2.3", "1.2.3"), ("10.0.0", "10.0.0")])
def test_both_tag_schemes_name_the_version(tag: str, version: str) -> None:
    assert release.parse_tag(tag) == version


def test_a_component_left_on_an_old_version_is_named(tree: Path) -> None:
    path = tree / "templates" / "compare.yml"
    text = path.read_text(encoding="utf-8")
    path.write_text(text.replace(f'default: "{mlci.__version__}"', 'default: "0.0.9"', 1),
                    encoding="utf-8")
    with pytest.raises(release.ReleaseError) as caught:
        release.check(tree)
    assert str(caught.value) == (f"mlci-version defaults differ from {mlci.__version__}: "
                                 "templates/compare.yml (0.0.9)")


def test_a_tag_needs_a_dated_changelog_section(tree: Path) -> None:
    version = mlci.__version__
    set_changelog(tree, f"# Changelog\n\n## [Unreleased]\n\n- things\n\n## [{version}]\n\n- x\n")
    with pytest.raises(release.ReleaseError) as caught:
        release.check(tree, tag=f"v{version}")
    assert str(caught.value) == (f"CHANGELOG.md: the section for {version} has no date "
                                 f"('## [{version}] - YYYY-MM-DD')")
    set_changelog(tree, f"# Changelog\n\n## [{version}] - 2026-01-02\n\n")
    with pytest.raises(release.ReleaseError, match=r"no section .* with notes"):
        release.check(tree, tag=f"v{version}")


def test_bump_sets_every_default_and_dates_the_changelog(tree: Path) -> None:
    set_changelog(tree, "# Changelog\n\n## [Unreleased]\n\n### Fixed\n\n- a bug\n\n"
                        "## [0.0.1] - 2025-01-01\n\n- first\n")
    release.bump("1.2.0", tree, today="2026-12-04", regenerate=False)

    assert release.current_version(tree) == "1.2.0"
    assert {v for _, v in release.defaults(tree)} == {"1.2.0"}
    assert len(release.defaults(tree)) == len(release.defaults())
    changelog = (tree / "CHANGELOG.md").read_text(encoding="utf-8")
    assert changelog == ("# Changelog\n\n## [Unreleased]\n\n## [1.2.0] - 2026-12-04\n\n"
                         "### Fixed\n\n- a bug\n\n## [0.0.1] - 2025-01-01\n\n- first\n")
    assert release.notes("1.2.0", tree) == "### Fixed\n\n- a bug"
    # the constraints were made for the old version: the check says so
    with pytest.raises(release.ReleaseError) as caught:
        release.check(tree, tag="1.2.0")
    assert str(caught.value) == (f"mlci/constraints.txt is for mlci {mlci.__version__}, "
                                 "not 1.2.0; run python scripts/constraints.py")


def test_bump_refuses_an_empty_unreleased_section(tree: Path) -> None:
    set_changelog(tree, "# Changelog\n\n## [Unreleased]\n\n## [0.0.1] - 2025-01-01\n\n- x\n")
    with pytest.raises(release.ReleaseError) as caught:
        release.bump("1.2.0", tree, regenerate=False)
    assert str(caught.value) == "CHANGELOG.md: the Unreleased section is empty: say what changed"


def test_notes_are_the_section_without_link_references(tree: Path) -> None:
    set_changelog(tree, "# Changelog\n\n## [Unreleased]\n\n- soon\n\n"
                        "## [1.1.0] - 2026-02-03\n\n### Added\n\n- `x` step\n\n"
                        "[1.1.0]: https://example.invalid/compare/v1.0.0...v1.1.0\n\n"
                        "## [1.0.0] - 2026-01-01\n\n- first\n")
    assert release.notes("1.1.0", tree) == "### Added\n\n- `x` step"
    assert release.notes("1.0.0", tree) == "- first"
    with pytest.raises(release.ReleaseError):
        release.notes("1.2.0", tree)
    assert release.notes("1.2.0", tree, allow_unreleased=True) == "- soon"


@pytest.mark.parametrize(("version", "tags", "moves"), [
    ("1.2.0", ["refs/tags/v1.1.0", "refs/tags/v1.0.3"], True),
    ("1.2.0", ["refs/tags/v1.1.0", "refs/tags/v1.3.0"], False),   # a patch of an older minor
    ("1.3.1", ["v1.3.0", "v2.0.0", "2.0.0"], True),                # another major does not count
    ("1.2.0", ["v1.2.0", "1.2.0"], True),
    ("1.2.0", ["v1", "v1.9.0-rc1", "v1.10", "latest"], True),     # not release tags
    ("1.9.0", ["v1.10.0"], False),                                 # numbers, not strings
])
def test_the_major_tag_moves_only_to_the_newest(version: str, tags: list[str],
                                                 moves: bool) -> None:
    assert release.newest(version, tags) is moves


def test_the_newest_command_reads_tags_from_stdin() -> None:
    script = [sys.executable, str(ROOT / "scripts" / "release.py"), "newest", "1.2.0"]
    older = subprocess.run(script, input="refs/tags/v1.1.0\n", capture_output=True, text=True)
    newer = subprocess.run(script, input="refs/tags/v1.3.0\n", capture_output=True, text=True)
    assert (older.returncode, newer.returncode) == (0, 1)


def test_tag_makes_both_schemes_and_moves_the_major(tree: Path,
                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    version = mlci.__version__
    major = f"v{version.split('.')[0]}"
    set_changelog(tree, f"# Changelog\n\n## [{version}] - 2026-12-04\n\n- it\n")
    identity = {"GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@x.invalid",
                "GIT_COMMITTER_NAME": "t", "GIT_COMMITTER_EMAIL": "t@x.invalid"}
    for name, value in identity.items():
        monkeypatch.setenv(name, value)
    env = {**identity, "PATH": "/usr/bin:/bin"}
    for args in (["init", "-q", "-b", "main"], ["add", "-A"],
                 ["commit", "-q", "--no-gpg-sign", "-m", "release"]):
        subprocess.run(["git", *args], cwd=tree, env=env, check=True, capture_output=True)
    subprocess.run(["git", "tag", f"{major}.99.0"], cwd=tree, env=env, check=True)

    made = release.tag(tree)

    assert made == [f"v{version}", version]  # a newer 0.99.0 exists: the major stays
    listed = subprocess.run(["git", "tag", "--points-at", "HEAD"], cwd=tree, capture_output=True,
                            text=True, check=True).stdout.split()
    assert sorted(listed) == sorted([f"v{version}", version, f"{major}.99.0"])
    assert subprocess.run(["git", "tag", "--list", major], cwd=tree, capture_output=True,
                          text=True, check=True).stdout == ""
    subprocess.run(["git", "tag", "-d", f"{major}.99.0"], cwd=tree, check=True,
                   capture_output=True)
    for name in made:
        subprocess.run(["git", "tag", "-d", name], cwd=tree, check=True, capture_output=True)
    assert release.tag(tree) == [f"v{version}", version, major]


# ---------------------------------------------------------------- distributions


def make_dist(folder: Path, version: str, skip: str = "") -> None:
    folder.mkdir(parents=True, exist_ok=True)
    meta = (f"Metadata-Version: 2.4\nName: mlci\nVersion: {version}\n"
            "License-Expression: Apache-2.0\nProvides-Extra: server\n")
    with zipfile.ZipFile(folder / f"mlci-{version}-py3-none-any.whl", "w") as wheel:
        for name, text in {"mlci/__init__.py": "", "mlci/constraints.txt": "x==1\n",
                           "mlci/schemas/result.schema.json": "{}",
                           f"mlci-{version}.dist-info/licenses/LICENSE": "Apache",
                           f"mlci-{version}.dist-info/METADATA": meta}.items():
            if name != skip:
                wheel.writestr(name, text)
    source = folder / "src" / f"mlci-{version}"
    for name in ("mlci/constraints.txt", "LICENSE", "pyproject.toml"):
        if name != skip:
            (source / name).parent.mkdir(parents=True, exist_ok=True)
            (source / name).write_text("x", encoding="utf-8")
    with tarfile.open(folder / f"mlci-{version}.tar.gz", "w:gz") as sdist:
        sdist.add(source, arcname=f"mlci-{version}")
    shutil.rmtree(folder / "src")


def test_a_complete_dist_passes(tmp_path: Path) -> None:
    make_dist(tmp_path / "dist", "1.2.0")
    assert release.check_dist(tmp_path / "dist", "1.2.0") == [
        "mlci-1.2.0-py3-none-any.whl", "mlci-1.2.0.tar.gz"]


@pytest.mark.parametrize(("skip", "message"), [
    ("mlci/constraints.txt", "mlci-1.2.0-py3-none-any.whl: mlci/constraints.txt is missing"),
    ("mlci-1.2.0.dist-info/licenses/LICENSE",
     "mlci-1.2.0-py3-none-any.whl: mlci-1.2.0.dist-info/licenses/LICENSE is missing"),
    ("LICENSE", "mlci-1.2.0.tar.gz: LICENSE is missing"),
])
def test_a_dist_without_what_a_release_carries_is_refused(tmp_path: Path, skip: str,
                                                          message: str) -> None:
    make_dist(tmp_path / "dist", "1.2.0", skip=skip)
    with pytest.raises(release.ReleaseError) as caught:
        release.check_dist(tmp_path / "dist", "1.2.0")
    assert str(caught.value) == message


def test_a_dist_of_another_version_is_refused(tmp_path: Path) -> None:
    make_dist(tmp_path / "dist", "1.1.0")
    with pytest.raises(release.ReleaseError) as caught:
        release.check_dist(tmp_path / "dist", "1.2.0")
    assert str(caught.value) == (
        f"{tmp_path / 'dist'}: expected mlci-1.2.0-py3-none-any.whl and mlci-1.2.0.tar.gz, "
        "found mlci-1.1.0-py3-none-any.whl, mlci-1.1.0.tar.gz")


# ---------------------------------------------------------------- dependencies and constraints


def project() -> dict[str, Any]:
    loaded: dict[str, Any] = constraints.project()
    return loaded


def test_the_package_needs_mlflow_skinny_and_the_server_is_an_extra() -> None:
    meta = project()
    base = {canonicalize_name(Requirement(r).name) for r in meta["dependencies"]}
    assert {"mlflow-skinny", "sqlalchemy", "alembic", "cryptography", "scikit-learn",
            "skops"} <= base
    assert "mlflow" not in base
    extras = meta["optional-dependencies"]
    assert [Requirement(r).name for r in extras["server"]] == ["mlflow"]
    assert "mlci[server]" in extras["test"]  # the tests start a real `mlflow server`


def pins() -> list[Requirement]:
    lines = (ROOT / "mlci" / "constraints.txt").read_text(encoding="utf-8").splitlines()
    return [Requirement(line) for line in lines if line and not line.startswith("#")]


def test_constraints_are_current() -> None:
    assert constraints.check() == 0


def test_constraints_pin_every_requirement_for_every_supported_python() -> None:
    for python in constraints.PYTHONS:
        env = {**default_environment(), "python_version": python,
               "python_full_version": f"{python}.0"}
        active: dict[str, list[str]] = {}
        for pin in pins():
            if pin.marker is None or pin.marker.evaluate(env):
                (spec,) = pin.specifier
                assert spec.operator == "==", pin
                active.setdefault(canonicalize_name(pin.name), []).append(spec.version)
        assert all(len(v) == 1 for v in active.values()), (python, active)
        for text in constraints.requirements():
            wanted = Requirement(text)
            name = canonicalize_name(wanted.name)
            assert name in active, f"{name} is not pinned for Python {python}"
            assert wanted.specifier.contains(active[name][0], prereleases=True), (python, text)


def test_a_dependency_change_makes_the_constraints_stale(tree: Path) -> None:
    path = tree / "pyproject.toml"
    path.write_text(path.read_text().replace('"pyarrow>=14"', '"pyarrow>=15"'))
    done = subprocess.run([sys.executable, str(tree / "scripts" / "constraints.py"), "--check"],
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 1
    assert done.stderr == ("mlci/constraints.txt is stale: pyproject.toml's dependencies "
                           "changed; run python scripts/constraints.py\n")


@pytest.mark.parametrize(("pythons", "marker"), [
    (["3.10", "3.11", "3.12", "3.13"], ""),
    (["3.10"], 'python_version <= "3.10"'),
    (["3.11"], 'python_version == "3.11"'),
    (["3.12", "3.13"], 'python_version >= "3.12"'),
    (["3.10", "3.11", "3.12"], 'python_version <= "3.12"'),
    (["3.11", "3.12"], 'python_version >= "3.11" and python_version <= "3.12"'),
    (["3.10", "3.12"], 'python_version == "3.10" or python_version == "3.12"'),
])
def test_each_pin_gets_the_marker_of_its_pythons(pythons: list[str], marker: str) -> None:
    assert constraints.PYTHONS == ("3.10", "3.11", "3.12", "3.13")
    assert constraints.marker(pythons) == marker


# ---------------------------------------------------------------- the release workflow


def release_workflow() -> dict[str, Any]:
    return load(ROOT / ".github" / "workflows" / "release.yml")


def all_uses(node: Any) -> list[str]:
    if isinstance(node, dict):
        return [*([node["uses"]] if "uses" in node else []),
                *(u for v in node.values() for u in all_uses(v))]
    if isinstance(node, list):
        return [u for v in node for u in all_uses(v)]
    return []


def test_release_runs_on_version_tags_and_by_hand_as_a_dry_run() -> None:
    workflow = release_workflow()
    on = workflow[True]  # YAML 1.1 reads the key `on` as true
    assert on["push"] == {"tags": ["v[0-9]+.[0-9]+.[0-9]+"]}
    assert on["workflow_dispatch"]["inputs"]["dry-run"]["default"] is True
    assert workflow["permissions"] == {}


def test_publishing_jobs_run_only_outside_a_dry_run_with_least_privilege() -> None:
    jobs = release_workflow()["jobs"]
    assert jobs["build"]["permissions"] == {"contents": "read"}
    assert jobs["pypi"]["permissions"] == {"id-token": "write"}
    assert jobs["pypi"]["environment"]["name"] == "pypi"
    assert jobs["github"]["permissions"] == {"contents": "write"}
    for name in ("pypi", "github"):
        assert jobs[name]["if"] == "${{ needs.build.outputs.dry-run == 'false' }}"
    mode = next(s for s in jobs["build"]["steps"] if s.get("id") == "mode")["run"]
    assert '"${ACT:-}" = true' in mode  # under act nothing is ever published


def test_every_action_the_release_uses_is_pinned_by_commit_with_its_version() -> None:
    text = (ROOT / ".github" / "workflows" / "release.yml").read_text(encoding="utf-8")
    uses = all_uses(release_workflow())
    assert "pypa/gh-action-pypi-publish@dc37677b2e1c63e2034f94d8a5b11f265b73ba33" in uses
    for ref in uses:
        assert SHA_PIN.match(ref), ref
        assert re.search(rf"uses: {re.escape(ref)} # v\d+\.\d+\.\d+\n", text), ref
    setup = all_uses(load(ROOT / "setup" / "action.yml"))
    assert setup == ["actions/cache/restore@0057852bfaa89a56745cba8c7296529d2fc39830",
                     "actions/cache/save@0057852bfaa89a56745cba8c7296529d2fc39830"]


# ---------------------------------------------------------------- the project's GitLab pipeline


def test_the_pipeline_runs_this_commits_components() -> None:
    pipeline = load(ROOT / ".gitlab-ci.yml")
    included = [item["component"] for item in pipeline["include"]]
    assert included == [f"$CI_SERVER_FQDN/$CI_PROJECT_PATH/{name}@$CI_COMMIT_SHA"
                        for name in ("validate", "compare", "lineage", "report")]
    assert all(item["inputs"]["mlci-source"] == "." for item in pipeline["include"])


def test_the_catalog_release_runs_on_bare_version_tags_only() -> None:
    pipeline = load(ROOT / ".gitlab-ci.yml")
    rule = [{"if": r"$CI_COMMIT_TAG =~ /^\d+\.\d+\.\d+$/"}]
    assert pipeline["release-notes"]["rules"] == rule
    assert pipeline["release"]["rules"] == rule
    assert pipeline["release"]["needs"] == ["release-notes"]
    assert pipeline["release"]["release"] == {"tag_name": "$CI_COMMIT_TAG",
                                              "name": "mlci $CI_COMMIT_TAG",
                                              "description": "./release-notes.md"}
    pattern = re.compile(r"^\d+\.\d+\.\d+$")
    assert [bool(pattern.match(t)) for t in ("1.2.3", "v1.2.3", "v1", "1.2.3-rc1")] == [
        True, False, False, False]


# ---------------------------------------------------------------- what a listing needs


def test_license_is_the_apache_license_the_package_declares() -> None:
    text = (ROOT / "LICENSE").read_text(encoding="utf-8")
    assert "Apache License\n                           Version 2.0, January 2004" in text
    assert "END OF TERMS AND CONDITIONS" in text
    assert project()["license"] == "Apache-2.0"


def test_changelog_has_a_section_for_what_comes_next() -> None:
    found = release.sections((ROOT / "CHANGELOG.md").read_text(encoding="utf-8"))
    assert found.get("Unreleased", (None, ""))[1] or mlci.__version__ in found


def test_security_policy_says_how_to_report_and_what_signatures_guarantee() -> None:
    text = (ROOT / "SECURITY.md").read_text(encoding="utf-8")
    for heading in ("## Reporting a vulnerability", "## What mlci's signatures guarantee"):
        assert f"\n{heading}\n" in text


def test_every_action_has_a_name_a_description_and_branding() -> None:
    actions = sorted([ROOT / "action.yml", *ROOT.glob("*/action.yml")])
    names = []
    for path in actions:
        action = load(path)
        assert action["name"].startswith("mlci") and action["description"], path
        assert set(action["branding"]) == {"icon", "color"}, path
        names.append(action["name"])
    assert len(set(names)) == len(names) == 9


def test_readme_has_a_section_per_component() -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    assert "\n## Components\n" in readme
    section = readme.split("\n## Components\n", 1)[1].split("\n## ", 1)[0]
    headings = re.findall(r"^### (\S+)$", section, re.MULTILINE)
    assert sorted(headings) == sorted(p.stem for p in (ROOT / "templates").glob("*.yml"))


@pytest.mark.slow  # a linter
def test_the_pipeline_matches_the_gitlab_ci_schema() -> None:
    done = subprocess.run([find_tool("check-jsonschema"), "--builtin-schema", "vendor.gitlab-ci",
                           "--data-transform", "gitlab-ci", str(ROOT / ".gitlab-ci.yml")],
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stdout + done.stderr
