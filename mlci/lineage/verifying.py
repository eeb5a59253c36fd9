"""Turning "recorded vs now" into checks: one failed check per changed, added or removed file.

A gate that says only "the data ID differs" sends people diffing folders by
hand; naming each file (capped, so a re-generated dataset does not produce a
million checks) tells them what happened. Every comparison re-reads the bytes:
the digest cache is never consulted here, because stat data can be forged
and this is the step that must not be fooled."""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, Any

from mlci.lineage import signing
from mlci.lineage.digest import SIGNATURE_NAME
from mlci.lineage.hashing import Change, Snapshot, diff, listing_id, snapshot
from mlci.result import Check

if TYPE_CHECKING:
    from cryptography.hazmat.primitives.asymmetric.ec import EllipticCurvePublicKey

MAX_CHANGES_SHOWN = 100  # per data path or model; the rest are counted in one more check


def _joined(record: Mapping[str, Any], rel: str) -> str:
    root = str(record["path"])
    if record["kind"] == "file":
        return root if rel == os.path.basename(root) else f"{root} ({rel})"
    return rel if root == "." else f"{root.rstrip('/')}/{rel}"


def _extra_exclusions(record: Mapping[str, Any], out_dirs: Iterable[str]) -> list[str]:
    """This run's own out folder, when it lies inside the root and held nothing recorded:
    excluding it can then hide only files mlci itself is writing."""
    root = os.path.abspath(str(record["path"]))
    found = []
    for out_dir in out_dirs:
        rel = os.path.relpath(os.path.abspath(out_dir), root)
        if rel.startswith("..") or rel == "." or os.path.isabs(rel):
            continue
        rel = rel.replace(os.sep, "/")
        if not any(str(e["path"]) == rel or str(e["path"]).startswith(rel + "/")
                   for e in record["entries"]):
            found.append(rel)
    return found


def compare(section: str, record: Mapping[str, Any], recorded_id: str,
            out_dirs: Iterable[str]) -> tuple[list[Check], Snapshot | None]:
    """Checks for one data path or the model, and its current snapshot (None if gone)."""
    path = str(record["path"])
    checks: list[Check] = []
    entries_id = listing_id(record["entries"])
    if entries_id != recorded_id:
        checks.append(Check(
            f"{section} record: {path}", "fail",
            f"lineage.json was edited: the entries recorded for {path} hash to {entries_id}, "
            f"not to the recorded {recorded_id}", extra={"path": path}))
    if not os.path.exists(path):  # a dangling link counts as gone
        checks.append(Check(
            f"{section} removed: {path}", "fail",
            f"{path} is gone: {record['files']} recorded file(s) missing",
            extra={"path": path, "change": "removed"}))
        return checks, None
    exclude = [*record["excluded"], *_extra_exclusions(record, out_dirs)]
    current = snapshot(path, exclude=exclude)
    changes = diff(record["entries"], current.entries)
    checks.extend(_change_checks(section, record, changes))
    if not changes and entries_id == recorded_id:
        checks.append(Check(
            f"{section}: {path}", "pass",
            f"{path}: {current.files} file(s), {current.bytes} bytes match {recorded_id}",
            extra={"path": path, "id": recorded_id}))
    return checks, current


def _change_checks(section: str, record: Mapping[str, Any], changes: list[Change]
                   ) -> list[Check]:
    checks = [
        Check(f"{section} {change.kind}: {_joined(record, change.path)}", "fail",
              f"{_joined(record, change.path)} {change.kind} since lineage was recorded "
              f"({change.detail})",
              extra={"path": _joined(record, change.path), "change": change.kind})
        for change in changes[:MAX_CHANGES_SHOWN]
    ]
    if len(changes) > MAX_CHANGES_SHOWN:
        rest = changes[MAX_CHANGES_SHOWN:]
        counts = {kind: sum(1 for c in rest if c.kind == kind)
                  for kind in ("changed", "added", "removed")}
        detail = ", ".join(f"{n} {kind}" for kind, n in counts.items() if n)
        checks.append(Check(f"{section} more changes: {record['path']}", "fail",
                            f"{record['path']}: {len(rest)} more change(s) not listed ({detail})",
                            extra={"path": str(record["path"])}))
    return checks


def signature_checks(model: Mapping[str, Any] | None, current: Snapshot | None,
                     key: EllipticCurvePublicKey | None) -> list[Check]:
    """A missing, damaged or foreign signature fails whenever a public key is given.

    Without a key the signature can still be checked against the key it embeds:
    that proves the model matches what was signed, not who signed it, so it is a
    warning that asks for `--public-key`."""
    if model is None:
        if key is not None:
            return [Check("signature", "fail", "--public-key was given but lineage.json "
                          "records no model, so nothing signed can be checked")]
        return []
    recorded = model.get("signature")
    if key is None and recorded is None:
        return [Check("signature", "skip", f"{model['path']} was not signed and no "
                      "--public-key was given")]
    sig = signing.read(signing.signature_path(str(model["path"])))
    if sig.document is None:
        return [Check("signature", "fail", str(sig.problem), extra={"path": str(sig.path)})]
    doc = sig.document
    signer = str(doc["key_id"])
    check_key = key if key is not None else signing.embedded_key(doc)
    if check_key is None or not signing.is_valid(check_key, str(doc["model_digest"]),
                                                 str(doc["signature"])):
        if key is not None:
            message = (f"{sig.path}: the signature does not verify with the given public key "
                       f"(key id {signing.key_id(key)}); the file names signer {signer}")
        else:
            message = f"{sig.path}: the signature does not verify with its own embedded key"
        return [Check("signature", "fail", message, extra={"path": str(sig.path)})]
    digest_now = current.id if current is not None else None
    if doc["model_digest"] != digest_now or doc["model_digest"] != model["digest"]:
        return [Check("signature", "fail",
                      f"{sig.path}: signs model digest {doc['model_digest']}, but the model "
                      f"now hashes to {digest_now} and lineage.json recorded {model['digest']}",
                      extra={"path": str(sig.path)})]
    if key is None:
        return [Check("signature", "warn",
                      f"{sig.path}: intact, signed by key {signer}; pass --public-key to check "
                      "that this is your key", extra={"path": str(sig.path), "key_id": signer})]
    return [Check("signature", "pass",
                  f"{sig.path}: valid signature of {doc['model_digest']} by key {signer}",
                  extra={"path": str(sig.path), "key_id": signer})]


def signed_model_checks(model_path: str, key: EllipticCurvePublicKey) -> list[Check]:
    """For promotion: check a model folder against its own `mlci.sig`, no lineage.json needed.

    The signature file carries the manifest, so this names each changed, added
    or removed file just as `lineage verify` does; `promote` calls it on the
    downloaded model before it moves an alias."""
    sig = signing.read(signing.signature_path(model_path))
    if sig.document is None:
        return [Check("signature", "fail", str(sig.problem), extra={"path": str(sig.path)})]
    entries = sig.document["entries"]
    record: dict[str, Any] = {
        "path": model_path, "kind": "dir" if os.path.isdir(model_path) else "file",
        "files": sum(1 for e in entries if isinstance(e, dict) and "sha256" in e),
        "excluded": [SIGNATURE_NAME] if os.path.isdir(model_path) else [],
        "entries": entries, "digest": sig.document["model_digest"], "signature": {},
    }
    checks, current = compare("model", record, str(record["digest"]), [])
    return checks + signature_checks(record, current, key)
