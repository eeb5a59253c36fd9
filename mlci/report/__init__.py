"""`mlci report`: every result document as one markdown report, in the step
summary, in `<out>/report.md`, and as one sticky pull/merge-request comment.

Modules: `documents` (find and schema-check), `render` (deterministic
markdown), `charts` (Mermaid, optional PNGs), `size` (fit the host's limit),
`step` (the CLI's function). Posting lives behind `mlci.ci.Platform`."""
