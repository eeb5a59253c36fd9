#!/usr/bin/env bash
# Install mlci once per job: the one script behind setup/action.yml and every
# step action (validate/, compare/, …, and the umbrella action.yml).
#
#   install.sh        install mlci (or find it) and put it on PATH:
#     mlci of this version already on PATH   → nothing to do (self-hosted runners, tests)
#     <dir>/mlci-<version> holds it          → put that venv's `mlci` on PATH (the
#       setup action restores this venv from the Actions cache before this runs)
#     otherwise                              → create the venv and pip install this
#       checkout with -c mlci/constraints.txt (the dependency versions of this release)
#   install.sh plan   for the setup action's cache step: outputs need (false when this
#                     mlci is already on PATH), venv and key
#   install.sh key    print the cache key (what a reusable venv must have been built from)
#
# The key names the mlci version, a digest of this checkout's package files,
# pyproject.toml and constraints, the venv's path, the Python version and
# interpreter, the OS and the CPU. A venv is reused only when its stamp
# (mlci-setup.key inside it) equals the key and its `mlci --version` is this
# version: a cache never hands a job an mlci other than the one it pinned.
#
# Reads (all optional): MLCI_SETUP_PYTHON (interpreter for the venv, default
# python3), MLCI_SETUP_VERSION (the version the job pins: must be this checkout's),
# MLCI_SETUP_DIR (where the venv lives, default $RUNNER_TEMP; on a self-hosted
# runner a folder that outlives the job lets every job reuse the venv),
# RUNNER_TEMP, GITHUB_PATH, GITHUB_OUTPUT. Writes the output `mlci-version` (and
# need/venv/key for `plan`). Exit 2 when the interpreter is missing or too old or
# the pinned version is not this checkout's, pip's exit code when the install fails.
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
version="$(sed -n 's/^__version__ = "\([^"]*\)".*/\1/p' "$root/mlci/__init__.py")"
if [ -z "$version" ]; then
  echo "::error title=mlci setup::cannot read __version__ from $root/mlci/__init__.py"
  exit 2
fi
want="mlci, version $version"
temp="${MLCI_SETUP_DIR:-${RUNNER_TEMP:-${TMPDIR:-/tmp}}}"
venv="$temp/mlci-$version"
python="${MLCI_SETUP_PYTHON:-python3}"
constraints="$root/mlci/constraints.txt"
mode="${1:-install}"

output() {
  if [ -n "${GITHUB_OUTPUT:-}" ]; then
    echo "$1=$2" >> "$GITHUB_OUTPUT"
  fi
}

if [ -n "${MLCI_SETUP_VERSION:-}" ] && [ "$MLCI_SETUP_VERSION" != "$version" ]; then
  echo "::error title=mlci setup::this action installs mlci $version, but the job pins mlci-version $MLCI_SETUP_VERSION: use the action at tag v$MLCI_SETUP_VERSION"
  exit 2
fi

check_python() {
  if ! command -v "$python" > /dev/null 2>&1; then
    echo "::error title=mlci setup::python interpreter '$python' not found (input python; mlci needs Python 3.10 or newer)"
    exit 2
  fi
  if ! "$python" -c 'import sys; sys.exit(sys.version_info < (3, 10))'; then
    echo "::error title=mlci setup::$("$python" --version 2>&1) is too old (input python '$python'); mlci needs Python 3.10 or newer"
    exit 2
  fi
}

# The cache key: see the header. Hashing runs in the job's Python, which every
# runner has (sha256sum and shasum are not everywhere).
cache_key() {
  "$python" - "$root" "$version" "$venv" <<'PY'
import hashlib, os, platform, sys

root, version, venv = sys.argv[1], sys.argv[2], sys.argv[3]
digest = hashlib.sha256(venv.encode() + b"\0")  # a venv only works where it was made
files = [os.path.join(root, "pyproject.toml")]
for top in ("mlci", "schemas"):
    for folder, subfolders, names in os.walk(os.path.join(root, top)):
        subfolders[:] = sorted(d for d in subfolders if d != "__pycache__")
        files += [os.path.join(folder, n) for n in sorted(names) if not n.endswith(".pyc")]
for path in files:
    digest.update(os.path.relpath(path, root).encode() + b"\0")
    with open(path, "rb") as handle:
        digest.update(handle.read() + b"\0")
digest.update(os.path.realpath(sys.executable).encode())
print(f"mlci-{version}-py{platform.python_version()}-{platform.system().lower()}-"
      f"{platform.machine().lower()}-{digest.hexdigest()[:20]}")
PY
}

# Only the `mlci` command goes on PATH, through a folder of its own: putting the
# venv's bin there would shadow the job's python and pip for every later step.
add_path() {
  local bin="$temp/mlci-$version-bin"
  mkdir -p "$bin"
  ln -sf "$1/mlci" "$bin/mlci"
  if [ -n "${GITHUB_PATH:-}" ]; then
    echo "$bin" >> "$GITHUB_PATH"
  fi
  echo "mlci $version: added $bin to PATH (mlci -> $1/mlci)"
}

on_path() {
  [ "$(mlci --version 2>/dev/null || true)" = "$want" ]
}

# uv installs in seconds what pip installs in half a minute (parallel downloads,
# no bytecode for modules never imported). The pinned release is put beside the
# venvs by the job's pip; without pip or without uv's wheel, pip alone installs.
uv_version=0.13.9
bootstrap_uv() {
  local dir="$temp/mlci-uv-$uv_version"
  if [ ! -x "$dir/bin/uv" ]; then
    rm -rf "$dir"
    "$python" -m pip install --quiet --disable-pip-version-check --no-warn-script-location \
      --target "$dir" "uv==$uv_version" > /dev/null 2>&1 || { rm -rf "$dir"; return 1; }
  fi
  case "$("$dir/bin/uv" --version 2>/dev/null || true)" in  # "uv 0.13.9 (x86_64-…)"
    "uv $uv_version" | "uv $uv_version "*) echo "$dir/bin/uv" ;;
    *) return 1 ;;
  esac
}

# pip's index and certificate settings, which uv does not read, passed on to uv;
# like pip, uv trusts the system's certificate store (a proxy's CA installed there).
uv_install() {
  local flags=(--quiet --no-config --python "$venv/bin/python" --constraint "$constraints")
  local url
  if [ -n "${PIP_INDEX_URL:-}" ]; then flags+=(--index-url "$PIP_INDEX_URL"); fi
  for url in ${PIP_EXTRA_INDEX_URL:-}; do flags+=(--extra-index-url "$url"); done
  for url in ${PIP_FIND_LINKS:-}; do flags+=(--find-links "$url"); done
  case "${PIP_NO_INDEX:-}" in 1|true|yes|on) flags+=(--no-index) ;; esac
  local env=(UV_SYSTEM_CERTS=1 UV_PYTHON_DOWNLOADS=never)
  if [ -z "${SSL_CERT_FILE:-}" ] && [ -n "${PIP_CERT:-}" ]; then env+=("SSL_CERT_FILE=$PIP_CERT"); fi
  env "${env[@]}" "$1" pip install "${flags[@]}" "$root"
}

# A venv without pip, filled by the pip of $python when that pip can install into
# another interpreter (--python, pip 22.3+): seeding pip into the venv costs seconds.
pip_install() {
  local pip
  if "$python" -c 'import sys, pip; sys.exit(tuple(map(int, pip.__version__.split(".")[:2])) < (22, 3))' \
      2> /dev/null; then
    "$python" -m venv --without-pip "$venv"
    pip=("$python" -m pip --python "$venv/bin/python")
  else
    "$python" -m venv "$venv"
    pip=("$venv/bin/python" -m pip)
  fi
  "${pip[@]}" install --quiet --disable-pip-version-check --progress-bar off --no-compile \
    --constraint "$constraints" "$root"
}

# Bytecode for what the steps import (about 2,000 modules, not the 70,000 of every
# package), written now so that the venv the cache keeps has it: a job that
# restores the venv then imports as fast as from a fully compiled one. A venv
# that cannot import them is broken, whatever `mlci --version` said: it fails here.
compile_what_steps_import() {
  env -u PYTHONDONTWRITEBYTECODE "$venv/bin/python" -c '
import mlci.cli, numpy, pandas, scipy.stats, sklearn.linear_model, pyarrow.parquet
import cryptography.hazmat.primitives.asymmetric.ec, jsonschema, requests, yaml
import mlflow.pyfunc, mlflow.tracking, mlflow.artifacts, sqlalchemy, alembic
' > /dev/null 2> "$temp/mlci-setup-imports.log"
}

if [ "$mode" = plan ]; then
  if on_path; then
    echo "plan: mlci $version is on PATH ($(command -v mlci)); no install, no cache"
    output need false
    exit 0
  fi
  check_python
  key="$(cache_key)"
  echo "mlci $version: venv $venv, cache key $key"
  output need true
  output venv "$venv"
  output key "$key"
  exit 0
fi

if [ "$mode" = key ]; then
  check_python
  cache_key
  exit 0
fi

if [ "$mode" != install ]; then
  echo "::error title=mlci setup::unknown mode '$mode' (expected install, plan or key)"
  exit 2
fi

if on_path; then
  echo "mlci $version is already on PATH ($(command -v mlci)); not installing"
  output mlci-version "$version"
  exit 0
fi

check_python
key="$(cache_key)"
stamp="$venv/mlci-setup.key"
if [ "$("$venv/bin/mlci" --version 2>/dev/null || true)" = "$want" ] \
    && [ "$(cat "$stamp" 2>/dev/null || true)" = "$key" ]; then
  echo "mlci $version is already installed in $venv"
  add_path "$venv/bin"
  output mlci-version "$version"
  exit 0
fi

echo "Installing mlci $version from $root into $venv"
rm -rf "$venv"
status=0
if uv="$(bootstrap_uv)"; then
  "$python" -m venv --without-pip "$venv"
  uv_install "$uv" || status=$?
  if [ "$status" -ne 0 ]; then
    echo "uv could not install mlci $version; trying pip"
    rm -rf "$venv"
  fi
fi
if [ ! -d "$venv" ]; then
  status=0
  pip_install || status=$?
fi
if [ "$status" -ne 0 ] || [ "$("$venv/bin/mlci" --version 2>/dev/null || true)" != "$want" ]; then
  rm -rf "$venv"  # never leave a half-built venv that a later step (or the cache) would trust
  echo "::error title=mlci setup::could not install mlci $version from $root (see the log above)"
  exit $(( status == 0 ? 1 : status ))
fi
if ! compile_what_steps_import; then
  rm -rf "$venv"
  echo "::error title=mlci setup::mlci $version installed, but its venv cannot import what the steps use: $(tail -n 1 "$temp/mlci-setup-imports.log")"
  exit 1
fi
rm -f "$temp/mlci-setup-imports.log"
echo "$key" > "$stamp"
echo "Installed mlci $version in ${SECONDS}s"
add_path "$venv/bin"
output mlci-version "$version"
