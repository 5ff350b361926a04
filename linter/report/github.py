"""GitHub Actions workflow commands: `::error file=…,line=…,col=…,title=PRnnn name::message`, one a finding,
which the runner turns into annotations on the pull request.

GitHub shows at most 10 annotations of each kind per step and drops the rest silently, so the first ones
are printed and the others summarised in one notice that says where to find them."""

from __future__ import annotations

import os

from prodready.model import Level
from prodready.report import escape_control

_COMMANDS = {Level.ERROR: "error", Level.WARNING: "warning", Level.NOTE: "notice"}
LIMIT = 10  # annotations of one kind that GitHub shows per step


def escape_data(text: str) -> str:
    """A command's message, escaped as the Actions toolkit does (`escapeData`); other control characters
    made visible, so input cannot forge a command or drive the log viewer."""
    return escape_control(text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A"))


def escape_property(text: str) -> str:
    """A property value, escaped as the Actions toolkit does (`escapeProperty`)."""
    return escape_data(text).replace(":", "%3A").replace(",", "%2C")


def command(finding) -> str:
    location = finding.location
    properties = ",".join(
        f"{key}={escape_property(str(value))}"
        for key, value in (
            ("file", os.path.normpath(location.file)),  # `./deploy/x.yaml` → `deploy/x.yaml`
            ("line", location.line),
            ("col", location.column),
            ("title", f"{finding.rule.id} {finding.rule.name}"),
        )
    )
    return f"::{_COMMANDS[finding.level]} {properties}::{escape_data(finding.message)}"


def render(result) -> str:
    findings = [finding for finding in result.findings if finding.suppression is None]
    by_kind: dict[str, list] = {kind: [] for kind in _COMMANDS.values()}
    for finding in findings:
        by_kind[_COMMANDS[finding.level]].append(finding)
    overflow = any(len(group) > LIMIT for group in by_kind.values())
    # The summary is a notice itself: keep a place for it among the ten notices GitHub shows.
    limits = {"error": LIMIT, "warning": LIMIT, "notice": LIMIT - 1 if overflow else LIMIT}
    shown = {id(finding) for kind, group in by_kind.items() for finding in group[: limits[kind]]}
    lines = [command(finding) for finding in findings if id(finding) in shown]
    hidden = {kind: len(group) - limits[kind] for kind, group in by_kind.items() if len(group) > limits[kind]}
    if hidden:
        total = sum(hidden.values())
        counts = ", ".join(f"{count:,} {kind}{'' if count == 1 else 's'}" for kind, count in hidden.items())
        lines.append(
            f"::notice::prodready: {total:,} more finding{'' if total == 1 else 's'} ({counts}) not shown as annotations;"
            " see the SARIF or text report"
        )
    return "".join(line + "\n" for line in lines)
