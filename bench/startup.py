"""How fast mlci starts: `mlci --help` and `mlci validate` on 10,000 rows.

Run: python bench/startup.py [--repeat 5]

Goals (issue 2): --help < 0.3 s; validate on a 10,000-row predictions file
< 1.5 s, which holds because mlflow is not imported for it."""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

CONFIG = """\
version: 1
task: binary
tests:
  - metric: accuracy
    min: 0.5
  - metric: roc_auc
    min: 0.5
  - metric: f1
    min: 0.5
    slice: group
  - fairness: recall
    by: group
    max_gap: 0.5
  - column: group
    allowed: [a, b, c]
"""


def timed(cmd: list[str], cwd: Path, repeat: int) -> float:
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        subprocess.run(cmd, cwd=cwd, check=False, stdout=subprocess.DEVNULL)
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    mlci = shutil.which("mlci") or str(Path(sys.executable).parent / "mlci")
    rng = np.random.default_rng(0)
    n = 10_000
    y = rng.integers(0, 2, n)
    score = np.clip(y * 0.6 + rng.random(n) * 0.5, 0, 1)
    frame = pd.DataFrame({"y_true": y, "y_pred": (score > 0.5).astype(int), "y_score": score,
                          "group": rng.choice(["a", "b", "c"], n)})
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        (work / "mlci.yml").write_text(CONFIG)
        frame.to_csv(work / "p.csv", index=False)
        frame.to_parquet(work / "p.parquet", index=False)
        env_python = [sys.executable, "-c", "pass"]
        rows = [
            ("python -c pass (interpreter floor)", timed(env_python, work, args.repeat), None),
            ("mlci --help", timed([mlci, "--help"], work, args.repeat), 0.3),
            ("mlci validate, 10k rows CSV", timed([mlci, "validate", "--predictions", "p.csv"],
                                                  work, args.repeat), 1.5),
            ("mlci validate, 10k rows Parquet",
             timed([mlci, "validate", "--predictions", "p.parquet"], work, args.repeat), 1.5),
        ]
    print(f"median of {args.repeat} runs, {os.cpu_count()} cores\n")
    print(f"{'command':<40} {'seconds':>8} {'goal':>6}  ok")
    for name, seconds, goal in rows:
        ok = "" if goal is None else ("yes" if seconds < goal else "NO")
        print(f"{name:<40} {seconds:>8.3f} {goal if goal else '':>6}  {ok}")


if __name__ == "__main__":
    main()
