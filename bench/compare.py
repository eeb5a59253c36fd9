"""Benchmark: mlci's paired bootstrap vs a plain loop over scikit-learn, and vs MLflow.

    python bench/compare.py                  # 1,000,000 predictions, 1,000 resamples
    python bench/compare.py --no-mlflow      # skip mlflow.models.evaluate

What is measured, in one run, on the same 1,000,000 binary predictions of two
models (accuracy about 0.85 and 0.84):

  1. mlci: `paired_bootstrap` of accuracy, f1 and balanced accuracy, 1,000
     resamples, BCa intervals, plus McNemar's test — the fast path that resamples
     the cells (true label, candidate label, baseline label) with a multinomial.
     Goal (issue 3): < 2 s.
  2. The plain way: a Python loop over resamples, drawing 1,000,000 row indices and
     calling scikit-learn's three metrics for both models on each. That takes
     minutes, so it runs `--loop-resamples` resamples and the time is
     extrapolated linearly to 1,000 (the output says so).
  3. MLflow: `mlflow.models.evaluate` on each model's predictions plus
     `mlflow.validate_evaluation_results` — point values only, no interval — in a
     child process with a time limit; skipped with a note when it exceeds it.
  4. For scale, mlci's row-resampling path (roc_auc, log_loss, brier, which
     cannot be reduced to a few cells) on the same rows with `--row-resamples`
     resamples; this one is not extrapolated.

"ratio" is the contender's time divided by mlci's (1): how many times faster mlci is.

Both mlci rows time the plain bootstrap (method="bca") so that they measure the same
work as the loop. `compare` itself uses method="auto", which is no slower: accuracy's
score interval needs no resamples, the other label metrics draw Dirichlet weights over
the same cells, and roc_auc uses DeLong's interval instead of resampling rows.
"""

from __future__ import annotations

import argparse
import os
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

try:
    from mlci.stats import DeltaEstimate, paired_bootstrap
except ImportError:  # run from a checkout without installing
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
    from mlci.stats import DeltaEstimate, paired_bootstrap

METRICS = ["accuracy", "f1", "balanced_accuracy"]


def make_data(rows: int, seed: int) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(seed)
    y = rng.integers(0, 2, rows)
    shared = rng.random(rows)  # the models err on overlapping rows, as real models do
    cand_right = np.where(rng.random(rows) < 0.8, shared < 0.85, rng.random(rows) < 0.85)
    base_right = np.where(rng.random(rows) < 0.8, shared < 0.84, rng.random(rows) < 0.84)
    pc = np.where(cand_right, y, 1 - y)
    pb = np.where(base_right, y, 1 - y)
    sc = np.clip(0.35 + 0.3 * pc + 0.35 * rng.random(rows), 0, 1)
    sb = np.clip(0.35 + 0.3 * pb + 0.35 * rng.random(rows), 0, 1)
    return {"y": y, "pc": pc, "pb": pb, "sc": sc, "sb": sb}


def time_mlci(data: dict[str, np.ndarray],
              resamples: int) -> tuple[float, dict[str, DeltaEstimate]]:
    paired_bootstrap(METRICS, data["y"][:1000], task="binary", candidate_pred=data["pc"][:1000],
                     baseline_pred=data["pb"][:1000], resamples=10, seed=0)  # warm-up imports
    start = time.perf_counter()
    est = paired_bootstrap(METRICS, data["y"], task="binary", candidate_pred=data["pc"],
                           baseline_pred=data["pb"], resamples=resamples, seed=1, method="bca")
    return time.perf_counter() - start, dict(est)


def time_sklearn_loop(data: dict[str, np.ndarray], resamples: int) -> float:
    from sklearn.metrics import accuracy_score, balanced_accuracy_score, f1_score

    fns = [accuracy_score, f1_score, balanced_accuracy_score]
    rng = np.random.default_rng(1)
    y, pc, pb = data["y"], data["pc"], data["pb"]
    n = y.shape[0]
    deltas = np.empty((resamples, len(fns)))
    start = time.perf_counter()
    for r in range(resamples):  # the plain way, on purpose
        idx = rng.integers(0, n, n)
        yi = y[idx]
        for m, fn in enumerate(fns):
            deltas[r, m] = fn(yi, pc[idx]) - fn(yi, pb[idx])
    return time.perf_counter() - start


MLFLOW_CHILD = r"""
import sys, tempfile, time, warnings
import numpy as np, pandas as pd
warnings.filterwarnings("ignore")
import mlflow
from mlflow.models import MetricThreshold
data = np.load(sys.argv[1])
tmp = tempfile.mkdtemp()
mlflow.set_tracking_uri(f"sqlite:///{tmp}/mlflow.db")
start = time.perf_counter()
results = []
for col in ("pc", "pb"):
    frame = pd.DataFrame({"y": data["y"], "prediction": data[col]})
    with mlflow.start_run():
        results.append(mlflow.models.evaluate(
            data=frame, targets="y", predictions="prediction", model_type="classifier",
            evaluator_config={"log_model_explainability": False}))
# MLflow has no tolerance for a small regression (min_absolute_change must be > 0),
# so the gate is an absolute floor on each metric, checked against the baseline run.
thresholds = {"accuracy_score": MetricThreshold(threshold=0.5, greater_is_better=True),
              "f1_score": MetricThreshold(threshold=0.5, greater_is_better=True)}
try:
    mlflow.validate_evaluation_results(thresholds, results[0], results[1])
except Exception as exc:  # a failed validation raises; the timing is what we want
    print("validation:", type(exc).__name__, file=sys.stderr)
print(time.perf_counter() - start)
"""


def time_mlflow(data: dict[str, np.ndarray], timeout: float) -> tuple[float | None, str]:
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "data.npz")
        np.savez(path, y=data["y"], pc=data["pc"], pb=data["pb"])
        try:
            proc = subprocess.run([sys.executable, "-c", MLFLOW_CHILD, path],
                                  capture_output=True, text=True, timeout=timeout, cwd=tmp)
        except subprocess.TimeoutExpired:
            return None, f"skipped: longer than {timeout:.0f} s here"
    if proc.returncode != 0:
        last = (proc.stderr.strip().splitlines() or ["no output"])[-1]
        return None, f"not measured: {last[:90]}"
    return float(proc.stdout.strip().splitlines()[-1]), "point values only, no interval"


def time_rows_path(data: dict[str, np.ndarray], resamples: int) -> float:
    start = time.perf_counter()
    paired_bootstrap(["roc_auc", "log_loss", "brier"], data["y"], task="binary",
                     candidate_score=data["sc"], baseline_score=data["sb"],
                     resamples=resamples, seed=1, method="bca")
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--resamples", type=int, default=1000)
    parser.add_argument("--loop-resamples", type=int, default=3,
                        help="resamples actually run by the scikit-learn loop (extrapolated)")
    parser.add_argument("--row-resamples", type=int, default=100,
                        help="resamples for mlci's row-resampling path (4)")
    parser.add_argument("--no-mlflow", action="store_true")
    parser.add_argument("--mlflow-timeout", type=float, default=300.0)
    args = parser.parse_args()

    data = make_data(args.rows, seed=0)
    cpu = platform.processor() or platform.machine()
    print(f"{args.rows:,} binary predictions per model; {cpu}, {os.cpu_count()} CPUs, "
          f"Python {platform.python_version()}\n")

    ours, est = time_mlci(data, args.resamples)
    loop = time_sklearn_loop(data, args.loop_resamples)
    loop_full = loop * args.resamples / args.loop_resamples
    rows: list[tuple[str, str, float | None, str]] = [
        ("mlci paired bootstrap (3 metrics, BCa + McNemar)", f"{args.resamples:,}", ours,
         "measured")]
    rows.append(("plain loop over scikit-learn metrics", f"{args.resamples:,}", loop_full,
                 f"extrapolated from {args.loop_resamples} resamples ({loop:.1f} s)"))
    if args.no_mlflow:
        rows.append(("mlflow evaluate x2 + validate_evaluation_results", "-", None,
                     "skipped (--no-mlflow)"))
    else:
        took, note = time_mlflow(data, args.mlflow_timeout)
        rows.append(("mlflow evaluate x2 + validate_evaluation_results", "-", took, note))
    rows_path = time_rows_path(data, args.row_resamples)
    rows.append(("mlci row path (roc_auc, log_loss, brier)", f"{args.row_resamples:,}",
                 rows_path, "measured; row resampling, for scale"))

    print(f"| {'what':<50} | {'resamples':>9} | {'wall s':>8} | {'ratio':>7} | note")
    print(f"|{'-' * 52}|{'-' * 11}|{'-' * 10}|{'-' * 9}|------")
    for what, n, secs, note in rows:
        wall = f"{secs:8.3f}" if secs is not None else f"{'-':>8}"
        contender = secs is not None and what.startswith(("plain", "mlflow"))
        ratio = f"{secs / ours:6.0f}x" if secs is not None and contender else f"{'-':>7}"
        print(f"| {what:<50} | {n:>9} | {wall} | {ratio} | {note}")
    goal = "met" if ours < 2.0 else "NOT met"
    print(f"\ngoal < 2 s for {args.rows:,} x {args.resamples:,} x 3 metrics: {goal} ({ours:.2f} s)")
    for name, e in est.items():
        assert e.ci is not None
        print(f"  {name:<18} delta {e.delta:+.5f}  95% CI {e.ci[0]:+.5f}..{e.ci[1]:+.5f}  "
              f"p = {e.p_value:.3g} ({e.test})")


if __name__ == "__main__":
    main()
