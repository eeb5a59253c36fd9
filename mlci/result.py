"""The result document every step writes (docs/architecture.md, `schemas/result.schema.json`).

One shape for every step is what lets `report` render anything and `promote`
use any step's output as a gate, so steps build `Result` objects and never
write JSON by hand."""

from __future__ import annotations

import datetime as _dt
import json
import math
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from mlci import __version__

Status = Literal["pass", "warn", "fail", "skip"]
SCHEMA_ID = "mlci/result/v1"


@dataclass(frozen=True)
class Location:
    """Where a check was configured, so CI can annotate that line."""

    file: str
    line: int


@dataclass
class Check:
    name: str
    status: Status
    message: str
    metric: str | None = None
    slice: dict[str, Any] | None = None
    column: str | None = None
    value: float | None = None
    baseline: float | None = None
    delta: float | None = None
    ci: tuple[float, float] | None = None
    threshold: float | None = None
    p_value: float | None = None
    location: Location | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        doc: dict[str, Any] = {"name": self.name, "status": self.status}
        for key in ("metric", "slice", "column", "value", "baseline", "delta", "threshold",
                    "p_value"):
            value = getattr(self, key)
            if value is not None:
                doc[key] = _json_number(value)
        if self.ci is not None:
            doc["ci"] = [_json_number(self.ci[0]), _json_number(self.ci[1])]
        doc["message"] = self.message
        if self.location is not None:
            doc["source"] = {"file": self.location.file, "line": self.location.line}
        doc.update(self.extra)
        return doc


def unique_names(checks: list[Check]) -> list[Check]:
    """Check names are unique within a result document (docs/architecture.md): a repeated name
    gets ` #2`, ` #3`, … in the order the checks come."""
    seen: dict[str, int] = {}
    for check in checks:
        seen[check.name] = seen.get(check.name, 0) + 1
        if seen[check.name] > 1:
            check.name = f"{check.name} #{seen[check.name]}"
    return checks


def overall_verdict(statuses: list[Status]) -> Status:
    """Worst status wins; a document of only skips (or none) says skip, never pass."""
    for status in ("fail", "warn", "pass"):
        if status in statuses:
            return status  # type: ignore[return-value,unused-ignore]
    return "skip"


@dataclass
class Result:
    step: str
    checks: list[Check]
    summary: str
    subject: dict[str, Any] = field(default_factory=dict)
    lineage: dict[str, Any] = field(default_factory=dict)
    started_at: str = field(default_factory=lambda: now_iso())
    duration_s: float = 0.0
    extra: dict[str, Any] = field(default_factory=dict)
    # CI outputs the step sets besides verdict and paths (e.g. promote's version):
    # for the next job, not part of the document.
    outputs: dict[str, str] = field(default_factory=dict)
    # True when the step wrote its own page (`<out>/<step>.md`) and CI step summary
    # (report: the full report, before posting, so a failed post still leaves it);
    # otherwise the runner makes both from the checks.
    wrote_page: bool = False

    @property
    def verdict(self) -> Status:
        return overall_verdict([check.status for check in self.checks])

    def to_dict(self) -> dict[str, Any]:
        doc: dict[str, Any] = {
            "schema": SCHEMA_ID,
            "step": self.step,
            "verdict": self.verdict,
            "summary": self.summary,
            "checks": [check.to_dict() for check in self.checks],
            "subject": self.subject,
            "lineage": self.lineage,
            "mlci_version": __version__,
            "started_at": self.started_at,
            "duration_s": round(self.duration_s, 4),
        }
        doc.update(self.extra)
        return doc


def now_iso() -> str:
    return _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds")


def _json_number(value: Any) -> Any:
    """JSON has no NaN or infinity; a value that is not finite is written as null."""
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if hasattr(value, "item"):  # numpy scalar
        return _json_number(value.item())
    return value


def result_path(out_dir: str | os.PathLike[str], step: str) -> Path:
    return Path(out_dir) / f"{step}.json"


def write_json(result: Result, out_dir: str | os.PathLike[str]) -> Path:
    path = result_path(out_dir, result.step)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(result.to_dict(), indent=2, sort_keys=False) + "\n",
                    encoding="utf-8")
    return path
