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
from mlci.lineage import attestation, document, dvc, environment, gitinfo, signing
from mlci.lineage.cache import DigestCache
from mlci.lineage.hashing import Snapshot, file_sha256, snapshot
from mlci.lineage.verifying import (
    compare,
    model_exclusions,
    open_signature,
    signature_checks,
)
from mlci.result import Check, Result, Status, now_iso, unique_names

if TYPE_CHECKING:
    from cryptography.hazmat.primitives.asymmetric.ec import (
        EllipticCurvePrivateKey,
        EllipticCurvePublicKey,
    )

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


def _inside(out_dir: str, root: str) -> str | None:
    """The out folder relative to `root` when it lies inside it, else None."""
    if not os.path.isdir(root):
        return None
    rel = os.path.relpath(os.path.abspath(out_dir), os.path.abspath(root))
    if rel == ".." or rel.startswith(".." + os.sep) or os.path.isabs(rel):
        return None
    return rel.replace(os.sep, "/")


def data_exclusions(root: str, out_dir: str) -> list[str]:
    """mlci's out folder (cache, results, lineage.json) when it lies inside a data folder:
    decided from --out on each run, never read from a record."""
    rel = _inside(out_dir, root)
    if rel == ".":
        raise InputError(f"--data {root}: is the out folder itself; choose another --out")
    return [] if rel is None else [rel]


def refuse_out_in_model(model: str, out_dir: str) -> None:
    """Files mlci writes must never become (or hide) model files: no out folder inside it."""
    if _inside(out_dir, model) is not None:
        raise InputError(f"--out {out_dir}: lies inside the model folder {model}; mlci would "
                         "write into the model (and could not sign what it leaves out): "
                         "choose an out folder outside it")


def _refuse_loose_links(flag: str, path: str, snap: Snapshot) -> None:
    if snap.loose_links:
        rel, text, target = snap.loose_links[0]
        more = f" (and {len(snap.loose_links) - 1} more)" if len(snap.loose_links) > 1 else ""
        raise InputError(f"{flag} {path}: {rel} is a symlink to {text} ({target}), whose bytes "
                         f"would not be recorded: it leaves the project or is a folder "
                         f"outside {path}{more}; copy the target in, or pass it as its own "
                         "--data path and remove the link")


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
        _refuse_loose_links("--data", path, snap)
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
    opened = open_signature(model, None)
    if opened.missing:
        return None, Check("signature", "skip", f"{model} not signed (no --key given)")
    files = signing.manifest(snap.kind, snap.entries)
    if opened.signed is None or opened.signed.files != files:
        why = (f"{opened.path} does not match the model as it is now"
               if opened.signed is not None else str(opened.problem))
        return None, Check("signature", "warn", f"{why}; sign again with --key or remove it",
                           extra={"path": str(opened.path)})
    document_ = signing.read(opened.path).document or {}
    key = signing.embedded_key(document_)
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


def _model_record(model: str, private_key: EllipticCurvePrivateKey | None, out_dir: str,
                  cwd: str) -> tuple[dict[str, Any], list[Check]]:
    snap, label = _model_snapshot(model, out_dir, cwd)
    checks = [Check("model", "pass",
                    f"{label}: {snap.id} over {snap.files} file(s), {_human(snap.bytes)}",
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
    """Record lineage for `data` (and sign `model` and the record when given a key);
    writes `<out>/lineage.json`.

    Cheap checks (paths, key, config) run before any hashing, so bad input
    fails in milliseconds, not after minutes of reading a dataset. If anything
    fails after the model was signed, its previous signature file is put back."""
    started = time.monotonic()
    cwd = os.getcwd()
    _check_inputs(data, model, key, config_path, params)
    if model is not None:
        refuse_out_in_model(model, out_dir)
    # A bad key fails (exit 2) before any data is read.
    private_key = signing.load_private_key(key) if key is not None else None
    recorded_facts = _facts(facts)
    git = (gitinfo.not_recorded() if no_git
           else gitinfo.describe(cwd, recorded_facts, ignore=[out_dir]))
    root = Path(gitinfo.toplevel(cwd)) if git["recorded"] else Path(cwd)
    sig_path = signing.signature_path(model) if model is not None else None
    before = sig_path.read_bytes() if sig_path is not None and sig_path.is_file() else None
    try:
        # The model first: signing writes `mlci.sig`, which a data folder around the
        # model must then see as it will be at verify time.
        model_record, model_checks = (_model_record(model, private_key, out_dir, cwd)
                                      if model is not None else (None, []))
        records, data_checks = _data_records(data, out_dir, cwd, root)
        doc, env_check = _document(records, model_record, git, recorded_facts, root, python,
                                   config_path, params, run_id, tracking_uri, cwd)
        if private_key is not None:
            doc[attestation.FIELD] = attestation.attest(doc, private_key)
        document.validate(doc, f"{document.FILE_NAME} (as built)")
        checks = [_git_check(git), *data_checks, *model_checks, env_check]
        if run_id:
            checks.append(_tag_run(doc, recorded_facts, run_id, tracking_uri))
        path = document.write(doc, out_dir)
    except BaseException:
        if sig_path is not None and private_key is not None:
            _restore(sig_path, before)
        raise
    if private_key is not None:
        checks.append(Check(attestation.CHECK, "pass", f"signed the lineage record with key "
                            f"{signing.key_id(private_key.public_key())}"))
    return _tag_result(doc, path, checks, time.monotonic() - started)


def _restore(path: Path, content: bytes | None) -> None:
    """Put a model's signature file back as it was before this run."""
    try:
        if content is None:
            path.unlink(missing_ok=True)
        else:
            path.write_bytes(content)
    except OSError:
        pass  # the original error is the one to report


def _document(records: list[dict[str, Any]], model_record: dict[str, Any] | None,
              git: dict[str, Any], facts: dict[str, str | None], root: Path,
              python: str | None, config_path: str | None, params: Mapping[str, str],
              run_id: str | None, tracking_uri: str | None, cwd: str
              ) -> tuple[dict[str, Any], Check]:
    ids = {str(record["path"]): str(record["id"]) for record in records}
    env = environment.describe(root, python)
    check = Check("environment", "pass",
                  f"Python {env['python']} on {env['machine']}, "
                  f"{len(env['packages'])} distributions ({env['packages_digest'][:19]}…)"
                  + (f", lockfiles: {', '.join(f['path'] for f in env['lockfiles'])}"
                     if env["lockfiles"] else ", no lockfile found"))
    doc: dict[str, Any] = {
        "schema": document.LINEAGE_FORMAT,
        "created_at": now_iso(),
        "mlci_version": __version__,
        "data_id": document.combined_data_id(ids),
        "data": records,
        "model": model_record,
        "git": git,
        "ci": facts,
        "environment": env,
        "config": ({"path": document.display_path(config_path, cwd),
                    "sha256": file_sha256(config_path)[0]} if config_path else None),
        "params": dict(params),
        "mlflow": {"run_id": run_id, "tracking_uri": tracking_uri} if run_id else None,
    }
    return doc, check


def _tag_run(doc: Mapping[str, Any], facts: Mapping[str, str | None], run_id: str,
             tracking_uri: str | None) -> Check:
    from mlci.registry.runs import tag_run

    ids = {str(r["path"]): str(r["id"]) for r in doc["data"]}
    tag_run(run_id, _mlflow_tags(doc, facts), tracking_uri, doc["data_id"],
            ", ".join(ids)[:500])
    return Check("mlflow run", "pass", f"tagged MLflow run {run_id} with commit, data ID and "
                 "mlci.lineage.* tags")


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


def project_root(cwd: str) -> str:
    """The git checkout around `cwd`, or `cwd` itself outside one."""
    try:
        return gitinfo.toplevel(cwd)
    except InputError:
        return cwd


def _within(path: str, base: str) -> bool:
    return path == base or path.startswith(base.rstrip(os.sep) + os.sep)


def check_record_paths(doc: Mapping[str, Any], source: str, root: str,
                       allowed: Sequence[str]) -> None:
    """A record names paths for verify to read: refuse any outside the project (`/etc`,
    `../../`), unless this command line names it with --allow-path."""
    named = [(f"data[{i}].path", str(r["path"])) for i, r in enumerate(doc["data"])]
    if doc["model"] is not None:
        named.append(("model.path", str(doc["model"]["path"])))
    bases = [os.path.abspath(root), os.path.realpath(root)]
    permitted = [os.path.abspath(a) for a in allowed] + [os.path.realpath(a) for a in allowed]
    for field_name, path in named:
        lexical, real = os.path.abspath(path), os.path.realpath(path)
        if any(_within(lexical, a) or _within(real, a) for a in permitted):
            continue
        if not (any(_within(lexical, b) for b in bases) and any(_within(real, b) for b in bases)):
            raise InputError(f"{source}: {field_name} {path!r} lies outside the project "
                             f"{root}; verify reads only the project's files unless you "
                             f"name the path yourself: --allow-path {path}")


def _data_id_check(doc: Mapping[str, Any], source: str) -> list[Check]:
    ids = {str(r["path"]): str(r["id"]) for r in doc["data"]}
    combined = document.combined_data_id(ids)
    if combined == doc["data_id"]:
        return []
    return [Check("record: data_id", "fail", f"{source}: data_id {doc['data_id']} is not the "
                  f"ID of the recorded data paths ({combined}): lineage.json was edited",
                  extra={"field": "data_id"})]


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


def _verify_result(doc: Mapping[str, Any], lineage_path: str, checks: list[Check],
                   duration: float) -> Result:
    model = doc["model"]
    failed = [c for c in checks if c.status == "fail"]
    counts = {kind: sum(1 for c in failed if c.extra.get("change") == kind)
              for kind in ("changed", "added", "removed")}
    if failed:
        files = ", ".join(f"{n} {kind}" for kind, n in counts.items() if n) or "no file changes"
        summary = f"lineage does not hold: {files}; {len(failed)} failed check(s)"
    else:
        summary = (f"data and model match lineage recorded at {doc['created_at']}"
                   if model else f"data matches lineage recorded at {doc['created_at']}")
    for name in ("signature", attestation.CHECK):
        found = next((c for c in checks if c.name == name), None)
        if found is not None:
            status: Status = found.status
            summary += f"; {name} {status}"
    ids = {str(r["path"]): str(r["id"]) for r in doc["data"]}
    git = doc["git"]
    return Result(step="lineage-verify", checks=checks, summary=summary,
                  subject={"model": model["path"] if model else None,
                           "model_digest": model["digest"] if model else None,
                           "inputs": ids},
                  lineage={"path": Path(lineage_path).as_posix(), "commit": git.get("commit"),
                           "data": ids, "data_id": doc["data_id"],
                           "model_digest": model["digest"] if model else None},
                  duration_s=duration)


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
