"""`mlci lineage tag|verify|keygen` through the CLI."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from pathlib import Path

import pytest
from click.testing import CliRunner

from mlci.cli import main


def mlci(*args: str, env: dict[str, str] | None = None) -> tuple[int, str, str]:
    result = CliRunner().invoke(main, list(args), env=env, prog_name="mlci",
                                catch_exceptions=False)
    return result.exit_code, result.stdout, result.stderr


def test_tag_then_verify(work: Path, keys: Callable[[str], tuple[Path, Path]]) -> None:
    private, public = keys("a")
    code, _, err = mlci("lineage", "tag", "--data", "data/train.csv", "data/eval",
                        "--model", "model", "--key", str(private))
    assert code == 0, err
    lineage = json.loads((work / ".mlci" / "lineage.json").read_text())
    assert [d["path"] for d in lineage["data"]] == ["data/train.csv", "data/eval"]
    assert lineage["model"]["signature"]["model_digest"] == lineage["model"]["digest"]
    tag_doc = json.loads((work / ".mlci" / "lineage-tag.json").read_text())
    assert tag_doc["verdict"] == "pass"
    env = (work / ".mlci" / "lineage-tag.env").read_text()
    assert f"MLCI_LINEAGE_TAG_DATA_ID={lineage['data_id']}\n" in env
    assert f"MLCI_LINEAGE_TAG_MODEL_DIGEST={lineage['model']['digest']}\n" in env

    code, _, _ = mlci("lineage", "verify", "--lineage", ".mlci/lineage.json",
                      "--public-key", str(public))
    assert code == 0
    (work / "data" / "eval" / "part-1.csv").write_text("x,y\n4,1\n")
    code, out, _ = mlci("lineage", "verify", "--lineage", ".mlci/lineage.json",
                        "--public-key", str(public))
    assert code == 1
    assert "data/eval/part-1.csv changed since lineage was recorded" in out


def test_signing_key_from_environment_is_masked(work: Path,
                                                keys: Callable[[str], tuple[Path, Path]]) -> None:
    private, _ = keys("a")
    pem = private.read_text()
    code, out, err = mlci("lineage", "tag", "--data", "data/train.csv", "--model", "model",
                          env={"MLCI_SIGNING_KEY": pem, "GITHUB_ACTIONS": "true"})
    assert code == 0, err
    secret_line = pem.splitlines()[1]
    assert f"::add-mask::{secret_line}" in out
    assert all(secret_line not in p.read_text(errors="ignore")
               for p in (work / ".mlci").rglob("*") if p.is_file())


@pytest.mark.parametrize(("args", "message"), [
    (["--data", "nope.csv"], "nope.csv"),
    (["--data", "data/train.csv", "--model", "model", "--key", "not a key"], "key"),
])
def test_bad_input_exits_2(work: Path, args: list[str], message: str) -> None:
    code, _, err = mlci("lineage", "tag", *args)
    assert code == 2
    assert err.startswith("mlci lineage-tag: error: ")
    assert message in err
    assert "Traceback" not in err


def test_tag_needs_data(work: Path) -> None:
    code, _, err = mlci("lineage", "tag")
    assert code == 2
    assert "lineage tag needs --data PATH..." in err


def test_keygen(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    code, _, _ = mlci("lineage", "keygen", "--dir", "keys")
    assert code == 0
    assert (tmp_path / "keys" / "mlci-signing.pem").stat().st_mode & 0o777 == 0o600
    assert (tmp_path / "keys" / "mlci-signing.pub.pem").read_text().startswith(
        "-----BEGIN PUBLIC KEY-----")


def test_keygen_outputs_reach_ci_not_the_document(tmp_path: Path,
                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    """key-id, private-key, public-key are CI outputs (Result.outputs): set for the job,
    never written into lineage-keygen.json."""
    monkeypatch.chdir(tmp_path)
    (tmp_path / "gh-output").write_text("")
    code, _, err = mlci("lineage", "keygen", "--dir", "keys",
                        env={"GITHUB_ACTIONS": "true",
                             "GITHUB_OUTPUT": str(tmp_path / "gh-output"),
                             "GITHUB_STEP_SUMMARY": str(tmp_path / "summary")})
    assert code == 0, err
    doc = json.loads((tmp_path / ".mlci" / "lineage-keygen.json").read_text())
    kid = doc["checks"][0]["key_id"]
    assert "outputs" not in doc
    written = (tmp_path / "gh-output").read_text()
    names = [line.split("<<")[0] for line in written.splitlines() if "<<" in line]
    assert names == ["verdict", "result-path", "junit-path", "key-id", "private-key",
                     "public-key"]
    for value in (kid, "keys/mlci-signing.pem", "keys/mlci-signing.pub.pem"):
        assert f"\n{value}\n" in written


def test_tag_records_the_config_the_runner_loaded(work: Path) -> None:
    """--config reaches the record through the run context: path and SHA-256 of that file."""
    (work / "checks.yml").write_text("version: 1\n")
    code, _, err = mlci("lineage", "tag", "--data", "data/train.csv", "--config", "checks.yml")
    assert code == 0, err
    lineage = json.loads((work / ".mlci" / "lineage.json").read_text())
    assert lineage["config"] == {"path": "checks.yml",
                                 "sha256": hashlib.sha256(b"version: 1\n").hexdigest()}


def test_keygen_into_a_file_is_one_line_exit_2(tmp_path: Path,
                                                monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "keys").write_text("not a folder")
    code, _, err = mlci("lineage", "keygen", "--dir", "keys/sub")
    assert code == 2
    assert err.startswith("mlci lineage-keygen: error: --dir keys/sub: cannot create folder (")
    assert len(err.splitlines()) == 1
