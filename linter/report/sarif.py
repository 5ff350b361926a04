"""SARIF 2.1.0 for GitHub code scanning: one run, full rule metadata, repository-relative URIs and
fingerprints that survive unrelated edits."""

from __future__ import annotations

import json
import os
import re
from functools import cache
from typing import Any
from urllib.parse import quote

import attr
import sarif_om as sarif
from prodready import __version__
from prodready.model import STDIN, Finding, Level, Location, RuleMeta
from prodready.report.rules_markdown import help_uri

SCHEMA_URI = "https://docs.oasis-open.org/sarif/sarif/v2.1.0/errata01/os/schemas/sarif-schema-2.1.0.json"
INFORMATION_URI = "https://github.com/prodready/prodready"
FINGERPRINT_KEY = "prodready/v1"
_LEVELS = {Level.ERROR: "error", Level.WARNING: "warning", Level.NOTE: "note"}


@cache
def _fields(cls: type) -> list[tuple[str, str, object]] | None:
    """(attribute, SARIF property name, default) of a sarif-om class; None for any other class. Cached per
    class: a report of 20,000 findings asks 300,000 times."""
    if not attr.has(cls):
        return None
    return [
        (field.name, field.metadata["schema_property_name"], _default(field)) for field in attr.fields(cls)
    ]


def _default(field: attr.Attribute) -> object:
    """A field's default; one made by `attr.Factory` (which attrs' stubs type as a function) is made."""
    factory = getattr(field.default, "factory", None)
    return factory() if callable(factory) else field.default


def to_json(value: Any) -> Any:
    """sarif-om objects as SARIF JSON: schema property names, None and attrs defaults (the -1 sentinels)
    dropped, `level` always kept because GitHub reads it."""
    if isinstance(value, list):
        return [to_json(item) for item in value]
    if isinstance(value, dict):
        return {key: to_json(item) for key, item in value.items()}
    kind: type = type(value)
    fields = _fields(kind)
    if fields is None:
        return value
    attributes = vars(value)
    return {
        property_name: to_json(item)
        for name, property_name, default in fields
        if (item := attributes[name]) is not None and (item != default or name == "level")
    }


@cache
def _repository_root(directory: str) -> str | None:
    if os.path.exists(os.path.join(directory, ".git")):
        return directory
    parent = os.path.dirname(directory)
    return None if parent == directory else _repository_root(parent)


@cache
def artifact_uri(path: str) -> str:
    """The file's path relative to its repository (or to the working directory), as a URI reference:
    never absolute, never with `..`, never `file://`."""
    if path == STDIN:
        return quote(path)
    absolute = os.path.abspath(path)
    root = _repository_root(os.path.dirname(absolute)) or os.getcwd()
    relative = os.path.relpath(absolute, root)
    if relative.startswith(os.pardir):
        relative = absolute.lstrip(os.sep)
    return quote(relative.replace(os.sep, "/"))


def _physical(location: Location) -> sarif.PhysicalLocation:
    return sarif.PhysicalLocation(
        artifact_location=sarif.ArtifactLocation(uri=artifact_uri(location.file)),
        region=sarif.Region(start_line=location.line, start_column=location.column),
    )


def _what_it_checks(meta: RuleMeta) -> str:
    match = re.search(r"## What it checks\n(.*?)(?:\n\n|\Z)", meta.doc, re.S)
    return " ".join((match.group(1) if match else meta.summary).split())


def _descriptor(meta: RuleMeta) -> sarif.ReportingDescriptor:
    tags = ["production-readiness"] + ([f"checklist-{meta.section}"] if meta.section else [])
    return sarif.ReportingDescriptor(
        id=meta.id,
        name=meta.name,
        short_description=sarif.MultiformatMessageString(text=meta.summary),
        full_description=sarif.MultiformatMessageString(text=_what_it_checks(meta)),
        help=sarif.MultiformatMessageString(text=meta.doc, markdown=meta.doc),
        help_uri=help_uri(meta),
        default_configuration=sarif.ReportingConfiguration(level=_LEVELS[meta.level]),
        properties={"tags": tags, "precision": "high"},
    )


def _logical(finding: Finding) -> list[sarif.LogicalLocation] | None:
    """A Terraform instance's address (`module.queue["a"].aws_sqs_queue.this`): the line alone does not
    say which instance of a module a finding is about."""
    resource = finding.resource
    if resource is None or resource.instance is None:
        return None
    return [sarif.LogicalLocation(fully_qualified_name=resource.address, kind="resource")]


def _result(finding: Finding, rule_index: int) -> sarif.Result:
    related = [
        sarif.Location(
            id=number, physical_location=_physical(r.location), message=sarif.Message(text=r.message)
        )
        for number, r in enumerate(finding.related, start=1)
    ]
    return sarif.Result(
        rule_id=finding.rule.id,
        rule_index=rule_index,
        level=_LEVELS[finding.level],
        message=sarif.Message(text=finding.message),
        locations=[
            sarif.Location(physical_location=_physical(finding.location), logical_locations=_logical(finding))
        ],
        related_locations=related or None,
        partial_fingerprints={FINGERPRINT_KEY: finding.fingerprint},
        suppressions=[
            sarif.Suppression(kind=finding.suppression.kind, justification=finding.suppression.justification)
        ]
        if finding.suppression
        else None,
    )


# GitHub code scanning rejects a run with more results than this.
MAX_RESULTS = 25_000


def _kept(findings: list[Finding]) -> tuple[list[Finding], int]:
    """At most MAX_RESULTS findings, the most severe first chosen, in report order; and how many were left out."""
    if len(findings) <= MAX_RESULTS:
        return findings, 0
    chosen = sorted(findings, key=lambda f: (f.suppression is not None, -f.level, f.sort_key))[:MAX_RESULTS]
    return sorted(chosen, key=lambda f: f.sort_key), len(findings) - MAX_RESULTS


def _notification(message: str, file: str | None) -> sarif.Notification:
    location = (
        sarif.PhysicalLocation(artifact_location=sarif.ArtifactLocation(uri=artifact_uri(file)))
        if file
        else None
    )
    return sarif.Notification(
        message=sarif.Message(text=message),
        level="note",
        locations=[sarif.Location(physical_location=location)] if location else None,
    )


def render(result) -> str:
    rules = result.rules
    rule_index = {meta.id: number for number, meta in enumerate(rules)}
    findings, left_out = _kept(result.findings)
    notifications = [_notification(n.message, n.file) for n in result.notifications]
    if left_out:
        notifications.append(
            _notification(
                f"{left_out:,} less severe findings were left out: GitHub code scanning accepts {MAX_RESULTS:,} per run",
                None,
            )
        )
    log = sarif.SarifLog(
        version="2.1.0",
        schema_uri=SCHEMA_URI,
        runs=[
            sarif.Run(
                tool=sarif.Tool(
                    driver=sarif.ToolComponent(
                        name="prodready",
                        semantic_version=__version__,
                        information_uri=INFORMATION_URI,
                        rules=[_descriptor(meta) for meta in rules],
                    )
                ),
                invocations=[
                    sarif.Invocation(
                        execution_successful=True,
                        tool_execution_notifications=notifications or None,
                    )
                ],
                results=[_result(finding, rule_index[finding.rule.id]) for finding in findings],
                column_kind="unicodeCodePoints",
            )
        ],
    )
    document = to_json(log)
    ordered = {"$schema": document.pop("$schema"), "version": document.pop("version"), **document}
    # Compact: the C encoder only serves output without indentation, and SARIF is read by machines.
    return json.dumps(ordered, ensure_ascii=False, separators=(",", ":")) + "\n"
