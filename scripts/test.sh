#!/usr/bin/env bash
# README command 2: install everything the tests need, then run the whole suite.
#
# Idempotent and non-interactive (CI runs it with CI=true and no stdin): one venv
# (.venv, or $MLCI_VENV) serves the unit tests, the act workflows and the
# gitlab-ci-local pipelines; system tools are installed only when missing.
set -euo pipefail
cd "$(dirname "$0")/.."
venv="${MLCI_VENV:-.venv}"

step() { printf '\n==> %s\n' "$*"; }

step "python venv ($venv) with mlci and the test tools"
[ -x "$venv/bin/python" ] || python3 -m venv "$venv"
"$venv/bin/python" -m pip install --quiet --disable-pip-version-check -e '.[test,examples]' \
  2>&1 | grep -v "^WARNING: Location" || true
"$venv/bin/mlci" --version

for tool in scripts/tools/*.sh; do
  [ -e "$tool" ] || continue
  step "tool: $tool"
  bash "$tool"
done

export PATH="$PWD/$venv/bin:$PWD/.tools/node/node_modules/.bin:$PATH"

step "ruff"
ruff check mlci tests bench examples
step "mypy"
mypy
step "pytest"
python -m pytest "$@"
