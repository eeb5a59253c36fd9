"""`mlci canary` through the CLI: inputs (wide, long; CSV, Parquet, JSON Lines),
the result document, and bad input (exit 2 naming what to fix)."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

from mlci import schemas

RNG = np.random.default_rng(7)
N = 400
STABLE = pd.DataFrame({"latency_ms": RNG.lognormal(4, 0.3, N).round(3),
                       "errors": RNG.binomial(200, 0.01, N), "requests": 200,
                       "cpu": RNG.normal(50, 5, N).round(2)})
GOOD = pd.DataFrame({"latency_ms": RNG.lognormal(4, 0.3, N).round(3),
                     "errors": RNG.binomial(200, 0.01, N), "requests": 200,
                     "cpu": RNG.normal(50, 5, N).round(2)})
SLOW = GOOD.assign(latency_ms=(GOOD["latency_ms"] * 1.5).round(3))

CONFIG = """
version: 1
canary:
  metrics:
    latency_ms:
      direction: increase
      allowed_increase: 10%
    error_rate:
      direction: increase
      events: errors
      trials: requests
      critical: true
    cpu: {}
"""

Write = Callable[..., Path]


def long(frame: pd.DataFrame, side: str | None = None) -> pd.DataFrame:
    melted = frame.melt(var_name="metric", value_name="value")
    return melted if side is None else melted.assign(side=side)


def test_good_canary_passes_with_a_result_document(write_config: Write, write_table: Write,
                                                   mlci: Any) -> None:
    write_config(CONFIG)
    write_table(STABLE, "stable.csv")
    write_table(GOOD, "canary.csv")
    run = mlci("canary", "--stable", "stable.csv", "--canary", "canary.csv",
               "--model", "models:/fraud/7", "--weight", "25")
    assert run.exit_code == 0, run.stderr
    doc = run.doc("canary")
    assert not list(schemas.validator(schemas.RESULT).iter_errors(doc))
    assert (doc["verdict"], doc["score"], doc["traffic"]) == (
        "pass", 100.0, {"canary": 25, "stable": 75})
    assert [c["name"] for c in doc["checks"]] == ["latency_ms", "error_rate", "cpu",
                                                  "canary score"]
    assert doc["subject"]["model"] == "models:/fraud/7"
    assert set(doc["subject"]["inputs"]) == {"stable", "canary"}
    rate = doc["checks"][1]
    assert (rate["test"], rate["value"], rate["baseline"]) == (
        "two-proportion", GOOD["errors"].sum() / (200 * N), STABLE["errors"].sum() / (200 * N))
    latency = doc["checks"][0]
    assert latency["source"] == {"file": "mlci.yml", "line": 4}
    assert (run.out / "canary.env").read_text().count("SCORE=100") == 1


def test_slow_canary_fails_on_latency(write_config: Write, write_table: Write,
                                      mlci: Any) -> None:
    write_config(CONFIG)
    write_table(STABLE, "stable.parquet")
    write_table(SLOW, "canary.parquet")
    run = mlci("canary", "--stable", "stable.parquet", "--canary", "canary.parquet")
    assert run.exit_code == 1
    doc = run.doc("canary")
    latency = doc["checks"][0]
    assert (doc["verdict"], doc["score"]) == ("fail", 66.67)
    assert (latency["status"], latency["classification"]) == ("fail", "High")
    assert latency["ci"][0] > latency["threshold"] > 0
    assert "FAIL  latency_ms: High: canary is higher" in run.stdout


def test_one_long_file_holds_both_sides(write_config: Write, write_table: Write,
                                        mlci: Any) -> None:
    write_config(CONFIG)
    both = pd.concat([long(STABLE, "stable"), long(SLOW, "Canary")], ignore_index=True)
    write_table(both, "samples.jsonl")
    run = mlci("canary", "--stable", "samples.jsonl", "--canary", "samples.jsonl")
    assert run.exit_code == 1
    checks = {c["name"]: c for c in run.doc("canary")["checks"]}
    assert checks["latency_ms"]["classification"] == "High"
    assert checks["latency_ms"]["samples"] == {"canary": N, "stable": N}


def test_long_files_per_side_and_wide_give_the_same_judgement(
        write_config: Write, write_table: Write, mlci: Any) -> None:
    write_config(CONFIG)
    write_table(STABLE, "stable.csv")
    write_table(SLOW, "canary.csv")
    wide = mlci("canary", "--stable", "stable.csv", "--canary", "canary.csv").doc("canary")
    write_table(long(STABLE), "stable-long.csv")
    write_table(long(SLOW), "canary-long.csv")
    run = mlci("canary", "--stable", "stable-long.csv", "--canary", "canary-long.csv")
    assert [(c["status"], c.get("delta"), c.get("ci")) for c in run.doc("canary")["checks"]] == [
        (c["status"], c.get("delta"), c.get("ci")) for c in wide["checks"]]


def test_without_metrics_in_the_config_every_numeric_column_is_judged(
        write_table: Write, mlci: Any) -> None:
    write_table(STABLE[["latency_ms", "cpu"]].assign(host="a"), "stable.csv")
    write_table(GOOD[["latency_ms", "cpu"]].assign(host="b"), "canary.csv")
    run = mlci("canary", "--stable", "stable.csv", "--canary", "canary.csv")
    assert run.exit_code == 0
    assert [c["name"] for c in run.doc("canary")["checks"]] == ["latency_ms", "cpu",
                                                              "canary score"]


def test_missing_samples_are_dropped_and_counted(write_config: Write, write_table: Write,
                                                 mlci: Any) -> None:
    write_config(CONFIG)
    gappy = GOOD.astype({"cpu": float})
    gappy.loc[::4, "cpu"] = np.nan
    write_table(STABLE, "stable.csv")
    write_table(gappy, "canary.csv")
    run = mlci("canary", "--stable", "stable.csv", "--canary", "canary.csv")
    cpu = run.doc("canary")["checks"][2]
    assert (cpu["missing"], cpu["samples"]) == ({"canary": 100, "stable": 0},
                                                {"canary": 300, "stable": N})


def test_too_few_samples_warn(write_config: Write, write_table: Write, mlci: Any) -> None:
    write_config("version: 1\ncanary:\n  min_samples: 50\n")
    write_table(STABLE.head(30), "stable.csv")
    write_table(GOOD.head(30), "canary.csv")
    run = mlci("canary", "--stable", "stable.csv", "--canary", "canary.csv")
    assert run.exit_code == 0
    doc = run.doc("canary")
    assert (doc["verdict"], doc["score"]) == ("warn", None)
    assert doc["checks"][0]["classification"] == "NotEnoughData"
    assert "not enough data: 30 canary and 30 stable samples; need 50" in doc["checks"][0][
        "message"]


def test_a_clearly_worse_canary_with_too_few_samples_warns_without_a_score(
        write_config: Write, write_table: Write, workdir: Path, mlci: Any) -> None:
    """Issue 12: this canary is three times as slow, and 20 samples a side once read
    `WARN — score 100`. There is no score to give: warn, empty `score` output, and
    the counts that were had and needed."""
    write_config("version: 1\ncanary:\n  metrics:\n    latency_ms: {direction: increase}\n")
    write_table(STABLE.head(20), "stable.csv")
    write_table(GOOD.head(20).assign(latency_ms=GOOD["latency_ms"].head(20) * 3), "canary.csv")
    output = workdir / "github-output"
    run = mlci("canary", "--stable", "stable.csv", "--canary", "canary.csv",
               env={"GITHUB_ACTIONS": "true", "GITHUB_OUTPUT": str(output)})
    assert run.exit_code == 0, run.stderr
    reason = ("too few samples to judge latency_ms (20 canary and 20 stable samples; needs 50 "
              "per side)")
    assert f"\nmlci canary: WARN — no score → warn: {reason}\n" in run.stdout
    doc = run.doc("canary")
    assert not list(schemas.validator(schemas.RESULT).iter_errors(doc))
    assert (doc["verdict"], doc["score"], doc["summary"]) == ("warn", None,
                                                              f"no score → warn: {reason}")
    score = doc["checks"][-1]
    assert (score["name"], score["status"], score.get("value"), score["message"]) == (
        "canary score", "warn", None, f"no score: {reason}")
    outputs = output.read_text()
    assert "\nwarn\n" in outputs and "score" in outputs
    score_block = outputs[outputs.index("score<<"):].split("\n")
    assert score_block[1] == "", outputs  # the value line: empty, not 0 or 100
    assert "100" not in (run.out / "canary.md").read_text()


@pytest.mark.parametrize(("stable", "canary", "config", "expected"), [
    pytest.param(STABLE, GOOD.drop(columns=["cpu"]), CONFIG,
                 "canary.csv: column 'cpu' not found (metric cpu)", id="unknown-metric"),
    pytest.param(STABLE, GOOD.assign(cpu=GOOD["cpu"].astype(object).where(
        GOOD.index != 3, "fast")), CONFIG,
        "canary.csv: column 'cpu' must be numeric; found 'fast' in row 4", id="non-numeric"),
    pytest.param(STABLE, GOOD.assign(cpu=GOOD["cpu"].where(GOOD.index != 9, np.inf)), CONFIG,
                 "canary.csv: column 'cpu' has 1 infinite value(s), first in row 10",
                 id="infinite"),
    pytest.param(STABLE, GOOD.head(0), CONFIG, "canary.csv: file has no rows", id="empty"),
    pytest.param(STABLE, GOOD.assign(requests=0, errors=0), CONFIG,
                 "canary.csv: rate error_rate: no trials (requests adds up to 0); the side has "
                 "no samples", id="no-trials"),
    pytest.param(STABLE, GOOD.assign(errors=500), CONFIG,
                 "events out of 80000 trials; events cannot exceed trials", id="events>trials"),
    pytest.param(STABLE, GOOD, "version: 1\ncanary:\n  metrics:\n    cpu: {effect_size: cles, "
                 "allowed_increase: '10%'}\n",
                 "mlci.yml:4: canary.metrics.cpu.allowed_increase: percentages apply to "
                 "effect_size mean_ratio", id="percent-with-cles"),
    pytest.param(STABLE, GOOD, "version: 1\ncanary:\n  groups: {latency: 50}\n  metrics:\n"
                 "    cpu: {group: host}\n",
                 "mlci.yml:3: canary.groups.latency: no metric is in group 'latency'",
                 id="unknown-group"),
    pytest.param(STABLE, GOOD, "version: 1\ncanary:\n  groups: {a: 70, b: 20}\n  metrics:\n"
                 "    cpu: {group: a}\n    latency_ms: {group: b}\n",
                 "mlci.yml:3: canary.groups: weights add up to 90; expected 100", id="weights"),
    pytest.param(STABLE, GOOD, "version: 1\ncanary:\n  pass: 70\n  marginal: 80\n",
                 "mlci.yml:4: canary.marginal: 80 is above pass (70)", id="thresholds"),
    pytest.param(STABLE, GOOD, "version: 1\ncanary:\n  metrics:\n    cpu: {direction: up}\n",
                 "canary.metrics.cpu.direction: 'up' is not one of increase, decrease, either",
                 id="schema"),
])
def test_bad_input_exits_2_naming_the_problem(stable: pd.DataFrame, canary: pd.DataFrame,
                                              config: str, expected: str, write_config: Write,
                                              write_table: Write, workdir: Path,
                                              mlci: Any) -> None:
    write_config(config)
    write_table(stable, "stable.csv")
    if len(canary):
        write_table(canary, "canary.csv")
    else:
        (workdir / "canary.csv").write_text(",".join(canary.columns) + "\n")
    run = mlci("canary", "--stable", "stable.csv", "--canary", "canary.csv")
    assert run.exit_code == 2, run.stdout
    assert expected in run.stderr
    assert not (run.out / "canary.json").exists()


def test_a_side_with_no_samples_in_a_long_file(write_config: Write, write_table: Write,
                                               mlci: Any) -> None:
    write_config(CONFIG)
    write_table(long(STABLE, "stable"), "samples.csv")
    run = mlci("canary", "--stable", "samples.csv", "--canary", "samples.csv")
    assert run.exit_code == 2
    assert ("samples.csv: no rows with side 'canary' (the canary side has no samples); sides "
            "present: stable") in run.stderr
    write_table(pd.concat([long(STABLE, "stable"), long(GOOD.drop(columns="cpu"), "canary")]),
                "samples.csv")
    run = mlci("canary", "--stable", "samples.csv", "--canary", "samples.csv")
    assert run.exit_code == 2
    assert "samples.csv: no rows with metric 'cpu' and side 'canary' (metric cpu)" in run.stderr


def test_sides_must_have_the_same_metrics_when_none_are_listed(write_table: Write,
                                                               mlci: Any) -> None:
    write_table(STABLE[["cpu", "latency_ms"]], "stable.csv")
    write_table(GOOD[["cpu"]], "canary.csv")
    run = mlci("canary", "--stable", "stable.csv", "--canary", "canary.csv")
    assert run.exit_code == 2
    assert ("metric 'latency_ms' is in stable.csv (the stable side) but not in canary.csv"
            in run.stderr)


def test_usage_errors(mlci: Any) -> None:
    run = mlci("canary", "--stable", "stable.csv")
    assert run.exit_code == 2
    assert "canary needs --canary (or a subcommand: plan)" in run.stderr
    run = mlci("canary", "--stable", "a.csv", "--canary", "b.csv", "--weight", "0")
    assert run.exit_code == 2


def test_help_has_worked_examples(mlci: Any) -> None:
    run = mlci("canary", "--help")
    assert run.exit_code == 0
    assert "mlci canary --stable metrics/stable.csv --canary metrics/canary.csv" in run.stdout
    assert "plan" in run.stdout
    assert "mlci canary plan --steps 5,25,50,100" in mlci("canary", "plan", "--help").stdout


def test_importing_the_command_stays_light() -> None:
    import subprocess
    import sys

    code = ("import sys, mlci.commands.canary; "
            "print(json.dumps(sorted(m for m in ('pandas', 'scipy', 'requests', 'numpy', "
            "'mlflow') if m in sys.modules)))")
    out = subprocess.run([sys.executable, "-c", "import json; " + code], check=True,
                         capture_output=True, text=True).stdout
    assert json.loads(out) == []


def test_the_report_shows_a_canary_without_a_score_as_warn_with_no_number(
        write_config: Write, write_table: Write, mlci: Any) -> None:
    write_config("version: 1\n")
    write_table(STABLE.head(10), "stable.csv")
    write_table(GOOD.head(10).assign(latency_ms=GOOD["latency_ms"].head(10) * 3), "canary.csv")
    assert mlci("canary", "--stable", "stable.csv", "--canary", "canary.csv").exit_code == 0
    report = mlci("report")
    assert report.exit_code == 0, report.stderr
    text = (report.out / "report.md").read_text()
    assert "#### ⚠️ canary: warn\n\nno score → warn: too few samples to judge latency_ms " in text
    score_row = next(line for line in text.splitlines() if "| canary score |" in line)
    assert score_row.startswith("| ⚠️ | canary score |  |  |  | 95 | no score: "), score_row
