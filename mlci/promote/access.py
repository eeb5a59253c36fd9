"""Which registry and registered model promote, rollback and history act on.

The flag first, then the config's `registry:` section, then the environment,
then the project's own embedded registry: the folder of the config file (else
the working folder), whatever `--out` says, so every out folder of a project
shares one registry. Plain values in: the run functions read the config."""

from __future__ import annotations

import os
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from mlci.registry.client import Registry
from mlci.registry.naming import check_name, embedded_uri, resolve_uri


def project_dir(config_path: str | None) -> str:
    """The folder of the config file, else the current folder."""
    return str(Path(config_path).resolve().parent) if config_path else os.getcwd()


def model_name(option: str | None, section: Mapping[str, Any]) -> str:
    configured = section.get("name")
    return check_name(option or (configured if isinstance(configured, str) else None))


def open_registry(option: str | None, section: Mapping[str, Any], project: str,
                  label: str) -> Registry:
    """The registry to use. The embedded default is announced on stderr (stdout may be
    JSON for a script), so nobody wonders which file their aliases went to."""
    uri = resolve_uri(option, section, project)
    if uri == embedded_uri(project):
        print(f"{label}: registry: {uri} (the project's embedded registry; --registry, "
              "registry.uri or MLFLOW_TRACKING_URI name a shared one)", file=sys.stderr)
    return Registry(uri)
