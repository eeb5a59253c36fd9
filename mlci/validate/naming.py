"""Check names are unique within a result document (DESIGN.md)."""

from __future__ import annotations

from mlci.result import Check


class Namer:
    def __init__(self) -> None:
        self.seen: dict[str, int] = {}

    def unique(self, check: Check) -> Check:
        count = self.seen.get(check.name, 0) + 1
        self.seen[check.name] = count
        if count > 1:
            check.name = f"{check.name} #{count}"
        return check
