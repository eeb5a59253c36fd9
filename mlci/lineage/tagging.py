"""`lineage tag`: record what a model was built from, and sign it with a key.

Writes `<out>/lineage.json`. Cheap checks (paths, key, config) run before any
hashing, so bad input fails in milliseconds, not after minutes of reading a
dataset. CI facts arrive as a mapping (`Platform.facts()`): nothing here reads
CI variables."""

from __future__ import annotations

import os
import time
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

from mlci import __version__
from mlci.errors import InputError
from mlci.lineage import attestation, document, environment, gitinfo, records, runtags, signing
from mlci.lineage.hashing import file_sha256
from mlci.lineage.paths import refuse_out_in_model
from mlci.result import Check, Result, now_iso

FACT_KEYS = ("platform", "run_url", "actor", "event", "sha", "head_sha", "ref", "repository",
             "pipeline_id", "job_id")


def parse_params(pairs: Iterable[str]) -> dict[str, str]:
    """`--param KEY=VALUE` pairs."""
    params: dict[str, str] = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key.strip():
            raise InputError(f"--param {pair}: expected KEY=VALUE, e.g. --param lr=0.01")
        params[key.strip()] = value
    return params


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


def tag(data: list[str], *, model: str | None, run_id: str | None, key: str | None,
        params: dict[str, str], config_path: str | None, out_dir: str,
        facts: Mapping[str, object], no_git: bool, tracking_uri: str | None,
        python: str | None = None) -> Result:
    """Record lineage for `data` (and sign `model` and the record when given a key).

    If anything fails after the model was signed, its previous signature file is
    put back: a failed run leaves the model as it found it."""
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
        model_record, model_checks = (records.model_record(model, private_key, out_dir, cwd)
                                      if model is not None else (None, []))
        data_records, data_checks = records.data_records(data, out_dir, cwd, root)
        doc, env_check = _document(data_records, model_record, git, recorded_facts, root,
                                   python, config_path, params, run_id, tracking_uri, cwd)
        if private_key is not None:
            doc[attestation.FIELD] = attestation.attest(doc, private_key)
        document.validate(doc, f"{document.FILE_NAME} (as built)")
        checks = [_git_check(git), *data_checks, *model_checks, env_check]
        if run_id:
            checks.append(runtags.tag_run(doc, recorded_facts, run_id, tracking_uri))
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


def _document(data: list[dict[str, Any]], model: dict[str, Any] | None,
              git: dict[str, Any], facts: dict[str, str | None], root: Path,
              python: str | None, config_path: str | None, params: Mapping[str, str],
              run_id: str | None, tracking_uri: str | None, cwd: str
              ) -> tuple[dict[str, Any], Check]:
    ids = {str(record["path"]): str(record["id"]) for record in data}
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
        "data": data,
        "model": model,
        "git": git,
        "ci": facts,
        "environment": env,
        "config": ({"path": document.display_path(config_path, cwd),
                    "sha256": file_sha256(config_path)[0]} if config_path else None),
        "params": dict(params),
        "mlflow": {"run_id": run_id, "tracking_uri": tracking_uri} if run_id else None,
    }
    return doc, check


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


def _tag_result(doc: Mapping[str, Any], path: Path, checks: list[Check], duration: float
                ) -> Result:
    recorded = document.facts(doc)
    lineage = {
        "path": path.as_posix(),
        "commit": recorded.commit,
        "merge_commit": recorded.merge_commit,
        "dirty": recorded.dirty,
        "data": recorded.ids,
        "data_id": recorded.data_id,
        "model_digest": recorded.model_digest,
        "signature_key_id": recorded.signature_key_id,
    }
    parts = [f"data {recorded.data_id}"]
    if recorded.model_digest is not None:
        parts.append(f"model {recorded.model_digest}"
                     + (" signed" if recorded.signature_key_id else ""))
    parts.append(f"commit {recorded.commit[:12]}" if recorded.commit else "no git")
    return Result(step="lineage-tag", checks=checks,
                  summary="recorded lineage: " + ", ".join(parts),
                  subject={"model": recorded.model_path, "model_digest": recorded.model_digest,
                           "inputs": recorded.ids},
                  lineage=lineage, duration_s=duration,
                  outputs={"data-id": str(recorded.data_id),
                           "model-digest": recorded.model_digest or "",
                           "lineage-path": path.as_posix()})
