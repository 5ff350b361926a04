"""What a Helm chart's files say that more than one stage needs: the dependencies of its Chart.yaml, and
enough of its templates' actions (`{{ … }}`) to tell which values key a line writes and which named
template (`{{- define "name" }}`) writes a line that `include` leaves out."""

from __future__ import annotations

import os
import re
from dataclasses import dataclass

from prodready.sources import lines_of

# The context `.` of a template action, as the path of fields from the top context that it is: `()` at the
# top, `("Values", "resources")` inside `{{- with .Values.resources }}`; None where prodready cannot tell
# (inside `range`, or `with` of anything but a field).
Dot = tuple[str, ...] | None
TOP: Dot = ()

_ACTION = re.compile(r"\{\{-?\s*(.*?)\s*-?\}\}")
_FIELD = re.compile(r"(\$)?((?:\.\w+)+|\.)?")
_OPENS = ("if", "range", "with", "define", "block")
_VALUES_REFERENCE = re.compile(r"(?:toYaml\s+)?(\$(?:\.\w+)*|\.(?:\w+(?:\.\w+)*)?)\s*(?:\|.*)?")
_INCLUDE = re.compile(r"(?:^|\()\s*(?:include|template)\s+\"([^\"]+)\"\s*([^|)]*)")
_DEFINE = re.compile(r"\{\{-?\s*define\s+\"([^\"]+)\"\s*-?\}\}")


_CHART_NAME = re.compile(r"^name:\s*['\"]?([^'\"\s#]+)", re.MULTILINE)


def chart_names(directory: str) -> set[str]:
    """The names helm may give a chart in `# Source: <name>/templates/…`: its `Chart.yaml` name, and its
    directory's for a chart whose name cannot be read."""
    names = {os.path.basename(os.path.normpath(directory))}
    try:
        with open(os.path.join(directory, "Chart.yaml"), encoding="utf-8", errors="replace") as handle:
            match = _CHART_NAME.search(handle.read(65536))
    except OSError:
        return names
    if match:
        names.add(match.group(1))
    return names


def dependency_position(chart_file: str, name: str) -> tuple[int, int]:
    """(line, column) of the `name:` of dependency `name` in a Chart.yaml; (1, 1) when it is not there."""
    pattern = re.compile(rf"^(\s*-?\s*)name:\s*['\"]?{re.escape(name)}['\"]?\s*(#.*)?$")
    for number, line in enumerate(lines_of(chart_file), start=1):
        match = pattern.match(line)
        if match:
            return number, len(match.group(1)) + 1
    return 1, 1


@dataclass(frozen=True)
class Action:
    """One `{{ … }}` on a line: where it is, what it says (without the trim markers), and `.` there."""

    start: int
    end: int
    text: str
    dot: Dot


def resolve(expression: str, dot: Dot) -> Dot:
    """The field path an expression names (`.`, `.image`, `$.Values.image`), with `.` being `dot`; None for
    anything else (a function call, a variable, a pipeline)."""
    expression = expression.strip()
    if ":=" in expression:  # `with $x := .Values.x`
        expression = expression.split(":=", 1)[1].strip()
    match = _FIELD.fullmatch(expression)
    if not match or not expression:
        return None
    fields = tuple(match.group(2).split(".")[1:]) if match.group(2) and match.group(2) != "." else ()
    if match.group(1):
        return fields
    return None if dot is None else dot + fields


def actions(lines: list[str], begin: int, end: int, dot: Dot = TOP) -> dict[int, list[Action]]:
    """The actions of lines `begin` to `end` (0-based, past the last), each with the `.` it sees, the
    region starting with `.` being `dot`: `with` of a field moves it there until its `else` or `end`, and
    `range`, `define` and `block` make it unknown."""
    found: dict[int, list[Action]] = {}
    stack: list[tuple[str, Dot]] = []  # (the block's keyword, `.` outside it)
    for number in range(begin, end):
        on_line = found.setdefault(number, [])
        for match in _ACTION.finditer(lines[number]):
            text = match.group(1)
            on_line.append(Action(match.start(), match.end(), text, dot))
            word, _, rest = text.partition(" ")
            if word in _OPENS:
                stack.append((word, dot))
                dot = resolve(rest, dot) if word == "with" else dot if word == "if" else None
            elif word == "else" and stack:
                kind, outside = stack[-1]
                dot = outside
                if rest.startswith("with "):
                    stack[-1] = ("with", outside)
                    dot = resolve(rest[5:], outside)
            elif word == "end" and stack:
                dot = stack.pop()[1]
    return found


def values_reference(action: Action) -> tuple[str, ...] | None:
    """The values key an action writes out (`{{ .Values.replicaCount }}`, `{{ toYaml . | nindent 8 }}`
    inside `with .Values.resources`, `{{ .tag | quote }}` inside `with .Values.image`), if it is one."""
    match = _VALUES_REFERENCE.fullmatch(action.text)
    if not match:
        return None
    path = resolve(match.group(1), action.dot)
    return path[1:] if path and len(path) > 1 and path[0] == "Values" else None


def included(action: Action) -> tuple[str, Dot] | None:
    """The named template an `include` or `template` action writes, and the `.` it passes to it."""
    match = _INCLUDE.search(action.text)
    if not match:
        return None
    return match.group(1), resolve(match.group(2), action.dot)


@dataclass(frozen=True)
class Define:
    """Where a named template's body is: its file, and its lines (0-based, past the last)."""

    file: str
    begin: int
    end: int


def defines(chart_directory: str) -> dict[str, Define]:
    """Every `{{- define "name" }}` in the chart's templates and its unpacked subcharts' (names are
    global to a release); the chart's own first, so they win."""
    found: dict[str, Define] = {}
    template_directories = [os.path.join(chart_directory, "templates")]
    for top, subdirectories, _ in os.walk(os.path.join(chart_directory, "charts")):
        subdirectories.sort()
        if "templates" in subdirectories:
            template_directories.append(os.path.join(top, "templates"))
    for directory in template_directories:
        for top, subdirectories, names in os.walk(directory):
            subdirectories.sort()
            for name in sorted(names):
                path = os.path.join(top, name)
                lines = lines_of(path)
                for number, line in enumerate(lines):
                    match = _DEFINE.search(line)
                    if match and match.group(1) not in found:
                        found[match.group(1)] = Define(
                            path, number + 1, max(number + 1, _end_of_block(lines, number))
                        )
    return found


def _end_of_block(lines: list[str], begin: int) -> int:
    """The line of the `end` that closes the block opened on line `begin`."""
    depth = 0
    for number in range(begin, len(lines)):
        for match in _ACTION.finditer(lines[number]):
            word = match.group(1).split(" ", 1)[0]
            if word in _OPENS:
                depth += 1
            elif word == "end" and depth > 0:
                depth -= 1
                if depth == 0:
                    return number
    return len(lines)
