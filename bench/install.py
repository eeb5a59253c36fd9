"""What installing mlci costs: cold and warm install times and venv sizes, for the
old dependency set (full MLflow), the new one (mlflow-skinny and what the steps
need) and the new one with the `server` extra, side by side in one run.

Run: python bench/install.py [--sets old,new,server] [--installers pip,setup] [--work DIR]

Each set is installed two ways into fresh venvs under --work (default: a temporary
folder):

- pip: `pip install` (this interpreter's pip, into a venv made without pip), as
  `pip install mlci` does; the new sets with `-c mlci/constraints.txt`;
- setup: what setup/install.sh (and the GitLab setup) does: the pinned uv, fetched
  by pip, installs with the constraints, then the modules the steps import are
  compiled to bytecode (so a cached venv imports fast).

And measured:

- cold: with empty pip and uv caches (everything is downloaded), as the first job
  of a new mlci version is;
- warm: the same with the caches the cold run filled (unpacking only);
- cached venv: the venv packed with tar (what actions/cache and GitLab's `cache:`
  keep), unpacked, and `mlci --version` run, as every later job is;
- size: the venv on disk.

The old set is the dependency list mlci had before issue 17, unpinned. pip and uv
run without this machine's pip configuration (PIP_CONFIG_FILE=/dev/null), so a
local wheel folder or mirror does not flatter one set. Goals (issue 17): a cold
install of the new set under 20 s, a job with the cached venv starts mlci in under 5 s.
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
CONSTRAINTS = ROOT / "mlci" / "constraints.txt"
INSTALL_SH = ROOT / "setup" / "install.sh"
# mlci's dependencies before issue 17 (pyproject.toml at 0.1.0): full MLflow.
OLD_REQUIREMENTS = ["click>=8.1", "pyyaml>=6", "jsonschema>=4.18", "requests>=2.28",
                    "numpy>=1.24", "pandas>=2.0", "pyarrow>=14", "scipy>=1.10", "mlflow>=2.16"]
PIP_FLAGS = ["--quiet", "--disable-pip-version-check", "--progress-bar", "off"]
LABELS = {"old": "old: mlflow (full)", "new": "new: mlflow-skinny set",
          "server": "new + [server]"}


@dataclass
class Row:
    name: str
    installer: str
    cold_s: float
    warm_s: float
    cached_s: float
    size_mb: float
    packages: int


def uv_version() -> str:
    """The uv release setup/install.sh pins."""
    match = re.search(r"^uv_version=(\S+)$", INSTALL_SH.read_text(encoding="utf-8"), re.MULTILINE)
    assert match, f"{INSTALL_SH} pins no uv_version"
    return match.group(1)


def compile_imports() -> str:
    """The import lines setup/install.sh runs to write the steps' bytecode."""
    text = INSTALL_SH.read_text(encoding="utf-8")
    body = text.split("compile_what_steps_import() {", 1)[1].split("}", 1)[0]
    return "\n".join(line for line in body.splitlines() if line.startswith("import "))


def tool_env(caches: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("PIP_", "UV_")) or k == "PIP_CERT"}
    env.update(PIP_CONFIG_FILE=os.devnull, PIP_CACHE_DIR=str(caches / "pip"),
               UV_CACHE_DIR=str(caches / "uv"), UV_NO_CONFIG="1", UV_SYSTEM_CERTS="1",
               UV_PYTHON_DOWNLOADS="never")
    return env


def requirements(name: str) -> list[list[str]]:
    """The install argument lists of set `name`, in order."""
    if name == "old":
        return [OLD_REQUIREMENTS, ["--no-deps", str(ROOT)]]
    target = str(ROOT) if name == "new" else f"{ROOT}[server]"
    return [["--constraint", str(CONSTRAINTS), target]]


def commands(name: str, installer: str, venv: Path, work: Path) -> list[list[str]]:
    python = str(venv / "bin" / "python")
    if installer == "pip":
        return [[sys.executable, "-m", "pip", "--python", python, "install", *PIP_FLAGS, *args]
                for args in requirements(name)]
    uv_dir = work / f"uv-{uv_version()}"
    shutil.rmtree(uv_dir, ignore_errors=True)
    bootstrap = [sys.executable, "-m", "pip", "install", *PIP_FLAGS, "--no-warn-script-location",
                 "--target", str(uv_dir), f"uv=={uv_version()}"]
    uv = [str(uv_dir / "bin" / "uv"), "pip", "install", "--quiet", "--python", python]
    compile_step = [python, "-c", compile_imports()]
    return [bootstrap, *([*uv, *args] for args in requirements(name)), compile_step]


def install(name: str, installer: str, venv: Path, work: Path, caches: Path) -> float:
    """Seconds to create `venv` and install set `name` into it."""
    shutil.rmtree(venv, ignore_errors=True)
    env = tool_env(caches)
    env.pop("PYTHONDONTWRITEBYTECODE", None)  # the compile step writes bytecode
    start = time.perf_counter()
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True)
    for cmd in commands(name, installer, venv, work):
        subprocess.run(cmd, check=True, env=env, stdin=subprocess.DEVNULL,
                       stdout=subprocess.DEVNULL)
    elapsed = time.perf_counter() - start
    done = subprocess.run([str(venv / "bin" / "mlci"), "--version"], capture_output=True,
                          text=True, check=True)
    assert done.stdout.startswith("mlci, version "), done.stdout
    return elapsed


def size_mb(folder: Path) -> float:
    total = 0
    for path in folder.rglob("*"):
        if path.is_file() and not path.is_symlink():
            total += path.stat().st_size
    return total / 1e6


def packages(venv: Path) -> int:
    """Distributions installed in the venv."""
    listed = subprocess.run([str(venv / "bin" / "python"), "-c",
                             "import importlib.metadata as m; print(len(list(m.distributions())))"],
                            capture_output=True, text=True, check=True)
    return int(listed.stdout)


def cached_start(venv: Path, work: Path) -> float:
    """Seconds to unpack the venv from a tar archive and run `mlci --version`: what a
    job whose cache holds the venv pays (the download of the archive aside)."""
    archive = work / f"{venv.name}.tar"
    subprocess.run(["tar", "-cf", str(archive), "-C", str(venv.parent), venv.name], check=True)
    shutil.rmtree(venv)
    start = time.perf_counter()
    subprocess.run(["tar", "-xf", str(archive), "-C", str(venv.parent)], check=True)
    subprocess.run([str(venv / "bin" / "mlci"), "--version"], check=True,
                   stdout=subprocess.DEVNULL)
    elapsed = time.perf_counter() - start
    archive.unlink()
    return elapsed


def measure(name: str, installer: str, work: Path) -> Row:
    venv, caches = work / f"venv-{name}-{installer}", work / f"caches-{name}-{installer}"
    shutil.rmtree(caches, ignore_errors=True)
    cold = install(name, installer, venv, work, caches)
    warm = install(name, installer, venv, work, caches)
    row = Row(name, installer, cold, warm, 0.0, size_mb(venv), packages(venv))
    row.cached_s = cached_start(venv, work)
    shutil.rmtree(venv)
    shutil.rmtree(caches, ignore_errors=True)
    return row


def table(rows: list[Row]) -> str:
    lines = [f"{'set':<24} {'installer':<10} {'cold install':>13} {'warm':>8} "
             f"{'cached venv':>12} {'venv size':>10} {'packages':>9}"]
    for row in rows:
        lines.append(f"{LABELS[row.name]:<24} {row.installer:<10} {row.cold_s:>11.1f} s "
                     f"{row.warm_s:>6.1f} s {row.cached_s:>10.1f} s {row.size_mb:>7.0f} MB "
                     f"{row.packages:>9}")
    return "\n".join(lines)


def choices(value: str, allowed: tuple[str, ...], flag: str,
            parser: argparse.ArgumentParser) -> list[str]:
    names = [n.strip() for n in value.split(",") if n.strip()]
    unknown = sorted(set(names) - set(allowed))
    if unknown or not names:
        parser.error(f"{flag}: expected a comma-separated list of {', '.join(allowed)}; "
                     f"got {value!r}")
    return names


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sets", default="old,new,server", help="of: old, new, server")
    parser.add_argument("--installers", default="pip,setup", help="of: pip, setup")
    parser.add_argument("--work", type=Path, default=None,
                        help="folder for the venvs and caches (default: a temporary one)")
    args = parser.parse_args()
    names = choices(args.sets, tuple(LABELS), "--sets", parser)
    installers = choices(args.installers, ("pip", "setup"), "--installers", parser)
    with tempfile.TemporaryDirectory(prefix="mlci-bench-install-") as tmp:
        work = args.work or Path(tmp)
        work.mkdir(parents=True, exist_ok=True)
        rows = []
        for name in names:
            for installer in installers:
                print(f"measuring {LABELS[name]} with {installer} …", file=sys.stderr,
                      flush=True)
                rows.append(measure(name, installer, work))
    print(f"python {sys.version.split()[0]}, {os.cpu_count()} CPUs, uv {uv_version()}")
    print(table(rows))


if __name__ == "__main__":
    main()
