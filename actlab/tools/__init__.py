"""The command-line tools beside the pipeline, each ``python -m actlab.tools.<name>``: presets
(the tutorials as DVC experiments), server (a shared MLflow tracking server), ui (the MLflow UI
on the comparison), exp_show (``dvc exp show`` in the terminal's width), plan (the seeds a
confirmation needs), rate_check (a learning-rate grid's chosen rates on fresh seeds),
compare_configs, compare_runs and transfer (tables from saved models.csv files), fresh_test
(MNIST-1D models on fresh test sets), cost (training cost), docs_tables (the result tables
spliced into the docs), vega_page (the offline page of ``dvc plots show``). Shared argparse
types are in ``args``."""
