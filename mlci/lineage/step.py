"""The functions behind `mlci lineage tag|verify|keygen`.

Their result documents are `lineage-tag.json`, `lineage-verify.json` and
`lineage-keygen.json`: `lineage.json` is the lineage record itself."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from mlci import config as config_module
from mlci.ci import Platform
from mlci.options import Common
from mlci.result import Result
from mlci.runner import run_step


def _outputs(result: Result) -> dict[str, str]:
    outputs: dict[str, str] = result.extra.pop("outputs", {})
    return outputs


def tag_step(common: Common, *, data: list[str], model: str | None, run_id: str | None,
             key: str | None, params: list[str], no_git: bool, python: str | None,
             registry: str | None) -> int:
    def produce(platform: Platform) -> Result:
        from mlci.lineage import steps

        if key:
            platform.mask(key) if key.lstrip().startswith("-----BEGIN") else None
        config_path = config_module.resolve_path(common.config)
        if config_path:
            config_module.load(config_path)
        return steps.tag(data, model=model, run_id=run_id, key=key,
                         params=steps.parse_params(params), config_path=config_path,
                         out_dir=common.out, facts=dict(platform.facts()), no_git=no_git,
                         tracking_uri=registry, python=python)

    return run_step("lineage-tag", common, produce, _outputs)


def verify_step(common: Common, *, lineage_path: str, public_key: str | None,
                allow_paths: list[str] | None = None) -> int:
    def produce(platform: Platform) -> Result:
        from mlci.lineage import steps

        return steps.verify(lineage_path, public_key=public_key, out_dir=common.out,
                            allow_paths=allow_paths or [])

    return run_step("lineage-verify", common, produce)


def keygen_step(common: Common, *, directory: str) -> int:
    def produce(platform: Platform) -> Result:
        from mlci.lineage import steps

        Path(directory).mkdir(parents=True, exist_ok=True)
        return steps.keygen(directory)

    return run_step("lineage-keygen", common, produce, _outputs)


__all__: list[Any] = ["keygen_step", "tag_step", "verify_step"]
