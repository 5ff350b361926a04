"""`path:line:col: level PRnnn name: message`, one finding a line, related places indented below it."""

from __future__ import annotations

from prodready.model import Level
from prodready.report import counts_by_level, escape_control

_COLORS = {Level.ERROR: "\033[31m", Level.WARNING: "\033[33m", Level.NOTE: "\033[36m"}
_BOLD, _DIM, _RESET = "\033[1m", "\033[2m", "\033[0m"


def _plural(count: int, word: str) -> str:
    return f"{count:,} {word}{'' if count == 1 else 's'}"


def summary(result) -> str:
    scanned = f"{_plural(result.files, 'file')}, {_plural(result.resources, 'resource')}"
    reported = [finding for finding in result.findings if finding.suppression is None]
    suppressed = len(result.findings) - len(reported)
    hidden = f"; {suppressed:,} suppressed" if suppressed else ""
    if not reported:
        return f"No findings in {scanned}{hidden}."
    counts = counts_by_level(reported)
    levels = ", ".join(
        _plural(counts[str(level)], str(level)) for level in reversed(Level) if str(level) in counts
    )
    return f"Found {_plural(len(reported), 'finding')} ({levels}) in {scanned}{hidden}."


def render(result, color: bool = False, show_suppressed: bool = False) -> str:
    def paint(code: str, text: str) -> str:
        return f"{code}{text}{_RESET}" if color else text

    lines = []
    for finding in result.findings:
        if finding.suppression is not None and not show_suppressed:
            continue
        location = finding.location
        place = paint(_BOLD, f"{escape_control(location.file)}:{location.line}:{location.column}:")
        level = paint(_COLORS.get(finding.level, ""), str(finding.level))
        rule = paint(_DIM, f"{finding.rule.id} {finding.rule.name}:")
        suppressed = (
            f" [suppressed: {escape_control(finding.suppression.justification)}]"
            if finding.suppression
            else ""
        )
        lines.append(f"{place} {level} {rule} {escape_control(finding.message)}{suppressed}")
        for related in finding.related:
            where = related.location
            lines.append(
                f"    {escape_control(where.file)}:{where.line}:{where.column}: {escape_control(related.message)}"
            )
    lines.append(summary(result))
    return "\n".join(lines) + "\n"
