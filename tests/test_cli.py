from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from mlci import __version__
from mlci.cli import COMMANDS


def test_help_lists_every_step(mlci: Any) -> None:
    run = mlci("--help")
    assert run.exit_code == 0
    commands = run.stdout.split("Commands:")[1]
    assert [line.split()[0] for line in commands.strip().splitlines()] == list(COMMANDS)


@pytest.mark.parametrize("step", list(COMMANDS))
def test_every_step_has_a_worked_example(mlci: Any, step: str) -> None:
    run = mlci(step, "--help")
    assert run.exit_code == 0
    assert "Examples:" in run.stdout
    assert f"mlci {step}" in run.stdout.split("Examples:")[1]
    assert "\b" not in run.stdout


@pytest.mark.parametrize("command", [["validate"], ["compare"], ["lineage", "tag"],
                                     ["lineage", "verify"], ["lineage", "keygen"]])
def test_every_command_has_the_shared_options(mlci: Any, command: list[str]) -> None:
    run = mlci(*command, "--help")
    assert "Examples:" in run.stdout
    for shared in ("--config FILE", "--out DIR", "--debug", "MLCI_OUT", "default: .mlci"):
        assert shared in run.stdout


def test_version(mlci: Any) -> None:
    assert mlci("--version").stdout == f"mlci, version {__version__}\n"


def test_validate_on_predictions_does_not_import_mlflow(tmp_path: Path) -> None:
    """mlflow takes seconds to import; a predictions-only run must not pay for it."""
    (tmp_path / "mlci.yml").write_text("version: 1\ntask: binary\ntests:\n"
                                       "  - metric: accuracy\n    min: 0.1\n")
    (tmp_path / "p.csv").write_text("y_true,y_pred\n1,1\n0,0\n")
    script = ("import sys\nfrom mlci.cli import main\n"
              "try:\n    main(['validate', '--predictions', 'p.csv'])\n"
              "except SystemExit as e:\n    code = e.code\n"
              "print(code, 'mlflow' in sys.modules, 'scipy' in sys.modules)\n")
    done = subprocess.run([sys.executable, "-c", script], cwd=tmp_path, capture_output=True,
                          text=True, check=True)
    assert done.stdout.splitlines()[-1] == "0 False False"


def test_help_does_not_import_pandas() -> None:
    script = ("import sys\nfrom mlci.cli import main\ntry:\n    main(['--help'])\n"
              "except SystemExit:\n    pass\nprint(sorted(m for m in ('pandas', 'numpy', 'mlflow', "
              "'jsonschema') if m in sys.modules))\n")
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                          check=True)
    assert done.stdout.splitlines()[-1] == "[]"
