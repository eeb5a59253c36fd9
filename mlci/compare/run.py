"""`mlci compare`: one run function per mode (compare, `--drift`, `--shadow`), each
reading its config section as typed settings and handing plain values to the logic."""

from __future__ import annotations

from dataclasses import replace

from mlci.compare.comparison import compare
from mlci.compare.drift import drift
from mlci.compare.options import DriftOptions, Options, ShadowOptions
from mlci.compare.settings import compare_settings, drift_settings, shadow_settings
from mlci.compare.shadow import shadow
from mlci.result import Result
from mlci.runner import Context


def run(context: Context, options: Options) -> Result:
    """A flag given on the command line wins over the config's `compare:` value."""
    settings = compare_settings(context.config)
    settings = replace(
        settings, policy=options.policy or settings.policy,
        resamples=options.resamples or settings.resamples,
        seed=options.seed if options.seed is not None else settings.seed)
    return compare(context.config, settings, options)


def run_drift(context: Context, options: DriftOptions) -> Result:
    return drift(drift_settings(context.config), reference=options.reference,
                 current=options.current)


def run_shadow(context: Context, options: ShadowOptions) -> Result:
    config = context.config
    return shadow(shadow_settings(config), config.columns, config.task, options)
