"""`mlci compare`: is the candidate model not worse (or better) than the baseline?

Both models are judged on the same rows where possible (paired), so the bootstrap
interval of each metric's *difference* is narrow enough to decide; every metric
and slice is one hypothesis, and Holm's correction keeps the family's error rate
at the confidence asked for. Whatever cannot be computed is a visible `skip`,
never a pass. Two more modes share the command: `--drift` tests every column of
two datasets for data drift, and `--shadow` runs champion and candidate on logged
rows (agreement, output drift, latency). Each writes its own result document
(`compare.json`, `drift.json`, `shadow.json`)."""
