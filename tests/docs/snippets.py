"""The fenced blocks of README.md and docs/*.md, sorted by what a user does with them.

Blocks are found by pytest-codeblocks' extractor (not a parser of our own); this module
only decides what each block is: mlci commands to run, a GitHub workflow, a GitLab
include or an `mlci.yml` fragment. A block that cannot be checked says so in the
markdown, with `<!-- not-runnable: why -->` right before it, so that nothing a user
copies is left out silently. `<!-- snippet: exit N -->` before a block of commands
says the exit code its last command is documented to return.
"""

from __future__ import annotations

import re
import shlex
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml
from pytest_codeblocks import extract_from_file

ROOT = Path(__file__).resolve().parents[2]
# Filled by test_snippets at collection, printed at the end of the run by conftest.
SNIPPET_COUNTS: dict[str, int] = {}
SHELL = frozenset({"bash", "sh", "shell", "console"})
# Blocks that show what a command printed, a chart or a document: read, never copied.
SHOWN = frozenset({"text", "mermaid", "markdown", "json", ""})
MARK = re.compile(r"<!--\s*(not-runnable|snippet)\s*:\s*(.*?)\s*-->")
SHELL_OPERATORS = frozenset({"|", "||", "&&", ";"})
CONFIG_KEYS = frozenset({"version", "task", "positive_label", "columns", "tests", "compare",
                         "drift", "canary", "shadow", "registry"})
PROMPT = re.compile(r"^(?:\$\s+|-\s+|run:\s+)")


@dataclass(frozen=True)
class Block:
    path: Path
    line: int
    syntax: str
    code: str
    marks: dict[str, str] = field(default_factory=dict)

    @property
    def id(self) -> str:
        return f"{self.path.relative_to(ROOT)}:{self.line}"

    @property
    def not_runnable(self) -> str | None:
        return self.marks.get("not-runnable")

    @property
    def exit_code(self) -> int:
        match = re.fullmatch(r"exit (\d+)", self.marks.get("snippet", ""))
        return int(match.group(1)) if match else 0

    @property
    def commands(self) -> list[str]:
        return mlci_lines(self.code, shown=self.syntax in SHOWN)

    @property
    def kind(self) -> str:
        """cli, github, gitlab, config, shown (output, charts) or other."""
        if self.syntax in SHELL:
            return "cli" if self.commands else "other"
        if self.syntax == "yaml":
            return yaml_kind(self.code)
        return "shown" if self.syntax in SHOWN else "other"


def doc_files() -> list[Path]:
    return [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]


def blocks() -> list[Block]:
    found = []
    for path in doc_files():
        lines = path.read_text(encoding="utf-8").splitlines()
        for raw in extract_from_file(path):
            found.append(Block(path, raw.lineno, (raw.syntax or "").strip(), raw.code,
                               marks_before(lines, raw.lineno)))
    return found


def marks_before(lines: list[str], fence: int) -> dict[str, str]:
    """The marker comments between the previous paragraph and the fence (1-based)."""
    marks: dict[str, str] = {}
    index = fence - 2
    while index >= 0 and (not lines[index].strip() or lines[index].strip().startswith("<!--")):
        match = MARK.search(lines[index])
        if match:
            marks[match.group(1)] = match.group(2)
        index -= 1
    return marks


def yaml_kind(code: str) -> str:
    if re.search(r"^\s*(-\s+)?component:|^include:|^stages:|extends: \.mlci|^  (stage|script):",
                 code, re.M):
        return "gitlab"
    if re.search(r"^\s*(-\s+)?(uses|runs-on|run):|^jobs:", code, re.M):
        return "github"
    try:
        loaded = yaml.safe_load(code)
    except yaml.YAMLError:
        return "other"
    if isinstance(loaded, list) or (isinstance(loaded, dict) and set(loaded) <= CONFIG_KEYS):
        return "config"
    return "other"


def logical_lines(code: str) -> list[str]:
    """Lines with backslash continuations joined."""
    return code.replace("\\\n", " ").splitlines()


def mlci_lines(code: str, shown: bool = False) -> list[str]:
    """Every `mlci …` command line of a block (after `$ `, `- ` or `run: `); in a block
    of output only those after a `$ ` prompt (`mlci validate: FAIL …` is output)."""
    found = []
    for line in logical_lines(code):
        if shown and not line.startswith("$ "):
            continue
        stripped = PROMPT.sub("", line.strip())
        if re.match(r"mlci\s+[\w-]+(\s|$)", stripped):
            found.append(stripped)
    return found


def argv(line: str) -> list[str]:
    """The arguments of one command line, its trailing comment left out."""
    line = re.sub(r"\s\[(--[^]]*)\]", r" \1", line)  # synopsis: [--opt value] is optional
    lexer = shlex.shlex(line, posix=True, punctuation_chars=False)
    lexer.whitespace_split = True
    lexer.commenters = "#"
    words = []
    for word in lexer:
        if word in SHELL_OPERATORS or word.startswith((">", "2>")):
            break
        words.append(word)
    return words[1:] if words and words[0] == "mlci" else words


def load_yaml(code: str) -> Any:
    return yaml.safe_load(code)
