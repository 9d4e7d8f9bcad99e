"""actlab: which activation function should this MLP use, and why."""
