"""Prints how many doc blocks each kind of check covers, and how many are marked."""

from __future__ import annotations

from typing import Any

from tests.docs.snippets import SNIPPET_COUNTS


def pytest_terminal_summary(terminalreporter: Any) -> None:
    if SNIPPET_COUNTS:
        line = ", ".join(f"{kind} {count}" for kind, count in sorted(SNIPPET_COUNTS.items()))
        terminalreporter.write_line(f"doc snippets: {line}")
