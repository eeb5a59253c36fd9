"""Document text made inert for markdown.

On a fork PR the result documents are untrusted artifact content: whatever a
document says is shown, never interpreted (no HTML, links, images or tables
broken open)."""

from __future__ import annotations

from typing import Any

NOTE_MAX = 300  # characters of a check's message in the table


def text(value: Any) -> str:
    """Document text as inert markdown: one line, no HTML, no links or images."""
    clean = " ".join(str(value).split())
    clean = clean.replace("<", "&lt;")  # no tags, comments or autolinks; ">=" stays readable
    for char in ("\\", "`", "[", "]", "|", "*"):
        clean = clean.replace(char, "\\" + char)
    if clean[:1] in ("#", "-", "+", "=", "~"):
        clean = "\\" + clean
    return clean


def code(value: Any) -> str:
    """An inline code span that survives backticks in the value."""
    clean = " ".join(str(value).split())
    fence = "`"
    while fence in clean:
        fence += "`"
    pad = " " if clean.startswith("`") or clean.endswith("`") else ""
    return f"{fence}{pad}{clean}{pad}{fence}"


def short(value: str, length: int = NOTE_MAX) -> str:
    return value if len(value) <= length else value[:length - 1] + "…"


def short_id(value: Any) -> str:
    """`sha256:` + 12 hex digits: enough to compare by eye; the full ID is in details."""
    raw = str(value)
    prefix, sep, digest = raw.partition(":")
    if sep and len(digest) > 12:
        return f"{prefix}:{digest[:12]}…"
    return raw if len(raw) <= 14 else raw[:12] + "…"
