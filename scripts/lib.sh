# Shared by scripts/demo.sh and scripts/test.sh: one way to make the venv.
# shellcheck shell=bash

step() { printf '\n==> %s\n' "$*"; }

# ensure_venv DIR EXTRAS: create DIR once, then install mlci editable with EXTRAS
# (pip is quick when everything is already there; its cache is reused).
ensure_venv() {
  local venv="$1" extras="$2"
  [ -x "$venv/bin/python" ] || python3 -m venv "$venv"
  "$venv/bin/python" -m pip install --quiet --disable-pip-version-check -e ".[$extras]" \
    2>&1 | grep -v "^WARNING: Location" || true
  "$venv/bin/mlci" --version >/dev/null
}

# abs_path DIR: DIR as an absolute path (MLCI_VENV may be given either way).
abs_path() { (cd "$1" && pwd); }
