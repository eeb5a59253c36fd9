"""What `--candidate` and `--baseline` can name, turned into something comparable.

A SRC is a predictions file, an MLflow model URI (run on `--data`),
`git:REF:PATH` (a file as it was at another commit), or a result/metrics JSON
with point values only. Rows are paired so that the bootstrap resamples the
same rows for both models; point values cannot be paired and say so."""

from __future__ import annotations

import json
import subprocess
import tempfile
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import Any

from mlci.config import Config
from mlci.errors import InputError
from mlci.predictions import Predictions, from_file, from_model
from mlci.tables import FORMATS


@dataclass
class Source:
    """One side of a comparison: paired rows, or point values only."""

    spec: str
    predictions: Predictions | None = None
    points: dict[str, float] = field(default_factory=dict)
    digest: str | None = None

    @property
    def paired(self) -> bool:
        return self.predictions is not None

    def named(self, spec: str) -> Source:
        """The same source under the name the user gave (e.g. git:REF:PATH)."""
        self.spec = spec
        return self


def load(spec: str, *, role: str, config: Config, data: str | None) -> Source:
    positive = config.data.get("positive_label")
    if spec.startswith("git:"):
        return load(_from_git(spec), role=role, config=config, data=data).named(spec)
    path = Path(spec)
    if path.is_file() and path.suffix.lower() == ".json" and _is_points(path):
        return Source(spec=spec, points=_points(path))
    if path.is_file() and path.suffix.lower() in FORMATS:
        preds = from_file(spec, config.columns, config.task, positive, role=role)
        return Source(spec=spec, predictions=preds, digest=preds.inputs[role])
    if _looks_like_model(spec):
        if data is None:
            raise InputError(f"--{role} {spec} is a model: pass --data FILE with the rows "
                             "to run it on")
        preds = from_model(spec, data, config.columns, config.task, positive)
        return Source(spec=spec, predictions=preds)
    raise InputError(f"--{role} {spec}: not found; expected a predictions file (.csv, "
                     ".parquet, .jsonl), a result or metrics .json, an MLflow model URI, "
                     "or git:REF:PATH")


def _looks_like_model(spec: str) -> bool:
    if spec.startswith(("runs:/", "models:/", "file:", "s3://", "gs://", "dbfs:/",
                        "mlflow-artifacts:/")):
        return True
    return (Path(spec) / "MLmodel").is_file()


def _is_points(path: Path) -> bool:
    """A `.json` is a points file unless it is JSON Lines (one record per line)."""
    try:
        loaded = json.loads(path.read_text(encoding="utf-8"))
    except ValueError:
        return False  # JSON Lines: a predictions table
    return isinstance(loaded, dict)


def _points(path: Path) -> dict[str, float]:
    """Metric values from a result document (its unsliced metric checks) or a flat
    `{"accuracy": 0.91, ...}` metrics file (DVC's and MLflow's common form)."""
    loaded: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    if loaded.get("schema") == "mlci/result/v1":
        values = {c["metric"]: c.get("value") for c in loaded.get("checks", [])
                  if c.get("metric") and not c.get("slice")}
    else:
        values = loaded.get("metrics", loaded)
    points = {k: float(v) for k, v in values.items()
              if isinstance(v, (int, float)) and not isinstance(v, bool)}
    if not points:
        raise InputError(f"{path}: no metric values found; expected an mlci result document "
                         "or a JSON object such as {\"accuracy\": 0.91}")
    return points


def _from_git(spec: str) -> str:
    """`git:REF:PATH` → a temporary copy of PATH as it is at REF.

    In a shallow clone the ref may be missing: fetch just that ref, once."""
    try:
        _, ref, path = spec.split(":", 2)
    except ValueError:
        raise InputError(f"{spec}: expected git:REF:PATH, e.g. git:origin/main:eval/"
                         "predictions.csv") from None
    if not ref or not path:
        raise InputError(f"{spec}: expected git:REF:PATH with a ref and a path")
    content = _git_show(ref, path)
    if content is None and _git_fetch(ref):
        content = _git_show(ref, path) or _git_show("FETCH_HEAD", path)
    if content is None:
        raise InputError(f"{spec}: {path} not found at {ref} (git show {ref}:{path} failed, "
                         "also after fetching the ref)")
    folder = Path(tempfile.mkdtemp(prefix="mlci-git-"))
    target = folder / PurePosixPath(path).name
    target.write_bytes(content)
    return str(target)


def _git(*args: str) -> subprocess.CompletedProcess[bytes]:
    try:
        return subprocess.run(["git", *args], capture_output=True, check=False, timeout=120)
    except FileNotFoundError:
        raise InputError("git:REF:PATH needs git, which is not installed") from None


def _git_show(ref: str, path: str) -> bytes | None:
    done = _git("show", f"{ref}:{path}")
    return done.stdout if done.returncode == 0 else None


def _git_fetch(ref: str) -> bool:
    """Fetch one ref with depth 1 (enough for `git show`), as shallow CI clones need."""
    if ref.startswith("origin/"):
        branch = ref.removeprefix("origin/")
        refspec = f"+refs/heads/{branch}:refs/remotes/origin/{branch}"
    else:
        refspec = ref
    return _git("fetch", "--quiet", "--depth=1", "origin", refspec).returncode == 0
