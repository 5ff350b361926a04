"""HCL text → blocks, attributes and expressions with their lines, from python-hcl2's parse tree.

python-hcl2 (8.x) parses with lark and keeps `meta.line` on every rule of the tree; its dict output has
no positions, so this module reads the tree itself. The result is plain, picklable data, cached by
content hash (see sources/terraform.py), and expressions are kept unevaluated: evaluation needs the
whole module (variables, locals, tfvars).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

# The shape of what parse_hcl returns: a change to the classes below changes it, so that parse results
# cached by an earlier build are not read.
FORMAT = 3

# --- expressions -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Literal:
    value: Any  # str, int, float, bool or None


@dataclass(frozen=True)
class Template:
    """A string with interpolations: `"db-${var.env}"`. Parts are str or expressions."""

    parts: tuple


@dataclass(frozen=True)
class Reference:
    """A traversal such as `var.env`, `aws_s3_bucket.logs[0].arn` or `aws_subnet.private[*].id`.
    Steps are names (str), indexes (int or str keys) or SPLAT."""

    steps: tuple


@dataclass(frozen=True)
class Call:
    name: str
    arguments: tuple
    expand_last: bool = False  # f(list...)


@dataclass(frozen=True)
class TupleExpr:
    items: tuple
    positions: tuple = ()  # (line, column) of each item, as ObjectExpr's


@dataclass(frozen=True)
class ObjectExpr:
    items: tuple  # of (key expression, value expression)
    positions: tuple = ()  # (line, column) of each item: an instance created by an item points there


@dataclass(frozen=True)
class ForExpr:
    """`[for k, v in collection : value if condition]`, or with `key =>` (and `...` to group) an object."""

    key_name: str | None
    value_name: str
    collection: Any
    key: Any  # None for a tuple
    value: Any
    condition: Any
    grouping: bool


@dataclass(frozen=True)
class Conditional:
    condition: Any
    if_true: Any
    if_false: Any


@dataclass(frozen=True)
class Operation:
    operator: str
    operands: tuple


@dataclass(frozen=True)
class Opaque:
    """An expression not evaluated here (for expressions, template directives, splats of values);
    its value is unknown, but the references inside it still count as edges."""

    references: tuple


SPLAT = "*"

Expression = (
    Literal
    | Template
    | Reference
    | Call
    | TupleExpr
    | ObjectExpr
    | ForExpr
    | Conditional
    | Operation
    | Opaque
)


# --- structure -------------------------------------------------------------------------------------


@dataclass
class Attribute:
    name: str
    expression: Any
    line: int
    column: int


@dataclass
class Block:
    type: str
    labels: tuple[str, ...]
    line: int
    column: int
    attributes: dict[str, Attribute] = field(default_factory=dict)
    blocks: list[Block] = field(default_factory=list)


@dataclass
class HclFile:
    blocks: list[Block]  # top level; a .tfvars file has its attributes in one unnamed block
    attributes: dict[str, Attribute]


class HclSyntaxError(Exception):
    def __init__(self, message: str, line: int, column: int) -> None:
        super().__init__(message)
        self.line, self.column = line, column


def parse_hcl(text: str) -> HclFile:
    """Parse HCL text. Raises HclSyntaxError with the line and column where parsing failed."""
    import hcl2
    from lark.exceptions import UnexpectedCharacters, UnexpectedEOF, UnexpectedInput, UnexpectedToken

    try:
        tree = hcl2.parses_to_tree(text)
    except UnexpectedToken as error:
        raise HclSyntaxError(f"unexpected {_token_text(error.token)}", error.line, error.column) from None
    except UnexpectedCharacters as error:
        raise HclSyntaxError(f"unexpected character {error.char!r}", error.line, error.column) from None
    except UnexpectedEOF:
        raise HclSyntaxError(
            "unexpected end of file (an unclosed block, string or heredoc?)", text.count("\n") + 1, 1
        ) from None
    except UnexpectedInput as error:
        raise HclSyntaxError("invalid HCL", getattr(error, "line", 1), getattr(error, "column", 1)) from None
    except RecursionError:
        raise HclSyntaxError("nested too deeply to parse", 1, 1) from None
    if _depth(tree) > MAX_TREE_DEPTH:
        raise HclSyntaxError("nested too deeply to read", 1, 1)
    attributes, blocks = _body(tree.children[0])
    return HclFile(blocks, attributes)


# Levels of python-hcl2's parse tree (an expression takes several): real modules stay far below, and
# converting and pickling deeper trees would exhaust Python's recursion limit.
MAX_TREE_DEPTH = 250


def _depth(tree: Any) -> int:
    deepest, pending = 0, [(tree, 1)]
    while pending:
        node, depth = pending.pop()
        deepest = max(deepest, depth)
        pending.extend(
            (child, depth + 1) for child in getattr(node, "children", ()) if hasattr(child, "children")
        )
    return deepest


def _token_text(token: Any) -> str:
    text = str(token).strip()
    if getattr(token, "type", None) == "$END":
        return "end of file (is a block or bracket not closed?)"
    if getattr(token, "type", None) == "NL_OR_COMMENT" or not text:
        return "end of line"
    if text.startswith(("#", "//")):
        return "comment (is a value missing?)"
    if text.startswith("<<"):
        return f"heredoc {text.splitlines()[0]} (is its closing line missing?)"
    text = text.splitlines()[0]
    return repr(text if len(text) <= 30 else text[:30] + "…")


def _body(body: Any) -> tuple[dict[str, Attribute], list[Block]]:
    attributes: dict[str, Attribute] = {}
    blocks: list[Block] = []
    for child in body.children:
        kind = getattr(child, "data", None)
        if kind == "attribute":
            name = _name(child.children[0])
            attributes[name] = Attribute(
                name, _expression(child.children[2]), child.meta.line, child.meta.column
            )
        elif kind == "block":
            blocks.append(_block(child))
    return attributes, blocks


def _block(node: Any) -> Block:
    parts = [c for c in node.children if getattr(c, "data", None) not in ("new_line_or_comment", None)]
    body = parts[-1]
    labels = tuple(_string_literal(part) if part.data == "string" else _name(part) for part in parts[1:-1])
    attributes, blocks = _body(body)
    return Block(_name(parts[0]), labels, node.meta.line, node.meta.column, attributes, blocks)


def _name(node: Any) -> str:
    """An identifier, keyword or literal used as a name."""
    return str(node.children[0]) if hasattr(node, "children") else str(node)


def _string_literal(node: Any) -> str:
    return "".join(str(part) if isinstance(part, str) else "${…}" for part in _string_parts(node))


_ESCAPES = {"n": "\n", "t": "\t", "r": "\r", '"': '"', "\\": "\\"}


def _unescape(text: str) -> str:
    if "\\" not in text:
        return text
    return re.sub(
        r"\\(u[0-9a-fA-F]{4}|U[0-9a-fA-F]{8}|.)",
        lambda m: (
            _ESCAPES.get(m.group(1))
            or (chr(int(m.group(1)[1:], 16)) if m.group(1)[0] in "uU" else m.group(0))
        ),
        text,
    )


def _string_parts(node: Any) -> list:
    """The parts of a quoted string: text, and expressions for `${…}`; None for a template directive."""
    parts: list = []
    for child in node.children:
        if getattr(child, "data", None) != "string_part":
            continue
        inner = child.children[0]
        if getattr(inner, "data", None) == "interpolation":
            parts.append(_expression(inner.children[1]))
        elif getattr(inner, "data", None):  # %{ if } / %{ for } directives
            parts.append(None)
        elif inner.type in ("ESCAPED_INTERPOLATION", "ESCAPED_DIRECTIVE"):
            parts.append(str(inner)[1:])
        else:
            parts.append(_unescape(str(inner)))
    return parts


def _expression(node: Any) -> Expression:
    kind = getattr(node, "data", None)
    if kind is None:
        return Opaque(())
    if kind == "expr_term":
        return _expression(_unwrap(node))
    handler = _HANDLERS.get(kind)
    if handler is not None:
        return handler(node)
    return Opaque(tuple(_references_in(node)))


def _is_token(node: Any, *types: str) -> bool:
    return getattr(node, "type", None) in types


def _literal_value(node: Any) -> Literal:
    return Literal({"true": True, "false": False, "null": None}[str(node.children[0])])


def _string(node: Any) -> Expression:
    parts = _string_parts(node)
    if None in parts:
        return Opaque(tuple(_references_in(node)))
    if all(isinstance(part, str) for part in parts):
        return Literal("".join(parts))
    return Template(tuple(parts))


_HEREDOC = re.compile(r"<<-?([A-Za-z][A-Za-z0-9._-]*)\r?\n(.*?)[ \t]*\1\r?\n?\Z", re.S)
_HEREDOC_REFERENCE = re.compile(r"\$\{\s*([A-Za-z_][A-Za-z0-9_-]*(?:\.[A-Za-z_][A-Za-z0-9_-]*)+)")


def _heredoc(node: Any) -> Expression:
    token = str(node.children[0])
    match = _HEREDOC.match(token)
    text = match.group(2) if match else ""
    if node.data == "heredoc_template_trim":
        lines = text.splitlines(keepends=True)
        indent = min((len(line) - len(line.lstrip(" \t")) for line in lines if line.strip()), default=0)
        text = "".join(line[indent:] for line in lines)
    if "${" in text or "%{" in text:
        references = tuple(Reference(tuple(name.split("."))) for name in _HEREDOC_REFERENCE.findall(text))
        return Opaque(references)
    return Literal(text)


def _number(node: Any) -> Expression:
    text = str(node.children[0])
    if len(text) > 64:  # no real setting is this long, and Python refuses to convert 4,300 digits
        return Opaque(())
    return Literal(int(text) if node.data == "int_lit" else float(text))


def _identifier(node: Any) -> Reference:
    return Reference((str(node.children[0]),))


_TRAVERSALS = ("get_attr_expr_term", "index_expr_term", "attr_splat_expr_term", "full_splat_expr_term")


def _traversal(node: Any) -> Expression:
    """`a.b`, `a[0]`, `a[*].b`: a Reference when it starts from a name, else an opaque value."""
    reference = _reference_of(node)
    return reference if reference is not None else Opaque(tuple(_references_in(node)))


def _reference_of(node: Any) -> Reference | None:
    steps: list = []
    while getattr(node, "data", None) in _TRAVERSALS:
        more = _steps(node.children[1], node.data)
        if more is None:
            return None
        steps[:0] = more
        node = _unwrap(node.children[0])
    if getattr(node, "data", None) == "identifier":
        return Reference((str(node.children[0]), *steps))
    return None


def _unwrap(node: Any) -> Any:
    """The expression inside `expr_term` wrappers and parentheses."""
    while getattr(node, "data", None) == "expr_term":
        node = [
            c
            for c in node.children
            if getattr(c, "data", None) != "new_line_or_comment" and not _is_token(c, "LPAR", "RPAR")
        ][0]
    return node


def _steps(node: Any, kind: str) -> tuple | None:
    if kind == "get_attr_expr_term":
        return (_name(node.children[1]),)
    if kind == "index_expr_term":
        return _index(node)
    steps: list = [SPLAT]
    for child in node.children[1:]:
        data = getattr(child, "data", None)
        if data == "get_attr":
            steps.append(_name(child.children[1]))
        elif data in ("braces_index", "short_index"):
            index = _index(child)
            if index is None:
                return None
            steps.extend(index)
    return tuple(steps)


def _index(node: Any) -> tuple | None:
    if node.data == "short_index":
        return (int(str(node.children[1])),)
    expression = _expression(
        [c for c in node.children if getattr(c, "data", None) not in (None, "new_line_or_comment")][0]
    )
    if isinstance(expression, Literal) and isinstance(expression.value, (int, str)):
        return (expression.value,)
    return None


def _call(node: Any) -> Expression:
    names = [str(c.children[0]) for c in node.children if getattr(c, "data", None) == "identifier"]
    arguments_node = next((c for c in node.children if getattr(c, "data", None) == "arguments"), None)
    arguments: tuple = ()
    expand = False
    if arguments_node is not None:
        arguments = tuple(
            _expression(c)
            for c in arguments_node.children
            if getattr(c, "data", None) not in (None, "new_line_or_comment")
        )
        expand = any(_is_token(c, "ELLIPSIS") for c in arguments_node.children)
    return Call("::".join(names), arguments, expand)


def _tuple(node: Any) -> TupleExpr:
    elements = [c for c in node.children if getattr(c, "data", None) not in (None, "new_line_or_comment")]
    return TupleExpr(
        tuple(_expression(c) for c in elements), tuple((c.meta.line, c.meta.column) for c in elements)
    )


def _object(node: Any) -> ObjectExpr:
    items, positions = [], []
    for element in node.children:
        if getattr(element, "data", None) != "object_elem":
            continue
        key_node = element.children[0].children[0]
        key = (
            Literal(str(key_node.children[0]))
            if getattr(key_node, "data", None) == "keyword"
            else _expression(key_node)
        )
        if isinstance(key, Reference) and len(key.steps) == 1:
            key = Literal(key.steps[0])  # `{ name = … }`: a bare word is the key itself
        items.append((key, _expression(element.children[2])))
        positions.append((element.meta.line, element.meta.column))
    return ObjectExpr(tuple(items), tuple(positions))


def _for(node: Any) -> ForExpr:
    parts = [c for c in node.children if getattr(c, "data", None) not in (None, "new_line_or_comment")]
    intro, condition = parts[0], parts[-1] if parts[-1].data == "for_cond" else None
    names = [_name(c) for c in intro.children if getattr(c, "data", None) == "identifier"]
    collection = next(
        c
        for c in intro.children
        if getattr(c, "data", None) not in (None, "identifier", "new_line_or_comment")
    )
    expressions = [_expression(c) for c in parts[1 : -1 if condition is not None else None]]
    key, value = (None, expressions[0]) if node.data == "for_tuple_expr" else expressions[:2]
    return ForExpr(
        names[0] if len(names) == 2 else None,
        names[-1],
        _expression(collection),
        key,
        value,
        _expression(condition.children[-1]) if condition is not None else None,
        any(_is_token(c, "ELLIPSIS") for c in node.children),
    )


def _conditional(node: Any) -> Conditional:
    parts = [
        _expression(c) for c in node.children if getattr(c, "data", None) not in (None, "new_line_or_comment")
    ]
    return Conditional(*parts)


def _binary(node: Any) -> Expression:
    left = _expression(node.children[0])
    term = node.children[1]
    operator = str(term.children[0].children[0])
    right = _expression(
        [c for c in term.children[1:] if getattr(c, "data", None) != "new_line_or_comment"][0]
    )
    return Operation(operator, (left, right))


def _unary(node: Any) -> Expression:
    return Operation(str(node.children[0]) + "unary", (_expression(node.children[1]),))


_HANDLERS = {
    "literal_value": _literal_value,
    "string": _string,
    "int_lit": _number,
    "float_lit": _number,
    "identifier": _identifier,
    "heredoc_template": _heredoc,
    "heredoc_template_trim": _heredoc,
    "get_attr_expr_term": _traversal,
    "index_expr_term": _traversal,
    "attr_splat_expr_term": _traversal,
    "full_splat_expr_term": _traversal,
    "function_call": _call,
    "tuple": _tuple,
    "object": _object,
    "for_tuple_expr": _for,
    "for_object_expr": _for,
    "conditional": _conditional,
    "binary_op": _binary,
    "unary_op": _unary,
}


def _references_in(node: Any) -> list[Reference]:
    """Every reference inside a subtree, for expressions that are not evaluated."""
    found = []
    for subtree in node.iter_subtrees_topdown():
        if subtree.data in _TRAVERSALS:
            reference = _reference_of(subtree)
            if reference is not None:
                found.append(reference)
    return found
