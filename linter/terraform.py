"""What Terraform rules need to read values: known, unknown or absent, and blocks as lists.

A Terraform resource's body is a dict: attributes evaluated to Python values, nested blocks as lists of
dicts, UNKNOWN where a value depends on something a static scan cannot know. Rules never fire on UNKNOWN.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from prodready.model import ABSENT, UNKNOWN, Resource


def value(body: Any, *path: str | int) -> Any:
    """The value at `path` (attribute names, block types and indexes): a known value, UNKNOWN, or ABSENT.
    A block type followed by another name reads that name in the first block of the type
    (`value(body, "health_check", "enabled")`); a block type alone gives the list of blocks."""
    for step in path:
        if body is UNKNOWN:
            return UNKNOWN
        if isinstance(body, list) and isinstance(step, str):
            if not body:
                return ABSENT
            body = body[0]
            if body is UNKNOWN:
                return UNKNOWN
        if isinstance(body, dict) and not isinstance(step, int):
            if step not in body:
                return ABSENT
            body = body[step]
        elif isinstance(body, list) and isinstance(step, int) and 0 <= step < len(body):
            body = body[step]
        else:
            return ABSENT
    return body


def blocks(body: Any, block_type: str) -> list | Any:
    """The nested blocks of a type as a list (empty when absent), or UNKNOWN when `dynamic` blocks with an
    unknown `for_each` generate them."""
    found = body.get(block_type, []) if isinstance(body, dict) else []
    if found is UNKNOWN:
        return UNKNOWN
    return found if isinstance(found, list) else []


def address(resource: Resource) -> str:
    """`aws_db_instance.main`, `data.aws_iam_policy_document.admin`, `module.db`: data sources have the
    kind `data.<type>` and module calls the kind `module`."""
    return f"{resource.kind}.{resource.name}"


def each_block(body: Any, block_type: str) -> Iterator[tuple[int, dict]]:
    """(index, block) for each known nested block of a type."""
    found = blocks(body, block_type)
    if found is UNKNOWN:
        return
    for index, block in enumerate(found):
        if isinstance(block, dict):
            yield index, block


def number(found: Any) -> float | None:
    """A known number (Terraform converts numeric strings), or None when it is not one."""
    if isinstance(found, bool):
        return None
    if isinstance(found, (int, float)):
        return found
    if isinstance(found, str):
        try:
            return float(found)
        except ValueError:
            return None
    return None


def boolean(found: Any) -> bool | None:
    """A known boolean (Terraform converts "true"/"false"), or None when it is not one."""
    if isinstance(found, bool):
        return found
    if isinstance(found, str) and found in ("true", "false"):
        return found == "true"
    return None


def passed_to_module(resource: Resource, index: Any) -> bool:
    """Whether a module call of the same module receives a reference to `resource`: what the module does
    with it (a flow log, a backup selection, an alarm) cannot be seen, so coverage is unknown."""
    return bool(index.referrers(resource, "module"))
