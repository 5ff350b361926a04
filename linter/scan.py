"""One scan, stage after stage: discover → load → index → rules → suppress (the caller reports)."""

from __future__ import annotations

import gc
import os
import stat
from collections.abc import Callable
from dataclasses import dataclass, field

from prodready import engine, suppress
from prodready.config import Config
from prodready.discover import STDIN, SourceFile, discover
from prodready.index import Index
from prodready.model import (
    Finding,
    Level,
    Location,
    Notification,
    Problem,
    Resource,
    RuleMeta,
    Scope,
    SuppressionMark,
)
from prodready.origins import Origins
from prodready.registry import all_rules
from prodready.sources import suppression_comments

DEFAULT_MAX_FILE_SIZE = 50 * 1024 * 1024
# python-hcl2 parses about 0.1 MB/s and needs some 200 bytes of memory per byte, growing faster than the
# file: a larger .tf file would take minutes and gigabytes. Real ones are a few kilobytes.
MAX_TERRAFORM_FILE_SIZE = 4 * 1024 * 1024


class UnknownRule(Exception):
    pass


@dataclass
class ScanResult:
    findings: list[Finding]
    notifications: list[Notification]
    rules: list[RuleMeta]  # the rules that ran
    files: int
    resources: int
    checked: dict[str, int]  # rule ID → resources it was run on


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
    config: Config = field(default_factory=Config)
    baseline: str | None = None
    report_files: list[str] | None = None  # report only findings in these files; scan their units as context

    @property
    def size_limit(self) -> int:
        if self.max_file_size is not None:
            return self.max_file_size
        configured = self.config.get("max-file-size")
        return int(configured * 2**20) if configured else DEFAULT_MAX_FILE_SIZE


def _matches(meta: RuleMeta, key: str, exact_only: bool) -> bool:
    key = key.strip()
    if key.upper() == meta.id or key.lower() == meta.name:
        return True
    return not exact_only and key.upper() != "" and meta.id.startswith(key.upper())


def choose_rules(
    select: list[str], ignore: list[str], levels: dict[str, str] | None = None
) -> list[tuple[RuleMeta, Level]]:
    """The rules to run, with their levels. `select` narrows to rules whose ID starts with, or equals, a
    given code, or whose name is given; naming a rule exactly also turns on a rule that is off by
    default. `ignore` removes. `levels` (from the configuration) sets a rule's level; `off` removes it,
    any other level turns it on."""
    rules = all_rules()
    levels = levels or {}
    for key in [*select, *ignore, *levels]:
        if not any(_matches(meta, key, exact_only=False) for meta in rules):
            raise UnknownRule(key)
    chosen = []
    for meta in rules:
        configured = next(
            (Level.parse(level) for key, level in levels.items() if _matches(meta, key, exact_only=True)),
            None,
        )
        if select:
            exact = any(_matches(meta, key, exact_only=True) for key in select)
            wanted = exact or (
                (meta.default_on or configured)
                and any(_matches(meta, key, exact_only=False) for key in select)
            )
        else:
            wanted = meta.default_on or configured is not None
        if configured is Level.OFF or any(_matches(meta, key, exact_only=False) for key in ignore):
            wanted = False
        if wanted:
            chosen.append((meta, configured or meta.level))
    return chosen


def read_source(
    source: SourceFile, max_size: int, stdin: Callable[[int], bytes], limit: str = "--max-file-size"
) -> bytes | Problem:
    """The bytes of a file, or the problem that kept them from being read. `stdin(n)` reads at most n
    bytes of standard input: input over the limit is never held whole."""

    def unreadable(message: str) -> Problem:
        return Problem(message, location=Location(source.path, 1, 1))

    if source.path == STDIN:
        data = stdin(max_size + 1)
    else:
        try:
            status = os.stat(source.path)
            if not stat.S_ISREG(status.st_mode):  # a FIFO or device would block or never end
                return unreadable("not a regular file (a pipe, socket or device): not read")
            if status.st_size > max_size:
                return unreadable(
                    f"file is {status.st_size / 2**20:.1f} MB, over the {max_size / 2**20:g} MB limit ({limit})"
                )
            with open(source.path, "rb") as handle:
                data = handle.read(max_size + 1)
        except OSError as error:
            return unreadable(f"cannot read file: {error.strerror or error}")
    if len(data) > max_size:
        return unreadable(f"input is over the {max_size / 2**20:g} MB limit ({limit})")
    return data


# Kinds whose contents no rule reads: only their identity is kept (CRDs are most of the bytes of a
# typical cluster bundle), which saves memory.
BODY_UNREAD_KINDS = frozenset({"CustomResourceDefinition", "Secret"})
_KEPT_KEYS = ("apiVersion", "kind", "metadata")


def load_yaml(
    source: SourceFile, max_size: int, stdin: Callable[[int], bytes] = lambda limit: b""
) -> tuple[list[Resource], list[tuple[str, Problem]], list[SuppressionMark]]:
    """One YAML file's resources, input problems and suppression comments."""
    data = read_source(source, max_size, stdin)
    if isinstance(data, Problem):
        return [], [("PR001", data)], []
    from prodready.sources.yaml import load_manifests

    resources, problems = load_manifests(data, source.path)
    for resource in resources:
        if resource.kind in BODY_UNREAD_KINDS:
            for key in [key for key in resource.body if key not in _KEPT_KEYS]:
                del resource.body[key]
    return resources, problems, suppression_comments(data, source.path)


def parse_terraform_file(path: str, data: bytes):
    """An HclFile, or the PR001 problem that kept the file from parsing. Runs in worker processes."""
    from prodready.sources import text_problem
    from prodready.sources.hcl import HclSyntaxError, parse_hcl

    problem = text_problem(data)
    if problem:
        message, line, column = problem
        return Problem(message, location=Location(path, line, column))
    try:
        return parse_hcl(data.decode("utf-8-sig"))
    except HclSyntaxError as error:
        return Problem(f"invalid HCL: {error}", location=Location(path, error.line, error.column))


def _parse_all(named_data: list[tuple[str, bytes]], options: ScanOptions) -> list:
    """Parse HCL files, from the cache where it has them, the rest in parallel across `options.jobs`."""
    from prodready.cache import ParseCache
    from prodready.sources.hcl import HclFile

    cache = ParseCache("hcl") if options.cache else None
    results: list = [cache.get(data, HclFile) if cache else None for _, data in named_data]
    missing = [number for number, result in enumerate(results) if result is None]
    if options.jobs > 1 and len(missing) > 8:
        from concurrent.futures import ProcessPoolExecutor

        with ProcessPoolExecutor(max_workers=options.jobs) as pool:
            parsed = pool.map(parse_terraform_file, *zip(*(named_data[n] for n in missing)), chunksize=4)
            for number, result in zip(missing, parsed):
                results[number] = result
    else:
        for number in missing:
            results[number] = parse_terraform_file(*named_data[number])
    if cache:
        for number in missing:
            if isinstance(results[number], HclFile):
                cache.put(named_data[number][1], results[number])
    return results


def load_terraform(
    sources: list[SourceFile], options: ScanOptions
) -> tuple[list[Resource], list[tuple[str, Problem]], list[SuppressionMark]]:
    """Every module directory among `sources`, each loaded with all of its files."""
    from prodready.sources.terraform import ModuleFile, load_module

    problems: list[tuple[str, Problem]] = []
    comments: list[SuppressionMark] = []
    named_data: list[tuple[str, bytes]] = []
    for path in [source.path for source in sources] + options.var_files:
        size_limit = min(options.size_limit, MAX_TERRAFORM_FILE_SIZE)
        limit = (
            "--max-file-size" if size_limit == options.size_limit else "the most any Terraform file is parsed"
        )
        data = read_source(SourceFile(path, "terraform"), size_limit, lambda _: b"", limit)
        if isinstance(data, Problem):
            problems.append(("PR001", data))
        else:
            named_data.append((path, data))
            comments.extend(suppression_comments(data, path))
    parsed: dict[str, ModuleFile] = {}
    for (path, _), result in zip(named_data, _parse_all(named_data, options)):
        if isinstance(result, Problem):
            problems.append(("PR001", result))
        else:
            parsed[path] = ModuleFile(path, result)
    var_files = [parsed[path] for path in options.var_files if path in parsed]
    modules: dict[str, list[ModuleFile]] = {}
    for source in sources:
        if source.path in parsed:
            modules.setdefault(os.path.dirname(source.path) or ".", []).append(parsed[source.path])
    resources = []
    for directory, files in modules.items():
        try:
            resources.extend(load_module(directory, files, var_files))
        except RecursionError:
            location = Location(files[0].path, 1, 1)
            problems.append(
                (
                    "PR001",
                    Problem("nested too deeply to evaluate; the module was not checked", location=location),
                )
            )
    return resources, problems, comments


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
    )
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
    )
    resources: list[Resource] = []
    problems = list(discovery.problems)
    comments: list[SuppressionMark] = []
    yaml_sources = [source for source in discovery.files if source.kind == "yaml"]
    terraform_sources = [source for source in discovery.files if source.kind == "terraform"]
    # Loading builds millions of dicts and lists and no cycles: the cyclic collector would only walk
    # the growing heap again and again (a third of the time at ten times the corpus).
    collecting = gc.isenabled()
    gc.disable()
    try:
        for done, source in enumerate(yaml_sources, start=1):
            loaded, found, marks = load_yaml(source, options.size_limit, stdin)
            resources.extend(loaded)
            problems.extend(found)
            comments.extend(marks)
            progress(done, len(discovery.files))
        if terraform_sources or options.var_files:
            loaded, found, marks = load_terraform(terraform_sources, options)
            resources.extend(loaded)
            problems.extend(found)
            comments.extend(marks)
            progress(len(discovery.files), len(discovery.files))
    finally:
        if collecting:
            gc.freeze()  # what was loaded stays for the whole scan: later collections need not walk it
            gc.enable()
    index = Index(resources, problems, config.options)
    origins = Origins(
        options.chart_roots
        + [p if os.path.isdir(p) else os.path.dirname(p) or "." for p in paths if p != "-"]
        + ["."]
    )
    findings, failures, checked = engine.run(rules, index, origins)

    baseline = (options.baseline, suppress.read_baseline(options.baseline)) if options.baseline else None
    findings, unused = suppress.apply(findings, resources, comments, config, baseline)
    ran = {name for meta, _ in rules for name in (meta.id, meta.name)}
    unused = [
        (mark, tuple(rule for rule in names if rule in ran or rule.upper() in ran)) for mark, names in unused
    ]
    for meta, level in rules:
        if meta.scope is Scope.SUPPRESSIONS:
            findings.extend(
                engine.to_finding(meta, level, problem) for problem in meta.check([u for u in unused if u[1]])
            )
    findings.sort(key=lambda finding: finding.sort_key)
    if options.report_files is not None:
        report_files = {os.path.abspath(path) for path in options.report_files}
        findings = [finding for finding in findings if _in_report_scope(finding, report_files)]
    return ScanResult(
        findings=findings,
        notifications=discovery.notifications + failures,
        rules=[meta for meta, _ in rules],
        files=len(discovery.files),
        resources=len(resources),
        checked=checked,
    )
