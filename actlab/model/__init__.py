"""The activation registry, the activations, the MLP and its checkpoints, test metrics."""
