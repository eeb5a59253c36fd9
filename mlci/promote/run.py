"""`mlci promote`, `rollback` and `history`: the run function of each.

Each checks what it was given in the order a user reads the flags (model
name, alias, then the rest), before the registry is opened, so bad input is
exit 2 with nothing touched. The logic below takes plain values: the
registry, the checked names, the out folder and the CI facts."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from mlci.errors import InputError
from mlci.lineage.signing import load_public_key
from mlci.promote import access, history_view
from mlci.promote.gates import parse_require
from mlci.promote.options import HistoryOptions, PromoteOptions, RollbackOptions
from mlci.promote.promotion import Promotion, promote
from mlci.promote.rollback import Rollback, check_reason, rollback
from mlci.registry.naming import check_alias
from mlci.result import Check, Result
from mlci.runner import Context


def _registry_config(context: Context) -> tuple[Mapping[str, Any], str]:
    """The config's `registry:` section and the project folder (the embedded registry's)."""
    return context.config.section("registry"), access.project_dir(context.config.path)


def _check_wait(wait: float) -> float:
    """The CLI bounds --wait already; an in-process caller gets the same refusal."""
    if not wait >= 0:
        raise InputError(f"--wait {wait}: expected seconds >= 0")
    return wait


def run(context: Context, options: PromoteOptions) -> Result:
    section, project = _registry_config(context)
    name = access.model_name(options.name, section)
    alias = check_alias(options.alias)
    gates = parse_require(options.require)
    wait = _check_wait(options.wait)
    public_key = load_public_key(options.public_key) if options.public_key else None
    registry = access.open_registry(options.registry, section, project, "mlci promote")
    ask = Promotion(name=name, alias=alias, gates=gates, out=context.out,
                    allow_warn=options.allow_warn, public_key=public_key, force=options.force,
                    reason=options.reason, wait=wait)
    return promote(registry, ask, options.model, options.version, context.platform.facts())


def run_rollback(context: Context, options: RollbackOptions) -> Result:
    section, project = _registry_config(context)
    ask = Rollback(name=access.model_name(options.name, section),
                   alias=check_alias(options.alias), reason=check_reason(options.reason),
                   out=context.out, to_version=options.to_version,
                   wait=_check_wait(options.wait))
    registry = access.open_registry(options.registry, section, project, "mlci rollback")
    return rollback(registry, ask, context.platform.facts())


def run_history(context: Context, options: HistoryOptions) -> Result:
    """No result document (the runner is told so): the text or JSON is the summary,
    printed on stdout for people and scripts; warnings are `warn` checks, which the
    runner prints on stderr."""
    section, project = _registry_config(context)
    name = access.model_name(options.name, section)
    alias = check_alias(options.alias)
    registry = access.open_registry(options.registry, section, project, "mlci history")
    if options.repair:
        done = history_view.repair(registry, name, alias, context.platform.facts())
        return Result(step="history", checks=[], summary="\n".join(done))
    shown = history_view.show(registry, name, alias, options.format)
    warnings = [Check(f"warning {index}", "warn", warning)
                for index, warning in enumerate(shown.warnings, start=1)]
    return Result(step="history", checks=warnings, summary=shown.text)
