"""MLflow: the store, which run each thing logs to, and what each stage logs."""
