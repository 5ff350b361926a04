"""The locate stage for Terraform: a finding about an instance of a called module moves to the line a
person edits in the configuration that calls it.

- A value a caller passed: that caller's argument (in the outermost caller that wrote it); for a block
  made by an item of a collection the caller wrote (`listeners = { api = { protocol = "HTTP" } }`), the
  line of that item's value, or of the item when it leaves the value out.
- A child variable's default that no caller set, or something missing around the resource (no alarm, no
  backup selection): the outermost module call, or the element of its `for_each` that made the instance.
- A value the module writes itself: its own line when the module is in the scanned tree, else the
  outermost module call.

The module's own line stays as a related location.
"""

from __future__ import annotations

import dataclasses

from prodready.model import DEFAULTED, NAME_PATH, Finding, KeyPath, Location, RelatedLocation, Resource


def _origin(resource: Resource, path: KeyPath) -> object:
    """The origin recorded for the deepest key along `path` that has one: a Location, DEFAULTED, or
    None when the module writes the value itself."""
    assert resource.instance is not None
    origins = resource.instance.origins
    found: object = None
    node: object = resource.body
    for step in path:
        table = origins.get(id(node))
        if table is not None and step in table:
            found = table[step]
        try:
            node = node[step]  # type: ignore[index]
        except (KeyError, IndexError, TypeError):
            break
    return found


def at_caller(
    resource: Resource, path: KeyPath, written: Location
) -> tuple[Location, list[RelatedLocation]] | None:
    """Where a finding about `path` of a Terraform instance belongs when that is not `written`, the
    line in the module; None when it stays there."""
    instance = resource.instance
    if instance is None or instance.anchor is None:
        return None
    origin = _origin(resource, path)
    if isinstance(origin, Location):
        location = origin
    elif origin is DEFAULTED or path in ((), NAME_PATH) or not instance.editable:
        location = instance.anchor
    else:
        return None
    return location, [RelatedLocation(written, f"{resource.address} in its module")]


def _instance_address(finding: Finding) -> str | None:
    resource = finding.resource
    if (
        resource is None
        or resource.instance is None
        or not (resource.instance.key or resource.instance.prefix)
    ):
        return None
    return resource.address if resource.address in finding.message else None


def merge_instances(findings: list[Finding]) -> list[Finding]:
    """One finding for the instances of one block that have the same problem at the same line (`count
    = 3`, a `for_each` over a module input), naming the others in its message."""
    groups: dict[tuple, list[Finding]] = {}
    for finding in findings:
        address = _instance_address(finding)
        key = (
            (
                finding.rule.id,
                finding.location.file,
                finding.location.line,
                finding.message.replace(address, "\0"),
            )
            if address
            else (id(finding),)
        )
        groups.setdefault(key, []).append(finding)
    merged = []
    for group in groups.values():
        first = group[0]
        if len(group) > 1:
            address = _instance_address(first)
            assert address is not None
            others = [_instance_address(finding) for finding in group[1:]]
            shown = ", ".join(str(other) for other in others[:3]) + (", …" if len(others) > 3 else "")
            plural = "s" if len(others) > 1 else ""
            named = f"{address} (and {len(others)} other instance{plural}: {shown})"
            first = dataclasses.replace(first, message=first.message.replace(address, named, 1))
        merged.append(first)
    return merged
