"""The DVC stages of dvc.yaml, one script each: parse, call the actlab library, write, log."""
