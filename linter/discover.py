"""Which files a scan reads: walk the paths given, classify each file, leave out what is not input."""

from __future__ import annotations

import fnmatch
import os
import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass

from prodready.helm import chart_names
from prodready.kustomization import Kustomization, kustomization_file, read
from prodready.model import INVALID_INPUT, STDIN, Location, Notification, Problem

YAML_SUFFIXES = (".yaml", ".yml", ".json")
TERRAFORM_SUFFIXES = (".tf", ".tfvars")


@dataclass(frozen=True)
class SourceFile:
    path: str  # as shown to the user: relative to what they typed, or `<stdin>`
    kind: str  # "yaml" or "terraform"


class UsageError(Exception):
    """A path that does not exist: the scan cannot do what was asked."""


@dataclass(frozen=True)
class Unit:
    """A Helm chart or a Kustomize root: rendered, and its output checked as one whole."""

    kind: str  # "helm" or "kustomize"
    directory: str
    file: str  # Chart.yaml or the kustomization file
    manifests: tuple[str, ...] = ()  # its files read as plain manifests when no engine renders it
    reads: tuple[str, ...] = ()  # every local file rendering reads (kustomize), for the render cache
    remote: tuple[str, ...] = ()  # remote bases and resources: never fetched, so never rendered


@dataclass
class Discovery:
    files: list[SourceFile]  # plain manifests and Terraform
    units: list[Unit]
    notifications: list[Notification]
    problems: list[tuple[str, Problem]]  # directories that could not be listed, kustomizations unreadable


def _chart_root(directory: str) -> bool:
    return os.path.isfile(os.path.join(directory, "Chart.yaml"))


def _chart_of(path: str) -> str | None:
    """The chart directory `path` lies in (itself, a template, a values file), else None."""
    directory = os.path.normpath(path if os.path.isdir(path) else os.path.dirname(path) or ".")
    while True:
        if _chart_root(directory) and not _is_subchart(directory):
            return directory
        parent = os.path.dirname(directory)
        if parent == directory or not parent:
            return None
        directory = parent


def _is_subchart(directory: str) -> bool:
    """A chart in another chart's `charts/`: it renders with its parent."""
    parent = os.path.dirname(os.path.abspath(directory))
    return os.path.basename(parent) == "charts" and _chart_root(os.path.dirname(parent))


def _chart_manifests(chart: str) -> tuple[str, ...]:
    """The YAML files of a chart that are not templates (CRDs, examples), read when helm is missing."""
    found = []
    for directory, subdirectories, names in os.walk(chart):
        subdirectories[:] = sorted(d for d in subdirectories if not d.startswith(".") and d != "templates")
        found += [os.path.join(directory, name) for name in sorted(names) if _kind(name) == "yaml"]
    return tuple(found)


def discover(
    paths: list[str],
    recursive: bool = True,
    exclude: Sequence[str] = (),
    base: str = ".",
    context: str | None = None,
) -> Discovery:
    """The input files and units under `paths` (directories recursively unless `recursive` is false,
    hidden ones skipped, files matching an `exclude` glob relative to `base` left out), sorted by path.
    A Helm chart, wherever a path points into it, is one unit; so is each Kustomize root, and the files
    of its tree are judged only through it. With `context` (a directory the paths lie in), a path in a
    Kustomize tree brings every root below `context` that reaches it: the overlays of a changed base."""
    files: list[SourceFile] = []
    charts: dict[str, Unit] = {}
    kustomizations: dict[str, Kustomization] = {}
    problems: list[tuple[str, Problem]] = []

    def add_chart(chart: str) -> None:
        if chart not in charts:
            charts[chart] = Unit("helm", chart, os.path.join(chart, "Chart.yaml"), _chart_manifests(chart))

    for given in paths:
        if given == "-":
            files.append(SourceFile(STDIN, "yaml"))
            continue
        if not (os.path.exists(given) or os.path.islink(given)):
            raise UsageError(f"no such file or directory: {given}")
        chart = _chart_of(given)
        if chart is not None:
            add_chart(chart)
        elif os.path.isdir(given):
            for directory, subdirectories, names in _walk(given, problems):
                if not recursive:
                    subdirectories.clear()
                if _chart_root(directory):
                    add_chart(os.path.normpath(directory))
                    subdirectories.clear()
                    continue
                _read_kustomization(directory, kustomizations, problems)
                for name in names:
                    kind = _kind(name)
                    if kind:
                        files.append(SourceFile(os.path.normpath(os.path.join(directory, name)), kind))
        else:
            files.append(SourceFile(given, _kind(given) or "yaml"))
    units = sorted(charts.values(), key=lambda unit: unit.directory)
    reaching = None
    if context is not None and kustomizations:
        reaching = set(kustomizations)
        for directory, subdirectories, _ in _walk(context, problems):
            if _chart_root(directory):
                subdirectories.clear()
            elif os.path.abspath(directory) not in kustomizations:
                _read_kustomization(directory, kustomizations, problems)
    roots, judged_through_roots = _kustomize_roots(kustomizations, reaching)
    units += roots
    if exclude:
        files = [source for source in files if not _excluded(source.path, exclude, base)]
    files = [source for source in _unique(files) if os.path.abspath(source.path) not in judged_through_roots]
    units, notifications = _not_rendered_again(units, files)
    return Discovery(sorted(files, key=lambda source: source.path), units, notifications, problems)


_SOURCE_COMMENT = re.compile(r"^# Source: ([^/\s]+)/templates/(\S+)", re.MULTILINE)


def _not_rendered_again(units: list[Unit], files: list[SourceFile]) -> tuple[list[Unit], list[Notification]]:
    """The units without the charts whose `helm template` output is already among the scanned files
    (its `# Source:` comments name the chart's templates): that output is checked as it is, with the
    values it was rendered with, and its findings point at the chart's templates."""
    charts = [unit for unit in units if unit.kind == "helm"]
    if not charts:
        return units, []
    sources: dict[tuple[str, str], list[str]] = {}
    for source in files:
        if source.kind != "yaml" or source.path == STDIN:
            continue
        try:
            with open(source.path, "rb") as handle:
                head = handle.read(65536).decode("utf-8", "replace")
        except OSError:
            continue  # load reports it
        for name, template in set(_SOURCE_COMMENT.findall(head)):
            sources.setdefault((name, template), []).append(source.path)
    kept, notifications = [], []
    for unit in units:
        rendered = sorted(
            {
                path
                for (name, template), paths in sources.items()
                if unit.kind == "helm"
                and name in chart_names(unit.directory)
                and os.path.isfile(os.path.join(unit.directory, "templates", template))
                for path in paths
            }
        )
        if not rendered:
            kept.append(unit)
            continue
        shown = ", ".join(rendered[:3]) + (f" and {len(rendered) - 3} more" if len(rendered) > 3 else "")
        notifications.append(
            Notification(
                f"{unit.directory} was not rendered: its output is already among the scanned files ({shown}), "
                "checked as they are, with their findings at its templates",
                file=unit.directory,
            )
        )
    return kept, notifications


def _read_kustomization(
    directory: str, found: dict[str, Kustomization], problems: list[tuple[str, Problem]]
) -> None:
    from prodready.sources.yaml import InvalidYaml, parse_documents

    file = kustomization_file(directory)
    if file is None:
        return
    try:
        with open(file, "rb") as handle:
            documents = list(parse_documents(handle.read(), file))
    except OSError as error:
        problems.append(
            (INVALID_INPUT, Problem(f"cannot read file: {error.strerror}", location=Location(file, 1, 1)))
        )
        return
    except InvalidYaml as error:
        location = Location(file, error.line + 1, error.column + 1)
        problems.append((INVALID_INPUT, Problem(f"invalid YAML: {error}", location=location)))
        return
    body = documents[0].body if documents else None
    found[os.path.abspath(directory)] = read(os.path.abspath(directory), body, file)


def _kustomize_roots(
    kustomizations: dict[str, Kustomization], reaching: set[str] | None = None
) -> tuple[list[Unit], set[str]]:
    """A unit for each kustomization that no other scanned one builds from (and that is no Component),
    only those that reach one of `reaching` when it is given, and every file that belongs to a tree:
    kustomization files, their resources, patches and inputs."""
    used = {path for k in kustomizations.values() for path in k.builds_from if path in kustomizations}
    in_trees: set[str] = set()
    units = []
    for directory, root in sorted(kustomizations.items()):
        reached = _reachable(directory, kustomizations)
        tree_files = {k.file for k in reached} | {
            os.path.abspath(path)
            for k in reached
            for path in [*k.builds_from, *k.uses]
            if os.path.isfile(path)
        }
        in_trees |= {os.path.abspath(path) for path in tree_files}
        if directory in used or root.is_component:
            continue
        if reaching is not None and not reaching & {k.directory for k in reached}:
            continue
        never_objects = {os.path.abspath(k.file) for k in reached} | {
            os.path.abspath(p) for k in reached for p in k.uses
        }
        manifests = sorted(
            os.path.relpath(path)
            for k in reached
            for path in k.builds_from
            if os.path.isfile(path) and _kind(path) == "yaml" and os.path.abspath(path) not in never_objects
        )
        units.append(
            Unit(
                "kustomize",
                os.path.relpath(directory),
                os.path.relpath(root.file) if os.path.isabs(root.file) else root.file,
                tuple(manifests),
                tuple(sorted(tree_files)),
                tuple(reference for k in reached for reference in k.remote),
            )
        )
    return units, in_trees


def _reachable(directory: str, kustomizations: dict[str, Kustomization]) -> list[Kustomization]:
    """The kustomization in `directory` and every one it builds from, each once (a cycle is not followed twice)."""
    seen: dict[str, Kustomization] = {}
    pending = [directory]
    while pending:
        current = pending.pop()
        if current in seen or current not in kustomizations:
            continue
        seen[current] = kustomizations[current]
        pending += kustomizations[current].builds_from
    return list(seen.values())


def _excluded(path: str, globs: Sequence[str], base: str) -> bool:
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


def _walk(top: str, problems: list[tuple[str, Problem]]) -> Iterator[tuple[str, list[str], list[str]]]:
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
