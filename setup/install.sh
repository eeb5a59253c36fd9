#!/usr/bin/env bash
# Install mlci once per job: the one script behind setup/action.yml and every
# step action (validate/, compare/, …, and the umbrella action.yml).
#
#   mlci of this version already on PATH      → nothing to do (self-hosted runners, tests)
#   already in $RUNNER_TEMP/mlci-<version>    → put that venv's bin on PATH
#   otherwise                                 → create the venv, pip install this checkout
#                                               (pip's own cache makes reinstalls cheap)
#
# Reads (all optional): MLCI_SETUP_PYTHON (interpreter for the venv, default
# python3), RUNNER_TEMP, GITHUB_PATH, GITHUB_OUTPUT. Writes the output
# `mlci-version`. Exit 2 when the interpreter is missing or too old, pip's
# exit code when the install fails.
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
version="$(sed -n 's/^__version__ = "\([^"]*\)".*/\1/p' "$root/mlci/__init__.py")"
if [ -z "$version" ]; then
  echo "::error title=mlci setup::cannot read __version__ from $root/mlci/__init__.py"
  exit 2
fi
want="mlci, version $version"
venv="${RUNNER_TEMP:-${TMPDIR:-/tmp}}/mlci-$version"
python="${MLCI_SETUP_PYTHON:-python3}"

set_output() {
  if [ -n "${GITHUB_OUTPUT:-}" ]; then
    echo "mlci-version=$version" >> "$GITHUB_OUTPUT"
  fi
}

# Only the `mlci` command goes on PATH, through a folder of its own: putting the
# venv's bin there would shadow the job's python and pip for every later step.
add_path() {
  local bin="${RUNNER_TEMP:-${TMPDIR:-/tmp}}/mlci-$version-bin"
  mkdir -p "$bin"
  ln -sf "$1/mlci" "$bin/mlci"
  if [ -n "${GITHUB_PATH:-}" ]; then
    echo "$bin" >> "$GITHUB_PATH"
  fi
  echo "mlci $version: added $bin to PATH (mlci -> $1/mlci)"
}

if [ "$(mlci --version 2>/dev/null || true)" = "$want" ]; then
  echo "mlci $version is already on PATH ($(command -v mlci)); not installing"
  set_output
  exit 0
fi

if [ "$("$venv/bin/mlci" --version 2>/dev/null || true)" = "$want" ]; then
  echo "mlci $version is already installed in $venv"
  add_path "$venv/bin"
  set_output
  exit 0
fi

if ! command -v "$python" > /dev/null 2>&1; then
  echo "::error title=mlci setup::python interpreter '$python' not found (input python; mlci needs Python 3.10 or newer)"
  exit 2
fi
if ! "$python" -c 'import sys; sys.exit(sys.version_info < (3, 10))'; then
  echo "::error title=mlci setup::$("$python" --version 2>&1) is too old (input python '$python'); mlci needs Python 3.10 or newer"
  exit 2
fi

echo "Installing mlci $version from $root into $venv"
rm -rf "$venv"
"$python" -m venv "$venv"
status=0
"$venv/bin/python" -m pip install --quiet --disable-pip-version-check --progress-bar off "$root" \
  || status=$?
if [ "$status" -ne 0 ] || [ "$("$venv/bin/mlci" --version 2>/dev/null || true)" != "$want" ]; then
  rm -rf "$venv"  # never leave a half-built venv that a later step would trust
  echo "::error title=mlci setup::pip could not install mlci $version from $root (see the log above)"
  exit $(( status == 0 ? 1 : status ))
fi
echo "Installed mlci $version in ${SECONDS}s"
add_path "$venv/bin"
set_output
