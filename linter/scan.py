"""One scan, stage after stage: discover → load → index → rules → report (the caller reports)."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from typing import Callable

from prodready import engine
from prodready.discover import STDIN, SourceFile, discover
from prodready.index import Index
from prodready.model import Finding, Level, Location, Notification, Problem, Resource, RuleMeta
from prodready.registry import all_rules

DEFAULT_MAX_FILE_SIZE = 50 * 1024 * 1024


class UnknownRule(Exception):
    pass


@dataclass
class ScanResult:
    findings: list[Finding]
    notifications: list[Notification]
    rules: list[RuleMeta]  # the rules that ran
    files: int
    resources: int


@dataclass
class ScanOptions:
    select: list[str] = field(default_factory=list)
    ignore: list[str] = field(default_factory=list)
    max_file_size: int = DEFAULT_MAX_FILE_SIZE


def _matches(meta: RuleMeta, key: str, exact_only: bool) -> bool:
    key = key.strip()
    if key.upper() == meta.id or key.lower() == meta.name:
        return True
    return not exact_only and key.upper() != "" and meta.id.startswith(key.upper())


def choose_rules(select: list[str], ignore: list[str]) -> list[tuple[RuleMeta, Level]]:
    """The rules to run. `select` narrows to rules whose ID starts with, or equals, a given code, or whose
    name is given; naming a rule exactly also turns on a rule that is off by default. `ignore` removes."""
    rules = all_rules()
    for key in [*select, *ignore]:
        if not any(_matches(meta, key, exact_only=False) for meta in rules):
            raise UnknownRule(key)
    chosen = []
    for meta in rules:
        if select:
            exact = any(_matches(meta, key, exact_only=True) for key in select)
            wanted = exact or (meta.default_on and any(_matches(meta, key, exact_only=False) for key in select))
        else:
            wanted = meta.default_on
        if wanted and not any(_matches(meta, key, exact_only=False) for key in ignore):
            chosen.append((meta, meta.level))
    return chosen


def read_source(source: SourceFile, max_size: int, stdin: Callable[[], bytes]) -> bytes | Problem:
    """The bytes of a file, or the problem that kept them from being read."""
    def unreadable(message: str) -> Problem:
        return Problem(message, location=Location(source.path, 1, 1))

    if source.path == STDIN:
        data = stdin()
    else:
        try:
            size = os.path.getsize(source.path)
            if size > max_size:
                return unreadable(f"file is {size / 2**20:.1f} MB, over the {max_size / 2**20:g} MB limit (--max-file-size)")
            with open(source.path, "rb") as handle:
                data = handle.read(max_size + 1)
        except OSError as error:
            return unreadable(f"cannot read file: {error.strerror or error}")
    if len(data) > max_size:
        return unreadable(f"input is over the {max_size / 2**20:g} MB limit (--max-file-size)")
    return data


def load(source: SourceFile, max_size: int, stdin: Callable[[], bytes]) -> tuple[list[Resource], list[tuple[str, Problem]]]:
    data = read_source(source, max_size, stdin)
    if isinstance(data, Problem):
        return [], [("PR001", data)]
    from prodready.sources.yaml import load_manifests

    return load_manifests(data, source.path)


def scan(
    paths: list[str],
    options: ScanOptions,
    stdin: Callable[[], bytes] = lambda: b"",
    progress: Callable[[int, int], None] = lambda done, total: None,
) -> ScanResult:
    rules = choose_rules(options.select, options.ignore)
    discovery = discover(paths)
    resources: list[Resource] = []
    problems = list(discovery.problems)
    for done, source in enumerate(discovery.files, start=1):
        loaded, found = load(source, options.max_file_size, stdin)
        resources.extend(loaded)
        problems.extend(found)
        progress(done, len(discovery.files))
    index = Index(resources, problems)
    findings, failures = engine.run(rules, index)
    return ScanResult(
        findings=findings,
        notifications=discovery.notifications + failures,
        rules=[meta for meta, _ in rules],
        files=len(discovery.files),
        resources=len(resources),
    )
