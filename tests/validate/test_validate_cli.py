"""`mlci validate` through the CLI: verdicts, outputs and exit codes."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from collections.abc import Callable
from pathlib import Path
from typing import Any

import jsonschema
import pytest

from mlci.schemas import RESULT, load_schema
from mlci.validate.metric_checks import NO_PREDICTIONS

BINARY = """
version: 1
task: binary
tests:
  - metric: accuracy
    min: {min_accuracy}
  - metric: recall
    min: 0.5
    slice: group
  - fairness: accuracy
    by: group
    max_gap: 0.5
  - row_count:
      min: 4
  - latency: p95_ms
    max: 10
"""

ROWS = {
    "y_true": [1, 0, 1, 1, 0, 0, 1, 0],
    "y_pred": [1, 0, 1, 0, 0, 0, 1, 1],
    "y_score": [0.9, 0.2, 0.8, 0.4, 0.1, 0.3, 0.7, 0.6],
    "group": ["a", "a", "a", "a", "b", "b", "b", "b"],
}


@pytest.fixture
def binary_case(write_config: Callable[..., Path],
                write_table: Callable[..., Path]) -> Callable[[float], None]:
    def make(min_accuracy: float) -> None:
        write_config(BINARY.format(min_accuracy=min_accuracy))
        write_table(ROWS)

    return make


def test_pass_writes_every_output(binary_case: Callable[[float], None], mlci: Any) -> None:
    binary_case(0.7)
    run = mlci("validate", "--predictions", "predictions.csv")
    assert run.exit_code == 0
    doc = run.doc("validate")
    jsonschema.validate(doc, load_schema(RESULT))
    assert doc["verdict"] == "pass"
    assert doc["summary"] == "5 of 6 checks passed, 1 skipped"
    by_name = {c["name"]: c for c in doc["checks"]}
    assert list(by_name) == ["accuracy", "recall[group=a]", "recall[group=b]",
                             "fairness:accuracy by group", "row_count", "p95_ms"]
    assert by_name["accuracy"]["value"] == 0.75
    assert by_name["accuracy"]["threshold"] == 0.7
    assert by_name["accuracy"]["source"] == {"file": "mlci.yml", "line": 4}
    assert by_name["recall[group=a]"]["slice"] == {"column": "group", "value": "a"}
    assert by_name["recall[group=a]"]["value"] == pytest.approx(2 / 3, abs=1e-12)
    assert by_name["fairness:accuracy by group"]["value"] == 0.0
    assert by_name["p95_ms"]["status"] == "skip"
    assert doc["subject"]["inputs"]["predictions"].startswith("sha256:")
    junit = ET.parse(run.out / "validate.junit.xml").getroot()
    suite = junit.find("testsuite")
    assert suite is not None
    assert (suite.get("tests"), suite.get("failures"), suite.get("skipped")) == ("6", "0", "1")
    assert (run.out / "validate.md").read_text().startswith("### ✅ mlci validate: pass")
    assert (run.out / "validate.env").read_text() == (
        "MLCI_VALIDATE_VERDICT=pass\nMLCI_VALIDATE_RESULT_PATH=.mlci/validate.json\n"
        "MLCI_VALIDATE_JUNIT_PATH=.mlci/validate.junit.xml\n")


def test_failed_test_exits_1_and_names_it(binary_case: Callable[[float], None],
                                          mlci: Any) -> None:
    binary_case(0.8)
    run = mlci("validate", "--predictions", "predictions.csv")
    assert run.exit_code == 1
    doc = run.doc("validate")
    assert doc["verdict"] == "fail"
    failed = [c for c in doc["checks"] if c["status"] == "fail"]
    assert [(c["name"], c["message"]) for c in failed] == [
        ("accuracy", "accuracy 0.75 is below the minimum 0.8")]
    assert "FAIL  accuracy: accuracy 0.75 is below the minimum 0.8" in run.stdout
    junit = (run.out / "validate.junit.xml").read_text()
    assert '<failure message="accuracy 0.75 is below the minimum 0.8">' in junit


def test_github_outputs_summary_and_annotations(binary_case: Callable[[float], None],
                                                mlci: Any, workdir: Path) -> None:
    binary_case(0.8)
    env = {"GITHUB_ACTIONS": "true", "GITHUB_OUTPUT": str(workdir / "out.txt"),
           "GITHUB_STEP_SUMMARY": str(workdir / "summary.md")}
    run = mlci("validate", "--predictions", "predictions.csv", env=env)
    assert run.exit_code == 1
    assert ("::error file=mlci.yml,line=4::mlci validate: accuracy: accuracy 0.75 is below "
            "the minimum 0.8") in run.stdout
    outputs = (workdir / "out.txt").read_text().splitlines()
    assert outputs[0].startswith("verdict<<ghadelimiter_")
    assert outputs[1:3] == ["fail", outputs[0].split("<<")[1]]
    assert "| ❌ | accuracy | 0.75 | 0.8 |" in (workdir / "summary.md").read_text()


def test_options_come_from_environment(binary_case: Callable[[float], None], mlci: Any,
                                       workdir: Path) -> None:
    binary_case(0.7)
    run = mlci("validate", env={"MLCI_PREDICTIONS": "predictions.csv", "MLCI_OUT": "elsewhere"})
    assert run.exit_code == 0
    assert json.loads((workdir / "elsewhere" / "validate.json").read_text())["verdict"] == "pass"


def test_data_only_run_skips_model_tests(write_config: Callable[..., Path],
                                         write_table: Callable[..., Path], mlci: Any) -> None:
    write_config("""
        version: 1
        task: binary
        tests:
          - metric: accuracy
            min: 0.9
          - column: age
            dtype: numeric
            min: 0
            max: 120
            max_null: 0.25
          - column: sex
            allowed: [F, M]
          - column: income
          - column: optional
            required: false
          - row_count: {min: 1, max: 3}
    """)
    write_table({"age": [30, None, 150, 40], "sex": ["F", "M", "X", "F"]}, "data.parquet")
    run = mlci("validate", "--data", "data.parquet")
    assert run.exit_code == 1
    messages = {c["name"]: (c["status"], c["message"]) for c in run.doc("validate")["checks"]}
    assert messages == {
        "accuracy": ("skip", "not run: no predictions (pass --predictions FILE or --model URI "
                             "--data FILE)"),
        "column:age": ("fail", "age: 1 value(s) above the maximum 120 (largest 150)"),
        "column:sex": ("fail", "sex: 1 value(s) not allowed: 'X'"),
        "column:income": ("fail", "required column 'income' is missing from data.parquet"),
        "column:optional": ("skip", "optional column 'optional' is not in data.parquet"),
        "row_count": ("fail", "4 rows is above the maximum 3"),
    }


def test_regression_and_jsonl(write_config: Callable[..., Path],
                              write_table: Callable[..., Path], mlci: Any) -> None:
    write_config("""
        version: 1
        task: regression
        tests:
          - metric: rmse
            max: 1.0
          - metric: r2
            min: 0.5
    """)
    write_table({"y_true": [1.0, 2.0, 3.0, 4.0], "y_pred": [1.5, 2.0, 2.5, 4.0]}, "p.jsonl")
    run = mlci("validate", "--predictions", "p.jsonl")
    assert run.exit_code == 0
    values = {c["name"]: c["value"] for c in run.doc("validate")["checks"]}
    assert values == {"rmse": pytest.approx(0.125 ** 0.5, abs=1e-12), "r2": 0.9}


BAD_INPUT_CONFIG = """
version: 1
task: {task}
tests:
  - metric: {metric}
    min: 0.1
"""


@pytest.mark.parametrize(("task", "metric", "rows", "file", "message"), [
    ("binary", "accuracy", {"y_true": [1, 0], "y_pred": [1, None]}, "p.csv",
     "p.csv: column 'y_pred' has 1 missing value(s) in row(s) 2; expected a label in every row"),
    ("binary", "accuracy", {"y_true": [1, 0], "pred": [1, 0]}, "p.csv",
     "p.csv: column 'y_pred' not found (the prediction, set by columns.prediction); "
     "columns are: y_true, pred"),
    ("binary", "roc_auc", {"y_true": [1, 0], "y_pred": [1, 0]}, "p.csv",
     "p.csv: metric roc_auc needs scores, but column 'y_score' was not found "
     "(set columns.score)"),
    ("binary", "roc_auc", {"y_true": [1, 0], "y_score": [1.2, 0.1]}, "p.csv",
     "p.csv: column 'y_score' has 1 value(s) outside [0, 1] in row(s) 1 (first: 1.2); "
     "expected probabilities"),
    ("binary", "roc_auc", {"y_true": [1, 0], "y_score": [float("inf"), 0.1]}, "p.csv",
     "p.csv: column 'y_score' has 1 inf/missing value(s) in row(s) 1; expected finite numbers"),
    ("regression", "r2", {"y_true": [1.0, float("nan")], "y_pred": [1.0, 2.0]}, "p.csv",
     "p.csv: column 'y_true' has 1 NaN/missing value(s) in row(s) 2; expected finite numbers"),
    ("regression", "r2", {"y_true": ["a", "b"], "y_pred": [1.0, 2.0]}, "p.csv",
     "p.csv: column 'y_true' must be numeric; found 'a' in row(s) 1, 2"),
    ("binary", "rmse", {"y_true": [1, 0], "y_pred": [1, 0]}, "p.csv",
     "mlci.yml: metric rmse is for regression tasks, but task is binary"),
    ("binary", "accuracy", {"y_true": [1, 0, 2], "y_pred": [1, 0, 2]}, "p.csv",
     "p.csv: column 'y_true' has 3 distinct labels (0, 1, 2) but task is binary; "
     "set task: multiclass"),
    ("binary", "accuracy", {"y_true": [0.5, 1.5, 2.7, 3.1, 4.25, 5.0],
                            "y_pred": [0.4, 1.2, 2.5, 3.3, 4.0, 5.1]}, "p.csv",
     "p.csv: column 'y_true' has 6 distinct labels (0.5, 1.5, 2.7, 3.1, 4.25, …) but task is "
     "binary; set task: regression (these are numbers, not class labels)"),
    ("binary", "roc_auc", {"y_true": [1, 1, 1], "y_pred": [1, 1, 0],
                           "y_score": [0.9, 0.8, 0.3]}, "p.csv",
     "p.csv: metric roc_auc needs both classes in y_true, but all 3 rows are positive "
     "(positive label 1)"),
    ("binary", "accuracy", {"y_true": ["yes", "no"], "y_pred": ["yes", "no"]}, "p.csv",
     "p.csv: positive label 1 not found in column 'y_true' (labels: 'no', 'yes'); "
     "set positive_label in the config"),
    ("multiclass", "f1", {"y_true": ["1", "2"], "y_pred": [1, 2]}, "p.csv",
     "p.csv: column 'y_true' holds text labels but the predictions hold numeric labels; "
     "expected the same kind"),
])
def test_bad_input_exits_2_with_one_line(write_config: Callable[..., Path],
                                         write_table: Callable[..., Path], mlci: Any,
                                         task: str, metric: str, rows: dict[str, Any],
                                         file: str, message: str) -> None:
    write_config(BAD_INPUT_CONFIG.format(task=task, metric=metric))
    path = write_table(rows, file)
    if rows["y_true"] == ["1", "2"]:  # keep the labels as text in the file
        path.write_text('y_true,y_pred\n"a1",1\n"a2",2\n')
        message = message.replace("'y_true' holds text", "'y_true' holds text")
    run = mlci("validate", "--predictions", file)
    assert run.exit_code == 2
    assert run.stderr == f"mlci validate: error: {message}\n"
    assert "Traceback" not in run.stdout + run.stderr
    assert not (run.out / "validate.json").exists()


@pytest.mark.parametrize(("content", "message"), [
    (b"", "p.csv: file is empty"),
    (b"y_true,y_pred\n", "p.csv: file has no rows"),
])
def test_empty_files(write_config: Callable[..., Path], workdir: Path, mlci: Any,
                     content: bytes, message: str) -> None:
    write_config(BAD_INPUT_CONFIG.format(task="binary", metric="accuracy"))
    (workdir / "p.csv").write_bytes(content)
    run = mlci("validate", "--predictions", "p.csv")
    assert (run.exit_code, run.stderr) == (2, f"mlci validate: error: {message}\n")


@pytest.mark.parametrize(("args", "message"), [
    (["--predictions", "missing.csv"], "missing.csv: file not found"),
    (["--predictions", "p.txt"], "p.txt: unknown file type '.txt'; expected one of .csv, "
                                 ".json, .jsonl, .ndjson, .parquet, .pq"),
    ([], "nothing to validate: pass --predictions FILE, or --model URI --data FILE, or "
         "--data FILE for data tests only"),
    (["--model", "m/"], "--model needs --data (the rows to run it on) or --predictions (what "
                        "it predicted)"),
    (["--config", "none.yml", "--predictions", "p.txt"],
     "none.yml: config file not found (expected an mlci.yml; pass --config FILE or set "
     "MLCI_CONFIG)"),
])
def test_usage_errors(write_config: Callable[..., Path], workdir: Path, mlci: Any,
                      args: list[str], message: str) -> None:
    write_config(BAD_INPUT_CONFIG.format(task="binary", metric="accuracy"))
    (workdir / "p.txt").write_text("x")
    run = mlci("validate", *args)
    assert (run.exit_code, run.stderr) == (2, f"mlci validate: error: {message}\n")


def test_config_error_is_annotated_on_github(write_config: Callable[..., Path], mlci: Any,
                                             write_table: Callable[..., Path]) -> None:
    write_config("version: 1\ntask: binary\ntests:\n  - metric: acuracy\n    min: 1\n")
    write_table(ROWS)
    run = mlci("validate", "--predictions", "predictions.csv", env={"GITHUB_ACTIONS": "true"})
    assert run.exit_code == 2
    assert run.stdout.startswith("::error file=mlci.yml,line=4::mlci validate: mlci.yml:4: "
                                 "tests[0].metric: 'acuracy' is not one of")


def test_unknown_flag_is_usage_error(mlci: Any) -> None:
    run = mlci("validate", "--predictons", "p.csv")
    assert run.exit_code == 2
    assert "No such option '--predictons'. Did you mean '--predictions'?" in run.stderr


@pytest.mark.parametrize(("rows", "task"), [
    ({"y_true": [0, 1, 1, 0], "y_pred": [0, 1, 0, 0]}, "binary"),
    ({"y_true": ["a", "b", "c", "a"], "y_pred": ["a", "b", "b", "a"]}, "multiclass"),
    ({"y_true": [1.5, 2.0, 3.25, 4.0], "y_pred": [1.0, 2.0, 3.0, 4.0]}, "regression"),
])
def test_task_is_inferred_when_the_config_has_none(write_config: Callable[..., Path],
                                                   write_table: Callable[..., Path], mlci: Any,
                                                   rows: dict[str, Any], task: str) -> None:
    metric = "mae" if task == "regression" else "accuracy"
    write_config(f"version: 1\ntests:\n  - metric: {metric}\n    min: 0\n")
    write_table(rows)
    run = mlci("validate", "--predictions", "predictions.csv")
    assert run.exit_code == 0, run.stderr
    doc = run.doc("validate")
    assert (doc["task"], doc["task_inferred"]) == (task, True)


@pytest.mark.parametrize(("spelled", "labels", "message"), [
    ("yes", ["yes", "no", "yes", "no"],
     "p.csv: positive label True not found in column 'y_true' (labels: 'no', 'yes'); YAML "
     'reads an unquoted yes as true: quote it in the config (positive_label: "yes")'),
    ("No", ["Yes", "No", "Yes", "No"],
     "p.csv: positive label False not found in column 'y_true' (labels: 'No', 'Yes'); YAML "
     'reads an unquoted No as false: quote it in the config (positive_label: "No")'),
    ("on", ["pos", "neg", "pos", "neg"],
     "p.csv: positive label True not found in column 'y_true' (labels: 'neg', 'pos'); "
     "set positive_label in the config"),
])
def test_unquoted_yes_as_positive_label_says_to_quote_it(
        write_config: Callable[..., Path], write_table: Callable[..., Path], mlci: Any,
        spelled: str, labels: list[str], message: str) -> None:
    write_config(f"version: 1\ntask: binary\npositive_label: {spelled}\ntests:\n"
                 "  - metric: recall\n    min: 0.5\n")
    write_table({"y_true": labels, "y_pred": labels}, "p.csv")
    run = mlci("validate", "--predictions", "p.csv")
    assert (run.exit_code, run.stderr) == (2, f"mlci validate: error: {message}\n")
    write_config(f'version: 1\ntask: binary\npositive_label: "{labels[0]}"\ntests:\n'
                 "  - metric: recall\n    min: 0.5\n")
    run = mlci("validate", "--predictions", "p.csv")  # quoted, as the hint says: it runs
    assert run.exit_code == 0, run.stderr
    assert run.doc("validate")["checks"][0]["value"] == 1.0


# --- a run that judged nothing is not a pass ------------------------------------------

# with --data only (no predictions, no model), a metric test cannot run: a skip
METRIC_ONLY = "version: 1\ntask: binary\ntests:\n  - metric: accuracy\n    min: 0.5\n"


def test_no_config_and_no_tests_exits_2_naming_why(write_table: Callable[..., Path],
                                                   mlci: Any) -> None:
    write_table(ROWS)
    run = mlci("validate", "--predictions", "predictions.csv")
    assert (run.exit_code, run.stderr) == (2, (
        "mlci validate: error: nothing to check: no tests configured (add tests to mlci.yml, "
        "or pass --allow-empty to accept a run that judges nothing)\n"))
    assert not (run.out / "validate.json").exists()


def test_only_skipped_checks_exit_2(write_config: Callable[..., Path],
                                    write_table: Callable[..., Path], mlci: Any) -> None:
    write_config(METRIC_ONLY)
    write_table(ROWS)
    run = mlci("validate", "--data", "predictions.csv")
    assert (run.exit_code, run.stderr) == (2, (
        f"mlci validate: error: nothing to check: every check was skipped (accuracy: "
        f"{NO_PREDICTIONS}); give them their inputs, or pass --allow-empty to accept a run "
        "that judges nothing\n"))
    assert not (run.out / "validate.json").exists()
    write_config(METRIC_ONLY + "  - metric: recall\n    min: 0.5\n")
    run = mlci("validate", "--data", "predictions.csv")
    assert run.exit_code == 2
    assert f"(accuracy: {NO_PREDICTIONS}; and 1 more)" in run.stderr


@pytest.mark.parametrize("how", [["--allow-empty"], "MLCI_ALLOW_EMPTY=true",
                                 "MLCI_ALLOW_EMPTY=1"])
@pytest.mark.parametrize("config", [None, METRIC_ONLY])
def test_allow_empty_accepts_a_run_that_judged_nothing(
        write_config: Callable[..., Path], write_table: Callable[..., Path], mlci: Any,
        how: list[str] | str, config: str | None) -> None:
    if config is not None:
        write_config(config)
    write_table(ROWS)
    flags, env = (how, None) if isinstance(how, list) else ([], dict([how.split("=")]))
    run = mlci("validate", "--data", "predictions.csv", *flags, env=env)
    assert run.exit_code == 0, run.stderr
    doc = run.doc("validate")
    assert doc["verdict"] == "skip"
    assert [c["status"] for c in doc["checks"]] == ([] if config is None else ["skip"])
    assert run.stdout.startswith("mlci validate: SKIP")


def test_allow_empty_false_in_the_environment_still_refuses(write_table: Callable[..., Path],
                                                            mlci: Any) -> None:
    """The action passes MLCI_ALLOW_EMPTY: "false" by default."""
    write_table(ROWS)
    run = mlci("validate", "--predictions", "predictions.csv", env={"MLCI_ALLOW_EMPTY": "false"})
    assert run.exit_code == 2
    assert "nothing to check: no tests configured" in run.stderr


def test_a_run_with_one_judged_check_among_skips_is_judged(write_config: Callable[..., Path],
                                                           write_table: Callable[..., Path],
                                                           mlci: Any) -> None:
    write_config(METRIC_ONLY + "  - row_count: {min: 100}\n")
    write_table(ROWS)
    run = mlci("validate", "--data", "predictions.csv")
    assert run.exit_code == 1  # the row count failed; the skipped metric changes nothing
    assert [c["status"] for c in run.doc("validate")["checks"]] == ["skip", "fail"]


# --- which config file ------------------------------------------------------------------

def test_mlci_yaml_is_found_like_mlci_yml(write_config: Callable[..., Path],
                                          binary_case: Callable[[float], None],
                                          workdir: Path, mlci: Any) -> None:
    """A project with `mlci.yaml` used to get `SKIP — no tests configured` and a green job."""
    binary_case(0.99)
    (workdir / "mlci.yml").rename(workdir / "mlci.yaml")
    run = mlci("validate", "--predictions", "predictions.csv")
    assert run.exit_code == 1
    doc = run.doc("validate")
    assert doc["summary"] == "4 of 6 checks passed, 1 failed, 1 skipped"
    assert doc["checks"][0]["source"] == {"file": "mlci.yaml", "line": 4}


def test_mlci_yml_and_mlci_yaml_together_exit_2_naming_both(
        binary_case: Callable[[float], None], workdir: Path, mlci: Any) -> None:
    binary_case(0.7)
    (workdir / "mlci.yaml").write_text((workdir / "mlci.yml").read_text())
    run = mlci("validate", "--predictions", "predictions.csv")
    assert (run.exit_code, run.stderr) == (2, (
        "mlci validate: error: mlci.yml and mlci.yaml: both exist; expected one config file "
        "(delete one, or pass --config FILE)\n"))
    run = mlci("validate", "--predictions", "predictions.csv", "--config", "mlci.yaml")
    assert run.exit_code == 0, run.stderr  # naming one settles it
