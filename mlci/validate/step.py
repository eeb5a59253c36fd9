"""The function behind `mlci validate`: plain values in, an exit code out."""

from __future__ import annotations

from mlci import config as config_module
from mlci.ci import Platform
from mlci.options import Common
from mlci.result import Result
from mlci.runner import run_step


def validate_step(common: Common, *, predictions: str | None, model: str | None,
                  data: str | None) -> int:
    def produce(platform: Platform) -> Result:
        from mlci import validate

        config = config_module.load(config_module.resolve_path(common.config))
        return validate.run(config, validate.Inputs(predictions=predictions, model=model,
                                                    data=data))

    return run_step("validate", common, produce)
