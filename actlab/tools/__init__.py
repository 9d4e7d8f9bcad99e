"""The command-line tools beside the pipeline, each ``python -m actlab.tools.<name>``: presets
(the tutorials as DVC experiments), server (a shared MLflow tracking server), compare_configs and
compare_runs (tables from saved models.csv files), cost (training cost), docs_tables (the result
tables spliced into the docs)."""
