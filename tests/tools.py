"""Finding the test tools (act, actionlint, zizmor, check-jsonschema, mlci) the
test command installs into the venv, one rule for every test module."""

from __future__ import annotations

import os
import shutil
import sys
from pathlib import Path

import pytest

VENV_BIN = Path(sys.executable).parent


def find_tool(name: str) -> str:
    """A test tool from the test venv (next to sys.executable), else from PATH; a missing
    tool fails the test with the install command, it never skips it."""
    beside = VENV_BIN / name
    if beside.is_file() and os.access(beside, os.X_OK):
        return str(beside)
    found = shutil.which(name)
    if found is None:
        pytest.fail(f"`{name}` not found next to {sys.executable} or on PATH; "
                    "install the test tools: pip install -e '.[test]'", pytrace=False)
    return found
