"""Hostile or careless files stay cheap: YAML that expands, nests or repeats keys, and
files that are not tables, are refused with one line (exit 2) before they cost memory.

Memory is measured, not time: each run is a child process whose peak RSS
(`resource.getrusage(RUSAGE_CHILDREN)` in a wrapper) is compared with the same
command on a small valid input, with a bound relative to the size of the file."""

from __future__ import annotations

import itertools
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

from mlci import safe_yaml
from mlci.lineage import dvc

MB = 1 << 20
VALID = "version: 1\ntask: binary\ntests:\n  - metric: accuracy\n    min: 0.5\n"
SMALL = "y_true,y_pred\n1,1\n0,0\n1,1\n0,1\n"
# Runs a command and reports its exit code and the peak RSS (KiB) of it alone.
WRAPPER = ("import resource, subprocess, sys\n"
           "done = subprocess.run(sys.argv[1:], capture_output=True, text=True, timeout=300)\n"
           "print(done.returncode, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)\n"
           "sys.stderr.write(done.stderr)\n")


@dataclass(frozen=True)
class Measured:
    exit_code: int
    peak_bytes: int
    stderr: str


def measure(cwd: Path, *args: str) -> Measured:
    done = subprocess.run([sys.executable, "-c", WRAPPER, sys.executable, "-m", "mlci", *args],
                          cwd=cwd, capture_output=True, text=True, timeout=600, check=True)
    code, peak_kib = done.stdout.split()
    return Measured(int(code), int(peak_kib) * 1024, done.stderr)


@pytest.fixture(scope="module")
def baselines(tmp_path_factory: pytest.TempPathFactory) -> Callable[[str], int]:
    """Peak RSS of `mlci validate` on a 4-row file of a kind: Python, pandas, mlci and
    the kind's reader (pyarrow for Parquet) themselves."""
    seen: dict[str, int] = {}

    def of(kind: str) -> int:
        if kind not in seen:
            folder = tmp_path_factory.mktemp(f"baseline-{kind}")
            (folder / "mlci.yml").write_text(VALID)
            WRITERS[kind](pd.DataFrame({"y_true": [1, 0, 1, 0], "y_pred": [1, 0, 1, 1]}),
                          folder / f"p.{kind}")
            run = measure(folder, "validate", "--predictions", f"p.{kind}")
            assert run.exit_code == 0, run.stderr
            seen[kind] = run.peak_bytes
        return seen[kind]

    return of


@pytest.fixture
def baseline(baselines: Callable[[str], int]) -> int:
    return baselines("csv")


def validate(folder: Path, predictions: str = "p.csv") -> Measured:
    return measure(folder, "validate", "--predictions", predictions)


# --- YAML -------------------------------------------------------------------------------

def alias_bomb(levels: int = 9) -> str:
    """Each level is a list of nine aliases to the one before: 9**levels strings."""
    names = "abcdefghijklmnop"[:levels]
    lines = ["version: 1", 'a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]']
    for before, name in itertools.pairwise(names):
        lines.append(f"{name}: &{name} [" + ",".join([f"*{before}"] * 9) + "]")
    return "\n".join(lines) + "\n"


def test_the_bomb_is_small() -> None:
    assert len(alias_bomb().encode()) == 353


def test_yaml_alias_bomb_exits_2_without_expanding(tmp_path: Path, baseline: int) -> None:
    (tmp_path / "mlci.yml").write_text(alias_bomb())
    (tmp_path / "p.csv").write_text(SMALL)
    run = validate(tmp_path)
    assert run.exit_code == 2
    assert run.stderr == (
        "mlci validate: error: mlci.yml:1: not valid YAML: aliases expand this file to "
        "490,329,066 values; expected at most 10,000 more than written (an alias bomb?)\n")
    assert run.peak_bytes < baseline + 32 * MB  # it took 8.9 GB to fail before


@pytest.mark.parametrize(("text", "message"), [
    ("version: 1\nx: " + "[" * 10_000 + "]" * 10_000 + "\n",
     "mlci.yml:2: not valid YAML: x[0][0]…: nested more than 64 levels deep"),
    ("version: 1\nx:" + "".join(f"\n{'  ' * (i + 1)}k:" for i in range(200)) + " 1\n",
     "mlci.yml:66: not valid YAML: x.k.k…: nested more than 64 levels deep"),
    ("version: 1\nx: &x [1, *x]\n",
     "mlci.yml:2: not valid YAML: an alias refers to a node that contains it; expected a tree"),
    ("version: 1\nx: [" + ", ".join(["1"] * 200_001) + "]\n",
     "mlci.yml:2: not valid YAML: more than 200000 values; expected a small YAML file"),
    ("version: 1\n" + "# padding\n" * 500_000,
     "mlci.yml: not valid YAML: file is larger than 4 MiB; expected a small YAML file"),
])
def test_hostile_yaml_is_one_line_of_bad_input(tmp_path: Path, mlci: Any, workdir: Path,
                                               text: str, message: str) -> None:
    """Deep nesting used to raise RecursionError (an internal error, not a message)."""
    (workdir / "mlci.yml").write_text(text)
    (workdir / "p.csv").write_text(SMALL)
    run = mlci("validate", "--predictions", "p.csv")
    assert (run.exit_code, run.stderr) == (2, f"mlci validate: error: {message}\n")


def test_nan_threshold_no_longer_passes_vacuously(mlci: Any, workdir: Path) -> None:
    """`accuracy 0.9766 >= nan` was a pass: NaN compares false with everything."""
    (workdir / "mlci.yml").write_text(VALID.replace("0.5", ".nan"))
    (workdir / "p.csv").write_text(SMALL)
    run = mlci("validate", "--predictions", "p.csv")
    assert (run.exit_code, run.stderr) == (
        2, "mlci validate: error: mlci.yml:5: tests[0].min: expected a finite number, got nan\n")
    assert not (run.out / "validate.json").exists()


def test_repeated_key_no_longer_keeps_the_last(mlci: Any, workdir: Path) -> None:
    (workdir / "mlci.yml").write_text(VALID + "    min: 0.0\n")
    (workdir / "p.csv").write_text(SMALL)
    run = mlci("validate", "--predictions", "p.csv")
    assert (run.exit_code, run.stderr) == (2, (
        "mlci validate: error: mlci.yml:6: not valid YAML: tests[0].min: duplicate key 'min' "
        "(first on line 5); expected each key once\n"))


def test_a_dvc_lock_bomb_is_a_warning_not_a_hang(tmp_path: Path) -> None:
    (tmp_path / "data").mkdir()
    (tmp_path / "data" / "train.csv").write_text("x\n1\n")
    (tmp_path / "dvc.lock").write_text(alias_bomb().replace("version: 1", "schema: '2.0'"))
    found, warnings = dvc.records(str(tmp_path / "data" / "train.csv"), [], tmp_path)
    assert found == []
    assert warnings == [f"{tmp_path / 'dvc.lock'}: not readable as DVC YAML (aliases expand "
                        "this file to 490,329,066 values; expected at most 10,000 more than "
                        "written (an alias bomb?))"]


def test_safe_loader_keeps_strings_as_written_in_string_mode() -> None:
    loaded = safe_yaml.load_text("md5: 0123\nsize: 12\nok: yes\n", strings=True)
    assert loaded.data == {"md5": "0123", "size": "12", "ok": "yes"}
    assert safe_yaml.load_text("ok: yes\nn: 0x1f\n").data == {"ok": True, "n": 31}
    assert safe_yaml.load_text("").data is None


# --- tables -----------------------------------------------------------------------------

def test_nul_bytes_are_not_a_table(tmp_path: Path, baseline: int) -> None:
    size = 16 * MB
    (tmp_path / "mlci.yml").write_text(VALID)
    (tmp_path / "p.csv").write_bytes(b"\0" * size)
    run = validate(tmp_path)
    assert run.exit_code == 2
    assert run.stderr == ("mlci validate: error: p.csv: not a csv table: NUL bytes in the first "
                          "1,048,576 bytes (a binary file?); expected text with a header line\n")
    assert run.peak_bytes < baseline + size // 2  # pandas held it about nine times over


@pytest.mark.parametrize(("name", "content", "message"), [
    ("p.csv", b"y_true" * 200_000,
     "p.csv: not a csv table: no line break in the first 1,048,576 bytes; expected a header "
     "line, then one row per line"),
    ("p.jsonl", b'{"y_true": "' + b"1" * (2 * MB) + b'"}\n',
     "p.jsonl: not a jsonl table: no line break in the first 1,048,576 bytes; expected a "
     "header line, then one row per line"),
    ("p.jsonl", "y_true,y_pred\n1,1\n".encode("utf-16"),
     "p.jsonl: not a jsonl table: NUL bytes in the first 38 bytes (a binary file?); expected "
     "text with a header line"),
])
def test_files_that_are_not_tables_are_refused_early(mlci: Any, workdir: Path, name: str,
                                                     content: bytes, message: str) -> None:
    (workdir / "mlci.yml").write_text(VALID)
    (workdir / name).write_bytes(content)
    run = mlci("validate", "--predictions", name)
    assert (run.exit_code, run.stderr) == (2, f"mlci validate: error: {message}\n")


def wide_table(rows: int = 30_000, features: int = 100) -> pd.DataFrame:
    """Predictions with every feature carried along: the case usecols is for."""
    rng = np.random.default_rng(0)
    truth = rng.integers(0, 2, rows)
    frame = {"y_true": truth, "y_pred": truth}
    frame.update({f"f{i}": rng.random(rows).round(6) for i in range(features)})
    return pd.DataFrame(frame)


WRITERS: dict[str, Callable[[pd.DataFrame, Path], None]] = {
    "csv": lambda frame, path: frame.to_csv(path, index=False),
    "jsonl": lambda frame, path: frame.to_json(path, orient="records", lines=True),
    "parquet": lambda frame, path: frame.to_parquet(path, index=False),
}


@pytest.mark.parametrize("kind", sorted(WRITERS))
def test_only_the_columns_used_are_read(tmp_path: Path, baselines: Callable[[str], int],
                                        kind: str) -> None:
    """Reading all 102 columns took 2.7 (CSV) to 12 (JSON Lines) times the file size."""
    frame = wide_table()
    path = tmp_path / f"p.{kind}"
    WRITERS[kind](frame, path)
    (tmp_path / "mlci.yml").write_text(VALID)
    run = validate(tmp_path, path.name)
    assert (run.exit_code, run.stderr) == (0, "")  # accuracy 1 >= 0.5
    size = path.stat().st_size
    assert size > 25 * MB
    assert run.peak_bytes < baselines(kind) + size


def test_a_missing_column_still_lists_every_column_of_the_file(mlci: Any,
                                                               workdir: Path) -> None:
    """Only the used columns are read, but the error shows what the file has."""
    (workdir / "mlci.yml").write_text(VALID)
    (workdir / "p.csv").write_text("label,y_pred,age\n1,1,30\n0,0,40\n")
    run = mlci("validate", "--predictions", "p.csv")
    assert (run.exit_code, run.stderr) == (2, (
        "mlci validate: error: p.csv: column 'y_true' not found (the target, set by "
        "columns.target); columns are: label, y_pred, age\n"))
    (workdir / "p.csv").write_text("label,prediction\n1,1\n0,0\n")  # none of the used ones
    run = mlci("validate", "--predictions", "p.csv")
    assert run.stderr.endswith("columns are: label, prediction\n")


def test_columns_named_by_tests_and_slices_are_read(mlci: Any, workdir: Path) -> None:
    (workdir / "mlci.yml").write_text(
        "version: 1\ntask: binary\ntests:\n  - metric: accuracy\n    min: 0.5\n"
        "    slice: site\n  - fairness: accuracy\n    by: sex\n    max_gap: 1\n"
        "  - column: age\n    max: 120\n")
    pd.DataFrame({"y_true": [1, 0, 1, 0], "y_pred": [1, 0, 1, 1], "site": list("aabb"),
                  "sex": list("FMFM"), "age": [30, 40, 50, 60], "unused": [9] * 4}
                 ).to_csv(workdir / "p.csv", index=False)
    run = mlci("validate", "--predictions", "p.csv")
    assert run.exit_code == 0, run.stderr
    names = [c["name"] for c in run.doc("validate")["checks"]]
    assert names == ["accuracy[site=a]", "accuracy[site=b]", "fairness:accuracy by sex",
                     "column:age"]
