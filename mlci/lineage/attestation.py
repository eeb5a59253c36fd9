"""The signed lineage record: a DSSE envelope over an in-toto Statement kept in lineage.json.

`verify` used to trust lineage.json as written, so anyone who could edit the
file (an artifact, a cache) could change the commit, a data ID or the list of
files left out, and still pass. With a key, `tag` now signs the record: the
statement's predicate is the whole record (`attestation` itself left out)
except the `entries` listings, which are signed through the IDs they hash to
(`data[].id`, `model.digest`) and which `verify` re-hashes anyway — that keeps
the signed payload small for data sets of many files. The subject is the
model, by the same SHA-256 its model_signing signature names, so the record
and `mlci.sig` vouch for the same files.

`verify` compares the signed predicate with the record field by field and
names the first that differs (`git.commit`, `data[0].excluded`, …)."""

from __future__ import annotations

import copy
import json
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from mlci.lineage import dsse, signing
from mlci.result import Check

if TYPE_CHECKING:
    from cryptography.hazmat.primitives.asymmetric.ec import (
        EllipticCurvePrivateKey,
        EllipticCurvePublicKey,
    )

FIELD = "attestation"
CHECK = "record signature"


def predicate(document: Mapping[str, Any]) -> dict[str, Any]:
    """The record as signed: everything but the attestation and the entry listings."""
    record = copy.deepcopy({k: v for k, v in document.items() if k != FIELD})
    for section in [*record.get("data", []), record.get("model")]:
        if isinstance(section, dict):
            section.pop("entries", None)
    return record


def _hex(value: str) -> str:
    return value.split(":", 1)[1] if value.startswith("sha256:") else value


def subjects(document: Mapping[str, Any]) -> list[dict[str, Any]]:
    """The model when there is one (its model_signing digest), else each data path (its ID)."""
    model = document.get("model")
    if isinstance(model, dict):
        single = model["kind"] == "file"
        files = sorted(("." if single else str(e["path"]), str(e["sha256"]))
                       for e in model["entries"] if "sha256" in e and "link" not in e)
        files.sort(key=lambda item: item[0].encode("utf-8", "surrogateescape"))
        return [{"name": str(model["path"]), "digest": {"sha256": signing.root_digest(files)}}]
    return [{"name": str(r["path"]), "digest": {"sha256": _hex(str(r["id"]))}}
            for r in document["data"]]


def statement(document: Mapping[str, Any]) -> dict[str, Any]:
    return {"_type": dsse.STATEMENT_TYPE, "subject": subjects(document),
            "predicateType": signing.LINEAGE_PREDICATE, "predicate": predicate(document)}


def attest(document: Mapping[str, Any], key: EllipticCurvePrivateKey) -> dict[str, Any]:
    """The `attestation` field: the envelope, and the signer's key for checks without one."""
    public = key.public_key()
    return {"key_id": signing.key_id(public), "public_key": signing.public_pem(public),
            "envelope": dsse.sign(key, statement(document), signing.key_id(public))}


def first_difference(signed: Any, current: Any, where: str = "") -> str | None:
    """The path of the first field that differs, e.g. `git.commit` or `data[1].excluded`."""
    if isinstance(signed, dict) and isinstance(current, dict):
        for name in sorted(signed.keys() | current.keys()):
            here = f"{where}.{name}" if where else str(name)
            if name not in signed or name not in current:
                return here
            found = first_difference(signed[name], current[name], here)
            if found is not None:
                return found
        return None
    if isinstance(signed, list) and isinstance(current, list):
        for index, (a, b) in enumerate(zip(signed, current, strict=False)):
            found = first_difference(a, b, f"{where}[{index}]")
            if found is not None:
                return found
        return None if len(signed) == len(current) else where
    same = type(signed) is type(current) and signed == current
    return None if same else (where or "(top level)")


def _value(record: Any, path: str) -> str:
    """A short rendering of one field for a message, `(absent)` if not there."""
    absent = object()
    node: Any = record
    for part in path.replace("[", ".[").split("."):
        if part.startswith("["):
            index = int(part[1:-1])
            node = node[index] if isinstance(node, list) and index < len(node) else absent
        elif part:
            node = node.get(part, absent) if isinstance(node, dict) else absent
        if node is absent:
            return "(absent)"
    text = json.dumps(node, sort_keys=True)
    return text if len(text) <= 80 else text[:77] + "…"


def check(document: Mapping[str, Any], key: EllipticCurvePublicKey | None,
          source: str) -> list[Check]:
    """Is this record the one that was signed, and by `key`?"""
    attestation = document.get(FIELD)
    if attestation is None:
        if key is not None:
            return [Check(CHECK, "fail", f"{source}: the lineage record is not signed, so any "
                          "field of it could have been edited; tag with --key to sign it")]
        return [Check(CHECK, "skip", f"{source}: the lineage record is not signed and no "
                      "--public-key was given")]
    claimed = str(attestation.get("key_id"))
    check_key = key if key is not None else signing.load_public_pem(
        str(attestation.get("public_key")))
    if check_key is None:
        return [Check(CHECK, "fail", f"{source}: attestation.public_key is not a P-256 key")]
    try:
        signed = dsse.open_envelope(attestation.get("envelope"), check_key,
                                    signing.key_id(check_key))
    except dsse.SignatureProblem as exc:
        by = "the given public key" if key is not None else "its own public key"
        return [Check(CHECK, "fail", f"{source}: the record signature does not verify with "
                      f"{by} ({exc}); it names signer {claimed}")]
    return _compare(signed, document, key, claimed, source)


def _compare(signed: Mapping[str, Any], document: Mapping[str, Any],
             key: EllipticCurvePublicKey | None, claimed: str, source: str) -> list[Check]:
    if signed.get("predicateType") != signing.LINEAGE_PREDICATE:
        return [Check(CHECK, "fail", f"{source}: the signed statement is a "
                      f"{signed.get('predicateType')!r}, not a lineage record")]
    current = statement(document)
    where = first_difference(signed.get("predicate"), current["predicate"])
    if where is not None:
        return [Check(f"record: {where}", "fail",
                      f"{source}: {where} was edited after signing: signed "
                      f"{_value(signed.get('predicate'), where)}, now "
                      f"{_value(current['predicate'], where)}", extra={"field": where})]
    if signed.get("subject") != current["subject"]:
        return [Check("record: model.entries", "fail",
                      f"{source}: the model files listed no longer match the signed subject "
                      "digest", extra={"field": "model.entries"})]
    signer = signing.key_id(key) if key is not None else claimed
    if key is None:
        return [Check(CHECK, "warn", f"{source}: intact, signed by key {signer}; pass "
                      "--public-key to check that this is your key", extra={"key_id": signer})]
    return [Check(CHECK, "pass", f"{source}: the record is signed by key {signer}; no field "
                  "was edited since", extra={"key_id": signer})]
