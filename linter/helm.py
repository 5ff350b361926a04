"""What a Helm chart's files say that more than one stage needs."""

from __future__ import annotations

import re

from prodready.sources import lines_of


def dependency_position(chart_file: str, name: str) -> tuple[int, int]:
    """(line, column) of the `name:` of dependency `name` in a Chart.yaml; (1, 1) when it is not there."""
    pattern = re.compile(rf"^(\s*-?\s*)name:\s*['\"]?{re.escape(name)}['\"]?\s*(#.*)?$")
    for number, line in enumerate(lines_of(chart_file), start=1):
        match = pattern.match(line)
        if match:
            return number, len(match.group(1)) + 1
    return 1, 1
