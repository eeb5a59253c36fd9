"""DSSE envelopes over in-toto Statements: what both signatures mlci writes are made of.

A model's `mlci.sig` (model_signing's format, `mlci.lineage.signing`) and the
lineage record's `attestation` (`mlci.lineage.attestation`) sign a Statement
the same way, so one implementation of the envelope serves both, and a bug in
opening one cannot hide in the other. Key handling stays in `signing`: the
caller names the key (its key ID) that the envelope records."""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Mapping
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec

PAYLOAD_TYPE = "application/vnd.in-toto+json"
STATEMENT_TYPE = "https://in-toto.io/Statement/v1"


class SignatureProblem(Exception):
    """Why a signature cannot be trusted; a verification failure, never bad usage."""


def canonical_json(value: Any) -> bytes:
    """Sorted keys, no spaces, ASCII: the same bytes for the same statement everywhere."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"),
                      ensure_ascii=True).encode()


def pae(payload_type: str, payload: bytes) -> bytes:
    """DSSE v1 pre-authentication encoding: what the ECDSA signature covers."""
    kind = payload_type.encode()
    return b"DSSEv1 %d %s %d %s" % (len(kind), kind, len(payload), payload)


def sign(key: ec.EllipticCurvePrivateKey, statement: Mapping[str, Any], keyid: str
         ) -> dict[str, Any]:
    payload = canonical_json(statement)
    signature = key.sign(pae(PAYLOAD_TYPE, payload), ec.ECDSA(hashes.SHA256()))
    return {"payload": base64.b64encode(payload).decode(), "payloadType": PAYLOAD_TYPE,
            "signatures": [{"sig": base64.b64encode(signature).decode(), "keyid": keyid}]}


def b64(value: Any, what: str) -> bytes:
    """Strict base64 from a signature file; anything else is a SignatureProblem."""
    if not isinstance(value, str):
        raise SignatureProblem(f"{what} is not base64 text")
    try:
        return base64.b64decode(value, validate=True)
    except (binascii.Error, ValueError) as exc:
        raise SignatureProblem(f"{what} is not valid base64") from exc


def open_envelope(envelope: Any, key: ec.EllipticCurvePublicKey, keyid: str) -> dict[str, Any]:
    """The statement inside a DSSE envelope, only if `key` (named `keyid` in messages)
    signed it; else SignatureProblem."""
    if not isinstance(envelope, dict):
        raise SignatureProblem("no DSSE envelope")
    if envelope.get("payloadType") != PAYLOAD_TYPE:
        raise SignatureProblem(f"payloadType {envelope.get('payloadType')!r}, expected "
                               f"{PAYLOAD_TYPE!r}")
    signatures = envelope.get("signatures")
    if not isinstance(signatures, list) or len(signatures) != 1 or not isinstance(
            signatures[0], dict):
        raise SignatureProblem("expected exactly one signature in the DSSE envelope")
    payload = b64(envelope.get("payload"), "the DSSE payload")
    signature = b64(signatures[0].get("sig"), "the DSSE signature")
    try:
        key.verify(signature, pae(PAYLOAD_TYPE, payload), ec.ECDSA(hashes.SHA256()))
    except InvalidSignature as exc:
        raise SignatureProblem(f"the signature does not verify with key {keyid}") from exc
    try:
        statement = json.loads(payload)
    except (ValueError, RecursionError) as exc:
        raise SignatureProblem("the signed payload is not JSON") from exc
    if not isinstance(statement, dict) or statement.get("_type") != STATEMENT_TYPE:
        raise SignatureProblem(f"the signed payload is not an in-toto {STATEMENT_TYPE}")
    return statement


def claimed_signer(envelope: Any) -> str:
    """The key ID an envelope names (unauthenticated: only for messages)."""
    try:
        keyid = envelope["signatures"][0]["keyid"]
    except (KeyError, IndexError, TypeError):
        return "(none named)"
    return str(keyid) if keyid else "(none named)"
