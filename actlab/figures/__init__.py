"""The figures, as pure functions: data in, a matplotlib figure out."""
