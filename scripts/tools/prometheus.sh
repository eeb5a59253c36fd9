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
# shellcheck source=scripts/lib.sh
. "$(dirname "$0")/../lib.sh"

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

log "installing prometheus with apt-get"
apt_install prometheus || die "apt-get install prometheus failed; install it by hand (see the comment above)"

binary="$(find_binary)" || die "prometheus installed but its binary is not on PATH"
log "installed: $binary ($("$binary" --version 2>&1 | head -n 1))"
printf '%s\n' "$binary"
