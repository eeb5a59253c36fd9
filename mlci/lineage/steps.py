"""The three functions the CLI calls: `tag`, `verify`, `keygen`.

They take plain values and return a `Result`, so the CLI, the actions and the
tests share them. CI facts arrive as a `facts` mapping (from
`mlci.ci.detect().facts()` in the CLI): nothing here reads CI variables.

Result documents are named `lineage-tag`, `lineage-verify` and
`lineage-keygen`, not `lineage`: `<out>/lineage.json` is the lineage document
itself, and a tag and a verify in one job should both remain as gates."""

from __future__ import annotations

import json
import os
import re
import time
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from mlci import __version__
from mlci.errors import InputError
from mlci.lineage import document, dvc, environment, gitinfo, signing
from mlci.lineage.cache import DigestCache
from mlci.lineage.digest import SIGNATURE_NAME
from mlci.lineage.hashing import Snapshot, file_sha256, snapshot
from mlci.lineage.verifying import compare, signature_checks
from mlci.result import Check, Result, Status, now_iso, unique_names

if TYPE_CHECKING:
    from cryptography.hazmat.primitives.asymmetric.ec import EllipticCurvePrivateKey

FACT_KEYS = ("platform", "run_url", "actor", "event", "sha", "head_sha", "ref", "repository",
             "pipeline_id", "job_id")
_TAG_KEY_BAD = re.compile(r"[^A-Za-z0-9_\-. /]")  # what MLflow accepts in a tag key
_MLFLOW_TAG_MAX = 8000


def parse_params(pairs: Iterable[str]) -> dict[str, str]:
    """`--param KEY=VALUE` pairs; the CLI may call this to share the message."""
    params: dict[str, str] = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key.strip():
            raise InputError(f"--param {pair}: expected KEY=VALUE, e.g. --param lr=0.01")
        params[key.strip()] = value
    return params


def _human(size: int) -> str:
    value = float(size)
    for unit in ("B", "KB", "MB", "GB"):
        if value < 1000 or unit == "GB":
            return f"{value:.0f} {unit}" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1000
    return f"{value:.1f} TB"  # pragma: no cover


def _exclusions(root: str, out_dir: str) -> list[str]:
    """mlci's out folder (cache, results, lineage.json) when it lies inside a data folder."""
    if not os.path.isdir(root):
        return []
    rel = os.path.relpath(os.path.abspath(out_dir), os.path.abspath(root))
    if rel == ".":
        raise InputError(f"--data {root}: is the out folder itself; choose another --out")
    if rel.startswith("..") or os.path.isabs(rel):
        return []
    return [rel.replace(os.sep, "/")]


def _facts(facts: Mapping[str, object]) -> dict[str, str | None]:
    recorded: dict[str, str | None] = {}
    for key in FACT_KEYS:
        value = facts.get(key)
        recorded[key] = None if value is None else str(value)
    if recorded["platform"] not in ("github", "gitlab", "local"):
        recorded["platform"] = "local"
    return recorded


def _check_inputs(data: Sequence[str], model: str | None, key: str | None,
                  config_path: str | None, params: Mapping[str, str]) -> None:
    if not data:
        raise InputError("--data: give at least one file or folder the model was built from")
    for path in data:
        if not os.path.lexists(path):
            raise InputError(f"--data {path}: no such file or folder")
    if model is not None and not os.path.lexists(model):
        raise InputError(f"--model {model}: no such folder (expected the model folder, "
                         "e.g. the one mlflow.sklearn.save_model wrote)")
    if key is not None and model is None:
        raise InputError("--key: signing needs --model, the model folder to sign")
    if config_path is not None and not os.path.isfile(config_path):
        raise InputError(f"--config {config_path}: no such file")
    for name in params:
        if not name:
            raise InputError("--param: a parameter needs a name (KEY=VALUE)")


def _data_records(data: Sequence[str], out_dir: str, cwd: str, search_root: Path
                  ) -> tuple[list[dict[str, Any]], list[Check]]:
    cache = DigestCache(Path(out_dir) / "cache")
    records: list[dict[str, Any]] = []
    checks: list[Check] = []
    for path in data:
        label = document.display_path(path, cwd)
        if any(record["path"] == label for record in records):
            raise InputError(f"--data {path}: given twice")
        snap = snapshot(path, cache=cache, exclude=_exclusions(path, out_dir))
        dvc_records, warnings = dvc.records(path, [str(e["path"]) for e in snap.entries],
                                            search_root)
        records.append({**document.snapshot_record(label, snap), "id": snap.id,
                        "dvc": dvc_records})
        cached = f"; {snap.cache_hits} from cache" if snap.cache_hits else ""
        dvc_note = f"; DVC md5s: {len(dvc_records)}" if dvc_records else ""
        checks.append(Check(f"data: {label}", "pass",
                            f"{label}: {snap.id} over {snap.files} file(s), {_human(snap.bytes)}"
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
    sig = signing.read(signing.signature_path(model))
    if sig.document is None:
        return None, Check("signature", "skip", f"{model} not signed (no --key given)")
    doc = sig.document
    key = signing.embedded_key(doc)
    if (key is None or doc["model_digest"] != snap.id
            or not signing.is_valid(key, snap.id, str(doc["signature"]))):
        return None, Check("signature", "warn",
                           f"{sig.path} does not match the model as it is now; sign again "
                           "with --key or remove it", extra={"path": str(sig.path)})
    return _signature_record(sig.path, doc), Check(
        "signature", "pass", f"{sig.path}: already signed by key {doc['key_id']}",
        extra={"path": str(sig.path), "key_id": doc["key_id"]})


def _signature_record(path: Path, doc: Mapping[str, Any]) -> dict[str, Any]:
    return {"path": path.as_posix(), "algorithm": doc["algorithm"], "key_id": doc["key_id"],
            "public_key": doc["public_key"], "model_digest": doc["model_digest"]}


def _model_record(model: str, private_key: EllipticCurvePrivateKey | None, out_dir: str,
                  cwd: str) -> tuple[dict[str, Any], list[Check]]:
    exclude = _exclusions(model, out_dir)
    if os.path.isdir(model):
        exclude.append(SIGNATURE_NAME)
    snap = snapshot(model, exclude=exclude)  # never cached: this digest may get signed
    label = document.display_path(model, cwd)
    checks = [Check("model", "pass",
                    f"{label}: {snap.id} over {snap.files} file(s), {_human(snap.bytes)}",
                    extra={"path": label, "digest": snap.id})]
    if private_key is not None:
        sig_path = signing.signature_path(model)
        sig_doc = signing.sign(private_key, snap.id, snap.entries)
        try:
            signing.write(sig_path, sig_doc)
        except OSError as exc:
            raise InputError(f"{sig_path}: cannot write the signature ({exc})") from exc
        signature: dict[str, Any] | None = _signature_record(
            Path(document.display_path(sig_path, cwd)), sig_doc)
        checks.append(Check("signature", "pass",
                            f"signed {snap.id} with key {sig_doc['key_id']} → {sig_path}",
                            extra={"path": str(sig_path), "key_id": sig_doc["key_id"]}))
    else:
        signature, check = _existing_signature(model, snap)
        checks.append(check)
    record = {**document.snapshot_record(label, snap), "digest": snap.id,
              "signature": signature}
    return record, checks


def _git_check(git: Mapping[str, Any]) -> Check:
    if not git["recorded"]:
        return Check("git", "warn", "git facts not recorded (--no-git): no commit ties this "
                     "model to its source")
    where = f"commit {git['commit']}"
    if git["merge_commit"]:
        where += f" (PR head; built as merge commit {git['merge_commit']})"
    if git["branch"]:
        where += f" on {git['branch']}"
    if git["dirty"]:
        shown = ", ".join(git["changed"][:5])
        more = f" and {git['changed_count'] - 5} more" if git["changed_count"] > 5 else ""
        return Check("git", "warn", f"{where}, but {git['changed_count']} tracked file(s) "
                     f"differ from it: {shown}{more}", extra={"dirty": True})
    return Check("git", "pass", f"{where}, clean working tree", extra={"dirty": False})


def _mlflow_tags(doc: Mapping[str, Any], facts: Mapping[str, str | None]) -> dict[str, str]:
    git = doc["git"]
    commit = git.get("commit") if git["recorded"] else (facts["head_sha"] or facts["sha"])
    tags: dict[str, str | None] = {
        "mlflow.source.git.commit": commit,
        "mlflow.source.git.branch": git.get("branch") or facts["ref"],
        "mlflow.source.git.repoURL": git.get("remote"),
        "mlci.lineage.commit": commit,
        "mlci.lineage.merge_commit": git.get("merge_commit"),
        "mlci.lineage.dirty": str(git["dirty"]).lower() if git["recorded"] else None,
        "mlci.lineage.data_id": doc["data_id"],
        "mlci.lineage.model_digest": doc["model"]["digest"] if doc["model"] else None,
        "mlci.lineage.signature_key_id": ((doc["model"] or {}).get("signature") or {}).get(
            "key_id"),
        "mlci.lineage.packages_digest": doc["environment"]["packages_digest"],
        "mlci.lineage.config_sha256": doc["config"]["sha256"] if doc["config"] else None,
        "mlci.lineage.run_url": facts["run_url"],
        "mlci.lineage.actor": facts["actor"],
    }
    data = json.dumps({r["path"]: r["id"] for r in doc["data"]}, separators=(",", ":"))
    if len(data) <= _MLFLOW_TAG_MAX:
        tags["mlci.lineage.data"] = data
    for name, value in doc["params"].items():
        tags[f"mlci.lineage.param.{_TAG_KEY_BAD.sub('_', name)}"] = value[:_MLFLOW_TAG_MAX]
    return {key: value for key, value in tags.items() if value is not None}


def tag(data: list[str], *, model: str | None, run_id: str | None, key: str | None,
        params: dict[str, str], config_path: str | None, out_dir: str,
        facts: Mapping[str, object], no_git: bool, tracking_uri: str | None,
        python: str | None = None) -> Result:
    """Record lineage for `data` (and sign `model` when given a key); writes `<out>/lineage.json`.

    Cheap checks (paths, key, config) run before any hashing, so bad input
    fails in milliseconds, not after minutes of reading a dataset."""
    started = time.monotonic()
    created = now_iso()
    cwd = os.getcwd()
    _check_inputs(data, model, key, config_path, params)
    # A bad key fails (exit 2) before any data is read.
    private_key = signing.load_private_key(key) if key is not None else None
    recorded_facts = _facts(facts)
    git = (gitinfo.not_recorded() if no_git
           else gitinfo.describe(cwd, recorded_facts, ignore=[out_dir]))
    root = Path(gitinfo.toplevel(cwd)) if git["recorded"] else Path(cwd)
    # The model first: signing writes `mlci.sig`, which a data folder around the model
    # must then see as it will be at verify time.
    model_record, model_checks = (_model_record(model, private_key, out_dir, cwd)
                                  if model is not None else (None, []))
    records, data_checks = _data_records(data, out_dir, cwd, root)
    ids = {str(record["path"]): str(record["id"]) for record in records}
    checks = [_git_check(git), *data_checks, *model_checks]
    env = environment.describe(root, python)
    checks.append(Check("environment", "pass",
                        f"Python {env['python']} on {env['machine']}, "
                        f"{len(env['packages'])} distributions ({env['packages_digest'][:19]}…)"
                        + (f", lockfiles: {', '.join(f['path'] for f in env['lockfiles'])}"
                           if env["lockfiles"] else ", no lockfile found")))
    doc: dict[str, Any] = {
        "schema": document.LINEAGE_FORMAT,
        "created_at": created,
        "mlci_version": __version__,
        "data_id": document.combined_data_id(ids),
        "data": records,
        "model": model_record,
        "git": git,
        "ci": recorded_facts,
        "environment": env,
        "config": ({"path": document.display_path(config_path, cwd),
                    "sha256": file_sha256(config_path)[0]} if config_path else None),
        "params": dict(params),
        "mlflow": {"run_id": run_id, "tracking_uri": tracking_uri} if run_id else None,
    }
    document.validate(doc, f"{document.FILE_NAME} (as built)")
    if run_id:
        from mlci.registry.runs import tag_run

        tag_run(run_id, _mlflow_tags(doc, recorded_facts), tracking_uri, doc["data_id"],
                ", ".join(ids)[:500])
        checks.append(Check("mlflow run", "pass", f"tagged MLflow run {run_id} with commit, "
                            f"data ID and mlci.lineage.* tags"))
    path = document.write(doc, out_dir)
    return _tag_result(doc, path, checks, time.monotonic() - started)


def _tag_result(doc: Mapping[str, Any], path: Path, checks: list[Check], duration: float
                ) -> Result:
    git, model = doc["git"], doc["model"]
    ids = {str(r["path"]): str(r["id"]) for r in doc["data"]}
    lineage = {
        "path": path.as_posix(),
        "commit": git.get("commit"),
        "merge_commit": git.get("merge_commit"),
        "dirty": git.get("dirty"),
        "data": ids,
        "data_id": doc["data_id"],
        "model_digest": model["digest"] if model else None,
        "signature_key_id": (model.get("signature") or {}).get("key_id") if model else None,
    }
    parts = [f"data {doc['data_id']}"]
    if model:
        parts.append(f"model {model['digest']}" + (" signed" if model["signature"] else ""))
    parts.append(f"commit {git['commit'][:12]}" if git["recorded"] else "no git")
    outputs = {"data-id": doc["data_id"], "model-digest": model["digest"] if model else "",
               "lineage-path": path.as_posix()}
    return Result(step="lineage-tag", checks=checks,
                  summary="recorded lineage: " + ", ".join(parts),
                  subject={"model": model["path"] if model else None,
                           "model_digest": model["digest"] if model else None,
                           "inputs": ids},
                  lineage=lineage, duration_s=duration, extra={"outputs": outputs})


def verify(lineage_path: str, *, public_key: str | None, out_dir: str) -> Result:
    """Re-hash every recorded data path and the model; fail on any difference or bad signature.

    Relative paths in lineage.json are resolved against the working folder,
    as `tag` recorded them, so run it from the same place in a later job."""
    started = time.monotonic()
    doc = document.read(lineage_path)
    key = signing.load_public_key(public_key) if public_key is not None else None
    checks: list[Check] = []
    for record in doc["data"]:
        found, _ = compare("data", record, str(record["id"]), [out_dir])
        checks.extend(found)
    model, current = doc["model"], None
    if model is not None:
        found, current = compare("model", model, str(model["digest"]), [out_dir])
        checks.extend(found)
    checks.extend(signature_checks(model, current, key))
    checks = unique_names(checks)  # overlapping data paths can name one file twice
    failed = [c for c in checks if c.status == "fail"]
    counts = {kind: sum(1 for c in failed if c.extra.get("change") == kind)
              for kind in ("changed", "added", "removed")}
    sig = next((c for c in checks if c.name == "signature"), None)
    if failed:
        files = ", ".join(f"{n} {kind}" for kind, n in counts.items() if n) or "no file changes"
        summary = f"lineage does not hold: {files}; {len(failed)} failed check(s)"
    else:
        summary = (f"data and model match lineage recorded at {doc['created_at']}"
                   if model else f"data matches lineage recorded at {doc['created_at']}")
    if sig is not None:
        status: Status = sig.status
        summary += f"; signature {status}"
    ids = {str(r["path"]): str(r["id"]) for r in doc["data"]}
    git = doc["git"]
    return Result(step="lineage-verify", checks=checks, summary=summary,
                  subject={"model": model["path"] if model else None,
                           "model_digest": model["digest"] if model else None,
                           "inputs": ids},
                  lineage={"path": Path(lineage_path).as_posix(), "commit": git.get("commit"),
                           "data": ids, "data_id": doc["data_id"],
                           "model_digest": model["digest"] if model else None},
                  duration_s=time.monotonic() - started)


def keygen(directory: str) -> Result:
    """Write a new P-256 pair; never overwrites, since losing a signing key is unrecoverable."""
    started = time.monotonic()
    folder = Path(directory)
    private_path = folder / signing.PRIVATE_KEY_NAME
    public_path = folder / signing.PUBLIC_KEY_NAME
    for path in (private_path, public_path):
        if os.path.lexists(path):
            raise InputError(f"{path}: already exists; mlci never overwrites a key: move it "
                             "away or choose another --dir")
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise InputError(f"--dir {directory}: cannot create folder ({exc})") from exc
    private_pem, public_pem, kid = signing.generate()
    fd = os.open(private_path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as handle:
        os.fchmod(handle.fileno(), 0o600)  # whatever the umask says
        handle.write(private_pem)
    public_path.write_bytes(public_pem)
    return Result(step="lineage-keygen", checks=[Check(
        "keygen", "pass",
        f"wrote {private_path} (private, mode 0600: store it as a CI secret) and {public_path} "
        f"(public: commit it, verify with it); key id {kid}",
        extra={"key_id": kid, "private_key": str(private_path),
               "public_key": str(public_path)})],
        summary=f"new ECDSA P-256 signing key {kid}",
        subject={}, duration_s=time.monotonic() - started,
        extra={"outputs": {"key-id": kid, "private-key": str(private_path),
                           "public-key": str(public_path)}})
