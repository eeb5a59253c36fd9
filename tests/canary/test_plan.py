"""`mlci canary plan`: traffic steps as files and outputs a deploy tool consumes."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml


def test_plan_writes_json_yaml_and_outputs(mlci: Any, workdir: Path) -> None:
    run = mlci("canary", "plan", "--steps", "5,25,50,100")
    assert run.exit_code == 0, run.stderr
    doc = json.loads((run.out / "canary-plan.json").read_text())
    assert doc["schema"] == "mlci/canary-plan/v1"
    assert doc["weights"] == [5, 25, 50, 100]
    assert doc["steps"][0] == {"step": 1, "weight": 5,
                               "traffic_split": {"canary": 5, "stable": 95},
                               "file": "canary-plan/canary-5.yml", "last": False}
    assert doc["steps"][-1]["last"] is True
    first = (run.out / "canary-plan" / "canary-5.yml").read_text()
    assert first == ("# step 1: 5% of traffic to the canary\n"
                     "traffic_split:\n  canary: 5\n  stable: 95\n")
    assert yaml.safe_load(first) == {"traffic_split": {"canary": 5, "stable": 95}}
    assert sorted(p.name for p in (run.out / "canary-plan").iterdir()) == [
        "canary-100.yml", "canary-25.yml", "canary-5.yml", "canary-50.yml"]
    outputs = (run.out / "canary-plan.env").read_text()
    assert "WEIGHTS=[5, 25, 50, 100]" in outputs
    assert "step  canary  stable  file" in run.stdout


def test_plan_outputs_on_github_feed_a_matrix(mlci: Any, workdir: Path) -> None:
    output = workdir / "github_output"
    run = mlci("canary", "plan", "--steps", "10 50 100",
               env={"GITHUB_ACTIONS": "true", "GITHUB_OUTPUT": str(output)})
    assert run.exit_code == 0
    lines = output.read_text().splitlines()
    weights = lines[lines.index(next(line for line in lines if line.startswith("weights<<"))) + 1]
    assert json.loads(weights) == [10, 50, 100]


def test_steps_from_the_config_and_out_before_the_subcommand(
        mlci: Any, write_config: Callable[..., Path], workdir: Path) -> None:
    write_config("version: 1\ncanary:\n  steps: [20, 100]\n")
    run = mlci("canary", "--out", "deploy", "plan")
    assert run.exit_code == 0, run.stderr
    assert json.loads((workdir / "deploy" / "canary-plan.json").read_text())["weights"] == [20,
                                                                                         100]


def test_a_new_plan_replaces_the_old_step_files(mlci: Any) -> None:
    mlci("canary", "plan", "--steps", "5,25,50,100")
    run = mlci("canary", "plan", "--steps", "50,100")
    assert sorted(p.name for p in (run.out / "canary-plan").iterdir()) == ["canary-100.yml",
                                                                         "canary-50.yml"]


@pytest.mark.parametrize(("steps", "message"), [
    ("5,3", "--steps: 3 after 5; each step must send more traffic to the canary"),
    ("0,50", "--steps: '0' is not a percentage of traffic"),
    ("5,150", "--steps: '150' is not a percentage of traffic"),
    ("five", "--steps: 'five' is not a percentage of traffic"),
])
def test_bad_steps_exit_2(steps: str, message: str, mlci: Any) -> None:
    run = mlci("canary", "plan", "--steps", steps)
    assert run.exit_code == 2
    assert message in run.stderr
    assert not (run.out / "canary-plan.json").exists()


def test_no_steps_anywhere_exits_2(mlci: Any) -> None:
    run = mlci("canary", "plan")
    assert run.exit_code == 2
    assert "no steps: pass --steps 5,25,50,100 or set canary.steps in the config" in run.stderr


def test_a_plan_is_not_a_judgement_so_it_writes_no_result_document(mlci: Any) -> None:
    """Only the plan, its step files and the CI outputs: no canary-plan.json result,
    JUnit or summary that `report` or `promote --require` could take for a verdict."""
    run = mlci("canary", "plan", "--steps", "5,100")
    assert run.exit_code == 0, run.stderr
    assert sorted(p.name for p in run.out.iterdir()) == ["canary-plan", "canary-plan.env",
                                                         "canary-plan.json"]
    assert json.loads((run.out / "canary-plan.json").read_text())["schema"] == (
        "mlci/canary-plan/v1")
    assert run.stdout.endswith("wrote .mlci/canary-plan.json and 2 traffic_split file(s) in "
                               ".mlci/canary-plan\n")
    report = mlci("report")
    assert report.exit_code == 0
    assert report.stdout.startswith("mlci report: WARN — no result documents found in .mlci\n")


def test_an_out_folder_under_a_file_exits_2_naming_it(mlci: Any, workdir: Path) -> None:
    (workdir / "deploy").write_text("not a folder")
    run = mlci("canary", "plan", "--steps", "5,100", "--out", "deploy/plan")
    assert run.exit_code == 2
    assert run.stderr == ("mlci canary plan: error: --out deploy/plan: cannot write there "
                          "(deploy is a file, not a folder); expected a folder mlci can create "
                          "and write to\n")


def test_a_config_named_but_missing_is_bad_usage_even_with_steps(mlci: Any) -> None:
    """The runner loads the config for every step and mode: a --config that names no
    file is a typo to fix, not something to ignore because --steps was given."""
    run = mlci("canary", "plan", "--steps", "5,100", "--config", "mlci-deploy.yml")
    assert run.exit_code == 2
    assert "mlci-deploy.yml: config file not found" in run.stderr
    assert not (run.out / "canary-plan.json").exists()
