"""`mlci canary plan`: the traffic split of each canary step, for a deploy tool.

mlci does not move traffic; the deploy tool (Argo Rollouts, Flagger, a load
balancer script) does. The plan gives it one file per step in the seed's form,

    traffic_split:
      canary: 5
      stable: 95

plus one JSON document listing every step, and CI outputs (`weights` as a JSON
list) that a workflow turns into one sequential job per step, judging each
before the next (docs/canary.md)."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from mlci.config import Config
from mlci.errors import InputError
from mlci.result import now_iso

SCHEMA = "mlci/canary-plan/v1"
FOLDER = "canary-plan"


@dataclass(frozen=True)
class Step:
    number: int
    weight: int  # the canary's share of traffic, in percent

    @property
    def split(self) -> dict[str, int]:
        return {"canary": self.weight, "stable": 100 - self.weight}

    @property
    def file(self) -> str:
        return f"{FOLDER}/canary-{self.weight}.yml"


def parse_steps(text: str | list[int] | tuple[int, ...], origin: str = "--steps") -> list[Step]:
    """`5,25,50,100` (or `5 25 50 100`): increasing whole percentages in 1..100."""
    parts = [str(p) for p in text] if not isinstance(text, str) else [
        p for p in re.split(r"[,\s]+", text.strip()) if p]
    if not parts:
        raise InputError(f"{origin}: no steps; expected canary traffic percentages such as "
                         "5,25,50,100")
    weights: list[int] = []
    for part in parts:
        cleaned = part.rstrip("%")
        if not cleaned.isdigit() or not 1 <= int(cleaned) <= 100:
            raise InputError(f"{origin}: {part!r} is not a percentage of traffic; expected whole "
                             "numbers from 1 to 100, e.g. 5,25,50,100")
        weight = int(cleaned)
        if weights and weight <= weights[-1]:
            raise InputError(f"{origin}: {weight} after {weights[-1]}; each step must send "
                             "more traffic to the canary than the one before")
        weights.append(weight)
    return [Step(number=i + 1, weight=w) for i, w in enumerate(weights)]


def configured(config: Config) -> list[Step]:
    """The steps under `canary.steps` in the config (the fallback for no --steps)."""
    steps = config.section("canary").get("steps")
    if not steps:
        raise InputError("no steps: pass --steps 5,25,50,100 or set canary.steps in the "
                         "config")
    return parse_steps(list(steps), origin="canary.steps")


def yaml_text(step: Step) -> str:
    return (f"# step {step.number}: {step.weight}% of traffic to the canary\n"
            f"traffic_split:\n  canary: {step.weight}\n  stable: {100 - step.weight}\n")


def document(steps: list[Step]) -> dict[str, Any]:
    return {
        "schema": SCHEMA,
        "created_at": now_iso(),
        "weights": [s.weight for s in steps],
        "steps": [{"step": s.number, "weight": s.weight, "traffic_split": s.split,
                   "file": s.file, "last": s.number == len(steps)} for s in steps],
    }


def write(steps: list[Step], out_dir: str | Path) -> Path:
    """`<out>/canary-plan.json` and `<out>/canary-plan/canary-<weight>.yml` per step;
    stale step files from an earlier plan are removed so the folder matches the plan."""
    out = Path(out_dir)
    folder = out / FOLDER
    folder.mkdir(parents=True, exist_ok=True)
    keep = {Path(s.file).name for s in steps}
    for old in folder.glob("canary-*.yml"):
        if old.name not in keep:
            old.unlink()
    for step in steps:
        (out / step.file).write_text(yaml_text(step), encoding="utf-8")
    path = out / f"{FOLDER}.json"
    path.write_text(json.dumps(document(steps), indent=2) + "\n", encoding="utf-8")
    return path


def table(steps: list[Step]) -> str:
    lines = ["step  canary  stable  file"]
    lines += [f"{s.number:>4}  {s.weight:>5}%  {100 - s.weight:>5}%  {s.file}" for s in steps]
    return "\n".join(lines)
