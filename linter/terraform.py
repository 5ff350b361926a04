"""What Terraform rules need to read values: known, unknown or absent, and blocks as lists.

A Terraform resource's body is a dict: attributes evaluated to Python values, nested blocks as lists of
dicts, UNKNOWN where a value depends on something a static scan cannot know. Rules never fire on UNKNOWN.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Collection, Iterator
from typing import Any, Protocol

from prodready.model import ABSENT, UNKNOWN, Resource, is_unknown


class ReferrerIndex(Protocol):
    """What `passed_to_module` asks of `prodready.index.Index`, which a later stage builds."""

    def referrers(self, resource: Resource, *kinds: str) -> list[Resource]: ...


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


def boolean(found: Any) -> bool | None | Any:
    """True or False for a known boolean (Terraform also converts the strings "true" and "false"); None when
    it is not written (absent, or null); UNKNOWN for an unknown value or one that is no boolean ("True", "yes":
    Terraform rejects them)."""
    if found is ABSENT or found is None:
        return None
    if isinstance(found, bool):
        return found
    if found in ("true", "false"):
        return found == "true"
    return UNKNOWN


_MODULE_PREFIX = re.compile(r'^(?:module\.[^.\[]+(?:\[(?:"[^"]*"|[^\]]*)\])?\.)*')


def principal_identifiers(document: Any) -> set[str]:
    """The principals an `aws_iam_policy_document`'s statements name (`principals { identifiers = [...] }`),
    those that are known."""
    return {
        identifier
        for _, statement in each_block(document, "statement")
        for _, principals in each_block(statement, "principals")
        if isinstance(identifiers := value(principals, "identifiers"), list)
        for identifier in identifiers
        if isinstance(identifier, str)
    }


def tags(body: Any) -> Any:
    """The tags a resource carries: `tags_all` when its provider has `default_tags` (the instantiate
    stage merges them under the resource's own, as the provider does), else its `tags`."""
    found = value(body, "tags_all")
    return value(body, "tags") if found is ABSENT else found


def address_kind(address: str) -> str:
    """The kind of the resource at a configuration address: `module.db.aws_db_instance.this` →
    `aws_db_instance`, `data.aws_iam_policy_document.x` → `data.aws_iam_policy_document`, `module.vpc`
    (a call whose module is not on disk) → `module`."""
    local = _MODULE_PREFIX.sub("", address) or address
    if local.startswith("module."):
        return "module"
    parts = local.split(".")
    return ".".join(parts[:2]) if parts[0] == "data" else parts[0]


def passed_to_module(resource: Resource, index: ReferrerIndex) -> bool:
    """Whether a call of a module that is not on disk receives a reference to `resource`: what the module
    does with it (a flow log, a backup selection, an alarm) cannot be seen, so coverage is unknown."""
    return bool(index.referrers(resource, "module"))


def may_point_at(
    other: Resource, kinds: Collection[str], found: Any, names: Callable[[str], bool] = lambda found: False
) -> bool | None:
    """Whether `other`, which has no reference edge to the resource in question, acts on it through `found`,
    the value that says what it acts on (`vpc_id`, `bucket`, an alarm's dimensions): True when a known string
    `names` it, None when the value is unknown (input and locals make no reference edge, so it may be this
    resource), False otherwise. An `other` that references a resource of `kinds` acts on that one."""
    if any(address_kind(ref) in kinds for ref in other.references):
        return False
    if isinstance(found, str):
        return names(found)
    return None if is_unknown(found) else False
