"""`mlci compare` through the CLI: sources, pairing, verdicts and bad input."""

from __future__ import annotations

import json
import subprocess
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

CONFIG = """
version: 1
task: binary
columns:
  id: row
compare:
  metrics: [accuracy]
  resamples: 500
  seed: 3
"""


def predictions(n: int, wrong: float, seed: int = 0) -> pd.DataFrame:
    """n rows, a share `wrong` of them mispredicted (chosen at random)."""
    rng = np.random.default_rng(seed)
    y = rng.integers(0, 2, n)
    pred = np.where(rng.random(n) < wrong, 1 - y, y)
    return pd.DataFrame({"row": np.arange(n), "y_true": y, "y_pred": pred,
                         "y_score": np.clip(pred * 0.8 + 0.1, 0, 1)})


@pytest.fixture
def case(write_config: Callable[..., Path],
         write_table: Callable[..., Path]) -> Callable[..., None]:
    def make(candidate: pd.DataFrame, baseline: pd.DataFrame, config: str = CONFIG) -> None:
        write_config(config)
        write_table(candidate, "cand.csv")
        write_table(baseline, "base.csv")

    return make


def test_identical_models_pass(case: Callable[..., None], mlci: Any) -> None:
    """No disagreement on 1,000 rows bounds the population's at about 0.3 %: not worse
    by 0.005. The interval is the score interval of paired proportions, not resampled."""
    frame = predictions(1000, 0.1)
    case(frame, frame)
    run = mlci("compare", "--candidate", "cand.csv", "--baseline", "base.csv")
    assert run.exit_code == 0
    check = run.doc("compare")["checks"][0]
    assert (check["name"], check["status"], check["delta"], check["method"]) == (
        "accuracy", "pass", 0.0, "score-scas")
    assert check["ci"] == pytest.approx([-0.0032704194534, 0.0032704194534], abs=1e-12)
    assert (check["threshold"], check["p_value"], check["test"]) == (-0.005, 1.0, "mcnemar-exact")
    assert "resamples" not in check
    assert run.doc("compare")["paired"] is True


def test_identical_models_on_few_rows_are_inconclusive(case: Callable[..., None],
                                                       mlci: Any) -> None:
    """No disagreement on 300 rows still allows about 1 % in the population, more than
    the margin: the bootstrap said [0, 0] and passed; the score interval says so."""
    frame = predictions(300, 0.1)
    case(frame, frame)
    run = mlci("compare", "--candidate", "cand.csv", "--baseline", "base.csv")
    assert run.exit_code == 0
    check = run.doc("compare")["checks"][0]
    assert check["status"] == "warn"
    assert check["ci"] == pytest.approx([-0.0108931061, 0.0108931061], abs=1e-9)
    assert check["rows_needed"] > 1000


def test_model_names_the_subject(case: Callable[..., None], mlci: Any, workdir: Path) -> None:
    from mlci.lineage.digest import model_digest

    frame = predictions(100, 0.1)
    case(frame, frame)
    (workdir / "model").mkdir()
    (workdir / "model" / "MLmodel").write_text("flavors: {}\n")
    run = mlci("compare", "--candidate", "cand.csv", "--baseline", "base.csv", "--model", "model")
    subject = run.doc("compare")["subject"]
    assert (subject["model"], subject["model_digest"]) == ("model", model_digest("model"))
    assert sorted(subject["inputs"]) == ["baseline", "candidate"]


def test_much_worse_candidate_fails(case: Callable[..., None], mlci: Any) -> None:
    base = predictions(2000, 0.05)
    cand = base.copy()
    flip = np.random.default_rng(1).random(len(cand)) < 0.15
    cand.loc[flip, "y_pred"] = 1 - cand.loc[flip, "y_pred"]
    case(cand, base)
    run = mlci("compare", "--candidate", "cand.csv", "--baseline", "base.csv")
    assert run.exit_code == 1
    doc = run.doc("compare")
    check = doc["checks"][0]
    assert check["status"] == "fail"
    assert check["ci"][1] < -0.005
    assert check["test"] == "mcnemar-exact"
    assert check["p_value"] < 1e-6
    assert doc["summary"].startswith("candidate is not worse than baseline on 0 of 1 metrics; "
                                     "worse on accuracy")


def test_small_difference_on_few_rows_is_inconclusive(case: Callable[..., None],
                                                      mlci: Any) -> None:
    base = predictions(200, 0.1)
    cand = base.copy()
    cand.loc[:1, "y_pred"] = 1 - cand.loc[:1, "y_pred"]
    case(cand, base)
    run = mlci("compare", "--candidate", "cand.csv", "--baseline", "base.csv")
    assert run.exit_code == 0
    check = run.doc("compare")["checks"][0]
    assert check["status"] == "warn"
    assert check["rows_needed"] > 200


def test_pairing_by_id_ignores_row_order(case: Callable[..., None], mlci: Any) -> None:
    base = predictions(300, 0.1)
    cand = base.copy()
    cand.loc[:20, "y_pred"] = 1 - cand.loc[:20, "y_pred"]
    case(cand, base)
    ordered = mlci("compare", "--candidate", "cand.csv", "--baseline", "base.csv").doc("compare")
    base.sample(frac=1, random_state=5).to_csv("base.csv", index=False)
    shuffled = mlci("compare", "--candidate", "cand.csv", "--baseline", "base.csv").doc("compare")
    assert shuffled["checks"][0]["ci"] == ordered["checks"][0]["ci"]
    assert shuffled["checks"][0]["delta"] == ordered["checks"][0]["delta"]


def test_metrics_json_baseline_is_unpaired(case: Callable[..., None], mlci: Any,
                                           workdir: Path) -> None:
    frame = predictions(400, 0.1)
    case(frame, frame)
    (workdir / "metrics.json").write_text(json.dumps({"accuracy": 0.5}))
    run = mlci("compare", "--candidate", "cand.csv", "--baseline", "metrics.json")
    doc = run.doc("compare")
    check = doc["checks"][0]
    assert doc["paired"] is False
    assert "ci" not in check
    assert check["baseline"] == 0.5
    assert doc["summary"].endswith("(unpaired: the baseline has point values only, no interval)")


def test_result_document_baseline(case: Callable[..., None], mlci: Any, workdir: Path) -> None:
    frame = predictions(400, 0.1)
    case(frame, frame, CONFIG + "tests:\n  - metric: accuracy\n    min: 0.5\n")
    assert mlci("validate", "--predictions", "base.csv").exit_code == 0
    (workdir / ".mlci" / "validate.json").rename(workdir / "baseline-result.json")
    run = mlci("compare", "--candidate", "cand.csv", "--baseline", "baseline-result.json")
    check = run.doc("compare")["checks"][0]
    assert check["baseline"] == check["value"]
    assert check["paired"] is False


def git(cwd: Path, *args: str) -> str:
    return subprocess.run(["git", *args], cwd=cwd, check=True, capture_output=True,
                          text=True).stdout


def test_git_baseline_in_a_shallow_clone(case: Callable[..., None], mlci: Any, workdir: Path,
                                         tmp_path_factory: pytest.TempPathFactory,
                                         monkeypatch: pytest.MonkeyPatch) -> None:
    origin = tmp_path_factory.mktemp("origin")
    base = predictions(300, 0.1)
    git(origin, "init", "-q", "-b", "main")
    git(origin, "config", "user.email", "t@t")
    git(origin, "config", "user.name", "t")
    base.to_csv(origin / "pred.csv", index=False)
    git(origin, "add", "pred.csv")
    git(origin, "commit", "-qm", "baseline")
    git(origin, "checkout", "-qb", "feature")
    (origin / "other.txt").write_text("x")
    git(origin, "add", "other.txt")
    git(origin, "commit", "-qm", "feature")
    clone = workdir / "clone"
    git(workdir, "clone", "-q", "--depth=1", "--branch", "feature", "--single-branch",
        f"file://{origin}", str(clone))
    case(base, base)
    monkeypatch.chdir(clone)
    (clone / "mlci.yml").write_text(CONFIG)
    base.to_csv(clone / "cand.csv", index=False)
    run = mlci("compare", "--candidate", "cand.csv", "--baseline", "git:origin/main:pred.csv")
    assert run.exit_code == 0, run.stderr
    doc = json.loads((clone / ".mlci" / "compare.json").read_text())
    assert doc["checks"][0]["delta"] == 0.0
    missing = mlci("compare", "--candidate", "cand.csv", "--baseline", "git:origin/nope:p.csv")
    assert (missing.exit_code, missing.stderr) == (
        2, "mlci compare: error: git:origin/nope:p.csv: p.csv not found at origin/nope "
           "(git show origin/nope:p.csv failed, also after fetching the ref)\n")


BAD = [
    ("counts", CONFIG.replace("columns:\n  id: row\n", ""),
     lambda c, b: (c, b.iloc[:-1]),
     "cand.csv has 50 rows but base.csv has 49, and no id column pairs them; set columns.id"),
    ("ids", CONFIG, lambda c, b: (c, b.assign(row=b["row"] + 1)),
     "ids do not match: 1 id(s) of cand.csv are not in base.csv (first: 0) and 1 of base.csv "
     "are not in cand.csv"),
    ("types", CONFIG, lambda c, b: (c, b.assign(y_pred=b["y_pred"].map({0: "no", 1: "yes"}))),
     "base.csv: column 'y_true' holds numeric labels but the predictions hold text labels; "
     "expected the same kind"),
    ("scores", CONFIG.replace("[accuracy]", "[roc_auc]"),
     lambda c, b: (c, b.drop(columns="y_score")),
     "base.csv: the baseline has no scores (column 'y_score'), which roc_auc, log_loss and "
     "brier need"),
    ("rows", CONFIG, lambda c, b: (c.iloc[:1], b.iloc[:1]),
     "cand.csv: a comparison needs at least 2 rows, got 1"),
    ("target", CONFIG, lambda c, b: (c, b.assign(y_true=1 - b["y_true"])),
     "cand.csv and base.csv: column 'y_true' differs in 50 paired row(s) (first: row 1, 1 vs 0)"
     "; expected predictions on the same rows"),
]


@pytest.mark.parametrize(("config", "mutate", "message"), [b[1:] for b in BAD],
                         ids=[b[0] for b in BAD])
def test_bad_input(case: Callable[..., None], mlci: Any, config: str,
                   mutate: Callable[[pd.DataFrame, pd.DataFrame], Any], message: str) -> None:
    frame = predictions(50, 0.1)
    case(*mutate(frame, frame.copy()), config=config)
    run = mlci("compare", "--candidate", "cand.csv", "--baseline", "base.csv")
    assert (run.exit_code, run.stderr) == (2, f"mlci compare: error: {message}\n")


def test_drift(write_config: Callable[..., Path], write_table: Callable[..., Path],
               mlci: Any) -> None:
    write_config("version: 1\ndrift:\n  exclude: [id]\n")
    rng = np.random.default_rng(0)
    ref = pd.DataFrame({"id": range(500), "x": rng.normal(size=500),
                        "c": rng.choice(["a", "b", "c"], 500)})
    cur = ref.assign(x=ref["x"] + 2.0)
    write_table(ref, "ref.parquet")
    write_table(cur, "cur.parquet")
    run = mlci("compare", "--drift", "--reference", "ref.parquet", "--current", "cur.parquet")
    assert run.exit_code == 1
    checks = {c["name"]: c for c in run.doc("drift")["checks"]}
    assert list(checks) == ["dataset drift", "drift:x", "drift:c"]
    assert checks["dataset drift"]["message"] == ("1 of 2 columns drifted (50%); dataset drift "
                                                  "detected (threshold 50%)")
    assert (checks["drift:x"]["status"], checks["drift:x"]["method"]) == ("warn", "ks")
    assert (checks["drift:c"]["status"], checks["drift:c"]["method"]) == ("pass", "chisquare")
    write_table(cur.drop(columns="c"), "cur.parquet")
    missing = mlci("compare", "--drift", "--reference", "ref.parquet", "--current",
                   "cur.parquet")
    assert (missing.exit_code, missing.stderr) == (
        2, "mlci drift: error: drift column 'c' is missing from cur.parquet\n")
    write_table(ref, "ref.csv")
    write_table(cur.drop(columns="c"), "cur.csv")
    missing = mlci("compare", "--drift", "--reference", "ref.csv", "--current", "cur.csv")
    assert (missing.exit_code, missing.stderr) == (
        2, "mlci drift: error: drift column 'c' is missing from cur.csv\n")


def test_without_a_config_the_task_is_inferred(write_table: Callable[..., Path],
                                               mlci: Any) -> None:
    frame = predictions(300, 0.1)
    write_table(frame, "cand.csv")
    write_table(frame, "base.csv")
    run = mlci("compare", "--candidate", "cand.csv", "--baseline", "base.csv", "--seed", "1")
    assert run.exit_code == 0, run.stderr
    doc = run.doc("compare")
    assert (doc["task"], doc["task_inferred"]) == ("binary", True)
    assert [c["name"] for c in doc["checks"]] == ["accuracy", "roc_auc"]


SLICED = """
version: 1
task: binary
columns:
  id: row
compare:
  metrics: [accuracy, roc_auc]
  slices: [site]
  resamples: 500
  seed: 3
"""


def _sites() -> tuple[pd.DataFrame, pd.DataFrame]:
    """300 north rows of both classes; 60 south rows, all positive. The candidate equals
    the baseline in the north and is wrong on every south row."""
    base = predictions(360, 0.1, seed=4)
    base["site"] = ["north"] * 300 + ["south"] * 60
    south = base["site"] == "south"
    base.loc[south, "y_true"] = 1
    base.loc[south, "y_pred"] = 1
    base.loc[south, "y_score"] = 0.9
    cand = base.copy()
    cand.loc[south, "y_pred"] = 0
    cand.loc[south, "y_score"] = 0.1
    return cand, base


def test_a_slice_metric_that_cannot_be_computed_is_skipped_and_the_rest_judged(
        case: Callable[..., None], mlci: Any) -> None:
    import jsonschema

    from mlci.schemas import RESULT, load_schema

    cand, base = _sites()
    case(cand, base, SLICED)
    run = mlci("compare", "--candidate", "cand.csv", "--baseline", "base.csv")
    assert run.exit_code == 1, run.stderr
    doc = run.doc("compare")
    jsonschema.validate(doc, load_schema(RESULT))
    checks = {c["name"]: c for c in doc["checks"]}
    assert list(checks) == ["accuracy", "roc_auc", "accuracy[site=north]",
                            "roc_auc[site=north]", "accuracy[site=south]",
                            "roc_auc[site=south]"]
    skipped = checks["roc_auc[site=south]"]
    assert (skipped["status"], skipped["metric"], skipped["slice"], skipped["n"]) == (
        "skip", "roc_auc", {"column": "site", "value": "south"}, 60)
    assert skipped["message"] == (
        "site=south: cannot compute roc_auc on these 60 rows, so not judged: metric roc_auc "
        "needs both classes in y_true, but all 60 rows are positive (positive label 1)")
    assert "ci" not in skipped and "p_value" not in skipped
    south = checks["accuracy[site=south]"]
    assert (south["status"], south["delta"]) == ("fail", -1.0)
    # the skip is not a hypothesis: Holm's family is the five judged checks
    assert "Holm-adjusted over 5 tests" in south["message"]
    assert doc["verdict"] == "fail"
    assert doc["summary"].endswith(
        "; not judged (cannot be computed) on roc_auc[site=south]")
    assert "worse on " in doc["summary"] and "accuracy[site=south]" in doc["summary"]


def test_a_metric_that_cannot_be_computed_on_the_whole_set_is_bad_input(
        case: Callable[..., None], mlci: Any) -> None:
    frame = predictions(50, 0.1).assign(y_true=1)
    case(frame, frame, CONFIG.replace("[accuracy]", "[accuracy, roc_auc]"))
    run = mlci("compare", "--candidate", "cand.csv", "--baseline", "base.csv")
    assert (run.exit_code, run.stderr) == (
        2, "mlci compare: error: cand.csv: metric roc_auc needs both classes in y_true, but "
           "all 50 rows are positive (positive label 1)\n")
    assert not (run.out / "compare.json").exists()


REGRESSION = """
version: 1
task: regression
compare:
  metrics: [mae, r2]
  resamples: 500
  seed: 3
"""


@pytest.mark.parametrize("worse", [0.0, 1e-6])
def test_a_zero_baseline_falls_back_to_the_absolute_margin(
        case: Callable[..., None], mlci: Any, worse: float) -> None:
    """A perfect regressor's mae is 0, and 1 % of 0 is 0: identical models would be
    inconclusive and 1e-6 worse would fail. The margin falls back to the absolute 0.005."""
    rng = np.random.default_rng(0)
    y = rng.normal(size=200)
    base = pd.DataFrame({"y_true": y, "y_pred": y})
    cand = base.assign(y_pred=y + np.r_[worse, np.zeros(199)])
    case(cand, base, REGRESSION)
    run = mlci("compare", "--candidate", "cand.csv", "--baseline", "base.csv")
    assert run.exit_code == 0, run.stderr
    checks = {c["name"]: c for c in run.doc("compare")["checks"]}
    assert (checks["mae"]["status"], checks["mae"]["baseline"], checks["mae"]["threshold"]) == (
        "pass", 0.0, 0.005)
    assert (checks["r2"]["status"], checks["r2"]["threshold"]) == ("pass", -0.01)
