"""What users name when they point at a registry: its URI, the model, the alias.

Resolved and checked here, before MLflow is imported or called, so a wrong
name is exit 2 with the reason in mlci's words (not MLflow's HTTP 400), and
a URI with a password is shown without it wherever it is printed.

Which registry: `--registry`, else the config's `registry.uri`, else
`MLFLOW_TRACKING_URI`, else the embedded SQLite file `.mlci/registry.db` in
the project (the folder of mlci.yml, else the current folder), so a laptop
run works with nothing configured and every out folder of the project
shares one registry."""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from mlci.errors import InputError

EMBEDDED_DIR = ".mlci"  # in the project folder
DB_NAME = "registry.db"
_RESERVED_ALIAS = re.compile(r"^(latest|[vV]\d+)$", re.IGNORECASE)
_ALIAS = re.compile(r"^[\w\-]+$")


def embedded_uri(project_dir: str) -> str:
    """The project's own registry: one per project, whatever `--out` each step uses."""
    return "sqlite:///" + str(Path(os.path.abspath(project_dir)) / EMBEDDED_DIR / DB_NAME)


def resolve_uri(option: str | None, config_section: Mapping[str, Any], project_dir: str,
                environ: Mapping[str, str] | None = None) -> str:
    """--registry, config `registry.uri`, $MLFLOW_TRACKING_URI, then the embedded SQLite file."""
    env = os.environ if environ is None else environ
    if option:
        return option
    configured = config_section.get("uri")
    if isinstance(configured, str) and configured:
        return configured
    if env.get("MLFLOW_TRACKING_URI"):
        return env["MLFLOW_TRACKING_URI"]
    return embedded_uri(project_dir)


def sqlite_file(uri: str) -> Path | None:
    """The database file of a `sqlite:///…` URI (None for servers and other stores)."""
    if not uri.startswith("sqlite:///"):
        return None
    path = uri[len("sqlite:///"):].split("?", 1)[0]
    return Path(path) if path and path != ":memory:" else None


def display_uri(uri: str) -> str:
    """The URI without credentials: it goes into logs, results and CI annotations."""
    try:
        parts = urlsplit(uri)
    except ValueError:
        return uri
    if parts.password is None and parts.username is None:
        return uri
    host = parts.hostname or ""
    if parts.port:
        host += f":{parts.port}"
    return urlunsplit((parts.scheme, host, parts.path, parts.query, parts.fragment))


def check_alias(alias: str) -> str:
    """MLflow reserves `latest` and `v<n>` (they address versions); refuse them
    before touching the registry, with the reason, not MLflow's 400."""
    if not alias:
        raise InputError("--alias: missing; name the alias to move, e.g. --alias production")
    if _RESERVED_ALIAS.match(alias):
        raise InputError(f"--alias {alias}: reserved by MLflow (`latest` and `v<number>` "
                         "address versions, not aliases); choose another name, e.g. production")
    if not _ALIAS.match(alias) or len(alias) > 200:
        raise InputError(f"--alias {alias}: expected letters, digits, `_` and `-` only "
                         "(at most 200), e.g. production or champion")
    return alias


def check_name(name: str | None) -> str:
    if not name or not name.strip():
        raise InputError("--name: missing; name the registered model, e.g. --name fraud "
                         "(or set registry.name in the config)")
    if "/" in name or ":" in name:
        raise InputError(f"--name {name}: registered model names cannot contain '/' or ':'")
    return name
