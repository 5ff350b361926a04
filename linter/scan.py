"""One scan, stage after stage: discover → render → load → instantiate → index → rules → suppress → locate
(the caller reports)."""

from __future__ import annotations

import os
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

from prodready import DEFAULT_MAX_FILE_SIZE_MB, engine, suppress
from prodready.config import Config
from prodready.discover import Unit, discover
from prodready.index import Index
from prodready.locate import RenderedChart, locate
from prodready.model import Finding, Level, Notification, Problem, Resource, RuleMeta, ScanResult
from prodready.registry import choose_rules
from prodready.render import Rendering, RenderOptions, render
from prodready.sources.load import Loaded, TerraformInput, load, load_rendered


@dataclass
class ScanOptions:
    """What the command line asked for; where it says nothing, the configuration file decides."""

    select: list[str] = field(default_factory=list)
    ignore: list[str] = field(default_factory=list)
    max_file_size: int | None = None
    var_files: list[str] = field(default_factory=list)
    jobs: int = field(default_factory=lambda: os.cpu_count() or 1)
    cache: bool = True
    chart_roots: list[str] = field(default_factory=list)
    helm_values: list[str] = field(default_factory=list)  # -f for every chart rendered
    helm_set: list[str] = field(default_factory=list)  # --set for every chart rendered
    helm_ci_values: bool = False  # also render each chart with each of its ci/*-values.yaml
    # one chart's own values files and --set values, besides those for every chart, by its real path
    helm_charts: dict[str, tuple[list[str], list[str]]] = field(default_factory=dict)
    config: Config = field(default_factory=Config)
    baseline: str | None = None
    report_files: list[str] | None = None  # report only findings in these files; scan their units as context

    @property
    def size_limit(self) -> int:
        if self.max_file_size is not None:
            return self.max_file_size
        return int(self.config.get("max-file-size", DEFAULT_MAX_FILE_SIZE_MB) * 2**20)


def chart_values(chart: Unit) -> list[str]:
    """The chart's own values file, which every other values file overrides."""
    path = os.path.join(chart.directory, "values.yaml")
    return [path] if os.path.isfile(path) else []


# What builds a unit's images at deploy time (skaffold.yaml): context for its rules, never a subject of them.
_BUILD_CONFIGURATIONS = {("skaffold", "Config")}


def _build_configurations_around(directory: str, plain: list[Resource]) -> list[Resource]:
    """The build configurations among the plain files in `directory` or a directory above it."""
    inside = os.path.abspath(directory)
    return [
        resource
        for resource in plain
        if resource.kind_key in _BUILD_CONFIGURATIONS
        and (inside + os.sep).startswith(
            os.path.dirname(os.path.abspath(resource.file)).rstrip(os.sep) + os.sep
        )
    ]


def _run_rules(
    rules: list[tuple[RuleMeta, Level]], units: list[tuple[Loaded, list[tuple[str, Problem]]]], options: dict
) -> tuple[list[Finding], list[Notification], dict[str, int]]:
    """The rules run over each unit with its own index; how many subjects each rule checked in all."""
    findings: list[Finding] = []
    failures: list[Notification] = []
    checked: dict[str, int] = {}
    for unit, problems in units:
        found, failed, counts = engine.run(rules, Index(unit.resources, problems), options)
        findings += found
        failures += failed
        for rule_id, count in counts.items():
            checked[rule_id] = checked.get(rule_id, 0) + count
    return findings, failures, checked


def _rendered_charts(renderings: list[Rendering]) -> dict[str, RenderedChart]:
    """The charts prodready rendered, by rendered stream, with the values files each was rendered with."""
    return {
        rendering.name: RenderedChart(
            rendering.unit.directory, [*chart_values(rendering.unit), *rendering.values]
        )
        for rendering in renderings
        if rendering.unit.kind == "helm"
    }


def _in_report_scope(finding: Finding, report_files: set[str]) -> bool:
    files = {finding.location.file} | ({finding.resource.file} if finding.resource is not None else set())
    return any(os.path.abspath(file) in report_files for file in files)


def scan(
    paths: list[str],
    options: ScanOptions,
    stdin: Callable[[int], bytes] = lambda limit: b"",
    progress: Callable[[int, int], None] = lambda done, total: None,
) -> ScanResult:
    config = options.config
    rules = choose_rules(
        options.select or config.get("select", []),
        config.get("ignore", []) + options.ignore,
        config.get("rules"),
        config.checks,
    )
    baseline = (options.baseline, suppress.read_baseline(options.baseline)) if options.baseline else None
    if options.report_files is not None:
        # Each reported file is checked in the context of its unit: the other files of its directory.
        paths = sorted(
            {os.path.dirname(path) or "." for path in options.report_files if os.path.exists(path)}
        )
    discovery = discover(
        paths,
        recursive=options.report_files is None,
        exclude=config.get("exclude", []),
        base=config.directory,
        context=os.getcwd() if options.report_files is not None else None,
    )
    render_options = RenderOptions(
        helm_values=tuple(options.helm_values),
        helm_set=tuple(options.helm_set),
        charts={chart: (tuple(v), tuple(s)) for chart, (v, s) in options.helm_charts.items()},
        ci_values=options.helm_ci_values,
        jobs=options.jobs,
        cache=options.cache,
        max_size=options.size_limit,
    )
    with ThreadPoolExecutor(max_workers=1) as background:
        pending = background.submit(render, discovery.units, render_options)
        if discovery.units:
            # Imported while the engines run rather than when their output is read: the YAML parser
            # takes about half as long to import as helm takes to render a small chart.
            from prodready.sources import yaml  # noqa: F401
        renderings = pending.result()
    not_rendered = [
        path for r in renderings if r.data is None and not r.problems for path in r.unit.manifests
    ]
    loaded = load(
        [source.path for source in discovery.files if source.kind == "yaml"] + not_rendered,
        [source.path for source in discovery.files if source.kind == "terraform"],
        options.size_limit,
        TerraformInput(options.var_files, options.jobs, options.cache),
        stdin,
        progress,
        templates_are_errors=config.get("unrendered-templates") == "error",
    )
    if loaded.terraform is not None:
        from prodready.instantiate import instantiate

        instantiated = instantiate(loaded.terraform, cache=options.cache)
        loaded.resources += instantiated.resources
        loaded.problems += instantiated.problems
        loaded.notifications += instantiated.notifications
    render_problems = [problem for rendering in renderings for problem in rendering.problems]
    # Each rendered chart or root is a unit of its own: its objects see only each other.
    units = [(loaded, discovery.problems + render_problems + loaded.problems)]
    for rendering in renderings:
        if rendering.data is not None:
            rendered = load_rendered(rendering.name, rendering.data)
            rendered.resources += _build_configurations_around(rendering.unit.directory, loaded.resources)
            units.append((rendered, rendered.problems))
    findings, failures, checked = _run_rules(rules, units, config.options)
    resources = list({id(r): r for unit, _ in units for r in unit.resources}.values())  # context ones once
    comments = [comment for unit, _ in units for comment in unit.comments]
    findings = suppress.apply(
        findings, rules, resources, comments, config.path_ignores(), config.directory, baseline
    )
    roots = options.chart_roots + [
        p if os.path.isdir(p) else os.path.dirname(p) or "." for p in paths if p != "-"
    ]
    roots += [os.path.dirname(os.path.abspath(unit.directory)) for unit in discovery.units]
    findings = locate(findings, [*roots, "."], _rendered_charts(renderings))
    if options.report_files is not None:
        report_files = {os.path.abspath(path) for path in options.report_files}
        findings = [finding for finding in findings if _in_report_scope(finding, report_files)]
    findings.sort(key=lambda finding: finding.sort_key)
    return ScanResult(
        findings=findings,
        notifications=[
            *discovery.notifications,
            *(n for r in renderings for n in r.notifications),
            *loaded.notifications,
            *failures,
        ],
        rules=[meta for meta, _ in rules],
        files=len(discovery.files)
        + len(not_rendered)
        + sum(1 for r in renderings if r.data is not None or r.problems),
        resources=len(resources),
        checked=checked,
    )
