"""Terraform expressions evaluated as Terraform does, and what the load stage reads of modules.

Values are three-valued: known, UNKNOWN, or absent (the key is missing). What Terraform would reject is
an EvaluationError, which `try` and `can` catch and which is UNKNOWN anywhere else. Functions that real
modules lean on are evaluated; any other is UNKNOWN.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

from prodready.model import UNKNOWN, is_unknown
from prodready.sources.hcl import (
    SPLAT,
    Block,
    Call,
    Conditional,
    ForExpr,
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


class EvaluationError(Exception):
    """What Terraform rejects: an attribute or key that is not there, an index out of range, a function
    given what it does not take. `try` moves on to its next argument and `can` says false; anywhere else
    the value is UNKNOWN."""


def _all_known(values: list) -> bool:
    return not any(is_unknown(v) for v in values)


def _join(separator: str, items: list) -> str:
    return separator.join(_to_string(item) for item in items)


def _to_string(item: Any) -> str:
    if isinstance(item, bool):
        return "true" if item else "false"
    if isinstance(item, float) and item.is_integer():
        return str(int(item))
    if not isinstance(item, (str, int, float)):
        raise EvaluationError("not a string")
    return str(item)


def _to_number(item: Any) -> int | float:
    if isinstance(item, bool):
        raise EvaluationError("not a number")
    if isinstance(item, (int, float)):
        return item
    text = str(item)
    return float(text) if any(c in text for c in ".eE") else int(text)


def _merge(*maps: Any) -> Any:
    merged: dict = {}
    for item in maps:
        if item is UNKNOWN:
            return UNKNOWN
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


def _flatten(items: list) -> Any:
    flat: list = []
    for item in items:
        if item is UNKNOWN:  # a list or not: the shape of the result is not known
            return UNKNOWN
        if isinstance(item, list):
            inner = _flatten(item)
            if inner is UNKNOWN:
                return UNKNOWN
            flat.extend(inner)
        else:
            flat.append(item)
    return flat


def _contains(items: list, wanted: Any) -> Any:
    if wanted in items:
        return True
    return UNKNOWN if any(item is UNKNOWN for item in items) else False


def _one(items: list) -> Any:
    if len(items) > 1:
        raise EvaluationError("one() of more than one element")
    return items[0] if items else None


def _lookup(mapping: dict, key: str, *default: Any) -> Any:
    if key in mapping:
        return mapping[key]
    if default:
        return default[0]
    raise EvaluationError(f"no key {key!r}")


def _decided(items: list, decisive: bool) -> Any:
    """anytrue() (decisive True) or alltrue() (decisive False): one decisive element decides even when
    others are not known."""
    if any(item is decisive for item in items):
        return decisive
    if any(item is UNKNOWN for item in items):
        return UNKNOWN
    return not decisive if all(isinstance(item, bool) for item in items) else _error()


def _slice(items: Any, start: Any, end: Any) -> Any:
    """slice(); of a list not known, the elements are not known but their number is: Terraform fails
    unless the list holds them all (`slice(module.vpc.private_subnets, 0, 1)` is one subnet)."""
    start, end = _to_number(start), _to_number(end)
    if items is UNKNOWN:
        return [UNKNOWN] * int(end - start) if 0 <= start <= end <= 1024 else UNKNOWN
    if not 0 <= start <= end <= len(items):
        raise EvaluationError("slice() out of range")
    return items[int(start) : int(end)]


def _concat(*lists: Any) -> Any:
    if any(items is UNKNOWN for items in lists):
        return UNKNOWN
    return [item for items in lists for item in items]


# Functions evaluated when their arguments are known; any other function's value is UNKNOWN. Those in
# _SHALLOW need only know the collections they are given, not every element (`length([module.x.id])`
# is 1): their other arguments and the rest must be known all the way down.
_FUNCTIONS: dict[str, Callable[..., Any]] = {
    "jsonencode": lambda value: json.dumps(value, separators=(",", ":")),
    "jsondecode": json.loads,
    "merge": _merge,
    "concat": _concat,
    "flatten": _flatten,
    "tolist": list,
    "toset": lambda items: list(dict.fromkeys(items)),
    "tomap": dict,
    "tostring": lambda item: None if item is None else _to_string(item),
    "tonumber": lambda item: None if item is None else _to_number(item),
    "tobool": lambda value: (
        value if isinstance(value, bool) or value is None else {"true": True, "false": False}[value]
    ),
    "lower": str.lower,
    "upper": str.upper,
    "title": str.title,
    "trimspace": str.strip,
    "trimprefix": lambda text, prefix: text.removeprefix(prefix),
    "trimsuffix": lambda text, suffix: text.removesuffix(suffix),
    "startswith": str.startswith,
    "endswith": str.endswith,
    "replace": lambda text, old, new: text.replace(old, new) if not old.startswith("/") else UNKNOWN,
    "substr": lambda text, offset, length: text[offset:] if length < 0 else text[offset : offset + length],
    "length": len,
    "keys": lambda mapping: sorted(mapping),
    "values": lambda mapping: [mapping[key] for key in sorted(mapping)],
    "lookup": _lookup,
    "contains": _contains,
    "element": lambda items, index: items[index % len(items)],
    "index": lambda items, item: items.index(item),
    "slice": _slice,
    "one": _one,
    "reverse": lambda items: items[::-1],
    "range": lambda *bounds: _range(*map(int, bounds)),
    "zipmap": lambda names, items: dict(zip(names, items, strict=True)),
    "join": _join,
    "split": lambda separator, text: text.split(separator),
    "compact": lambda items: [item for item in items if item not in (None, "")],
    "distinct": lambda items: list(dict.fromkeys(items)),
    "sort": lambda items: sorted(items),
    "alltrue": lambda items: _decided(items, False),
    "anytrue": lambda items: _decided(items, True),
    "sum": sum,
    "abs": abs,
    "ceil": lambda number: -(-number // 1),
    "floor": lambda number: number // 1,
    "max": max,
    "min": min,
    "format": lambda spec, *args: _format(spec, args),
    "formatlist": lambda spec, *lists: [_format(spec, items) for items in zip(*lists, strict=True)],
    "setunion": lambda *sets: list(dict.fromkeys(item for items in sets for item in items)),
}
_SHALLOW = {
    *("length", "keys", "values", "lookup", "contains", "element", "slice", "one", "alltrue", "anytrue"),
    *("concat", "merge", "flatten", "tolist", "tomap", "reverse"),
}


def _range(*bounds: int) -> list[int]:
    numbers = range(*bounds)
    if len(numbers) > 1024:  # Terraform's own limit
        raise EvaluationError("range() of more than 1024 numbers")
    return list(numbers)


def _error() -> Any:
    raise EvaluationError("invalid arguments")


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


def _step_into(current: Any, step: Any) -> Any:
    """`current.step` or `current[step]`, as Terraform reads it."""
    if isinstance(current, dict):
        key = _to_string(step)
        if key in current:
            return current[key]
        raise EvaluationError(f"no attribute or key {key!r}")
    if isinstance(current, list):
        try:
            position = _to_number(step)
        except (EvaluationError, ValueError):
            raise EvaluationError("a list has no attributes") from None
        if isinstance(position, int) and 0 <= position < len(current):
            return current[position]
        raise EvaluationError(f"index {step} out of range")
    raise EvaluationError("null or a plain value has no attributes")


def _traverse(current: Any, steps: tuple) -> Any:
    for number, step in enumerate(steps):
        if current is UNKNOWN:
            return UNKNOWN
        if step == SPLAT:  # `x[*].y`: each element's y; a single value counts as a list of it
            items = [] if current is None else current if isinstance(current, list) else [current]
            return [_traverse(item, steps[number + 1 :]) for item in items]
        current = _step_into(current, step)
    return current


class Evaluator:
    """Evaluates expressions of one module instance: variables are resolved values, locals are evaluated
    on first use (a cycle is UNKNOWN), `module.<name>` is what `modules(name)` answers (the outputs of
    the call's instances), iterators (`each`, `count`, `for` and `dynamic` names) are bound by the caller."""

    def __init__(
        self,
        variables: dict[str, Any],
        local_expressions: dict[str, Any],
        modules: Callable[[str], Any] = lambda name: UNKNOWN,
        directory: str = ".",
    ) -> None:
        self.variables = variables
        self.local_expressions = local_expressions
        self.locals: dict[str, Any] = {}
        self.modules = modules
        self.directory = directory

    def value(self, expression: Any, bindings: dict[str, Any] | None = None) -> Any:
        """The value of an expression; UNKNOWN where it cannot be known, or where Terraform would reject it."""
        try:
            result = self._evaluate(expression, bindings or {})
        except (EvaluationError, RecursionError):
            return UNKNOWN
        return result

    def _evaluate(self, expression: Any, bindings: dict[str, Any]) -> Any:
        kind = type(expression)
        if kind is Literal:
            return expression.value
        if kind is Reference:
            return self._reference(expression.steps, bindings)
        if kind is Template:
            parts = [
                part if isinstance(part, str) else self._evaluate(part, bindings) for part in expression.parts
            ]
            if len(parts) == 1:
                return parts[0]
            if not _all_known(parts):
                return UNKNOWN
            if None in parts:
                raise EvaluationError("null in a string template")
            texts = [_to_string(part) for part in parts]
            return "".join(texts) if sum(map(len, texts)) <= _VALUE_BUDGET else UNKNOWN
        if kind is TupleExpr:
            return [self._evaluate(item, bindings) for item in expression.items]
        if kind is ObjectExpr:
            result = {}
            for key_expression, value_expression in expression.items:
                key = self._evaluate(key_expression, bindings)
                if key is UNKNOWN:
                    return UNKNOWN
                result[_to_string(key)] = self._evaluate(value_expression, bindings)
            return result
        if kind is ForExpr:
            return self._for(expression, bindings)
        if kind is Conditional:
            condition = self._evaluate(expression.condition, bindings)
            if isinstance(condition, bool):
                return self._evaluate(expression.if_true if condition else expression.if_false, bindings)
            if condition is not UNKNOWN:
                raise EvaluationError("the condition is not a boolean")
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
            return _traverse(bindings[root], steps[1:])
        if len(steps) < 2 or not isinstance(steps[1], str):
            return UNKNOWN
        if root == "var":
            current = self.variables.get(steps[1], UNKNOWN)
        elif root == "local":
            current = self._local(steps[1])
        elif root == "module":
            current = self.modules(steps[1])
        elif root == "path" and steps[1] == "module":
            current = self.directory
        else:  # resources, data sources, path.root, terraform.workspace: known only when applied
            return UNKNOWN
        return _traverse(current, steps[2:])

    def _local(self, name: str) -> Any:
        if name not in self.locals:
            if name not in self.local_expressions:
                return UNKNOWN
            self.locals[name] = UNKNOWN  # a cycle reads UNKNOWN instead of recursing forever
            found = self.value(self.local_expressions[name])
            # Locals that double each other are a bomb, not a setting; what other expressions build
            # from them grows no faster than their text (a `for` checks its own result).
            if isinstance(found, (list, dict)) and not _within_budget(found):
                found = UNKNOWN
            self.locals[name] = found
        return self.locals[name]

    def _for(self, expression: ForExpr, bindings: dict[str, Any]) -> Any:
        collection = self._evaluate(expression.collection, bindings)
        if collection is UNKNOWN:
            return UNKNOWN
        if isinstance(collection, dict):
            pairs: Any = sorted(collection.items())
        elif isinstance(collection, list):
            pairs = enumerate(collection)
        else:
            raise EvaluationError("for over a value that is not a collection")
        items: list = []
        result: dict = {}
        for key, item in pairs:
            inner = {**bindings, expression.value_name: item}
            if expression.key_name is not None:
                inner[expression.key_name] = key
            if expression.condition is not None:
                keep = self._evaluate(expression.condition, inner)
                if keep is UNKNOWN:
                    return UNKNOWN
                if keep is not True:
                    continue
            if expression.key is None:
                items.append(self._evaluate(expression.value, inner))
                continue
            name = self._evaluate(expression.key, inner)
            if name is UNKNOWN:
                return UNKNOWN
            name = _to_string(name)
            if expression.grouping:
                result.setdefault(name, []).append(self._evaluate(expression.value, inner))
            elif name in result:
                raise EvaluationError(f"duplicate key {name!r}")
            else:
                result[name] = self._evaluate(expression.value, inner)
        built = items if expression.key is None else result
        return built if _within_budget(built) else UNKNOWN

    def _operation(self, expression: Operation, bindings: dict[str, Any]) -> Any:
        operator = expression.operator
        if operator in ("&&", "||"):
            left, right = (self.value(operand, bindings) for operand in expression.operands)
            decisive = operator == "||"  # true decides ||, false decides &&
            if left is decisive or right is decisive:
                return decisive
            return left if isinstance(left, bool) and isinstance(right, bool) else UNKNOWN
        operands = [self._evaluate(operand, bindings) for operand in expression.operands]
        if operator in ("==", "!=") and None in operands and UNKNOWN not in operands:
            return (operands[0] is operands[1]) == (operator == "==")  # a collection is never null
        if not _all_known(operands):
            return UNKNOWN
        if operator == "!unary":
            return not operands[0] if isinstance(operands[0], bool) else UNKNOWN
        if operator in _ARITHMETIC:  # Terraform has no string or list arithmetic, but converts "2" to 2
            try:
                operands = [_to_number(operand) for operand in operands]
            except (EvaluationError, ValueError, TypeError):
                raise EvaluationError("arithmetic on a value that is not a number") from None
        try:
            return -operands[0] if operator == "-unary" else _OPERATIONS[operator](*operands)
        except (TypeError, ValueError, ZeroDivisionError, KeyError, OverflowError):
            raise EvaluationError(f"{operator} of values it does not take") from None

    def _call(self, call: Call, bindings: dict[str, Any]) -> Any:
        if call.name == "try":
            for argument in call.arguments:
                try:
                    return self._evaluate(argument, bindings)
                except EvaluationError:
                    continue
            raise EvaluationError("no argument of try() could be evaluated")
        if call.name == "can":
            try:
                found = self._evaluate(call.arguments[0], bindings) if call.arguments else UNKNOWN
            except EvaluationError:
                return False
            return UNKNOWN if found is UNKNOWN else True
        if call.name in ("coalesce", "coalescelist"):
            empty = (None, "") if call.name == "coalesce" else (None, [])
            for argument in call.arguments:
                found = self._evaluate(argument, bindings)
                if found is UNKNOWN:
                    return UNKNOWN
                if found not in empty:
                    return found
            raise EvaluationError(f"no argument of {call.name}() is set")
        function = _FUNCTIONS.get(call.name)
        if function is None:
            return UNKNOWN
        arguments = [self._evaluate(argument, bindings) for argument in call.arguments]
        if call.expand_last and arguments:
            if arguments[-1] is UNKNOWN:
                return UNKNOWN
            if not isinstance(arguments[-1], list):
                raise EvaluationError("... expands a list")
            arguments = arguments[:-1] + arguments[-1]
        known = (
            all(argument is not UNKNOWN for argument in arguments)
            if call.name in _SHALLOW
            else _all_known(arguments)
        )
        if not known and not (call.name == "slice" and _all_known(arguments[1:])):  # a known length
            return UNKNOWN
        try:
            return function(*arguments)
        except EvaluationError:
            raise
        except Exception:  # a function applied to values it does not take: Terraform fails too
            raise EvaluationError(f"{call.name}() of values it does not take") from None


def references_in(expression: Any) -> Iterator[Reference]:
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
        elif kind is ForExpr:
            stack.extend(
                part for part in (item.collection, item.key, item.value, item.condition) if part is not None
            )
        elif kind is Conditional:
            stack.extend((item.condition, item.if_true, item.if_false))
        elif kind is Operation or kind is Call:
            stack.extend(item.operands if kind is Operation else item.arguments)
        elif kind is Opaque:
            stack.extend(item.references)


@dataclass
class ModuleFile:
    path: str
    parsed: HclFile
    digest: str = ""  # of the file's bytes: what the instantiation cache is keyed by


@dataclass
class TerraformModules:
    """What the load stage read for the instantiate stage: every module directory it parsed, which of
    them the user asked to scan, and what `terraform init` recorded."""

    modules: dict[str, list[ModuleFile]] = field(default_factory=dict)  # directory → its files
    scanned: set[str] = field(default_factory=set)
    # directory where `terraform init` ran → {module key (`db.db_instance`): module directory}
    installed: dict[str, dict[str, str]] = field(default_factory=dict)
    var_files: list[ModuleFile] = field(default_factory=list)


def is_local_source(source: str) -> bool:
    """Whether a module source is a path (Terraform reads `./` and `../` as one, nothing else)."""
    return source.startswith(("./", "../")) or source in (".", "..")


def module_calls(files: list[ModuleFile]) -> Iterator[tuple[ModuleFile, Block, str | None]]:
    """(file, block, source) of each module call; source is None when it is not a plain string."""
    for module_file in files:
        for block in module_file.parsed.blocks:
            if block.type == "module" and block.labels:
                source = block.attributes.get("source")
                literal = source.expression if source else None
                yield (
                    module_file,
                    block,
                    literal.value
                    if isinstance(literal, Literal) and isinstance(literal.value, str)
                    else None,
                )


def variable_values(files: list[ModuleFile], var_files: list[ModuleFile]) -> dict[str, Any]:
    """A root module's variables: defaults, then `terraform.tfvars`, `*.auto.tfvars` (in name order) and
    `--var-file` files in the order given."""
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


def conform(value: Any, type_expression: Any, evaluator: Evaluator) -> Any:
    """A value as a variable of that type holds it: `optional(type, default)` attributes an object
    leaves out (or sets to null) take their default, attributes the type does not name are dropped,
    numbers and booleans written as strings are converted."""
    if value is UNKNOWN or value is None or type_expression is None:
        return value
    if isinstance(type_expression, Reference) and len(type_expression.steps) == 1:
        primitive = type_expression.steps[0]
        try:
            if primitive == "number" and isinstance(value, str):
                return _to_number(value)
            if primitive == "bool" and value in ("true", "false"):
                return value == "true"
            if primitive == "string" and isinstance(value, (bool, int, float)):
                return _to_string(value)
        except (EvaluationError, ValueError):
            return value
        return value
    if not isinstance(type_expression, Call) or not type_expression.arguments:
        return value
    name, inner = type_expression.name, type_expression.arguments[0]
    if name in ("list", "set") and isinstance(value, list):
        return [conform(item, inner, evaluator) for item in value]
    if name == "map" and isinstance(value, dict):
        return {key: conform(item, inner, evaluator) for key, item in value.items()}
    if name == "object" and isinstance(value, dict) and isinstance(inner, ObjectExpr):
        shaped = {}
        for key_expression, attribute_type in inner.items:
            key = key_expression.value if isinstance(key_expression, Literal) else None
            if not isinstance(key, str):
                return value
            found = value.get(key)
            if isinstance(attribute_type, Call) and attribute_type.name == "optional":
                arguments = attribute_type.arguments
                if found is None and len(arguments) > 1:
                    found = evaluator.value(arguments[1])
                shaped[key] = conform(found, arguments[0] if arguments else None, evaluator)
            elif key in value:
                shaped[key] = conform(found, attribute_type, evaluator)
        return shaped
    return value
