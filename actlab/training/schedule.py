"""Which models train together: packs of one architecture, and the resume states they
continue from."""

from __future__ import annotations

from collections.abc import Mapping

from actlab import files, paths
from actlab.identity import ModelSpec
from actlab.training.state import ResumeState


def resume_states(keys: Mapping[str, str]) -> dict[str, ResumeState]:
    """The resume state each model (name -> run key) left when it was stopped, if any."""
    found = {}
    for name, key in keys.items():
        path = paths.resume_state(key)
        if path.exists():
            found[name] = ResumeState.from_dict(files.load_torch(path))
    return found


def packs(
    specs: list[ModelSpec], size: int, resumed: Mapping[str, ResumeState]
) -> list[list[ModelSpec]]:
    """``specs`` in packs of at most ``size``, in matrix order: one architecture (the same
    hidden widths) and one learning rate per pack, and in a pack either models that start or
    models that resume after the same epoch (their optimiser states step together)."""
    if size == 1:
        return [[spec] for spec in specs]
    groups: dict[tuple, list[ModelSpec]] = {}
    for spec in specs:
        state = resumed.get(spec.name)
        groups.setdefault((spec.hidden_sizes, spec.lr, state and state.epoch), []).append(spec)
    return [group[i : i + size] for group in groups.values() for i in range(0, len(group), size)]
