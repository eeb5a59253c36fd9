"""The step summary: markdown for $GITHUB_STEP_SUMMARY and `<out>/<step>.md`,
and the same facts as plain text for the terminal.

Failing checks come first: they are what a reviewer has to act on."""

from __future__ import annotations

from mlci.result import Check, Result

ICONS = {"pass": "✅", "warn": "⚠️", "fail": "❌", "skip": "⏭️"}
ORDER = {"fail": 0, "warn": 1, "pass": 2, "skip": 3}


def ordered(checks: list[Check]) -> list[Check]:
    return sorted(checks, key=lambda c: ORDER[c.status])


def number(value: float | None) -> str:
    if value is None:
        return ""
    return f"{value:.4g}"


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def markdown(result: Result) -> str:
    verdict = result.verdict
    lines = [f"### {ICONS[verdict]} mlci {result.step}: {verdict}", "", result.summary, ""]
    if result.checks:
        lines += ["| | check | value | threshold | details |", "|---|---|---|---|---|"]
        for check in ordered(result.checks):
            lines.append(f"| {ICONS[check.status]} | {_cell(check.name)} | "
                         f"{number(check.value)} | {number(check.threshold)} | "
                         f"{_cell(check.message)} |")
        lines.append("")
    return "\n".join(lines)


def text(result: Result) -> str:
    verdict = result.verdict
    lines = [f"mlci {result.step}: {verdict.upper()} — {result.summary}"]
    for check in ordered(result.checks):
        lines.append(f"  {check.status.upper():<4}  {check.name}: {check.message}")
    return "\n".join(lines)
