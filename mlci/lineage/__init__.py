"""`mlci lineage`: exact data snapshot IDs, git and environment facts, signed models.

MLflow records a commit only when it can find one and hashes the first 10,000
rows of a dataset into 8 hex characters; this subpackage records what a model
was built from exactly enough that `verify` can name every file that changed
since. The CLI calls `mlci.lineage.steps.tag`, `verify` and `keygen`; nothing
heavy is imported here so `mlci --help` stays fast."""
