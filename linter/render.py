"""The render stage: Helm charts and Kustomize roots become manifests through the user's own engines
(`helm template`, `kustomize build` or `kubectl kustomize`), offline, in parallel, cached by a hash of
everything they read.

Kustomize is asked for origin annotations through a wrapper kustomization, so that findings can point at
the base file an object came from; Helm writes `# Source:` comments itself."""

from __future__ import annotations

import hashlib
import os
import re
import shutil
import subprocess
import tempfile
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

from prodready import DEFAULT_MAX_FILE_SIZE_MB, embedded_helm
from prodready.discover import Unit
from prodready.helm import dependency_position
from prodready.kustomization import KUSTOMIZATION_FILES
from prodready.model import INVALID_INPUT, Location, Notification, Problem
from prodready.sources import lines_of

RENDER_TIMEOUT = 120  # seconds for one chart or root: a template that loops must not hang the hook


@dataclass(frozen=True)
class RenderOptions:
    helm_values: tuple[str, ...] = ()  # -f files for every chart, in order: later files win
    helm_set: tuple[str, ...] = ()  # --set KEY=VALUE for every chart
    # one chart's own -f files and --set values, after those for every chart, by its real path
    charts: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = field(default_factory=dict)
    ci_values: bool = False  # also render each chart with each of its ci/*-values.yaml (chart-testing)
    jobs: int = 1
    cache: bool = True
    max_size: int = DEFAULT_MAX_FILE_SIZE_MB * 2**20  # larger rendered output is reported, not read


@dataclass
class Rendering:
    """What one unit rendered to: the manifests as `helm template` or `kustomize build` printed them (None
    when it did not render), or the problem that kept it from rendering."""

    unit: Unit
    name: str  # how findings name the rendered stream
    values: tuple[str, ...] = ()  # the values files given to helm, in order (the chart's own comes first)
    data: bytes | None = None
    problems: list[tuple[str, Problem]] = field(default_factory=list)
    notifications: list[Notification] = field(default_factory=list)


def _engine(kind: str) -> tuple[list[str], str] | None:
    """The command that renders a unit of this kind, and which binary it is (part of the cache key); for
    Helm without a binary, the embedded engine (no command) if it is installed."""
    if kind == "helm":
        helm = shutil.which("helm")
        if helm is not None:
            return [helm, "template"], _identity(helm)
        embedded = embedded_helm.location()
        return ([], _identity(embedded)) if embedded else None
    kustomize = shutil.which("kustomize")
    if kustomize is not None:
        return [kustomize, "build"], _identity(kustomize)
    kubectl = shutil.which("kubectl")
    if kubectl is not None:
        return [kubectl, "kustomize"], _identity(kubectl)
    return None


def _identity(binary: str) -> str:
    """The binary's (or the embedded engine's package's) path, size and modification time: another
    version is another file, and asking the binary for its version would cost a process start on every
    run."""
    status = os.stat(binary)
    return f"{os.path.realpath(binary)}:{status.st_size}:{status.st_mtime_ns}"


def _files_below(directory: str) -> Iterable[str]:
    for top, subdirectories, names in os.walk(directory):
        subdirectories.sort()
        for name in sorted(names):
            yield os.path.join(top, name)


def _content_hash(parts: Iterable[str], files: Iterable[str]) -> str:
    digest = hashlib.sha256()
    for part in parts:
        digest.update(part.encode() + b"\0")
    for path in sorted(set(files)):
        digest.update(path.encode() + b"\0")
        try:
            with open(path, "rb") as handle:
                digest.update(hashlib.sha256(handle.read()).digest())
        except OSError:
            digest.update(b"unreadable")
    return digest.hexdigest()


def _cache_path(key: str) -> str:
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return os.path.join(base, "prodready", "render", key[:2], key)


def _cached(key: str) -> bytes | None:
    try:
        with open(_cache_path(key), "rb") as handle:
            return handle.read()
    except OSError:
        return None


def _store(key: str, data: bytes) -> None:
    path = _cache_path(key)
    try:
        os.makedirs(os.path.dirname(path), exist_ok=True)
        handle, temporary = tempfile.mkstemp(dir=os.path.dirname(path))
        with os.fdopen(handle, "wb") as stream:
            stream.write(data)
        os.replace(temporary, path)
    except OSError:
        pass  # a cache that cannot be written only costs the next run a render


# `template: shop/templates/deployment.yaml:12:3: executing …` or `parse error at (shop/templates/x.yaml:5)`
_HELM_PLACE = re.compile(
    r"(?P<file>[\w.\-]+(?:/charts/[\w.\-]+)*/templates/[^\s:()]+):(?P<line>\d+)(?::(?P<column>\d+))?"
)
_HELM_MISSING = re.compile(r"missing in charts/ directory: (?P<names>[\w.\-, ]+)")


def _helm_problem(unit: Unit, message: str) -> Problem:
    """PR001 at the template line helm names, at the missing dependency's line of Chart.yaml, else at
    Chart.yaml's first line."""
    text = f"the chart does not render: {message}"
    place = _HELM_PLACE.search(message)
    if place:
        inside_chart = place.group("file").split("/", 1)[1]
        path = os.path.join(unit.directory, inside_chart)
        if os.path.isfile(path):
            location = Location(path, int(place.group("line")), int(place.group("column") or 1))
            return Problem(text, location=location)
    chart_file = os.path.join(unit.directory, "Chart.yaml")
    missing = _HELM_MISSING.search(message)
    if missing:
        name = missing.group("names").split(",")[0].strip()
        text += " (vendor it with `helm dependency build` before scanning: prodready never downloads)"
        return Problem(text, location=Location(chart_file, *dependency_position(chart_file, name)))
    return Problem(text, location=Location(chart_file, 1, 1))


def _error_text(message: str) -> str:
    lines = [line.strip() for line in message.splitlines() if line.strip()]
    text = " ".join(line for line in lines if not line.startswith("Use --debug"))
    return text.removeprefix("Error: ").removeprefix("template: ")[:2000]


def _run(command: list[str], directory: str | None = None) -> tuple[bytes | None, str]:
    environment = {**os.environ, "HELM_NO_PLUGINS": "1"}
    try:
        completed = subprocess.run(
            command, capture_output=True, timeout=RENDER_TIMEOUT, cwd=directory, env=environment
        )
    except subprocess.TimeoutExpired:
        return None, f"did not finish in {RENDER_TIMEOUT} s"
    except OSError as error:
        return None, f"could not run {command[0]}: {error.strerror or error}"
    if completed.returncode != 0:
        stderr = completed.stderr.decode("utf-8", "replace")
        return None, _error_text(stderr) or f"{command[0]} exited with {completed.returncode}"
    return completed.stdout, ""


_RELEASE_NAME = re.compile(r"[a-z0-9]([-a-z0-9]{0,51}[a-z0-9])?")  # what helm accepts as a release name


def _ci_values(chart: Unit) -> list[str]:
    directory = os.path.join(chart.directory, "ci")
    try:
        names = sorted(os.listdir(directory))
    except OSError:
        return []
    return [os.path.join(directory, name) for name in names if name.endswith(("-values.yaml", "-values.yml"))]


def _render_chart(
    unit: Unit, variant: str | None, options: RenderOptions, engine: tuple[list[str], str]
) -> Rendering:
    command, version = engine
    name = os.path.basename(os.path.abspath(unit.directory))
    if not _RELEASE_NAME.fullmatch(name):
        name = "release-name"  # what helm calls a release it is given no name for
    own_values, own_set = options.charts.get(os.path.realpath(unit.directory), ((), ()))
    values = [*options.helm_values, *own_values, *([variant] if variant else [])]
    settings = [*options.helm_set, *own_set]
    arguments = [*command, name, unit.directory]
    for path in values:
        arguments += ["-f", path]
    for setting in settings:
        arguments += ["--set", setting]
    label = f" -f {os.path.relpath(variant, unit.directory)}" if variant else ""
    rendering = Rendering(unit, f"{unit.directory} (helm template{label})", tuple(values))
    key = _content_hash([version, *arguments], [*_files_below(unit.directory), *values])

    def produce() -> tuple[bytes | None, str]:
        if command:
            return _run(arguments)
        data, error = embedded_helm.template(unit.directory, name, values, settings)
        return data, _error_text(error)

    rendering.data, error = _through_cache(key, options.cache, produce)
    if rendering.data is None:
        rendering.problems.append((INVALID_INPUT, _helm_problem(unit, error)))
    return rendering


_ORIGIN_BLOCK = re.compile(
    r"(config\.kubernetes\.io/origin|alpha\.config\.kubernetes\.io/transformations): \|"
)
_RELATIVE_PATH = re.compile(r"^(\s*-?\s*(?:path|configuredIn): )(\.\.?/\S+)\s*$")


def _absolute_origins(data: bytes, wrapper: str) -> bytes:
    """Origin and transformer annotations name files relative to the wrapper kustomization: make them
    absolute, so that locate finds the files wherever the scan runs."""
    lines = data.decode("utf-8", "replace").split("\n")
    inside = None  # indentation of the annotation whose block we are in
    for number, line in enumerate(lines):
        indent = len(line) - len(line.lstrip())
        if inside is not None and (indent <= inside or not line.strip()):
            inside = None
        if inside is not None:
            match = _RELATIVE_PATH.match(line)
            if match:
                lines[number] = match.group(1) + os.path.normpath(os.path.join(wrapper, match.group(2)))
        elif _ORIGIN_BLOCK.search(line):
            inside = indent
    return "\n".join(lines).encode()


_ACCUMULATION = re.compile(r"recursed accumulation of path '([^']*)': ")
_MISSING = re.compile(r"lstat (?P<path>\S+): no such file or directory")


def _kustomize_problem(unit: Unit, message: str) -> Problem:
    """PR001 at the line of the kustomization that names a file that does not exist, kustomize's most
    common complaint (often a generated file not committed); else at the root's kustomization file."""
    missing = _MISSING.search(message)
    if missing:
        path = missing.group("path")
        for file in unit.reads:
            if os.path.basename(file) not in KUSTOMIZATION_FILES:
                continue
            reference = os.path.relpath(path, os.path.dirname(file))
            # The entry that names the missing path, or a file inside it (`configurations: [dir/x.yaml]`).
            entry = re.compile(rf"(?:^|[\s'\"])({re.escape(reference)}(?:/[^\s'\"]*)?)(?:['\"\s]|$)")
            for number, line in enumerate(lines_of(file), start=1):
                named = entry.search(line)
                if named:
                    text = f"the kustomization does not build: {named.group(1)} does not exist (generated and not committed?)"
                    return Problem(text, location=Location(os.path.relpath(file), number, named.start(1) + 1))
    # kustomize wraps the cause in one "accumulating resources" clause per level of the tree.
    *_, directory, cause = [""] + _ACCUMULATION.split(message)
    where = f"in {directory}: " if directory else ""
    return Problem(
        f"the kustomization does not build: {where}{cause}",
        location=Location(os.path.relpath(unit.file), 1, 1),
    )


def _render_kustomization(unit: Unit, options: RenderOptions, engine: tuple[list[str], str]) -> Rendering:
    command, version = engine
    rendering = Rendering(unit, f"{unit.directory} (kustomize build)")
    if unit.remote:
        rendering.notifications.append(
            Notification(
                f"{unit.directory} was not rendered: it references remote resources "
                f"({', '.join(unit.remote[:3])}), and prodready never downloads; its files were read as plain manifests",
                file=unit.directory,
            )
        )
        return rendering
    key = _content_hash([version, *command], unit.reads)
    rendering.data, error = _through_cache(key, options.cache, lambda: _build(unit, command))
    if rendering.data is None:
        rendering.problems.append((INVALID_INPUT, _kustomize_problem(unit, error)))
    return rendering


def _build(unit: Unit, command: list[str]) -> tuple[bytes | None, str]:
    """`kustomize build` of the root through a wrapper kustomization that asks for origin annotations."""
    with tempfile.TemporaryDirectory(prefix="prodready-") as wrapper:
        relative = os.path.relpath(os.path.abspath(unit.directory), wrapper)
        with open(os.path.join(wrapper, "kustomization.yaml"), "w", encoding="utf-8") as handle:
            handle.write(
                f"resources:\n- {relative}\nbuildMetadata: [originAnnotations, transformerAnnotations]\n"
            )
        data, error = _run([*command, wrapper])
        if data is None:  # name the user's paths as they would, not through the wrapper
            error = error.replace(f"'{relative}'", f"'{unit.directory}'")
            error = error.replace(os.getcwd() + os.sep, "").replace(f"'{os.getcwd()}'", "'.'")
        return (_absolute_origins(data, wrapper) if data is not None else None), error


def _through_cache(
    key: str, cache: bool, produce: Callable[[], tuple[bytes | None, str]]
) -> tuple[bytes | None, str]:
    """The output cached under `key`, else what `produce` makes (stored when it succeeds), and its error."""
    data = _cached(key) if cache else None
    if data is not None:
        return data, ""
    data, error = produce()
    if data is not None and cache:
        _store(key, data)
    return data, error


def render(units: list[Unit], options: RenderOptions) -> list[Rendering]:
    """Every unit rendered, in the order given (with `ci_values`, each chart also once per ci/ values
    file); units whose engine is not installed come back without data and with a note saying how to get
    it. A chart that renders with some ci/ values file but not with its defaults (a value it requires)
    is noted, not reported as broken."""

    engines = {kind: _engine(kind) for kind in sorted({unit.kind for unit in units})}

    def one(job: tuple[Unit, str | None]) -> Rendering:
        unit, variant = job
        engine = engines[unit.kind]
        if engine is None:
            wanted = (
                "helm is not installed (put it on PATH, or install prodready[helm] to render in-process)"
                if unit.kind == "helm"
                else "kustomize or kubectl is not installed (put it on PATH)"
            )
            rendering = Rendering(unit, unit.directory)
            rendering.notifications.append(
                Notification(
                    f"{unit.directory} was not rendered: {wanted}; its files were read as plain manifests",
                    file=unit.directory,
                )
            )
            return rendering
        if unit.kind == "helm":
            rendering = _render_chart(unit, variant, options, engine)
        else:
            rendering = _render_kustomization(unit, options, engine)
        if rendering.data is not None and len(rendering.data) > options.max_size:
            size, limit = len(rendering.data) / 2**20, options.max_size / 2**20
            message = f"rendered output is {size:.3g} MB, over the {limit:.3g} MB limit (--max-file-size)"
            rendering.data = None
            rendering.problems.append((INVALID_INPUT, Problem(message, location=Location(unit.file, 1, 1))))
        return rendering

    jobs: list[tuple[Unit, str | None]] = []
    for unit in units:
        jobs.append((unit, None))
        if unit.kind == "helm" and options.ci_values and engines[unit.kind]:
            jobs += [(unit, variant) for variant in _ci_values(unit)]
    if options.jobs > 1 and len(jobs) > 1:
        with ThreadPoolExecutor(max_workers=options.jobs) as pool:
            renderings = list(pool.map(one, jobs))
    else:
        renderings = [one(job) for job in jobs]
    rendered = {id(r.unit) for r in renderings if r.data is not None}
    for rendering in renderings:
        if rendering.problems and not rendering.values and id(rendering.unit) in rendered:
            rendering.notifications += [
                Notification(
                    f"{problem.message} (with its default values; its ci/ values render)",
                    file=rendering.unit.file,
                )
                for _, problem in rendering.problems
            ]
            rendering.problems = []
    return renderings
