"""What installing mlci costs: cold and warm install times and venv sizes, for the
old dependency set (full MLflow), the new one (mlflow-skinny and what the steps
need) and the new one with the `server` extra, side by side in one run.

Run: python bench/install.py [--sets old,new,server] [--work DIR]

For each set, in fresh venvs under --work (default: a temporary folder):

- cold: `python -m venv` and `pip install` with an empty pip cache (everything is
  downloaded), as the first job of a new mlci version does;
- warm pip: the same with pip's cache filled by the cold run (only unpacking);
- cached venv: the venv packed with tar (what actions/cache and GitLab's `cache:`
  keep) is unpacked and `mlci --version` runs, as every later job does;
- size: the venv on disk.

The new sets install like setup/install.sh does (`-c mlci/constraints.txt`); the old
set is the dependency list mlci had before issue 17, unpinned, as `pip install mlci`
was. pip runs without this machine's pip configuration (PIP_CONFIG_FILE=/dev/null),
so a local wheel folder or mirror does not flatter one set. Goals (issue 17): a
cached venv starts mlci in under 5 s, a cold install of the new set takes under 20 s.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
CONSTRAINTS = ROOT / "mlci" / "constraints.txt"
# mlci's dependencies before issue 17 (pyproject.toml at 0.1.0): full MLflow.
OLD_REQUIREMENTS = ["click>=8.1", "pyyaml>=6", "jsonschema>=4.18", "requests>=2.28",
                    "numpy>=1.24", "pandas>=2.0", "pyarrow>=14", "scipy>=1.10", "mlflow>=2.16"]
PIP = ["-m", "pip", "install", "--quiet", "--disable-pip-version-check", "--progress-bar", "off"]


@dataclass
class Row:
    name: str
    cold_s: float
    warm_s: float
    cached_s: float
    size_mb: float
    packages: int


def pip_env(cache: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("PIP_") or k == "PIP_CERT"}
    env.update(PIP_CONFIG_FILE=os.devnull, PIP_CACHE_DIR=str(cache))
    return env


def pip_commands(name: str, python: str) -> list[list[str]]:
    """The pip command(s) that install set `name` into the venv of `python`."""
    if name == "old":
        return [[python, *PIP, *OLD_REQUIREMENTS], [python, *PIP, "--no-deps", str(ROOT)]]
    target = str(ROOT) if name == "new" else f"{ROOT}[server]"
    return [[python, *PIP, "--constraint", str(CONSTRAINTS), target]]


def install(name: str, venv: Path, cache: Path) -> float:
    """Seconds to create `venv` and install set `name` into it."""
    shutil.rmtree(venv, ignore_errors=True)
    start = time.perf_counter()
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    for cmd in pip_commands(name, str(venv / "bin" / "python")):
        subprocess.run(cmd, check=True, env=pip_env(cache), stdin=subprocess.DEVNULL)
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
    listed = subprocess.run([str(venv / "bin" / "python"), "-m", "pip", "list",
                             "--format=freeze", "--disable-pip-version-check"],
                            capture_output=True, text=True, check=True)
    return len([line for line in listed.stdout.splitlines() if "==" in line])


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


def measure(name: str, work: Path) -> Row:
    venv, cache = work / f"venv-{name}", work / f"pip-cache-{name}"
    shutil.rmtree(cache, ignore_errors=True)
    cold = install(name, venv, cache)
    warm = install(name, venv, cache)
    row = Row(name, cold, warm, 0.0, size_mb(venv), packages(venv))
    row.cached_s = cached_start(venv, work)
    shutil.rmtree(venv)
    shutil.rmtree(cache, ignore_errors=True)
    return row


LABELS = {"old": "old: mlflow (full)", "new": "new: mlflow-skinny set",
          "server": "new + [server]"}


def table(rows: list[Row]) -> str:
    lines = [f"{'set':<24} {'cold install':>13} {'warm (pip cache)':>17} "
             f"{'cached venv':>12} {'venv size':>10} {'packages':>9}"]
    for row in rows:
        lines.append(f"{LABELS[row.name]:<24} {row.cold_s:>11.1f} s {row.warm_s:>15.1f} s "
                     f"{row.cached_s:>10.1f} s {row.size_mb:>7.0f} MB {row.packages:>9}")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sets", default="old,new,server",
                        help="comma-separated, of: old, new, server (default: all three)")
    parser.add_argument("--work", type=Path, default=None,
                        help="folder for the venvs and caches (default: a temporary one)")
    args = parser.parse_args()
    names = [n.strip() for n in args.sets.split(",") if n.strip()]
    unknown = sorted(set(names) - set(LABELS))
    if unknown:
        parser.error(f"--sets: unknown set(s) {', '.join(unknown)} (expected old, new, server)")
    with tempfile.TemporaryDirectory(prefix="mlci-bench-install-") as tmp:
        work = args.work or Path(tmp)
        work.mkdir(parents=True, exist_ok=True)
        rows = []
        for name in names:
            print(f"measuring {LABELS[name]} …", file=sys.stderr, flush=True)
            rows.append(measure(name, work))
    print(f"python {sys.version.split()[0]}, {os.cpu_count()} CPUs")
    print(table(rows))


if __name__ == "__main__":
    main()
