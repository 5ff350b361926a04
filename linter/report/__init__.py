"""Reports: one module per output format, each a function from a scan result to text."""

from __future__ import annotations

import importlib

from prodready.model import Finding

FORMATS = ("text", "json", "sarif", "github", "scorecard")


def render(format: str, result, color: bool = False, show_suppressed: bool = False) -> str:
    module = importlib.import_module(f"prodready.report.{format}")
    if format == "text":
        return module.render(result, color=color, show_suppressed=show_suppressed)
    return module.render(result)


def escape_control(text: str) -> str:
    """Input-derived text with control characters made visible, so that a resource named with terminal
    escape sequences cannot drive the reader's terminal."""
    if text.isprintable():
        return text
    return "".join(c if c.isprintable() else c.encode("unicode_escape").decode("ascii") for c in text)


def counts_by_level(findings: list[Finding]) -> dict[str, int]:
    counts: dict[str, int] = {}
    for finding in findings:
        counts[str(finding.level)] = counts.get(str(finding.level), 0) + 1
    return counts
