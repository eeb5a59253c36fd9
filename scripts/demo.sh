#!/usr/bin/env bash
# README command 1: install mlci and run the whole pipeline on examples/.
#
# Everything runs on the embedded defaults (files under examples/.mlci, no
# server, no CI): train the example model, then every mlci step that exists.
set -euo pipefail
cd "$(dirname "$0")/.."
venv="${MLCI_VENV:-.venv}"

step() { printf '\n==> %s\n' "$*"; }

step "install mlci and the example's dependencies into $venv"
[ -x "$venv/bin/python" ] || python3 -m venv "$venv"
"$venv/bin/python" -m pip install --quiet --disable-pip-version-check -e '.[examples]' \
  2>&1 | grep -v "^WARNING: Location" || true
export PATH="$PWD/$venv/bin:$PATH"
cd examples

step "train the example model (python train.py)"
python train.py

step "validate its predictions (mlci validate --predictions eval/predictions.csv)"
mlci validate --predictions eval/predictions.csv

step "validate the model itself, with latency and size (mlci validate --model model --data eval/holdout.csv)"
mlci validate --model model --data eval/holdout.csv

step "summary (examples/.mlci/validate.md, what CI shows on the run page)"
cat .mlci/validate.md
