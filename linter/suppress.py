"""Suppressions: annotations and comments in the input, per-path ignores in the configuration, and a
baseline of accepted findings. A suppressed finding stays in SARIF (with the reason) but does not count
for the exit status; a suppression that suppresses nothing is itself reported (PR004)."""

from __future__ import annotations

import dataclasses
import fnmatch
import json
import os
from collections.abc import Iterable

from prodready.config import Config
from prodready.kubernetes import mapping
from prodready.model import Finding, Location, Resource, RuleMeta, Suppression, SuppressionMark

IGNORE_ANNOTATION = "prodready.io/ignore"
REASON_ANNOTATION = "prodready.io/ignore-reason"
BASELINE_VERSION = 1


def _names(meta: RuleMeta) -> set[str]:
    return {meta.id, meta.name}


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


def _config_line(config: Config, text: str) -> int:
    try:
        with open(config.path, encoding="utf-8", errors="replace") as handle:
            for number, line in enumerate(handle, start=1):
                if text in line:
                    return number
    except OSError:
        pass
    return 1


def path_marks(config: Config) -> list[tuple[str, SuppressionMark]]:
    """(glob, mark) for each `per-path-ignores` entry of the configuration."""
    return [
        (
            glob,
            SuppressionMark(
                Location(config.path or "", _config_line(config, glob), 1),
                tuple(rules),
                f"per-path-ignores: {glob}",
            ),
        )
        for glob, rules in config.get("per-path-ignores", {}).items()
    ]


def _relative(path: str, directory: str) -> str:
    return os.path.relpath(os.path.abspath(path), directory).replace(os.sep, "/")


def read_baseline(path: str) -> set[str]:
    with open(path, encoding="utf-8") as handle:
        document = json.load(handle)
    if not isinstance(document, dict) or document.get("version") != BASELINE_VERSION:
        raise ValueError(f"{path} is not a prodready baseline (version {BASELINE_VERSION})")
    return {
        entry["fingerprint"]
        for entry in document.get("findings", [])
        if isinstance(entry, dict) and "fingerprint" in entry
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
    resources: list[Resource],
    comments: list[SuppressionMark],
    config: Config,
    baseline: tuple[str, set[str]] | None = None,
) -> tuple[list[Finding], list[tuple[SuppressionMark, tuple[str, ...]]]]:
    """The findings with their suppressions set, and each suppression with the rules it names that
    matched no finding."""
    annotations = annotation_marks(resources)
    comments_by_file: dict[str, list[SuppressionMark]] = {}
    for comment in comments:
        comments_by_file.setdefault(comment.location.file, []).append(comment)
    globs = path_marks(config)
    used: set[tuple[int, str]] = set()  # (id of the mark, rule named)

    def matching(mark: SuppressionMark, meta: RuleMeta) -> str | None:
        for rule in mark.rules:
            if rule in _names(meta) or rule.upper() == meta.id:
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
            rendered = resource.locate(finding.path)
            for line in (rendered.line, resource.start.line):
                places |= {(resource.file, line), (resource.file, line - 1)}
        for file, line in sorted(places):
            for comment in comments_by_file.get(file, ()):
                if comment.location.line == line and matching(comment, finding.rule):
                    return comment
        return None

    result = []
    for finding in findings:
        suppression = None
        mark = annotations.get(id(finding.resource)) if finding.resource is not None else None
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
            for glob, path_mark in globs:
                if any(
                    fnmatch.fnmatch(_relative(file, config.directory), glob) for file in files
                ) and matching(path_mark, finding.rule):
                    suppression = Suppression("external", f"{path_mark.reason} in {config.path}")
                    break
        if suppression is None and baseline is not None and finding.fingerprint in baseline[1]:
            suppression = Suppression("external", f"accepted in the baseline {baseline[0]}")
        result.append(dataclasses.replace(finding, suppression=suppression) if suppression else finding)

    unused = []
    for mark in [*annotations.values(), *comments, *(mark for _, mark in globs)]:
        names = tuple(rule for rule in mark.rules if (id(mark), rule) not in used)
        if names:
            unused.append((mark, names))
    return result, unused
