"""Suppressions: annotations and comments in the input, per-path ignores in the configuration, and a
baseline of accepted findings. A suppressed finding stays in SARIF (with the reason) but does not count
for the exit status; a suppression that suppresses nothing is itself reported (PR004)."""

from __future__ import annotations

import dataclasses
import fnmatch
import json
import os
from collections.abc import Iterable

from prodready.engine import to_finding
from prodready.kubernetes import mapping
from prodready.model import (
    Finding,
    Level,
    Resource,
    RuleMeta,
    Scope,
    Suppression,
    SuppressionMark,
)

IGNORE_ANNOTATION = "prodready.io/ignore"
REASON_ANNOTATION = "prodready.io/ignore-reason"
BASELINE_VERSION = 1


def annotation_marks(resources: Iterable[Resource]) -> dict[int, SuppressionMark]:
    """`prodready.io/ignore: "PR301,PR304"` on an object, by the object's identity."""
    marks = {}
    for resource in resources:
        annotations = mapping(resource.metadata.get("annotations"))
        value = annotations.get(IGNORE_ANNOTATION)
        if isinstance(value, str) and value.strip():
            rules = tuple(
                rule.strip().upper() if rule.strip()[:2].upper() == "PR" else rule.strip()
                for rule in value.split(",")
            )
            location = resource.locate(("metadata", "annotations", IGNORE_ANNOTATION))
            marks[id(resource)] = SuppressionMark(
                location, rules, str(annotations.get(REASON_ANNOTATION, ""))
            )
    return marks


def _relative(path: str, directory: str) -> str:
    return os.path.relpath(os.path.abspath(path), directory).replace(os.sep, "/")


class BaselineError(Exception):
    """A baseline file that cannot be read; the message names it."""


def read_baseline(path: str) -> set[str]:
    try:
        with open(path, encoding="utf-8") as handle:
            document = json.load(handle)
    except OSError as error:
        raise BaselineError(f"{path}: cannot read: {error.strerror or error}") from None
    except ValueError as error:  # not JSON, or not UTF-8
        raise BaselineError(f"{path}: not a JSON baseline: {error}") from None
    if not isinstance(document, dict) or document.get("version") != BASELINE_VERSION:
        raise BaselineError(f"{path} is not a prodready baseline (version {BASELINE_VERSION})")
    return {
        entry["fingerprint"]
        for entry in document.get("findings", [])
        if isinstance(entry, dict) and isinstance(entry.get("fingerprint"), str)
    }


def baseline_document(findings: list[Finding]) -> str:
    entries = [
        {"fingerprint": f.fingerprint, "rule": f.rule.id, "file": f.location.file, "message": f.message}
        for f in findings
        if f.suppression is None
    ]
    return json.dumps({"version": BASELINE_VERSION, "findings": entries}, indent=2, ensure_ascii=False) + "\n"


def apply(
    findings: list[Finding],
    rules: list[tuple[RuleMeta, Level]],
    resources: list[Resource],
    comments: list[SuppressionMark],
    path_ignores: list[tuple[str, SuppressionMark]],
    directory: str,
    baseline: tuple[str, set[str]] | None = None,
) -> list[Finding]:
    """The findings with their suppressions set, and a finding of each rule that reports unused
    suppressions (PR004) for every suppression naming rules that ran but matched nothing. `path_ignores`
    are (glob relative to `directory`, mark) pairs from the configuration."""
    annotations = annotation_marks(resources)
    comments_by_file: dict[str, list[SuppressionMark]] = {}
    for written in comments:
        comments_by_file.setdefault(written.location.file, []).append(written)
    used: set[tuple[int, str]] = set()  # (id of the mark, rule named)

    def matching(mark: SuppressionMark, meta: RuleMeta) -> str | None:
        for rule in mark.rules:
            if meta.is_named(rule):
                used.add((id(mark), rule))
                return rule
        return None

    def comment_for(finding: Finding) -> SuppressionMark | None:
        places = {
            (finding.location.file, finding.location.line),
            (finding.location.file, finding.location.line - 1),
        }
        resource = finding.resource
        if resource is not None:
            places |= {(resource.file, resource.start.line), (resource.file, resource.start.line - 1)}
        for file, line in sorted(places):
            for comment in comments_by_file.get(file, ()):
                if comment.location.line == line and matching(comment, finding.rule):
                    return comment
        return None

    result = []
    for finding in findings:
        suppression = None
        mark: SuppressionMark | None = None
        if finding.resource is not None:
            mark = annotations.get(id(finding.resource))
        if mark is not None and matching(mark, finding.rule):
            suppression = Suppression("inSource", mark.reason or f"{IGNORE_ANNOTATION} annotation")
        if suppression is None:
            comment = comment_for(finding)
            if comment is not None:
                suppression = Suppression("inSource", comment.reason or "prodready:ignore comment")
        if suppression is None:
            files = {finding.location.file} | (
                {finding.resource.file} if finding.resource is not None else set()
            )
            for glob, path_mark in path_ignores:
                if any(fnmatch.fnmatch(_relative(file, directory), glob) for file in files) and matching(
                    path_mark, finding.rule
                ):
                    suppression = Suppression("external", f"{path_mark.reason} in {path_mark.location.file}")
                    break
        if suppression is None and baseline is not None and finding.fingerprint in baseline[1]:
            suppression = Suppression("external", f"accepted in the baseline {baseline[0]}")
        result.append(dataclasses.replace(finding, suppression=suppression) if suppression else finding)

    ran = [meta for meta, _ in rules]
    unused = []
    for mark in [*annotations.values(), *comments, *(mark for _, mark in path_ignores)]:
        names = tuple(
            rule
            for rule in mark.rules
            if (id(mark), rule) not in used and any(meta.is_named(rule) for meta in ran)
        )
        if names:
            unused.append((mark, names))
    for meta, level in rules:
        if meta.scope is Scope.SUPPRESSIONS:
            result.extend(to_finding(meta, level, problem) for problem in meta.check(unused))
    return result
