#!/usr/bin/env bash
# README command 1: install mlci and run the whole pipeline on examples/.
#
# Everything runs on the embedded defaults (files under examples/.mlci, no
# server, no CI): train the example model, then every mlci step that exists.
set -euo pipefail
cd "$(dirname "$0")/.."
venv="${MLCI_VENV:-.venv}"
# shellcheck source=scripts/lib.sh
. scripts/lib.sh

step "install mlci and the example's dependencies into $venv"
ensure_venv "$venv" examples
export PATH="$PWD/$venv/bin:$PATH"
cd examples

step "train the example model (python train.py)"
python train.py

step "validate its predictions (mlci validate --predictions eval/predictions.csv)"
mlci validate --predictions eval/predictions.csv

step "validate the model itself, with latency and size (mlci validate --model model --data eval/holdout.csv)"
mlci validate --model model --data eval/holdout.csv

step "compare with the committed baseline (mlci compare --candidate … --baseline baseline/predictions.csv)"
mlci compare --candidate eval/predictions.csv --baseline baseline/predictions.csv --seed 1

step "data drift, training vs evaluation rows (mlci compare --drift)"
mlci compare --drift --reference data/train.csv --current eval/holdout.csv

step "lineage: a signing key, then record and sign (mlci lineage keygen / tag)"
mlci lineage keygen --dir .mlci/keys
mlci lineage tag --data data/train.csv eval/holdout.csv --model model \
  --signing-key .mlci/keys/mlci-signing.pem

step "lineage: verify data, model and signature (mlci lineage verify)"
mlci lineage verify --lineage .mlci/lineage.json --public-key .mlci/keys/mlci-signing.pub.pem

step "summary of the comparison (examples/.mlci/compare.md, what CI shows on the run page)"
cat .mlci/compare.md
