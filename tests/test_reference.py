"""The inputs of the actions and components come from one source, the flags
(scripts/reference.py): descriptions and defaults in every action.yml and component,
and the input tables in the docs, agree with `mlci <step> --help`; a copy that drifts
is named file by file, and --write puts back what it can.
"""

from __future__ import annotations

import importlib.util
import shutil
import subprocess
import sys
from pathlib import Path
from types import ModuleType

import click
import pytest

from mlci.options import env_name

ROOT = Path(__file__).resolve().parents[1]


def load_script(name: str) -> ModuleType:
    spec = importlib.util.spec_from_file_location(f"mlci_script_{name}",
                                                  ROOT / "scripts" / f"{name}.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up there
    spec.loader.exec_module(module)
    return module


reference = load_script("reference")


def copy_tree(dest: Path) -> Path:
    """The files the check reads: every action, every component, the docs."""
    for action in [ROOT / "action.yml", *ROOT.glob("*/action.yml")]:
        target = dest / action.relative_to(ROOT)
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(action, target)
    shutil.copytree(ROOT / "templates", dest / "templates")
    shutil.copytree(ROOT / "docs", dest / "docs")
    return dest


def edit(path: Path, old: str, new: str) -> None:
    text = path.read_text(encoding="utf-8")
    assert text.count(old) == 1, f"{path}: {old!r}"
    path.write_text(text.replace(old, new), encoding="utf-8")


def test_actions_components_and_docs_agree_with_the_flags() -> None:
    assert reference.problems(ROOT) == []


def test_every_step_has_a_table_in_the_docs_for_each_platform() -> None:
    labels = {w.label for w in reference.wrappers(ROOT)}
    assert {f"github/{s}" for s in reference.STEPS} | {"github/mlci", "github/setup"} | {
        f"gitlab/{s}" for s in reference.STEPS} == labels
    assert set(reference._regions(ROOT)) == labels


CHAMPION = """  champion:
    description: With `shadow`, the model serving today, e.g. models:/fraud@production.
    required: false
    default: ""
"""


def break_copy(tree: Path) -> None:
    """What a hand edit does: a description reworded, a default that is not mlci's, a
    flag without an input, an input that is no flag, a table row edited."""
    edit(tree / "compare" / "action.yml", "Bootstrap resamples, 100 to 100000",
         "Bootstrap resamples, 10 to 100000")
    edit(tree / "compare" / "action.yml", CHAMPION, "")
    edit(tree / "templates" / "compare.yml", '    resamples:\n      default: ""',
         '    resamples:\n      default: "2500"')
    edit(tree / "templates" / "compare.yml", 'options: ["", not-worse, better]',
         "options: [not-worse, better]")
    edit(tree / "validate" / "action.yml", '    required: false\n    default: "false"',
         '    required: false\n    default: "true"')
    edit(tree / "promote" / "action.yml", "    required: true\n", "    required: false\n")
    edit(tree / "canary" / "action.yml", "inputs:\n",
         "inputs:\n  colour:\n    description: Blue.\n    required: false\n    default: \"\"\n")
    edit(tree / "docs" / "github.md", "| `predictions` | Predictions file",
         "| `predictions` | The predictions file")
    edit(tree / "docs" / "gitlab.md", "<!-- inputs:gitlab/report:end -->", "")


BROKEN = [
    "validate/action.yml: input allow-empty: default \"true\", expected \"false\" (mlci's; "
    "NOTES of scripts/reference.py lists the exceptions)",
    "compare/action.yml: input resamples: the description is not the one made from mlci "
    "compare --resamples (scripts/reference.py --write rewrites it)",
    "compare/action.yml: --champion of mlci compare has no input",
    "promote/action.yml: input alias is optional, but --alias is required (NOTES of "
    "scripts/reference.py lists the exceptions)",
    "canary/action.yml: input colour is neither a flag of mlci canary nor in WRAPPER_INPUTS "
    "of scripts/reference.py",
    "templates/compare.yml: input policy: options ['not-worse', 'better'], expected "
    "['', 'not-worse', 'better'] (the choices of --policy, and empty)",
    "templates/compare.yml: input resamples: default \"2500\", expected \"\" (mlci's; NOTES "
    "of scripts/reference.py lists the exceptions)",
    # a table shows the inputs its wrapper declares: every wrapper edited above is stale
    *[f"docs/{doc}.md: the table of {label} is not the one made from {path} "
      "(scripts/reference.py --write rewrites it)" for doc, label, path in [
          ("github", "github/validate", "validate/action.yml"),
          ("github", "github/compare", "compare/action.yml"),
          ("github", "github/promote", "promote/action.yml"),
          ("canary", "github/canary", "canary/action.yml"),
          ("gitlab", "gitlab/compare", "templates/compare.yml")]],
    "docs: 0 tables of the inputs of templates/report.yml, expected one between "
    "<!-- inputs:gitlab/report:start --> and <!-- inputs:gitlab/report:end -->",
]


def test_check_names_each_disagreement(tmp_path: Path) -> None:
    tree = copy_tree(tmp_path)
    assert reference.problems(tree) == []
    break_copy(tree)
    assert reference.problems(tree) == BROKEN


def test_write_puts_back_descriptions_and_tables_exactly(tmp_path: Path) -> None:
    tree = copy_tree(tmp_path)
    edit(tree / "compare" / "action.yml", "Bootstrap resamples, 100 to 100000",
         "Bootstrap resamples, 10 to 100000")
    edit(tree / "templates" / "lineage.yml", "`tag`: record lineage", "tag: records lineage")
    edit(tree / "docs" / "github.md", "| `predictions` | Predictions file",
         "| `predictions` | The predictions file")
    assert len(reference.problems(tree)) == 3
    changed = reference.write(tree)
    assert sorted(str(p.relative_to(tree)) for p in changed) == [
        "compare/action.yml", "docs/github.md", "templates/lineage.yml"]
    for path in changed:  # as they were, to the byte: nothing else in the files moved
        assert path.read_text() == (ROOT / path.relative_to(tree)).read_text()
    assert reference.problems(tree) == []


def test_write_never_changes_a_default_or_adds_an_input(tmp_path: Path) -> None:
    tree = copy_tree(tmp_path)
    break_copy(tree)
    reference.write(tree)
    assert reference.problems(tree) == [
        p for p in BROKEN if "--write rewrites" not in p]
    assert "default: \"2500\"" in (tree / "templates" / "compare.yml").read_text()


def test_the_script_exits_1_naming_the_problems(tmp_path: Path) -> None:
    tree = copy_tree(tmp_path)
    script = [sys.executable, str(ROOT / "scripts" / "reference.py"), "--root", str(tree)]
    clean = subprocess.run([*script, "--check"], capture_output=True, text=True, timeout=120)
    assert (clean.returncode, clean.stdout, clean.stderr) == (0, "", "")
    break_copy(tree)
    broken = subprocess.run([*script, "--check"], capture_output=True, text=True, timeout=120)
    assert broken.returncode == 1
    assert broken.stderr.splitlines() == BROKEN


@pytest.mark.parametrize(("text", "expected"), [
    ("Rows to run --model on.", "Rows to run `model` on."),
    ("Tie it (`promote --require canary`).", "Tie it (`promote --require canary`)."),
    ("Writes <out>/drift.json.", "Writes `<out>/drift.json`."),
    ("runs:/<id>/model or models:/<name>@<alias>.", "`runs:/<id>/model` or "
     "`models:/<name>@<alias>`."),
    ("Extra facts (repeatable).", "Extra facts (separated by spaces or newlines)."),
    ("--drift-x and e--g", "`drift-x` and e--g"),
])
def test_a_flags_help_as_a_ci_file_says_it(text: str, expected: str) -> None:
    assert reference.wrapper_text(text) == expected


@pytest.mark.parametrize("text", [
    "a: b # not a comment " * 12,
    "`true`: starts with a backtick and runs past the line " * 3,
    "\"quoted\" and  two spaces " * 8,
    "short: one",
])
def test_a_rewritten_description_reads_back_unchanged(text: str) -> None:
    import yaml

    lines = reference._description_lines(text, 4)
    assert all(len(line) <= reference.WIDTH + 1 for line in lines) or len(lines) == 1
    assert yaml.safe_load("k:\n" + "".join(lines)) == {"k": {"description": text}}


def wrapped_commands() -> list[tuple[str, click.Command]]:
    return [c for step in reference.STEPS for c in reference.commands(step)]


@pytest.mark.parametrize(("name", "command"), wrapped_commands(), ids=lambda v: str(v)[:20])
def test_an_empty_input_is_not_given(name: str, command: click.Command,
                                     monkeypatch: pytest.MonkeyPatch) -> None:
    """A wrapper passes every input, so one left alone arrives as an empty MLCI_*
    variable (a boolean one as "false"): mlci must take that as not given — an empty
    --resamples or --policy would be bad usage, an empty --data a file named ""."""
    options = [p for p in command.params if isinstance(p, click.Option)]
    required = [arg for p in options if p.required for arg in (p.opts[0], "x")]
    for option in options:
        monkeypatch.delenv(env_name(option.opts[0][2:]), raising=False)
    alone = command.make_context(name, list(required)).params
    for option in options:
        if not option.required:
            monkeypatch.setenv(env_name(option.opts[0][2:]), "false" if option.is_flag else "")
    assert command.make_context(name, list(required)).params == alone
