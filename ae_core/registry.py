"""What a model family is, declared once on its class: a name, a description, its own settings.

A family registers itself with `@register(name, description, settings=(...))` in its own file
under `ae_core/models/`. The CLI options, the Train page's widgets and the config's validation
are all generated from the `Setting` declarations, so a new family with a new setting touches
only its own file (and its test). No torch here: `config.py` reads this module too.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Setting:
    """One value of a model config: its type, default, allowed range and one line of help."""

    name: str
    kind: type  # int, float, str, or tuple (a tuple of whole numbers, e.g. layer widths)
    default: Any
    help: str
    label: str = ""  # the Train page's label; the name with spaces when empty
    bounds: tuple[float, float] | None = None  # inclusive, for a number or each tuple entry
    choices: tuple[str, ...] = ()  # the values a str setting may take
    length: tuple[int, int] = (0, 8)  # how many entries a tuple setting may hold
    step: float | None = None  # the Train page's step for a number

    @property
    def title(self) -> str:
        return self.label or self.name.replace("_", " ").capitalize()

    def check(self, value: Any) -> Any:
        """`value` as this setting's type; a ValueError naming the setting when it does not fit."""
        if self.kind is tuple:
            if isinstance(value, str | bytes) or not isinstance(value, Iterable):
                raise ValueError(f"{self.name}={value!r} must be a sequence of whole numbers")
            entries = tuple(_whole(self.name, entry) for entry in value)
            low, high = self.length
            if not low <= len(entries) <= high:
                raise ValueError(f"{self.name}={entries!r} must hold {low} to {high} entries")
            for entry in entries:
                self._check_bounds(entry, entries)
            return entries
        if self.kind is str:
            if value not in self.choices:
                raise ValueError(f"{self.name}={value!r} is not one of {', '.join(self.choices)}")
            return value
        if self.kind is int:
            value = _whole(self.name, value)
        else:
            if isinstance(value, bool) or not isinstance(value, int | float):
                raise ValueError(f"{self.name}={value!r} must be a number")
            value = float(value)
        self._check_bounds(value, value)  # NaN fails any bounds
        if not math.isfinite(value):
            raise ValueError(f"{self.name}={value!r} must be a finite number")
        return value

    def _check_bounds(self, entry: float, shown: Any) -> None:
        if self.bounds is not None and not self.bounds[0] <= entry <= self.bounds[1]:
            low, high = self.bounds
            raise ValueError(f"{self.name}={shown!r} must be in {low:g}..{high:g}")


def _whole(name: str, value: Any) -> int:
    # A float that is a whole number (JSON, a number widget) is accepted; 2.5, True, NaN or
    # Infinity is not (int() of an infinity is an OverflowError, not a ValueError).
    if isinstance(value, bool) or not isinstance(value, int | float) or (
            isinstance(value, float) and not math.isfinite(value)) or value != int(value):
        raise ValueError(f"{name}={value!r} must be a whole number")
    return int(value)


REGISTRY: dict[str, type] = {}  # family name -> model class, filled by `register`


def register(name: str, description: str, settings: tuple[Setting, ...] = ()):
    """Class decorator: add a model family to the registry with its settings.

    A setting name means one thing everywhere: two families may share a setting (the MLP
    widths), but only the very same declaration, so the CLI has one option for it.
    """

    def decorate(model_class: type) -> type:
        if name in REGISTRY:
            raise ValueError(f"model family {name!r} is registered twice")
        declared = all_settings(load=False)
        for setting in settings:
            if setting.name in declared and declared[setting.name] != setting:
                raise ValueError(f"{name}: setting {setting.name!r} is declared differently "
                                 f"by another family; reuse that declaration or rename it")
        model_class.family = name
        model_class.description = description
        model_class.settings = tuple(settings)
        REGISTRY[name] = model_class
        return model_class

    return decorate


def families() -> dict[str, type]:
    """Every registered family by name, the shipped ones registered on first use."""
    import ae_core.models  # noqa: F401  (its import registers every family file in the folder)

    return REGISTRY


def family_class(name: str) -> type:
    """The model class of family `name`; an unknown name lists the valid ones."""
    known = families()
    if name not in known:
        raise ValueError(f"unknown model family {name!r}; valid families: {', '.join(known)}")
    return known[name]


def all_settings(load: bool = True) -> dict[str, Setting]:
    """Every family's settings by name, in registration order (one CLI option each)."""
    declared: dict[str, Setting] = {}
    for model_class in (families() if load else REGISTRY).values():
        for setting in model_class.settings:
            declared.setdefault(setting.name, setting)
    return declared
