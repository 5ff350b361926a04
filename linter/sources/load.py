"""The load stage: read each discovered file within its size limit and parse it into resources, input
problems and suppression comments. YAML is parsed here in one process; HCL across processes, from the
parse cache where it has a file."""

from __future__ import annotations

import gc
import hashlib
import os
import re
import stat
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from prodready.kustomization import ORIGIN_ANNOTATION, TRANSFORMATIONS_ANNOTATION
from prodready.model import INVALID_INPUT, STDIN, Location, Notification, Problem, Resource, SuppressionMark
from prodready.sources import suppression_comments

if TYPE_CHECKING:  # parsing HCL imports lark: only when there is Terraform
    from prodready.sources.hcl import HclFile
    from prodready.sources.terraform import TerraformModules

# python-hcl2 parses about 0.1 MB/s and needs some 200 bytes of memory per byte, growing faster than the
# file: a larger .tf file would take minutes and gigabytes. Real ones are a few kilobytes.
MAX_TERRAFORM_FILE_SIZE = 4 * 1024 * 1024

_TEMPLATE_MARKERS = re.compile(rb"\{\{.*?\}\}|\{%.*?%\}")

# Kinds whose contents no rule reads: only their identity is kept (CRDs are most of the bytes of a
# typical cluster bundle), which saves memory.
BODY_UNREAD_KINDS = frozenset({"CustomResourceDefinition", "Secret"})
_KEPT_KEYS = ("apiVersion", "kind", "metadata")


@dataclass
class Loaded:
    resources: list[Resource] = field(default_factory=list)
    problems: list[tuple[str, Problem]] = field(default_factory=list)  # (input rule ID, problem)
    comments: list[SuppressionMark] = field(default_factory=list)
    notifications: list[Notification] = field(default_factory=list)
    terraform: TerraformModules | None = None  # for the instantiate stage

    def add(self, other: Loaded) -> None:
        self.resources.extend(other.resources)
        self.problems.extend(other.problems)
        self.comments.extend(other.comments)
        self.notifications.extend(other.notifications)
        self.terraform = other.terraform or self.terraform


@dataclass(frozen=True)
class TerraformInput:
    var_files: list[str]  # --var-file, in order: later files win
    jobs: int  # processes that parse HCL
    cache: bool  # read and write the parse cache


def read_source(
    path: str, max_size: int, stdin: Callable[[int], bytes], limit: str = "--max-file-size"
) -> bytes | Problem:
    """The bytes of a file, or the problem that kept them from being read. `stdin(n)` reads at most n
    bytes of standard input: input over the limit is never held whole."""

    def unreadable(message: str) -> Problem:
        return Problem(message, location=Location(path, 1, 1))

    if path == STDIN:
        data = stdin(max_size + 1)
    else:
        try:
            status = os.stat(path)
            if not stat.S_ISREG(status.st_mode):  # a FIFO or device would block or never end
                return unreadable("not a regular file (a pipe, socket or device): not read")
            if status.st_size > max_size:
                return unreadable(
                    f"file is {status.st_size / 2**20:.1f} MB, over the {max_size / 2**20:g} MB limit ({limit})"
                )
            with open(path, "rb") as handle:
                data = handle.read(max_size + 1)
        except OSError as error:
            return unreadable(f"cannot read file: {error.strerror or error}")
    if len(data) > max_size:
        return unreadable(f"input is over the {max_size / 2**20:g} MB limit ({limit})")
    return data


def load_yaml(
    path: str,
    max_size: int,
    stdin: Callable[[int], bytes] = lambda limit: b"",
    templates_are_errors: bool = False,
) -> Loaded:
    """One YAML file's resources, input problems and suppression comments. A document that does not
    parse in a file with Go or Jinja template markers is a template, not a manifest: it is reported as
    not checked
    (unless `templates_are_errors`), not as invalid input; its other documents are still read."""
    data = read_source(path, max_size, stdin)
    if isinstance(data, Problem):
        return Loaded(problems=[(INVALID_INPUT, data)])
    from prodready.sources.yaml import load_manifests

    resources, problems = load_manifests(data, path)
    notifications = []
    lines = [
        problem.location.line for rule, problem in problems if rule == INVALID_INPUT and problem.location
    ]
    if lines and not templates_are_errors and _TEMPLATE_MARKERS.search(data):  # searched only after a failure
        problems = [(rule, problem) for rule, problem in problems if rule != INVALID_INPUT]
        where = ", ".join(map(str, lines))
        notifications.append(
            Notification(
                f"{path}: documents at line {where} were not checked: they hold template markers "
                "({{ }} or {% %}) and are not YAML until rendered; render them, or set "
                "`unrendered-templates: error` to fail on them",
                file=path,
            )
        )
    for resource in resources:
        if resource.kind in BODY_UNREAD_KINDS:
            for key in [key for key in resource.body if key not in _KEPT_KEYS]:
                del resource.body[key]
    return Loaded(resources, problems, suppression_comments(data, path), notifications)


def load_rendered(name: str, data: bytes) -> Loaded:
    """The manifests a chart or kustomization rendered to, read as one file named `name`; the build
    annotations prodready asked for move from each object's body to its `build_metadata`."""
    from prodready.sources.yaml import load_manifests

    resources, problems = load_manifests(data, name)
    for resource in resources:
        annotations = resource.metadata.get("annotations")
        if not isinstance(annotations, dict):
            continue
        for key in (ORIGIN_ANNOTATION, TRANSFORMATIONS_ANNOTATION):
            if isinstance(annotations.get(key), str):
                resource.build_metadata[key] = annotations.pop(key)
        if not annotations:
            del resource.metadata["annotations"]
    return Loaded(resources, problems, suppression_comments(data, name))


def parse_terraform_file(path: str, data: bytes) -> HclFile | Problem:
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


def _parse_all(named_data: list[tuple[str, bytes]], terraform: TerraformInput) -> list[HclFile | Problem]:
    """Parse HCL files, from the cache where it has them, the rest in parallel across `terraform.jobs`."""
    from prodready.cache import ParseCache
    from prodready.sources.hcl import HclFile

    cache = ParseCache("hcl") if terraform.cache else None
    results: list = [
        cache.get(data, HclFile) if cache else None for _, data in named_data
    ]  # None: not cached
    missing = [number for number, result in enumerate(results) if result is None]
    if terraform.jobs > 1 and len(missing) > 8:
        from concurrent.futures import ProcessPoolExecutor

        with ProcessPoolExecutor(max_workers=terraform.jobs) as pool:
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


def _installed_modules(directory: str) -> dict[str, str]:
    """What `terraform init` recorded in `.terraform/modules/modules.json`: module key → directory."""
    import json

    try:
        with open(os.path.join(directory, ".terraform", "modules", "modules.json"), "rb") as handle:
            entries = json.loads(handle.read(MAX_TERRAFORM_FILE_SIZE)).get("Modules", [])
    except (OSError, ValueError, AttributeError):
        return {}
    return {
        entry["Key"]: os.path.normpath(os.path.join(directory, entry["Dir"]))
        for entry in entries
        if isinstance(entry, dict)
        and isinstance(entry.get("Key"), str)
        and isinstance(entry.get("Dir"), str)
        and entry["Key"]
    }


def _module_files(directory: str) -> list[str]:
    try:
        names = sorted(os.listdir(directory))
    except OSError:
        return []
    return [os.path.join(directory, name) for name in names if name.endswith(".tf")]


def load_terraform(paths: list[str], max_size: int, terraform: TerraformInput) -> Loaded:
    """Every module directory among `paths`, each with all of its files, and every module they call
    that is on disk (a local path, or what `terraform init` installed)."""
    from prodready.sources.terraform import ModuleFile, TerraformModules, is_local_source, module_calls

    loaded = Loaded()
    modules = TerraformModules()
    size_limit = min(max_size, MAX_TERRAFORM_FILE_SIZE)
    limit = "--max-file-size" if size_limit == max_size else "the most any Terraform file is parsed"

    def parse(files: list[str]) -> dict[str, ModuleFile]:
        named_data: list[tuple[str, bytes]] = []
        for path in files:
            data = read_source(path, size_limit, lambda _: b"", limit)
            if isinstance(data, Problem):
                loaded.problems.append((INVALID_INPUT, data))
            else:
                named_data.append((path, data))
                loaded.comments.extend(suppression_comments(data, path))
        parsed = {}
        for (path, data), result in zip(named_data, _parse_all(named_data, terraform)):
            if isinstance(result, Problem):
                loaded.problems.append((INVALID_INPUT, result))
            else:
                parsed[path] = ModuleFile(path, result, hashlib.sha256(data).hexdigest())
        return parsed

    parsed = parse(paths + terraform.var_files)
    modules.var_files = [parsed[path] for path in terraform.var_files if path in parsed]
    for path in paths:
        if path in parsed:
            directory = os.path.normpath(os.path.dirname(path) or ".")
            modules.modules.setdefault(directory, []).append(parsed[path])
    modules.scanned = set(modules.modules)

    def called_from(directories: list[str]) -> list[str]:
        return [
            os.path.normpath(os.path.join(directory, source))
            for directory in directories
            for _, _, source in module_calls(modules.modules.get(directory, []))
            if source is not None and is_local_source(source)
        ]

    pending = called_from(sorted(modules.scanned))
    for directory in sorted(modules.scanned):
        installed = _installed_modules(directory)
        if installed:
            modules.installed[directory] = installed
            pending += installed.values()
    seen = set(modules.modules)
    while pending:
        more = sorted(set(pending) - seen)
        seen |= set(more)
        found = parse([path for directory in more for path in _module_files(directory)])
        for path, module_file in found.items():
            modules.modules.setdefault(os.path.normpath(os.path.dirname(path)), []).append(module_file)
        pending = called_from(more)
    loaded.terraform = modules
    return loaded


def load(
    yaml_paths: list[str],
    terraform_paths: list[str],
    max_size: int,
    terraform: TerraformInput,
    stdin: Callable[[int], bytes] = lambda limit: b"",
    progress: Callable[[int, int], None] = lambda done, total: None,
    templates_are_errors: bool = False,
) -> Loaded:
    """Every file, YAML first, then Terraform; `progress(done, total)` after each file."""
    loaded = Loaded()
    total = len(yaml_paths) + len(terraform_paths)
    # Loading builds millions of dicts and lists and no cycles: the cyclic collector would only walk
    # the growing heap again and again (a third of the time at ten times the corpus).
    collecting = gc.isenabled()
    gc.disable()
    try:
        for done, path in enumerate(yaml_paths, start=1):
            loaded.add(load_yaml(path, max_size, stdin, templates_are_errors))
            progress(done, total)
        if terraform_paths or terraform.var_files:
            loaded.add(load_terraform(terraform_paths, max_size, terraform))
            progress(total, total)
    finally:
        if collecting:
            gc.freeze()  # what was loaded stays for the whole scan: later collections need not walk it
            gc.enable()
    return loaded
