"""Benchmark: mlci's drift tests vs a plain per-column scipy loop and Evidently, and
every per-column value against Evidently's own.

    python bench/drift.py                    # 1,000,000 rows x (20 numeric + 5 categorical)
    python bench/drift.py --rows 200000      # smaller, on a small machine
    python bench/drift.py --skip-scipy       # only mlci and Evidently
    python bench/drift.py --parity-only      # only the value check (about a minute)

Evidently 0.7 needs pandas < 3, so it runs in its own virtual environment,
created on first use at --evidently-venv (default /tmp/mlci-bench-evidently)
with `pip install evidently==0.7.23 'pandas<3'` from PyPI; `--no-evidently`
skips it. mlci and the scipy loop run in this Python.

Speed: the reference and current tables are written once as Parquet files in a
temp folder; each contender then runs in its own child process that reads both
files and judges every column, so that its wall time includes reading and its
peak memory (the child's VmHWM, its high-water resident set) is its own:

  1. mlci: the CLI, `mlci compare --drift --reference A --current B`, which
     reads the two Parquet files one column at a time and tests each column as
     it arrives, and writes its result document; reading is not timed separately.
  2. scipy loop: the same choice of test per column, computed the plain way —
     `scipy.stats.wasserstein_distance` / `ks_2samp` on the raw columns,
     value counts and `jensenshannon` / `chi2_contingency` for categories.
  3. Evidently's DataDriftPreset (legacy Report API), in its environment.

Every contender's per-column verdicts are compared with mlci's, and Evidently's
per-column values (drift_score) with mlci's (value) within 1e-6. "ratio" is the
contender's time (or memory) divided by mlci's. Goals (issue 3): >= 20x faster
than Evidently, <= 1/4 of its peak memory, every verdict equal; (issue 12) every
value equal.

Parity on a small window (5,000 reference vs 500 current rows by default): there
mlci picks statistical tests where Evidently picks distances (see
`mlci.stats.drift_choice`), so each method is checked on its own: Evidently is
told to use, per column, the method mlci chose, then Jensen-Shannon, PSI,
Wasserstein and KS everywhere they apply. Every value must agree within 1e-6,
except the chi-square, where mlci runs the two-sample test on purpose (Evidently's
is a one-sample goodness-of-fit test that takes the reference as the truth).

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
from dataclasses import dataclass, field
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
EVIDENTLY = ("evidently==0.7.23", "pandas<3")
EVIDENTLY_METHODS = {  # Evidently's display names → mlci's method names
    "Wasserstein distance (normed)": "wasserstein", "Jensen-Shannon distance": "jensenshannon",
    "K-S p_value": "ks", "chi-square p_value": "chisquare", "Z-test p_value": "z", "PSI": "psi",
}
TOLERANCE = 1e-6


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
            "values": {c["column"]: c.get("value") for c in columns},
            "dataset": doc["verdict"] == "fail"}


def run_scipy(ref_path: str, cur_path: str) -> dict[str, Any]:
    import pandas as pd
    from scipy import stats
    from scipy.spatial.distance import jensenshannon

    sys.path.insert(0, str(ROOT))
    from mlci.stats.drift_choice import default_method

    start = time.perf_counter()
    ref, cur = pd.read_parquet(ref_path), pd.read_parquet(cur_path)
    read = time.perf_counter() - start
    verdicts = {}
    for name, kind in kinds(list(ref.columns)).items():  # the plain way, on purpose
        r, c = ref[name].dropna(), cur[name].dropna()
        distinct = pd.concat([r, c]).nunique()
        method = default_method(len(r), len(c), kind, distinct)  # type: ignore[arg-type]
        if method == "wasserstein":
            score = stats.wasserstein_distance(r, c) / max(np.std(r), 0.001)
            verdicts[name] = bool(score >= 0.1)
        elif method == "ks":
            verdicts[name] = bool(stats.ks_2samp(r, c).pvalue <= 0.05)
        else:
            keys = sorted(set(r.unique()) | set(c.unique()))
            rc = r.value_counts().reindex(keys, fill_value=0).to_numpy()
            cc = c.value_counts().reindex(keys, fill_value=0).to_numpy()
            if method == "jensenshannon":
                verdicts[name] = bool(jensenshannon(rc / rc.sum(), cc / cc.sum()) >= 0.1)
            else:
                verdicts[name] = bool(stats.chi2_contingency(np.vstack([rc, cc])).pvalue < 0.05)
    return {"total": time.perf_counter() - start, "read": read, "verdicts": verdicts}


def _evidently_report(ref: Any, cur: Any, numerical: list[str], categorical: list[str],
                      per_column: dict[str, str] | None = None) -> dict[str, Any]:
    """Evidently's DataDriftPreset on two frames: per column its verdict, method, value."""
    try:  # evidently >= 0.7 keeps the report API used here under evidently.legacy
        from evidently.legacy.metric_preset import DataDriftPreset
        from evidently.legacy.pipeline.column_mapping import ColumnMapping
        from evidently.legacy.report import Report
    except ImportError:
        from evidently import ColumnMapping
        from evidently.metric_preset import DataDriftPreset
        from evidently.report import Report

    mapping = ColumnMapping(numerical_features=numerical, categorical_features=categorical,
                            target=None, prediction=None)
    report = Report(metrics=[DataDriftPreset(per_column_stattest=per_column)])
    report.run(reference_data=ref, current_data=cur, column_mapping=mapping)
    for metric in report.as_dict()["metrics"]:
        by_column = metric.get("result", {}).get("drift_by_columns")
        if by_column:
            return {name: {"drifted": bool(v["drift_detected"]), "score": float(v["drift_score"]),
                           "method": EVIDENTLY_METHODS.get(v["stattest_name"],
                                                           v["stattest_name"])}
                    for name, v in by_column.items()}
    return {}


def run_evidently(ref_path: str, cur_path: str) -> dict[str, Any]:
    import pandas as pd

    start = time.perf_counter()
    ref, cur = pd.read_parquet(ref_path), pd.read_parquet(cur_path)
    read = time.perf_counter() - start
    kind = kinds(list(ref.columns))
    found = _evidently_report(ref, cur, [c for c, k in kind.items() if k == "numeric"],
                              [c for c, k in kind.items() if k == "categorical"])
    return {"total": time.perf_counter() - start, "read": read,
            "verdicts": {name: v["drifted"] for name, v in found.items()},
            "methods": {name: v["method"] for name, v in found.items()},
            "values": {name: v["score"] for name, v in found.items()}}


def run_evidently_rounds(spec_path: str, ref_path: str, cur_path: str) -> dict[str, Any]:
    """The parity rounds: Evidently told which method to use per column."""
    import pandas as pd

    ref, cur = pd.read_parquet(ref_path), pd.read_parquet(cur_path)
    spec = json.loads(Path(spec_path).read_text())
    rounds = []
    for one in spec:  # parity rounds
        columns = list(one["per_column"])
        rounds.append(_evidently_report(ref[columns], cur[columns], one["numerical"],
                                        one["categorical"], one["per_column"]))
    return {"rounds": rounds}


CONTENDERS = {"mlci": run_mlci, "scipy": run_scipy, "evidently": run_evidently,
              "evidently-rounds": run_evidently_rounds}


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


def child(name: str, *paths: str) -> None:
    result = CONTENDERS[name](*paths)
    result["peak_mb"] = peak_mb()
    print(json.dumps(result))


def measure(name: str, *paths: str, python: str | None = None) -> dict[str, Any]:
    """Run one contender in a child process, which reports its own time and peak."""
    proc = subprocess.run([python or sys.executable, __file__, "--child", name, *paths],
                          capture_output=True, text=True)
    if proc.returncode != 0:
        return {"error": f"failed: {(proc.stderr.strip().splitlines() or ['?'])[-1][:100]}"}
    result: dict[str, Any] = json.loads(proc.stdout.strip().splitlines()[-1])
    return result


def evidently_python(venv: Path, install: bool) -> tuple[str | None, str]:
    """The Python of Evidently's own environment, created with pip when missing.
    Returns (python, "") or (None, why it is not measured)."""
    python = venv / "bin" / "python"
    works = python.exists() and subprocess.run(
        [str(python), "-c", "import evidently"], capture_output=True).returncode == 0
    if works:
        return str(python), ""
    if not install:
        return None, "not measured (--no-evidently)"
    print(f"installing {' '.join(EVIDENTLY)} into {venv} ...", flush=True)
    steps = [[sys.executable, "-m", "venv", str(venv)],
             [str(python), "-m", "pip", "install", "--quiet", *EVIDENTLY]]
    for step in steps:  # create, then install
        proc = subprocess.run(step, capture_output=True, text=True)
        if proc.returncode != 0:
            last = (proc.stderr.strip().splitlines() or ["?"])[-1][:120]
            return None, f"not measured: cannot install Evidently ({last})"
    return str(python), ""


# --- reports -----------------------------------------------------------------------


@dataclass
class Agreement:
    """Per-column values of mlci and Evidently side by side."""

    compared: int = 0
    within: int = 0
    worst: float = 0.0
    by_design: list[str] = field(default_factory=list)  # the chi-square: two-sample in mlci
    others: list[str] = field(default_factory=list)


def value_agreement(ours: dict[str, Any], theirs: dict[str, Any]) -> Agreement:
    """Columns scored by the same method must agree within TOLERANCE; the chi-square
    is set apart (mlci's is the two-sample test, on purpose)."""
    found = Agreement()
    for column, value in ours["values"].items():  # columns
        method, other = ours["methods"][column], theirs["methods"].get(column)
        their_value = theirs["values"].get(column)
        if value is None or their_value is None or method != other:
            found.others.append(f"{column}: mlci {method} {value}, Evidently {other} "
                                f"{their_value}")
            continue
        if method == "chisquare":
            found.by_design.append(f"{column} {value:.4g} vs {their_value:.4g}")
            continue
        diff = abs(float(value) - float(their_value))
        found.compared += 1
        found.worst = max(found.worst, diff)
        if diff <= TOLERANCE:
            found.within += 1
        else:
            found.others.append(f"{column}: {method} mlci {value:.10g}, Evidently "
                                f"{their_value:.10g}")
    return found


def speed(rows: int, skip_scipy: bool, python: str | None, why: str) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        ref_path, cur_path = os.path.join(tmp, "reference.parquet"), os.path.join(tmp,
                                                                                "current.parquet")
        start = time.perf_counter()
        generate(rows, 1, drifted=False).to_parquet(ref_path)
        generate(rows, 2, drifted=True).to_parquet(cur_path)
        print(f"{rows:,} rows x 25 columns per side, written in "
              f"{time.perf_counter() - start:.1f} s; {platform.machine()}, {os.cpu_count()} CPUs, "
              f"Python {platform.python_version()}\n")
        # One contender at a time, largest memory last, so peaks are not shared.
        results = {"mlci": measure("mlci", ref_path, cur_path)}
        if not skip_scipy:
            results["scipy"] = measure("scipy", ref_path, cur_path)
        results["evidently"] = (measure("evidently", ref_path, cur_path, python=python)
                                if python else {"error": why})
    print_speed(results)


def print_speed(results: dict[str, dict[str, Any]]) -> None:
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
    theirs = results.get("evidently", {})
    if "values" in theirs:
        found = value_agreement(ours, theirs)
        print(f"per-column values equal to Evidently's within {TOLERANCE:g}: {found.within} of "
              f"{found.compared} (largest difference {found.worst:.1e})")
        for line in found.others + [f"{c} (chi-square, two-sample by design)"
                                    for c in found.by_design]:
            print(f"  differs: {line}")


# --- parity on a small window -------------------------------------------------------


def parity_rounds(columns: list[str], picks: dict[str, str]) -> list[dict[str, Any]]:
    """Per round, the method for each column it applies to and Evidently's column types
    (a numeric column tested by chi-square or z is given to Evidently as categorical,
    the only type it allows those tests on; its value counts are the same)."""
    kind = kinds(columns)
    numeric = [c for c in columns if kind[c] == "numeric"]
    chosen = {"mlci's pick": picks,
              "jensenshannon": dict.fromkeys(columns, "jensenshannon"),
              "psi": dict.fromkeys(columns, "psi"),
              "wasserstein": dict.fromkeys(numeric, "wasserstein"),
              "ks": dict.fromkeys(numeric, "ks")}
    rounds = []
    for name, per_column in chosen.items():  # rounds
        as_category = {c for c, m in per_column.items()
                       if kind[c] == "categorical" or m in ("chisquare", "z")}
        rounds.append({"name": name, "per_column": per_column,
                       "numerical": [c for c in per_column if c not in as_category],
                       "categorical": [c for c in per_column if c in as_category]})
    return rounds


def parity(n_ref: int, n_cur: int, python: str | None, why: str) -> None:
    sys.path.insert(0, str(ROOT))
    from mlci.stats.drift import column_drift

    print(f"\nParity on a small window: {n_ref:,} reference vs {n_cur:,} current rows")
    if python is None:
        print(f"Evidently {why}")
        return
    with tempfile.TemporaryDirectory() as tmp:
        ref_path, cur_path = os.path.join(tmp, "ref.parquet"), os.path.join(tmp, "cur.parquet")
        spec_path = os.path.join(tmp, "rounds.json")
        ref, cur = generate(n_ref, 3, drifted=False), generate(n_cur, 4, drifted=True)
        ref.to_parquet(ref_path)
        cur.to_parquet(cur_path)
        kind = kinds(list(ref.columns))

        def judge(column: str, method: Any = None) -> Any:
            return column_drift(ref[column], cur[column], column=column,
                                kind=kind[column], method=method)  # type: ignore[arg-type]

        picks = {c: str(judge(c).method) for c in ref.columns}
        rounds = parity_rounds(list(ref.columns), picks)
        Path(spec_path).write_text(json.dumps(rounds))
        theirs = measure("evidently-rounds", spec_path, ref_path, cur_path, python=python)
    if "error" in theirs:
        print(f"Evidently {theirs['error']}")
        return
    print(f"\n| round | values within {TOLERANCE:g} | largest difference | chi-square "
          "(mlci: two-sample, by design) | other differences |\n|---|---:|---:|---|---|")
    for one, found in zip(rounds, theirs["rounds"], strict=True):
        results = {c: judge(c, m) for c, m in one["per_column"].items()}
        ours = {"values": {c: r.score for c, r in results.items()},
                "methods": {c: r.method for c, r in results.items()}}
        theirs_round = {"values": {c: v["score"] for c, v in found.items()},
                        "methods": {c: v["method"] for c, v in found.items()}}
        found = value_agreement(ours, theirs_round)
        print(f"| {one['name']} | {found.within} of {found.compared} | {found.worst:.1e} | "
              f"{'; '.join(found.by_design) or '-'} | {'; '.join(found.others) or 'none'} |")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--skip-scipy", action="store_true")
    parser.add_argument("--parity-only", action="store_true", help="skip the speed run")
    parser.add_argument("--parity-rows", type=int, nargs=2, default=(5000, 500),
                        metavar=("REFERENCE", "CURRENT"))
    parser.add_argument("--evidently-venv", type=Path,
                        default=Path(tempfile.gettempdir()) / "mlci-bench-evidently")
    parser.add_argument("--no-evidently", action="store_true")
    parser.add_argument("--child", nargs="+", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(*args.child)
        return
    python, why = evidently_python(args.evidently_venv, not args.no_evidently)
    if not args.parity_only:
        speed(args.rows, args.skip_scipy, python, why)
    parity(*args.parity_rows, python, why)


if __name__ == "__main__":
    main()
