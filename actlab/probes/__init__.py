"""What the pipeline measures inside a network: dead and saturated neurons, gradients, weights."""
