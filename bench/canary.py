"""Benchmark: judging 50 metrics x 100,000 samples per side (issue 8; goal < 1 s).

    python bench/canary.py                       # 50 metrics x 100,000 samples per side
    python bench/canary.py --metrics 10 --samples 20000
    python bench/canary.py --cli                 # also time `mlci canary` on Parquet files

What is timed: `mlci.canary.judge.judge` + `score` on arrays already in memory —
per metric: NaN handling, two sorts, Mann-Whitney U and its p-value, and the
Hodges-Lehmann estimate with its interval (exact order statistics of the 10^10
pairwise differences, never formed), then classification and the weighted score.
Best of --repeat runs, wall time and CPU time, on the default thread pool and on
one thread. For scale, the same loop with `scipy.stats.mannwhitneyu` alone (U and
p-value, no shift estimate, no interval) is timed too.

The data: latency-like lognormal samples; every fifth metric of the canary is
shifted (+2 % to +50 %), one in ten is rounded to whole milliseconds (ties), and
1 % of the values are missing (NaN).
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
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from mlci.canary import judge  # noqa: E402
from mlci.canary.settings import load  # noqa: E402
from mlci.config import Config  # noqa: E402


def generate(metrics: int, samples: int, seed: int = 0) -> tuple[dict[str, np.ndarray],
                                                                 dict[str, np.ndarray]]:
    rng = np.random.default_rng(seed)
    stable, canary = {}, {}
    for i in range(metrics):
        scale = float(rng.uniform(2, 6))
        shift = 1.0 + (0.02 + 0.48 * (i / metrics)) * (i % 5 == 0)
        s = rng.lognormal(scale, 0.4, samples)
        c = rng.lognormal(scale, 0.4, samples) * shift
        if i % 10 == 3:
            s, c = np.round(s), np.round(c)
        for values in (s, c):
            values[rng.random(samples) < 0.01] = np.nan
        stable[f"metric_{i:02d}"], canary[f"metric_{i:02d}"] = s, c
    return stable, canary


def settings(names: list[str]) -> Any:
    return load(Config(path=None, data={"version": 1, "canary": {
        "metrics": {name: {"direction": "increase"} for name in names}}}))


def timed(function: Any, repeat: int) -> tuple[float, float, Any]:
    best_wall, best_cpu, result = float("inf"), float("inf"), None
    for _ in range(repeat):
        wall, cpu = time.perf_counter(), time.process_time()
        result = function()
        best_wall = min(best_wall, time.perf_counter() - wall)
        best_cpu = min(best_cpu, time.process_time() - cpu)
    return best_wall, best_cpu, result


def run_judge(config: Any, canary: dict[str, np.ndarray],
              stable: dict[str, np.ndarray]) -> judge.Score:
    outcomes = judge.judge(config.metrics, canary, stable, {}, {})
    return judge.score(outcomes, config)


def scipy_loop(canary: dict[str, np.ndarray], stable: dict[str, np.ndarray]) -> None:
    from scipy import stats

    for name in canary:
        c, s = canary[name], stable[name]
        stats.mannwhitneyu(c[~np.isnan(c)], s[~np.isnan(s)], method="asymptotic")


def cli(canary: dict[str, np.ndarray], stable: dict[str, np.ndarray], repeat: int) -> float:
    import pandas as pd

    with tempfile.TemporaryDirectory() as folder:
        pd.DataFrame(stable).to_parquet(Path(folder) / "stable.parquet")
        pd.DataFrame(canary).to_parquet(Path(folder) / "canary.parquet")
        lines = ["version: 1", "canary:", "  metrics:"]
        lines += [f"    {name}: {{direction: increase}}" for name in canary]
        (Path(folder) / "mlci.yml").write_text("\n".join(lines) + "\n")
        command = [sys.executable, "-m", "mlci", "canary", "--stable", "stable.parquet",
                   "--canary", "canary.parquet", "--out", "out"]
        best = float("inf")
        for _ in range(repeat):
            start = time.perf_counter()
            done = subprocess.run(command, cwd=folder, capture_output=True, text=True,
                                  check=False)
            best = min(best, time.perf_counter() - start)
            if done.returncode not in (0, 1):
                raise SystemExit(f"mlci canary failed:\n{done.stderr}")
        return best


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--metrics", type=int, default=50)
    parser.add_argument("--samples", type=int, default=100_000, help="per side")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--cli", action="store_true", help="also time the CLI on Parquet")
    args = parser.parse_args()

    stable, canary = generate(args.metrics, args.samples)
    config = settings(list(stable))
    print(f"canary judge: {args.metrics} metrics x {args.samples:,} samples per side "
          f"({platform.processor() or platform.machine()}, {os.cpu_count()} CPUs, "
          f"load {os.getloadavg()[0]:.1f})")

    wall, cpu, score = timed(lambda: run_judge(config, canary, stable), args.repeat)
    single = judge._PARALLEL_SAMPLES
    judge._PARALLEL_SAMPLES = sys.maxsize
    wall1, cpu1, _ = timed(lambda: run_judge(config, canary, stable), args.repeat)
    judge._PARALLEL_SAMPLES = single
    wall_scipy, cpu_scipy, _ = timed(lambda: scipy_loop(canary, stable), 1)

    rows = [("mlci judge (threads)", wall, cpu), ("mlci judge (1 thread)", wall1, cpu1),
            ("scipy mannwhitneyu loop (U, p only)", wall_scipy, cpu_scipy)]
    print(f"{'':38}{'wall s':>9}{'cpu s':>9}{'per metric ms':>15}")
    for name, w, c in rows:
        print(f"{name:38}{w:9.3f}{c:9.3f}{w / args.metrics * 1000:15.1f}")
    if args.cli:
        print(f"{'mlci canary CLI on Parquet (end to end)':38}"
              f"{cli(canary, stable, args.repeat):9.3f}")
    labels = [g.counts for g in score.groups]
    print(f"score {score.score:g} ({score.verdict}); classifications: {labels}")
    goal = "met" if min(wall, wall1) < 1.0 else "NOT met"
    print(f"goal < 1 s for {args.metrics} x {args.samples:,}: {goal} "
          f"(best {min(wall, wall1):.3f} s)")


if __name__ == "__main__":
    main()
