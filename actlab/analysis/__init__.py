"""Statistics across seeds and the comparison tables."""
