"""Turning "recorded vs now" into checks: one failed check per changed, added or removed file.

A gate that says only "the data ID differs" sends people diffing folders by
hand; naming each file (capped, so a re-generated dataset does not produce a
million checks) tells them what happened. Every comparison re-reads the bytes:
the digest cache is never consulted here, because stat data can be forged
and this is the step that must not be fooled.

Nothing that decides *what* is checked comes from the record: the files left
out are mlci's own (the signature file, this run's `--out` folder), and a
record that lists others fails."""

from __future__ import annotations

import os
import time
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from mlci.lineage import attestation, document, dsse, signing
from mlci.lineage.digest import SIGNATURE_NAME
from mlci.lineage.hashing import Change, Snapshot, diff, listing_id, snapshot
from mlci.lineage.paths import (
    check_record_paths,
    data_exclusions,
    project_root,
    refuse_out_in_model,
)
from mlci.result import Check, Result, Status, unique_names

if TYPE_CHECKING:
    from cryptography.hazmat.primitives.asymmetric.ec import EllipticCurvePublicKey

MAX_CHANGES_SHOWN = 100  # per data path or model; the rest are counted in one more check


def model_exclusions(path: str) -> list[str]:
    """Fixed by mlci: the signature file inside a model folder, nothing else."""
    return [SIGNATURE_NAME] if os.path.isdir(path) else []


def _joined(record: Mapping[str, Any], rel: str) -> str:
    root = str(record["path"])
    if record["kind"] == "file":
        return root if rel in (os.path.basename(root), ".") else f"{root} ({rel})"
    return rel if root == "." else f"{root.rstrip('/')}/{rel}"


def compare(section: str, record: Mapping[str, Any], recorded_id: str, exclude: Iterable[str],
            link_roots: Sequence[str] | None = None) -> tuple[list[Check], Snapshot | None]:
    """Checks for one data path or the model, and its current snapshot (None if gone).

    `exclude` is what mlci leaves out here and now; the record's own `excluded`
    list must say the same, or the record was edited (or verify runs with
    another --out than tag did)."""
    path = str(record["path"])
    checks: list[Check] = []
    entries_id = listing_id(record["entries"])
    if entries_id != recorded_id:
        checks.append(Check(
            f"{section} record: {path}", "fail",
            f"lineage.json was edited: the entries recorded for {path} hash to {entries_id}, "
            f"not to the recorded {recorded_id}", extra={"path": path}))
    exclude = sorted(set(exclude))
    if sorted(record["excluded"]) != exclude:
        checks.append(Check(
            f"{section} record: {path} excluded", "fail",
            f"lineage.json leaves out {sorted(record['excluded'])} of {path}, but mlci leaves "
            f"out only {exclude} (its signature file and this run's --out folder); run verify "
            "with the --out that tag used", extra={"path": path, "field": "excluded"}))
    if not os.path.exists(path):  # a dangling link counts as gone
        checks.append(Check(
            f"{section} removed: {path}", "fail",
            f"{path} is gone: {record['files']} recorded file(s) missing",
            extra={"path": path, "change": "removed"}))
        return checks, None
    current = snapshot(path, exclude=exclude, link_roots=link_roots)
    changes = diff(record["entries"], current.entries)
    checks.extend(_change_checks(section, record, changes))
    if not checks:
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


# model signatures -------------------------------------------------------------------------

@dataclass
class Opened:
    """A model signature file after verification: the signed digests, or why there are none."""

    path: Path
    signed: signing.SignedModel | None
    problem: str | None
    signer: str
    missing: bool = False
    given_key: bool = False
    changes: list[Change] = field(default_factory=list)


def open_signature(model_path: str, key: EllipticCurvePublicKey | None) -> Opened:
    """Read and verify `<model>/mlci.sig` with `key`, or with the key it carries when None
    (which proves the files match what was signed, not who signed)."""
    sig = signing.read(signing.signature_path(model_path))
    if sig.document is None:
        return Opened(sig.path, None, sig.problem, "", missing=not sig.path.is_file(),
                      given_key=key is not None)
    claimed = dsse.claimed_signer(sig.document.get("dsseEnvelope"))
    check_key = key if key is not None else signing.embedded_key(sig.document)
    if check_key is None:
        return Opened(sig.path, None, f"{sig.path}: carries no P-256 public key to check it "
                      "with; pass --public-key", claimed)
    try:
        signed = signing.open_model(sig.document, check_key)
    except dsse.SignatureProblem as exc:
        by = (f"the given public key (key id {signing.key_id(check_key)})" if key is not None
              else "its own embedded key")
        return Opened(sig.path, None, f"{sig.path}: the signature does not verify with {by}: "
                      f"{exc}; the file names signer {claimed}", claimed,
                      given_key=key is not None)
    return Opened(sig.path, signed, None, signing.key_id(check_key), given_key=key is not None)


def file_changes(signed: Mapping[str, str], current: Snapshot | None) -> list[Change]:
    """Signed file digests vs the model now; a link where a file was signed is a change."""
    now: dict[str, Mapping[str, Any]] = {}
    for item in current.entries if current is not None else []:
        name = "." if current is not None and current.kind == "file" else str(item["path"])
        now[name] = item
    changes: list[Change] = []
    for name in sorted(signed.keys() | now.keys(),
                       key=lambda p: p.encode("utf-8", "surrogateescape")):
        entry = now.get(name)
        if entry is None:
            changes.append(Change("removed", name, "signed, now missing"))
        elif name not in signed:
            changes.append(Change("added", name, "not signed"))
        elif "link" in entry:
            changes.append(Change("changed", name, f"now a symlink to {entry['link']}"))
        elif entry["sha256"] != signed[name]:
            changes.append(Change("changed", name, f"signed sha256 {signed[name][:12]}…, now "
                                  f"{str(entry['sha256'])[:12]}…"))
    return changes


def _listed(changes: list[Change]) -> str:
    shown = ", ".join(f"{c.path} {c.kind}" for c in changes[:5])
    return shown + (f" and {len(changes) - 5} more" if len(changes) > 5 else "")


def signature_checks(model: Mapping[str, Any] | None, current: Snapshot | None,
                     key: EllipticCurvePublicKey | None) -> list[Check]:
    """A missing, damaged or foreign signature fails whenever a public key is given.

    Without a key the signature can still be checked against the key it carries:
    that proves the model matches what was signed, not who signed it, so it is a
    warning that asks for `--public-key`."""
    if model is None:
        if key is not None:
            return [Check("signature", "fail", "--public-key was given but lineage.json "
                          "records no model, so nothing signed can be checked")]
        return []
    opened = open_signature(str(model["path"]), key)
    if opened.missing and key is None and model.get("signature") is None:
        return [Check("signature", "skip", f"{model['path']} was not signed and no "
                      "--public-key was given")]
    if opened.signed is None:
        return [Check("signature", "fail", str(opened.problem),
                      extra={"path": str(opened.path)})]
    changes = file_changes(opened.signed.files, current)
    recorded = {("." if model["kind"] == "file" else str(e["path"])): str(e["sha256"])
                for e in model["entries"] if "sha256" in e and "link" not in e}
    if changes or recorded != opened.signed.files:
        why = (f"the model now differs: {_listed(changes)}" if changes
               else "lineage.json records other files than were signed")
        return [Check("signature", "fail", f"{opened.path}: signs {len(opened.signed.files)} "
                      f"file(s), but {why}", extra={"path": str(opened.path)})]
    if key is None:
        return [Check("signature", "warn",
                      f"{opened.path}: intact, signed by key {opened.signer}; pass --public-key "
                      "to check that this is your key",
                      extra={"path": str(opened.path), "key_id": opened.signer})]
    return [Check("signature", "pass",
                  f"{opened.path}: valid signature of {model['digest']} "
                  f"({len(opened.signed.files)} file(s)) by key {opened.signer}",
                  extra={"path": str(opened.path), "key_id": opened.signer})]


def signed_model_checks(model_path: str, key: EllipticCurvePublicKey) -> list[Check]:
    """For promotion: check a model against its own `mlci.sig`, no lineage.json needed,
    naming each changed, added or removed file as `lineage verify` does."""
    opened = open_signature(model_path, key)
    if opened.signed is None:
        return [Check("signature", "fail", str(opened.problem), extra={"path": str(opened.path)})]
    current = snapshot(model_path, exclude=model_exclusions(model_path))
    record = {"path": model_path, "kind": current.kind}
    changes = file_changes(opened.signed.files, current)
    checks = _change_checks("model", record, changes) or [Check(
        f"model: {model_path}", "pass", f"{model_path}: {current.files} file(s) match the "
        "signature", extra={"path": model_path})]
    status: Status = "fail" if changes else "pass"
    message = (f"{opened.path}: signs {len(opened.signed.files)} file(s), but the model now "
               f"differs: {_listed(changes)}" if changes else
               f"{opened.path}: valid signature of {current.id} by key {opened.signer}")
    return [*checks, Check("signature", status, message,
                           extra={"path": str(opened.path), "key_id": opened.signer})]


# the verify step ----------------------------------------------------------------------------

def verify(lineage_path: str, *, public_key: str | None, out_dir: str,
           allow_paths: Sequence[str] = ()) -> Result:
    """Re-hash every recorded data path and the model; fail on any difference, an edited
    record or a bad signature.

    Relative paths in lineage.json are resolved against the working folder,
    as `tag` recorded them, so run it from the same place in a later job."""
    started = time.monotonic()
    doc = document.read(lineage_path)
    root = project_root(os.getcwd())
    check_record_paths(doc, lineage_path, root, allow_paths)
    model = doc["model"]
    if model is not None:
        refuse_out_in_model(str(model["path"]), out_dir)
    key = signing.load_public_key(public_key) if public_key is not None else None
    checks = attestation.check(doc, key, lineage_path)
    if not any(c.name == "record: data_id" for c in checks):
        checks.extend(_data_id_check(doc, lineage_path))
    for record in doc["data"]:
        found, _ = compare("data", record, str(record["id"]),
                           data_exclusions(str(record["path"]), out_dir), link_roots=[root])
        checks.extend(found)
    current = None
    if model is not None:
        found, current = compare("model", model, str(model["digest"]),
                                 model_exclusions(str(model["path"])))
        checks.extend(found)
    checks.extend(signature_checks(model, current, key))
    return _verify_result(doc, lineage_path, unique_names(checks), time.monotonic() - started)


def _data_id_check(doc: Mapping[str, Any], source: str) -> list[Check]:
    combined = document.combined_data_id(document.facts(doc).ids)
    if combined == doc["data_id"]:
        return []
    return [Check("record: data_id", "fail", f"{source}: data_id {doc['data_id']} is not the "
                  f"ID of the recorded data paths ({combined}): lineage.json was edited",
                  extra={"field": "data_id"})]


def _verify_summary(doc: Mapping[str, Any], checks: list[Check]) -> str:
    failed = [c for c in checks if c.status == "fail"]
    counts = {kind: sum(1 for c in failed if c.extra.get("change") == kind)
              for kind in ("changed", "added", "removed")}
    if failed:
        files = ", ".join(f"{n} {kind}" for kind, n in counts.items() if n) or "no file changes"
        summary = f"lineage does not hold: {files}; {len(failed)} failed check(s)"
    else:
        summary = (f"data and model match lineage recorded at {doc['created_at']}"
                   if doc["model"] else f"data matches lineage recorded at {doc['created_at']}")
    for name in ("signature", attestation.CHECK):
        found = next((c for c in checks if c.name == name), None)
        if found is not None:
            status: Status = found.status
            summary += f"; {name} {status}"
    return summary


def _verify_result(doc: Mapping[str, Any], lineage_path: str, checks: list[Check],
                   duration: float) -> Result:
    recorded = document.facts(doc)
    return Result(step="lineage-verify", checks=checks, summary=_verify_summary(doc, checks),
                  subject={"model": recorded.model_path, "model_digest": recorded.model_digest,
                           "inputs": recorded.ids},
                  lineage={"path": Path(lineage_path).as_posix(), "commit": recorded.commit,
                           "data": recorded.ids, "data_id": recorded.data_id,
                           "model_digest": recorded.model_digest},
                  duration_s=duration)
