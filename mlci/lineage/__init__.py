"""`mlci lineage`: exact data snapshot IDs, git and environment facts, signed models.

MLflow records a commit only when it can find one and hashes the first 10,000
rows of a dataset into 8 hex characters; this step records what a model was
built from exactly enough that `verify` can name every file that changed
since, and signs the model and the record so that neither can be swapped or
edited unnoticed. `tag` writes `lineage.json`; `verify` re-hashes everything
it names; `keygen` makes the key pair. Promotion's `lineage` and `signature`
gates and the report read the same record (`mlci.lineage.document.facts`)."""
