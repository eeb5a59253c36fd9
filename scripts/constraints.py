#!/usr/bin/env python3
"""Regenerate mlci/constraints.txt: the exact dependency versions a release installs.

    python scripts/constraints.py            # resolve (needs the package index) and write
    python scripts/constraints.py --check    # exit 1 when the file is stale (no network)

Why a constraints file: `pip install mlci` alone resolves to whatever is newest
that day, so two jobs pinned to the same mlci could run different pandas or
MLflow. The setup action and the GitLab setup install with `-c` this file, which
ships inside the package (mlci/constraints.txt: in the wheel, the sdist and the
action's checkout), so a given mlci version always installs the same versions.

It pins everything `mlci[server]` needs (the base set and the server extra), as
resolved by pip run by each supported CPython on Linux, wheels only (an install
never compiles). A package whose newest fitting version differs between Pythons
gets one line per version with a `python_version` marker; a Python newer than
the newest resolved one gets that one's pins. The header
records the mlci version and a digest of the dependency lists, so a test fails
when pyproject.toml changes and this file was not regenerated.
"""

from __future__ import annotations

import argparse
import glob
import hashlib
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
from collections import defaultdict
from pathlib import Path

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - Python 3.10
    import tomli as tomllib

ROOT = Path(__file__).resolve().parents[1]
TARGET = ROOT / "mlci" / "constraints.txt"
PYTHONS = ("3.10", "3.11", "3.12", "3.13")
DIGEST_LINE = re.compile(r"^# inputs: (sha256:[0-9a-f]{64})$", re.MULTILINE)
VERSION_LINE = re.compile(r"^# mlci ([^:\s]+):", re.MULTILINE)


def project() -> dict[str, object]:
    loaded: dict[str, object] = tomllib.loads(
        (ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    return loaded


def requirements() -> list[str]:
    """What `mlci[server]` needs: the base dependencies and the server extra."""
    meta = project()
    extras = meta["optional-dependencies"]
    assert isinstance(extras, dict)
    base = meta["dependencies"]
    assert isinstance(base, list)
    return [*base, *extras["server"]]


def inputs_digest() -> str:
    """Digest of what the constraints were resolved from."""
    text = json.dumps({"requirements": requirements(), "pythons": PYTHONS}, sort_keys=True)
    return "sha256:" + hashlib.sha256(text.encode()).hexdigest()


def mlci_version() -> str:
    text = (ROOT / "mlci" / "__init__.py").read_text(encoding="utf-8")
    match = re.search(r'^__version__ = "([^"]+)"', text, re.MULTILINE)
    assert match, "mlci/__init__.py has no __version__"
    return match.group(1)


def interpreter(version: str) -> str:
    """A real CPython of that version: pip's target emulation (--python-version)
    evaluates environment markers for the running Python, which pins wrong versions."""
    pyenv = sorted(glob.glob(os.path.expanduser(f"~/.pyenv/versions/{version}.*/bin/python")))
    if pyenv:  # before PATH, where pyenv's shim for an unselected version only errors
        return pyenv[-1]
    found = shutil.which(f"python{version}")
    if found is None:
        sys.exit(f"no CPython {version} found (python{version} on PATH or pyenv): "
                 "the constraints are resolved by each supported Python itself")
    return found


def pip_env() -> dict[str, str]:
    """pip without this machine's configuration (extra indexes, find-links, caps)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("PIP_") or k == "PIP_CERT"}
    env["PIP_CONFIG_FILE"] = os.devnull
    env["PIP_DISABLE_PIP_VERSION_CHECK"] = "1"
    return env


def resolve(version: str) -> dict[str, str]:
    """name → version that pip installs for `mlci[server]`'s requirements on CPython
    `version` (Linux, wheels only)."""
    python = interpreter(version)
    with tempfile.TemporaryDirectory() as tmp:
        report = Path(tmp) / "report.json"
        subprocess.run([python, "-m", "pip", "install", "--dry-run", "--ignore-installed",
                        "--quiet", "--only-binary=:all:", "--report", str(report),
                        *requirements()], check=True, env=pip_env())
        installed = json.loads(report.read_text(encoding="utf-8"))["install"]
    print(f"CPython {version} ({python}): {len(installed)} packages", file=sys.stderr)
    return {canonical(i["metadata"]["name"]): i["metadata"]["version"] for i in installed}


def canonical(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def marker(pythons: list[str]) -> str:
    """The python_version marker for the Pythons that get one version: none for all of
    them; a range for a run (open-ended at the top, so a newer Python gets the newest
    pin rather than none); else each Python named."""
    if pythons == list(PYTHONS):
        return ""
    index = [PYTHONS.index(p) for p in pythons]
    if len(index) == 1 and 0 < index[0] < len(PYTHONS) - 1:
        return f'python_version == "{pythons[0]}"'
    if index == list(range(index[0], index[-1] + 1)):
        parts = []
        if index[0] > 0:
            parts.append(f'python_version >= "{pythons[0]}"')
        if index[-1] < len(PYTHONS) - 1:
            parts.append(f'python_version <= "{pythons[-1]}"')
        return " and ".join(parts)
    return " or ".join(f'python_version == "{p}"' for p in pythons)


def lines(resolved: dict[str, dict[str, str]]) -> list[str]:
    by_name: dict[str, dict[str, list[str]]] = defaultdict(lambda: defaultdict(list))
    for python in PYTHONS:
        for name, version in resolved[python].items():
            by_name[name][version].append(python)
    out = []
    for name in sorted(by_name):
        for version, pythons in by_name[name].items():
            condition = marker(pythons)
            out.append(f"{name}=={version}" + (f"; {condition}" if condition else ""))
    return out


def render(resolved: dict[str, dict[str, str]]) -> str:
    header = [
        f"# mlci {mlci_version()}: the dependency versions every install of this release uses",
        "# (pip install -c this file). Generated by scripts/constraints.py from pyproject.toml",
        "# (dependencies and the server extra): pip's choice on CPython "
        f"{PYTHONS[0]}-{PYTHONS[-1]}",
        f"# on Linux, wheels only; a newer Python gets the {PYTHONS[-1]} pins.",
        f"# inputs: {inputs_digest()}",
    ]
    return "\n".join([*header, *lines(resolved)]) + "\n"


def check() -> int:
    """0 when mlci/constraints.txt was generated from the current pyproject.toml and
    version; 1 (and why) otherwise."""
    text = TARGET.read_text(encoding="utf-8") if TARGET.exists() else ""
    digest, version = DIGEST_LINE.search(text), VERSION_LINE.search(text)
    if not digest or digest.group(1) != inputs_digest():
        print(f"{TARGET.relative_to(ROOT)} is stale: pyproject.toml's dependencies changed; "
              "run python scripts/constraints.py", file=sys.stderr)
        return 1
    if not version or version.group(1) != mlci_version():
        print(f"{TARGET.relative_to(ROOT)} is for mlci {version and version.group(1)}, "
              f"not {mlci_version()}; run python scripts/constraints.py", file=sys.stderr)
        return 1
    return 0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="only check that the file is current")
    args = parser.parse_args()
    if args.check:
        return check()
    resolved = {python: resolve(python) for python in PYTHONS}
    TARGET.write_text(render(resolved), encoding="utf-8")
    print(f"wrote {TARGET.relative_to(ROOT)}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
