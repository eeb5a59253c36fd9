"""Reading and writing lineage.json, always through `schemas/lineage.schema.json`,
and the one reader of what a record says (`facts`).

`tag` checks its own output against the schema before writing, so a document
that reaches another job is one `verify` can read; `verify` checks its input
the same way, so an edited or truncated file is bad input (exit 2) naming the
field, never a KeyError halfway through re-hashing.

`facts` is what every other part takes from a record (promote's lineage gate,
the report's lineage section, tag's and verify's own result documents): one
reading, so "the commit of this lineage" cannot mean two things."""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from mlci import schemas
from mlci.config import format_path
from mlci.errors import InputError
from mlci.jsonfile import read_json
from mlci.lineage.hashing import Snapshot, canonical

LINEAGE_FORMAT = "mlci/lineage/v1"
FILE_NAME = "lineage.json"
EXPECTED = "the lineage.json written by `mlci lineage tag`"
_DATA_SET_HEADER = b"mlci-data-v1\n"


def display_path(path: str | os.PathLike[str], cwd: str | os.PathLike[str]) -> str:
    """Relative to the working folder when inside it, so another job's checkout can verify."""
    absolute = Path(os.path.abspath(path))
    base = Path(os.path.abspath(cwd))
    try:
        rel = absolute.relative_to(base).as_posix()
    except ValueError:
        return absolute.as_posix()
    return rel or "."


def combined_data_id(ids: Mapping[str, str]) -> str:
    """One ID for a whole training input; a single path keeps its own ID so users can match it."""
    if len(ids) == 1:
        return next(iter(ids.values()))
    digest = hashlib.sha256(_DATA_SET_HEADER)
    for path in sorted(ids, key=lambda p: p.encode("utf-8", "surrogateescape")):
        digest.update(canonical({"path": path, "id": ids[path]}) + b"\n")
    return "sha256:" + digest.hexdigest()


def snapshot_record(path: str, snap: Snapshot) -> dict[str, Any]:
    return {"path": path, "kind": snap.kind, "files": snap.files, "bytes": snap.bytes,
            "excluded": snap.excluded, "entries": snap.entries}


def validate(document: Mapping[str, Any], source: str) -> None:
    validator = schemas.validator(schemas.LINEAGE)
    errors = sorted(validator.iter_errors(document), key=lambda e: list(e.absolute_path))
    if errors:
        first = errors[0]
        more = f" (and {len(errors) - 1} more problem(s))" if len(errors) > 1 else ""
        raise InputError(f"{source}: {format_path(tuple(first.absolute_path))}: "
                         f"{first.message}; expected a document valid against "
                         f"schemas/{schemas.LINEAGE}{more}")


def read(path: str | os.PathLike[str]) -> dict[str, Any]:
    document = read_json(path, EXPECTED)
    validate(document, os.fspath(path))
    return document


def write(document: Mapping[str, Any], out_dir: str | os.PathLike[str]) -> Path:
    validate(document, f"{FILE_NAME} (as built)")
    path = Path(out_dir) / FILE_NAME
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{FILE_NAME}.tmp")
    tmp.write_text(json.dumps(document, indent=2) + "\n", encoding="utf-8")
    os.replace(tmp, path)
    return path


@dataclass(frozen=True)
class Facts:
    """What a lineage record says about the model's origin, as every reader sees it."""

    commit: str | None  # None when git facts were not recorded (--no-git)
    merge_commit: str | None
    dirty: bool | None  # None when git facts were not recorded
    data: tuple[tuple[str, str], ...]  # (path, snapshot ID) per recorded data path
    data_id: str | None
    model_path: str | None
    model_digest: str | None
    signature_key_id: str | None
    run_id: str | None  # the MLflow run tagged with this lineage

    @property
    def ids(self) -> dict[str, str]:
        """Data path → snapshot ID, as result documents record them."""
        return dict(self.data)


def _text(value: Any) -> str | None:
    return value if isinstance(value, str) else None


def _section(value: Any) -> Mapping[str, Any]:
    return value if isinstance(value, Mapping) else {}


def facts(document: Mapping[str, Any]) -> Facts:
    """The record's facts; a field of the wrong type reads as absent, never as a value.

    Tolerant on purpose: `report` shows lineage records from artifacts without
    validating them, and must neither crash on nor trust a malformed one. The
    other readers pass only records that `validate` accepted, for which this is
    exact. A commit counts only where git facts say they were recorded."""
    git = _section(document.get("git"))
    recorded = git.get("recorded") is True
    model = _section(document.get("model"))
    records = document.get("data")
    data = tuple((r["path"], r["id"]) for r in (records if isinstance(records, list) else [])
                 if isinstance(r, Mapping) and isinstance(r.get("path"), str)
                 and isinstance(r.get("id"), str))
    dirty = git.get("dirty")
    return Facts(
        commit=_text(git.get("commit")) if recorded else None,
        merge_commit=_text(git.get("merge_commit")) if recorded else None,
        dirty=dirty if recorded and isinstance(dirty, bool) else None,
        data=data, data_id=_text(document.get("data_id")),
        model_path=_text(model.get("path")), model_digest=_text(model.get("digest")),
        signature_key_id=_text(_section(model.get("signature")).get("key_id")),
        run_id=_text(_section(document.get("mlflow")).get("run_id")))
