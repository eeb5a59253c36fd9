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


# --- numbers on the command line: finite and within bounds, or bad usage ---------------

PROMOTE = ["promote", "--name", "m", "--alias", "production", "--model", "model"]
ROLLBACK = ["rollback", "--name", "m", "--alias", "production", "--reason", "r"]
COMPARE = ["compare", "--candidate", "c.csv", "--baseline", "b.csv"]


@pytest.mark.parametrize(("argv", "flag", "value", "expected"), [
    (PROMOTE, "wait", "nan", "a finite number from 0 to 86400"),
    (PROMOTE, "wait", "inf", "a finite number from 0 to 86400"),
    (PROMOTE, "wait", "-1", "a finite number from 0 to 86400"),
    (PROMOTE, "wait", "1e9", "a finite number from 0 to 86400"),
    (ROLLBACK, "wait", "NaN", "a finite number from 0 to 86400"),
    (ROLLBACK, "wait", "soon", "a finite number from 0 to 86400"),
    (COMPARE, "resamples", "1000000000", "a whole number from 100 to 100000"),
    (COMPARE, "resamples", "nan", "a whole number from 100 to 100000"),
    (COMPARE, "resamples", "2000.5", "a whole number from 100 to 100000"),
    (COMPARE, "resamples", "99", "a whole number from 100 to 100000"),
])
def test_non_finite_or_absurd_numbers_are_bad_usage(mlci: Any, argv: list[str], flag: str,
                                                    value: str, expected: str) -> None:
    """Nothing runs: click refuses the value before any registry or file is touched."""
    for how in ("flag", "env"):
        if how == "flag":
            run = mlci(*argv, f"--{flag}", value)
        else:
            run = mlci(*argv, env={f"MLCI_{flag.upper()}": value})
        assert run.exit_code == 2
        assert run.stderr.splitlines()[-1] == (
            f"Error: Invalid value for '--{flag}' (env var: 'MLCI_{flag.upper()}'): "
            f"expected {expected}, got {value!r}")
        assert not (run.out / f"{argv[0]}.json").exists()


def test_bounded_numbers_accept_their_bounds() -> None:
    from mlci.options import WAIT_SECONDS, whole

    assert WAIT_SECONDS.convert("0", None, None) == 0.0
    assert WAIT_SECONDS.convert("86400", None, None) == 86400.0
    assert WAIT_SECONDS.convert(60.0, None, None) == 60.0  # the default, already a float
    resamples = whole(100, 100_000)
    assert resamples.convert("100", None, None) == 100
    assert resamples.convert("100000", None, None) == 100_000
    assert resamples.convert(2000, None, None) == 2000


@pytest.mark.parametrize("step", ["validate", "compare"])
def test_allow_empty_is_a_flag_with_its_variable(mlci: Any, step: str) -> None:
    run = mlci(step, "--help")
    assert "--allow-empty" in run.stdout
    assert "MLCI_ALLOW_EMPTY" in run.stdout
