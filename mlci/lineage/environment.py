"""The runtime environment a model was built in: interpreter, platform, packages, lockfiles.

In CI, mlci usually runs from its own virtualenv (the setup action installs it
apart from the project), so describing `sys.executable` would describe mlci,
not the training environment. `python=` names the interpreter that trained
the model; its packages are read by running it, with nothing imported."""

from __future__ import annotations

import hashlib
import json
import platform
import re
import subprocess
import sys
from collections.abc import Mapping
from importlib import metadata
from pathlib import Path
from typing import Any

from mlci.errors import InputError
from mlci.lineage.hashing import file_sha256

LOCKFILE_PATTERNS = ("requirements*.txt", "requirements/*.txt", "uv.lock", "poetry.lock",
                     "Pipfile.lock", "pylock.toml", "environment.yml", "environment.yaml")

_PROBE = """
import json, platform, sys
from importlib import metadata
print(json.dumps({
    "python": platform.python_version(),
    "implementation": platform.python_implementation(),
    "executable": sys.executable,
    "packages": [[d.metadata["Name"], d.version] for d in metadata.distributions()],
}))
"""


def _normalise(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()  # PEP 503, so pip and uv names agree


def _packages(pairs: list[tuple[str | None, str | None]]) -> dict[str, str]:
    found: dict[str, str] = {}
    for name, version in pairs:
        if name and version:
            found.setdefault(_normalise(name), version)  # first on sys.path wins, as in imports
    return dict(sorted(found.items()))


def _interpreter(python: str | None) -> dict[str, Any]:
    if python is None:
        return {
            "python": platform.python_version(),
            "implementation": platform.python_implementation(),
            "executable": sys.executable,
            "packages": _packages([(d.metadata["Name"], d.version)
                                   for d in metadata.distributions()]),
        }
    try:
        proc = subprocess.run([python, "-I", "-c", _PROBE], capture_output=True, text=True,
                              check=False, timeout=120)
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise InputError(f"--python {python}: cannot run this interpreter ({exc})") from exc
    if proc.returncode != 0:
        raise InputError(f"--python {python}: the interpreter failed: {proc.stderr.strip()}")
    probed = json.loads(proc.stdout)
    probed["packages"] = _packages([tuple(pair) for pair in probed["packages"]])
    return dict(probed)


def lockfiles(root: Path) -> list[dict[str, str]]:
    found: list[dict[str, str]] = []
    seen: set[Path] = set()
    for pattern in LOCKFILE_PATTERNS:
        for path in sorted(root.glob(pattern)):
            if path.is_file() and path not in seen:
                seen.add(path)
                found.append({"path": path.relative_to(root).as_posix(),
                              "sha256": file_sha256(str(path))[0]})
    return sorted(found, key=lambda item: item["path"])


def describe(lockfile_root: Path, python: str | None = None) -> dict[str, Any]:
    """The `environment` section of lineage.json."""
    interp = _interpreter(python)
    packages: Mapping[str, str] = interp["packages"]
    listing = json.dumps(packages, sort_keys=True, separators=(",", ":")).encode()
    return {
        "python": interp["python"],
        "implementation": interp["implementation"],
        "executable": interp["executable"],
        "platform": platform.platform(),
        "machine": platform.machine(),
        "packages": dict(packages),
        "packages_digest": "sha256:" + hashlib.sha256(listing).hexdigest(),
        "lockfiles": lockfiles(lockfile_root),
    }
