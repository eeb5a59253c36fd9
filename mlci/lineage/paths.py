"""Which paths a lineage run may read, and which of mlci's own it leaves out.

Both are decided from this run's command line (`--out`, `--allow-path`) and
the project around the working folder, never read from a record: a record is
input, and an edited one must not be able to point verify at `/etc` or hide
files from it."""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from typing import Any

from mlci.errors import InputError
from mlci.lineage import gitinfo
from mlci.lineage.hashing import Snapshot


def _inside(out_dir: str, root: str) -> str | None:
    """The out folder relative to `root` when it lies inside it, else None."""
    if not os.path.isdir(root):
        return None
    rel = os.path.relpath(os.path.abspath(out_dir), os.path.abspath(root))
    if rel == ".." or rel.startswith(".." + os.sep) or os.path.isabs(rel):
        return None
    return rel.replace(os.sep, "/")


def data_exclusions(root: str, out_dir: str) -> list[str]:
    """mlci's out folder (cache, results, lineage.json) when it lies inside a data folder:
    decided from --out on each run, never read from a record."""
    rel = _inside(out_dir, root)
    if rel == ".":
        raise InputError(f"--data {root}: is the out folder itself; choose another --out")
    return [] if rel is None else [rel]


def refuse_out_in_model(model: str, out_dir: str) -> None:
    """Files mlci writes must never become (or hide) model files: no out folder inside it."""
    if _inside(out_dir, model) is not None:
        raise InputError(f"--out {out_dir}: lies inside the model folder {model}; mlci would "
                         "write into the model (and could not sign what it leaves out): "
                         "choose an out folder outside it")


def refuse_loose_links(flag: str, path: str, snap: Snapshot) -> None:
    """A link out of the project (or to a folder outside `path`) would record a name,
    not bytes: bad input, naming the link."""
    if snap.loose_links:
        rel, text, target = snap.loose_links[0]
        more = f" (and {len(snap.loose_links) - 1} more)" if len(snap.loose_links) > 1 else ""
        raise InputError(f"{flag} {path}: {rel} is a symlink to {text} ({target}), whose bytes "
                         f"would not be recorded: it leaves the project or is a folder "
                         f"outside {path}{more}; copy the target in, or pass it as its own "
                         "--data path and remove the link")


def project_root(cwd: str) -> str:
    """The git checkout around `cwd`, or `cwd` itself outside one."""
    try:
        return gitinfo.toplevel(cwd)
    except InputError:
        return cwd


def _within(path: str, base: str) -> bool:
    return path == base or path.startswith(base.rstrip(os.sep) + os.sep)


def check_record_paths(doc: Mapping[str, Any], source: str, root: str,
                       allowed: Sequence[str]) -> None:
    """A record names paths for verify to read: refuse any outside the project (`/etc`,
    `../../`), unless this command line names it with --allow-path."""
    named = [(f"data[{i}].path", str(r["path"])) for i, r in enumerate(doc["data"])]
    if doc["model"] is not None:
        named.append(("model.path", str(doc["model"]["path"])))
    bases = [os.path.abspath(root), os.path.realpath(root)]
    permitted = [os.path.abspath(a) for a in allowed] + [os.path.realpath(a) for a in allowed]
    for field_name, path in named:
        lexical, real = os.path.abspath(path), os.path.realpath(path)
        if any(_within(lexical, a) or _within(real, a) for a in permitted):
            continue
        if not (any(_within(lexical, b) for b in bases) and any(_within(real, b) for b in bases)):
            raise InputError(f"{source}: {field_name} {path!r} lies outside the project "
                             f"{root}; verify reads only the project's files unless you "
                             f"name the path yourself: --allow-path {path}")
