"""`mlci validate`: run the model and data tests of the config.

Which table each test reads: metric and fairness tests read the predictions
(`--predictions`, else made by running `--model` on `--data`); data tests
read `--data` when given, else the predictions file; the size test needs
`--model`, the latency test `--model` and `--data`. With `--predictions` and
`--model`, the model is the subject the predictions are attributed to (so a
promotion gate can tie this pass to that model) and is not run for metrics.
A test whose input was not given is reported as `skip`, never dropped."""
