#!/usr/bin/env bash
# README command 2: install everything the tests need, then run the whole suite.
#
# Idempotent and non-interactive (CI runs it with CI=true and no stdin): one venv
# (.venv, or $MLCI_VENV) serves the unit tests, the act workflows and the
# gitlab-ci-local pipelines; system tools are installed only when missing.
set -euo pipefail
cd "$(dirname "$0")/.."
venv="${MLCI_VENV:-.venv}"
# shellcheck source=scripts/lib.sh
. scripts/lib.sh

step "python venv ($venv) with mlci and the test tools"
ensure_venv "$venv" test,examples
"$venv/bin/mlci" --version

for tool in scripts/tools/*.sh; do
  [ -e "$tool" ] || continue
  step "tool: $tool"
  bash "$tool"
done

venv_bin="$(abs_path "$venv")/bin"
export PATH="$venv_bin:$PWD/.tools/node/node_modules/.bin:$PATH"

step "ruff"
ruff check mlci tests bench examples
step "mypy"
mypy
step "pytest"
python -m pytest "$@"
