"""Loaders: one module per input language, each turning bytes into resources with positions."""

from __future__ import annotations

import re

from prodready.model import Location, SuppressionMark

_SUPPRESSION = re.compile(
    rb"(?:#|//)\s*prodready:ignore\s+(?P<rules>[A-Za-z0-9-]+(?:\s*,\s*[A-Za-z0-9-]+)*)(?:\s+--\s*(?P<reason>[^\r\n]*))?"
)


def suppression_comments(data: bytes, file: str) -> list[SuppressionMark]:
    """Every `# prodready:ignore PR301[,PR304] -- reason` comment of a file (YAML or HCL)."""
    if b"prodready:ignore" not in data:
        return []
    marks = []
    for match in _SUPPRESSION.finditer(data):
        line_start = data.rfind(b"\n", 0, match.start()) + 1
        location = Location(file, data.count(b"\n", 0, match.start()) + 1, match.start() - line_start + 1)
        rules = tuple(rule.strip().decode() for rule in match.group("rules").split(b","))
        reason = (match.group("reason") or b"").decode("utf-8", "replace").strip()
        marks.append(SuppressionMark(location, rules, reason))
    return marks


def text_problem(data: bytes) -> tuple[str, int, int] | None:
    """Why `data` is not text a loader can read, with the line and column where that shows."""
    nul = data.find(b"\0", 0, 8192)
    if nul >= 0:
        return "a binary file (it contains NUL bytes), not text", data.count(b"\n", 0, nul) + 1, 1
    try:
        data.decode("utf-8")
    except UnicodeDecodeError as error:
        line_start = data.rfind(b"\n", 0, error.start) + 1
        line = data.count(b"\n", 0, error.start) + 1
        column = len(data[line_start : error.start].decode("utf-8", "replace")) + 1
        return f"not UTF-8 text (byte 0x{data[error.start]:02x})", line, column
    return None


def lines_of(file: str) -> list[str]:
    """A text file's lines; none when it cannot be read."""
    try:
        with open(file, encoding="utf-8", errors="replace") as handle:
            return handle.read().splitlines()
    except OSError:
        return []
