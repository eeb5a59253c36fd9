# Shared by scripts/demo.sh and scripts/test.sh: one way to make the venv.
# shellcheck shell=bash

step() { printf '\n==> %s\n' "$*"; }

# ensure_venv DIR EXTRAS: create DIR once, then install mlci editable with EXTRAS
# (pip is quick when everything is already there; its cache is reused).
ensure_venv() {
  local venv="$1" extras="$2"
  if [ ! -x "$venv/bin/python" ]; then
    echo "creating $venv and installing mlci with [$extras] (MLflow, pandas, scipy, …):" \
      "about a minute on a first run, seconds after that" >&2
    python3 -m venv "$venv"
  fi
  "$venv/bin/python" -m pip install --quiet --disable-pip-version-check -e ".[$extras]" \
    2>&1 | grep -v "^WARNING: Location" || true
  "$venv/bin/mlci" --version >/dev/null
}

# abs_path DIR: DIR as an absolute path (MLCI_VENV may be given either way).
abs_path() { (cd "$1" && pwd); }

# apt_install PACKAGE: Debian's package, non-interactive, without starting any
# service it ships (policy-rc.d): the tests start their own throw-away servers.
# Progress goes to stderr; returns apt-get's status.
apt_install() {
  local package="$1" sudo=() policy=/usr/sbin/policy-rc.d created=0 status=0
  command -v apt-get >/dev/null 2>&1 || { echo "apt-get is not available" >&2; return 1; }
  if [ "$(id -u)" != 0 ]; then
    command -v sudo >/dev/null 2>&1 || { echo "run as root, or install $package" >&2; return 1; }
    sudo=(sudo -n)
  fi
  export DEBIAN_FRONTEND=noninteractive
  "${sudo[@]}" apt-get update -qq >&2 </dev/null || return 1
  if [ ! -e "$policy" ] && [ "$(id -u)" = 0 ]; then
    printf '#!/bin/sh\nexit 101\n' > "$policy" && chmod +x "$policy" && created=1
  fi
  "${sudo[@]}" apt-get install -y -qq --no-install-recommends "$package" >&2 </dev/null \
    || status=$?
  if [ "$created" = 1 ]; then rm -f "$policy"; fi
  return "$status"
}
