"""The step summary: markdown for $GITHUB_STEP_SUMMARY and `<out>/<step>.md`,
and the same facts as plain text for the terminal.

Failing checks come first: they are what a reviewer has to act on."""

from __future__ import annotations

import math
from typing import Any

from mlci.result import Check, Result

ICONS = {"pass": "✅", "warn": "⚠️", "fail": "❌", "skip": "⏭️"}
ORDER = {"fail": 0, "warn": 1, "pass": 2, "skip": 3}


def ordered(checks: list[Check]) -> list[Check]:
    return sorted(checks, key=lambda c: ORDER[c.status])


def number(value: Any, signed: bool = False, digits: int = 4) -> str:
    """A value for a table cell or a check message: `digits` significant digits (4 in
    tables, 3 in compare's margin messages), integers whole; blank when absent or not
    finite. The one number format of every result, so a value reads alike everywhere."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return ""
    if isinstance(value, float) and not math.isfinite(value):
        return ""
    if isinstance(value, int):
        return f"{value:+d}" if signed else str(value)
    return f"{value:+.{digits}g}" if signed else f"{value:.{digits}g}"


def percent(level: float, digits: int = 4) -> str:
    """A confidence level as people write it: 0.95 → `95%`, 0.9875 → `98.75%`."""
    return f"{level * 100:.{digits}g}%"


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def delta_text(check: Check) -> str:
    """`+0.012 [+0.003, +0.021]`: the delta with its interval, when there is one."""
    if check.delta is None:
        return ""
    text = number(check.delta, signed=True)
    if check.ci is not None:
        text += f" [{number(check.ci[0], signed=True)}, {number(check.ci[1], signed=True)}]"
    return text


def markdown(result: Result) -> str:
    verdict = result.verdict
    lines = [f"### {ICONS[verdict]} mlci {result.step}: {verdict}", "", result.summary, ""]
    if not result.checks:
        return "\n".join(lines)
    compared = any(c.baseline is not None for c in result.checks)
    if compared:
        lines += ["| | check | candidate | baseline | delta [CI] | threshold | details |",
                  "|---|---|---|---|---|---|---|"]
    else:
        lines += ["| | check | value | threshold | details |", "|---|---|---|---|---|"]
    for check in ordered(result.checks):
        cells = [ICONS[check.status], _cell(check.name), number(check.value)]
        if compared:
            cells += [number(check.baseline), delta_text(check)]
        cells += [number(check.threshold), _cell(check.message)]
        lines.append("| " + " | ".join(cells) + " |")
    lines.append("")
    return "\n".join(lines)


def text(result: Result) -> str:
    verdict = result.verdict
    lines = [f"mlci {result.step}: {verdict.upper()} — {result.summary}"]
    for check in ordered(result.checks):
        lines.append(f"  {check.status.upper():<4}  {check.name}: {check.message}")
    return "\n".join(lines)
