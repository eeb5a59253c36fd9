#!/usr/bin/env bash
# Install Debian's Prometheus server binary for the canary tests, idempotently.
#
# Only installs: the tests start their own throw-away server (a config file and
# a storage folder in a temporary directory, 127.0.0.1 on a random port,
# scraping a metrics endpoint the test serves) and stop it afterwards, so no
# system service is enabled or started here, and a machine that already has
# the binary is left untouched (one `apt-get update`, only when missing).
# Prints the path of the prometheus binary on stdout (the only line on stdout);
# progress goes to stderr. Safe with CI=true and no stdin.
#
# Usage: scripts/tools/prometheus.sh
set -euo pipefail

log() { printf 'prometheus.sh: %s\n' "$*" >&2; }
die() { log "error: $*"; exit 1; }

exec </dev/null
export DEBIAN_FRONTEND=noninteractive

find_binary() {
  local path
  for path in "$(command -v prometheus 2>/dev/null || true)" /usr/bin/prometheus; do
    if [ -n "$path" ] && [ -x "$path" ]; then
      printf '%s\n' "$path"
      return 0
    fi
  done
  return 1
}

if binary="$(find_binary)"; then
  log "already installed: $binary"
  printf '%s\n' "$binary"
  exit 0
fi

command -v apt-get >/dev/null 2>&1 || die "prometheus is missing and apt-get is not available; install Prometheus by hand (any 2.x server binary on PATH)"
sudo=()
if [ "$(id -u)" != 0 ]; then
  command -v sudo >/dev/null 2>&1 || die "prometheus is missing; run as root or install the prometheus package"
  sudo=(sudo -n)
fi

log "installing prometheus with apt-get"
"${sudo[@]}" apt-get update -qq >&2 || die "apt-get update failed"
# policy-rc.d keeps the package from starting its system service: the tests run
# their own server and nothing should listen on 9090 because of us.
policy=/usr/sbin/policy-rc.d
created_policy=0
if [ ! -e "$policy" ] && [ "$(id -u)" = 0 ]; then
  printf '#!/bin/sh\nexit 101\n' > "$policy" && chmod +x "$policy" && created_policy=1
fi
status=0
"${sudo[@]}" apt-get install -y -qq --no-install-recommends prometheus >&2 || status=$?
[ "$created_policy" = 1 ] && rm -f "$policy"
[ "$status" = 0 ] || die "apt-get install prometheus failed (exit $status)"

binary="$(find_binary)" || die "prometheus installed but its binary is not on PATH"
log "installed: $binary ($("$binary" --version 2>&1 | head -n 1))"
printf '%s\n' "$binary"
