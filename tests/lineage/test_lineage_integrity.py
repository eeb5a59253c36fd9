"""What an attacker or a careless user would try against signatures and lineage records.

Issue 11, items 1-4: symlinks in a model or data folder, an unsigned or edited
lineage.json, signatures another tool must be able to check, and record paths
that lead out of the project. Every case must fail closed: exit 1 (a gate
failed) or 2 (bad input) with the culprit named, and nothing written."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from mlci import schemas
from mlci.cli import main
from mlci.errors import InputError
from mlci.lineage import signing
from mlci.lineage.tagging import tag
from mlci.lineage.verifying import signed_model_checks
from mlci.lineage.verifying import verify as verify_lineage
from mlci.promote import gates
from mlci.promote.candidate import Candidate
from mlci.registry.client import VersionInfo
from mlci.result import Result

Keys = Callable[[str], tuple[Path, Path]]
Tag = Callable[..., Result]
LINEAGE = ".mlci/lineage.json"


def mlci(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(main, list(args), prog_name="mlci", catch_exceptions=False)
    return result.exit_code, result.stdout, result.stderr


def verify(public: Path | None = None, **kwargs: Any) -> Result:
    return verify_lineage(LINEAGE, out_dir=".mlci",
                          public_key=None if public is None else str(public), **kwargs)


def failed(result: Result) -> list[str]:
    return [c.name for c in result.checks if c.status == "fail"]


def edit(path: str, change: Callable[[dict[str, Any]], object]) -> None:
    doc = json.loads(Path(path).read_text())
    change(doc)
    Path(path).write_text(json.dumps(doc, indent=2))


def local_candidate(folder: Path) -> Candidate:
    """Registered version 4 of `fraud`, its files already on disk: the gates under test read
    only files, so no registry is contacted (nothing here may reach one)."""
    version = VersionInfo(name="fraud", version=4, source="runs:/r1/model", run_id="r1",
                          status="READY")
    return Candidate(registry=None, name="fraud", uri=None, version=version,  # type: ignore[arg-type]
                     run_id="r1", _files=folder)


def tree(root: Path) -> dict[str, bytes]:
    """Every file below root with its bytes: to assert that nothing was written."""
    return {str(p.relative_to(root)): p.read_bytes()
            for p in sorted(root.rglob("*")) if p.is_file() and not p.is_symlink()}


# 1. symlinks ------------------------------------------------------------------------------

def test_a_symlink_in_the_model_is_refused_at_tag(work: Path, keys: Keys) -> None:
    private, _ = keys("a")
    outside = work.parent / f"{work.name}-outside"
    outside.mkdir()
    (outside / "model.pkl").write_bytes(b"weights v1")
    (work / "model/model.pkl").unlink()
    (work / "model/model.pkl").symlink_to(outside / "model.pkl")
    before = tree(work)
    code, _, err = mlci("lineage", "tag", "--data", "data/train.csv", "--model", "model",
                        "--signing-key", str(private))
    assert code == 2
    assert err == (f"mlci lineage-tag: error: --model model: model.pkl is a symlink (to "
                   f"{outside / 'model.pkl'}); mlci signs file bytes, and a link's target can "
                   "change after signing: copy the target into the model\n")
    assert tree(work) == before  # no mlci.sig, no lineage.json
    assert not (work / "model/mlci.sig").exists() and not (work / LINEAGE).exists()


def test_a_link_into_the_model_folder_itself_is_refused_too(work: Path) -> None:
    (work / "model/alias.pkl").symlink_to("model.pkl")
    with pytest.raises(InputError, match=r"--model model: alias\.pkl is a symlink \(to "
                                         r"model\.pkl\)"):
        tag(["data/train.csv"], model="model", run_id=None, key=None, params={},
                  config_path=None, out_dir=".mlci", facts={}, no_git=False,
                  tracking_uri=None)


def test_a_signed_file_swapped_for_a_link_fails_verify_and_the_signature_check(
        work: Path, run_tag: Tag, keys: Keys) -> None:
    """Same bytes behind the link today; the link's target could change tomorrow."""
    private, public = keys("a")
    run_tag(key=str(private))
    outside = work.parent / f"{work.name}-elsewhere.pkl"
    shutil.copyfile(work / "model/model.pkl", outside)
    (work / "model/model.pkl").unlink()
    (work / "model/model.pkl").symlink_to(outside)
    result = verify(public)
    assert failed(result) == ["model changed: model/model.pkl", "signature"]
    assert result.checks[-1].message == (
        "model/mlci.sig: signs 2 file(s), but the model now differs: model.pkl changed")
    key = signing.load_public_key(str(public))
    assert [(c.name, c.status) for c in signed_model_checks("model", key)] == [
        ("model changed: model/model.pkl", "fail"), ("signature", "fail")]


def test_a_data_link_out_of_the_project_is_refused(work: Path, run_tag: Tag) -> None:
    outside = work.parent / f"{work.name}-secret.csv"
    outside.write_text("x,y\n")
    (work / "data/eval/extra.csv").symlink_to(outside)
    with pytest.raises(InputError) as caught:
        run_tag(data=["data/eval"], model=None)
    assert str(caught.value) == (
        f"--data data/eval: extra.csv is a symlink to {outside} ({outside}), whose bytes would "
        "not be recorded: it leaves the project or is a folder outside data/eval; copy the "
        "target in, or pass it as its own --data path and remove the link")
    assert not (work / LINEAGE).exists()


def test_a_data_link_to_a_folder_outside_the_data_path_is_refused(work: Path,
                                                                  run_tag: Tag) -> None:
    (work / "data/eval/more").symlink_to(work / "model", target_is_directory=True)
    with pytest.raises(InputError, match=r"--data data/eval: more is a symlink to .*model\), "
                                         r"whose bytes would not be recorded"):
        run_tag(data=["data/eval"], model=None)


def test_a_data_link_inside_the_project_records_the_bytes_behind_it(work: Path,
                                                                    run_tag: Tag) -> None:
    (work / "data/eval/train.csv").symlink_to("../train.csv")
    run_tag(data=["data/eval"], model=None)
    entries = json.loads((work / LINEAGE).read_text())["data"][0]["entries"]
    assert entries[-1] == {"path": "train.csv", "link": "../train.csv", "size": 12,
                           "sha256": hashlib.sha256(b"x,y\n1,0\n2,1\n").hexdigest()}
    assert failed(verify()) == []
    (work / "data/train.csv").write_text("x,y\n1,1\n2,1\n")  # same size, other bytes
    result = verify()
    assert failed(result) == ["data changed: data/eval/train.csv"]
    assert "symlink to ../train.csv (12 bytes, sha256 " in result.checks[-1].message


# 2. the lineage record is signed ----------------------------------------------------------

@pytest.mark.parametrize(("field", "change"), [
    ("model.excluded", lambda d: d["model"]["excluded"].append("extra.py")),
    ("data[1].excluded", lambda d: d["data"][1]["excluded"].append("part-1.csv")),
    ("data_id", lambda d: d.update(data_id="sha256:" + "0" * 64)),
    ("git.commit", lambda d: d["git"].update(commit="f" * 40)),
    ("environment.python", lambda d: d["environment"].update(python="2.7.18")),
    ("params.lr", lambda d: d["params"].update(lr="0.5")),
    ("model.signature", lambda d: d["model"].update(signature=None)),
])
def test_a_record_edited_after_signing_fails_naming_the_field(
        work: Path, run_tag: Tag, keys: Keys, field: str,
        change: Callable[[dict[str, Any]], object]) -> None:
    private, public = keys("a")
    run_tag(key=str(private), params={"lr": "0.1"})
    edit(LINEAGE, change)
    code, _, _ = mlci("lineage", "verify", "--lineage", LINEAGE, "--public-key", str(public))
    assert code == 1
    doc = json.loads((work / ".mlci/lineage-verify.json").read_text())
    assert list(schemas.validator(schemas.RESULT).iter_errors(doc)) == []
    record = [c for c in doc["checks"] if c["name"].startswith("record: ")]
    assert [c["name"] for c in record] == [f"record: {field}"]
    assert record[0]["message"].startswith(f"{LINEAGE}: {field} was edited after signing: signed ")


def test_hidden_model_files_fail_even_in_an_unsigned_record(work: Path, run_tag: Tag) -> None:
    """The exclusion list is mlci's, never the record's: listing a file there hides nothing."""
    run_tag()
    edit(LINEAGE, lambda d: d["model"]["excluded"].append("extra.py"))
    (work / "model/extra.py").write_text("import os\n")
    result = verify()
    assert failed(result) == ["model record: model excluded", "model added: model/extra.py"]
    assert next(c for c in result.checks if c.name == "model record: model excluded"
                ).message.startswith(
        "lineage.json leaves out ['extra.py', 'mlci.sig'] of model, but mlci leaves out only "
        "['mlci.sig']")


def test_an_edited_data_id_fails_even_in_an_unsigned_record(work: Path, run_tag: Tag) -> None:
    run_tag()
    edit(LINEAGE, lambda d: d.update(data_id="sha256:" + "1" * 64))
    assert failed(verify()) == ["record: data_id"]


@pytest.mark.parametrize("out", ["model/.mlci", "model"])
def test_an_out_folder_inside_the_model_is_refused(work: Path, run_tag: Tag, keys: Keys,
                                                   out: str) -> None:
    private, _ = keys("a")
    before = tree(work / "model")
    with pytest.raises(InputError, match=rf"^--out {out}: lies inside the model folder model; "
                                         r"mlci would write into the model"):
        run_tag(key=str(private), out_dir=out)
    assert tree(work / "model") == before
    run_tag(key=str(private))
    signed = tree(work / "model")
    code, _, err = mlci("lineage", "verify", "--lineage", LINEAGE, "--out", out)
    assert code == 2 and f"--out {out}: lies inside the model folder model" in err
    assert tree(work / "model") == signed  # no result document written into the model


def test_a_stripped_signature_fails_when_a_public_key_is_given(work: Path, run_tag: Tag,
                                                               keys: Keys) -> None:
    private, public = keys("a")
    run_tag(key=str(private))
    edit(LINEAGE, lambda d: (d.pop("attestation"), d["git"].update(commit="e" * 40)))
    assert failed(verify(public)) == ["record signature"]


def test_a_record_re_signed_by_another_key_fails(work: Path, run_tag: Tag, keys: Keys) -> None:
    private_a, public_a = keys("a")
    private_b, _ = keys("b")
    run_tag(key=str(private_a))
    signed_model = (work / "model/mlci.sig").read_bytes()
    run_tag(key=str(private_b))  # an attacker re-tags with their key, keeps our model signature
    (work / "model/mlci.sig").write_bytes(signed_model)
    result = verify(public_a)
    assert failed(result) == ["record signature"]
    assert "the record signature does not verify with the given public key" in (
        result.checks[0].message)


def test_a_signed_record_without_a_public_key_only_warns(work: Path, run_tag: Tag,
                                                         keys: Keys) -> None:
    private, _ = keys("a")
    run_tag(key=str(private))
    result = verify()
    assert [(c.name, c.status) for c in result.checks if "signature" in c.name] == [
        ("record signature", "warn"), ("signature", "warn")]


def test_a_failure_after_signing_puts_the_old_signature_back(work: Path, run_tag: Tag,
                                                             keys: Keys) -> None:
    """Nothing changes on exit 2: the model's signature is restored when data is refused."""
    private_a, _ = keys("a")
    private_b, _ = keys("b")
    run_tag(key=str(private_a))
    before = (work / "model/mlci.sig").read_bytes()
    (work / "data/eval/escape").symlink_to("/etc/hostname")
    with pytest.raises(InputError, match="escape is a symlink to /etc/hostname"):
        run_tag(key=str(private_b))
    assert (work / "model/mlci.sig").read_bytes() == before


def test_the_lineage_gate_refuses_an_edited_signed_record(work: Path, run_tag: Tag,
                                                          keys: Keys) -> None:
    private, public = keys("a")
    run_tag(key=str(private))
    cand = local_candidate(work / "model")
    key = signing.load_public_key(str(public))
    held = gates._lineage(work / ".mlci", cand, False, {}, key)
    assert held.status == "pass", held.message
    edit(LINEAGE, lambda d: d["git"].update(commit="d" * 40))
    tags: dict[str, str] = {}
    check = gates._lineage(work / ".mlci", cand, False, tags, key)
    assert check.status == "fail" and tags == {}
    assert "git.commit was edited after signing" in check.message


# 3. interoperable signatures --------------------------------------------------------------

def test_model_signing_verifies_what_mlci_signed(work: Path, run_tag: Tag, keys: Keys) -> None:
    from model_signing import verifying

    private, public = keys("a")
    run_tag(key=str(private))
    config = verifying.Config().use_elliptic_key_verifier(public_key=public)
    config.verify(work / "model", work / "model/mlci.sig")
    (work / "model/model.pkl").write_bytes(b"tampered")
    with pytest.raises(ValueError, match=r"Hash mismatch for 'model\.pkl'"):
        verifying.Config().use_elliptic_key_verifier(public_key=public).verify(
            work / "model", work / "model/mlci.sig")


def test_model_signing_cli_verifies_what_mlci_signed(work: Path, run_tag: Tag,
                                                     keys: Keys) -> None:
    """The command a user without mlci runs, as docs/lineage.md shows it."""
    import subprocess
    import sys

    private, public = keys("a")
    run_tag(key=str(private))
    tool = Path(sys.executable).with_name("model_signing")
    done = subprocess.run([str(tool), "verify", "key", "model", "--signature", "model/mlci.sig",
                           "--public_key", str(public)], capture_output=True, text=True,
                          check=False)
    assert (done.returncode, done.stdout.strip()) == (0, "Verification succeeded"), done.stderr
    (work / "model/new.py").write_text("x = 1\n")
    done = subprocess.run([str(tool), "verify", "key", "model", "--signature", "model/mlci.sig",
                           "--public_key", str(public)], capture_output=True, text=True,
                          check=False)
    assert done.returncode == 1 and "Extra files found in model 'model': new.py" in done.stderr


def test_model_signing_verifies_a_single_file_model(work: Path, keys: Keys) -> None:
    from model_signing import verifying

    private, public = keys("a")
    tag(["data/train.csv"], model="model/model.pkl", run_id=None, key=str(private),
              params={}, config_path=None, out_dir=".mlci", facts={}, no_git=False,
              tracking_uri=None)
    sig = work / "model/model.pkl.mlci.sig"
    verifying.Config().use_elliptic_key_verifier(public_key=public).verify(
        work / "model/model.pkl", sig)
    assert failed(verify(public)) == []


def _sign_with_model_signing(model: Path, private: Path, **hashing_options: Any) -> None:
    from model_signing import hashing
    from model_signing import signing as ms_signing

    config = hashing.Config().set_ignored_paths(paths=["mlci.sig"])
    if hashing_options.get("allow_symlinks"):
        config = config.set_allow_symlinks(True)
    ms_signing.Config().use_elliptic_key_signer(private_key=private).set_hashing_config(
        config).sign(model, model / "mlci.sig")


def test_mlci_verifies_what_model_signing_signed(work: Path, keys: Keys) -> None:
    private, public = keys("a")
    _, other = keys("b")
    _sign_with_model_signing(work / "model", private)
    key = signing.load_public_key(str(public))
    assert [(c.name, c.status) for c in signed_model_checks("model", key)] == [
        ("model: model", "pass"), ("signature", "pass")]
    assert [c.status for c in signed_model_checks(
        "model", signing.load_public_key(str(other)))] == ["fail"]
    (work / "model/MLmodel").write_text("flavors: {changed: true}\n")
    assert [(c.name, c.status) for c in signed_model_checks("model", key)] == [
        ("model changed: model/MLmodel", "fail"), ("signature", "fail")]


def test_a_model_signing_signature_over_a_symlink_never_verifies(work: Path,
                                                                 keys: Keys) -> None:
    """model_signing can follow links when asked; mlci never accepts one in a model."""
    private, public = keys("a")
    outside = work.parent / f"{work.name}-weights.pkl"
    outside.write_bytes(b"\x80\x04binary")
    (work / "model/model.pkl").unlink()
    (work / "model/model.pkl").symlink_to(outside)
    _sign_with_model_signing(work / "model", private, allow_symlinks=True)
    checks = signed_model_checks("model", signing.load_public_key(str(public)))
    assert [(c.name, c.status) for c in checks] == [
        ("model changed: model/model.pkl", "fail"), ("signature", "fail")]
    assert "(now a symlink to " in checks[0].message


def test_the_signature_gate_refuses_a_model_with_a_link(work: Path, keys: Keys) -> None:
    """`promote --require signature`: the bytes behind a link changed after signing."""
    private, public = keys("a")
    outside = work.parent / f"{work.name}-weights2.pkl"
    outside.write_bytes(b"\x80\x04binary")
    (work / "model/model.pkl").unlink()
    (work / "model/model.pkl").symlink_to(outside)
    _sign_with_model_signing(work / "model", private, allow_symlinks=True)
    outside.write_bytes(b"\x80\x04evil")
    cand = local_candidate(work / "model")
    tags: dict[str, str] = {}
    check = gates._signature(cand, signing.load_public_key(str(public)), tags)
    assert (check.status, tags) == ("fail", {})
    assert check.message == "fraud v4: its files changed after signing: model.pkl changed"


def test_the_signature_gate_passes_an_intact_model(work: Path, run_tag: Tag,
                                                   keys: Keys) -> None:
    private, public = keys("a")
    run_tag(key=str(private))
    cand = local_candidate(work / "model")
    tags: dict[str, str] = {}
    key = signing.load_public_key(str(public))
    check = gates._signature(cand, key, tags)
    digest = json.loads((work / LINEAGE).read_text())["model"]["digest"]
    assert (check.status, tags) == ("pass", {"mlci.model_digest": digest,
                                             "mlci.signature.key_id": signing.key_id(key)})


def test_openssl_verifies_the_dsse_signature_as_documented(work: Path, run_tag: Tag,
                                                           keys: Keys, tmp_path: Path) -> None:
    """docs/lineage.md: the DSSE pre-authentication encoding, checked with plain openssl."""
    import base64
    import subprocess

    openssl = shutil.which("openssl")
    if openssl is None:
        pytest.skip("openssl is not installed")
    private, public = keys("a")
    run_tag(key=str(private))
    envelope = json.loads((work / "model/mlci.sig").read_text())["dsseEnvelope"]
    payload = base64.b64decode(envelope["payload"])
    kind = envelope["payloadType"].encode()
    (tmp_path / "pae").write_bytes(b"DSSEv1 %d %s %d %s" % (len(kind), kind, len(payload),
                                                              payload))
    (tmp_path / "sig.der").write_bytes(base64.b64decode(envelope["signatures"][0]["sig"]))
    done = subprocess.run([openssl, "dgst", "-sha256", "-verify", str(public), "-signature",
                           str(tmp_path / "sig.der"), str(tmp_path / "pae")],
                          capture_output=True, text=True, check=False)
    assert (done.returncode, done.stdout.strip()) == (0, "Verified OK")
    statement = json.loads(payload)
    assert statement["predicateType"] == "https://model_signing/signature/v1.0"
    assert [r["name"] for r in statement["predicate"]["resources"]] == ["MLmodel", "model.pkl"]


# 4. record paths stay in the project ------------------------------------------------------

@pytest.mark.parametrize(("field", "path"), [
    ("data[0].path", "/etc"),
    ("data[0].path", "../../"),
    ("model.path", "/usr/lib"),
])
def test_a_record_path_outside_the_project_is_refused(work: Path, run_tag: Tag, field: str,
                                                      path: str) -> None:
    run_tag()
    section = "model" if field.startswith("model") else "data"
    edit(LINEAGE, lambda d: (d[section] if section == "model" else d[section][0]).update(
        path=path))
    code, _, err = mlci("lineage", "verify", "--lineage", LINEAGE)
    assert code == 2
    assert err == (f"mlci lineage-verify: error: {LINEAGE}: {field} {path!r} lies outside the "
                   f"project {os.path.realpath(work)}; verify reads only the project's files "
                   f"unless you name the path yourself: --allow-path {path}\n")
    assert not (work / ".mlci/lineage-verify.json").exists()


def test_a_path_named_with_allow_path_is_read(work: Path, tmp_path_factory:
                                              pytest.TempPathFactory) -> None:
    outside = tmp_path_factory.mktemp("shared-data")
    (outside / "train.csv").write_text("x,y\n1,0\n")
    tag([str(outside)], model=None, run_id=None, key=None, params={}, config_path=None,
              out_dir=".mlci", facts={}, no_git=False, tracking_uri=None)
    assert json.loads((work / LINEAGE).read_text())["data"][0]["path"] == outside.as_posix()
    with pytest.raises(InputError, match=r"data\[0\]\.path .* lies outside the project"):
        verify()
    assert failed(verify(allow_paths=[str(outside)])) == []
    code, _, _ = mlci("lineage", "verify", "--lineage", LINEAGE, "--allow-path", str(outside))
    assert code == 0


@pytest.mark.parametrize("body", [
    "[" * 100_000,
    '{"mediaType": "application/vnd.dev.sigstore.bundle.v0.3+json", "dsseEnvelope": '
    '{"payloadType": "application/vnd.in-toto+json", "payload": "W1tbW1tb", '
    '"signatures": [{"sig": 7}]}}',
    '{"mediaType": "application/vnd.dev.sigstore.bundle.v0.3+json", "dsseEnvelope": "x"}',
])
def test_a_hostile_signature_file_is_a_failed_check_not_a_crash(work: Path, run_tag: Tag,
                                                                keys: Keys, body: str) -> None:
    private, public = keys("a")
    run_tag(key=str(private))
    (work / "model/mlci.sig").write_text(body)
    result = verify(public)
    assert failed(result) == ["signature"]
    assert result.checks[-1].message.startswith("model/mlci.sig: ")


def test_a_deeply_nested_lineage_json_is_bad_input(work: Path) -> None:
    os.makedirs(".mlci")
    Path(LINEAGE).write_text("[" * 100_000)
    with pytest.raises(InputError, match=r"^\.mlci/lineage\.json: not valid JSON"):
        verify()
