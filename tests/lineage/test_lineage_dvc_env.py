"""DVC md5s recorded as DVC wrote them; the environment section."""

from __future__ import annotations

import sys
from pathlib import Path

from mlci.lineage import dvc, environment
from tests.lineage.conftest import write_files

DOT_DVC = """outs:
- md5: 3f2a1b0c9d8e7f6a5b4c3d2e1f0a9b8c.dir
  size: 14
  nfiles: 2
  hash: md5
  path: eval
"""

LOCK = """schema: '2.0'
stages:
  prepare:
    cmd: python prepare.py
    deps:
    - path: data/raw.csv
      md5: 11111111111111111111111111111111
      size: 5
    outs:
    - path: data/train.csv
      md5: 22222222222222222222222222222222
      size: 12
    - path: models/other.pkl
      md5: 33333333333333333333333333333333
"""


def test_dot_dvc_beside_a_folder_is_recorded(tmp_path: Path) -> None:
    write_files(tmp_path, {"data/eval/a.csv": "1", "data/eval.dvc": DOT_DVC})
    found, warnings = dvc.records(str(tmp_path / "data/eval"), [], tmp_path)
    assert found == [{"source": "data/eval.dvc", "path": "eval",
                      "md5": "3f2a1b0c9d8e7f6a5b4c3d2e1f0a9b8c.dir", "size": 14, "nfiles": 2}]
    assert warnings == []


def test_dvc_lock_outs_and_deps_overlapping_the_data_are_recorded(tmp_path: Path) -> None:
    write_files(tmp_path, {"dvc.lock": LOCK, "data/train.csv": "x", "data/raw.csv": "r"})
    found, _ = dvc.records(str(tmp_path / "data"), [], tmp_path)
    assert found == [
        {"source": "dvc.lock", "stage": "prepare", "kind": "dep", "path": "data/raw.csv",
         "md5": "11111111111111111111111111111111", "size": 5},
        {"source": "dvc.lock", "stage": "prepare", "kind": "out", "path": "data/train.csv",
         "md5": "22222222222222222222222222222222", "size": 12},
    ]


def test_no_dvc_files_means_no_records(tmp_path: Path) -> None:
    write_files(tmp_path, {"data/a.csv": "1"})
    assert dvc.records(str(tmp_path / "data/a.csv"), [], tmp_path) == ([], [])


def test_broken_dvc_file_is_a_warning(tmp_path: Path) -> None:
    write_files(tmp_path, {"data/a.csv": "1", "data/a.csv.dvc": "outs: [\n"})
    found, warnings = dvc.records(str(tmp_path / "data/a.csv"), [], tmp_path)
    assert found == []
    assert len(warnings) == 1 and "a.csv.dvc: not readable as DVC YAML" in warnings[0]


def test_lockfiles_found_at_the_root_are_hashed(tmp_path: Path) -> None:
    write_files(tmp_path, {"requirements-dev.txt": "pytest\n", "uv.lock": "version = 1\n",
                           "environment.yml": "name: x\n", "notes.txt": "not a lockfile"})
    assert [f["path"] for f in environment.lockfiles(tmp_path)] == [
        "environment.yml", "requirements-dev.txt", "uv.lock"]


def test_another_interpreter_is_described_by_running_it(tmp_path: Path) -> None:
    here = environment.describe(tmp_path)
    there = environment.describe(tmp_path, python=sys.executable)
    assert there["packages"] == here["packages"]
    assert there["packages_digest"] == here["packages_digest"]
    assert here["python"] == ".".join(map(str, sys.version_info[:3]))
