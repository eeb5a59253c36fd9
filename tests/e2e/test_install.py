"""Real installs of mlci, as a CI job without mlci gets it (pip and the package index;
about half a minute each):

- the setup action under the real act, twice on one runner: the first job installs
  (cold) and saves the venv to the Actions cache (the stand-in for actions/cache keeps
  it in a folder), the second restores it and installs nothing;
- the GitLab setup (templates/setup.yml) from a source folder: mlci first, then its
  dependencies pinned by the constraints file inside the installed mlci; every
  pinned package ends up at exactly its pinned version.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from collections.abc import Callable
from importlib.metadata import distributions
from pathlib import Path
from typing import Any

import pytest
from packaging.markers import default_environment
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

from .conftest import ActRun, checkout_version, copy_tree
from .gitlab_helpers import TEMPLATES, clean_env, component

pytestmark = pytest.mark.e2e

ROOT = Path(__file__).resolve().parents[2]
WORKFLOW = """\
on: push
jobs:
  setup:
    runs-on: ubuntu-latest
    steps:
      - id: setup
        uses: org/mlci/setup@v1
        with:
          python: {python}
      - env:
          HIT: ${{{{ steps.setup.outputs.cache-hit }}}}
          VERSION: ${{{{ steps.setup.outputs.mlci-version }}}}
        run: |
          echo "cache-hit=${{HIT:-none}} version=$VERSION mlci=$(command -v mlci)"
          mlci --version
"""


def pins_for_this_python() -> dict[str, str]:
    env = default_environment()
    found = {}
    for line in (ROOT / "mlci" / "constraints.txt").read_text(encoding="utf-8").splitlines():
        if line and not line.startswith("#"):
            pin = Requirement(line)
            if pin.marker is None or pin.marker.evaluate(env):
                found[canonicalize_name(pin.name)] = next(iter(pin.specifier)).version
    return found


def assert_pinned(venv: Path) -> None:
    """Every package in the venv is at its pinned version; none is unpinned."""
    site = next((venv / "lib").glob("python3.*/site-packages"))
    installed = {canonicalize_name(d.metadata["Name"]): d.version
                 for d in distributions(path=[str(site)])}
    pinned = pins_for_this_python()
    assert installed["mlflow-skinny"] == pinned["mlflow-skinny"]
    assert "mlflow" not in installed  # the server is an extra
    wrong = {name: (have, pinned[name]) for name, have in installed.items()
             if name in pinned and have != pinned[name]}
    assert not wrong
    assert not set(installed) - set(pinned) - {"mlci", "pip", "setuptools", "wheel"}


def test_setup_action_installs_once_then_restores_from_the_cache(
        tmp_path: Path, run_act: Callable[..., ActRun], commit_all: Callable[[Path], None],
        path_without_mlci: list[str], mlci_version: str) -> None:
    project = tmp_path / "project"
    (project / ".github" / "workflows").mkdir(parents=True)
    (project / ".github" / "workflows" / "setup.yml").write_text(
        WORKFLOW.format(python=sys.executable), encoding="utf-8")
    commit_all(project)
    cache = tmp_path / "actions-cache"
    # act gives every run another RUNNER_TEMP; a hosted runner's is always the same, and
    # the venv (so the cache key) names its path: keep it in one place for both runs
    runner = {"MLCI_SETUP_DIR": str(tmp_path / "runner-temp")}

    cold = run_act(project, ".github/workflows/setup.yml", path=path_without_mlci,
                   timeout=600, cache=cache, env=runner)

    assert cold.succeeded, cold.log[-6000:]
    assert len(cold.lines(f"Installing mlci {mlci_version} from ")) == 1
    assert cold.lines("| cache stand-in: no cache for mlci-")
    saved = cold.lines("| cache stand-in: saved ")
    assert len(saved) == 1, cold.log[-4000:]
    venv, key = saved[0].split("cache stand-in: saved ", 1)[1].split(" as ")
    assert Path(venv) == tmp_path / "runner-temp" / f"mlci-{mlci_version}"
    assert (cache / key.strip() / "mlci-setup.key").read_text().strip() == key.strip()
    assert cold.lines(f"| cache-hit=false version={mlci_version} mlci=")
    assert_pinned(Path(venv))

    # the next job on a fresh runner: same paths, nothing left of the first job (act
    # empties RUNNER_TEMP after a job; this makes sure)
    shutil.rmtree(venv, ignore_errors=True)
    shutil.rmtree(f"{venv}-bin", ignore_errors=True)
    warm = run_act(project, ".github/workflows/setup.yml", path=path_without_mlci,
                   timeout=300, cache=cache, env=runner)

    assert warm.succeeded, warm.log[-6000:]
    assert warm.lines(f"| cache stand-in: restored {key.strip()} into {venv}")
    assert warm.lines(f"| mlci {mlci_version} is already installed in {venv}")
    assert not warm.lines("| Installing mlci")
    assert not warm.lines("| cache stand-in: saved")  # a hit is not saved again
    assert warm.lines(f"| cache-hit=true version={mlci_version} mlci=")
    assert warm.lines(f"| mlci, version {mlci_version}")


def gitlab_setup_script() -> str:
    lines = component(TEMPLATES / "setup.yml").body[".mlci-setup"]["before_script"]
    return "set -eo pipefail\n" + "\n".join(lines) + "\n"


def run_setup(script: Path, project: Path, path: str, **env: str) -> Any:
    pip_env = {"PIP_CONFIG_FILE": os.devnull, "PIP_DISABLE_PIP_VERSION_CHECK": "1",
               "PIP_FIND_LINKS": "", "PIP_CONSTRAINT": ""}
    return subprocess.run(["bash", str(script)], cwd=project, capture_output=True, text=True,
                          env={**clean_env(path), **pip_env, **env}, timeout=600)


def test_gitlab_setup_installs_the_pinned_dependency_versions(tmp_path: Path) -> None:
    source = copy_tree(ROOT, tmp_path / "mlci-source")
    version = checkout_version(source)
    script = tmp_path / "setup.sh"
    script.write_text(gitlab_setup_script(), encoding="utf-8")
    tools = tmp_path / "bin"
    tools.mkdir()
    (tools / "python3").symlink_to(sys.executable)
    bare_path = os.pathsep.join([str(tools), "/usr/bin", "/bin"])
    project = tmp_path / "project"
    project.mkdir()

    fresh = run_setup(script, project, bare_path, MLCI_INSTALL_VERSION=version,
                      MLCI_INSTALL_SOURCE=str(source))

    assert fresh.returncode == 0, fresh.stdout[-4000:] + fresh.stderr[-4000:]
    venv = project / ".cache" / "mlci-venv"
    assert f"installing {source} into {venv}" in fresh.stdout
    assert "dependencies pinned by " in fresh.stdout
    assert fresh.stdout.rstrip().endswith(f"mlci, version {version}")
    assert_pinned(venv)

    again = run_setup(script, project, bare_path, MLCI_INSTALL_VERSION=version,
                      MLCI_INSTALL_SOURCE=str(source))
    assert again.returncode == 0, again.stderr
    assert f"mlci {version} is already installed in {venv}" in again.stdout
    assert "installing" not in again.stdout

    # a venv built by another Python (or from another source) is never trusted
    stamp = venv / "mlci-setup.stamp"
    stamp.write_text(stamp.read_text().replace(version, f"{version} elsewhere", 1))
    other = run_setup(script, project, bare_path, MLCI_INSTALL_VERSION=version,
                      MLCI_INSTALL_SOURCE=str(source), PIP_NO_INDEX="1")
    assert f"installing {source} into {venv}" in other.stdout
    assert other.returncode == 1  # offline, the rebuild cannot finish: no half-built venv
    assert other.stderr.rstrip().endswith(
        f"error: pip could not install {source} (see the log above)")
    assert not venv.exists()
