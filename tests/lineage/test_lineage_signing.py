"""Keys and signatures: keygen, PEM text vs path, wrong kinds of key, wrong signer."""

from __future__ import annotations

import base64
import stat
from collections.abc import Callable
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa

from mlci.errors import InputError
from mlci.lineage import dsse, signing
from mlci.lineage.keygen import keygen

Keys = Callable[[str], tuple[Path, Path]]
DIGEST = "sha256:" + "ab" * 32


def test_keygen_writes_a_private_key_only_its_owner_can_read(tmp_path: Path) -> None:
    result = keygen(str(tmp_path / "k"))
    private, public = tmp_path / "k/mlci-signing.pem", tmp_path / "k/mlci-signing.pub.pem"
    assert stat.S_IMODE(private.stat().st_mode) == 0o600
    assert public.read_text().startswith("-----BEGIN PUBLIC KEY-----")
    kid = signing.key_id(signing.load_public_key(str(public)))
    assert (result.step, result.verdict, result.checks[0].extra["key_id"]) == (
        "lineage-keygen", "pass", kid)
    assert signing.key_id(signing.load_private_key(str(private)).public_key()) == kid


def test_keygen_never_overwrites(keys: Keys) -> None:
    private, _ = keys("a")
    before = private.read_bytes()
    with pytest.raises(InputError, match=r"mlci-signing\.pem: already exists"):
        keygen(str(private.parent))
    assert private.read_bytes() == before


def test_key_from_pem_text_or_path_is_the_same_key(keys: Keys) -> None:
    private, _ = keys("a")
    from_path = signing.load_private_key(str(private))
    from_text = signing.load_private_key(private.read_text())
    assert signing.key_id(from_path.public_key()) == signing.key_id(from_text.public_key())


def test_signature_verifies_with_its_key_only(keys: Keys) -> None:
    private_a, public_a = keys("a")
    _, public_b = keys("b")
    files = {"MLmodel": "ab" * 32, "sub/w.bin": "cd" * 32}
    doc = signing.sign_model(signing.load_private_key(str(private_a)), "model", files)
    signed = signing.open_model(doc, signing.load_public_key(str(public_a)))
    assert (signed.name, signed.files) == ("model", files)
    with pytest.raises(dsse.SignatureProblem, match="does not verify with key"):
        signing.open_model(doc, signing.load_public_key(str(public_b)))
    doc["dsseEnvelope"]["signatures"][0]["sig"] = "!!not b64"
    with pytest.raises(dsse.SignatureProblem, match="not valid base64"):
        signing.open_model(doc, signing.load_public_key(str(public_a)))


def test_an_edited_statement_no_longer_verifies(keys: Keys) -> None:
    """The payload is what is signed: one changed digest breaks the signature."""
    private, public = keys("a")
    doc = signing.sign_model(signing.load_private_key(str(private)), "model",
                             {"w.bin": "ab" * 32})
    payload = base64.b64decode(doc["dsseEnvelope"]["payload"])
    edited = payload.replace(b"ab" * 32, b"cd" * 32)
    assert edited != payload
    doc["dsseEnvelope"]["payload"] = base64.b64encode(edited).decode()
    with pytest.raises(dsse.SignatureProblem, match="does not verify with key"):
        signing.open_model(doc, signing.load_public_key(str(public)))


@pytest.mark.parametrize(("name", "problem"), [
    ("../outside.pkl", "not a plain relative path"),
    ("/etc/passwd", "not a plain relative path"),
    ("a//b", "not a plain relative path"),
    ("a/./b", "not a plain relative path"),
])
def test_a_signed_statement_with_a_hostile_file_name_is_refused(keys: Keys, name: str,
                                                                problem: str) -> None:
    private, public = keys("a")
    doc = signing.sign_model(signing.load_private_key(str(private)), "model",
                             {name: "ab" * 32})
    with pytest.raises(dsse.SignatureProblem, match=problem):
        signing.open_model(doc, signing.load_public_key(str(public)))


def _pem(key: ec.EllipticCurvePrivateKey | rsa.RSAPrivateKey) -> str:
    return key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                             serialization.NoEncryption()).decode()


@pytest.mark.parametrize(("make", "got"), [
    (lambda: rsa.generate_private_key(65537, 2048), "an RSA 2048-bit key"),
    (lambda: ec.generate_private_key(ec.SECP384R1()), "an EC key on curve secp384r1"),
])
def test_a_key_that_is_not_p256_is_bad_input(tmp_path: Path, make: Callable[[], object],
                                             got: str) -> None:
    path = tmp_path / "key.pem"
    path.write_text(_pem(make()))  # type: ignore[arg-type]
    with pytest.raises(InputError, match=rf"signing key {path}: expected an ECDSA P-256 "
                                         rf"private key in PEM, got {got}"):
        signing.load_private_key(str(path))


def test_pem_text_is_never_echoed_in_errors() -> None:
    text = "-----BEGIN PRIVATE KEY-----\nbm90IGEga2V5\n-----END PRIVATE KEY-----\n"
    with pytest.raises(InputError) as caught:
        signing.load_private_key(text)
    assert str(caught.value).startswith("the signing key given as PEM text: not a PEM private")
    assert "bm90" not in str(caught.value)


def test_missing_key_file_is_bad_input(tmp_path: Path) -> None:
    with pytest.raises(InputError, match=rf"signing key {tmp_path}/nope\.pem: no such file"):
        signing.load_private_key(str(tmp_path / "nope.pem"))


def test_encrypted_key_is_bad_input(tmp_path: Path) -> None:
    key = ec.generate_private_key(ec.SECP256R1())
    path = tmp_path / "enc.pem"
    path.write_bytes(key.private_bytes(serialization.Encoding.PEM,
                                       serialization.PrivateFormat.PKCS8,
                                       serialization.BestAvailableEncryption(b"pw")))
    with pytest.raises(InputError, match=r"enc\.pem: the key is encrypted"):
        signing.load_private_key(str(path))


def test_verify_refuses_a_private_key_as_public_key(keys: Keys) -> None:
    private, _ = keys("a")
    with pytest.raises(InputError, match=r"public key .*mlci-signing\.pem: this is a private"):
        signing.load_public_key(str(private))


def test_signature_file_lives_inside_a_folder_and_beside_a_file(tmp_path: Path) -> None:
    (tmp_path / "model").mkdir()
    (tmp_path / "model.pkl").write_bytes(b"x")
    assert signing.signature_path(tmp_path / "model") == tmp_path / "model/mlci.sig"
    assert signing.signature_path(tmp_path / "model.pkl") == tmp_path / "model.pkl.mlci.sig"


def test_reading_a_damaged_signature_reports_instead_of_raising(tmp_path: Path) -> None:
    path = tmp_path / "mlci.sig"
    assert signing.read(path).problem == f"{path}: missing: the model is not signed"
    path.write_text('{"mediaType": "text/plain"}')
    assert "not a signature bundle" in str(signing.read(path).problem)
    path.write_text('{"schema": "mlci/signature/v1", "model_digest": "sha256:00"}')
    assert "did not sign the file list; sign the model again" in str(signing.read(path).problem)


def test_pem_text_with_flattened_newlines_is_accepted(keys: Keys) -> None:
    private, _ = keys("a")
    flattened = private.read_text().strip().replace("\n", "\\n")
    key = signing.load_private_key(flattened)
    assert signing.key_id(key.public_key()) == signing.key_id(
        signing.load_private_key(str(private)).public_key())
