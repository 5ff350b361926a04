"""The rule catalogue: rules register themselves with their metadata when their module is imported."""

from __future__ import annotations

import importlib
import pkgutil
from collections.abc import Callable, Iterable

from prodready.model import Level, RuleMeta, Scope

_RULES: dict[str, RuleMeta] = {}


def rule(
    id: str,
    name: str,
    level: Level,
    section: int | None,
    kinds: Iterable[str] = (),
    scope: Scope = Scope.RESOURCE,
    default_on: bool = True,
) -> Callable:
    """Register the decorated generator as rule `id`; its docstring is the rule's documentation.

    `level` is the level its findings have when it runs; `default_on=False` ships it switched off."""

    def register(check: Callable) -> Callable:
        if id in _RULES:
            raise ValueError(f"rule {id} registered twice")
        _RULES[id] = RuleMeta(id, name, level, section, check, scope, frozenset(kinds), default_on)
        return check

    return register


def all_rules() -> list[RuleMeta]:
    """Every rule of the catalogue, by ID."""
    if not _RULES:
        import prodready.rules as package

        for module in pkgutil.walk_packages(package.__path__, package.__name__ + "."):
            importlib.import_module(module.name)
    return sorted(_RULES.values(), key=lambda meta: meta.id)


def find_rule(key: str) -> RuleMeta | None:
    """A rule by ID (any case) or by name."""
    key = key.strip()
    for meta in all_rules():
        if key.upper() == meta.id or key.lower() == meta.name:
            return meta
    return None
