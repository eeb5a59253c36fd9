"""Every block a user copies from README.md and docs/ is checked against the code.

- every `mlci …` line of any block parses with the real command line (commands,
  options, choices);
- shell blocks of mlci commands run in a fresh copy of `examples/` and end with the
  exit code they document (0 unless `<!-- snippet: exit N -->`);
- `mlci.yml` fragments load with mlci's own config loader (schema, lines, values);
- GitHub steps, jobs and workflows, wrapped in a workflow whose `org/mlci/<step>@v1`
  points at this checkout's actions, pass actionlint (which checks `with:` against
  each action.yml);
- GitLab includes give every required input of the component and no unknown one.

A block that cannot be checked carries `<!-- not-runnable: why -->`; any other block
fails `test_every_block_is_checked_or_marked`. The counts are printed at the end.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from collections import Counter
from pathlib import Path
from typing import Any

import click
import pytest
import yaml

from mlci.cli import main
from tests.docs.snippets import ROOT, SNIPPET_COUNTS, Block, argv, blocks, load_yaml, logical_lines

ALL = blocks()
RUNNABLE = {"cli", "github", "gitlab", "config"}
VENV_BIN = Path(sys.executable).parent


def of_kind(kind: str) -> list[Any]:
    return [pytest.param(b, id=b.id) for b in ALL if b.kind == kind and not b.not_runnable]


def counts() -> Counter[str]:
    tally: Counter[str] = Counter()
    for block in ALL:
        tally["not-runnable" if block.not_runnable else block.kind] += 1
    tally["mlci lines parsed"] = sum(len(b.commands) for b in ALL)
    return tally


def test_every_block_is_checked_or_marked() -> None:
    """A block nobody checks drifts: each one is runnable, shown output, or marked."""
    loose = [f"{b.id} [{b.syntax}]" for b in ALL if b.kind == "other" and not b.not_runnable]
    assert loose == [], "\n".join(loose)
    tally = counts()
    runnable = sum(tally[k] for k in RUNNABLE)
    SNIPPET_COUNTS.update(tally, runnable=runnable)
    # the floor: at least as many checked blocks as `mlci` command lines
    assert runnable >= tally["mlci lines parsed"]


# --- mlci command lines ------------------------------------------------------------


def remaining(ctx: click.Context) -> list[str]:
    """The subcommand and its arguments (click 8.2 keeps them in `_protected_args`)."""
    return [*getattr(ctx, "_protected_args", []), *ctx.args]


def parse(args: list[str]) -> None:
    """Resolve the subcommands and parse the options as click would, without running."""
    command: click.Command = main
    ctx = main.make_context("mlci", list(args), resilient_parsing=False)
    rest = remaining(ctx)
    while isinstance(command, click.Group) and rest:
        name, sub, rest = command.resolve_command(ctx, rest)
        assert sub is not None, f"no command {name}"
        command = sub
        ctx = sub.make_context(name or "", rest, parent=ctx)
        rest = remaining(ctx) if isinstance(sub, click.Group) else []


@pytest.mark.parametrize("block", [pytest.param(b, id=b.id) for b in ALL if b.commands])
def test_mlci_lines_parse(block: Block) -> None:
    for line in block.commands:
        try:
            parse(argv(line))
        except click.exceptions.Exit:
            pass  # --help, --version
        except click.UsageError as exc:
            pytest.fail(f"{block.id}: `{line}`: {exc.format_message()}")


# what examples/train.py and the demo write (the repository's .gitignore)
GENERATED = ("model", "eval", "data", "next", "mlruns", ".mlci")


@pytest.fixture(scope="session")
def example_project(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The user project of examples/ as after `git clone` and `python train.py`: what
    train.py writes (and .gitignore keeps out of the repository) is made here, never
    taken from the working tree, so the snippets see what a new user sees."""
    project = tmp_path_factory.mktemp("examples") / "project"
    shutil.copytree(ROOT / "examples", project,
                    ignore=shutil.ignore_patterns(*GENERATED, "__pycache__"))
    subprocess.run([str(VENV_BIN / "python"), "train.py"], cwd=project, check=True,
                   capture_output=True)
    for cmd in (["init", "-q", "-b", "main"], ["add", "-A"],
                ["-c", "user.name=t", "-c", "user.email=t@t", "commit", "-q", "-m", "x"]):
        subprocess.run(["git", *cmd], cwd=project, check=True, capture_output=True)
    return project


def shell_script(block: Block) -> str:
    """The block as a user runs it; `pip install` is what the test venv already did."""
    kept = [line for line in logical_lines(block.code)
            if not line.strip().startswith("pip install")]
    return "set -e\n" + "\n".join(kept) + "\n" if block.exit_code == 0 else "\n".join(kept)


@pytest.mark.parametrize("block", of_kind("cli"))
def test_cli_block_runs(block: Block, example_project: Path, tmp_path: Path) -> None:
    work = tmp_path / "project"
    shutil.copytree(example_project, work, symlinks=True)
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("MLCI_", "GITHUB_", "GITLAB_", "MLFLOW_"))}
    env["PATH"] = f"{VENV_BIN}{os.pathsep}{env.get('PATH', '')}"
    proc = subprocess.run(["bash", "-c", shell_script(block)], cwd=work, env=env,
                          capture_output=True, text=True, timeout=300)
    assert proc.returncode == block.exit_code, f"{block.id}\n{proc.stdout}\n{proc.stderr}"


# --- mlci.yml fragments ------------------------------------------------------------


def as_config(fragment: Any) -> dict[str, Any]:
    if isinstance(fragment, list):
        return {"version": 1, "tests": fragment}
    assert isinstance(fragment, dict), "an mlci.yml fragment is a mapping or a list of tests"
    return {"version": 1, **fragment}


@pytest.mark.parametrize("block", of_kind("config"))
def test_config_fragment_loads(block: Block, tmp_path: Path) -> None:
    from mlci import config
    from mlci.errors import InputError

    path = tmp_path / "mlci.yml"
    path.write_text(yaml.safe_dump(as_config(load_yaml(block.code)), sort_keys=False))
    try:
        config.load(str(path))
    except InputError as exc:
        pytest.fail(f"{block.id}: {exc}")


# --- GitHub ------------------------------------------------------------------------


def as_workflow(snippet: Any) -> dict[str, Any]:
    if isinstance(snippet, list):
        return {"on": "push", "jobs": {"snippet": {"runs-on": "ubuntu-latest",
                                                   "steps": snippet}}}
    assert isinstance(snippet, dict)
    if True in snippet:  # YAML 1.1 reads the key `on` as true
        snippet["on"] = snippet.pop(True)
    if "jobs" in snippet:
        return {"on": "push", **snippet}
    return {"on": "push", "jobs": snippet}


def local_uses(text: str) -> str:
    """`org/mlci/<step>@v1` → `./<step>`: actionlint then checks `with:` against it."""
    text = re.sub(r"org/mlci/([a-z-]+)@[\w.]+", r"./\1", text)
    return re.sub(r"org/mlci@[\w.]+", "./", text)


@pytest.fixture(scope="session")
def action_tree(tmp_path_factory: pytest.TempPathFactory) -> Path:
    tree = tmp_path_factory.mktemp("actions")
    for action in [ROOT / "action.yml", *ROOT.glob("*/action.yml")]:
        target = tree / action.relative_to(ROOT)
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(action, target)
    (tree / ".github" / "workflows").mkdir(parents=True)
    return tree


@pytest.mark.parametrize("block", of_kind("github"))
def test_github_snippet_lints(block: Block, action_tree: Path) -> None:
    workflow = action_tree / ".github" / "workflows" / f"snippet-{block.line}.yml"
    body = yaml.safe_dump(as_workflow(load_yaml(local_uses(block.code))), sort_keys=False)
    workflow.write_text(body)
    try:
        proc = subprocess.run([str(VENV_BIN / "actionlint"), "-shellcheck=", "-pyflakes=",
                               "-no-color",
                               # upstream actions' runtime notice; not the snippet's doing
                               "-ignore", 'runtime "node20" is deprecated',
                               # a job or step shown alone refers to the rest of its workflow
                               "-ignore", r'needs job ".+" which does not exist',
                               "-ignore", r'property ".+" is not defined in object type \{\}',
                               str(workflow.relative_to(action_tree))],
                              cwd=action_tree, capture_output=True, text=True, timeout=120)
    finally:
        workflow.unlink()
    assert proc.returncode == 0, f"{block.id}\n{proc.stdout}{proc.stderr}\n{body}"


# --- GitLab ------------------------------------------------------------------------


def includes(snippet: Any) -> list[dict[str, Any]]:
    if isinstance(snippet, list):
        return [item for item in snippet if isinstance(item, dict)]
    listed = snippet.get("include", []) if isinstance(snippet, dict) else []
    return [item for item in listed if isinstance(item, dict)]


def spec_inputs(name: str) -> dict[str, Any]:
    path = ROOT / "templates" / f"{name}.yml"
    assert path.is_file(), f"no component {name}"
    spec = next(yaml.safe_load_all(path.read_text()))
    inputs: dict[str, Any] = (spec.get("spec") or {}).get("inputs") or {}
    return inputs


@pytest.mark.parametrize("block", of_kind("gitlab"))
def test_gitlab_include_gives_the_inputs(block: Block) -> None:
    problems = []
    for item in includes(load_yaml(block.code)):
        component = str(item.get("component", ""))
        if "/org/mlci/" not in component:
            continue
        name = component.rsplit("/", 1)[1].split("@")[0]
        spec = spec_inputs(name)
        given = set((item.get("inputs") or {}).keys())
        required = {k for k, v in spec.items() if not isinstance(v, dict) or "default" not in v}
        problems += [f"{name}: `{k}` input: required value has not been provided"
                     for k in sorted(required - given)]
        problems += [f"{name}: unknown input `{k}`" for k in sorted(given - set(spec))]
    assert problems == [], block.id


@pytest.mark.parametrize("block", of_kind("gitlab"))
def test_gitlab_snippet_matches_the_ci_schema(block: Block, tmp_path: Path) -> None:
    """GitLab's own CI schema, as tests/e2e/test_gitlab.py checks the components."""
    path = tmp_path / ".gitlab-ci.yml"
    snippet = load_yaml(block.code)
    text = yaml.safe_dump({"include": snippet}) if isinstance(snippet, list) else block.code
    path.write_text(text)
    proc = subprocess.run([str(VENV_BIN / "check-jsonschema"), "--builtin-schema",
                           "vendor.gitlab-ci", "--data-transform", "gitlab-ci", str(path)],
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, f"{block.id}\n{proc.stdout}{proc.stderr}"
