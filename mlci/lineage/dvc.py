"""DVC's own IDs for the same data, so DVC users can match lineage.json to `dvc status`.

mlci does not recompute DVC's md5s (DVC 2 normalised line endings before
hashing, DVC 3 does not, and directories hash a `.dir` manifest); it records
what the `.dvc` files and `dvc.lock` say, as DVC wrote it. A DVC file that does
not parse is reported as a warning rather than an error: it is DVC's input,
not ours."""

from __future__ import annotations

import os
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import yaml

from mlci import safe_yaml


def _load(path: Path, warnings: list[str]) -> Any:
    """Every scalar as the string DVC wrote: an all-digit md5 must not become an int.
    Read with mlci's bounded loader: a dvc.lock is someone else's input too."""
    try:
        return safe_yaml.load_file(path, strings=True).data
    except (OSError, UnicodeDecodeError, yaml.YAMLError) as exc:
        warnings.append(f"{path}: not readable as DVC YAML ({str(exc).splitlines()[0]})")
        return None


def _overlaps(a: Path, b: Path) -> bool:
    return a == b or a in b.parents or b in a.parents


def _record(out: Any, source: str, target: Path, data: Path, extra: dict[str, str]
            ) -> dict[str, Any] | None:
    if not isinstance(out, dict) or not isinstance(out.get("path"), str):
        return None
    md5 = out.get("md5")
    if not isinstance(md5, str) or not _overlaps(target, data):
        return None
    record: dict[str, Any] = {"source": source, **extra, "path": out["path"], "md5": md5}
    for key in ("size", "nfiles"):
        value = out.get(key)
        if isinstance(value, str) and value.isdigit():
            record[key] = int(value)
    return record


def _rel(path: Path, base: Path) -> str:
    try:
        return path.relative_to(base).as_posix()
    except ValueError:
        return path.as_posix()


def records(data_path: str, listing: Iterable[str], search_root: Path
            ) -> tuple[list[dict[str, Any]], list[str]]:
    """md5 records from `<path>.dvc`, `.dvc` files inside a data folder, and any
    `dvc.lock` between the data and `search_root` whose outs or deps overlap it."""
    data = Path(os.path.abspath(data_path))
    root = Path(os.path.abspath(search_root))
    warnings: list[str] = []
    found: list[dict[str, Any]] = []
    candidates = [data.with_name(data.name + ".dvc")]
    candidates += [data / rel for rel in listing if rel.endswith(".dvc")]
    for dvc_file in candidates:
        if not dvc_file.is_file():
            continue
        loaded = _load(dvc_file, warnings)
        outs = loaded.get("outs") if isinstance(loaded, dict) else None
        for out in outs if isinstance(outs, list) else []:
            path = out.get("path") if isinstance(out, dict) else None
            target = dvc_file.parent / path if isinstance(path, str) else dvc_file
            record = _record(out, _rel(dvc_file, root), target, data, {})
            if record is not None:
                found.append(record)
    folder = data.parent
    while folder == root or root in folder.parents:
        lock = folder / "dvc.lock"
        if lock.is_file():
            found.extend(_lock_records(lock, _load(lock, warnings), data, root))
        if folder == root:
            break
        folder = folder.parent
    return found, warnings


def _lock_records(lock: Path, loaded: Any, data: Path, root: Path) -> list[dict[str, Any]]:
    stages = loaded.get("stages") if isinstance(loaded, dict) else None
    found: list[dict[str, Any]] = []
    for stage, body in (stages.items() if isinstance(stages, dict) else []):
        if not isinstance(body, dict):
            continue
        for kind in ("deps", "outs"):
            items = body.get(kind)
            for item in items if isinstance(items, list) else []:
                path = item.get("path") if isinstance(item, dict) else None
                if not isinstance(path, str):
                    continue
                target = Path(os.path.normpath(lock.parent / path))
                record = _record(item, _rel(lock, root), target, data,
                                 {"stage": str(stage), "kind": kind[:-1]})
                if record is not None:
                    found.append(record)
    return found
