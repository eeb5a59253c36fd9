"""Gates: the evidence a promotion needs, read from result documents in the out folder.

Any step's document can be a gate (`--require validate,compare,canary`):
it must say `verdict: pass` (or `warn` with `--allow-warn`) and must have
been produced for the model being promoted, so a pass earned by yesterday's
model cannot promote today's. Two gates are special: `lineage` wants the
commit and data IDs the model was built from, and `signature` re-verifies the
signature inside the model's registered files against their digest now.

Every gate yields one check whose message says why it held or failed;
unreadable documents are bad input (exit 2), never a silent pass."""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from mlci import schemas
from mlci.config import format_path
from mlci.errors import InputError
from mlci.jsonfile import read_json
from mlci.lineage import attestation, document
from mlci.lineage.hashing import snapshot
from mlci.lineage.verifying import file_changes, model_exclusions, open_signature
from mlci.promote.candidate import Candidate
from mlci.result import Check, Status

if TYPE_CHECKING:
    from cryptography.hazmat.primitives.asymmetric.ec import EllipticCurvePublicKey

SPECIAL = ("lineage", "signature")
_GATE_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.\-]*$")
RESULT_EXPECTED = "an mlci result document"


def parse_require(values: Iterable[str] | str | None) -> list[str]:
    """`validate,compare`, `validate compare` (the action's form) or a repeated flag."""
    if values is None:
        return []
    if isinstance(values, str):
        values = [values]
    gates: list[str] = []
    for value in values:
        for gate in re.split(r"[,\s]+", value.strip()):
            if not gate:
                continue
            if not _GATE_NAME.match(gate):
                raise InputError(f"--require {gate}: expected step names such as validate, "
                                 "compare, canary, lineage, signature")
            if gate in ("promote", "rollback"):
                raise InputError(f"--require {gate}: a promotion cannot gate on {gate}")
            if gate not in gates:
                gates.append(gate)
    return gates


@dataclass
class GateReport:
    checks: list[Check]
    version_tags: dict[str, str] = field(default_factory=dict)  # facts worth keeping on the version


def evaluate(gates: list[str], out: Path, candidate: Candidate, *, allow_warn: bool,
             public_key: EllipticCurvePublicKey | None) -> GateReport:
    report = GateReport(checks=[])
    # Read every document first: a malformed one is exit 2 before any download.
    documents = {gate: load_result(out / f"{gate}.json", gate) for gate in gates
                 if gate not in SPECIAL}
    for gate in gates:
        if gate == "lineage":
            report.checks.append(_lineage(out, candidate, allow_warn, report.version_tags,
                                          public_key))
        elif gate == "signature":
            report.checks.append(_signature(candidate, public_key, report.version_tags))
        else:
            report.checks.append(_result_gate(gate, out / f"{gate}.json", documents[gate],
                                              candidate, allow_warn))
    return report


def _read_document(path: Path, gate: str) -> dict[str, Any]:
    """The JSON object in a gate's document; a missing one says which step writes it."""
    if not path.is_file():
        raise InputError(f"{path}: missing: the `{gate}` gate reads the result document that "
                         f"`mlci {gate}` writes; run that step in this job or download its "
                         "artifact into the out folder (--out)", file=str(path))
    return read_json(path, RESULT_EXPECTED)


def load_result(path: Path, gate: str) -> dict[str, Any]:
    """A result document valid against schemas/result.schema.json, or exit 2 naming the field."""
    doc = _read_document(path, gate)
    _validate(doc, schemas.RESULT, path)
    if doc["step"] != gate:
        raise InputError(f"{path}: step: {doc['step']!r}, expected {gate!r} (the `{gate}` gate "
                         f"reads {gate}.json written by `mlci {gate}`)", file=str(path))
    return doc


def _validate(doc: Mapping[str, Any], schema: str, path: Path) -> None:
    errors = sorted(schemas.validator(schema).iter_errors(doc),
                    key=lambda e: (len(e.absolute_path), list(map(str, e.absolute_path))))
    if errors:
        error = errors[0]
        raise InputError(f"{path}: {format_path(tuple(error.absolute_path))}: {error.message}; "
                         f"expected a document valid against schemas/{schema}", file=str(path))


def _verdict_status(verdict: str, allow_warn: bool) -> tuple[Status, str]:
    if verdict == "pass":
        return "pass", "verdict pass"
    if verdict == "warn":
        return (("pass", "verdict warn, accepted with --allow-warn") if allow_warn
                else ("fail", "verdict warn (pass --allow-warn to accept warnings)"))
    if verdict == "skip":
        return "fail", "verdict skip: the step judged nothing"
    return "fail", "verdict fail"


def _same_model(subject: Mapping[str, Any], candidate: Candidate, step: str
                ) -> tuple[bool, str]:
    digest = subject.get("model_digest")
    if isinstance(digest, str) and digest:
        ours = candidate.digest()
        same = digest == ours
        return same, (f"model digest {digest[:19]}… " + ("matches" if same else "differs from")
                      + f" {candidate.label} ({ours[:19]}…)")
    model = subject.get("model")
    if isinstance(model, str) and model:
        return candidate.refers_to(model)
    run_id = subject.get("run_id")
    if isinstance(run_id, str) and run_id:
        same = run_id == candidate.run_id
        return same, f"judged run {run_id}" + ("" if same else f", not {candidate.label}'s run")
    return False, (f"names no model (subject.model and subject.model_digest are empty), so "
                   f"it cannot be tied to {candidate.label}: run `mlci {step}` on the model "
                   "(--model URI) rather than on a predictions file")


def _result_gate(gate: str, path: Path, doc: Mapping[str, Any], candidate: Candidate,
                 allow_warn: bool) -> Check:
    status, verdict_text = _verdict_status(str(doc["verdict"]), allow_warn)
    same, why = _same_model(doc.get("subject") or {}, candidate, gate)
    if not same:
        status = "fail"
    summary = str(doc.get("summary") or "").strip()
    detail = f" ({summary})" if summary else ""
    return Check(gate, status, f"{path}: {verdict_text}{detail}; {why}",
                 extra={"gate": gate, "path": str(path), "verdict": doc["verdict"]})


def _lineage(out: Path, candidate: Candidate, allow_warn: bool, tags: dict[str, str],
             public_key: EllipticCurvePublicKey | None = None) -> Check:
    """Commit and data IDs the model was built from, tied to this model.

    From `<out>/lineage.json` when the job has it (the lineage document, or
    a result document with a `lineage` section), else from the `mlci.lineage.*`
    tags that `mlci lineage tag --run-id` put on the model's MLflow run. A
    signed lineage document must verify (with --public-key when given): an
    edited commit or data ID fails here, naming the field. With --public-key
    only a record signed by that key counts: whoever can write an artifact or a
    run tag could otherwise put any commit there."""
    path = out / "lineage.json"
    if path.is_file():
        facts: dict[str, Any] | None = _lineage_from_file(path, public_key)
        source = str(path)
    else:
        facts = _lineage_from_run(candidate, public_key)
        source = f"tags of run {candidate.run_id}"
    if facts is None:
        return Check("lineage", "fail",
                     f"no lineage: {path} is missing and "
                     + (f"run {candidate.run_id} has no mlci.lineage.* tags"
                        if candidate.run_id else f"{candidate.label} has no MLflow run")
                     + "; run `mlci lineage tag --data … --model … [--run-id …]` first",
                     extra={"gate": "lineage"})
    tie_ok, tie = _lineage_tie(facts, candidate)
    problems = [*facts.get("record_problems", []), *_missing_facts(facts),
                *([] if tie_ok else [tie]), *_verify_problems(out, allow_warn)]
    status: Status = "fail" if problems else "pass"
    if not problems and facts.get("dirty"):
        status = "pass" if allow_warn else "fail"
        problems.append("commit recorded with a dirty working tree"
                        + ("" if allow_warn else " (pass --allow-warn to accept)"))
    commit = str(facts.get("commit") or "")
    data_id = str(facts.get("data_id") or "")
    if status == "pass":
        tags["mlci.lineage.commit"] = commit
        tags["mlci.lineage.data_id"] = data_id
    held = (f"commit {commit[:12]}, data {data_id[:19]}…; {tie}" if status == "pass"
            else "; ".join(problems))
    note = f" ({'; '.join(problems)})" if status == "pass" and problems else ""
    return Check("lineage", status, f"{source}: {held}{note}",
                 extra={"gate": "lineage", "commit": commit or None, "data_id": data_id or None})


def _missing_facts(facts: Mapping[str, Any]) -> list[str]:
    missing = []
    if not facts.get("commit"):
        missing.append("no commit recorded (lineage was tagged with --no-git)")
    if not facts.get("data_id"):
        missing.append("no data snapshot ID recorded")
    return missing


def _verify_problems(out: Path, allow_warn: bool) -> list[str]:
    """A `lineage verify` of this job that did not pass fails the gate too."""
    verify = out / "lineage-verify.json"
    if not verify.is_file():
        return []
    verdict = str(load_result(verify, "lineage-verify")["verdict"])
    status, text = _verdict_status(verdict, allow_warn)
    return [f"{verify}: {text}"] if status == "fail" else []


def _unsigned(what: str) -> str:
    return (f"{what}, so the commit and data IDs could have been written by anyone; with "
            "--public-key the lineage gate needs <out>/lineage.json signed by that key (`mlci "
            "lineage tag --key`)")


def _lineage_from_file(path: Path, public_key: EllipticCurvePublicKey | None = None
                       ) -> dict[str, Any]:
    raw = read_json(path, f"{document.EXPECTED} (or {RESULT_EXPECTED})")
    if raw.get("schema") == document.LINEAGE_FORMAT:
        document.validate(raw, str(path))
        facts = document.facts(raw)  # the one reader of lineage records
        return {"commit": facts.commit, "dirty": bool(facts.dirty), "data_id": facts.data_id,
                "model_digest": facts.model_digest, "run_id": facts.run_id,
                "record_problems": _record_problems(raw, public_key, path)}
    _validate(raw, schemas.RESULT, path)
    lineage = raw.get("lineage") or {}
    subject = raw.get("subject") or {}
    data = lineage.get("data_id") or (lineage.get("data") if isinstance(lineage.get("data"), str)
                                      else None)
    if not data and isinstance(lineage.get("data"), dict) and lineage["data"]:
        data = json.dumps(lineage["data"], sort_keys=True)
    unsigned = ([_unsigned("it is a result document, not a signed lineage record")]
                if public_key is not None else [])
    return {"commit": lineage.get("commit"), "dirty": bool(lineage.get("dirty")),
            "data_id": data,
            "model_digest": lineage.get("model_digest") or subject.get("model_digest"),
            "run_id": subject.get("run_id"), "record_problems": unsigned}


def _record_problems(raw: Mapping[str, Any], public_key: EllipticCurvePublicKey | None,
                     path: Path) -> list[str]:
    """Why the record's own signature does not hold: edited, another key's, damaged, or
    (with a public key) missing. Unsigned and no key given judges nothing here."""
    if attestation.FIELD not in raw:
        return [_unsigned("the lineage record is not signed")] if public_key is not None else []
    prefix = f"{path}: "
    return [check.message.removeprefix(prefix)
            for check in attestation.check(raw, public_key, str(path))
            if check.status == "fail"]


def _lineage_from_run(candidate: Candidate, public_key: EllipticCurvePublicKey | None
                      ) -> dict[str, Any] | None:
    if candidate.run_id is None:
        return None
    tags = candidate.registry.run_tags(candidate.run_id) or {}
    if not any(key.startswith("mlci.lineage.") for key in tags):
        return None
    unsigned = ([_unsigned("the run's mlci.lineage.* tags are not signed")]
                if public_key is not None else [])
    return {"commit": tags.get("mlci.lineage.commit"),
            "dirty": tags.get("mlci.lineage.dirty") == "true",
            "data_id": tags.get("mlci.lineage.data_id"),
            "model_digest": tags.get("mlci.lineage.model_digest"),
            "run_id": candidate.run_id, "record_problems": unsigned}


def _lineage_tie(facts: Mapping[str, Any], candidate: Candidate) -> tuple[bool, str]:
    digest = facts.get("model_digest")
    if digest:
        ours = candidate.digest()
        same = digest == ours
        return same, ("model digest matches" if same else
                      f"lineage records model digest {str(digest)[:19]}…, but {candidate.label} "
                      f"hashes to {ours[:19]}…")
    run_id = facts.get("run_id")
    if run_id:
        same = run_id == candidate.run_id
        return same, ("same MLflow run" if same else
                      f"lineage is for run {run_id}, not {candidate.label}'s run")
    return False, "lineage names neither a model digest nor an MLflow run, so it cannot be tied " \
                  f"to {candidate.label} (tag it with --model or --run-id)"


def _signature(candidate: Candidate, public_key: EllipticCurvePublicKey | None,
               tags: dict[str, str]) -> Check:
    """Verify the signature file that travels inside the registered model's files.

    The signed file digests are compared with every file the candidate has now
    (only `mlci.sig` left out, whatever the signature's own ignore list says),
    and a symlink never matches a signed file, so bytes swapped behind a link
    after signing fail here."""
    files = candidate.files()
    opened = open_signature(str(files), public_key)
    signer = opened.signer or "(unknown)"
    if opened.signed is None:
        problem = str(opened.problem).replace(str(files), candidate.label)
        hint = ("; sign it with `mlci lineage tag --model DIR --key KEY` before logging it"
                if opened.missing else "")
        return Check("signature", "fail", problem + hint,
                     extra={"gate": "signature", "key_id": signer})
    current = snapshot(files, exclude=model_exclusions(str(files)))
    changes = file_changes(opened.signed.files, current)
    if changes:
        listed = ", ".join(f"{c.path} {c.kind}" for c in changes[:5])
        more = f" and {len(changes) - 5} more" if len(changes) > 5 else ""
        return Check("signature", "fail", f"{candidate.label}: its files changed after "
                     f"signing: {listed}{more}", extra={"gate": "signature", "key_id": signer})
    now = current.id
    tags["mlci.model_digest"] = now
    tags["mlci.signature.key_id"] = signer
    if public_key is None:
        return Check("signature", "fail", f"{candidate.label}: intact and signed by key {signer}, "
                     "but checked only against the key inside the signature file, which proves "
                     "nothing about who signed; pass --public-key (your mlci-signing.pub.pem)",
                     extra={"gate": "signature", "key_id": signer})
    return Check("signature", "pass", f"{candidate.label}: valid signature of {now} by key "
                 f"{signer}", extra={"gate": "signature", "key_id": signer})
