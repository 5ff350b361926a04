"""Custom checks: an organisation's own policies, declared under `checks:` in the configuration as JSON
Schema (draft 7) and compiled once into rules that the engine runs like the built-in ones.

```yaml
checks:
  ACME001:
    name: workload-cost-center
    level: warning
    section: 3
    target: Workload        # Container | Workload | apps/Deployment | Deployment | terraform:aws_s3_bucket
    message: workload has no cost-center label, so its spend is charged to nobody
    description: Every workload carries the cost-center label that finance bills.
    match: {...}            # optional: only objects that satisfy this schema are checked
    schema: {...}           # what every checked object must satisfy
```

A finding points at the value the schema rejects (a missing key: at the object that should hold it) and
says which constraint failed. Terraform values that are unknown never make a check fire.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

from jsonschema import Draft7Validator, ValidationError, validators
from jsonschema.exceptions import SchemaError, best_match
from prodready.checklist import SECTIONS
from prodready.engine import ANY_GROUP
from prodready.kubernetes import WORKLOADS, PodTemplate, containers
from prodready.model import (
    UNKNOWN,
    KeyPath,
    KindKey,
    Level,
    Location,
    Problem,
    Resource,
    RuleMeta,
    Scope,
    is_unknown,
    kind_key,
)
from prodready.registry import all_rules
from referencing import Registry
from referencing.exceptions import Unresolvable
from referencing.jsonschema import DRAFT7

CHECK_ID = re.compile(r"[A-Z]+[0-9]+")
KIND = re.compile(r"(?:[a-z0-9]([-a-z0-9.]*[a-z0-9])?/)?[A-Z][A-Za-z0-9]*")
TERRAFORM_TYPE = re.compile(r"(?:data\.)?[a-z][a-z0-9_]*")
TERRAFORM_PREFIX = "terraform:"

# Python's regular expressions backtrack: a careless pattern over a long hostile string can take hours.
# Patterns are kept short, and only strings (values and keys) this short are matched against them; a
# longer value fails its `pattern`, a longer key matches no `patternProperties`.
MAX_PATTERN_LENGTH = 500
MAX_MATCHED_LENGTH = 1000

DRAFT7_URIS = {"http://json-schema.org/draft-07/schema", "http://json-schema.org/draft-07/schema#"}

DEFINITION: dict[str, Any] = {
    "type": "object",
    "required": ["name", "level", "section", "target", "message", "description", "schema"],
    "additionalProperties": False,
    "properties": {
        "name": {"type": "string", "pattern": r"^[a-z0-9]+(-[a-z0-9]+)*$"},
        "level": {"enum": ["error", "warning", "note"]},
        "section": {"enum": [number for number, _, _, checkable in SECTIONS if checkable]},
        "target": {"type": "string"},
        "message": {"type": "string", "minLength": 1},
        "description": {"type": "string", "minLength": 1},
        "match": {"type": "object"},
        "schema": {"type": "object"},
    },
}

# Keywords that judge a value with all it holds: an unknown anywhere inside it leaves the verdict unknown.
_WHOLE_VALUE_KEYWORDS = {"enum", "const", "not", "contains", "uniqueItems", "anyOf", "oneOf"}
# Keywords that apply a subschema depending on another verdict (`if`), which an unknown may have decided.
_CONDITIONAL_KEYWORDS = {"then", "else"}


class InvalidCheck(Exception):
    """A definition under `checks:` that is not a valid check; the message says why."""

    def __init__(self, check_id: str, location: Location, reason: str) -> None:
        super().__init__(reason)
        self.check_id = check_id
        self.location = location


def _matches(pattern: str, text: Any) -> bool:
    return isinstance(text, str) and len(text) <= MAX_MATCHED_LENGTH and re.search(pattern, text) is not None


def _pattern(validator, pattern, instance, schema) -> Iterator[ValidationError]:
    if validator.is_type(instance, "string") and not _matches(pattern, instance):
        yield ValidationError("does not match")


def _pattern_properties(validator, patterns, instance, schema) -> Iterator[ValidationError]:
    if not validator.is_type(instance, "object"):
        return
    for pattern, subschema in patterns.items():
        for key, value in instance.items():
            if _matches(pattern, key):
                yield from validator.descend(value, subschema, path=key, schema_path=pattern)


def _additional_properties(validator, additional, instance, schema) -> Iterator[ValidationError]:
    if not validator.is_type(instance, "object"):
        return
    properties, patterns = schema.get("properties", {}), schema.get("patternProperties", {})
    extras = [
        key
        for key in instance
        if key not in properties and not any(_matches(pattern, key) for pattern in patterns)
    ]
    for key in extras:
        if validator.is_type(additional, "object"):
            yield from validator.descend(instance[key], additional, path=key)
        elif additional is False:
            yield ValidationError("is not allowed", path=[key])


_BoundedValidator = validators.extend(
    Draft7Validator,
    {
        "pattern": _pattern,
        "patternProperties": _pattern_properties,
        "additionalProperties": _additional_properties,
    },
)


# --- explaining a failed constraint in plain words ----------------------------------------------------


def _show(value: Any) -> str:
    text = json.dumps(value, ensure_ascii=False, default=repr) if not isinstance(value, str) else repr(value)
    return text if len(text) <= 60 else text[:57] + "…"


def _name(path: Any, whole: str) -> str:
    """`metadata.labels`, `containers[0].image`: a path inside the object, as people read it."""
    text = ""
    for step in path:
        text += f"[{step}]" if isinstance(step, int) else f".{step}" if text else str(step)
    return f"'{text}'" if text else whole


_TYPES = {"object": "a mapping", "array": "a list", "integer": "an integer", "null": "null"}

# The other constraints, as words; {name} is the path, {value} the value found, {expected} the bound.
_PHRASES = {
    "additionalProperties": "{name} is not allowed",
    "const": "{name} must be {expected}",
    "not": "{name} is {value}, which the check forbids",
    "minimum": "{name} is {value}; it must be at least {expected}",
    "maximum": "{name} is {value}; it must be at most {expected}",
    "exclusiveMinimum": "{name} is {value}; it must be more than {expected}",
    "exclusiveMaximum": "{name} is {value}; it must be less than {expected}",
    "multipleOf": "{name} is {value}; it must be a multiple of {expected}",
    "minLength": "{name} must be at least {expected} characters long",
    "maxLength": "{name} must be at most {expected} characters long",
    "minItems": "{name} must have at least {expected} items",
    "maxItems": "{name} must have at most {expected} items",
    "minProperties": "{name} must have at least {expected} keys",
    "maxProperties": "{name} must have at most {expected} keys",
}


def explain(error: ValidationError, whole: str = "the object") -> str:
    """What `error` found wrong, as a clause: `'metadata.labels.cost-center' is required`."""
    keyword, expected, instance = error.validator, error.validator_value, error.instance
    name = _name(error.absolute_path, whole)
    if keyword == "required":
        missing = next(key for key in expected if key not in instance)
        return f"{_name([*error.absolute_path, missing], whole)} is required"
    if keyword == "pattern" and len(instance) > MAX_MATCHED_LENGTH:
        return f"{name} is {len(instance):,} characters long, too long to match against '{expected}'"
    if keyword == "pattern":
        return f"{name} is {_show(instance)}, which does not match '{expected}'"
    if keyword == "type":
        types = [expected] if isinstance(expected, str) else expected
        return f"{name} must be {' or '.join(_TYPES.get(t, f'a {t}') for t in types)}"
    if keyword == "enum":
        return f"{name} is {_show(instance)}, not one of {', '.join(map(_show, expected))}"
    if keyword in _PHRASES:
        return _PHRASES[keyword].format(name=name, value=_show(instance), expected=_show(expected))
    return f"{name}: {error.message[:200]}"


# --- judging one object -------------------------------------------------------------------------------


def _depends_on_unknown(error: ValidationError, body: Any) -> bool:
    """Whether an unknown Terraform value may have caused the error: it is the value judged, it is inside
    a value judged whole, or it may have chosen the branch of an `if` that failed."""
    if error.instance is UNKNOWN:
        return True
    if error.validator in _WHOLE_VALUE_KEYWORDS and is_unknown(error.instance):
        return True
    if _CONDITIONAL_KEYWORDS & set(error.absolute_schema_path) and is_unknown(body):
        return True
    return any(_depends_on_unknown(cause, body) for cause in error.context)


@dataclass(frozen=True)
class _Judge:
    schema: Any  # a compiled validator
    match: Any  # a compiled validator, or None: every object is checked
    message: str

    def problems(self, resource: Resource, body: Any, at: KeyPath) -> Iterator[Problem]:
        """One problem if `body` (found at `at` inside `resource`) fails the schema for a known reason."""
        if self.match is not None and not self.match.is_valid(body):
            return
        errors = [error for error in self.schema.iter_errors(body) if not _depends_on_unknown(error, body)]
        if errors:
            error = best_match(errors)
            yield Problem(f"{self.message}: {explain(error)}", resource, at + tuple(error.absolute_path))


# --- the check as a rule --------------------------------------------------------------------------------


@dataclass(frozen=True, kw_only=True)
class CustomCheck(RuleMeta):
    """A rule compiled from the configuration: its documentation is its description and its schema."""

    description: str
    message: str
    target: str
    schema: dict = field(compare=False)
    match: dict | None = field(compare=False)
    source: Location  # of its ID in the configuration

    @property
    def doc(self) -> str:
        each = "each that satisfies the match schema" if self.match is not None else "each"
        parts = [
            self.description,
            f"## What it checks\nA custom check, defined in {self.source.file} at line {self.source.line}, on"
            f" {_target_words(self.target)}: {each} must satisfy the schema below. A finding says: {self.message}.",
            f"## Schema\n```json\n{json.dumps(self.schema, indent=2, ensure_ascii=False)}\n```",
        ]
        if self.match is not None:
            parts.append(f"## Match\n```json\n{json.dumps(self.match, indent=2, ensure_ascii=False)}\n```")
        return "\n\n".join(parts)


def _target_words(target: str) -> str:
    if target == "Container":
        return "each container of every workload (init containers included)"
    if target == "Workload":
        return "every workload (each object with a pod template, and bare Pods)"
    if target.startswith(TERRAFORM_PREFIX):
        return f"every Terraform {target.removeprefix(TERRAFORM_PREFIX)}, with its attributes as evaluated"
    return f"every {target} object" if "/" in target else f"every {target} object in any API group"


def _container_check(judge: _Judge) -> Callable[..., Iterator[Problem]]:
    def check(workload: Resource, template: PodTemplate) -> Iterator[Problem]:
        for container in containers(template, include_init=True):
            yield from judge.problems(workload, container.body, container.path)

    return check


def _object_check(judge: _Judge) -> Callable[..., Iterator[Problem]]:
    def check(resource: Resource) -> Iterator[Problem]:
        yield from judge.problems(resource, resource.body, ())

    return check


_WORKLOAD_KINDS = frozenset(map(kind_key, WORKLOADS))


def _target(target: str) -> tuple[Scope, frozenset[KindKey]]:
    if target in ("Container", "Workload"):
        return Scope.POD_TEMPLATE, _WORKLOAD_KINDS
    if target.startswith(TERRAFORM_PREFIX) and TERRAFORM_TYPE.fullmatch(
        target.removeprefix(TERRAFORM_PREFIX)
    ):
        return Scope.RESOURCE, frozenset({(None, target.removeprefix(TERRAFORM_PREFIX))})
    if target == "Controller":  # what a check ported from Polaris may still say
        raise ValueError("unknown target 'Controller' (Polaris's Controller is Workload here)")
    if KIND.fullmatch(target):
        key = kind_key(target) if "/" in target else (ANY_GROUP, target)
        return Scope.RESOURCE, frozenset({key})
    raise ValueError(
        f"unknown target {target!r}: expected Container, Workload, a kind (apps/Deployment, or Deployment"
        " in any API group) or terraform:<resource type>"
    )


def _compiled(schema: dict, key: str) -> Any:
    """The validator of one of the check's schemas, or ValueError naming what is wrong with it."""
    if "$schema" in schema and schema["$schema"] not in DRAFT7_URIS:
        raise ValueError(f"{key}: $schema {schema['$schema']!r}: custom checks are JSON Schema draft 7")
    try:
        Draft7Validator.check_schema(schema)
    except SchemaError as error:
        raise ValueError(f"{key}: not a valid JSON Schema: {explain(error, 'the schema')}") from None
    resolver = Registry().resolver_with_root(DRAFT7.create_resource(schema))
    for where, keyword, value in _keywords(schema):
        if keyword == "$ref":
            if not value.startswith("#"):
                raise ValueError(
                    f"{key}: $ref {value!r}: a check refers only inside itself (#/definitions/…)"
                )
            try:
                target = resolver.lookup(value).contents
            except Unresolvable:
                raise ValueError(f"{key}: $ref {value!r} resolves to nothing in the check") from None
            # One step only: a schema that recurses would follow hostile input as deep as it is nested.
            if any(inner == "$ref" for _, inner, _ in _keywords(target)):
                raise ValueError(
                    f"{key}: $ref {value!r} points at a part that holds a $ref itself; a reference goes one"
                    " step, so that no check recurses through deeply nested input"
                )
        patterns = [value] if keyword == "pattern" else list(value) if keyword == "patternProperties" else []
        for pattern in patterns:
            if len(pattern) > MAX_PATTERN_LENGTH:
                raise ValueError(
                    f"{key}: {where}: a pattern of {len(pattern):,} characters; at most {MAX_PATTERN_LENGTH} are allowed"
                )
    # An empty registry: a reference is resolved inside the schema, and nothing is ever fetched.
    return _BoundedValidator(schema, registry=Registry())


def _keywords(schema: Any, where: str = "") -> Iterator[tuple[str, str, Any]]:
    """(place, keyword, value) of every `$ref`, `pattern` and `patternProperties` in a schema."""
    if isinstance(schema, dict):
        for keyword, value in schema.items():
            place = f"{where}.{keyword}" if where else str(keyword)
            if (keyword in ("$ref", "pattern") and isinstance(value, str)) or (
                keyword == "patternProperties" and isinstance(value, dict)
            ):
                yield place, keyword, value
            yield from _keywords(value, place)
    elif isinstance(schema, list):
        for number, item in enumerate(schema):
            yield from _keywords(item, f"{where}[{number}]")


def _compile_check(check_id: str, definition: Any, source: Location, taken: list[RuleMeta]) -> CustomCheck:
    """The rule `check_id` defines; `taken` are the rules already defined, built-in or custom."""

    def invalid(reason: str) -> InvalidCheck:
        return InvalidCheck(check_id, source, reason)

    if not CHECK_ID.fullmatch(check_id):
        raise invalid("a check ID is uppercase letters followed by digits, like ACME001")
    clash = next((meta for meta in taken if meta.id == check_id), None)
    if clash is not None:
        raise invalid(f"collides with the built-in rule {clash.id} {clash.name}")
    if check_id.startswith("PR"):
        raise invalid("IDs that start with PR are reserved for prodready's own rules")
    # An unknown key first: it is usually the misspelling of the key that `required` then misses.
    errors = sorted(
        _BoundedValidator(DEFINITION).iter_errors(definition),
        key=lambda e: (e.validator != "additionalProperties", list(e.absolute_path)),
    )
    if errors:
        raise invalid(explain(errors[0], "the check"))
    clash = next((meta for meta in taken if meta.name == definition["name"]), None)
    if clash is not None:
        raise invalid(f"the name {clash.name!r} is taken by {clash.id}")
    try:
        scope, kinds = _target(definition["target"])
        judge = _Judge(
            _compiled(definition["schema"], "schema"),
            _compiled(definition["match"], "match") if "match" in definition else None,
            definition["message"],
        )
    except ValueError as error:
        raise invalid(str(error)) from None
    check = _container_check(judge) if definition["target"] == "Container" else _object_check(judge)
    return CustomCheck(
        id=check_id,
        name=definition["name"],
        level=Level.parse(definition["level"]),
        section=definition["section"],
        check=check,
        scope=scope,
        kinds=kinds,
        description=definition["description"],
        message=definition["message"],
        target=definition["target"],
        schema=definition["schema"],
        match=definition.get("match"),
        source=source,
    )


def compile_checks(definitions: dict[str, Any], locate: Callable[[str], Location]) -> list[CustomCheck]:
    """Every check of the configuration's `checks:`, each located by `locate(check ID)`; InvalidCheck for
    the first that is not valid."""
    built_in = all_rules()
    checks: list[CustomCheck] = []
    for check_id, definition in definitions.items():
        checks.append(_compile_check(str(check_id), definition, locate(str(check_id)), [*built_in, *checks]))
    return checks
