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
venv_bin="$(abs_path "$venv")/bin"
export PATH="$venv_bin:$PATH"
cd examples

# No registry configured: promote, rollback and history use the project's embedded
# registry, examples/.mlci/registry.db beside mlci.yml, whatever --out a round uses
# (each says so on stderr), so both rounds below share it.
unset MLFLOW_TRACKING_URI
mkdir -p .mlci
key=.mlci/keys/mlci-signing.pem
pub=.mlci/keys/mlci-signing.pub.pem
gates=validate,compare,lineage,signature
# lineage records the commit; outside a git checkout (a tarball) it says so instead
# (and the lineage gate, which requires a commit, cannot pass there)
git_flag=()
if ! git rev-parse --git-dir >/dev/null 2>&1; then
  git_flag=(--no-git)
  gates=validate,compare,signature
fi

step "round 1: train the example model (python train.py)"
python train.py

step "validate its predictions, attributed to the model (mlci validate)"
mlci validate --predictions eval/predictions.csv --model model

step "validate the model itself, with latency and size (mlci validate --model --data)"
mlci validate --model model --data eval/holdout.csv --out .mlci/model-tests

step "compare with the committed baseline (mlci compare)"
mlci compare --candidate eval/predictions.csv --baseline baseline/predictions.csv --model model \
  --seed 1

step "data drift, training vs evaluation rows (mlci compare --drift)"
mlci compare --drift --reference data/train.csv --current eval/holdout.csv

step "lineage: a signing key, then record and sign (mlci lineage keygen / tag / verify)"
[ -f "$key" ] || mlci lineage keygen --dir .mlci/keys
mlci lineage tag --data data/train.csv eval/holdout.csv --model model --signing-key "$key" \
  "${git_flag[@]}"
mlci lineage verify --lineage .mlci/lineage.json --public-key "$pub"

step "promote to production through the gates $gates (mlci promote)"
mlci promote --name breast-cancer --model model --alias production --require "$gates" \
  --public-key "$pub" --reason "demo round 1"

step "round 2: retrain (C=0.5) and run the same gates in next/.mlci"
python train.py --c 0.5 --out next
mlci validate --predictions next/eval/predictions.csv --model next/model --out next/.mlci
# Nearly the same predictions as round 1 on 171 rows: the intervals straddle the
# margin, so compare says WARN (inconclusive) and says how many rows would settle it.
mlci compare --candidate next/eval/predictions.csv --baseline eval/predictions.csv \
  --model next/model --seed 1 --out next/.mlci
mlci lineage tag --data data/train.csv eval/holdout.csv --model next/model --signing-key "$key" \
  --out next/.mlci "${git_flag[@]}"

step "the compare gate stops round 2: an inconclusive comparison is not a pass (exit 1)"
status=0
mlci promote --name breast-cancer --model next/model --alias production --require "$gates" \
  --public-key "$pub" --reason "demo round 2" --out next/.mlci || status=$?
if [ "$status" -ne 1 ]; then
  echo "expected the gate to stop round 2 with exit 1, got $status" >&2
  exit 1
fi
echo "(exit 1, as expected: production still serves round 1's model)"

step "round 3: the team accepts the inconclusive comparison (--allow-warn) and promotes"
mlci promote --name breast-cancer --model next/model --alias production --require "$gates" \
  --public-key "$pub" --allow-warn --reason "demo round 3: accepted an inconclusive compare" \
  --out next/.mlci

step "the deploy of round 3 fails: roll back (mlci rollback), then the history (mlci history)"
mlci rollback --name breast-cancer --alias production --reason "demo: deploy of round 3 failed" \
  --out next/.mlci
mlci history --name breast-cancer --alias production

step "one report of round 1 (mlci report → examples/.mlci/report.md, what the PR comment shows)"
mlci report
cat .mlci/report.md
