"""`mlci canary`: judge a live canary against stable, the way Kayenta does, in any CI job.

The judge (`judge.py`, statistics in `shift.py`, `pairwise.py` and
`proportions.py`) classifies each metric and scores the run; `run.py` reads the
two sides (`inputs.py`, `prometheus.py`) and turns the outcome into a result
document (`checks.py`) whose verdict is the judge's: pass at a score ≥ 95, warn
(marginal) at ≥ 75, fail below or when a critical metric fails — so
`if: steps.judge.outputs.verdict == 'fail'` can roll back, and
`promote --require canary` can gate on it. `mlci canary plan` (`plan.py`) writes
the traffic split of each step for a deploy tool; it judges nothing, so it writes
no result document."""
