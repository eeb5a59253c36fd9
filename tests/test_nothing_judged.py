"""A validate or compare run that judged nothing (no checks, or only skips) exits 2
unless --allow-empty: a green job that tested nothing is a pass by accident."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from mlci.errors import InputError
from mlci.options import Common
from mlci.result import Check, Result
from mlci.runner import judged

STRICT = Common(config=None, out=".mlci", debug=False, require_checks=True)
LENIENT = Common(config=None, out=".mlci", debug=False)


def skipped(*names: str) -> Result:
    return Result(step="compare", summary="candidate is not worse than baseline on 0 of 0 metrics",
                  checks=[Check(name, "skip", f"cannot compute {name}") for name in names])


def test_only_skips_or_no_checks_are_refused_when_checks_are_required() -> None:
    with pytest.raises(InputError) as info:
        judged(skipped("roc_auc", "log_loss"), STRICT)
    assert str(info.value) == (
        "nothing to check: every check was skipped (roc_auc: cannot compute roc_auc; and 1 "
        "more); give them their inputs, or pass --allow-empty to accept a run that judges "
        "nothing")
    with pytest.raises(InputError, match=r"^nothing to check: no tests configured \(add tests"):
        judged(Result(step="validate", summary="no tests configured", checks=[]), STRICT)


@pytest.mark.parametrize("status", ["pass", "warn", "fail"])
def test_any_judged_check_is_enough(status: Any) -> None:
    result = skipped("a")
    result.checks.append(Check("b", status, "judged"))
    assert judged(result, STRICT) is result


def test_steps_that_do_not_require_checks_keep_skip() -> None:
    result = skipped("a")
    assert judged(result, LENIENT) is result


@pytest.fixture
def all_skips(monkeypatch: pytest.MonkeyPatch, write_table: Any) -> None:
    """compare's own logic judges every whole-set metric or refuses the input; a result of
    only skips is stood in here to test what the CLI does with one."""
    import mlci.compare.run

    monkeypatch.setattr(mlci.compare.run, "run", lambda context, options: skipped("accuracy"))
    write_table({"y_true": [0, 1], "y_pred": [0, 1]}, "c.csv")
    write_table({"y_true": [0, 1], "y_pred": [0, 1]}, "b.csv")


def test_compare_of_only_skips_exits_2(all_skips: None, mlci: Any) -> None:
    run = mlci("compare", "--candidate", "c.csv", "--baseline", "b.csv")
    assert (run.exit_code, run.stderr) == (2, (
        "mlci compare: error: nothing to check: every check was skipped (accuracy: cannot "
        "compute accuracy); give them their inputs, or pass --allow-empty to accept a run "
        "that judges nothing\n"))
    assert not (run.out / "compare.json").exists()


@pytest.mark.parametrize(("args", "env"), [(["--allow-empty"], None),
                                           ([], {"MLCI_ALLOW_EMPTY": "true"})])
def test_compare_allow_empty_writes_the_skip_and_exits_0(
        all_skips: None, mlci: Any, args: list[str], env: dict[str, str] | None) -> None:
    run = mlci("compare", "--candidate", "c.csv", "--baseline", "b.csv", *args, env=env)
    assert run.exit_code == 0, run.stderr
    assert run.doc("compare")["verdict"] == "skip"


def test_drift_is_not_affected(write_table: Any, mlci: Any, workdir: Path) -> None:
    """--allow-empty concerns the model comparison; a drift run judges its columns."""
    rows = {"x": [float(i % 7) for i in range(60)], "y": [i % 3 for i in range(60)]}
    write_table(rows, "ref.csv")
    write_table(rows, "cur.csv")
    run = mlci("compare", "--drift", "--reference", "ref.csv", "--current", "cur.csv")
    assert run.exit_code == 0, run.stderr
    assert run.doc("drift")["verdict"] == "pass"
