#!/usr/bin/env python3
"""The inputs of the actions and components, made from mlci's flags (one source).

    .venv/bin/python scripts/reference.py            # print every input table
    .venv/bin/python scripts/reference.py --check    # exit 1 naming each disagreement
    .venv/bin/python scripts/reference.py --write    # rewrite the docs' tables and the
                                                     # inputs' descriptions from the flags

Why: an input's name, description and default used to be copied by hand into the
click help, every action.yml, every component and the docs, and the copies drifted.
Now the flag is the source. An input named like a flag of its step takes the
flag's help as its description (rewritten by `wrapper_text` for a CI file) and
mlci's default: the wrapper leaves it empty — an empty MLCI_* variable is "not
given" to click — or repeats the flag's literal default; only NOTES lists a
wrapper that sets a default of its own, and says why. An input that exists only in
the wrappers (job settings, the interpreter that installs mlci, …) takes its
description from WRAPPER_INPUTS. The docs carry each wrapper's table between
`<!-- inputs:<platform>/<step>:start -->` and `<!-- inputs:<platform>/<step>:end -->`.
`--write` never changes a default or a required flag: those are fixed by hand.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import click
import yaml

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:  # run from a checkout without an installed mlci
    sys.path.insert(0, str(ROOT))

from mlci.cli import main  # noqa: E402  (after the path is set)

STEPS = ("validate", "compare", "lineage", "promote", "rollback", "report", "canary")
UMBRELLA = "mlci"  # the root action.yml: `uses: org/mlci@v1` with `step:`
# An action over a command group: the input that picks the subcommand, and its choices.
SUBCOMMANDS = {"lineage": ("command", ("tag", "verify"))}
# Flags of a wrapped command that are deliberately no input, and why.
NOT_INPUTS = {
    "debug": "tracebacks are for a person at a terminal; CI sets MLCI_DEBUG itself",
    "python": "lineage tag --python; a wrapper's `python` input is the interpreter that "
              "installs mlci",
}
# Inputs that exist only in the wrappers: their one description. A dict picks by
# "<platform>/<step>", then "<step>", then "<platform>", then "*".
WRAPPER_INPUTS: dict[str, str | dict[str, str]] = {
    "python": "Python interpreter (3.10 or newer) that creates mlci's venv. Ignored when the "
              "same mlci version is already on PATH.",
    "mlci-version": {
        "github": "The mlci version the job runs. This action installs its own release's "
                  "version; any other value fails the step (exit 2) rather than run another "
                  "mlci.",
        "gitlab": "The mlci version the job runs (defaults to the version this component "
                  "release ships).",
    },
    "cache": "Keep mlci's venv in the Actions cache (\"true\" or \"false\"). The key names the "
             "mlci version and a digest of its files and pinned dependencies, the Python "
             "version and interpreter, the OS and the CPU.",
    "step": "The mlci step to run, e.g. validate, compare, \"lineage tag\", promote, report.",
    "args": "More arguments for the step, split on whitespace (no shell quoting, no "
            "expansion), e.g. \"--predictions eval/predictions.csv\".",
    "command": "`tag`: record lineage and sign the model; `verify`: check data, model and "
               "signature against a lineage.json.",
    "token": "Token to comment with; needs `pull-requests: write`. It reaches mlci only as "
             "MLCI_TOKEN, which mlci masks.",
    "stage": {"*": "Stage of the job.",
              "report": "Stage of the job (`.post` runs after every other stage)."},
    "job-name": {
        "*": "Name of the job; later jobs `needs:` it by this name to get its dotenv outputs "
             "and artifacts.",
        "lineage": "Name of the job; later jobs `needs:` it by this name to get its dotenv "
                   "outputs and lineage.json. Give the verify job another name.",
        "report": "Name of the job; also the default sticky note ID.",
    },
    "needs": {
        "*": "Jobs whose artifacts this job needs, e.g. `[train]`. Required on purpose: in "
             "GitLab `needs: []` starts the job at once without any artifacts, which is never "
             "wanted by accident.",
        "lineage": "Jobs whose artifacts this job needs: for `tag` the job that wrote the data "
                   "and the model, e.g. `[train]`; for `verify` also the tag job, e.g. "
                   "`[train, mlci-lineage]`. Required on purpose: `needs: []` would start the "
                   "job without any artifacts.",
        "promote": "Jobs whose artifacts hold the model and the gates' result documents, e.g. "
                   "`[train, mlci-validate, mlci-compare, mlci-lineage-tag, "
                   "mlci-lineage-verify]`. Required on purpose: `needs: []` would start the "
                   "job without them.",
        "rollback": "The promote job (for its promote.json, and the embedded registry if one "
                    "is used) and the jobs whose failure triggers the rollback, e.g. "
                    "`[mlci-promote, deploy]`. Required on purpose.",
        "report": "The jobs whose result documents (artifacts) to report, e.g. "
                  "`[mlci-validate, mlci-compare, mlci-lineage-tag, mlci-promote]`. Required "
                  "on purpose: `needs: []` would start the job at once with nothing to report.",
        "canary": "Jobs whose artifacts this job needs, e.g. `[export-metrics]` (the job that "
                  "wrote the sample files), or `[deploy-canary]` when the samples come from "
                  "Prometheus. Required on purpose: `needs: []` starts the job at once, before "
                  "the canary has served anything.",
    },
    "image": "Image with Python >= 3.10 to run in; mlci is installed into a venv unless the "
             "image already has this mlci version on PATH.",
    "mlci-source": "What pip installs, when mlci is not already on PATH. Empty means "
                   "`mlci==<mlci-version>` from the package index (PIP_INDEX_URL); or a "
                   "`git+https://…/org/mlci.git@<tag>` URL, a wheel path or URL.",
    "resource-group": "Prefix of the job's `resource_group`, `<resource-group>-<name>`: one "
                      "job at a time moves this model's aliases. Give the promote and rollback "
                      "jobs the same value.",
    "when": "When the job runs: `on_failure` (a job it needs failed), `manual` (a kill switch "
            "a person presses), `always` or `on_success`.",
    "rules": "The job's `rules:`. The default runs it always, after failed jobs too. E.g. "
             "`[{if: $MLCI_TOKEN, when: always}, {when: always, variables: {MLCI_POST: "
             "\"false\"}}]` posts only when the token is set.",
}
# The docs' default column where the file's value would mislead (release.py rewrites it).
DOC_DEFAULTS = {"mlci-version": "this release's version"}


@dataclass(frozen=True)
class Note:
    """What a wrapper adds to a flag's description; with `own_default`, the wrapper sets
    a default of its own (or makes the input required), and the note says why."""

    text: str = ""
    own_default: bool = False


REQUIRED_HERE = "Required here: it also names the job's resource group."
# (platform or "*", step, input) → the note. The only place a wrapper may add to a
# flag's description or differ from mlci's default.
NOTES: dict[tuple[str, str, str], Note] = {
    # `mlci canary` needs both; they are not required flags only because of `canary plan`
    ("*", "canary", "stable"): Note(own_default=True),
    ("*", "canary", "canary"): Note(own_default=True),
    ("gitlab", "promote", "name"): Note(REQUIRED_HERE, own_default=True),
    ("gitlab", "rollback", "name"): Note(REQUIRED_HERE, own_default=True),
    ("gitlab", "promote", "reason"): Note("CI/CD variables in it are expanded.",
                                          own_default=True),
    ("gitlab", "rollback", "reason"): Note("CI/CD variables in it are expanded.",
                                           own_default=True),
    ("gitlab", "report", "post"): Note("On by default here; posting needs the CI/CD variable "
                                       "MLCI_TOKEN.", own_default=True),
    ("*", "compare", "allow-empty"): Note("Not used with `drift` or `shadow`."),
    ("gitlab", "lineage", "signing-key"): Note("Better: leave it empty and set a protected File "
                                               "variable MLCI_SIGNING_KEY, which takes "
                                               "precedence."),
    # --out is one flag of every step; what a step reads from the folder is its own
    ("*", "promote", "out"): Note("The gates' result documents are read from it."),
    ("*", "rollback", "out"): Note("This run's promote.json, if any, is read from it."),
    ("*", "report", "out"): Note("Result documents are searched for in it recursively, so "
                                 "downloaded artifacts may sit in subfolders."),
}

DEFAULT_BRACKET = re.compile(r"\s*\[default: ([^\]]*)\]")
FLAG = re.compile(r"(?<![\w`-])--([a-z][a-z0-9-]*)")
CODE = re.compile(r"(`[^`]*`)")
ANGLE = re.compile(r"(?<!\S)([^\s`]*<[^\s`]*>[^\s`]*?)([.,;:)]*)(?!\S)")


class _Loader(yaml.SafeLoader):
    """Safe YAML that reads GitLab's `!reference [job, key]` as a plain list."""


_Loader.add_constructor("!reference",
                        lambda loader, node: loader.construct_sequence(node))  # type: ignore[arg-type]


@dataclass(frozen=True)
class Wrapper:
    """One action.yml or component: where it is and the inputs it declares."""

    platform: str  # github | gitlab
    step: str  # the folder or template name; UMBRELLA for the root action
    path: Path
    inputs: dict[str, dict[str, Any]]

    @property
    def label(self) -> str:
        return f"{self.platform}/{self.step}"


def wrappers(root: Path = ROOT) -> list[Wrapper]:
    found = [Wrapper("github", UMBRELLA, root / "action.yml", _action_inputs(root / "action.yml"))]
    for step in (*STEPS, "setup"):
        path = root / step / "action.yml"
        if path.is_file():
            found.append(Wrapper("github", step, path, _action_inputs(path)))
    for step in STEPS:
        path = root / "templates" / f"{step}.yml"
        if path.is_file():
            found.append(Wrapper("gitlab", step, path, _template_inputs(path)))
    return found


def _action_inputs(path: Path) -> dict[str, dict[str, Any]]:
    loaded = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    return {name: spec or {} for name, spec in (loaded.get("inputs") or {}).items()}


def _template_inputs(path: Path) -> dict[str, dict[str, Any]]:
    header = next(yaml.load_all(path.read_text(encoding="utf-8"), Loader=_Loader))  # a SafeLoader
    spec = (header or {}).get("spec") or {}
    return {name: decl or {} for name, decl in (spec.get("inputs") or {}).items()}


# ---------------------------------------------------------------- the flags


def commands(step: str) -> list[tuple[str, click.Command]]:
    """(name, command) for what a wrapper of `step` runs; the umbrella runs any leaf."""
    ctx = click.Context(main)
    if step == UMBRELLA:
        return list(_leaves(main, ctx, ""))
    command = main.get_command(ctx, step)
    assert command is not None, f"mlci has no command {step}"
    if step in SUBCOMMANDS:
        assert isinstance(command, click.Group)
        return [(f"{step} {sub}", c) for sub in SUBCOMMANDS[step][1]
                if (c := command.get_command(ctx, sub)) is not None]
    return [(step, command)]


def _leaves(group: click.Group, ctx: click.Context, prefix: str
            ) -> Iterator[tuple[str, click.Command]]:
    for name in group.list_commands(ctx):
        command = group.get_command(ctx, name)
        if isinstance(command, click.Group):
            yield from _leaves(command, ctx, f"{prefix}{name} ")
        elif command is not None:
            yield f"{prefix}{name}", command


def flags(step: str) -> dict[str, list[tuple[str, click.Option]]]:
    """`some-flag` → [(command, option)] for every command of `step` that has it; for the
    umbrella only the flags every command has (the others go in `args`)."""
    found: dict[str, list[tuple[str, click.Option]]] = {}
    runs = commands(step)
    for name, command in runs:
        for param in command.params:
            if isinstance(param, click.Option) and param.opts[0].startswith("--"):
                found.setdefault(param.opts[0][2:], []).append((name, param))
    if step == UMBRELLA:
        return {flag: uses for flag, uses in found.items() if len(uses) == len(runs)}
    return found


def note(wrapper: Wrapper, name: str) -> Note | None:
    return (NOTES.get((wrapper.platform, wrapper.step, name))
            or NOTES.get(("*", wrapper.step, name)))


def shown_default(option: click.Option) -> str:
    """The literal default --help shows (60.0 as 60); "" when there is none."""
    if not option.show_default or option.default in (None, False) or option.is_flag:
        return ""
    value = option.default
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def wrapper_text(text: str) -> str:
    """A flag's help as a CI file says it: `--data` is the input `data`, a list flag's
    values are separated by whitespace (that is how click splits MLCI_DATA), and a
    token with <placeholders> is code."""
    text = text.replace("(repeatable)", "(separated by spaces or newlines)")
    parts = CODE.split(text)
    for i in range(0, len(parts), 2):  # the text between code spans
        plain = FLAG.sub(lambda m: f"`{m.group(1)}`", parts[i])
        parts[i] = ANGLE.sub(lambda m: f"`{m.group(1)}`{m.group(2)}", plain)
    return "".join(parts)


def _lower_first(text: str) -> str:
    return text[0].lower() + text[1:] if len(text) > 1 and text[1].islower() else text


def flag_description(wrapper: Wrapper, name: str, uses: list[tuple[str, click.Option]],
                     declared: Any) -> str:
    """What the input `name` must say, made from its flag's help: for a boolean flag it
    says what `true` does; when the wrapper leaves the default empty, it says mlci's."""
    option = uses[0][1]
    text = wrapper_text((option.help or "").strip())
    if option.is_flag:
        text = "`true`: " + _lower_first(text)
    extra = note(wrapper, name)
    if extra is not None and extra.own_default:
        text = DEFAULT_BRACKET.sub("", text)
    elif declared in ("", None) and shown_default(option):  # as the help would say it
        bracket = f" [default: {shown_default(option)}]"
        text = text[:-1] + bracket + "." if text.endswith(".") else text + bracket
    if wrapper.step in SUBCOMMANDS and len(uses) < len(SUBCOMMANDS[wrapper.step][1]):
        text += f" Only with `command: {uses[0][0].split()[-1]}`."
    if extra is not None and extra.text:
        text += f" {extra.text}"
    return text


def wrapper_description(wrapper: Wrapper, name: str) -> str | None:
    entry = WRAPPER_INPUTS.get(name)
    if entry is None or isinstance(entry, str):
        return entry
    for key in (wrapper.label, wrapper.step, wrapper.platform, "*"):
        if key in entry:
            return entry[key]
    return None


def description(wrapper: Wrapper, name: str) -> str | None:
    """The one description of an input (None: it is neither a flag nor a wrapper input)."""
    if name in WRAPPER_INPUTS:
        return wrapper_description(wrapper, name)
    uses = flags(wrapper.step).get(name) if wrapper.step != "setup" else None
    if not uses:
        return None
    return flag_description(wrapper, name, uses, wrapper.inputs.get(name, {}).get("default"))


# ---------------------------------------------------------------- the check


def _rel(path: Path, root: Path) -> str:
    return str(path.relative_to(root))


def problems(root: Path = ROOT) -> list[str]:
    """Every disagreement between the flags and the actions, components and docs, one
    line each, naming the file and the input."""
    found: list[str] = []
    every = wrappers(root)
    for wrapper in every:
        found += _input_problems(wrapper, root)
    found += _doc_problems(every, root)
    return found


def _input_problems(wrapper: Wrapper, root: Path) -> list[str]:
    where = _rel(wrapper.path, root)
    found = []
    known = flags(wrapper.step) if wrapper.step != "setup" else {}
    for name, decl in wrapper.inputs.items():
        expected = description(wrapper, name)
        if expected is None:
            runs = "any mlci step" if wrapper.step in (UMBRELLA, "setup") else (
                f"mlci {wrapper.step}")
            found.append(f"{where}: input {name} is neither a flag of {runs} nor in "
                         "WRAPPER_INPUTS of scripts/reference.py")
            continue
        if decl.get("description") != expected:
            source = ("WRAPPER_INPUTS" if name in WRAPPER_INPUTS
                      else f"mlci {known[name][0][0]} --{name}")
            found.append(f"{where}: input {name}: the description is not the one made from "
                         f"{source} (scripts/reference.py --write rewrites it)")
        if name not in WRAPPER_INPUTS:
            found += _default_problems(wrapper, name, decl, where)
    if wrapper.step not in (UMBRELLA, "setup"):
        found += [f"{where}: --{flag} of mlci {wrapper.step} has no input" for flag in known
                  if flag not in wrapper.inputs and flag not in NOT_INPUTS]
    return found


def _required(wrapper: Wrapper, name: str) -> bool:
    uses = flags(wrapper.step)[name]
    return len(uses) == len(commands(wrapper.step)) and all(o.required for _, o in uses)


def _default_problems(wrapper: Wrapper, name: str, decl: dict[str, Any],
                      where: str) -> list[str]:
    """mlci's default, never another: empty (not given), or the flag's literal default;
    a boolean flag's input is false."""
    extra = note(wrapper, name)
    if extra is not None and extra.own_default:
        return []
    option = flags(wrapper.step)[name][0][1]
    required = _required(wrapper, name)
    declared = decl.get("required") is True if wrapper.platform == "github" else (
        "default" not in decl)
    if declared != required:
        return [f"{where}: input {name} is {'required' if declared else 'optional'}, but "
                f"--{name} is {'required' if required else 'optional'} "
                "(NOTES of scripts/reference.py lists the exceptions)"]
    if required:
        return [f"{where}: input {name} is required and has a default"] if (
            "default" in decl) else []
    allowed: list[Any] = ["false"] if option.is_flag else list(dict.fromkeys(
        ["", shown_default(option)]))
    if wrapper.platform == "gitlab" and option.is_flag:
        allowed = [False]
    found = []
    if "default" not in decl or decl["default"] not in allowed:
        shown = " or ".join(json.dumps(a) for a in allowed)
        found.append(f"{where}: input {name}: default "
                     f"{json.dumps(decl.get('default')) if 'default' in decl else 'missing'}, "
                     f"expected {shown} (mlci's; NOTES of scripts/reference.py lists "
                     "the exceptions)")
    if wrapper.platform == "gitlab":
        found += _template_type_problems(option, name, decl, where)
    return found


def _template_type_problems(option: click.Option, name: str, decl: dict[str, Any],
                            where: str) -> list[str]:
    kind = decl.get("type", "string")
    expected = "boolean" if option.is_flag else "string"
    if kind != expected:
        return [f"{where}: input {name}: type {kind}, expected {expected} for --{name}"]
    if isinstance(option.type, click.Choice):
        choices = ["", *map(str, option.type.choices)]
        if decl.get("options") != choices:
            return [f"{where}: input {name}: options {decl.get('options')}, expected "
                    f"{choices} (the choices of --{name}, and empty)"]
    return []


# ---------------------------------------------------------------- the docs' tables

WIDTH = 100  # a description longer than this on its line is folded
REGION = re.compile(r"<!-- inputs:([a-z]+/[a-z-]+):start -->\n(.*?)<!-- inputs:\1:end -->",
                    re.S)


def _order(wrapper: Wrapper) -> list[str]:
    """What picks the command (lineage's `command`, the umbrella's `step`), the flags,
    then the wrapper's own inputs."""
    selector = "step" if wrapper.step == UMBRELLA else SUBCOMMANDS.get(wrapper.step, ("",))[0]
    names = list(wrapper.inputs)
    return ([n for n in names if n == selector] + [n for n in names if n not in WRAPPER_INPUTS]
            + [n for n in names if n in WRAPPER_INPUTS and n != selector])


def _yaml_text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (list, dict)):
        return str(yaml.safe_dump(value, default_flow_style=True, width=1000)).strip()
    return str(value)


def _default_cell(wrapper: Wrapper, name: str, text: str) -> str:
    decl = wrapper.inputs[name]
    if name in DOC_DEFAULTS:
        return DOC_DEFAULTS[name]
    required = decl.get("required") is True if wrapper.platform == "github" else (
        "default" not in decl)
    if required:
        return "required"
    value = decl.get("default")
    if value in ("", None):
        bracket = DEFAULT_BRACKET.search(text)
        said = bracket.group(1) if bracket else ""
        return f"`{said}`" if said and " " not in said else said  # a literal value is code
    return f"`{_yaml_text(value)}`"


def table(wrapper: Wrapper) -> str:
    """The markdown table of a wrapper's inputs, as the docs show it."""
    github = wrapper.platform == "github"
    lines = ["| input | what | default |", "|---|---|---|"] if github else [
        "| input | type | default | what it does |", "|---|---|---|---|"]
    for name in _order(wrapper):
        text = description(wrapper, name) or str(wrapper.inputs[name].get("description", ""))
        cells = [f"`{name}`", DEFAULT_BRACKET.sub("", text), _default_cell(wrapper, name, text)]
        if not github:
            cells = [cells[0], str(wrapper.inputs[name].get("type", "string")), cells[2],
                     cells[1]]
        lines.append("| " + " | ".join(c.replace("|", "\\|") for c in cells) + " |")
    return "\n".join(lines)


def _regions(root: Path) -> dict[str, list[tuple[Path, re.Match[str]]]]:
    found: dict[str, list[tuple[Path, re.Match[str]]]] = {}
    for doc in sorted((root / "docs").glob("*.md")):
        for match in REGION.finditer(doc.read_text(encoding="utf-8")):
            found.setdefault(match.group(1), []).append((doc, match))
    return found


def _doc_problems(every: list[Wrapper], root: Path) -> list[str]:
    regions = _regions(root)
    found = []
    for wrapper in every:
        places = regions.pop(wrapper.label, [])
        if len(places) != 1:
            found.append(f"docs: {len(places)} tables of the inputs of {_rel(wrapper.path, root)}"
                         f", expected one between <!-- inputs:{wrapper.label}:start --> and "
                         f"<!-- inputs:{wrapper.label}:end -->")
        elif places[0][1].group(2) != f"\n{table(wrapper)}\n\n":
            found.append(f"{_rel(places[0][0], root)}: the table of {wrapper.label} is not the "
                         f"one made from {_rel(wrapper.path, root)} (scripts/reference.py "
                         "--write rewrites it)")
    for label, places in regions.items():
        found += [f"{_rel(doc, root)}: a table of {label}, which is no action or component"
                  for doc, _ in places]
    return found


# ---------------------------------------------------------------- --write


def write(root: Path = ROOT) -> list[Path]:
    """Rewrite every description and docs table from the one source; the changed files."""
    changed = []
    every = wrappers(root)
    for wrapper in every:
        text = wrapper.path.read_text(encoding="utf-8")
        new = _with_descriptions(text, wrapper)
        if new != text:
            wrapper.path.write_text(new, encoding="utf-8")
            changed.append(wrapper.path)
    tables = {w.label: table(w) for w in every}
    for doc in sorted((root / "docs").glob("*.md")):
        text = doc.read_text(encoding="utf-8")
        new = REGION.sub(lambda m: (m.group(0) if m.group(1) not in tables else
                                    f"<!-- inputs:{m.group(1)}:start -->\n\n"
                                    f"{tables[m.group(1)]}\n\n<!-- inputs:{m.group(1)}:end -->"),
                         text)
        if new != text:
            doc.write_text(new, encoding="utf-8")
            changed.append(doc)
    return changed


def _scalar(text: str) -> str:
    """`text` as a YAML scalar on one line: plain when YAML reads it back unchanged."""
    try:
        plain = yaml.safe_load(f"k: {text}") == {"k": text}
    except yaml.YAMLError:
        plain = False
    return text if plain and text == text.strip() else json.dumps(text, ensure_ascii=False)


def _description_lines(text: str, indent: int) -> list[str]:
    """`description: …` on one line, or folded (`>-`) over lines of at most WIDTH."""
    line = f"{' ' * indent}description: {_scalar(text)}\n"
    folded = _folded(text, indent + 2) if len(line) > WIDTH + 1 else None
    return [f"{' ' * indent}description: >-\n", *folded] if folded else [line]


def _folded(text: str, indent: int) -> list[str] | None:
    """`text` as the lines of a folded block, or None when YAML would not read it back
    unchanged (double spaces, a leading space, …)."""
    lines: list[str] = []
    for word in text.split(" "):
        if lines and indent + len(lines[-1]) + 1 + len(word) <= WIDTH:
            lines[-1] += f" {word}"
        else:
            lines.append(word)
    block = [f"{' ' * indent}{line}\n" for line in lines]
    try:
        same = yaml.safe_load("k: >-\n" + "".join(block)) == {"k": text}
    except yaml.YAMLError:
        same = False
    return block if same else None


def _with_descriptions(text: str, wrapper: Wrapper) -> str:
    """The file with each input's `description:` (one line, or a block) replaced by the
    one from the source; nothing else in the file changes."""
    lines = text.splitlines(keepends=True)
    start = next(i for i, line in enumerate(lines)
                 if re.fullmatch(r"( *)inputs:\s*", line) and (
                     wrapper.platform == "gitlab" or not line.startswith(" ")))
    base = len(lines[start]) - len(lines[start].lstrip(" "))
    out = lines[:start + 1]
    i = start + 1
    name: str | None = None
    while i < len(lines):
        line = lines[i]
        indent = len(line) - len(line.lstrip(" "))
        if line.strip() and not line.lstrip().startswith("#") and indent <= base:
            break  # the end of the inputs block
        key = re.fullmatch(rf" {{{base + 2}}}([A-Za-z0-9_-]+):\s*", line)
        if key:
            name = key.group(1)
        new = description(wrapper, name) if name is not None else None
        if new == (wrapper.inputs.get(name or "") or {}).get("description"):
            new = None  # already right: its line stays as it is
        if new is not None and indent == base + 4 and line.lstrip().startswith("description:"):
            out += _description_lines(new, base + 4)
            i += 1
            while i < len(lines) and (not lines[i].strip() or len(lines[i]) - len(
                    lines[i].lstrip(" ")) > base + 4):
                i += 1
            continue
        out.append(line)
        i += 1
    return "".join(out + lines[i:])


def main_(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    mode = parser.add_mutually_exclusive_group()
    mode.add_argument("--check", action="store_true", help="exit 1 naming each disagreement")
    mode.add_argument("--write", action="store_true",
                      help="rewrite the docs' tables and the inputs' descriptions")
    parser.add_argument("--root", type=Path, default=ROOT, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.write:
        for path in write(args.root):
            print(f"rewrote {_rel(path, args.root)}")
        args.check = True  # what --write cannot fix (defaults, missing inputs) is still said
    if args.check:
        found = problems(args.root)
        for problem in found:
            print(problem, file=sys.stderr)
        return 1 if found else 0
    for wrapper in wrappers(args.root):
        print(f"<!-- inputs:{wrapper.label} ({_rel(wrapper.path, args.root)}) -->\n"
              f"{table(wrapper)}\n")
    return 0


if __name__ == "__main__":
    sys.exit(main_())
