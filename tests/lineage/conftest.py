"""Fixtures for lineage tests: a working folder, a throwaway git repo, small data and models."""

from __future__ import annotations

import os
import subprocess
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from mlci.lineage.keygen import keygen
from mlci.lineage.tagging import tag


def git(repo: Path, *args: str) -> str:
    """git with a fixed identity, so tests do not depend on the machine's config."""
    proc = subprocess.run(
        ["git", "-c", "user.name=mlci-test", "-c", "user.email=test@mlci.invalid",
         "-c", "commit.gpgsign=false", "-c", "init.defaultBranch=main", *args],
        cwd=repo, capture_output=True, text=True, check=True)
    return proc.stdout.strip()


def age(path: Path, seconds: float = 3600) -> None:
    """Make files look older than the cache's racy window, as real data is."""
    when = time.time() - seconds
    targets = [path] if path.is_file() else [p for p in path.rglob("*") if p.is_file()]
    for target in targets:
        os.utime(target, (when, when))


def write_files(root: Path, files: dict[str, str | bytes]) -> Path:
    for rel, body in files.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(body, bytes):
            path.write_bytes(body)
        else:
            path.write_text(body)
    return root


LOCAL_FACTS: dict[str, Any] = {"platform": "local", "run_url": None, "actor": "dev",
                               "event": None, "sha": None, "head_sha": None, "ref": None,
                               "repository": None, "pipeline_id": None, "job_id": None}


@pytest.fixture
def work(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A working folder that is a git checkout with one commit, data and a model in it."""
    monkeypatch.chdir(tmp_path)
    git(tmp_path, "init", "-q")
    write_files(tmp_path, {
        ".gitignore": ".mlci/\n",
        "data/train.csv": "x,y\n1,0\n2,1\n",
        "data/eval/part-0.csv": "x,y\n3,1\n",
        "data/eval/part-1.csv": "x,y\n4,0\n",
        "model/MLmodel": "flavors: {}\n",
        "model/model.pkl": b"\x80\x04binary",
    })
    git(tmp_path, "add", ".gitignore")
    git(tmp_path, "commit", "-q", "-m", "init")
    return tmp_path


@pytest.fixture
def keys(tmp_path_factory: pytest.TempPathFactory) -> Callable[[str], tuple[Path, Path]]:
    """Key pairs made once per name, outside the working folder."""
    made: dict[str, tuple[Path, Path]] = {}

    def make(name: str = "a") -> tuple[Path, Path]:
        if name not in made:
            folder = tmp_path_factory.mktemp(f"keys-{name}")
            keygen(str(folder))
            made[name] = (folder / "mlci-signing.pem", folder / "mlci-signing.pub.pem")
        return made[name]

    return make


@pytest.fixture
def run_tag(work: Path) -> Callable[..., Any]:
    """`lineage tag` with defaults a test overrides one at a time."""

    def run(**overrides: Any) -> Any:
        kwargs: dict[str, Any] = {
            "data": ["data/train.csv", "data/eval"], "model": "model", "run_id": None,
            "key": None, "params": {}, "config_path": None, "out_dir": ".mlci",
            "facts": LOCAL_FACTS, "no_git": False, "tracking_uri": None,
        }
        kwargs.update(overrides)
        data = kwargs.pop("data")
        return tag(data, **kwargs)

    return run
