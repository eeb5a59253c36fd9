"""A/A and detection simulation for `compare`'s not-worse verdict.

    python bench/aa_simulation.py               # 200 repetitions per scenario
    python bench/aa_simulation.py --reps 1000   # tighter estimates of the rates

Each repetition draws an eval set of n = 5,000 rows in which the two models
disagree on 10 % of rows, runs mlci's paired bootstrap (2,000 resamples, BCa,
95 %) and the not-worse decision with the default margin (0.005 for accuracy),
and records the verdict. Scenarios, as probabilities of (both right, only the
candidate right, only the baseline right, both wrong):

* A/A: (0.80, 0.05, 0.05, 0.10) — equal accuracy 0.85. Goal: fail in ≤ 5 %.
* drop: (0.80, 0.04, 0.06, 0.10) — candidate 0.84 vs baseline 0.86, a true
  2-point drop. Goal: fail in ≥ 90 %.

The same scenarios are then judged on three metrics at once (accuracy, f1,
balanced accuracy) with Holm's adjustment, the way `compare` judges a config
with several metrics: a run "fails" when any metric fails.

For reference, the normal approximation: the delta's standard error is
sqrt(0.1 / 5000) ≈ 0.0045, so fail needs an estimate below −0.005 − 1.96·0.0045
≈ −0.0138: about 0.1 % of A/A runs and about 92 % of drop runs.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np

try:
    from mlci.stats import decide_family, gate_for, paired_bootstrap
except ImportError:  # run from a checkout without installing
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
    from mlci.stats import decide_family, gate_for, paired_bootstrap

SCENARIOS = {
    "A/A (equal, 10% disagree)": (0.80, 0.05, 0.05, 0.10),
    "drop of 2 points": (0.80, 0.04, 0.06, 0.10),
}


def simulate(cells: tuple[float, ...], metrics: list[str], reps: int, n: int,
             resamples: int, seed: int) -> dict[str, float]:
    rng = np.random.default_rng(seed)
    counts = {"pass": 0, "warn": 0, "fail": 0}
    for rep in range(reps):  # independent experiments, each with its own bootstrap
        kind = rng.choice(4, size=n, p=cells)
        y = rng.integers(0, 2, n)
        pc = np.where((kind == 0) | (kind == 1), y, 1 - y)
        pb = np.where((kind == 0) | (kind == 2), y, 1 - y)
        est = paired_bootstrap(metrics, y, task="binary", candidate_pred=pc, baseline_pred=pb,
                               resamples=resamples, seed=seed * 100_003 + rep)
        statuses = [d.status for d in decide_family([gate_for(e) for e in est.values()])]
        worst = "fail" if "fail" in statuses else "warn" if "warn" in statuses else "pass"
        counts[worst] += 1
    return {k: v / reps for k, v in counts.items()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--reps", type=int, default=200)
    parser.add_argument("--rows", type=int, default=5000)
    parser.add_argument("--resamples", type=int, default=2000)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()

    print(f"n = {args.rows:,} rows, {args.reps} repetitions, {args.resamples:,} resamples, "
          "not-worse, margin 0.005, 95 % BCa\n")
    print(f"| {'scenario':<27} | {'metrics':<40} | {'pass':>6} | {'warn':>6} | {'fail':>6} |"
          f" {'goal':<12} | {'s':>5} |")
    print(f"|{'-' * 29}|{'-' * 42}|{'-' * 8}|{'-' * 8}|{'-' * 8}|{'-' * 14}|{'-' * 7}|")
    for metrics in (["accuracy"], ["accuracy", "f1", "balanced_accuracy"]):
        for index, (name, cells) in enumerate(SCENARIOS.items()):
            start = time.perf_counter()
            rates = simulate(cells, metrics, args.reps, args.rows, args.resamples,
                             args.seed + index)
            took = time.perf_counter() - start
            goal = "fail <= 5%" if index == 0 else "fail >= 90%"
            label = ", ".join(metrics) + (" (Holm)" if len(metrics) > 1 else "")
            print(f"| {name:<27} | {label:<40} | {rates['pass']:>6.1%} | {rates['warn']:>6.1%} |"
                  f" {rates['fail']:>6.1%} | {goal:<12} | {took:>5.1f} |")


if __name__ == "__main__":
    main()
