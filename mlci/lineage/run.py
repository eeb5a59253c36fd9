"""`mlci lineage`: the run function of each mode, `tag`, `verify` and `keygen`.

Each writes its own result document (`lineage-tag.json`, `lineage-verify.json`,
`lineage-keygen.json`), not `lineage.json`: that is the lineage record itself,
and a tag and a verify in one job should both remain as gates."""

from __future__ import annotations

import os

from mlci.lineage.keygen import keygen
from mlci.lineage.options import KeygenOptions, TagOptions, VerifyOptions
from mlci.lineage.tagging import parse_params, tag
from mlci.lineage.verifying import verify
from mlci.result import Result
from mlci.runner import Context


def run_tag(context: Context, options: TagOptions) -> Result:
    key = options.key
    if key is not None and key.lstrip().startswith("-----BEGIN"):
        context.platform.mask(key)  # key text from a secret: never echoed by the CI log
    return tag(list(options.data), model=options.model, run_id=options.run_id, key=key,
               params=parse_params(options.params), config_path=context.config.path,
               out_dir=os.fspath(context.out), facts=dict(context.platform.facts()),
               no_git=options.no_git, tracking_uri=options.registry, python=options.python)


def run_verify(context: Context, options: VerifyOptions) -> Result:
    return verify(options.lineage, public_key=options.public_key, out_dir=os.fspath(context.out),
                  allow_paths=options.allow_paths)


def run_keygen(context: Context, options: KeygenOptions) -> Result:
    return keygen(options.directory)
