"""An `--out` mlci cannot write to is exit 2 naming the folder, before any work.

"No permission" is tested for real, also when the tests run as root: root
writes anywhere only through the capability CAP_DAC_OVERRIDE, so the command
runs in a child whose capability bounding set lacks it (and the other
permission-bypassing capabilities); the kernel then applies the folder's mode
bits to root as to anyone. Not as root, the mode bits alone deny it."""

from __future__ import annotations

import ctypes
import os
import subprocess
import sys
from pathlib import Path

import pytest

PREDICTIONS = "y_true,y_pred\n0,0\n1,1\n1,1\n0,1\n"
CONFIG = "version: 1\ntask: binary\ntests:\n  - metric: accuracy\n    min: 0.5\n"
PR_CAPBSET_DROP = 24  # <linux/prctl.h>
BYPASS_CAPS = (1, 2, 3)  # CAP_DAC_OVERRIDE, CAP_DAC_READ_SEARCH, CAP_FOWNER
EXPECTED = "expected a folder mlci can create and write to"


def without_permission_bypass() -> None:
    """In the child, before exec: drop the capabilities that let root ignore mode bits."""
    libc = ctypes.CDLL(None, use_errno=True)
    for cap in BYPASS_CAPS:
        if libc.prctl(PR_CAPBSET_DROP, cap, 0, 0, 0) != 0:
            raise OSError(ctypes.get_errno(), "prctl(PR_CAPBSET_DROP) failed")


def mlci(cwd: Path, *args: str, unprivileged: bool = False) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("GITHUB_", "GITLAB_", "CI_", "MLCI_", "MLFLOW_"))}
    preexec = without_permission_bypass if unprivileged and os.geteuid() == 0 else None
    return subprocess.run([sys.executable, "-m", "mlci", *args], cwd=cwd, env=env,
                          capture_output=True, text=True, timeout=120, preexec_fn=preexec)


@pytest.fixture
def project(tmp_path: Path) -> Path:
    (tmp_path / "p.csv").write_text(PREDICTIONS)
    (tmp_path / "mlci.yml").write_text(CONFIG)
    (tmp_path / "notes.txt").write_text("a regular file\n")
    return tmp_path


def test_out_under_a_regular_file(project: Path) -> None:
    done = mlci(project, "validate", "--predictions", "p.csv", "--out", "notes.txt/results")
    assert (done.returncode, done.stdout) == (2, "")
    assert done.stderr == ("mlci validate: error: --out notes.txt/results: cannot write there "
                           f"(notes.txt is a file, not a folder); {EXPECTED}\n")


def test_out_whose_parent_is_a_file_deeper_down(project: Path) -> None:
    done = mlci(project, "compare", "--candidate", "p.csv", "--baseline", "p.csv",
                "--out", "notes.txt/a/b")
    assert done.returncode == 2
    assert done.stderr == ("mlci compare: error: --out notes.txt/a/b: cannot write there "
                           f"(notes.txt is a file, not a folder); {EXPECTED}\n")


def test_out_that_is_a_file(project: Path) -> None:
    """click's own check of the option says it first (also exit 2, naming the folder)."""
    done = mlci(project, "validate", "--predictions", "p.csv", "--out", "notes.txt")
    assert done.returncode == 2
    assert done.stderr.endswith("Error: Invalid value for '--out' (env var: 'MLCI_OUT'): "
                                "Directory 'notes.txt' is a file.\n")
    assert (project / "notes.txt").read_text() == "a regular file\n"


def test_ready_out_names_a_file_given_as_the_folder(project: Path) -> None:
    from mlci.errors import InputError
    from mlci.runner import ready_out

    for create in (True, False):
        with pytest.raises(InputError) as caught:
            ready_out(str(project / "notes.txt"), create=create)
        assert str(caught.value) == (f"--out {project}/notes.txt: cannot write there (it is a "
                                     f"file, not a folder); {EXPECTED}")


def test_report_out_under_a_file(project: Path) -> None:
    done = mlci(project, "report", "--out", "notes.txt/x")
    assert done.returncode == 2
    assert done.stderr == ("mlci report: error: --out notes.txt/x: cannot write there "
                           f"(notes.txt is a file, not a folder); {EXPECTED}\n")


def test_out_without_write_permission(project: Path) -> None:
    locked = project / "locked"
    locked.mkdir()
    locked.chmod(0o555)
    try:
        for out in ("locked", "locked/new"):
            done = mlci(project, "validate", "--predictions", "p.csv", "--out", out,
                        unprivileged=True)
            assert done.returncode == 2, done.stderr
            assert done.stderr == (f"mlci validate: error: --out {out}: cannot write there "
                                   f"(permission denied); {EXPECTED}\n")
        done = mlci(project, "report", "--out", "locked/new", unprivileged=True)
        assert done.returncode == 2
        assert done.stderr == ("mlci report: error: --out locked/new: cannot write there "
                               f"(permission denied); {EXPECTED}\n")
        assert list(locked.iterdir()) == []
    finally:
        locked.chmod(0o755)


def test_the_same_folder_writable_passes(project: Path) -> None:
    """The control: the permission tests fail only because of the mode bits."""
    done = mlci(project, "validate", "--predictions", "p.csv", "--out", "fresh/results",
                unprivileged=True)
    assert done.returncode == 0, done.stderr
    assert (project / "fresh" / "results" / "validate.json").is_file()
