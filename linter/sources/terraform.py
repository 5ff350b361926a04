"""A Terraform module directory → resources with evaluated bodies, positions and reference edges.

Values are three-valued: known, UNKNOWN, or absent (the key is missing). Variables resolve from their
defaults, then `terraform.tfvars`, `*.auto.tfvars` (in name order) and `--var-file` files in the order
given; locals evaluate where they are literals or references to resolved values; a few pure functions are
evaluated; everything else is UNKNOWN.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

from prodready.model import UNKNOWN, Location, Positions, Resource, is_unknown, mark
from prodready.sources.hcl import (
    SPLAT,
    Block,
    Call,
    Conditional,
    HclFile,
    Literal,
    ObjectExpr,
    Opaque,
    Operation,
    Reference,
    Template,
    TupleExpr,
)

# Names that start a reference to something other than a resource. Resource types always hold an
# underscore (`aws_s3_bucket`), which also tells them from `for` and `dynamic` iterators.
_NOT_RESOURCES = {"var", "local", "each", "count", "self", "path", "terraform"}


def _all_known(values: list) -> bool:
    return not any(is_unknown(v) for v in values)


def _join(separator: str, items: list) -> str:
    return separator.join(_to_string(item) for item in items)


def _to_string(item: Any) -> str:
    if isinstance(item, bool):
        return "true" if item else "false"
    if isinstance(item, float) and item.is_integer():
        return str(int(item))
    return str(item)


def _merge(*maps: Any) -> dict:
    merged: dict = {}
    for item in maps:
        if item is not None:
            merged.update(item)
    return merged


def _format(spec: str, arguments: tuple) -> str:
    """Terraform's format() for plain verbs (`%s`, `%d`, `%v`, `%%`); anything fancier is not evaluated."""
    remaining = list(arguments)

    def verb(match: re.Match) -> str:
        if match.group(0) == "%%":
            return "%"
        if match.group(0) not in ("%s", "%d", "%v") or not remaining:
            raise ValueError("not a plain format verb")
        return _to_string(remaining.pop(0))

    return re.sub(r"%.", verb, spec)


def _flatten(items: list) -> list:
    flat: list = []
    for item in items:
        flat.extend(_flatten(item) if isinstance(item, list) else [item])
    return flat


# Pure functions evaluated when every argument is known; any other function's value is UNKNOWN.
_FUNCTIONS: dict[str, Callable[..., Any]] = {
    "jsonencode": lambda value: json.dumps(value, separators=(",", ":")),
    "jsondecode": json.loads,
    "merge": _merge,
    "concat": lambda *lists: [item for items in lists for item in items],
    "flatten": _flatten,
    "tolist": list,
    "toset": lambda items: list(dict.fromkeys(items)),
    "tomap": dict,
    "tostring": _to_string,
    "tonumber": lambda text: float(text) if "." in str(text) else int(text),
    "tobool": lambda value: value if isinstance(value, bool) else {"true": True, "false": False}[value],
    "lower": str.lower,
    "upper": str.upper,
    "length": len,
    "keys": lambda mapping: sorted(mapping),
    "values": lambda mapping: [mapping[key] for key in sorted(mapping)],
    "lookup": lambda mapping, key, *default: mapping[key] if key in mapping else default[0],
    "contains": lambda items, item: item in items,
    "element": lambda items, index: items[index % len(items)],
    "join": _join,
    "split": lambda separator, text: text.split(separator),
    "compact": lambda items: [item for item in items if item not in (None, "")],
    "distinct": lambda items: list(dict.fromkeys(items)),
    "coalesce": lambda *items: next(item for item in items if item not in (None, "")),
    "max": max,
    "min": min,
    "format": lambda spec, *args: _format(spec, args),
}

_ARITHMETIC = {"+", "-", "*", "/", "%", "-unary", "<", ">", "<=", ">="}
_OPERATIONS: dict[str, Callable[[Any, Any], Any]] = {
    "==": lambda a, b: a == b,
    "!=": lambda a, b: a != b,
    "<": lambda a, b: a < b,
    ">": lambda a, b: a > b,
    "<=": lambda a, b: a <= b,
    ">=": lambda a, b: a >= b,
    "+": lambda a, b: a + b,
    "-": lambda a, b: a - b,
    "*": lambda a, b: a * b,
    "/": lambda a, b: a / b,
    "%": lambda a, b: a % b,
}


# The most a value may weigh (list items, map entries and string characters, counting every alias):
# real configuration stays far below it.
_VALUE_BUDGET = 1_000_000


def _within_budget(value: Any) -> bool:
    sizes: dict[int, int] = {}

    def size(item: Any) -> int:
        if isinstance(item, str):
            return 1 + len(item)
        if not isinstance(item, (list, dict)):
            return 1
        if id(item) not in sizes:
            total = 1
            for child in item.values() if isinstance(item, dict) else item:
                total += size(child)
                if total > _VALUE_BUDGET:
                    break
            sizes[id(item)] = total
        return sizes[id(item)]

    return size(value) <= _VALUE_BUDGET


class Evaluator:
    """Evaluates expressions of one module: variables are resolved values, locals are evaluated on
    first use (a cycle is UNKNOWN), dynamic-block iterators are bound by the caller."""

    def __init__(self, variables: dict[str, Any], local_expressions: dict[str, Any]) -> None:
        self.variables = variables
        self.local_expressions = local_expressions
        self.locals: dict[str, Any] = {}

    def value(self, expression: Any, bindings: dict[str, Any] | None = None) -> Any:
        """The value of an expression; UNKNOWN where it cannot be known, or where it would be larger
        than any real configuration (locals that double each other are a bomb, not a setting)."""
        result = self._evaluate(expression, bindings or {})
        return result if _within_budget(result) else UNKNOWN

    def _evaluate(self, expression: Any, bindings: dict[str, Any]) -> Any:
        kind = type(expression)
        if kind is Literal:
            return expression.value
        if kind is Reference:
            return self._reference(expression.steps, bindings)
        if kind is Template:
            parts = [
                part if isinstance(part, str) else self.value(part, bindings) for part in expression.parts
            ]
            if len(parts) == 1:
                return parts[0]
            if not _all_known(parts) or None in parts:
                return UNKNOWN
            texts = [_to_string(part) for part in parts]
            return "".join(texts) if sum(map(len, texts)) <= _VALUE_BUDGET else UNKNOWN
        if kind is TupleExpr:
            return [self.value(item, bindings) for item in expression.items]
        if kind is ObjectExpr:
            result = {}
            for key_expression, value_expression in expression.items:
                key = self.value(key_expression, bindings)
                if not isinstance(key, (str, int, float, bool)):
                    return UNKNOWN
                result[_to_string(key)] = self.value(value_expression, bindings)
            return result
        if kind is Conditional:
            condition = self.value(expression.condition, bindings)
            if isinstance(condition, bool):
                return self.value(expression.if_true if condition else expression.if_false, bindings)
            if_true, if_false = (
                self.value(expression.if_true, bindings),
                self.value(expression.if_false, bindings),
            )
            return if_true if if_true == if_false and _all_known([if_true]) else UNKNOWN
        if kind is Operation:
            return self._operation(expression, bindings)
        if kind is Call:
            return self._call(expression, bindings)
        return UNKNOWN

    def _reference(self, steps: tuple, bindings: dict[str, Any]) -> Any:
        root = steps[0]
        if root in bindings:
            current, rest = bindings[root], steps[1:]
        elif root == "var" and len(steps) > 1:
            current, rest = self.variables.get(steps[1], UNKNOWN), steps[2:]
        elif root == "local" and len(steps) > 1:
            current, rest = self._local(steps[1]), steps[2:]
        else:
            return UNKNOWN
        for step in rest:
            if step == SPLAT or current is UNKNOWN:
                return UNKNOWN
            if isinstance(current, dict) and isinstance(step, str) and step in current:
                current = current[step]
            elif isinstance(current, list) and isinstance(step, int) and 0 <= step < len(current):
                current = current[step]
            else:
                return UNKNOWN
        return current

    def _local(self, name: str) -> Any:
        if name not in self.locals:
            if name not in self.local_expressions:
                return UNKNOWN
            self.locals[name] = UNKNOWN  # a cycle reads UNKNOWN instead of recursing forever
            try:
                self.locals[name] = self.value(self.local_expressions[name])
            except RecursionError:  # a chain of locals too long to follow is not known
                self.locals[name] = UNKNOWN
        return self.locals[name]

    def _operation(self, expression: Operation, bindings: dict[str, Any]) -> Any:
        operands = [self.value(operand, bindings) for operand in expression.operands]
        operator = expression.operator
        if operator in ("&&", "||"):
            left, right = operands
            decisive = operator == "||"  # true decides ||, false decides &&
            if left is decisive or right is decisive:
                return decisive
            return left if isinstance(left, bool) and isinstance(right, bool) else UNKNOWN
        if not _all_known(operands):
            return UNKNOWN
        if operator == "!unary":
            return not operands[0] if isinstance(operands[0], bool) else UNKNOWN
        numbers = all(isinstance(o, (int, float)) and not isinstance(o, bool) for o in operands)
        if operator in _ARITHMETIC and not numbers:  # Terraform has no string or list arithmetic
            return UNKNOWN
        try:
            return -operands[0] if operator == "-unary" else _OPERATIONS[operator](*operands)
        except (TypeError, ValueError, ZeroDivisionError, KeyError, OverflowError):
            return UNKNOWN

    def _call(self, call: Call, bindings: dict[str, Any]) -> Any:
        function = _FUNCTIONS.get(call.name)
        if function is None:
            return UNKNOWN
        arguments = [self.value(argument, bindings) for argument in call.arguments]
        if not _all_known(arguments):
            return UNKNOWN
        if call.expand_last and arguments:
            if not isinstance(arguments[-1], list):
                return UNKNOWN
            arguments = arguments[:-1] + arguments[-1]
        try:
            return function(*arguments)
        except (
            Exception
        ):  # a function applied to values it does not take: Terraform would fail; we do not know
            return UNKNOWN


def _references_in(expression: Any) -> Iterator[Reference]:
    """Every reference inside an expression."""
    stack = [expression]
    while stack:
        item = stack.pop()
        kind = type(item)
        if kind is Reference:
            yield item
        elif kind is Template or kind is TupleExpr:
            stack.extend(
                part for part in (item.parts if kind is Template else item.items) if not isinstance(part, str)
            )
        elif kind is ObjectExpr:
            for key, value in item.items:
                stack.extend((key, value))
        elif kind is Conditional:
            stack.extend((item.condition, item.if_true, item.if_false))
        elif kind is Operation or kind is Call:
            stack.extend(item.operands if kind is Operation else item.arguments)
        elif kind is Opaque:
            stack.extend(item.references)


def references(expression: Any, local_references: dict[str, set[str]] | None = None) -> set[str]:
    """Addresses of the resources, data sources and modules an expression mentions, directly or through
    the locals it reads (`local_references`: what each local mentions)."""
    found: set[str] = set()
    for reference in _references_in(expression):
        steps = reference.steps
        names = [step for step in steps if isinstance(step, str) and step != SPLAT]
        if steps[0] == "data" and len(names) >= 3:
            found.add(".".join(names[:3]))
        elif steps[0] == "module" and len(names) >= 2:
            found.add(".".join(names[:2]))
        elif steps[0] == "local" and len(names) >= 2 and local_references:
            found |= local_references.get(names[1], set())
        elif "_" in steps[0] and steps[0] not in _NOT_RESOURCES and len(names) >= 2:
            found.add(".".join(names[:2]))
    return found


def _local_references(local_expressions: dict[str, Any]) -> dict[str, set[str]]:
    """What each local mentions, following locals that read other locals."""
    direct = {name: references(expression) for name, expression in local_expressions.items()}
    reads = {
        name: {r.steps[1] for r in _references_in(expression) if r.steps[0] == "local" and len(r.steps) > 1}
        for name, expression in local_expressions.items()
    }
    resolved: dict[str, set[str]] = {}
    for name in local_expressions:
        seen, pending, found = {name}, [name], set()
        while pending:
            current = pending.pop()
            found |= direct.get(current, set())
            for other in reads.get(current, ()):
                if other not in seen:
                    seen.add(other)
                    pending.append(other)
        resolved[name] = found
    return resolved


def _block_references(
    block: Block, local_references: dict[str, set[str]], iterators: frozenset[str] = frozenset()
) -> set[str]:
    """Everything a block mentions, leaving out the iterators of its `dynamic` blocks."""
    found: set[str] = set()
    for attribute in block.attributes.values():
        found |= references(attribute.expression, local_references)
    for child in block.blocks:
        if child.type == "lifecycle":  # `ignore_changes = [tags]` names attributes, not resources
            continue
        inner = iterators
        if child.type == "dynamic" and child.labels:
            iterator = child.attributes.get("iterator")
            name = (
                iterator.expression.steps[0]
                if iterator and isinstance(iterator.expression, Reference)
                else child.labels[0]
            )
            inner = iterators | {name}
        found |= _block_references(child, local_references, inner)
    return {address for address in found if address.split(".")[0] not in iterators}


@dataclass
class ModuleFile:
    path: str
    parsed: HclFile


class _BodyBuilder:
    """Evaluates a block into a plain dict (nested blocks as lists of dicts) and records positions."""

    def __init__(self, evaluator: Evaluator, positions: Positions) -> None:
        self.evaluator = evaluator
        self.table = positions.table

    def build(self, block: Block, bindings: dict[str, Any]) -> dict:
        body: dict = {}
        marks: dict = {}
        self.table[id(body)] = marks
        for name, attribute in block.attributes.items():
            marks[name] = mark(attribute.line, attribute.column)
            evaluated = self.evaluator.value(attribute.expression, bindings)
            if (
                evaluated is not None
            ):  # `x = null` is the same as leaving x out, but findings still point at it
                body[name] = evaluated
        for child in block.blocks:
            if child.type == "dynamic" and child.labels:
                self._dynamic(child, body, marks, bindings)
                continue
            self._append(body, marks, child.type, self.build(child, bindings), child)
        return body

    def _append(self, body: dict, marks: dict, block_type: str, built: Any, block: Block) -> None:
        siblings = body.get(block_type)
        if siblings is UNKNOWN:
            return
        if not isinstance(siblings, list):
            siblings = body[block_type] = []
            self.table[id(siblings)] = []
            marks[block_type] = mark(block.line, block.column)
        siblings.append(built)
        self.table[id(siblings)].append(mark(block.line, block.column))

    def _dynamic(self, block: Block, body: dict, marks: dict, bindings: dict[str, Any]) -> None:
        """`dynamic "x" { for_each = …; content { … } }` counts as the blocks it generates when
        `for_each` is known; otherwise the blocks of type x are UNKNOWN."""
        block_type = block.labels[0]
        for_each = block.attributes.get("for_each")
        content = next((child for child in block.blocks if child.type == "content"), None)
        items = self.evaluator.value(for_each.expression, bindings) if for_each else UNKNOWN
        iterator_attribute = block.attributes.get("iterator")
        iterator = block_type
        if iterator_attribute and isinstance(iterator_attribute.expression, Reference):
            iterator = iterator_attribute.expression.steps[0]
        if content is None or items is UNKNOWN or not isinstance(items, (list, dict)):
            body[block_type] = UNKNOWN
            marks.setdefault(block_type, mark(block.line, block.column))
            return
        pairs = items.items() if isinstance(items, dict) else enumerate(items)
        for key, item in pairs:
            generated = self.build(content, {**bindings, iterator: {"key": key, "value": item}})
            self._append(body, marks, block_type, generated, block)


def _instances(block: Block, evaluator: Evaluator) -> bool:
    """False when `count` or `for_each` is known to create no instance: such a resource does not exist."""
    count = block.attributes.get("count")
    if count is not None:
        value = evaluator.value(count.expression)
        if isinstance(value, (int, float)) and not isinstance(value, bool) and value <= 0:
            return False
    for_each = block.attributes.get("for_each")
    if for_each is not None:
        value = evaluator.value(for_each.expression)
        if isinstance(value, (list, dict)) and not value:
            return False
    return True


def _variable_values(files: list[ModuleFile], var_files: list[ModuleFile]) -> dict[str, Any]:
    values: dict[str, Any] = {}
    plain = Evaluator({}, {})
    for module_file in files:
        for block in module_file.parsed.blocks:
            if block.type == "variable" and block.labels:
                default = block.attributes.get("default")
                values[block.labels[0]] = plain.value(default.expression) if default else UNKNOWN
    tfvars = sorted(
        (
            f
            for f in files
            if os.path.basename(f.path) == "terraform.tfvars" or f.path.endswith(".auto.tfvars")
        ),
        key=lambda f: (not f.path.endswith("terraform.tfvars"), os.path.basename(f.path)),
    )
    for var_file in tfvars + var_files:
        for name, attribute in var_file.parsed.attributes.items():
            values[name] = plain.value(attribute.expression)
    return values


_KINDS = {
    "resource": lambda labels: labels[0],
    "data": lambda labels: f"data.{labels[0]}",
    "module": lambda labels: "module",
}


def load_module(directory: str, files: list[ModuleFile], var_files: list[ModuleFile]) -> list[Resource]:
    """The resources, data sources and module calls of one module directory."""
    tf_files = [f for f in files if f.path.endswith(".tf")]
    variables = _variable_values(files, var_files)
    local_expressions = {
        name: attribute.expression
        for module_file in tf_files
        for block in module_file.parsed.blocks
        if block.type == "locals"
        for name, attribute in block.attributes.items()
    }
    evaluator = Evaluator(variables, local_expressions)
    local_references = _local_references(local_expressions)
    resources = []
    for module_file in tf_files:
        positions = Positions(module_file.path)
        builder = _BodyBuilder(evaluator, positions)
        for block in module_file.parsed.blocks:
            kind_of = _KINDS.get(block.type)
            required_labels = 1 if block.type == "module" else 2
            if kind_of is None or len(block.labels) < required_labels or not _instances(block, evaluator):
                continue
            resources.append(
                Resource(
                    kind=kind_of(block.labels),
                    name=block.labels[-1] if block.type != "module" else block.labels[0],
                    module=directory,
                    body=builder.build(block, {}),
                    file=module_file.path,
                    start=Location(module_file.path, block.line, block.column),
                    positions=positions,
                    references=frozenset(_block_references(block, local_references)),
                )
            )
    return resources
