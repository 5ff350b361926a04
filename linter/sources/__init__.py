"""Loaders: one module per input language, each turning bytes into resources with positions."""

from __future__ import annotations


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
