"""Typed, range-checked reads of one params.yaml mapping; each error names the dotted key.

``actlab.config`` builds its dataclasses with these; nothing here knows the sections.
"""

from __future__ import annotations

import difflib
import math
import re
from collections.abc import Mapping
from typing import Any

from actlab.errors import ConfigError

NAME = re.compile(r"^[a-z0-9_]+$")  # model names join matrix items with '-', so no '-' inside
MAX_SEED = 2**32 - 1  # torch.manual_seed / torch.Generator take less than 2**64; numpy 2**32
MAX_WIDTH = 65536  # neurons in one hidden layer


def flatten(values: Mapping[str, Any], prefix: str = "") -> dict[str, Any]:
    """Nested params as dotted keys: ``{"mnist1d": {"seed": 1}}`` with prefix ``"data."`` is
    ``{"data.mnist1d.seed": 1}``, as DVC and MLflow name them."""
    out: dict[str, Any] = {}
    for key, value in values.items():
        if isinstance(value, Mapping):
            out |= flatten(value, f"{prefix}{key}.")
        else:
            out[f"{prefix}{key}"] = value
    return out


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


def closest(value: Any, choices) -> str | None:
    """The choice closest to a misspelt ``value``, if one is close enough."""
    if not isinstance(value, str):
        return None
    close = difflib.get_close_matches(value, [str(c) for c in choices], n=1, cutoff=0.65)
    return close[0] if close else None


def did_you_mean(value: Any, choices) -> str:
    """`` (did you mean 'relu'?)`` for the choice closest to a misspelt ``value``, else ''."""
    close = closest(value, choices)
    return "" if close is None else f" (did you mean {close!r}?)"


class Section:
    """Reads one mapping of params.yaml, remembering the dotted path for error messages."""

    def __init__(self, raw: Any, path: str) -> None:
        if not isinstance(raw, dict):
            raise ConfigError(f"{path}: expected a mapping, got {raw!r}")
        self.raw, self.path, self.used = raw, path, set()

    def get(self, key: str) -> tuple[str, Any]:
        where = f"{self.path}.{key}" if self.path else key
        if key not in self.raw:
            strays = [k for k in self.raw if isinstance(k, str) and k not in self.used]
            close = difflib.get_close_matches(key, strays, n=1, cutoff=0.6)
            typo = f"; is {close[0]!r} beside it a typo of {key!r}?" if close else ""
            raise ConfigError(f"{where}: missing key in params.yaml{typo}")
        self.used.add(key)
        return where, self.raw[key]

    def section(self, key: str) -> Section:
        where, value = self.get(key)
        return Section(value, where)

    def choice(self, key: str, allowed: tuple[str, ...]) -> str:
        where, value = self.get(key)
        if value not in allowed:
            hint = did_you_mean(value, allowed)
            raise ConfigError(
                f"{where}: {value!r} is not allowed{hint}; use one of {', '.join(allowed)}"
            )
        return value

    def string(self, key: str) -> str:
        where, value = self.get(key)
        if not isinstance(value, str) or not value.strip():
            raise ConfigError(f"{where}: {value!r} must be a non-empty string")
        return value

    def integer(self, key: str, minimum: int | None = None, maximum: int | None = None) -> int:
        where, value = self.get(key)
        if isinstance(value, str) and value.strip().lstrip("+-").isdigit():
            raise ConfigError(
                f"{where}: must be an integer, not the string {value!r} (drop the quotes)"
            )
        if isinstance(value, bool) or not isinstance(value, int):
            raise ConfigError(f"{where}: {value!r} must be an integer")
        if minimum is not None and value < minimum:
            raise ConfigError(f"{where}: {value!r} must be >= {minimum}")
        if maximum is not None and value > maximum:
            raise ConfigError(f"{where}: {value!r} must be <= {maximum}")
        return value

    def auto_or_integer(self, key: str, minimum: int, maximum: int) -> int | str:
        """``auto``, or an integer in [minimum, maximum]."""
        where, value = self.get(key)
        if value == "auto":
            return value
        if isinstance(value, bool) or not isinstance(value, int):
            raise ConfigError(f"{where}: {value!r} must be auto or an integer >= {minimum}")
        return self.integer(key, minimum=minimum, maximum=maximum)

    def number(
        self,
        key: str,
        *,
        positive: bool = False,
        minimum: float | None = None,
        maximum: float | None = None,
        below: float | None = None,
    ) -> float:
        where, value = self.get(key)
        if isinstance(value, str) and _is_number(value):
            raise ConfigError(
                f"{where}: must be a number, not the string {value!r} (drop the quotes)"
            )
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise ConfigError(f"{where}: {value!r} must be a number")
        if not math.isfinite(value):
            raise ConfigError(f"{where}: {value!r} must be a finite number")
        if positive and not value > 0:
            raise ConfigError(f"{where}: {value!r} must be > 0")
        if minimum is not None and not value >= minimum:
            raise ConfigError(f"{where}: {value!r} must be >= {minimum}")
        if maximum is not None and not value <= maximum:
            raise ConfigError(f"{where}: {value!r} must be <= {maximum}")
        if below is not None and not value < below:
            raise ConfigError(f"{where}: {value!r} must be < {below}")
        return float(value)

    def numbers(
        self, key: str, *, positive: bool = False, maximum_count: int = 64
    ) -> tuple[float, ...]:
        """A number, or a non-empty list of distinct numbers (a grid), each checked as
        ``number`` checks one."""
        where, value = self.get(key)
        values = value if isinstance(value, list) else [value]
        if not values or len(values) > maximum_count:
            raise ConfigError(
                f"{where}: {value!r} must be a number or a list of 1 to {maximum_count} numbers"
            )
        # each item read as a key of its own, so an error names it: train.lr[1]
        labels = [f"{key}[{i}]" for i in range(len(values))] if isinstance(value, list) else [key]
        items = Section(dict(zip(labels, values, strict=True)), self.path)
        checked = [items.number(label, positive=positive) for label in labels]
        if len(set(checked)) != len(checked):
            raise ConfigError(f"{where}: {value!r} lists a number twice")
        return tuple(checked)

    def boolean(self, key: str) -> bool:
        where, value = self.get(key)
        if not isinstance(value, bool):
            hint = " (drop the quotes)" if str(value).lower() in ("true", "false") else ""
            raise ConfigError(f"{where}: {value!r} must be true or false{hint}")
        return value

    def integers(
        self, key: str, minimum: int | None = None, maximum: int | None = None
    ) -> tuple[int, ...]:
        """A list (maybe empty) of distinct integers, each checked as ``integer`` checks one;
        sorted."""
        where, value = self.get(key)
        if not isinstance(value, list):
            raise ConfigError(f"{where}: {value!r} must be a list of integers ([] for none)")
        labels = [f"{key}[{i}]" for i in range(len(value))]
        items = Section(dict(zip(labels, value, strict=True)), self.path)
        checked = [items.integer(label, minimum=minimum, maximum=maximum) for label in labels]
        if len(set(checked)) != len(checked):
            raise ConfigError(f"{where}: {value!r} lists a number twice")
        return tuple(sorted(checked))

    def names(self, key: str, allowed: tuple[str, ...] | None = None) -> tuple[str, ...]:
        where, value = self.get(key)
        if not isinstance(value, list) or not value:
            raise ConfigError(f"{where}: {value!r} must be a non-empty list of names")
        for item in value:
            if allowed is not None and item not in allowed:
                hint = did_you_mean(item, allowed)
                raise ConfigError(
                    f"{where}: unknown name {item!r}{hint}; use any of {', '.join(allowed)}"
                )
            if not isinstance(item, str) or not NAME.match(item):
                raise ConfigError(f"{where}: {item!r} must be a name of [a-z0-9_] (no '-')")
        if len(set(value)) != len(value):
            raise ConfigError(f"{where}: {value!r} lists a name twice")
        return tuple(value)

    def seeds(self, key: str) -> tuple[int, ...]:
        where, value = self.get(key)
        if (
            not isinstance(value, list)
            or not value
            or not all(
                isinstance(s, int) and not isinstance(s, bool) and 0 <= s <= MAX_SEED for s in value
            )
            or len(set(value)) != len(value)
        ):
            raise ConfigError(
                f"{where}: {value!r} must be a non-empty list of distinct integers >= 0 "
                f"and <= {MAX_SEED}"
            )
        return tuple(value)

    def done(self) -> None:
        unknown = sorted(set(self.raw) - self.used)
        if unknown:
            where = f"{self.path}.{unknown[0]}" if self.path else unknown[0]
            hint = did_you_mean(unknown[0], self.used) or " (a typo?)"
            raise ConfigError(
                f"{where}: unknown key{hint}; allowed here: {', '.join(sorted(self.used))}"
            )


def architecture(
    section: Section, name: str, inits: tuple[str, ...]
) -> tuple[tuple[int, ...], str]:
    """``{hidden: [widths], init: scheme}`` -> (widths, scheme)."""
    where, value = section.get(name)
    if isinstance(value, list):
        raise ConfigError(
            f"{where}: {value!r} is a list; an architecture is a recipe: "
            f"{{hidden: {value!r}, init: default}}"
        )
    recipe = section.section(name)
    where, value = recipe.get("hidden")
    if not isinstance(value, list) or not value:
        raise ConfigError(f"{where}: {value!r} must be a non-empty list of hidden widths")
    for width in value:
        if isinstance(width, bool) or not isinstance(width, int) or width < 1:
            raise ConfigError(f"{where}: width {width!r} must be a positive integer")
        if width > MAX_WIDTH:
            raise ConfigError(f"{where}: width {width!r} must be <= {MAX_WIDTH}")
    init = recipe.choice("init", inits)
    recipe.done()
    return tuple(value), init


def activation_options(section: Section, name: str) -> dict[str, Any]:
    """An activation's options as a mapping; which options it takes and their ranges are the
    registry's to check (``actlab.model.registry.check``)."""
    where, value = section.get(name)
    value = {} if value is None else value
    if not isinstance(value, dict):
        raise ConfigError(f"{where}: {value!r} must be a mapping of options ({{}} for none)")
    return dict(value)
