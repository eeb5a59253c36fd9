"""ECDSA P-256 signatures over a model folder's manifest, with `cryptography` directly.

Why not sigstore's `model-signing`: it imports OpenSSL (pyOpenSSL) without
declaring it, pulls in the sigstore client stack for a feature mlci uses only
with local keys, and writes its own manifest format that `verify` would have
to re-derive to name a changed file. mlci already hashes the model folder
into the same listing it records in lineage.json, so signing needs only one
ECDSA call over that listing's digest; `cryptography` is already installed
with MLflow, and an auditor can check a signature with the `openssl` command.

What is signed is the statement `mlci-model-signature-v1\\n<model digest>`;
the digest commits to every file's path, size and SHA-256, so changing,
adding or removing any file invalidates the signature. The signature file
carries the manifest too, so a model can be verified without its lineage.json
(before promotion, after a registry round trip)."""

from __future__ import annotations

import base64
import hashlib
import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cryptography.exceptions import InvalidSignature, UnsupportedAlgorithm
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec

from mlci.errors import InputError
from mlci.lineage.digest import SIGNATURE_NAME

ALGORITHM = "ecdsa-p256-sha256"
SIGNATURE_FORMAT = "mlci/signature/v1"
PRIVATE_KEY_NAME = "mlci-signing.pem"
PUBLIC_KEY_NAME = "mlci-signing.pub.pem"
_STATEMENT = b"mlci-model-signature-v1\n"


def signature_path(model: str | os.PathLike[str]) -> Path:
    """Inside a folder, so the signature travels with the model's artifacts into a registry."""
    path = Path(model)
    return path / SIGNATURE_NAME if path.is_dir() else path.with_name(path.name + ".mlci.sig")


def _read_pem(value: str, what: str) -> tuple[bytes, str]:
    """PEM text (from an environment variable) or a path to a PEM file."""
    if value.lstrip().startswith("-----BEGIN"):
        text = value.strip()
        if "\n" not in text and "\\n" in text:  # a secret store that flattened the newlines
            text = text.replace("\\n", "\n")
        return text.encode() + b"\n", f"the {what} given as PEM text"
    path = Path(value)
    try:
        return path.read_bytes(), f"{what} {path}"
    except FileNotFoundError as exc:
        raise InputError(f"{what} {path}: no such file (expected a PEM file path or PEM "
                         "text starting with -----BEGIN)") from exc
    except OSError as exc:
        raise InputError(f"{what} {path}: cannot read ({exc.strerror or exc})") from exc


def _describe_key(key: object) -> str:
    curve = getattr(getattr(key, "curve", None), "name", None)
    if curve:
        return f"an EC key on curve {curve}"
    size = getattr(key, "key_size", None)
    kind = type(key).__name__.replace("PrivateKey", "").replace("PublicKey", "").lstrip("_")
    return f"an {kind} {size}-bit key" if size else f"an {kind} key"


def _require_p256(key: object, label: str, expected: str) -> None:
    if getattr(getattr(key, "curve", None), "name", None) != "secp256r1":
        got = _describe_key(key)
        raise InputError(f"{label}: expected an ECDSA P-256 {expected} in PEM, got {got}; "
                         "make one with `mlci lineage keygen`")


def load_private_key(value: str) -> ec.EllipticCurvePrivateKey:
    data, label = _read_pem(value, "signing key")
    try:
        key = serialization.load_pem_private_key(data, password=None)
    except TypeError as exc:
        raise InputError(f"{label}: the key is encrypted; mlci needs an unencrypted PEM key "
                         "(keep it in a CI secret instead)") from exc
    except (ValueError, UnsupportedAlgorithm) as exc:
        raise InputError(f"{label}: not a PEM private key; expected an ECDSA P-256 private "
                         "key as written by `mlci lineage keygen`") from exc
    _require_p256(key, label, "private key")
    assert isinstance(key, ec.EllipticCurvePrivateKey)
    return key


def load_public_key(value: str) -> ec.EllipticCurvePublicKey:
    data, label = _read_pem(value, "public key")
    if b"PRIVATE KEY-----" in data:
        raise InputError(f"{label}: this is a private key; verify needs only the public key "
                         f"({PUBLIC_KEY_NAME}), so keep the private one out of this job")
    try:
        key = serialization.load_pem_public_key(data)
    except (ValueError, UnsupportedAlgorithm) as exc:
        raise InputError(f"{label}: not a PEM public key; expected an ECDSA P-256 public key "
                         f"such as {PUBLIC_KEY_NAME}") from exc
    _require_p256(key, label, "public key")
    assert isinstance(key, ec.EllipticCurvePublicKey)
    return key


def public_pem(key: ec.EllipticCurvePublicKey) -> str:
    return key.public_bytes(serialization.Encoding.PEM,
                            serialization.PublicFormat.SubjectPublicKeyInfo).decode()


def key_id(key: ec.EllipticCurvePublicKey) -> str:
    """SHA-256 of the DER public key: short enough to compare by eye, unique per key."""
    der = key.public_bytes(serialization.Encoding.DER,
                           serialization.PublicFormat.SubjectPublicKeyInfo)
    return "sha256:" + hashlib.sha256(der).hexdigest()


def generate() -> tuple[bytes, bytes, str]:
    """A new key pair: (private PEM, public PEM, key id)."""
    private = ec.generate_private_key(ec.SECP256R1())
    private_pem = private.private_bytes(serialization.Encoding.PEM,
                                        serialization.PrivateFormat.PKCS8,
                                        serialization.NoEncryption())
    return private_pem, public_pem(private.public_key()).encode(), key_id(private.public_key())


def sign(key: ec.EllipticCurvePrivateKey, model_digest: str, entries: list[dict[str, Any]]
         ) -> dict[str, Any]:
    """The signature document written beside (inside) the model."""
    signature = key.sign(_STATEMENT + model_digest.encode(), ec.ECDSA(hashes.SHA256()))
    public = key.public_key()
    return {
        "schema": SIGNATURE_FORMAT,
        "algorithm": ALGORITHM,
        "model_digest": model_digest,
        "key_id": key_id(public),
        "public_key": public_pem(public),
        "signature": base64.b64encode(signature).decode(),
        "entries": entries,
    }


def write(path: Path, document: dict[str, Any]) -> None:
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(json.dumps(document, indent=1) + "\n", encoding="utf-8")
    os.replace(tmp, path)


@dataclass
class SignatureFile:
    """A parsed signature file; `problem` says why it cannot be trusted at all."""

    path: Path
    document: dict[str, Any] | None
    problem: str | None = None


def read(path: Path) -> SignatureFile:
    """Never raises on content: a damaged signature is a verification failure, not bad usage."""
    if not path.is_file():
        return SignatureFile(path, None, f"{path}: missing: the model is not signed")
    try:
        document = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        return SignatureFile(path, None, f"{path}: not a readable mlci signature ({exc})")
    required = {"schema": str, "algorithm": str, "model_digest": str, "key_id": str,
                "public_key": str, "signature": str, "entries": list}
    if not isinstance(document, dict) or any(not isinstance(document.get(name), kind)
                                             for name, kind in required.items()):
        return SignatureFile(path, None, f"{path}: not an mlci signature file (expected "
                             f"fields {', '.join(required)})")
    if document["schema"] != SIGNATURE_FORMAT or document["algorithm"] != ALGORITHM:
        return SignatureFile(path, None, f"{path}: unsupported signature format "
                             f"{document['schema']} / {document['algorithm']}")
    return SignatureFile(path, document)


def is_valid(key: ec.EllipticCurvePublicKey, model_digest: str, signature_b64: str) -> bool:
    try:
        signature = base64.b64decode(signature_b64, validate=True)
        key.verify(signature, _STATEMENT + model_digest.encode(), ec.ECDSA(hashes.SHA256()))
    except (InvalidSignature, ValueError):
        return False
    return True


def embedded_key(document: dict[str, Any]) -> ec.EllipticCurvePublicKey | None:
    """The key the signer claims; proves integrity, not identity (anyone can re-sign)."""
    try:
        key = serialization.load_pem_public_key(str(document["public_key"]).encode())
    except (ValueError, UnsupportedAlgorithm):
        return None
    return key if isinstance(key, ec.EllipticCurvePublicKey) else None
