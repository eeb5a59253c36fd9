"""Model signatures in the OpenSSF `model-signing` format, made with `cryptography` alone.

A signature is a Sigstore bundle (v0.3 JSON) holding a DSSE envelope whose
payload is an in-toto Statement v1 with the predicate
`https://model_signing/signature/v1.0`: one resource (path, SHA-256) per
model file and, as subject, the SHA-256 over those digests. That is what
`model_signing` writes and verifies for key-based signing
(`model_signing verify key MODEL --signature MODEL/mlci.sig --public_key
KEY`), so anyone can check an mlci-signed model without mlci, and mlci checks
theirs. mlci does not import `model_signing`: it would bring the sigstore
client stack (and pyOpenSSL, which it imports without declaring) for what is
one ECDSA call over bytes mlci already hashes.

The lineage record is signed the same way (DSSE, in-toto Statement: both in
`mlci.lineage.dsse`) with the predicate type `LINEAGE_PREDICATE`; see
`mlci.lineage.attestation`.

What mlci never reads from a signature: which files to leave out. The
bundle's `ignore_paths` is written for `model_signing` (it names `mlci.sig`)
but verification always hashes every file but the signature file itself."""

from __future__ import annotations

import base64
import hashlib
import json
import os
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cryptography.exceptions import UnsupportedAlgorithm
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

from mlci.errors import InputError
from mlci.lineage.digest import SIGNATURE_NAME
from mlci.lineage.dsse import STATEMENT_TYPE, SignatureProblem, b64, open_envelope
from mlci.lineage.dsse import sign as dsse_sign
from mlci.lineage.hashing import listing_id

ALGORITHM = "ecdsa-p256-sha256"
PRIVATE_KEY_NAME = "mlci-signing.pem"
PUBLIC_KEY_NAME = "mlci-signing.pub.pem"
BUNDLE_MEDIA_TYPE = "application/vnd.dev.sigstore.bundle.v0.3+json"
MODEL_PREDICATE = "https://model_signing/signature/v1.0"
LINEAGE_PREDICATE = "https://mlci.dev/lineage/v1"
KEY_DETAILS = "PKIX_ECDSA_P256_SHA_256"
OLD_FORMAT = "mlci/signature/v1"
_HEX64 = re.compile(r"^[0-9a-f]{64}$")


def signature_path(model: str | os.PathLike[str]) -> Path:
    """Inside a folder, so the signature travels with the model's artifacts into a registry."""
    path = Path(model)
    return path / SIGNATURE_NAME if path.is_dir() else path.with_name(path.name + ".mlci.sig")


# keys -------------------------------------------------------------------------------------

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


def key_hint(key: ec.EllipticCurvePublicKey) -> str:
    """model_signing's key hint: hex SHA-256 of the PEM; its verifier refuses a mismatch."""
    return hashlib.sha256(public_pem(key).encode()).hexdigest()


def generate() -> tuple[bytes, bytes, str]:
    """A new key pair: (private PEM, public PEM, key id)."""
    private = ec.generate_private_key(ec.SECP256R1())
    private_pem = private.private_bytes(serialization.Encoding.PEM,
                                        serialization.PrivateFormat.PKCS8,
                                        serialization.NoEncryption())
    return private_pem, public_pem(private.public_key()).encode(), key_id(private.public_key())


# model statements -------------------------------------------------------------------------

def root_digest(resources: Sequence[tuple[str, str]]) -> str:
    """model_signing's subject digest: SHA-256 over the raw file digests, in listed order."""
    digest = hashlib.sha256()
    for _, hex_digest in resources:
        digest.update(bytes.fromhex(hex_digest))
    return digest.hexdigest()


def manifest(kind: str, entries: Sequence[Mapping[str, Any]]) -> dict[str, str]:
    """mlci entries as model_signing resources: path → SHA-256 (`.` for a single file).

    A link cannot be signed (its bytes live elsewhere), so one is bad input here."""
    files: dict[str, str] = {}
    for entry in entries:
        if "link" in entry:
            raise InputError(f"{entry['path']}: a symlink (to {entry['link']}) in the model; "
                             "mlci signs bytes, so a model must hold its files: copy the "
                             "target in")
        files["." if kind == "file" else str(entry["path"])] = str(entry["sha256"])
    return files


def _sorted(files: Mapping[str, str]) -> list[tuple[str, str]]:
    return sorted(files.items(), key=lambda item: item[0].encode("utf-8", "surrogateescape"))


def model_statement(name: str, files: Mapping[str, str]) -> dict[str, Any]:
    resources = _sorted(files)
    return {
        "_type": STATEMENT_TYPE,
        "subject": [{"name": name, "digest": {"sha256": root_digest(resources)}}],
        "predicateType": MODEL_PREDICATE,
        "predicate": {
            "serialization": {"method": "files", "hash_type": "sha256",
                              "allow_symlinks": False, "ignore_paths": [SIGNATURE_NAME]},
            "resources": [{"name": path, "algorithm": "sha256", "digest": digest}
                          for path, digest in resources],
        },
    }


def bundle(envelope: Mapping[str, Any], key: ec.EllipticCurvePublicKey) -> dict[str, Any]:
    """A Sigstore bundle as model_signing's key signer writes it, plus the public key
    itself (`rawBytes`, which model_signing's reader drops) for integrity checks
    when no key is given."""
    der = key.public_bytes(serialization.Encoding.DER,
                           serialization.PublicFormat.SubjectPublicKeyInfo)
    return {
        "mediaType": BUNDLE_MEDIA_TYPE,
        "verificationMaterial": {
            "publicKey": {"hint": key_hint(key), "rawBytes": base64.b64encode(der).decode(),
                          "keyDetails": KEY_DETAILS},
            "tlogEntries": [],
        },
        "dsseEnvelope": dict(envelope),
    }


def sign_model(key: ec.EllipticCurvePrivateKey, name: str, files: Mapping[str, str]
               ) -> dict[str, Any]:
    return bundle(dsse_sign(key, model_statement(name, files), key_id(key.public_key())),
                  key.public_key())


def sign(key: ec.EllipticCurvePrivateKey, model_digest: str, entries: list[dict[str, Any]],
         name: str = "model") -> dict[str, Any]:
    """The signature document for a model folder's snapshot (`model_digest` is its ID)."""
    if listing_id(entries) != model_digest:
        raise ValueError(f"entries hash to {listing_id(entries)}, not {model_digest}")
    return sign_model(key, name, manifest("dir", entries))


def write(path: Path, document: Mapping[str, Any]) -> None:
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
    except (OSError, ValueError, RecursionError) as exc:
        return SignatureFile(path, None, f"{path}: not a readable signature ({exc})")
    if isinstance(document, dict) and document.get("schema") == OLD_FORMAT:
        return SignatureFile(path, None, f"{path}: an {OLD_FORMAT} signature, which did not "
                             "sign the file list; sign the model again with this mlci")
    if (not isinstance(document, dict) or document.get("mediaType") != BUNDLE_MEDIA_TYPE
            or not isinstance(document.get("dsseEnvelope"), dict)):
        return SignatureFile(path, None, f"{path}: not a signature bundle (expected mediaType "
                             f"{BUNDLE_MEDIA_TYPE} with a dsseEnvelope)")
    return SignatureFile(path, document)


@dataclass(frozen=True)
class SignedModel:
    """What a verified model signature says: the file digests, under a model name."""

    name: str
    root: str
    files: dict[str, str]  # relative POSIX path ("." for a single file) → hex SHA-256


def _safe_name(name: Any) -> str:
    if not isinstance(name, str) or not name:
        raise SignatureProblem("a resource without a name")
    if name != "." and (name.startswith("/") or any(
            part in ("", ".", "..") for part in name.split("/"))):
        raise SignatureProblem(f"resource name {name!r} is not a plain relative path")
    return name


def _resources(predicate: Any) -> list[tuple[str, str]]:
    if not isinstance(predicate, dict) or not isinstance(predicate.get("resources"), list):
        raise SignatureProblem("the statement has no resources")
    serialization = predicate.get("serialization")
    if not isinstance(serialization, dict) or serialization.get("method") != "files" or (
            serialization.get("hash_type") != "sha256"):
        raise SignatureProblem("only the `files` serialization with sha256 is supported, got "
                               f"{serialization!r}")
    resources: list[tuple[str, str]] = []
    for item in predicate["resources"]:
        if not isinstance(item, dict) or item.get("algorithm") != "sha256" or not (
                isinstance(item.get("digest"), str) and _HEX64.match(item["digest"])):
            raise SignatureProblem(f"resource {item!r} is not a sha256 digest")
        resources.append((_safe_name(item.get("name")), item["digest"]))
    if len({name for name, _ in resources}) != len(resources):
        raise SignatureProblem("the statement names a file twice")
    return resources


def open_model(document: Mapping[str, Any], key: ec.EllipticCurvePublicKey) -> SignedModel:
    """Verify a model signature bundle with `key`; the signed file digests, or SignatureProblem."""
    statement = open_envelope(document.get("dsseEnvelope"), key, key_id(key))
    if statement.get("predicateType") != MODEL_PREDICATE:
        raise SignatureProblem(f"predicateType {statement.get('predicateType')!r}, expected "
                               f"{MODEL_PREDICATE!r}")
    subjects = statement.get("subject")
    if not isinstance(subjects, list) or len(subjects) != 1 or not isinstance(subjects[0], dict):
        raise SignatureProblem("expected exactly one subject")
    digest = subjects[0].get("digest")
    root = digest.get("sha256") if isinstance(digest, dict) else None
    resources = _resources(statement.get("predicate"))
    if root != root_digest(resources):
        raise SignatureProblem(f"the subject digest {root} is not the digest of the signed "
                               "resources")
    return SignedModel(str(subjects[0].get("name")), str(root), dict(resources))


def embedded_key(document: Mapping[str, Any]) -> ec.EllipticCurvePublicKey | None:
    """The key the signer claims; proves integrity, not identity (anyone can re-sign)."""
    material = document.get("verificationMaterial")
    public = material.get("publicKey") if isinstance(material, dict) else None
    raw = public.get("rawBytes") if isinstance(public, dict) else None
    try:
        key = serialization.load_der_public_key(b64(raw, "rawBytes"))
    except (SignatureProblem, ValueError, UnsupportedAlgorithm):
        return None
    if not isinstance(key, ec.EllipticCurvePublicKey) or key.curve.name != "secp256r1":
        return None
    return key


def load_public_pem(text: str) -> ec.EllipticCurvePublicKey | None:
    """A P-256 public key from PEM text in a record, or None if it is not one."""
    try:
        key = serialization.load_pem_public_key(text.encode())
    except (ValueError, UnsupportedAlgorithm):
        return None
    if not isinstance(key, ec.EllipticCurvePublicKey) or key.curve.name != "secp256r1":
        return None
    return key
