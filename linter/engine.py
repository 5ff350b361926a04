"""Run the selected rules, each over what its scope promises, and turn what they yield into findings."""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Iterator
from typing import Any

from prodready.index import Index
from prodready.kubernetes import PodTemplate, own_pod_template
from prodready.model import (
    Finding,
    KindKey,
    Level,
    Notification,
    Problem,
    RelatedLocation,
    Resource,
    RuleMeta,
    Scope,
)
from prodready.registry import wanted_arguments


def fingerprint(meta: RuleMeta, problem: Problem) -> str:
    """Identifies a finding across edits: rule, file, resource identity and the path inside it; never a
    line number, so inserting lines above a resource keeps every fingerprint."""
    if problem.resource is not None:
        resource = problem.resource
        parts = [meta.id, resource.file, resource.identity, "/".join(map(str, problem.path))]
    else:
        parts = [meta.id, problem.location.file if problem.location else "", problem.message]
    return hashlib.sha256("\0".join(parts).encode()).hexdigest()[:32]


def to_finding(meta: RuleMeta, level: Level, problem: Problem) -> Finding:
    """The finding at the place in the scanned file that the problem names (the locate stage may move it
    to the file people edit)."""
    related = tuple(
        RelatedLocation(resource.locate(path), resource.address if resource.instance else str(resource))
        for resource, path in problem.related
    )
    if problem.resource is not None:
        location = problem.resource.locate(problem.path)
    else:
        assert problem.location is not None, f"{meta.id} yielded a problem with no place"
        location = problem.location
    if problem.level is not None:
        level = min(level, problem.level)
    return Finding(
        meta,
        level,
        problem.message,
        location,
        related,
        fingerprint(meta, problem),
        problem.resource,
        problem.path,
    )


# The group of a kind key that matches the kind in every API group: a custom check's `target: Deployment`.
ANY_GROUP = "*"


def _of_kinds(kinds: frozenset[KindKey], index: Index) -> list[Resource]:
    names = {kind for group, kind in kinds if group == ANY_GROUP}
    if not names:
        return index.of_kinds(kinds)
    return [resource for resource in index.resources if resource.kind in names or resource.kind_key in kinds]


def _subjects(meta: RuleMeta, index: Index, wants_template: bool) -> Iterator[tuple[Resource, Any]]:
    """(subject, pod template) for each call of a rule with a subject. A Terraform instance that may not
    exist (its count or for_each is unknown) is no subject: it is only context."""
    for resource in _of_kinds(meta.kinds, index):
        if resource.instance is not None and not resource.instance.known:
            continue
        if meta.scope is Scope.RESOURCE:
            yield resource, None
            continue
        if meta.scope is Scope.POD_TEMPLATE:
            template: PodTemplate | None = own_pod_template(resource)
        elif index.judged(resource):
            template = index.pod_template(resource)
        else:
            continue
        if template is not None or not wants_template and meta.scope is Scope.WORKLOAD:
            yield resource, template


def run(
    rules: Iterable[tuple[RuleMeta, Level]], index: Index, configured_options: dict[str, Any]
) -> tuple[list[Finding], list[Notification], dict[str, int]]:
    """Every finding of every rule, and how many subjects each rule checked. A rule that fails on some
    input is reported as a notification; the other rules and resources are still checked."""
    findings: list[Finding] = []
    notifications: list[Notification] = []
    checked: dict[str, int] = {}
    for meta, level in rules:
        if meta.scope is Scope.SUPPRESSIONS:
            continue
        wanted = wanted_arguments(meta)
        given: dict[str, Any] = {"index": index}
        for option in meta.options:
            given[option.argument] = configured_options.get(option.name, option.default)
        keywords = {name: value for name, value in given.items() if name in wanted}
        if meta.scope is Scope.UNIT:
            calls: list[tuple[tuple, dict, Resource | None]] = [((), keywords, None)]
        else:
            calls = [
                (
                    (resource,),
                    {**keywords, "template": template} if "template" in wanted else keywords,
                    resource,
                )
                for resource, template in _subjects(meta, index, "template" in wanted)
            ]
        checked[meta.id] = len(calls)
        for arguments, named, resource in calls:
            try:
                findings.extend(
                    to_finding(meta, level, problem) for problem in meta.check(*arguments, **named)
                )
            except Exception as error:  # a bug in a rule must not hide every other finding
                where = f" on {resource} ({resource.start.file}:{resource.start.line})" if resource else ""
                notifications.append(
                    Notification(
                        f"internal error in {meta.id}{where}: {type(error).__name__}: {error}; please report it"
                    )
                )
    return findings, notifications, checked
