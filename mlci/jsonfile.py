"""Reading a JSON document a user (or an earlier job) handed mlci.

Every step that reads one (lineage.json, a result document used as a gate)
must fail the same way on a missing, unreadable, truncated or hostile file:
exit 2 with one line naming the file and what was expected, never a
traceback. `[[[[…` nested a hundred thousand deep makes Python's parser
recurse, so that is bad input too, not an internal error."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from mlci.errors import InputError


def read_json(path: str | os.PathLike[str], what: str) -> dict[str, Any]:
    """The JSON object in `path`; `what` names the expected document in messages
    ("the lineage.json written by `mlci lineage tag`")."""
    source = os.fspath(path)
    try:
        text = Path(source).read_text(encoding="utf-8")
    except FileNotFoundError as exc:
        raise InputError(f"{source}: no such file; expected {what}", file=source) from exc
    except (OSError, UnicodeDecodeError) as exc:
        raise InputError(f"{source}: cannot read ({exc})", file=source) from exc
    try:
        loaded = json.loads(text)
    except RecursionError as exc:
        raise InputError(f"{source}: not valid JSON (nested too deeply); expected {what}",
                         file=source) from exc
    except ValueError as exc:
        raise InputError(f"{source}: not valid JSON ({exc}); expected {what}",
                         file=source) from exc
    if not isinstance(loaded, dict):
        raise InputError(f"{source}: expected a JSON object ({what}), got "
                         f"{type(loaded).__name__}", file=source)
    return loaded
