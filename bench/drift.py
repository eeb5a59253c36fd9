"""Benchmark: mlci's drift tests vs a plain per-column scipy loop and Evidently.

    python bench/drift.py                    # 1,000,000 rows x (20 numeric + 5 categorical)
    python bench/drift.py --rows 200000      # smaller, on a small machine
    python bench/drift.py --skip-scipy       # only mlci (and Evidently when installed)

The reference and current tables are written once as Parquet files in a temp
folder; each contender then runs in its own child process that reads both files
and judges every column, so that its wall time includes reading and its peak
memory (the child's VmHWM, its high-water resident set) is its own:

  1. mlci: the CLI, `mlci compare --drift --reference A --current B`, which
     reads the two Parquet files one column at a time and tests each column as
     it arrives, and writes its result document; reading is not timed separately.
  2. scipy loop: the same choice of test per column, computed the plain way —
     `scipy.stats.wasserstein_distance` / `ks_2samp` on the raw columns,
     value counts and `jensenshannon` / `chi2_contingency` for categories.
  3. Evidently's DataDriftPreset, when `import evidently` works in this Python
     (it is not a dependency; install it in a separate bench environment with
     `pandas<3`). Otherwise the row says it was not measured.

Every contender's per-column verdicts are compared with mlci's. "ratio" is the
contender's time (or memory) divided by mlci's. Goals (issue 3): >= 20x faster
than Evidently, <= 1/4 of its peak memory, every verdict equal.

The data: 14 continuous numeric columns (6 of them drifted by a shift or a
scale change), 3 integer columns with many values, 3 numeric columns with 2-5
values, and 5 string columns with 3 to 200 levels (2 drifted).
"""

from __future__ import annotations

import argparse
import contextlib
import json
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


def generate(rows: int, seed: int, drifted: bool) -> Any:
    import pandas as pd

    rng = np.random.default_rng(seed)
    cols: dict[str, Any] = {}
    for i in range(14):
        shift = 0.25 if drifted and i % 3 == 0 else 0.0
        scale = 1.4 if drifted and i == 4 else 1.0
        cols[f"num_{i:02}"] = rng.normal(shift, scale, rows)
    for i in range(3):
        lam = 30 + (8 if drifted and i == 0 else 0)
        cols[f"count_{i}"] = rng.poisson(lam, rows).astype(np.int64)
    for i, k in enumerate((2, 3, 5)):
        p = np.ones(k) / k
        if drifted and i == 2:
            p = np.linspace(1, 3, k) / np.linspace(1, 3, k).sum()
        cols[f"level_{i}"] = rng.choice(np.arange(k, dtype=np.float64), rows, p=p)
    for i, k in enumerate((3, 8, 20, 50, 200)):
        labels = np.array([f"c{j:03}" for j in range(k)])
        p = np.ones(k) / k
        if drifted and i in (1, 4):
            p = np.geomspace(1, 6, k) / np.geomspace(1, 6, k).sum()
        cols[f"cat_{i}"] = rng.choice(labels, rows, p=p)
    return pd.DataFrame(cols)


NUMERIC_PREFIXES = ("num_", "count_", "level_")


def kinds(columns: list[str]) -> dict[str, str]:
    return {c: "numeric" if c.startswith(NUMERIC_PREFIXES) else "categorical" for c in columns}


# --- contenders, each run in a child process -------------------------------------


def run_mlci(ref_path: str, cur_path: str) -> dict[str, Any]:
    """The CLI itself, in this child process: `mlci compare --drift` on the Parquet files."""
    sys.path.insert(0, str(ROOT))
    from mlci.cli import main as mlci_main

    with tempfile.TemporaryDirectory() as out:
        start = time.perf_counter()
        with contextlib.suppress(SystemExit):  # exit 1 means "drift found", not a failure
            mlci_main(["compare", "--drift", "--reference", ref_path, "--current", cur_path,
                       "--out", out], standalone_mode=False)
        total = time.perf_counter() - start
        doc = json.loads((Path(out) / "drift.json").read_text())
    columns = [c for c in doc["checks"] if c["name"].startswith("drift:")]
    return {"total": total, "read": None,
            "verdicts": {c["column"]: bool(c["drifted"]) for c in columns},
            "methods": {c["column"]: c["method"] for c in columns},
            "dataset": doc["verdict"] == "fail"}


def run_scipy(ref_path: str, cur_path: str) -> dict[str, Any]:
    import pandas as pd
    from scipy import stats
    from scipy.spatial.distance import jensenshannon

    sys.path.insert(0, str(ROOT))
    from mlci.stats.drift import default_method

    start = time.perf_counter()
    ref, cur = pd.read_parquet(ref_path), pd.read_parquet(cur_path)
    read = time.perf_counter() - start
    verdicts = {}
    for name, kind in kinds(list(ref.columns)).items():  # the plain way, on purpose
        r, c = ref[name].dropna(), cur[name].dropna()
        distinct = pd.concat([r, c]).nunique()
        method = default_method(len(r), kind, distinct)  # type: ignore[arg-type]
        if method == "wasserstein":
            score = stats.wasserstein_distance(r, c) / max(np.std(r), 0.001)
            verdicts[name] = bool(score >= 0.1)
        elif method == "ks":
            verdicts[name] = bool(stats.ks_2samp(r, c).pvalue < 0.05)
        else:
            keys = sorted(set(r.unique()) | set(c.unique()))
            rc = r.value_counts().reindex(keys, fill_value=0).to_numpy()
            cc = c.value_counts().reindex(keys, fill_value=0).to_numpy()
            if method == "jensenshannon":
                verdicts[name] = bool(jensenshannon(rc / rc.sum(), cc / cc.sum(), 2.0) >= 0.1)
            else:
                verdicts[name] = bool(stats.chi2_contingency(np.vstack([rc, cc])).pvalue < 0.05)
    return {"total": time.perf_counter() - start, "read": read, "verdicts": verdicts}


def run_evidently(ref_path: str, cur_path: str) -> dict[str, Any]:
    import pandas as pd

    try:
        try:  # evidently >= 0.7 keeps the report API used here under evidently.legacy
            from evidently.legacy.metric_preset import DataDriftPreset
            from evidently.legacy.pipeline.column_mapping import ColumnMapping
            from evidently.legacy.report import Report
        except ImportError:
            from evidently import ColumnMapping
            from evidently.metric_preset import DataDriftPreset
            from evidently.report import Report
    except Exception as exc:  # not installed, or does not import with this pandas
        return {"error": f"not measured: evidently does not import here ({type(exc).__name__})"}

    start = time.perf_counter()
    ref, cur = pd.read_parquet(ref_path), pd.read_parquet(cur_path)
    read = time.perf_counter() - start
    kind = kinds(list(ref.columns))
    mapping = ColumnMapping(numerical_features=[c for c, k in kind.items() if k == "numeric"],
                            categorical_features=[c for c, k in kind.items()
                                                  if k == "categorical"],
                            target=None, prediction=None)
    report = Report(metrics=[DataDriftPreset()])
    report.run(reference_data=ref, current_data=cur, column_mapping=mapping)
    doc = report.as_dict()
    total = time.perf_counter() - start
    verdicts = {}
    for metric in doc["metrics"]:
        by_column = metric.get("result", {}).get("drift_by_columns")
        if by_column:
            verdicts = {name: bool(v["drift_detected"]) for name, v in by_column.items()}
    return {"total": total, "read": read, "verdicts": verdicts}


CONTENDERS = {"mlci": run_mlci, "scipy": run_scipy, "evidently": run_evidently}


def peak_mb() -> float:
    """This process's peak resident set since it started. VmHWM belongs to the memory
    map that exec created, so unlike the child's ru_maxrss it does not inherit the
    parent's size at fork."""
    try:
        with open("/proc/self/status", encoding="ascii") as status:
            for line in status:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    import resource

    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def child(name: str, ref_path: str, cur_path: str) -> None:
    result = CONTENDERS[name](ref_path, cur_path)
    result["peak_mb"] = peak_mb()
    print(json.dumps(result))


def measure(name: str, ref_path: str, cur_path: str) -> dict[str, Any]:
    """Run one contender in a child process, which reports its own time and peak."""
    proc = subprocess.run([sys.executable, __file__, "--child", name, ref_path, cur_path],
                          capture_output=True, text=True)
    if proc.returncode != 0:
        return {"error": f"failed: {(proc.stderr.strip().splitlines() or ['?'])[-1][:100]}"}
    result: dict[str, Any] = json.loads(proc.stdout.strip().splitlines()[-1])
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--skip-scipy", action="store_true")
    parser.add_argument("--child", nargs=3, metavar=("NAME", "REF", "CUR"),
                        help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(*args.child)
        return

    with tempfile.TemporaryDirectory() as tmp:
        ref_path, cur_path = os.path.join(tmp, "reference.parquet"), os.path.join(tmp,
                                                                                "current.parquet")
        start = time.perf_counter()
        generate(args.rows, 1, drifted=False).to_parquet(ref_path)
        generate(args.rows, 2, drifted=True).to_parquet(cur_path)
        print(f"{args.rows:,} rows x 25 columns per side, written in "
              f"{time.perf_counter() - start:.1f} s; {platform.machine()}, {os.cpu_count()} CPUs, "
              f"Python {platform.python_version()}\n")
        # One contender at a time, largest memory last, so peaks are not shared.
        names = ["mlci"] + ([] if args.skip_scipy else ["scipy"]) + ["evidently"]
        results = {name: measure(name, ref_path, cur_path) for name in names}

    ours = results["mlci"]
    if "error" in ours:
        raise SystemExit(f"mlci {ours['error']}")
    print(f"| {'contender':<30} | {'wall s':>7} | {'of it read':>10} | {'peak MB':>8} |"
          f" {'time ratio':>10} | {'memory ratio':>12} | verdicts equal to mlci")
    print(f"|{'-' * 32}|{'-' * 9}|{'-' * 12}|{'-' * 10}|{'-' * 12}|{'-' * 14}|------")
    labels = {"mlci": "mlci compare --drift (CLI)", "scipy": "plain scipy loop per column",
              "evidently": "Evidently DataDriftPreset"}
    for name, res in results.items():
        if "error" in res:
            print(f"| {labels[name]:<30} | {'-':>7} | {'-':>10} | {'-':>8} | {'-':>10} |"
                  f" {'-':>12} | {res['error']}")
            continue
        same = [c for c in ours["verdicts"] if res["verdicts"].get(c) == ours["verdicts"][c]]
        equal = "yes" if len(same) == len(ours["verdicts"]) else \
            f"NO: {len(same)} of {len(ours['verdicts'])}"
        time_ratio = "-" if name == "mlci" else f"{res['total'] / ours['total']:.1f}x"
        mem_ratio = "-" if name == "mlci" else f"{res['peak_mb'] / ours['peak_mb']:.2f}x"
        read = "streamed" if res["read"] is None else f"{res['read']:.2f}"
        print(f"| {labels[name]:<30} | {res['total']:7.2f} | {read:>10} |"
              f" {res['peak_mb']:8.0f} | {time_ratio:>10} | {mem_ratio:>12} | {equal}")
    drifted = [c for c, v in ours["verdicts"].items() if v]
    print(f"\nmlci: {len(drifted)} of {len(ours['verdicts'])} columns drifted "
          f"({', '.join(drifted)}); dataset drift: {ours['dataset']}")
    methods: dict[str, int] = {}
    for m in ours["methods"].values():
        methods[m] = methods.get(m, 0) + 1
    print("tests used: " + ", ".join(f"{m} x{k}" for m, k in sorted(methods.items())))


if __name__ == "__main__":
    main()
