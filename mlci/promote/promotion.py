"""Promotion: gates first, then registration, then the alias move.

Order matters for "a failed gate changes nothing": documents are read and
checked (exit 2 on a malformed one) and every gate is judged before the
registry is written to at all, including the registration of a new version."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from mlci.ci.base import Facts
from mlci.promote import candidate as candidate_module
from mlci.promote import gates as gates_module
from mlci.promote import identity, protocol, shared
from mlci.registry import history as hist
from mlci.registry import lock
from mlci.registry.client import (
    DIGEST_TAG,
    FILES_TAG,
    SOURCE_TAG,
    ModelState,
    Registry,
)
from mlci.result import Check, Result

if TYPE_CHECKING:
    from cryptography.hazmat.primitives.asymmetric.ec import EllipticCurvePublicKey


@dataclass(frozen=True)
class Promotion:
    """A promotion as asked, every value already checked (name, alias, gates, key)."""

    name: str
    alias: str
    gates: list[str]
    out: Path  # where the gates' result documents are
    allow_warn: bool = False
    public_key: EllipticCurvePublicKey | None = None
    force: bool = False
    reason: str | None = None
    wait: float = 0.0


def promote(registry: Registry, ask: Promotion, model: str | None, version: int | None,
            facts: Facts) -> Result:
    """Promote what `model`/`version` name; the candidate's private files are removed
    whatever happens."""
    candidate = candidate_module.resolve(registry, ask.name, model, version)
    try:
        return _promote(registry, ask, candidate, facts)
    finally:
        candidate.cleanup()


def _promote(registry: Registry, ask: Promotion, candidate: candidate_module.Candidate,
             facts: Facts) -> Result:
    """Judge, then (only if every gate held) register, tag and move."""
    name, alias = ask.name, ask.alias
    report = gates_module.evaluate(ask.gates, ask.out, candidate, allow_warn=ask.allow_warn,
                                   public_key=ask.public_key)
    tags, guard = _version_tags(candidate, report.version_tags)
    checks = [*report.checks, *([guard] if guard is not None else [])]
    failed = [c.name for c in checks if c.status == "fail"]
    known = candidate.version.version if candidate.version is not None else None
    if failed:
        check = Check("alias", "skip", f"{alias} not moved: {len(failed)} gate(s) failed "
                      f"({', '.join(failed)}); nothing in the registry was changed")
        return _result(ask, candidate, registry, [*checks, check], known,
                       _alias_now(registry, name, alias), changed=False,
                       summary=f"not promoted: gate(s) {', '.join(failed)} failed")
    early = _refuse_early(registry, name, alias, known, ask.force)
    if early is not None:
        return _finish(ask, candidate, registry, checks, early, known)
    notes: list[str] = []
    if candidate.version is None:
        notes = _register(registry, name, candidate)
        tags, _ = _version_tags(candidate, report.version_tags)
    assert candidate.version is not None
    target = candidate.version.version
    if tags:
        registry.set_version_tags(name, target, tags)
    outcome = _quick_noop(registry, name, alias, target) or protocol.move(
        registry, name, alias, shared.owner(facts),
        _decide(ask, target, facts, [c.name for c in report.checks]), ask.wait)
    outcome.notes = notes + outcome.notes
    return _finish(ask, candidate, registry, checks, outcome, target)


def _register(registry: Registry, name: str, candidate: candidate_module.Candidate
              ) -> list[str]:
    """Register the candidate: a folder as a copy of its files (tagged with both digests
    from the start, so no later write has to set them), a URI from where it is."""
    if not candidate.is_folder:
        assert candidate.uri is not None
        candidate.version = registry.register(name, candidate.uri, {SOURCE_TAG: candidate.uri})
        candidate.run_id = candidate.run_id or candidate.version.run_id
        return []
    assert candidate.files_digest is not None and candidate.uri is not None
    ours = registry.register_folder(name, candidate.files(), candidate.uri, {
        DIGEST_TAG: candidate.digest(), FILES_TAG: candidate.files_digest})
    candidate.version = ours
    same = registry.versions_by_files(name, candidate.files_digest)
    first = min(same, key=lambda v: v.version) if same else ours
    if first.version >= ours.version:
        return []
    # Another run registered the same files at the same moment: both use the older one.
    candidate.version = first
    return [f"v{ours.version} was registered with the same files as v{first.version} (by "
            f"another run at the same moment); promoting v{first.version}"]


def _version_tags(candidate: candidate_module.Candidate, found: dict[str, str]
                  ) -> tuple[dict[str, str], Check | None]:
    """The facts to tag the version with, minus those it already has. The digest tag is
    written once per version and never again: a version whose files no longer hash to
    it (registered from a folder that was rewritten later, or edited) fails closed."""
    tags = dict(found)
    if candidate.known_digest is not None:
        tags[DIGEST_TAG] = candidate.known_digest
    version = candidate.version
    if version is None:
        return tags, None
    recorded, ours = version.tags.get(DIGEST_TAG), tags.get(DIGEST_TAG)
    if recorded and ours and recorded != ours:
        return {}, Check("digest", "fail", f"{candidate.label}: its files hash to {ours}, but "
                         f"the version was recorded as {recorded} ({DIGEST_TAG}): its files "
                         "changed after registration (registered from a folder that was "
                         "rewritten since?) or the tag was edited; register the model again "
                         "and promote the new version", extra={"gate": "digest"})
    return {k: v for k, v in tags.items()
            if version.tags.get(k) != v and not (k == DIGEST_TAG and recorded)}, None


def _finish(ask: Promotion, candidate: candidate_module.Candidate, registry: Registry,
            gate_checks: list[Check], outcome: protocol.Outcome, target: int | None) -> Result:
    checks = [*gate_checks, *shared.outcome_checks("alias", outcome)]
    if not ask.gates:
        checks.insert(0, Check("gates", "warn", "no gates required (--require): promoted on "
                               "trust; name the steps that must have passed, e.g. "
                               "--require validate,compare,lineage,signature"))
    label = f"v{target}" if target is not None else str(candidate.uri)
    summary = {"moved": f"promoted {ask.name} {label} to {ask.alias}",
               "noop": f"{ask.alias} already holds {ask.name} {label}",
               "refused": f"not promoted: {ask.alias} was moved outside mlci",
               "lost": f"not promoted: lost a race for {ask.alias}"}[outcome.status]
    result = _result(ask, candidate, registry, checks, target, outcome.from_version,
                     changed=outcome.changed, summary=summary, status=outcome.status)
    if outcome.service_error:
        result.extra["service_error"] = outcome.service_error
    return result


def _refuse_early(registry: Registry, name: str, alias: str, target: int | None, force: bool
                  ) -> protocol.Outcome | None:
    """An alias moved outside mlci is refused before a new version is registered, so the
    refusal changes nothing at all (the protocol checks again under the queue)."""
    state = None if force else registry.model(name)
    if state is None or (target is not None and state.aliases.get(alias) == target):
        return None
    if lock.read_tickets(state.tags, alias):
        return None  # a move is running or was interrupted: the queue deals with it
    return _refusal(state, alias)


def _refusal(state: ModelState, alias: str) -> protocol.Outcome | None:
    history = hist.read(state.tags, alias)
    current = state.aliases.get(alias)
    if history.consistent_with(current):
        return None
    return protocol.Outcome(
        "refused", f"{shared.mismatch(alias, current, history)}: find out who moved it, then "
        f"pass --force to promote from the current state (or record it with `mlci history "
        f"--name {state.name} --alias {alias} --repair`)", current, None)


def _alias_now(registry: Registry, name: str, alias: str) -> int | None:
    state = registry.model(name)
    return state.aliases.get(alias) if state is not None else None


def _quick_noop(registry: Registry, name: str, alias: str, target: int
                ) -> protocol.Outcome | None:
    """A re-run that changes nothing writes nothing, not even a queue ticket."""
    state = registry.model(name)
    if state is None or state.aliases.get(alias) != target:
        return None
    history = hist.read(state.tags, alias)
    if not history.consistent_with(target) or lock.read_tickets(state.tags, alias):
        return None
    return shared.own_move([], history, alias, "promote", target) or protocol.Outcome(
        "noop", f"{alias} already holds v{target}; nothing to do", target, target)


def _decide(ask: Promotion, target: int, facts: Facts, gates: list[str]) -> protocol.Decide:
    alias = ask.alias

    def decide(state: ModelState, history: hist.History,
               reclaimed: list[lock.Reclaimed]) -> protocol.Plan | protocol.Outcome:
        current = state.aliases.get(alias)
        if current == target:
            finished = shared.own_move(reclaimed, history, alias, "promote", target)
            if finished is not None:
                return finished
            unrecorded = ("" if history.consistent_with(current) else
                          "; its history does not record this: run `mlci history --repair`")
            return protocol.Outcome("noop", f"{alias} already holds v{target}; nothing to do"
                                    f"{unrecorded}", current, target)
        notes: list[str] = []
        extra: dict[str, Any] = {}
        if not history.consistent_with(current):
            refusal = None if ask.force else _refusal(state, alias)
            if refusal is not None:
                refusal.to_version = target
                return refusal
            notes.append(f"--force: {shared.mismatch(alias, current, history)}; promoted from "
                         "the current state and recorded it")
            extra["forced"] = True
        if history.damaged:
            notes.append(f"ignored {len(history.damaged)} unreadable history tag(s): "
                         + ", ".join(history.damaged[:3]))
        entry = shared.entry_for("promote", current, target, facts, gates, ask.reason, extra)
        return protocol.Plan(entry, notes)

    return decide


def _result(ask: Promotion, candidate: candidate_module.Candidate, registry: Registry,
            checks: list[Check], version: int | None, previous: int | None, *, changed: bool,
            summary: str, status: str = "gates") -> Result:
    subject: dict[str, Any] = {"model": candidate.uri or candidate.reference}
    if candidate.known_digest is not None:
        subject["model_digest"] = candidate.known_digest
    if candidate.version is not None:
        subject["registered"] = candidate.version.uri
    if candidate.run_id:
        subject["run_id"] = candidate.run_id
    return Result(step="promote", checks=checks, summary=summary, subject=subject,
                  extra={"registry": registry.display, "name": ask.name, "alias": ask.alias,
                         "version": version, "previous_version": previous, "changed": changed,
                         "outcome": status, "run": identity.run()},
                  outputs={"version": shared.version_text(version),
                           "previous-version": shared.version_text(previous)})
