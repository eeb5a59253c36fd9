"""setup/install.sh without installing anything: the cache key (what a reusable venv
must have been built from), the plan the setup action's cache steps follow, and the
refusals (another pinned version, a venv whose stamp does not match). The real
installs, cold and from the cache, are in tests/e2e/test_install.py."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

import mlci

ROOT = Path(__file__).resolve().parents[1]
KEY = re.compile(r"^mlci-(?P<version>[^-]+)-py(?P<python>\d+\.\d+\.\d+)-(?P<os>[a-z]+)-"
                 r"(?P<cpu>[a-z0-9_]+)-(?P<digest>[0-9a-f]{20})$")


@pytest.fixture
def checkout(tmp_path: Path) -> Path:
    """What an action's checkout holds of mlci: the package, schemas, pyproject, setup/."""
    dest = tmp_path / "checkout"
    for name in ("mlci", "schemas", "setup"):
        shutil.copytree(ROOT / name, dest / name,
                        ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
    shutil.copy2(ROOT / "pyproject.toml", dest / "pyproject.toml")
    return dest


@pytest.fixture
def bare_path(tmp_path: Path) -> str:
    """A PATH with python3 (this interpreter) and the system tools, but no mlci."""
    tools = tmp_path / "tools"
    tools.mkdir()
    (tools / "python3").symlink_to(sys.executable)
    return os.pathsep.join([str(tools), "/usr/bin", "/bin"])


def run(checkout: Path, tmp_path: Path, path: str, *args: str,
        **env: str) -> subprocess.CompletedProcess[str]:
    runner_temp = tmp_path / "runner-temp"
    runner_temp.mkdir(exist_ok=True)
    base = {"PATH": path, "RUNNER_TEMP": str(runner_temp),
            "GITHUB_OUTPUT": str(tmp_path / "github_output"),
            "GITHUB_PATH": str(tmp_path / "github_path")}
    return subprocess.run(["bash", str(checkout / "setup" / "install.sh"), *args],
                          env={**base, **env}, capture_output=True, text=True, timeout=60)


def outputs(tmp_path: Path) -> dict[str, str]:
    path = tmp_path / "github_output"
    lines = path.read_text(encoding="utf-8").splitlines() if path.exists() else []
    return dict(line.split("=", 1) for line in lines)


def test_key_names_version_python_platform_and_a_digest(checkout: Path, tmp_path: Path,
                                                        bare_path: str) -> None:
    done = run(checkout, tmp_path, bare_path, "key")
    assert done.returncode == 0, done.stderr
    match = KEY.match(done.stdout.strip())
    assert match, done.stdout
    import platform

    assert match["version"] == mlci.__version__
    assert match["python"] == platform.python_version()
    assert (match["os"], match["cpu"]) == (platform.system().lower(), platform.machine().lower())


@pytest.mark.parametrize("change", ["mlci/cli.py", "mlci/constraints.txt",
                                    "schemas/result.schema.json", "pyproject.toml"])
def test_key_changes_with_any_file_the_venv_is_built_from(
        checkout: Path, tmp_path: Path, bare_path: str, change: str) -> None:
    """Same version string, other code (a branch, an edited checkout): another key, so
    a cached venv of the old code is never restored for it."""
    before = run(checkout, tmp_path, bare_path, "key").stdout
    again = run(checkout, tmp_path, bare_path, "key").stdout
    with (checkout / change).open("a", encoding="utf-8") as handle:
        handle.write("\n")
    after = run(checkout, tmp_path, bare_path, "key").stdout
    assert before == again
    assert after != before and after.split("-")[:-1] == before.split("-")[:-1]


def test_key_changes_with_the_venv_path(checkout: Path, tmp_path: Path, bare_path: str) -> None:
    """A venv works only where it was made (its scripts name their interpreter by path)."""
    here = run(checkout, tmp_path, bare_path, "key").stdout
    there = run(checkout, tmp_path, bare_path, "key", RUNNER_TEMP=str(tmp_path / "other")).stdout
    assert here != there and here.split("-")[:-1] == there.split("-")[:-1]


def test_key_ignores_bytecode(checkout: Path, tmp_path: Path, bare_path: str) -> None:
    before = run(checkout, tmp_path, bare_path, "key").stdout
    (checkout / "mlci" / "__pycache__").mkdir(exist_ok=True)
    (checkout / "mlci" / "__pycache__" / "cli.cpython-311.pyc").write_bytes(b"\0")
    (checkout / "mlci" / "stray.pyc").write_bytes(b"\0")
    assert run(checkout, tmp_path, bare_path, "key").stdout == before


def test_plan_asks_for_the_cache_when_mlci_is_missing(checkout: Path, tmp_path: Path,
                                                      bare_path: str) -> None:
    key = run(checkout, tmp_path, bare_path, "key").stdout.strip()
    done = run(checkout, tmp_path, bare_path, "plan")
    assert done.returncode == 0, done.stderr
    venv = tmp_path / "runner-temp" / f"mlci-{mlci.__version__}"
    assert outputs(tmp_path) == {"need": "true", "venv": str(venv), "key": key}
    assert not venv.exists()  # planning installs nothing


def test_plan_skips_the_cache_when_this_mlci_is_on_path(checkout: Path, tmp_path: Path,
                                                        bare_path: str) -> None:
    fake = tmp_path / "on-path"
    fake.mkdir()
    (fake / "mlci").write_text(f"#!/bin/sh\necho 'mlci, version {mlci.__version__}'\n")
    (fake / "mlci").chmod(0o755)
    done = run(checkout, tmp_path, f"{fake}{os.pathsep}{bare_path}", "plan")
    assert done.returncode == 0, done.stderr
    assert outputs(tmp_path) == {"need": "false"}
    assert done.stdout == (f"plan: mlci {mlci.__version__} is on PATH ({fake}/mlci); "
                           "no install, no cache\n")


@pytest.mark.parametrize("mode", ["install", "plan", "key"])
def test_a_job_pinning_another_version_is_refused(checkout: Path, tmp_path: Path,
                                                  bare_path: str, mode: str) -> None:
    done = run(checkout, tmp_path, bare_path, mode, MLCI_SETUP_VERSION="9.9.9")
    assert done.returncode == 2
    assert done.stdout == (f"::error title=mlci setup::this action installs mlci "
                           f"{mlci.__version__}, but the job pins mlci-version 9.9.9: "
                           "use the action at tag v9.9.9\n")
    assert outputs(tmp_path) == {}


def test_the_release_version_may_be_pinned(checkout: Path, tmp_path: Path,
                                           bare_path: str) -> None:
    done = run(checkout, tmp_path, bare_path, "plan", MLCI_SETUP_VERSION=mlci.__version__)
    assert done.returncode == 0, done.stderr
    assert outputs(tmp_path)["need"] == "true"


def test_an_unknown_mode_is_refused(checkout: Path, tmp_path: Path, bare_path: str) -> None:
    done = run(checkout, tmp_path, bare_path, "--force")
    assert done.returncode == 2
    assert done.stdout == ("::error title=mlci setup::unknown mode '--force' "
                           "(expected install, plan or key)\n")


def fake_venv(tmp_path: Path, version: str, stamp: str | None) -> Path:
    """A venv in RUNNER_TEMP whose `mlci --version` says `version`, with that stamp."""
    venv = tmp_path / "runner-temp" / f"mlci-{mlci.__version__}"
    (venv / "bin").mkdir(parents=True)
    (venv / "bin" / "mlci").write_text(f"#!/bin/sh\necho 'mlci, version {version}'\n")
    (venv / "bin" / "mlci").chmod(0o755)
    if stamp is not None:
        (venv / "mlci-setup.key").write_text(stamp + "\n", encoding="utf-8")
    return venv


def test_a_venv_with_the_right_stamp_is_reused(checkout: Path, tmp_path: Path,
                                               bare_path: str) -> None:
    key = run(checkout, tmp_path, bare_path, "key").stdout.strip()
    venv = fake_venv(tmp_path, mlci.__version__, key)
    done = run(checkout, tmp_path, bare_path)
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines()[0] == (f"mlci {mlci.__version__} is already installed "
                                           f"in {venv}")
    assert outputs(tmp_path) == {"mlci-version": mlci.__version__}


@pytest.mark.slow  # makes a venv and runs pip
@pytest.mark.parametrize(("reported", "stamp"), [
    (mlci.__version__, None),                        # no stamp: built by whom, from what?
    (mlci.__version__, "mlci-0.0.0-py3.0.0-x-y-0"),  # built from other files or Python
    ("9.9.9", "KEY"),                                # the stamp fits, the mlci inside does not
])
def test_a_venv_that_does_not_match_is_rebuilt(checkout: Path, tmp_path: Path, bare_path: str,
                                               reported: str, stamp: str | None) -> None:
    """Without pip's index the rebuild fails, which shows it was attempted: the old
    venv is gone and nothing was put on PATH."""
    key = run(checkout, tmp_path, bare_path, "key").stdout.strip()
    venv = fake_venv(tmp_path, reported, key if stamp == "KEY" else stamp)
    done = run(checkout, tmp_path, bare_path, PIP_NO_INDEX="1", PIP_FIND_LINKS="",
               PIP_CONFIG_FILE=os.devnull)
    assert done.stdout.splitlines()[0] == (f"Installing mlci {mlci.__version__} from "
                                           f"{checkout} into {venv}")
    assert done.returncode != 0
    assert done.stdout.splitlines()[-1] == (f"::error title=mlci setup::could not install "
                                            f"mlci {mlci.__version__} from {checkout} "
                                            "(see the log above)")
    assert not venv.exists()
    assert not (tmp_path / "github_path").exists()


def test_both_setups_pin_the_same_uv() -> None:
    """uv installs (pip when it cannot); its version is pinned like the dependencies."""
    script = (ROOT / "setup" / "install.sh").read_text(encoding="utf-8")
    gitlab = (ROOT / "templates" / "setup.yml").read_text(encoding="utf-8")
    (pinned,) = re.findall(r"^uv_version=(\d+\.\d+\.\d+)$", script, re.MULTILINE)
    assert set(re.findall(r"uv==([^\s\"']+)", gitlab)) == {pinned}
    assert set(re.findall(r'"uv (\d[^" ]*)', gitlab)) == {pinned}
    assert f"mlci-uv-{pinned}" in gitlab
