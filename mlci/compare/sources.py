"""What `--candidate` and `--baseline` can name, turned into something comparable.

A SRC is a predictions file, an MLflow model URI (run on `--data`),
`git:REF:PATH` (a file as it was at another commit), or a result/metrics JSON
with point values only. Rows are paired so that the bootstrap resamples the
same rows for both models; point values cannot be paired and say so."""

from __future__ import annotations

import json
import re
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
        return _load_from_git(spec, role=role, config=config, data=data)
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


HEX = re.compile(r"[0-9a-fA-F]{4,64}")
# a ref or commit, then any of `~N` / `^N` (HEAD~1, origin/main^2)
REVISION = re.compile(r"(?P<base>.+?)(?P<suffix>(?:[~^][0-9]{0,4})*)")
GIT_HELP = "expected git:REF:PATH, e.g. git:origin/main:eval/predictions.csv"


def _load_from_git(spec: str, *, role: str, config: Config, data: str | None) -> Source:
    """`git:REF:PATH`: PATH as it is at REF, read from a copy that is removed again
    once loaded (the rows are in memory by then); messages name the spec, not the copy."""
    ref, path = _parse_git_spec(spec)
    content = _git_file(spec, ref, path)
    with tempfile.TemporaryDirectory(prefix="mlci-git-") as folder:
        target = Path(folder) / PurePosixPath(path).name
        target.write_bytes(content)
        try:
            source = load(str(target), role=role, config=config, data=data)
        except InputError as exc:
            raise InputError(str(exc).replace(str(target), spec), file=exc.file,
                             line=exc.line) from None
    if source.predictions is not None:
        source.predictions.source = spec
    return source.named(spec)


def _parse_git_spec(spec: str) -> tuple[str, str]:
    """REF and PATH, refused unless REF is a ref name or commit (never an option git
    would act on: `git:--output=/tmp/x:y`) and PATH a path inside the repository."""
    _, ref, path = [*spec.split(":", 2), "", ""][:3]
    if not ref or not path:
        raise InputError(f"{spec}: {GIT_HELP}, with a ref and a path")
    match = REVISION.fullmatch(ref)
    base = match.group("base") if match else ref
    if (base.startswith("-") or not base.isprintable() or " " in base
            or not (base == "HEAD" or HEX.fullmatch(base) or _is_ref_name(base))):
        raise InputError(f"{spec}: {ref!r} is not a git ref or commit (a branch, tag or "
                         f"remote ref such as origin/main, a commit SHA, or HEAD~1); {GIT_HELP}")
    clean = PurePosixPath(path)
    if (path.startswith(("/", "-")) or path.endswith("/") or "\0" in path or not path.isprintable()
            or ".." in clean.parts or not clean.name):
        raise InputError(f"{spec}: {path!r} is not a file path inside the repository; "
                         f"{GIT_HELP}")
    return ref, path


def _is_ref_name(name: str) -> bool:
    """`git check-ref-format --allow-onelevel` (the name never starts with `-` here)."""
    return _git("check-ref-format", "--allow-onelevel", name).returncode == 0


def _git_file(spec: str, ref: str, path: str) -> bytes:
    """The bytes of PATH at REF. In a shallow clone the ref may be missing: fetch just
    that ref, once."""
    commit = _resolve(ref)
    match = REVISION.fullmatch(ref)
    fetchable = match is not None and not match.group("suffix")  # HEAD~1 needs history
    if commit is None and fetchable and _git_fetch(ref):
        commit = _resolve(ref) or _resolve("FETCH_HEAD")
    content = _cat_file(commit, path) if commit else None
    if content is None:
        raise InputError(f"{spec}: {path} not found at {ref} (git show {ref}:{path} failed, "
                         "also after fetching the ref)")
    return content


def _resolve(ref: str) -> str | None:
    """The commit REF names, as a full SHA (so nothing after this reads REF again)."""
    done = _git("rev-parse", "--verify", "--quiet", "--end-of-options", f"{ref}^{{commit}}")
    sha = done.stdout.decode("ascii", "replace").strip()
    return sha if done.returncode == 0 and HEX.fullmatch(sha) else None


def _cat_file(commit: str, path: str) -> bytes | None:
    """The blob at COMMIT:PATH, raw (no textconv); None when it is missing or no file."""
    done = _git("cat-file", "blob", f"{commit}:{path}")
    return done.stdout if done.returncode == 0 else None


def _git(*args: str) -> subprocess.CompletedProcess[bytes]:
    try:
        return subprocess.run(["git", *args], capture_output=True, check=False, timeout=120)
    except FileNotFoundError:
        raise InputError("git:REF:PATH needs git, which is not installed") from None


def _git_fetch(ref: str) -> bool:
    """Fetch one ref with depth 1 (enough to read a file), as shallow CI clones need.
    The ref was checked by `_parse_git_spec`; `--end-of-options` keeps it an argument."""
    if ref.startswith("origin/"):
        branch = ref.removeprefix("origin/")
        refspec = f"+refs/heads/{branch}:refs/remotes/origin/{branch}"
    else:
        refspec = ref
    return _git("fetch", "--quiet", "--depth=1", "--end-of-options", "origin",
                refspec).returncode == 0
