"""The functions behind `mlci compare` and `mlci compare --drift`."""

from __future__ import annotations

from mlci import config as config_module
from mlci.ci import Platform
from mlci.options import Common
from mlci.result import Result
from mlci.runner import run_step


def compare_step(common: Common, options: object) -> int:
    def produce(platform: Platform) -> Result:
        from mlci import compare

        assert isinstance(options, compare.Options)
        config = config_module.load(config_module.resolve_path(common.config))
        return compare.run(config, options)

    return run_step("compare", common, produce)


def drift_step(common: Common, *, reference: str, current: str) -> int:
    def produce(platform: Platform) -> Result:
        from mlci.compare import drift

        config = config_module.load(config_module.resolve_path(common.config))
        return drift.run(config, reference=reference, current=current)

    return run_step("drift", common, produce)
