"""Finding and checking the documents a report is made of.

`report` reads result documents only, so it can report any step, including
ones written by a newer mlci or downloaded from other jobs. Artifacts land in
subfolders (`actions/download-artifact` puts each artifact in its own), so the
out folder is searched recursively. A file that claims to be a result document
but fails the schema is kept and reported as invalid: a corrupt compare.json
must not silently disappear from a report that then says "pass"."""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from mlci.errors import InputError

MAX_DOCUMENT_BYTES = 50_000_000
SKIP_DIRS = frozenset({"cache", "__pycache__"})
REPORT_STEP = "report"  # our own result document: never reported on


@dataclass(frozen=True)
class Document:
    """A result document as read: `data` is the parsed JSON (`{}` when unreadable)
    and `errors` is empty exactly when it passes `schemas/result.schema.json`."""

    path: str  # relative to the out folder, with "/"
    data: Mapping[str, Any]
    errors: tuple[str, ...] = ()

    @property
    def valid(self) -> bool:
        return not self.errors

    @property
    def step(self) -> str:
        step = self.data.get("step")
        return step if isinstance(step, str) and step else Path(self.path).stem


@dataclass(frozen=True)
class Collection:
    documents: tuple[Document, ...]
    lineage: tuple[Mapping[str, Any], ...] = field(default=())  # mlci/lineage/v1 documents
    missing: str = ""  # why there are no documents ("" when there are some)


def load(out_dir: str) -> Collection:
    """Every result document under `out_dir`, in path order (deterministic).

    No documents (or no folder) is not an error: in an `if: always()` report job it
    means every earlier step failed before writing one, and a report saying so is
    more use than a second red cross. `missing` says which it was."""
    root = Path(out_dir)
    if root.exists() and not root.is_dir():
        raise InputError(f"--out {out_dir}: not a folder; expected the folder of the result "
                         "documents")
    if not root.is_dir():
        return Collection((), missing="the folder does not exist")
    documents: list[Document] = []
    lineage: list[Mapping[str, Any]] = []
    for path in _json_files(root):
        rel = path.relative_to(root).as_posix()
        data, problem = _read(path)
        if problem is not None:
            documents.append(Document(rel, {}, (problem,)))
            continue
        kind = _kind(data)
        if kind == "lineage":
            lineage.append(data)
        elif kind == "result" and data.get("step") != REPORT_STEP:
            documents.append(Document(rel, data, tuple(schema_errors(data))))
    missing = "" if documents else "the folder holds none (such as validate.json)"
    return Collection(tuple(documents), tuple(lineage), missing)


def _json_files(root: Path) -> list[Path]:
    found: list[Path] = []
    for folder, dirs, files in os.walk(root):
        dirs[:] = sorted(d for d in dirs if d not in SKIP_DIRS and not d.startswith("."))
        for name in sorted(files):
            path = Path(folder) / name
            if name.endswith(".json") and not name.startswith(".") and not path.is_symlink():
                found.append(path)
    return sorted(found, key=lambda p: p.relative_to(root).as_posix())


def _read(path: Path) -> tuple[Any, str | None]:
    try:
        if path.stat().st_size > MAX_DOCUMENT_BYTES:
            return None, f"larger than {MAX_DOCUMENT_BYTES:,} bytes"
        return json.loads(path.read_text(encoding="utf-8")), None
    except (OSError, UnicodeDecodeError) as exc:
        return None, f"cannot read: {type(exc).__name__}"
    except ValueError as exc:
        return None, f"not JSON: {exc}"
    except RecursionError:  # `[[[[…` a hundred thousand deep: Python's parser recurses
        return None, "not JSON that mlci reads: nested too deeply"


def _kind(data: Any) -> str | None:
    """"result", "lineage" or None (not ours: some other JSON artifact, ignored)."""
    if not isinstance(data, dict):
        return None
    schema = data.get("schema")
    if isinstance(schema, str):
        if schema.startswith("mlci/lineage/"):
            return "lineage"
        if schema.startswith("mlci/result/"):
            return "result"
        return None
    # No schema field: a result document that lost it still looks like one.
    return "result" if {"step", "verdict", "checks"} & set(data) else None


def schema_errors(data: Any, limit: int = 20) -> list[str]:
    """Where and why `data` fails the result schema, sorted so the report is stable."""
    from mlci import schemas

    validator = schemas.validator(schemas.RESULT)
    errors = []
    for error in validator.iter_errors(data):
        where = "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in error.absolute_path)
        message = error.message if len(error.message) <= 200 else error.message[:199] + "…"
        errors.append(f"{where.lstrip('.') or '(document)'}: {message}")
    errors.sort()
    if len(errors) > limit:
        errors = [*errors[:limit], f"… and {len(errors) - limit} more"]
    return errors
