"""Calibration of `compare`'s verdicts: false fails at the margin, coverage, A/A, power.

    python bench/aa_simulation.py            # the tables in docs/compare.md (< 10 min)
    python bench/aa_simulation.py --quick    # fewer sizes and repetitions (under 1 min)
    python bench/aa_simulation.py --reps 10000 --row-reps 3000   # tighter simulated rates

Every verdict below comes from mlci's own code (`paired_bootstrap`, `hypothesis_for`,
`decide` / `decide_family`, the not-worse policy, default margins, 95 %). A "false
fail at the margin" is a `fail` when the true delta sits exactly on the margin
(−0.005 for bounded metrics, 1 % of the baseline for rmse and mae): the one-sided
error the verdict spends, which must be ≤ 2.5 %. Coverage is the share of 95 %
intervals that hold the true delta.

1. Accuracy is computed exactly, not simulated: its interval (SCAS, see
   `mlci.stats.paired_proportions`) and McNemar's test depend only on the counts of
   rows that only one model gets right, so every possible outcome is weighed by its
   multinomial probability. The decision rule used for the weighing (fail ⟺ score
   at the margin < −z and McNemar p < 0.05) is checked against `decide()` outcome
   by outcome in tests/stats/test_calibration.py.
2. The other metrics are simulated: repetitions of an eval set drawn at random, each
   judged as `compare` judges it. The ± column is the Monte-Carlo standard error.
3. A/A (two models of equal quality) and power (a true 2-point accuracy drop) with the
   default metrics of each task, judged together with Holm's adjustment.
4. Drift: per-column false positives of `compare --drift` on undrifted data at small
   current windows (bench/drift_calibration.py, also runnable on its own).
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
from scipy.optimize import brentq
from scipy.special import gammaln, ndtr, ndtri
from scipy.stats import binom, norm

try:
    from mlci.stats import decide_family, hypothesis_for, paired_bootstrap
except ImportError:  # run from a checkout without installing
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
    from mlci.stats import decide_family, hypothesis_for, paired_bootstrap
from mlci.stats.decision import BOUNDED_MARGIN
from mlci.stats.paired_proportions import scas_score

Z95 = float(ndtri(0.975))
SIZES = (20, 50, 100, 200, 500, 1000, 2000, 5000)
QUICK_SIZES = (20, 100, 500, 5000)
DISAGREEMENT = (0.05, 0.10, 0.20)


# --- 1. accuracy, exactly ---------------------------------------------------------


def outcomes(n: int, p10: float, p01: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Every (b, c) — rows only the candidate / only the baseline gets right — with
    probability above 1e-15, and those probabilities (they sum to 1 − 1e-9 or more)."""
    psi = p10 + p01
    d = np.arange(n + 1)
    log_pd = (gammaln(n + 1) - gammaln(d + 1) - gammaln(n - d + 1) + d * np.log(psi)
              + (n - d) * np.log1p(-psi))
    b_list, c_list, w_list = [], [], []
    for discordant in d[log_pd > np.log(1e-15)]:
        b = np.arange(discordant + 1)
        w = np.exp(log_pd[discordant]) * binom.pmf(b, discordant, p10 / psi)
        keep = w > 1e-17
        b_list.append(b[keep])
        c_list.append(discordant - b[keep])
        w_list.append(w[keep])
    return np.concatenate(b_list), np.concatenate(c_list), np.concatenate(w_list)


def accuracy_rates(n: int, psi: float, delta: float, accuracy: float = 0.85,
                   margin: float = BOUNDED_MARGIN) -> tuple[float, float]:
    """(P(fail), P(95 % interval holds delta)) for a true accuracy delta, exactly.
    Concordant rows are split between both-right and both-wrong in the proportion the
    accuracy implies; only the skewness term reads that split."""
    p10, p01 = (psi + delta) / 2.0, (psi - delta) / 2.0
    b, c, w = outcomes(n, p10, p01)
    concordant = n - b - c
    both_right = (accuracy - p10) / (1.0 - psi)
    a = np.round(concordant * both_right)
    d = concordant - a
    at_margin = scas_score(-margin, a, b, c, d)
    mcnemar = np.minimum(1.0, 2.0 * binom.cdf(np.minimum(b, c), b + c, 0.5))
    fail = (at_margin < -Z95) & (mcnemar < 0.05)
    covered = np.abs(scas_score(delta, a, b, c, d)) <= Z95
    return float(w @ fail), float(w @ covered)


def accuracy_table(sizes: tuple[int, ...], scan: list[int]) -> None:
    print("### Accuracy: exact (SCAS score interval + McNemar guard), true delta on the "
          "margin −0.005\n")
    print("| n | " + " | ".join(f"disagree {p:.0%}: false fail / coverage" for p in DISAGREEMENT)
          + " | A/A false fail (10 %) |")
    print("|---:|" + "---:|" * (len(DISAGREEMENT) + 1))
    for n in sizes:
        cells = []
        for psi in DISAGREEMENT:
            fail, cover = accuracy_rates(n, psi, -BOUNDED_MARGIN)
            cells.append(f"{fail:.2%} / {cover:.1%}")
        aa, _ = accuracy_rates(n, 0.10, 0.0)
        print(f"| {n:,} | " + " | ".join(cells) + f" | {aa:.3%} |")
    worst = max((accuracy_rates(n, psi, -BOUNDED_MARGIN)[0], n, psi)
                for n in scan for psi in (0.02, *DISAGREEMENT, 0.30))
    print(f"\nLargest false-fail rate over {len(scan)} sizes from {scan[0]} to {scan[-1]:,} "
          f"and disagreement 2–30 %: {worst[0]:.2%} (n = {worst[1]:,}, "
          f"disagreement {worst[2]:.0%}).")
    power, _ = accuracy_rates(5000, 0.10, -0.02)
    print(f"Power, accuracy alone, true 2-point drop, n = 5,000, 10 % disagreement: "
          f"{power:.1%} (exact).\n")


# --- 2. other metrics, simulated ---------------------------------------------------


def label_cells(metric: str, delta: float, *, task: str = "binary", k: int = 2,
                disagree: float = 0.10, accuracy: float = 0.85,
                positives: float = 0.4) -> np.ndarray:
    """Probabilities of the cells (true, candidate, baseline label) such that the
    population delta of `metric` is `delta`: both models right on `accuracy` −
    `disagree`/2 of the rows of every class, each alone right on about `disagree`/2,
    with mass moved from "only the candidate" to "only the baseline" until the delta
    is reached."""
    true_p = np.array([1 - positives, positives]) if k == 2 else np.full(k, 1.0 / k)

    def cells(shift: float) -> np.ndarray:
        p = np.zeros((k, k, k))
        for t in range(k):
            wrong = (t + 1) % k  # the label a model predicts when it is wrong
            p[t, t, t] = accuracy - disagree / 2
            p[t, t, wrong] = disagree / 2 - shift
            p[t, wrong, t] = disagree / 2 + shift
            p[t, wrong, wrong] = 1 - accuracy - disagree / 2
            p[t] *= true_p[t]
        return p.ravel()

    def gap(shift: float) -> float:
        return population_delta(metric, cells(shift), task, k) - delta

    return cells(brentq(gap, -disagree / 2 + 1e-9, disagree / 2 - 1e-9))


def population_delta(metric: str, probs: np.ndarray, task: str, k: int) -> float:
    """The metric delta of a population given by cell probabilities, computed by mlci's
    own vectorised metric with each cell weighted by its probability."""
    from mlci.stats.units import label_group

    y, pc, pb = rows_of(np.ones(k**3, dtype=int), k)  # one row per cell, in cell order
    group, _ = label_group([metric], y, [pc, pb], task, 1, by_cells=True)
    both = group.stats[metric].values(probs[None, :])[0]
    return float(both[0] - both[1])


def rows_of(counts: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    code = np.repeat(np.arange(k**3), counts)
    t, rest = np.divmod(code, k * k)
    c, b = np.divmod(rest, k)
    return t, c, b


Judged = tuple[bool, bool, str]  # false fail, interval holds the truth, interval method
Judge = Callable[[np.random.Generator, int], "Judged | None"]


def simulate(judge: Judge, n: int, reps: int, seed: int) -> tuple[float, float, int, str]:
    """Share of false fails and of covering intervals over `reps` eval sets, and the
    interval method(s) `compare` chose for them."""
    rng = np.random.default_rng(seed)
    fails = covers = done = 0
    methods: set[str] = set()
    for _ in range(reps):  # independent eval sets, each with its own resamples
        got = judge(rng, n)
        if got is None:  # e.g. a draw with one class only: not a comparison
            continue
        done += 1
        fails += got[0]
        covers += got[1]
        methods.add(got[2])
    return fails / max(done, 1), covers / max(done, 1), done, ", ".join(sorted(methods))


def label_judge(metric: str, task: str, k: int, resamples: int) -> Judge:
    probs = label_cells(metric, -BOUNDED_MARGIN, task=task, k=k)
    true = population_delta(metric, probs, task, k)

    def judge(rng: np.random.Generator, n: int) -> Judged:
        y, pc, pb = rows_of(rng.multinomial(n, probs), k)
        est = paired_bootstrap([metric], y, task=task, candidate_pred=pc, baseline_pred=pb,
                               resamples=resamples, seed=rng)[metric]
        return verdict(est, true)

    return judge


def verdict(est: object, true: float) -> Judged:
    from mlci.stats.estimate import DeltaEstimate

    assert isinstance(est, DeltaEstimate) and est.ci is not None
    made = decide_family([hypothesis_for(est)])[0]
    return made.status == "fail", est.ci[0] <= true <= est.ci[1], est.method


def binormal(rng: np.random.Generator, n: int, auc_delta: float = -BOUNDED_MARGIN,
             rho: float = 0.7, positives: float = 0.4,
             separation: float = 1.5) -> tuple[np.ndarray, np.ndarray, np.ndarray, float]:
    """Scores of two models, normal within each class, correlated ρ: AUC = Φ(μ/√2)."""
    sep_c = np.sqrt(2) * ndtri(ndtr(separation / np.sqrt(2)) + auc_delta)
    y = (rng.random(n) < positives).astype(int)
    z1 = rng.standard_normal(n)
    z2 = rho * z1 + np.sqrt(1 - rho**2) * rng.standard_normal(n)
    true = float(ndtr(sep_c / np.sqrt(2)) - ndtr(separation / np.sqrt(2)))
    return y, 1 / (1 + np.exp(-(z1 + sep_c * y))), 1 / (1 + np.exp(-(z2 + separation * y))), true


def auc_judge(resamples: int) -> Judge:
    def judge(rng: np.random.Generator, n: int) -> Judged | None:
        y, sc, sb, true = binormal(rng, n)
        if y.min() == y.max():
            return None
        est = paired_bootstrap(["roc_auc"], y, task="binary", candidate_score=sc,
                               baseline_score=sb, resamples=resamples, seed=rng)["roc_auc"]
        return verdict(est, true)

    return judge


def regression_judge(metric: str, resamples: int, rho: float = 0.8) -> Judge:
    """Errors normal with correlation ρ, the candidate's 1 % larger: for rmse and mae
    the true delta is then 1 % of the baseline value, the default relative margin."""
    true = 0.01 * (1.0 if metric == "rmse" else np.sqrt(2 / np.pi))

    def judge(rng: np.random.Generator, n: int) -> Judged:
        y = rng.normal(10, 3, n)
        e1 = rng.standard_normal(n)
        e2 = rho * e1 + np.sqrt(1 - rho**2) * rng.standard_normal(n)
        est = paired_bootstrap([metric], y, task="regression", candidate_pred=y + 1.01 * e1,
                               baseline_pred=y + e2, resamples=resamples, seed=rng)[metric]
        return verdict(est, true)

    return judge


def simulated_table(sizes: tuple[int, ...], row_sizes: tuple[int, ...], reps: int,
                    row_reps: int, resamples: int, seed: int) -> None:
    print(f"### Other metrics: simulated, true delta on the margin\n\nfalse fail % / "
          f"coverage % of the 95 % interval; {reps:,} eval sets per cell (rmse and mae "
          f"{row_reps:,}), {resamples:,} resamples. Monte-Carlo standard error of a false-fail "
          f"rate near 2.5 %: ±{100 * np.sqrt(0.025 * 0.975 / reps):.2f} points "
          f"(rmse, mae ±{100 * np.sqrt(0.025 * 0.975 / row_reps):.2f}).\n")
    judges: list[tuple[str, Judge, tuple[int, ...], int]] = [
        (f"{m} (binary)", label_judge(m, "binary", 2, resamples), sizes, reps)
        for m in ("f1", "precision", "recall", "balanced_accuracy")]
    judges.append(("f1 (3 classes)", label_judge("f1", "multiclass", 3, resamples), sizes,
                   reps))
    judges.append(("roc_auc", auc_judge(resamples), sizes, reps))
    judges += [(m, regression_judge(m, resamples), row_sizes, row_reps)
               for m in ("rmse", "mae")]
    print("| metric | method | " + " | ".join(f"n = {n:,}" for n in sizes) + " |")
    print("|---|---|" + "---:|" * len(sizes))
    for index, (label, judge, metric_sizes, metric_reps) in enumerate(judges):
        cells, methods = [], []
        for n in sizes:
            if n not in metric_sizes:
                cells.append("")
                continue
            fail, cover, _, method = simulate(judge, n, metric_reps, seed + 1000 * index + n)
            cells.append(f"{100 * fail:.1f} / {100 * cover:.1f}")
            methods += [m for m in method.split(", ") if m not in methods]
        print(f"| {label} | {', '.join(methods)} | " + " | ".join(cells) + " |", flush=True)
    print()


# --- 3. A/A and power with the default metrics -----------------------------------------


def latent_binary(rng: np.random.Generator, n: int,
                  drop: float) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray,
                                        np.ndarray]:
    """Two models that threshold noisy scores of the truth; noise correlated 0.9, so they
    disagree on about 10 % of rows. The baseline is right on 85 %; the candidate's noise
    is scaled so that it is right on 85 % − drop (its AUC drops with it)."""
    y = rng.integers(0, 2, n)
    signal = 1.0364333894937898  # Φ(signal) = 0.85
    scale = signal / ndtri(0.85 - drop)
    u = rng.standard_normal(n)
    base_noise = u
    cand_noise = scale * (0.9 * u + np.sqrt(1 - 0.81) * rng.standard_normal(n))
    sign = 2 * y - 1
    sb, sc = signal * sign + base_noise, signal * sign + cand_noise
    return y, (sc > 0).astype(int), (sb > 0).astype(int), norm.cdf(sc), norm.cdf(sb)


def family_rate(task: str, n: int, reps: int, drop: float, resamples: int,
                seed: int) -> float:
    """Share of runs with any `fail` among the task's default metrics (Holm)."""
    rng = np.random.default_rng(seed)
    fails = 0
    probs = label_cells("accuracy", -drop, task="multiclass", k=3)
    for _ in range(reps):  # independent eval sets
        if task == "binary":
            y, pc, pb, sc, sb = latent_binary(rng, n, drop)
            est = paired_bootstrap(["accuracy", "roc_auc"], y, task="binary",
                                   candidate_pred=pc, baseline_pred=pb, candidate_score=sc,
                                   baseline_score=sb, resamples=resamples, seed=rng)
        elif task == "multiclass":
            y, pc, pb = rows_of(rng.multinomial(n, probs), 3)
            est = paired_bootstrap(["accuracy", "f1"], y, task="multiclass",
                                   candidate_pred=pc, baseline_pred=pb, resamples=resamples,
                                   seed=rng)
        else:
            y = rng.normal(10, 3, n)
            e1 = rng.standard_normal(n)
            e2 = 0.8 * e1 + 0.6 * rng.standard_normal(n)
            est = paired_bootstrap(["rmse", "mae"], y, task="regression",
                                   candidate_pred=y + e2, baseline_pred=y + e1,
                                   resamples=resamples, seed=rng)
        made = decide_family([hypothesis_for(e) for e in est.values()])
        fails += any(d.status == "fail" for d in made)
    return fails / reps


def family_table(sizes: tuple[int, ...], reps: int, row_reps: int, resamples: int,
                 seed: int) -> None:
    print("### Default metrics together (Holm)\n")
    print("| task (default metrics) | scenario | n | eval sets | runs with a fail |")
    print("|---|---|---:|---:|---:|")
    plan = [("binary", "accuracy, roc_auc", sizes, reps),
            ("multiclass", "accuracy, f1", sizes, reps),
            ("regression", "rmse, mae", tuple(n for n in sizes if n <= 1000), row_reps)]
    for index, (task, names, task_sizes, task_reps) in enumerate(plan):
        for n in task_sizes:
            rate = family_rate(task, n, task_reps, 0.0, resamples, seed + 17 * index + n)
            shown = f"{rate:.1%}" if rate else f"0 (95 % bound {3.0 / task_reps:.1%})"
            print(f"| {task} ({names}) | A/A | {n:,} | {task_reps:,} | {shown} |", flush=True)
    power = family_rate("binary", 5000, reps, 0.02, resamples, seed + 99)
    print(f"| binary (accuracy, roc_auc) | true 2-point accuracy drop | 5,000 | {reps:,} | "
          f"{power:.1%} |")
    print()


def scan_sizes(quick: bool) -> list[int]:
    if quick:
        return sorted(set(np.geomspace(20, 5000, 25).astype(int)))
    return list(range(20, 301)) + sorted(set(np.geomspace(301, 5000, 80).astype(int)))


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer sizes and repetitions")
    parser.add_argument("--reps", type=int,
                        help="eval sets per simulated cell (default 3,000; --quick 300)")
    parser.add_argument("--row-reps", type=int,
                        help="the same for rmse and mae, which resample rows (default 800; "
                             "--quick 100)")
    parser.add_argument("--resamples", type=int, default=2000)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args(argv)
    sizes = QUICK_SIZES if args.quick else SIZES
    reps = args.reps or (300 if args.quick else 3000)
    row_reps = args.row_reps or (100 if args.quick else 800)
    started = time.perf_counter()
    print(f"mlci compare calibration: not-worse, default margins, 95 %; seed {args.seed}\n")
    accuracy_table(sizes, scan_sizes(args.quick))
    print(f"({time.perf_counter() - started:.0f} s)\n")
    simulated_table(sizes, tuple(n for n in sizes if n <= 1000), reps, row_reps,
                    args.resamples, args.seed)
    family_table((100, 5000) if args.quick else (100, 1000, 5000), min(reps, 1000),
                 row_reps, args.resamples, args.seed)
    import drift_calibration  # beside this file: drift's false positives at small windows

    print("\nDrift, 5,000 reference rows vs small current windows (compare --drift):\n")
    print(drift_calibration.main(quick=args.quick))
    print(f"total {time.perf_counter() - started:.0f} s")


if __name__ == "__main__":
    main()
