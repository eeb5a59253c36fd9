"""Reading and writing lineage.json, always through `schemas/lineage.schema.json`.

`tag` checks its own output against the schema before writing, so a document
that reaches another job is one `verify` can read; `verify` checks its input
the same way, so an edited or truncated file is bad input (exit 2) naming the
field, never a KeyError halfway through re-hashing."""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from mlci import schemas
from mlci.errors import InputError
from mlci.lineage.hashing import Snapshot, canonical

LINEAGE_FORMAT = "mlci/lineage/v1"
FILE_NAME = "lineage.json"
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


def _where(error: Any) -> str:
    parts = ""
    for part in error.absolute_path:
        parts += f"[{part}]" if isinstance(part, int) else (f".{part}" if parts else str(part))
    return parts or "(top level)"


def validate(document: Mapping[str, Any], source: str) -> None:
    validator = schemas.validator(schemas.LINEAGE)
    errors = sorted(validator.iter_errors(document), key=lambda e: list(e.absolute_path))
    if errors:
        first = errors[0]
        more = f" (and {len(errors) - 1} more problem(s))" if len(errors) > 1 else ""
        raise InputError(f"{source}: {_where(first)}: {first.message}; expected a document "
                         f"valid against schemas/{schemas.LINEAGE}{more}")


def read(path: str | os.PathLike[str]) -> dict[str, Any]:
    source = os.fspath(path)
    try:
        text = Path(source).read_text(encoding="utf-8")
    except FileNotFoundError as exc:
        raise InputError(f"{source}: no such file; expected the lineage.json written by "
                         "`mlci lineage tag`") from exc
    except (OSError, UnicodeDecodeError) as exc:
        raise InputError(f"{source}: cannot read ({exc})") from exc
    try:
        document = json.loads(text)
    except (ValueError, RecursionError) as exc:
        raise InputError(f"{source}: not valid JSON ({exc})") from exc
    if not isinstance(document, dict):
        raise InputError(f"{source}: expected a JSON object, got {type(document).__name__}")
    validate(document, source)
    return document


def write(document: Mapping[str, Any], out_dir: str | os.PathLike[str]) -> Path:
    validate(document, f"{FILE_NAME} (as built)")
    path = Path(out_dir) / FILE_NAME
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{FILE_NAME}.tmp")
    tmp.write_text(json.dumps(document, indent=2) + "\n", encoding="utf-8")
    os.replace(tmp, path)
    return path
