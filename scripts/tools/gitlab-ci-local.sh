#!/usr/bin/env bash
# Install the tools the GitLab end-to-end tests need, idempotently:
#   - Debian's rsync (gitlab-ci-local copies the project with it), through apt-get;
#   - gitlab-ci-local, pinned, with npm into the project-local folder .tools/node/
#     (never global). 4.65.1 is the last release that runs on Node 20; newer
#     releases need Node 22.
# Prints the path of the gitlab-ci-local binary on stdout (the only line on
# stdout); progress goes to stderr. Safe with CI=true and no stdin.
#
# Usage: scripts/tools/gitlab-ci-local.sh
# Env:   GITLAB_CI_LOCAL_VERSION (default 4.65.1), MLCI_TOOLS_DIR (default <repo>/.tools)
set -euo pipefail

version="${GITLAB_CI_LOCAL_VERSION:-4.65.1}"
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
tools="${MLCI_TOOLS_DIR:-$root/.tools}"
prefix="$tools/node"
bin="$prefix/node_modules/.bin/gitlab-ci-local"
pkg="$prefix/node_modules/gitlab-ci-local/package.json"

log() { printf 'gitlab-ci-local.sh: %s\n' "$*" >&2; }
die() { log "error: $*"; exit 1; }

exec </dev/null
# shellcheck source=scripts/lib.sh
. "$root/scripts/lib.sh"

# --- rsync -------------------------------------------------------------------
if ! command -v rsync >/dev/null 2>&1; then
  log "installing rsync with apt-get"
  apt_install rsync || die "apt-get install rsync failed; install rsync by hand"
fi

# --- gitlab-ci-local -----------------------------------------------------------
command -v node >/dev/null 2>&1 || die "node is not on PATH (gitlab-ci-local needs Node >= 18)"
command -v npm >/dev/null 2>&1 || die "npm is not on PATH"

installed=""
if [ -x "$bin" ] && [ -f "$pkg" ]; then
  installed="$(node -p 'require(process.argv[1]).version' "$pkg" 2>/dev/null || true)"
fi
if [ "$installed" != "$version" ]; then
  log "installing gitlab-ci-local@$version into $prefix"
  mkdir -p "$prefix"
  npm install --prefix "$prefix" --no-save --no-audit --no-fund --no-update-notifier \
    --loglevel=error "gitlab-ci-local@$version" >&2 \
    || die "npm install gitlab-ci-local@$version failed"
  [ -x "$bin" ] || die "npm finished but $bin is missing"
else
  log "gitlab-ci-local@$version already in $prefix"
fi

"$bin" --version >/dev/null 2>&1 || die "$bin does not run (Node $(node --version); it needs Node >= 18, releases after 4.65.1 need 22)"
printf '%s\n' "$bin"
