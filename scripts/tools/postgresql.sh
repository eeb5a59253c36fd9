#!/usr/bin/env bash
# Install Debian's PostgreSQL server binaries for the promote/registry tests, idempotently.
#
# Only installs: the tests start their own throw-away cluster (initdb into a
# temporary folder, pg_ctl on a random 127.0.0.1 port) and stop it afterwards,
# so no system service is enabled or started here, and a machine that already
# has the binaries is left untouched (one `apt-get update`, only when missing).
# Prints the folder holding initdb/pg_ctl on stdout (the only line on stdout);
# progress goes to stderr. Safe with CI=true and no stdin.
#
# Usage: scripts/tools/postgresql.sh
set -euo pipefail

log() { printf 'postgresql.sh: %s\n' "$*" >&2; }
die() { log "error: $*"; exit 1; }

exec </dev/null
# shellcheck source=scripts/lib.sh
. "$(dirname "$0")/../lib.sh"

find_bindir() {
  local dir
  # Debian keeps the server binaries out of PATH, one folder per major version.
  for dir in $(printf '%s\n' /usr/lib/postgresql/*/bin | sort -t/ -k5 -V -r); do
    if [ -x "$dir/initdb" ] && [ -x "$dir/pg_ctl" ] && [ -x "$dir/postgres" ]; then
      printf '%s\n' "$dir"
      return 0
    fi
  done
  return 1
}

if bindir="$(find_bindir)"; then
  log "already installed: $bindir"
  printf '%s\n' "$bindir"
  exit 0
fi

log "installing postgresql with apt-get"
apt_install postgresql || die "apt-get install postgresql failed; install it by hand (see the comment above)"

bindir="$(find_bindir)" || die "postgresql installed but initdb/pg_ctl not found under /usr/lib/postgresql"
log "installed: $bindir"
printf '%s\n' "$bindir"
