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
export DEBIAN_FRONTEND=noninteractive

find_bindir() {
  local dir
  # Debian keeps the server binaries out of PATH, one folder per major version.
  for dir in $(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -t/ -k5 -V -r); do
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

command -v apt-get >/dev/null 2>&1 || die "PostgreSQL is missing and apt-get is not available; install the PostgreSQL server (initdb, pg_ctl) by hand"
sudo=()
if [ "$(id -u)" != 0 ]; then
  command -v sudo >/dev/null 2>&1 || die "PostgreSQL is missing; run as root or install the postgresql package"
  sudo=(sudo -n)
fi

log "installing postgresql with apt-get"
"${sudo[@]}" apt-get update -qq >&2 || die "apt-get update failed"
# policy-rc.d keeps the package from starting the system cluster's service: the
# tests run their own cluster and nothing should listen on 5432 because of us.
policy=/usr/sbin/policy-rc.d
created_policy=0
if [ ! -e "$policy" ] && [ "$(id -u)" = 0 ]; then
  printf '#!/bin/sh\nexit 101\n' > "$policy" && chmod +x "$policy" && created_policy=1
fi
status=0
"${sudo[@]}" apt-get install -y -qq --no-install-recommends postgresql >&2 || status=$?
[ "$created_policy" = 1 ] && rm -f "$policy"
[ "$status" = 0 ] || die "apt-get install postgresql failed (exit $status)"

bindir="$(find_bindir)" || die "postgresql installed but initdb/pg_ctl not found under /usr/lib/postgresql"
log "installed: $bindir"
printf '%s\n' "$bindir"
