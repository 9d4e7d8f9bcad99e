"""actlab: which activation function should this MLP use, and why.

The library behind the DVC stages in ``stages/``, by role: ``config`` (params.yaml, validated),
``model`` (the activation registry, the activations, the MLP), ``data``, ``training``,
``probes`` (dead and saturated neurons, gradient flow, distributions), ``analysis`` (statistics
and tables), ``figures``, ``tracking`` (MLflow), ``files`` and ``paths`` (what is written
where); and two tools: ``python -m actlab.presets`` and ``python -m actlab.server``.
"""
