"""Helpers for the GitLab end-to-end tests: the real gitlab-ci-local on a copy
of examples/, and a renderer for component templates (what GitLab does with
`spec: inputs:` before it validates the job)."""

from __future__ import annotations

import base64
import hashlib
import os
import re
import shutil
import subprocess
import sys
import zipfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml

REPO = Path(__file__).resolve().parents[2]
EXAMPLES = REPO / "examples"
TEMPLATES = REPO / "templates"
INSTALLER = "scripts/tools/gitlab-ci-local.sh"
GITLAB_CI_LOCAL = REPO / ".tools" / "node" / "node_modules" / ".bin" / "gitlab-ci-local"

# Where the example's `component: $CI_SERVER_FQDN/org/mlci/validate@1.0.0`
# resolves offline. gitlab-ci-local looks for a component in
# .gitlab-ci-local/includes/<host of the `origin` git remote>/<project>/<ref>/
# and falls back to the host gitlab.com (CI_SERVER_FQDN=gitlab.com) when the
# repository has no remote, as the copies made here do.
COMPONENT_HOST = "gitlab.com"
COMPONENT_PROJECT = "org/mlci"
COMPONENT_REF = "1.0.0"

# Made by train.py, mlci or gitlab-ci-local: never part of the user's project.
GENERATED = ("model", "eval", "data", "keys", "mlruns", ".mlci", ".gitlab-ci-local",
             "__pycache__", ".cache")

INTERPOLATION = re.compile(r"\$\[\[\s*inputs\.([\w-]+)\s*\]\]")
SCRIPT_KEYS = ("script", "before_script", "after_script")
# Top-level keywords a component must not set: they would change every job of
# the including pipeline (GitLab's component rules).
GLOBAL_KEYWORDS = ("default", "variables", "stages", "workflow", "image", "services", "cache",
                   "before_script", "after_script")


def venv_bin() -> Path:
    """The bin folder of the Python running the tests (not resolved: a venv's python is a link)."""
    return Path(sys.executable).parent


def gitlab_ci_local() -> Path:
    """The project-local gitlab-ci-local; a missing one fails the test, never skips it."""
    override = os.environ.get("GITLAB_CI_LOCAL")
    binary = Path(override) if override else GITLAB_CI_LOCAL
    if not (binary.is_file() and os.access(binary, os.X_OK)):
        pytest.fail(f"gitlab-ci-local is not installed at {binary}: run {INSTALLER} first "
                    "(scripts/test.sh does)", pytrace=False)
    if shutil.which("rsync") is None:
        pytest.fail(f"rsync is missing (gitlab-ci-local needs it): run {INSTALLER} first",
                    pytrace=False)
    return binary


def clean_env(path: str) -> dict[str, str]:
    """The test's environment without CI or mlci settings that would leak into the jobs
    (gitlab-ci-local passes its own environment to shell jobs)."""
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("MLCI_", "GITLAB_", "GITHUB_", "CI_", "RUNNER_", "GCL_"))
           and k != "CI"}
    env["PATH"] = path
    return env


def git(cwd: Path, *args: str) -> None:
    subprocess.run(["git", "-c", "user.name=mlci tests", "-c", "user.email=tests@mlci.invalid",
                    "-c", "commit.gpgsign=false", *args],
                   cwd=cwd, check=True, capture_output=True, text=True)


def gitlab_example_project(dest: Path, edit: Callable[[Path], None] | None = None) -> Path:
    """examples/ as a user's repository: copied, changed by `edit` if given, committed
    (gitlab-ci-local copies the tracked files into each job's folder), with this
    checkout's templates/ laid where the `component:` include resolves offline."""
    shutil.copytree(EXAMPLES, dest, ignore=shutil.ignore_patterns(*GENERATED))
    assert (dest / ".gitlab-ci.yml").is_file(), "examples/.gitlab-ci.yml is missing"
    if edit is not None:
        edit(dest)
    git(dest, "init", "-q", "-b", "main")
    git(dest, "add", "-A")
    git(dest, "commit", "-q", "-m", "example project")
    lay_components(dest)
    return dest


def lay_components(project: Path) -> Path:
    target = (project / ".gitlab-ci-local" / "includes" / COMPONENT_HOST / COMPONENT_PROJECT
              / COMPONENT_REF / "templates")
    shutil.copytree(TEMPLATES, target)
    return target


SUMMARY = re.compile(r"^ (PASS|FAIL|WARN) +(\S+) *$")


@dataclass
class Pipeline:
    project: Path
    returncode: int
    output: str

    @property
    def statuses(self) -> dict[str, str]:
        """Job → PASS / FAIL / WARN from gitlab-ci-local's summary; a job that never
        started (skipped, or when: on_failure with nothing failed) is absent."""
        found: dict[str, str] = {}
        for line in self.output.splitlines():
            match = SUMMARY.match(line)
            if match:
                found[match.group(2)] = match.group(1)
        return found

    def log(self, job: str) -> str:
        path = self.project / ".gitlab-ci-local" / "output" / f"{job}.log"
        assert path.is_file(), f"job {job} has no log: it did not run\n{self.output}"
        return path.read_text()

    def artifact(self, job: str, relpath: str) -> Path:
        return self.project / ".gitlab-ci-local" / "artifacts" / job / relpath

    def describe(self) -> str:
        return f"gitlab-ci-local exited {self.returncode}; jobs {self.statuses}\n{self.output}"


def run_pipeline(project: Path, *variables: str, timeout: float = 240,
                 jobs: tuple[str, ...] = ()) -> Pipeline:
    """The whole pipeline in the real gitlab-ci-local, in the shell (no Docker), with
    the test venv's bin first on PATH so jobs use its mlci and python (and the
    components skip the install, as on a runner with mlci baked in). With `jobs`,
    only those jobs run, on the artifacts an earlier run left in .gitlab-ci-local/.

    --shell-isolation gives each job its own copy of the tracked files and moves
    artifacts and dotenv reports between jobs, as GitLab does. GITLAB_CI=true:
    gitlab-ci-local sets it to "false", and mlci writes its GitLab outputs only
    when it is "true"."""
    binary = gitlab_ci_local()
    home = project.parent / f"{project.name}-gcl-home"
    home.mkdir(exist_ok=True)
    command = [str(binary), "--force-shell-executor", "--shell-isolation", "--no-color",
               "--home", str(home),
               "--variable", "GITLAB_CI=true", "--ignore-predefined-vars", "GITLAB_CI"]
    for variable in variables:
        command += ["--variable", variable]
    command += list(jobs)
    path = os.pathsep.join([str(venv_bin()), os.environ.get("PATH", "")])
    proc = subprocess.run(command, cwd=project, env=clean_env(path), stdin=subprocess.DEVNULL,
                          capture_output=True, text=True, timeout=timeout)
    return Pipeline(project, proc.returncode, proc.stdout + proc.stderr)


def preview(project: Path) -> dict[str, Any]:
    """The pipeline as gitlab-ci-local resolves it (`--preview`): includes and component
    inputs interpolated, local jobs merged into the components' jobs of the same name."""
    binary = gitlab_ci_local()
    home = project.parent / f"{project.name}-gcl-home"
    home.mkdir(exist_ok=True)
    path = os.pathsep.join([str(venv_bin()), os.environ.get("PATH", "")])
    proc = subprocess.run([str(binary), "--preview", "--no-color", "--home", str(home),
                           "--variable", "GITLAB_CI=true", "--ignore-predefined-vars",
                           "GITLAB_CI"],
                          cwd=project, env=clean_env(path), stdin=subprocess.DEVNULL,
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    # warnings (e.g. "spec:inputs:regex is currently not supported") come first on stdout
    marker = proc.stdout.find("\n---\n")
    assert marker >= 0, proc.stdout[:2000]
    loaded = yaml.load(proc.stdout[marker + 5:], Loader=_Loader)  # a SafeLoader
    assert isinstance(loaded, dict), proc.stdout[:2000]
    return loaded


# --- component templates ----------------------------------------------------------


class _Loader(yaml.SafeLoader):
    """YAML loader that keeps GitLab's `!reference [job, key]` as a plain list."""


_Loader.add_constructor("!reference",
                        lambda loader, node: loader.construct_sequence(node))  # type: ignore[arg-type]


def load_documents(path: Path) -> list[Any]:
    return list(yaml.load_all(path.read_text(), Loader=_Loader))  # a SafeLoader


@dataclass
class Component:
    path: Path
    header: dict[str, Any] | None  # the first document, `spec:` …
    body: dict[str, Any]

    @property
    def spec(self) -> dict[str, Any] | None:
        return None if self.header is None else self.header.get("spec") or {}

    @property
    def inputs(self) -> dict[str, dict[str, Any]]:
        declared = (self.spec or {}).get("inputs") or {}
        return {name: (decl or {}) for name, decl in declared.items()}


def component(path: Path) -> Component:
    docs = [d for d in load_documents(path) if d is not None]
    if len(docs) == 2:
        return Component(path, docs[0], docs[1])
    assert len(docs) == 1, f"{path}: expected a spec header and a body, or a body alone"
    if "spec" in docs[0]:
        raise AssertionError(f"{path}: a `spec:` header must be followed by `---` and the jobs")
    return Component(path, None, docs[0])


def sample_value(decl: dict[str, Any]) -> Any:
    """A value for an input without a default, so the body can be rendered."""
    kind = decl.get("type", "string")
    if "options" in decl:
        return decl["options"][0]
    return {"array": ["train"], "number": 1, "boolean": False}.get(kind, "sample")


def used_inputs(node: Any) -> set[str]:
    if isinstance(node, dict):
        return set().union(*(used_inputs(k) | used_inputs(v) for k, v in node.items()))
    if isinstance(node, list):
        return set().union(*(used_inputs(v) for v in node))
    if isinstance(node, str):
        return set(INTERPOLATION.findall(node))
    return set()


def render(comp: Component, given: dict[str, Any] | None = None) -> Any:
    """Interpolate `$[[ inputs.x ]]` the way GitLab does: a whole-value reference keeps
    the input's type (an array stays an array); inside a longer string it is text."""
    values = {name: decl.get("default", sample_value(decl)) for name, decl in comp.inputs.items()}
    values.update(given or {})

    def text(value: Any) -> str:
        return str(value).lower() if isinstance(value, bool) else str(value)

    def walk(node: Any) -> Any:
        if isinstance(node, dict):
            return {walk(k): walk(v) for k, v in node.items()}
        if isinstance(node, list):
            return [walk(v) for v in node]
        if isinstance(node, str):
            whole = INTERPOLATION.fullmatch(node.strip())
            if whole:
                return values[whole.group(1)]
            return INTERPOLATION.sub(lambda m: text(values[m.group(1)]), node)
        return node

    return walk(comp.body)


def script_lines(pipeline: dict[str, Any]) -> list[tuple[str, str, str]]:
    """(job, key, line) for every script, before_script and after_script line."""
    found: list[tuple[str, str, str]] = []

    def flatten(node: Any) -> list[str]:
        if isinstance(node, list):
            return [line for item in node for line in flatten(item)]
        return [str(node)]

    for job, body in pipeline.items():
        if not isinstance(body, dict):
            continue
        for key in SCRIPT_KEYS:
            if key in body:
                found += [(str(job), key, line) for line in flatten(body[key])]
    return found


# --- a stand-in mlci wheel, for the install logic ------------------------------------


def fake_mlci_wheel(dest: Path, version: str) -> Path:
    """A tiny wheel whose `mlci --version` prints like the real one, so the setup
    script's install path can run offline in seconds."""
    dist = "mlci_standin"
    files = {
        "mlci_standin.py": (
            "import sys\n"
            "def main():\n"
            f"    print('mlci, version {version}' if '--version' in sys.argv else 'stand-in')\n"
        ),
        f"{dist}-{version}.dist-info/METADATA":
            f"Metadata-Version: 2.1\nName: mlci-standin\nVersion: {version}\n",
        f"{dist}-{version}.dist-info/WHEEL":
            "Wheel-Version: 1.0\nGenerator: mlci-tests\nRoot-Is-Purelib: true\nTag: py3-none-any\n",
        f"{dist}-{version}.dist-info/entry_points.txt":
            "[console_scripts]\nmlci = mlci_standin:main\n",
    }
    record_name = f"{dist}-{version}.dist-info/RECORD"
    lines = []
    for name, content in files.items():
        digest = base64.urlsafe_b64encode(hashlib.sha256(content.encode()).digest()).rstrip(b"=")
        lines.append(f"{name},sha256={digest.decode()},{len(content.encode())}")
    lines.append(f"{record_name},,")
    wheel = dest / f"{dist}-{version}-py3-none-any.whl"
    with zipfile.ZipFile(wheel, "w") as archive:
        for name, content in files.items():
            archive.writestr(name, content)
        archive.writestr(record_name, "\n".join(lines) + "\n")
    return wheel
