"""actlab: which activation function should this MLP use, and why.

The library behind the DVC stages in ``stages/``, by role, each layer importing only those
above it: ``identity`` (a model's name and spec), ``errors``, ``paths`` and ``files`` (what is
written where, atomically), ``config`` (params.yaml, validated), ``records`` (a model's files),
``model`` (the activation registry, the activations, the MLP), ``data``, ``device``, ``probes``
(dead and saturated neurons, gradient flow, distributions), ``training``, ``analysis``
(statistics and tables), ``figures``, ``tracking`` (MLflow), ``stage_runner`` (what every
stage's ``main`` shares) and ``tools`` (the commands beside the pipeline:
``python -m actlab.tools.<name>``).
"""
