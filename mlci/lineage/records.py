"""What `tag` records for each data path and for the model, and the checks it shows.

Data snapshots may use the digest cache (a re-run over an unchanged dataset
takes seconds) and may follow links inside the project; the model never uses
the cache and may hold no links at all, because it gets signed: a signature
must cover bytes that were read now and that cannot change behind a link."""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from mlci.errors import InputError
from mlci.lineage import document, dvc, signing
from mlci.lineage.cache import DigestCache
from mlci.lineage.hashing import Snapshot, snapshot
from mlci.lineage.paths import data_exclusions, refuse_loose_links, refuse_out_in_model
from mlci.lineage.verifying import model_exclusions, open_signature
from mlci.result import Check

if TYPE_CHECKING:
    from cryptography.hazmat.primitives.asymmetric.ec import (
        EllipticCurvePrivateKey,
        EllipticCurvePublicKey,
    )


def human(size: int) -> str:
    value = float(size)
    for unit in ("B", "KB", "MB", "GB"):
        if value < 1000 or unit == "GB":
            return f"{value:.0f} {unit}" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1000
    return f"{value:.1f} TB"  # pragma: no cover


def data_records(data: Sequence[str], out_dir: str, cwd: str, search_root: Path
                 ) -> tuple[list[dict[str, Any]], list[Check]]:
    """One snapshot per data path; links may bring in bytes from the project, never beyond."""
    cache = DigestCache(Path(out_dir) / "cache")
    records: list[dict[str, Any]] = []
    checks: list[Check] = []
    for path in data:
        label = document.display_path(path, cwd)
        if any(record["path"] == label for record in records):
            raise InputError(f"--data {path}: given twice")
        snap = snapshot(path, cache=cache, exclude=data_exclusions(path, out_dir),
                        link_roots=[str(search_root)])
        refuse_loose_links("--data", path, snap)
        dvc_records, warnings = dvc.records(path, [str(e["path"]) for e in snap.entries],
                                            search_root)
        records.append({**document.snapshot_record(label, snap), "id": snap.id,
                        "dvc": dvc_records})
        cached = f"; {snap.cache_hits} from cache" if snap.cache_hits else ""
        dvc_note = f"; DVC md5s: {len(dvc_records)}" if dvc_records else ""
        checks.append(Check(f"data: {label}", "pass",
                            f"{label}: {snap.id} over {snap.files} file(s), {human(snap.bytes)}"
                            f"{cached}{dvc_note}", extra={"path": label, "id": snap.id}))
        checks.extend(Check(f"dvc: {label} ({n})", "warn", text)
                      for n, text in enumerate(warnings, start=1))
    try:
        cache.save(data)
    except OSError as exc:
        raise InputError(f"--out {out_dir}: cannot write the digest cache ({exc})") from exc
    return records, checks


def _existing_signature(model: str, snap: Snapshot) -> tuple[dict[str, Any] | None, Check]:
    """No key given: keep a signature made earlier for exactly these bytes, flag a stale one."""
    opened = open_signature(model, None)
    if opened.missing:
        return None, Check("signature", "skip", f"{model} not signed (no --key given)")
    files = signing.manifest(snap.kind, snap.entries)
    if opened.signed is None or opened.signed.files != files:
        why = (f"{opened.path} does not match the model as it is now"
               if opened.signed is not None else str(opened.problem))
        return None, Check("signature", "warn", f"{why}; sign again with --key or remove it",
                           extra={"path": str(opened.path)})
    bundle = signing.read(opened.path).document or {}
    key = signing.embedded_key(bundle)
    assert key is not None  # open_signature verified with it
    return _signature_record(opened.path, key, snap.id), Check(
        "signature", "pass", f"{opened.path}: already signed by key {opened.signer}",
        extra={"path": str(opened.path), "key_id": opened.signer})


def _signature_record(path: Path, key: EllipticCurvePublicKey, digest: str) -> dict[str, Any]:
    return {"path": path.as_posix(), "algorithm": signing.ALGORITHM,
            "key_id": signing.key_id(key), "public_key": signing.public_pem(key),
            "model_digest": digest}


def _model_snapshot(model: str, out_dir: str, cwd: str) -> tuple[Snapshot, str]:
    """A model holds its own files: no out folder inside it, no symlinks (whose target
    could change after signing without changing what was signed)."""
    refuse_out_in_model(model, out_dir)
    snap = snapshot(model, exclude=model_exclusions(model))  # never cached: it gets signed
    links = [e for e in snap.entries if "link" in e]
    if links:
        more = f" (and {len(links) - 1} more)" if len(links) > 1 else ""
        raise InputError(f"--model {model}: {links[0]['path']} is a symlink (to "
                         f"{links[0]['link']}){more}; mlci signs file bytes, and a link's "
                         "target can change after signing: copy the target into the model")
    return snap, document.display_path(model, cwd)


def model_record(model: str, private_key: EllipticCurvePrivateKey | None, out_dir: str,
                 cwd: str) -> tuple[dict[str, Any], list[Check]]:
    """The model's record and checks; with a key, the model is signed (`mlci.sig`) first."""
    snap, label = _model_snapshot(model, out_dir, cwd)
    checks = [Check("model", "pass",
                    f"{label}: {snap.id} over {snap.files} file(s), {human(snap.bytes)}",
                    extra={"path": label, "digest": snap.id})]
    if private_key is not None:
        sig_path = signing.signature_path(model)
        bundle = signing.sign_model(private_key, Path(os.path.abspath(model)).name,
                                    signing.manifest(snap.kind, snap.entries))
        try:
            signing.write(sig_path, bundle)
        except OSError as exc:
            raise InputError(f"{sig_path}: cannot write the signature ({exc})") from exc
        signature: dict[str, Any] | None = _signature_record(
            Path(document.display_path(sig_path, cwd)), private_key.public_key(), snap.id)
        kid = signing.key_id(private_key.public_key())
        checks.append(Check("signature", "pass", f"signed {snap.id} with key {kid} → {sig_path}",
                            extra={"path": str(sig_path), "key_id": kid}))
    else:
        signature, check = _existing_signature(model, snap)
        checks.append(check)
    record = {**document.snapshot_record(label, snap), "digest": snap.id,
              "signature": signature}
    return record, checks
