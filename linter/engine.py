"""Run the selected rules over the index and turn what they yield into findings, in a stable order."""

from __future__ import annotations

import hashlib
from collections.abc import Iterable

from prodready.index import Index
from prodready.model import Finding, Level, Notification, Problem, RelatedLocation, RuleMeta, Scope
from prodready.origins import Origins


def fingerprint(meta: RuleMeta, problem: Problem) -> str:
    """Identifies a finding across edits: rule, file, resource identity and the path inside it; never a
    line number, so inserting lines above a resource keeps every fingerprint."""
    if problem.resource is not None:
        resource = problem.resource
        parts = [meta.id, resource.file, resource.identity, "/".join(map(str, problem.path))]
    else:
        parts = [meta.id, problem.location.file if problem.location else "", problem.message]
    return hashlib.sha256("\0".join(parts).encode()).hexdigest()[:32]


def to_finding(meta: RuleMeta, level: Level, problem: Problem, origins: Origins | None = None) -> Finding:
    related = tuple(
        RelatedLocation(resource.locate(path), f"{resource.kind} {resource.name}")
        for resource, path in problem.related
    )
    if problem.resource is not None:
        location = problem.resource.locate(problem.path)
        origin = origins.locate(problem.resource, problem.path) if origins else None
        if origin is not None:
            related = (RelatedLocation(location, "rendered manifest"),) + related
            location = origin
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


def run(
    rules: Iterable[tuple[RuleMeta, Level]], index: Index, origins: Origins | None = None
) -> tuple[list[Finding], list[Notification], dict[str, int]]:
    """Every finding of every rule, sorted by file, line, column and rule, and how many resources each
    rule checked. A rule that fails on some input is reported as a notification; the other rules and
    resources are still checked. With `origins`, findings in rendered manifests move to the templates
    they came from."""
    findings: list[Finding] = []
    notifications: list[Notification] = []
    checked: dict[str, int] = {}
    for meta, level in rules:
        if meta.scope is Scope.SUPPRESSIONS:
            continue
        if meta.scope is Scope.SET:
            calls = [((index,), None)]
        else:
            calls = [((resource, index), resource) for resource in index.of_kind(*meta.kinds)]
        checked[meta.id] = len(calls)
        for arguments, resource in calls:
            try:
                findings.extend(
                    to_finding(meta, level, problem, origins) for problem in meta.check(*arguments)
                )
            except Exception as error:  # a bug in a rule must not hide every other finding
                where = f" on {resource} ({resource.start.file}:{resource.start.line})" if resource else ""
                notifications.append(
                    Notification(
                        f"internal error in {meta.id}{where}: {type(error).__name__}: {error}; please report it"
                    )
                )
    findings.sort(key=lambda finding: finding.sort_key)
    return findings, notifications, checked
