"""The locate stage: point findings in rendered manifests back at the files people edit.

`helm template` writes `# Source: <chart>/templates/<file>` above each document, and `kustomize build`
with `buildMetadata: [originAnnotations]` writes a `config.kubernetes.io/origin` annotation. When that file
exists below the scanned directories, the current directory or `--chart-root`, a finding moves there: to
the line of the key it is about when that key can be found, else to the first line. GitHub can annotate
only files that are in the repository, so this is what makes `helm template | prodready scan -` useful in
code scanning.
"""

from __future__ import annotations

import dataclasses
import functools
import os
import re
from dataclasses import dataclass
from functools import cached_property
from typing import Any

from prodready import helm
from prodready.callers import at_caller, merge_instances
from prodready.helm import dependency_position
from prodready.kubernetes import dig, mapping
from prodready.kustomization import ORIGIN_ANNOTATION
from prodready.model import Finding, KeyPath, Location, Positions, RelatedLocation, Resource
from prodready.patches import Overlays
from prodready.sources import lines_of

_SKIPPED_DIRECTORIES = {"node_modules", "vendor"}
_ORIGIN_PATH = re.compile(r"^path:\s*['\"]?([^'\"\n]+?)['\"]?\s*$", re.MULTILINE)


def _display(path: str) -> str:
    return _display_from(path, os.getcwd())


@functools.lru_cache(maxsize=4096)
def _display_from(path: str, directory: str) -> str:
    """A path as findings name it (relative to `directory`, unless outside it); asked for every step of
    every finding's search, so worked out once."""
    relative = os.path.relpath(path, directory)
    return path if relative.startswith(os.pardir) else relative


_MOST_INCLUDES = 8  # how deep named templates that include named templates are followed


@dataclass(frozen=True)
class RenderedChart:
    """A chart that prodready rendered: where it is, and the values files it was rendered with."""

    directory: str
    values: list[str]


def _chart_file(chart: RenderedChart, helm_source: str) -> str | None:
    """The file a `# Source:` comment names (`shop/charts/cache/templates/x.yaml`) inside the chart."""
    path = os.path.join(chart.directory, helm_source.split("/", 1)[-1])
    return path if os.path.isfile(path) else None


def _packaged_subchart(
    chart: RenderedChart, helm_source: str
) -> tuple[Location, list[RelatedLocation]] | None:
    """A template of a subchart that is vendored as a `.tgz` cannot be edited: the finding goes to the
    dependency's line of the parent's Chart.yaml, where the subchart is chosen."""
    parts = helm_source.split("/")
    if "charts" not in parts[1:-1]:
        return None
    name = parts[parts.index("charts", 1) + 1]
    chart_file = os.path.join(chart.directory, "Chart.yaml")
    return Location(_display(chart_file), *dependency_position(chart_file, name)), []


class Origins:
    def __init__(self, roots: list[str], charts: dict[str, RenderedChart] | None = None) -> None:
        self.roots = list(dict.fromkeys(os.path.abspath(root) for root in roots))
        self.charts = charts or {}  # rendered stream → the chart prodready rendered it from
        self._lines: dict[str, list[str]] = {}
        self._resources: dict[str, list[Resource]] = {}
        self._values_documents: dict[str, tuple[Any, Positions] | None] = {}
        self._chart_defines: dict[str, dict[str, helm.Define]] = {}
        self._templates: dict[tuple[str, int, int, helm.Dot], _Template] = {}
        self.overlays = Overlays()

    def _walk(self):
        for root in self.roots:
            for directory, subdirectories, names in os.walk(root):
                subdirectories[:] = sorted(
                    d for d in subdirectories if not d.startswith(".") and d not in _SKIPPED_DIRECTORIES
                )
                yield directory, names

    @cached_property
    def _files(self) -> tuple[dict[str, str], list[str]]:
        """Helm templates by `<chart name>/templates/<file>`, and every YAML file, below the roots."""
        templates: dict[str, str] = {}
        yaml_files: list[str] = []
        for directory, names in self._walk():
            yaml_files.extend(
                os.path.join(directory, name) for name in names if name.endswith((".yaml", ".yml"))
            )
            if "Chart.yaml" not in names or not os.path.isdir(os.path.join(directory, "templates")):
                continue
            names = helm.chart_names(directory)
            templates_directory = os.path.join(directory, "templates")
            for template_directory, _, template_names in os.walk(templates_directory):
                for name in template_names:
                    path = os.path.join(template_directory, name)
                    relative = os.path.relpath(path, templates_directory).replace(os.sep, "/")
                    for chart in names:
                        templates.setdefault(f"{chart}/templates/{relative}", path)
        return templates, yaml_files

    def locate(self, resource: Resource, path: KeyPath) -> tuple[Location, list[RelatedLocation]] | None:
        """Where in the file people edit a finding about `path` in `resource` belongs, if that file
        exists, with the places on the way there (the template line of a value a values file sets)."""
        if resource.helm_source:
            chart = self.charts.get(resource.file)
            template = (
                _chart_file(chart, resource.helm_source) if chart else self._template(resource.helm_source)
            )
            if template is None:
                return _packaged_subchart(chart, resource.helm_source) if chart else None
            location, reference = self._in_template(template, resource, path)
            values = (
                self._in_values(_values_files(chart, resource.helm_source), reference)
                if chart and reference
                else None
            )
            if values is not None:
                return values, [RelatedLocation(location, "template")]
            return location, []
        origin = resource.build_annotation(ORIGIN_ANNOTATION)
        if isinstance(origin, str) and "repo:" not in origin:
            match = _ORIGIN_PATH.search(origin)
            source = self._origin_file(match.group(1)) if match else None
            if source is None:
                return None
            written = self._origin_resource(source, resource)
            base = written.locate(path) if written else Location(_display(source), 1, 1)
            overlay = self.overlays.locate(resource, path, written.body if written else None)
            if overlay is not None:
                return overlay, [RelatedLocation(base, "base")]
            return base, []
        return None

    def _in_values(
        self, files: list[tuple[str, KeyPath]], reference: tuple[KeyPath, KeyPath]
    ) -> Location | None:
        """The line in the last of `files` that sets the values key a template line reads (below the
        file's prefix: a parent chart's values set a subchart's under its name), down the rest of the
        path inside that value."""
        reference_key, rest = reference
        for file, prefix in reversed(files):
            key = prefix + reference_key
            if file not in self._values_documents:
                self._values_documents[file] = _values_document(file)
            document = self._values_documents[file]
            if document is None:
                continue
            body, positions = document
            if dig(body, key) is not None:
                start = Location(_display(file), 1, 1)
                return positions.locate(body, key + rest, start)
        return None

    # --- Helm ---------------------------------------------------------------------------------------

    def _template(self, helm_source: str) -> str | None:
        prefix, separator, rest = helm_source.partition("/templates/")
        if not separator:
            return None
        for root in self.roots:
            candidate = os.path.join(root, helm_source)
            if os.path.isfile(candidate):
                return candidate
        return self._files[0].get(f"{prefix.rsplit('/', 1)[-1]}/templates/{rest}")

    def _text_lines(self, path: str) -> list[str]:
        if path not in self._lines:
            self._lines[path] = lines_of(path)
        return self._lines[path]

    def _in_template(
        self, template: str, resource: Resource, path: KeyPath
    ) -> tuple[Location, tuple[KeyPath, KeyPath] | None]:
        """The line of the key the finding is about, searched along the path inside the template's
        document of the resource's kind, each key inside the block of the one before, so that
        `resources:` under the right container of the right object is found; a key the template leaves
        to a named template it includes there is searched in that `define`. Where no template spells a
        key out, the nearest ancestor one does. When that line takes its value from a values key
        (`{{ .Values.x }}`, `toYaml .Values.x`, `toYaml .` inside `with .Values.x`), also that key and
        the rest of the path inside it."""
        lines = self._text_lines(template)
        first, last = _document_of_kind(lines, resource.kind)
        source = self._template_actions(template, 0, len(lines), helm.TOP)
        found, reference = self._search(source, first, last, resource, path, 0, ())
        return found or Location(_display(template), first + 1, 1), reference

    def _search(
        self,
        source: _Template,
        begin: int,
        end: int,
        resource: Resource,
        path: KeyPath,
        depth: int,
        including: tuple[str, ...],
    ) -> tuple[Location | None, tuple[KeyPath, KeyPath] | None]:
        """The line of `path[depth:]` between lines `begin` and `end` of a template (None when not even
        its first key is there), and the values reference it writes, if any."""
        found = None
        search_from, block_end = begin, end
        for step in range(depth, len(path)):
            pattern = _step_pattern(resource, path, step)
            if pattern is None:
                continue
            found_at = _first_match(pattern, source.lines, search_from, block_end)
            if found_at is None and isinstance(path[step], int):
                found_at = _only_templated_name(source.lines, search_from, block_end)
            if found_at is None:
                inside = self._in_included(source, search_from, block_end, resource, path, step, including)
                return inside if inside[0] is not None else (found, None)
            number, match = found_at
            found = Location(
                _display(source.file), number + 1, len(match.group(1)) + len(match.group(2) or "") + 1
            )
            reference = source.values_reference(number, match.end(), block_end)
            if reference:
                return found, (reference, path[step + 1 :])
            search_from, block_end = number, _block_end(source.lines, number, block_end)
        return found, None

    def _in_included(
        self,
        source: _Template,
        begin: int,
        end: int,
        resource: Resource,
        path: KeyPath,
        depth: int,
        including: tuple[str, ...],
    ) -> tuple[Location | None, tuple[KeyPath, KeyPath] | None]:
        """`path[depth:]` in the named templates that lines `begin` to `end` include, the first that
        writes its first key."""
        if len(including) >= _MOST_INCLUDES:
            return None, None
        defines = self._defines(source.file)
        for number in range(begin, end):
            for action in source.actions.get(number, []):
                call = helm.included(action)
                if call is None or call[0] not in defines or call[0] in including:
                    continue
                define = defines[call[0]]
                body = self._template_actions(define.file, define.begin, define.end, call[1])
                inside = self._search(
                    body, define.begin, define.end, resource, path, depth, (*including, call[0])
                )
                if inside[0] is not None:
                    return inside
        return None, None

    def _template_actions(self, file: str, begin: int, end: int, dot: helm.Dot) -> _Template:
        """Lines `begin` to `end` of a template file with their actions, `.` being `dot` at `begin`."""
        key = (file, begin, end, dot)
        if key not in self._templates:
            lines = self._text_lines(file)
            self._templates[key] = _Template(file, lines, helm.actions(lines, begin, end, dot))
        return self._templates[key]

    def _defines(self, template: str) -> dict[str, helm.Define]:
        """The named templates a template can include: those of its chart and of the charts around it."""
        chart = _chart_of(template)
        if chart not in self._chart_defines:
            self._chart_defines[chart] = helm.defines(chart)
        return self._chart_defines[chart]

    # --- Kustomize ----------------------------------------------------------------------------------

    def _origin_file(self, origin_path: str) -> str | None:
        for root in self.roots:
            candidate = os.path.normpath(os.path.join(root, origin_path))
            if os.path.isfile(candidate):
                return candidate
        suffix = os.sep + os.path.normpath(origin_path).lstrip(os.sep).replace(os.pardir + os.sep, "")
        matches = [path for path in self._files[1] if path.endswith(suffix)]
        return matches[0] if len(matches) == 1 else None

    def _origin_resource(self, source: str, resource: Resource) -> Resource | None:
        """The object in the origin file that `resource` was rendered from."""
        if source not in self._resources:
            from prodready.sources.yaml import load_manifests

            try:
                with open(source, "rb") as handle:
                    self._resources[source] = load_manifests(handle.read(), _display(source))[0]
            except OSError:
                self._resources[source] = []
        candidates = [r for r in self._resources[source] if r.kind == resource.kind]
        # kustomize may add a name prefix or suffix; the original name is inside the rendered one
        named = [r for r in candidates if r.name == resource.name] or [
            r for r in candidates if r.name and r.name in resource.name
        ]
        if len(named) == 1 or len(candidates) == 1:
            return (named or candidates)[0]
        return None


@dataclass(frozen=True)
class _Template:
    """A template file, or the body of a `define` in one, with its actions."""

    file: str
    lines: list[str]
    actions: dict[int, list[helm.Action]]

    def values_reference(self, number: int, column: int, end: int) -> KeyPath | None:
        """The values key that line `number` writes after `column`, or that the next line writes as a
        block (`toYaml`)."""
        for action in self.actions.get(number, []):
            if action.start >= column and (key := helm.values_reference(action)):
                return key
        if number + 1 < end:
            for action in self.actions.get(number + 1, []):
                if action.text.startswith("toYaml") and (key := helm.values_reference(action)):
                    return key
        return None


def _block_end(lines: list[str], number: int, end: int) -> int:
    """Past the last line of the YAML block that line `number` opens: the lines indented deeper (a
    sequence may sit at its key's indentation), template actions on lines of their own wherever they are."""
    line = lines[number]
    indent = len(line) - len(line.lstrip())
    item = line.lstrip().startswith("- ")
    for following in range(number + 1, end):
        text = lines[following].strip()
        if not text or text.startswith(("#", "{{")):
            continue
        inner = len(lines[following]) - len(lines[following].lstrip())
        if inner > indent or (inner == indent and not item and text.startswith("- ")):
            continue
        return following
    return end


def _chart_of(template: str) -> str:
    """The top chart directory a template belongs to: above `templates/`, and above any `charts/` that
    holds it as a subchart."""
    directory = os.path.dirname(template)
    while os.path.basename(directory) != "templates" and os.path.dirname(directory) != directory:
        directory = os.path.dirname(directory)
    chart = os.path.dirname(directory)
    while os.path.basename(os.path.dirname(chart)) == "charts" and os.path.isfile(
        os.path.join(os.path.dirname(os.path.dirname(chart)), "Chart.yaml")
    ):
        chart = os.path.dirname(os.path.dirname(chart))
    return chart


def _values_files(chart: RenderedChart, helm_source: str) -> list[tuple[str, KeyPath]]:
    """The values files a template's `.Values` come from, the last winning, each with the key it sets
    them under: a subchart's own values.yaml, then its parents' files under its name."""
    names = helm_source.split("/")[:-1]
    subcharts = [names[n + 1] for n in range(1, len(names) - 1) if names[n] == "charts"]
    files: list[tuple[str, KeyPath]] = []
    for depth in range(len(subcharts), 0, -1):
        directory = os.path.join(chart.directory, *(p for s in subcharts[:depth] for p in ("charts", s)))
        values = os.path.join(directory, "values.yaml")
        if os.path.isfile(values):
            files.append((values, tuple(subcharts[depth:])))
    return files + [(file, tuple(subcharts)) for file in chart.values]


def _step_pattern(resource: Resource, path: KeyPath, depth: int) -> re.Pattern[str] | None:
    """How a template writes step `depth` of `path`: a key, or a container by its name."""
    step = path[depth]
    if isinstance(step, str):
        return re.compile(rf"^(\s*)(- )?{re.escape(step)}:")
    if path[depth - 1 : depth] in (("containers",), ("initContainers",)):
        name = str(mapping(dig(resource.body, path[: depth + 1])).get("name", ""))
        if name:
            return re.compile(rf"^(\s*)(- )?name:\s*['\"]?{re.escape(name)}['\"]?\s*(#.*)?$")
    return None


def _first_match(
    pattern: re.Pattern[str], lines: list[str], start: int, end: int
) -> tuple[int, re.Match[str]] | None:
    for number in range(start, end):
        match = pattern.match(lines[number])
        if match:
            return number, match
    return None


_TEMPLATED_NAME = re.compile(r"^(\s*)(- )name:\s*\S*\{\{.*\}\}")


def _only_templated_name(lines: list[str], start: int, end: int) -> tuple[int, re.Match[str]] | None:
    """The container written `- name: {{ .Chart.Name }}`, when it is the only one of the list whose
    name is a template; several such containers cannot be told apart."""
    found = [(n, m) for n in range(start, end) if (m := _TEMPLATED_NAME.match(lines[n]))]
    if not found:
        return None
    indent = len(found[0][1].group(1))
    same_list = [(n, m) for n, m in found if len(m.group(1)) == indent]
    return same_list[0] if len(same_list) == 1 else None


def _values_document(file: str) -> tuple[Any, Positions] | None:
    """A values file's body and positions, or None when it cannot be read."""
    from prodready.sources.yaml import InvalidYaml, parse_documents

    try:
        with open(file, "rb") as handle:
            documents = list(parse_documents(handle.read(), _display(file)))
    except (OSError, InvalidYaml):
        return None
    return (documents[0].body, documents[0].positions) if documents else None


def _document_of_kind(lines: list[str], kind: str) -> tuple[int, int]:
    """The first and past-the-last line (0-based) of the template's first document that writes
    `kind: <kind>`; the whole template when none does (the kind is itself templated)."""
    starts = [0] + [number for number, line in enumerate(lines) if line.startswith("---")]
    ends = starts[1:] + [len(lines)]
    pattern = re.compile(rf"^kind:\s*['\"]?{re.escape(kind)}['\"]?\s*(#.*)?$")
    for start, end in zip(starts, ends):
        if any(pattern.match(line) for line in lines[start:end]):
            return start, end
    return 0, len(lines)


def locate(
    findings: list[Finding], roots: list[str], charts: dict[str, RenderedChart] | None = None
) -> list[Finding]:
    """The findings, those about rendered manifests moved to the template, values or origin file they
    came from when it is found below `roots` (`charts`: the charts prodready rendered, by rendered
    stream); the places on the way stay as related locations. A base that several overlays
    render gives the same finding at the same place several times: it is reported once."""
    origins = Origins(roots, charts)
    located: dict[tuple[str, Location, str], Finding] = {}
    for finding in findings:
        origin = origins.locate(finding.resource, finding.path) if finding.resource is not None else None
        if finding.resource is not None and finding.resource.instance is not None:
            origin = at_caller(finding.resource, finding.path, finding.location)
        if origin is not None and finding.resource is not None and finding.resource.instance is not None:
            location, via = origin
            finding = dataclasses.replace(finding, location=location, related=(*via, *finding.related))
        elif origin is not None:
            location, via = origin
            related = (*via, RelatedLocation(finding.location, "rendered manifest"), *finding.related)
            finding = dataclasses.replace(finding, location=location, related=related)
        located.setdefault((finding.rule.id, finding.location, finding.message), finding)
    return merge_instances(list(located.values()))
