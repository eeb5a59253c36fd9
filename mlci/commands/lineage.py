from __future__ import annotations

import sys
from typing import Any

import click

from mlci.options import common, common_options, option

TAG_EXAMPLES = """\b
Examples:
  # record data IDs, commit and environment; sign the model
  mlci lineage tag --data data/train.parquet data/eval/ --model model/ \\
                   --signing-key keys/mlci-signing.pem

\b
  # also tag the MLflow run that trained the model
  mlci lineage tag --data data/ --model model/ --run-id "$RUN_ID" \\
                   --registry http://127.0.0.1:5000
"""

VERIFY_EXAMPLES = """\b
Examples:
  # in a later job: did any data or model file change? are the signatures ours?
  mlci lineage verify --lineage .mlci/lineage.json --public-key keys/mlci-signing.pub.pem

\b
  # the record names data outside the project: say that this is expected
  mlci lineage verify --lineage .mlci/lineage.json --allow-path /mnt/datasets/train
"""

KEYGEN_EXAMPLES = """\b
Examples:
  mlci lineage keygen --dir keys/
  # then store keys/mlci-signing.pem as a CI secret (e.g. MLCI_SIGNING_KEY)
"""


GROUP_EXAMPLES = """\b
Examples:
  mlci lineage keygen --dir keys/
  mlci lineage tag --data data/train.parquet --model model/ --signing-key keys/mlci-signing.pem
  mlci lineage verify --lineage .mlci/lineage.json --public-key keys/mlci-signing.pub.pem
"""


@click.group(epilog=GROUP_EXAMPLES)
def lineage() -> None:
    """Record and verify what a model was built from; sign model artifacts.

    tag writes <out>/lineage.json (signed, with a key); verify re-hashes
    everything it names and fails on any change or edit; keygen makes an
    ECDSA P-256 key pair.
    """


@lineage.command(epilog=TAG_EXAMPLES)
@option("data", multiple=True, metavar="PATH...",
        help="Data files or folders the model was built from (repeatable).")
@click.argument("more_data", nargs=-1, metavar="", type=click.Path())
@option("model", metavar="DIR", help="The model folder (e.g. an MLflow model folder) to hash "
        "and sign; the signature goes into it as mlci.sig.")
@option("run-id", metavar="ID", help="Also tag this MLflow run (commit, data snapshot ID, "
        "mlci.lineage.*).")
@option("signing-key", "--key", metavar="PEM",
        help="Sign the model and the lineage record with this ECDSA P-256 private key: a PEM "
        "file, or the PEM text (e.g. from a CI secret; mlci masks it). `mlci lineage keygen` "
        "makes a pair.")
@option("param", multiple=True, metavar="KEY=VALUE",
        help="Extra facts to record, KEY=VALUE (repeatable).")
@option("no-git", is_flag=True, help="Allow running outside a git checkout (recorded as such).")
@option("python", metavar="PATH", help="Interpreter whose packages to record "
        "[default: the one running mlci].")
@option("registry", metavar="URI", help="MLflow tracking URI for --run-id "
        "[default: $MLFLOW_TRACKING_URI].")
@common_options
def tag(**kwargs: Any) -> None:
    """Record commit, data snapshot IDs, environment and config; sign the model."""
    from mlci import runner
    from mlci.lineage.options import TagOptions
    from mlci.lineage.run import run_tag

    data = (*kwargs["data"], *kwargs["more_data"])
    if not data:
        raise click.UsageError("lineage tag needs --data PATH... (files or folders)")
    sys.exit(runner.run("lineage-tag", common(kwargs), run_tag, TagOptions(
        data=data, model=kwargs["model"], run_id=kwargs["run_id"], key=kwargs["signing_key"],
        params=tuple(kwargs["param"]), no_git=kwargs["no_git"], python=kwargs["python"],
        registry=kwargs["registry"])))


@lineage.command(epilog=VERIFY_EXAMPLES)
@option("lineage", dest="lineage_path", metavar="FILE", required=True,
        help="The lineage.json written by `lineage tag`.")
@option("public-key", metavar="PEM", help="Require signatures of the model and of the "
        "lineage record by this key (a PEM file or PEM text); without it a valid signature by "
        "any key only warns.")
@option("allow-path", multiple=True, metavar="PATH", help="A data or model path outside the "
        "project that lineage.json may name (repeatable); others are refused.")
@common_options
def verify(**kwargs: Any) -> None:
    """Re-hash data and model; fail on any changed, added or removed file, an edited record
    or a bad signature."""
    from mlci import runner
    from mlci.lineage.options import VerifyOptions
    from mlci.lineage.run import run_verify

    sys.exit(runner.run("lineage-verify", common(kwargs), run_verify, VerifyOptions(
        lineage=kwargs["lineage_path"], public_key=kwargs["public_key"],
        allow_paths=tuple(kwargs["allow_path"]))))


@lineage.command(epilog=KEYGEN_EXAMPLES)
@option("dir", dest="directory", metavar="DIR", required=True, help="Folder for the key pair.")
@common_options
def keygen(**kwargs: Any) -> None:
    """Write an ECDSA P-256 key pair (mlci-signing.pem, mlci-signing.pub.pem)."""
    from mlci import runner
    from mlci.lineage.options import KeygenOptions
    from mlci.lineage.run import run_keygen

    sys.exit(runner.run("lineage-keygen", common(kwargs), run_keygen,
                        KeygenOptions(directory=kwargs["directory"])))
