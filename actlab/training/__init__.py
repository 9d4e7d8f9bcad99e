"""The training loop, the device it runs on, and the records a training writes."""
