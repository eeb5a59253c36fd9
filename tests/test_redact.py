"""Credentials never printed: a registry URI with a password, a request error,
a signing key pasted without its PEM header, and everything a step writes.

The CLI runs are real subprocesses (`python -m mlci`), so the command line the
masking reads is the one a user typed, and the registry is a real MLflow client
talking to a port nobody listens on."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from mlci import redact
from mlci.ci import GitHub, GitLab
from mlci.errors import ServiceError
from mlci.options import Common
from mlci.result import Check, Result
from mlci.runner import attempt, finish

PASSWORD = "S3cretPw"
# the base64 body of an ECDSA P-256 private key, without its PEM header (made for this test)
KEY_BODY = ("MIGHAgEAMBMGByqGSM49AgEGCCqGSM49AwEHBG0wawIBAQQgm0ZLw1ZjKfZ5Z2cZ3D6q"
            "Xk0HF1qj3X4oM2A9l8dGQ3OhRANCAASs2+6d1bQ8w4kSLv6eHsXkN9nHc2Y3p0bL1")


def dead_port() -> int:
    """A port on 127.0.0.1 that nothing listens on (bound, then released)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def run_mlci(tmp_path: Path, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
    clean = {k: v for k, v in os.environ.items()
             if not k.startswith(("GITHUB_", "GITLAB_", "CI_", "MLCI_", "MLFLOW_"))}
    return subprocess.run([sys.executable, "-m", "mlci", *args], cwd=tmp_path,
                          env={**clean, **env}, capture_output=True, text=True, timeout=120)


def everything_written(folder: Path) -> str:
    return "\n".join(p.read_text(errors="replace") for p in folder.rglob("*") if p.is_file())


# ---------------------------------------------------------------- the patterns


@pytest.mark.parametrize(("raw", "masked"), [
    ("API request to http://admin:S3cretPw@127.0.0.1:9/api/2.0/x failed",
     "API request to http://***@127.0.0.1:9/api/2.0/x failed"),
    ("http://admin:p@ss@host/x", "http://***@host/x"),
    ("postgresql+psycopg2://u:pw@db:5432/mlflow", "postgresql+psycopg2://***@db:5432/mlflow"),
    ("Invalid URL 'admin:S3cretPw@127.0.0.1:9/x': No scheme supplied.",
     "Invalid URL '***@127.0.0.1:9/x': No scheme supplied."),
    ("https://b.s3/m?X-Amz-Signature=abc123&part=1&sig=zz",
     "https://b.s3/m?X-Amz-Signature=***&part=1&sig=***"),
    ("Authorization: Bearer abc.def and PRIVATE-TOKEN: glpat-x1",
     "Authorization: Bearer *** and PRIVATE-TOKEN: ***"),
    ("headers: Authorization: Bearer ***; Accept: json",
     "headers: Authorization: Bearer ***; Accept: json"),
    ("-----BEGIN EC PRIVATE KEY-----\\nMHcCAQEEIB\\nabc==\\n-----END EC PRIVATE KEY-----",
     "-----BEGIN EC PRIVATE KEY-----***-----END EC PRIVATE KEY-----"),
    # what must stay readable
    ("models:/fraud@production runs:/0a1b/model git@github.com:o/r.git sha256:ab12 passed",
     "models:/fraud@production runs:/0a1b/model git@github.com:o/r.git sha256:ab12 passed"),
])
def test_patterns(raw: str, masked: str) -> None:
    assert redact.text(raw, known=[]) == masked


def test_known_secrets_come_from_secret_names_urls_and_key_flags(tmp_path: Path) -> None:
    key_file = tmp_path / "key.pem"
    key_file.write_text("x")
    env = {"MLCI_TOKEN": "ghs_tokenvalue123", "MLFLOW_TRACKING_PASSWORD": "hunter22",
           "MLFLOW_TRACKING_URI": "http://bob:Pa%24%24word9@mlflow:5000", "SHORT_TOKEN": "abc",
           "MLCI_SIGNING_KEY": str(key_file), "HOME": "/root", "MLCI_OUT": ".mlci"}
    argv = ["promote", "--registry", "https://ann:hunter2000@r", "--key", KEY_BODY]
    known = redact.known_secrets(env, argv)
    assert {"ghs_tokenvalue123", "hunter22", "Pa%24%24word9", "Pa$$word9", "hunter2000",
            KEY_BODY} <= set(known)
    assert "abc" not in known and str(key_file) not in known and "/root" not in known
    assert known == sorted(known, key=lambda s: (-len(s), s))


def test_a_key_path_is_not_key_text(tmp_path: Path) -> None:
    assert redact.is_key_text(KEY_BODY)
    assert redact.is_key_text("-----BEGIN PRIVATE KEY-----\\nMIG...")
    assert not redact.is_key_text("keys/mlci-signing.pem")
    assert not redact.is_key_text(str(tmp_path))


# ---------------------------------------------------------------- the reproducers


def test_history_with_a_password_in_the_registry_uri_never_prints_it(tmp_path: Path) -> None:
    """The issue's reproducer: MLflow's error text repeats the URI, password included."""
    port = dead_port()
    done = run_mlci(tmp_path, "history", "--name", "m", "--alias", "production",
                    "--registry", f"http://admin:{PASSWORD}@127.0.0.1:{port}")
    assert done.returncode == 3, done.stderr
    assert f"http://***@127.0.0.1:{port}/api/2.0/mlflow/registered-models/get" in done.stderr
    assert PASSWORD not in done.stdout + done.stderr


def test_promote_in_github_actions_masks_errors_annotations_and_files(tmp_path: Path) -> None:
    """Through the runner: the error line, the `::error::` annotation and the out folder.
    The only place the password may appear is GitHub's own `::add-mask::` command."""
    model = tmp_path / "model"
    model.mkdir()
    (model / "MLmodel").write_text("flavors: {}\n")
    port = dead_port()
    summary = tmp_path / "summary.md"
    done = run_mlci(tmp_path, "promote", "--name", "m", "--model", "model", "--alias", "prod",
                    "--registry", f"https://admin:{PASSWORD}@127.0.0.1:{port}",
                    GITHUB_ACTIONS="true", GITHUB_STEP_SUMMARY=str(summary),
                    GITHUB_OUTPUT=str(tmp_path / "output"))
    assert done.returncode == 3, done.stdout + done.stderr
    lines = (done.stdout + done.stderr).splitlines()
    assert f"::add-mask::{PASSWORD}" in lines
    annotation = [line for line in lines if line.startswith("::error::mlci promote: ")]
    assert len(annotation) == 1 and f"https://***@127.0.0.1:{port}" in annotation[0]
    leaked = [line for line in lines if PASSWORD in line and not line.startswith("::add-mask::")]
    assert leaked == []
    assert PASSWORD not in everything_written(tmp_path / ".mlci")


def test_a_request_error_from_requests_is_masked(capsys: pytest.CaptureFixture[str]) -> None:
    """requests names the URL it could not use, userinfo and all (here it reads `admin:`
    as the scheme, so the URL regex alone would not see it)."""
    import requests

    def work() -> None:
        requests.get(f"admin:{PASSWORD}@127.0.0.1:{dead_port()}/api", timeout=5)

    code = attempt("mlci report", GitHub({}), False, work)
    out, err = capsys.readouterr()
    assert code == 2
    assert ("mlci report: internal error: InvalidSchema: No connection adapters were found "
            "for '***@127.0.0.1:") in err
    assert "::error::mlci report: internal error: InvalidSchema: No connection adapters" in out
    assert PASSWORD not in out + err


def test_debug_tracebacks_are_masked_too(capsys: pytest.CaptureFixture[str]) -> None:
    def work() -> None:
        try:
            raise ValueError(f"http://u:{PASSWORD}@h/ refused")
        except ValueError as exc:
            raise ServiceError("registry unreachable") from exc

    assert attempt("mlci promote", GitLab({}), True, work) == 3
    err = capsys.readouterr().err
    assert "ValueError: http://***@h/ refused" in err
    assert err.endswith("mlci promote: error: registry unreachable\n")
    assert PASSWORD not in err


def test_a_signing_key_given_as_text_without_its_header_is_never_echoed(tmp_path: Path) -> None:
    """Taken for a path, the key would be repeated in "no such file"."""
    (tmp_path / "data.csv").write_text("a\n1\n")
    (tmp_path / "model").mkdir()
    (tmp_path / "model" / "MLmodel").write_text("flavors: {}\n")
    for args, env in ((["--signing-key", KEY_BODY], {}), ([f"--key={KEY_BODY}"], {}),
                      ([], {"MLCI_SIGNING_KEY": KEY_BODY}),
                      ([], {"MLCI_SIGNING_KEY": KEY_BODY[:64] + "\\n" + KEY_BODY[64:]})):
        done = run_mlci(tmp_path, "lineage", "tag", "--data", "data.csv", "--model", "model",
                        "--no-git", *args,
                        **env)
        assert done.returncode == 2, done.stdout + done.stderr
        assert "signing key ***: no such file" in done.stderr, done.stderr
        assert KEY_BODY[:40] not in done.stdout + done.stderr
        assert KEY_BODY[64:104] not in done.stdout + done.stderr


def test_result_documents_summaries_outputs_and_annotations_are_masked(
        tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("MLCI_TOKEN", "glpat-abcdefghij")
    result = Result("promote", [
        Check("alias", "fail", f"registry http://a:{PASSWORD}@r/ refused; token glpat-abcdefghij",
              extra={"registry": f"http://a:{PASSWORD}@r/"})],
        summary=f"could not reach http://a:{PASSWORD}@r/",
        subject={"model": f"https://u:{PASSWORD}@store/m"},
        outputs={"registry": f"http://a:{PASSWORD}@r/"})
    platform = GitHub({"GITHUB_OUTPUT": str(tmp_path / "output"),
                       "GITHUB_STEP_SUMMARY": str(tmp_path / "summary.md")})
    out = tmp_path / "out"
    code = finish(result, Common(config=None, out=str(out), debug=False), platform)
    printed = capsys.readouterr().out
    assert code == 1
    written = everything_written(tmp_path)
    for text in (printed, written):
        assert PASSWORD not in text and "glpat-abcdefghij" not in text
    doc = json.loads((out / "promote.json").read_text())
    assert doc["summary"] == "could not reach http://***@r/"
    assert doc["checks"][0]["message"] == "registry http://***@r/ refused; token ***"
    assert doc["checks"][0]["registry"] == "http://***@r/"
    assert doc["subject"] == {"model": "https://***@store/m"}
    assert "::error::mlci promote: alias: registry http://***@r/ refused; token ***" in printed


def test_gitlab_dotenv_outputs_are_masked(tmp_path: Path) -> None:
    GitLab({}).set_outputs("promote", {"registry": f"http://a:{PASSWORD}@r/"}, tmp_path)
    assert (tmp_path / "promote.env").read_text() == "MLCI_PROMOTE_REGISTRY=http://***@r/\n"


def test_registered_values_are_masked_everywhere() -> None:
    redact.register("tok-registered-0123")
    assert redact.text("sent tok-registered-0123 twice: tok-registered-0123") == \
        "sent *** twice: ***"
