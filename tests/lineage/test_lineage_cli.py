"""`mlci lineage tag|verify|keygen` through the CLI."""

from __future__ import annotations

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
