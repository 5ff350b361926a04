"""Which files a scan reads: walk the paths given, classify each file, leave out what is not input."""

from __future__ import annotations

import fnmatch
import os
from dataclasses import dataclass

from prodready.model import INVALID_INPUT, STDIN, Location, Notification, Problem

YAML_SUFFIXES = (".yaml", ".yml", ".json")
TERRAFORM_SUFFIXES = (".tf", ".tfvars")


@dataclass(frozen=True)
class SourceFile:
    path: str  # as shown to the user: relative to what they typed, or `<stdin>`
    kind: str  # "yaml" or "terraform"


class UsageError(Exception):
    """A path that does not exist: the scan cannot do what was asked."""


@dataclass
class Discovery:
    files: list[SourceFile]
    notifications: list[Notification]
    problems: list[tuple[str, Problem]]  # directories that could not be listed (PR001)


def _chart_root(directory: str) -> bool:
    return os.path.isfile(os.path.join(directory, "Chart.yaml"))


def _inside_chart_templates(path: str) -> str | None:
    """The chart directory when `path` lies in a Helm chart's `templates/`, else None."""
    parts = os.path.normpath(os.path.abspath(path)).split(os.sep)
    for position in range(len(parts) - 1, 0, -1):
        if parts[position] == "templates":
            chart = os.sep.join(parts[:position]) or os.sep
            if _chart_root(chart):
                return chart
    return None


def _chart_notification(chart: str) -> Notification:
    return Notification(
        f"{chart} is a Helm chart: its templates/ are not YAML until rendered and were not scanned; "
        f"scan the output of `helm template {chart}` instead",
        file=chart,
    )


def discover(paths: list[str], recursive: bool = True, exclude: list[str] = (), base: str = ".") -> Discovery:
    """The input files under `paths` (directories recursively unless `recursive` is false, hidden ones
    skipped, files matching an `exclude` glob relative to `base` left out), sorted by path."""
    files: list[SourceFile] = []
    notifications: list[Notification] = []
    problems: list[tuple[str, Problem]] = []
    seen_charts: set[str] = set()

    def skip_chart(chart: str) -> None:
        if chart not in seen_charts:
            seen_charts.add(chart)
            notifications.append(_chart_notification(chart))

    for given in paths:
        if given == "-":
            files.append(SourceFile(STDIN, "yaml"))
        elif os.path.isdir(given):
            chart = _inside_chart_templates(given)
            if chart:
                skip_chart(given)
                continue
            for directory, subdirectories, names in _walk(given, problems):
                if not recursive:
                    subdirectories.clear()
                if _chart_root(directory) and "templates" in subdirectories:
                    subdirectories.remove("templates")
                    skip_chart(directory)
                for name in names:
                    kind = _kind(name)
                    if kind:
                        files.append(SourceFile(os.path.normpath(os.path.join(directory, name)), kind))
        elif os.path.exists(given) or os.path.islink(given):
            chart = _inside_chart_templates(given)
            if chart:
                skip_chart(os.path.relpath(chart))
            else:
                files.append(SourceFile(given, _kind(given) or "yaml"))
        else:
            raise UsageError(f"no such file or directory: {given}")
    if exclude:
        files = [source for source in files if not _excluded(source.path, exclude, base)]
    return Discovery(sorted(_unique(files), key=lambda source: source.path), notifications, problems)


def _excluded(path: str, globs: list[str], base: str) -> bool:
    if path == STDIN:
        return False
    relative = os.path.relpath(os.path.abspath(path), base).replace(os.sep, "/")
    return any(fnmatch.fnmatch(relative, glob) for glob in globs)


def _kind(name: str) -> str | None:
    if name.endswith(YAML_SUFFIXES):
        return "yaml"
    if name.endswith(TERRAFORM_SUFFIXES):
        return "terraform"
    return None


def _walk(top: str, problems: list[tuple[str, Problem]]):
    """os.walk, sorted, without hidden directories, without following links to directories (no loops)."""

    def unreadable(error: OSError) -> None:
        message = f"cannot list directory: {error.strerror}"
        problems.append((INVALID_INPUT, Problem(message, location=Location(error.filename, 1, 1))))

    for directory, subdirectories, names in os.walk(top, onerror=unreadable):
        subdirectories[:] = sorted(name for name in subdirectories if not name.startswith("."))
        names.sort()
        yield directory, subdirectories, names


def _unique(files: list[SourceFile]) -> list[SourceFile]:
    """Each file once, whatever the overlap of the paths given; a file named twice (a link and its
    target) keeps the smaller name, so the report does not depend on the order of the arguments."""
    by_file: dict[str, SourceFile] = {}
    for source in files:
        key = source.path if source.path == STDIN else os.path.realpath(source.path)
        if key not in by_file or source.path < by_file[key].path:
            by_file[key] = source
    return list(by_file.values())
