"""`mlci compare --drift` through the CLI: a small current window, an identifier column,
missing values that jump (issue 12, items 8 and 9)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

from mlci import schemas


def _tables(rng: np.random.Generator, n: int, null_share: float) -> pd.DataFrame:
    x = rng.normal(size=n)
    x[rng.random(n) < null_share] = np.nan
    return pd.DataFrame({"order_id": [f"o{v:010d}" for v in rng.integers(0, 10**9, n)],
                         "x": x, "plan": rng.choice(["basic", "pro", "team"], n)})


@pytest.mark.parametrize("suffix", ["csv", "parquet"])
def test_small_window_ids_and_missing_values(write_config: Callable[..., Path],
                                             write_table: Callable[..., Path], mlci: Any,
                                             suffix: str) -> None:
    write_config("version: 1\ndrift:\n  share: 0.5\n")
    rng = np.random.default_rng(1)
    write_table(_tables(rng, 5000, 0.0), f"ref.{suffix}")
    write_table(_tables(rng, 150, 0.5), f"cur.{suffix}")
    run = mlci("compare", "--drift", "--reference", f"ref.{suffix}", "--current",
               f"cur.{suffix}")
    doc = run.doc("drift")
    assert not list(schemas.validator(schemas.RESULT).iter_errors(doc))
    checks = {c["name"]: c for c in doc["checks"]}
    assert list(checks) == ["dataset drift", "drift:order_id", "drift:x", "missing:x",
                            "drift:plan"]
    assert (run.exit_code, doc["verdict"]) == (0, "warn")
    assert checks["dataset drift"]["message"] == (
        "0 of 2 columns drifted (0%); dataset drift not detected (threshold 50%); 1 column not "
        "tested; 1 column with a changed share of missing values")
    assert checks["dataset drift"]["columns_missing_changed"] == 1
    ids = checks["drift:order_id"]
    assert (ids["status"], ids["method"], "value" in ids) == ("skip", None, False)
    assert ids["message"].startswith("order_id: looks like an identifier (5,000 distinct")
    # 5,000 vs ~75 rows: a test, not Evidently's Wasserstein
    assert (checks["drift:x"]["method"], checks["drift:x"]["status"]) == ("ks", "pass")
    assert checks["drift:plan"]["method"] == "chisquare"
    missing = checks["missing:x"]
    assert (missing["status"], missing["threshold"], missing["null_share"][0]) == (
        "warn", 0.05, 0.0)
    assert missing["value"] == missing["p_value"] < 1e-10
    assert missing["message"].startswith(
        f"x: missing values 0.0% → {100 * missing['null_share'][1]:.1f}%, two-proportion z")


def test_no_missing_values_no_missing_check(write_config: Callable[..., Path],
                                            write_table: Callable[..., Path], mlci: Any) -> None:
    write_config("version: 1\ndrift:\n  exclude: [order_id]\n")
    rng = np.random.default_rng(2)
    write_table(_tables(rng, 3000, 0.0), "ref.csv")
    write_table(_tables(rng, 3000, 0.0), "cur.csv")
    run = mlci("compare", "--drift", "--reference", "ref.csv", "--current", "cur.csv")
    checks = {c["name"]: c for c in run.doc("drift")["checks"]}
    assert list(checks) == ["dataset drift", "drift:x", "drift:plan"]
    assert (checks["drift:x"]["method"], checks["drift:plan"]["method"]) == (
        "wasserstein", "jensenshannon")
    assert checks["drift:x"]["null_share"] == [0.0, 0.0]
    assert run.exit_code == 0


def test_an_id_column_can_be_tested_when_asked(write_config: Callable[..., Path],
                                               write_table: Callable[..., Path],
                                               mlci: Any) -> None:
    write_config("version: 1\ndrift:\n  columns: [order_id]\n  methods: {order_id: psi}\n")
    rng = np.random.default_rng(3)
    write_table(_tables(rng, 400, 0.0), "ref.csv")
    write_table(_tables(rng, 400, 0.0), "cur.csv")
    run = mlci("compare", "--drift", "--reference", "ref.csv", "--current", "cur.csv")
    check = {c["name"]: c for c in run.doc("drift")["checks"]}["drift:order_id"]
    # two samples of unique IDs share nothing: PSI sees a complete change
    assert (check["method"], check["status"], run.exit_code) == ("psi", "warn", 1)


def test_a_drift_run_that_tests_no_column_is_not_a_pass(write_config: Callable[..., Path],
                                                        write_table: Callable[..., Path],
                                                        mlci: Any) -> None:
    """Every column excluded (or untestable): nothing was judged, so exit 2 and no
    document, unless --allow-empty says that is what the user wants."""
    write_config("version: 1\ndrift:\n  exclude: [a, b]\n")
    write_table({"a": [1, 3], "b": [2, 4]}, "ref.csv")
    write_table({"a": [1, 3], "b": [2, 4]}, "cur.csv")
    run = mlci("compare", "--drift", "--reference", "ref.csv", "--current", "cur.csv")
    assert run.exit_code == 2
    assert "nothing to check: every check was skipped (dataset drift: no column could be " \
        "tested for drift)" in run.stderr
    assert not (run.out / "drift.json").exists()
    allowed = mlci("compare", "--drift", "--reference", "ref.csv", "--current", "cur.csv",
                   "--allow-empty")
    assert allowed.exit_code == 0 and allowed.doc("drift")["verdict"] == "skip"
