"""Registry URI resolution, what users see of it, and input checks done before any call."""

from __future__ import annotations

from pathlib import Path

import pytest

from mlci.errors import InputError
from mlci.registry.naming import (
    check_alias,
    check_name,
    display_uri,
    embedded_uri,
    resolve_uri,
    sqlite_file,
)


def test_uri_precedence_option_config_environment_default(tmp_path: object) -> None:
    env = {"MLFLOW_TRACKING_URI": "http://env:5000"}
    section = {"uri": "http://config:5000"}
    assert resolve_uri("http://flag:5000", section, "out", env) == "http://flag:5000"
    assert resolve_uri(None, section, "out", env) == "http://config:5000"
    assert resolve_uri(None, {}, "out", env) == "http://env:5000"
    # The embedded default belongs to the project folder, never to an out folder.
    assert resolve_uri(None, {}, "/work/job", {}) == "sqlite:////work/job/.mlci/registry.db"
    assert embedded_uri("/work/job") == "sqlite:////work/job/.mlci/registry.db"


def test_sqlite_file_of_a_uri() -> None:
    assert sqlite_file("sqlite:////tmp/x/registry.db") == Path("/tmp/x/registry.db")
    assert sqlite_file("sqlite:///relative.db") == Path("relative.db")
    assert sqlite_file("sqlite:///:memory:") is None
    assert sqlite_file("http://127.0.0.1:5000") is None
    assert sqlite_file("postgresql://u@h/db") is None


def test_credentials_never_reach_messages() -> None:
    assert display_uri("https://user:s3cret@mlflow.example:8443/path") == \
        "https://mlflow.example:8443/path"
    assert display_uri("http://127.0.0.1:5000") == "http://127.0.0.1:5000"
    assert display_uri("sqlite:////tmp/registry.db") == "sqlite:////tmp/registry.db"


@pytest.mark.parametrize("alias", ["latest", "LATEST", "v1", "V12", "v007"])
def test_reserved_aliases_are_refused(alias: str) -> None:
    with pytest.raises(InputError, match=f"--alias {alias}: reserved by MLflow"):
        check_alias(alias)


@pytest.mark.parametrize("alias", ["prod.eu", "a b", "", "x/y"])
def test_malformed_aliases_are_refused(alias: str) -> None:
    with pytest.raises(InputError, match="--alias"):
        check_alias(alias)


@pytest.mark.parametrize("alias", ["production", "champion", "canary-eu", "v1_backup", "vX"])
def test_ordinary_aliases_pass(alias: str) -> None:
    assert check_alias(alias) == alias


def test_model_names() -> None:
    assert check_name("fraud") == "fraud"
    for bad in (None, "", "  ", "a/b", "a:b"):
        with pytest.raises(InputError, match="--name"):
            check_name(bad)
