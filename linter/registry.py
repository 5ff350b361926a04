"""The rule catalogue: rules register themselves with their metadata when their module is imported, and
are chosen here by ID, ID prefix or name."""

from __future__ import annotations

import functools
import importlib
import inspect
import pkgutil
from collections.abc import Callable, Iterable, Sequence

from prodready.model import Level, Option, RuleMeta, Scope, kind_key

_RULES: dict[str, RuleMeta] = {}

# What each scope hands a rule besides its subject, by parameter name; options come as keywords too.
_ARGUMENTS = {
    Scope.RESOURCE: {"index"},
    Scope.POD_TEMPLATE: {"template", "index"},
    Scope.WORKLOAD: {"template", "index"},
    Scope.UNIT: {"index"},
    Scope.SUPPRESSIONS: {"unused"},
}
_HAS_SUBJECT = {Scope.RESOURCE, Scope.POD_TEMPLATE, Scope.WORKLOAD}


class UnknownRule(Exception):
    """A rule ID, prefix or name that matches no rule."""


def rule(
    id: str,
    name: str,
    level: Level,
    section: int | None,
    *,
    scope: Scope = Scope.RESOURCE,
    kinds: Iterable[str] = (),
    options: Iterable[Option] = (),
    default_on: bool = True,
) -> Callable:
    """Register the decorated generator as rule `id`; its docstring is the rule's documentation.

    `kinds` are the kinds it is called on, `apps/Deployment` (core kinds without a group: `Service`) or a
    Terraform type. The engine calls it as its `scope` says: the subject (the resource or workload, its
    first parameter, named as the rule likes) and, by parameter name, only what it asks for: `template`,
    `index`, and the value of each of its `options`. `level` is the level its findings have when it
    runs; `default_on=False` ships it switched off."""

    def register(check: Callable) -> Callable:
        if id in _RULES:
            raise ValueError(f"rule {id} registered twice")
        meta = RuleMeta(
            id,
            name,
            level,
            section,
            check,
            scope,
            frozenset(map(kind_key, kinds)),
            tuple(options),
            default_on,
        )
        _check_signature(meta)
        _RULES[id] = meta
        return check

    return register


def _check_signature(meta: RuleMeta) -> None:
    """A rule may ask only for what its scope gives; a misspelt parameter fails at import, not mid-scan."""
    parameters = list(inspect.signature(meta.check).parameters)
    if meta.scope in _HAS_SUBJECT:
        if not parameters:
            raise TypeError(f"rule {meta.id} takes no subject; its scope is {meta.scope.value}")
        parameters = parameters[1:]
    allowed = _ARGUMENTS[meta.scope] | {option.argument for option in meta.options}
    unknown = [parameter for parameter in parameters if parameter not in allowed]
    if unknown:
        raise TypeError(
            f"rule {meta.id} asks for {', '.join(unknown)}; its scope gives {', '.join(sorted(allowed))}"
        )


def wanted_arguments(meta: RuleMeta) -> frozenset[str]:
    """The parameters a rule asks for besides its subject."""
    parameters = _parameters(meta.check)
    return frozenset(parameters[1:] if meta.scope in _HAS_SUBJECT else parameters)


@functools.cache
def _parameters(check: Callable) -> tuple[str, ...]:
    """A rule function's parameter names, read once: the engine asks for every rendered unit."""
    return tuple(inspect.signature(check).parameters)


def all_rules() -> list[RuleMeta]:
    """Every rule of the catalogue, by ID."""
    if not _RULES:
        import prodready.rules as package

        for module in pkgutil.walk_packages(package.__path__, package.__name__ + "."):
            importlib.import_module(module.name)
    return sorted(_RULES.values(), key=lambda meta: meta.id)


def all_options() -> list[Option]:
    """Every option some rule declares, by name; rules that share an option share its declaration."""
    found: dict[str, Option] = {}
    for meta in all_rules():
        for option in meta.options:
            if found.setdefault(option.name, option) != option:
                raise ValueError(f"option {option.name} is declared twice, differently")
    return sorted(found.values(), key=lambda option: option.name)


def find_rule(key: str, custom: Sequence[RuleMeta] = ()) -> RuleMeta | None:
    """A rule by ID (any case) or by name, among the built-in rules and the `custom` checks."""
    return next((meta for meta in [*all_rules(), *custom] if meta.is_named(key)), None)


def choose_rules(
    select: list[str],
    ignore: list[str],
    levels: dict[str, str] | None = None,
    custom: Sequence[RuleMeta] = (),
) -> list[tuple[RuleMeta, Level]]:
    """The rules to run, with their levels, among the built-in rules and the `custom` checks of the
    configuration. `select` narrows to rules whose ID starts with, or equals, a given code, or whose name
    is given; naming a rule exactly also turns on a rule that is off by default. `ignore` removes.
    `levels` (from the configuration) sets a rule's level; `off` removes it, any other level turns it on."""
    rules = [*all_rules(), *custom]
    levels = levels or {}
    for key in [*select, *ignore, *levels]:
        if not any(meta.is_selected_by(key) for meta in rules):
            raise UnknownRule(key)
    chosen = []
    for meta in rules:
        configured = next((Level.parse(level) for key, level in levels.items() if meta.is_named(key)), None)
        if select:
            wanted = any(meta.is_named(key) for key in select) or (
                (meta.default_on or configured is not None)
                and any(meta.is_selected_by(key) for key in select)
            )
        else:
            wanted = meta.default_on or configured is not None
        if configured is Level.OFF or any(meta.is_selected_by(key) for key in ignore):
            wanted = False
        if wanted:
            chosen.append((meta, configured or meta.level))
    return chosen
