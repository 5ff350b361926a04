"""The data every stage passes on: resources with positions, problems rules yield, findings reports print."""

from __future__ import annotations

import enum
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

KeyPath = tuple  # keys and indexes into a resource body, e.g. ("spec", "template", "spec", "containers", 0)

STDIN = "<stdin>"  # the file name of standard input in findings and reports

# The input rules: the loaders and the suppress stage report under these IDs.
INVALID_INPUT = "PR001"
DUPLICATE_KEY = "PR002"
NOT_AN_OBJECT = "PR003"
UNUSED_SUPPRESSION = "PR004"


class Level(enum.IntEnum):
    OFF = 0
    NOTE = 1
    WARNING = 2
    ERROR = 3

    @classmethod
    def parse(cls, text: str) -> Level:
        return cls[text.upper()]

    def __str__(self) -> str:
        return self.name.lower()


# (API group, kind) of a Kubernetes object ("" is the core group), or (None, type) of a Terraform block.
KindKey = tuple[str | None, str]


def kind_key(text: str) -> KindKey:
    """`apps/Deployment` → ("apps", "Deployment"), `Service` → ("", "Service"), `aws_db_instance` →
    (None, "aws_db_instance"): Kubernetes kinds start with a capital letter, Terraform types never do."""
    group, _, kind = text.rpartition("/")
    return (group, kind) if kind[:1].isupper() else (None, text)


class _Unknown:
    """A Terraform value that depends on input, a data source, another resource's attribute or a function
    that is not evaluated. A singleton; rules compare with `is UNKNOWN` and never fire on it."""

    _instance = None

    def __new__(cls) -> _Unknown:
        if cls._instance is None:
            cls._instance = super().__new__(cls)
        return cls._instance

    def __repr__(self) -> str:
        return "UNKNOWN"

    def __reduce__(self) -> tuple:
        return (_Unknown, ())


class _Absent:
    """A Terraform attribute or block that is not written (or written as `null`)."""

    _instance = None

    def __new__(cls) -> _Absent:
        if cls._instance is None:
            cls._instance = super().__new__(cls)
        return cls._instance

    def __repr__(self) -> str:
        return "ABSENT"

    def __bool__(self) -> bool:
        return False


UNKNOWN = _Unknown()
ABSENT = _Absent()


def is_unknown(data: Any) -> bool:
    """Whether UNKNOWN appears anywhere inside `data`."""
    if data is UNKNOWN:
        return True
    if isinstance(data, dict):
        return any(is_unknown(item) for item in data.values())
    if isinstance(data, list):
        return any(is_unknown(item) for item in data)
    return False


@dataclass(frozen=True, order=True)
class Location:
    """A 1-based line and column in a file, as the user named the file."""

    file: str
    line: int
    column: int


def mark(line: int, column: int) -> int:
    """A position packed in one integer: a million of them cost a third of as many tuples."""
    return line << 32 | column


class Positions:
    """Where each key and item of a parsed document starts.

    Keyed by the identity of the dict or list that holds the key or item, so a path is resolved by
    walking the body and this table side by side; no second tree is built. Positions are `mark()`s.
    """

    __slots__ = ("file", "table")

    def __init__(self, file: str) -> None:
        self.file = file
        self.table: dict[int, Any] = {}

    def locate(self, body: Any, path: KeyPath, fallback: Location) -> Location:
        """The position of `path` inside `body`, or of its nearest ancestor that exists."""
        found = fallback
        node = body
        for step in path:
            marks = self.table.get(id(node))
            if marks is None:
                break
            try:
                line, column = divmod(marks[step], 1 << 32)
            except (KeyError, IndexError, TypeError):
                break
            found = Location(self.file, line, column)
            try:
                node = node[step]
            except (KeyError, IndexError, TypeError):  # written, but with no value (Terraform's `x = null`)
                break
        return found


class _Defaulted:
    """Where a value comes from when it is a child module variable's default that no caller set."""

    def __repr__(self) -> str:
        return "DEFAULTED"

    def __reduce__(self) -> str:
        return "DEFAULTED"  # unpickled as this module's DEFAULTED


DEFAULTED = _Defaulted()


@dataclass(eq=False)
class TerraformInstance:
    """Where one instance of a Terraform resource sits in its configuration (a root module and all it
    calls), and where the values of its body were written."""

    configuration: str  # the root module's directory
    prefix: str  # the module instance: "" in the root, `module.db`, `module.queue["invoices"].module.dlq`
    key: str  # its own `[0]` or `["name"]` under count or for_each, else ""
    known: bool  # False when a count or for_each on the way is unknown: it may not exist, no rule judges it
    anchor: Location | None  # the outermost module call (or the element of its for_each) that creates it
    editable: bool  # its module is in the scanned tree: its own lines are lines people edit
    # Like Positions.table: for a key of a body dict, the caller's argument that wrote its value, or
    # DEFAULTED when it is a child variable's default; keys written in the module itself are not there.
    origins: dict[int, dict] = field(default_factory=dict)


@dataclass(eq=False)
class Resource:
    """One Kubernetes object or one Terraform block (resource, data source, module call), its body as
    plain Python data, and a way back to its source.

    A Kubernetes object has an `api_version` and maybe a `namespace`; a Terraform block has the `module`
    directory it is written in, and its `kind` is its type (`aws_db_instance`, `data.aws_iam_policy_document`,
    `module`)."""

    kind: str
    name: str
    body: dict
    file: str
    start: Location
    positions: Positions = field(repr=False)
    api_version: str = ""
    namespace: str | None = None
    module: str | None = None
    references: frozenset[str] = frozenset()  # Terraform addresses this resource mentions
    helm_source: str | None = None  # `<chart>/templates/<file>` from helm's `# Source:` comment
    instance: TerraformInstance | None = None
    # What `kustomize build` records of where an object came from, taken out of the annotations of
    # what prodready rendered, so that rules and custom checks see the object as it is deployed.
    build_metadata: dict[str, str] = field(default_factory=dict)

    @property
    def group(self) -> str | None:
        """The API group of a Kubernetes object ("" for the core group); None for Terraform."""
        if self.module is not None:
            return None
        return self.api_version.rpartition("/")[0]

    @property
    def kind_key(self) -> KindKey:
        return (self.group, self.kind)

    @property
    def base_address(self) -> str:
        """A Terraform block's address in its configuration without its own instance key:
        `aws_db_instance.main`, `module.db.aws_db_instance.this`, `module.vpc`."""
        prefix = self.instance.prefix + "." if self.instance and self.instance.prefix else ""
        return f"{prefix}{self.kind}.{self.name}"

    @property
    def address(self) -> str:
        """A Terraform instance's address: `aws_db_instance.main`, `module.queue["a"].aws_sqs_queue.this[0]`."""
        return self.base_address + (self.instance.key if self.instance else "")

    @property
    def identity(self) -> str:
        """Stable across edits that move the resource: kind, namespace (or module) and name, or a Terraform
        instance's configuration and address; never a line."""
        identity = f"{self.kind}/{self.namespace or self.module or ''}/{self.name}"
        if self.instance is not None and (self.instance.prefix or self.instance.key):
            return f"{identity}/{self.instance.configuration}/{self.address}"
        return identity

    @property
    def metadata(self) -> dict:
        metadata = self.body.get("metadata")
        return metadata if isinstance(metadata, dict) else {}

    def build_annotation(self, key: str) -> Any:
        """A `kustomize build` annotation: from what prodready took out of a rendered object, or as
        written in rendered output given to it."""
        if key in self.build_metadata:
            return self.build_metadata[key]
        annotations = self.metadata.get("annotations")
        return annotations.get(key) if isinstance(annotations, dict) else None

    def locate(self, path: KeyPath) -> Location:
        return self.positions.locate(self.body, path, self.start)

    def __str__(self) -> str:
        return f"{self.kind} {self.name}"


NAME_PATH: KeyPath = ("metadata", "name")


@dataclass(frozen=True)
class Problem:
    """What a rule yields: a message about a place in a resource, or about a place in a file."""

    message: str
    resource: Resource | None = None
    path: KeyPath = NAME_PATH
    related: tuple[tuple[Resource, KeyPath], ...] = ()
    location: Location | None = None
    level: Level | None = (
        None  # lower than the rule's level for this finding only (e.g. a note when context is missing)
    )


@dataclass(frozen=True)
class RelatedLocation:
    location: Location
    message: str


@dataclass(frozen=True)
class SuppressionMark:
    """A request to suppress: a `# prodready:ignore PR301 -- reason` comment, a `prodready.io/ignore`
    annotation or a per-path ignore in the configuration; where it is, which rules it names, and why."""

    location: Location
    rules: tuple[str, ...]
    reason: str


@dataclass(frozen=True)
class Suppression:
    kind: str  # SARIF's words: "inSource" (annotation or comment) or "external" (config, baseline)
    justification: str


@dataclass(frozen=True)
class Finding:
    rule: RuleMeta
    level: Level
    message: str
    location: Location
    related: tuple[RelatedLocation, ...]
    fingerprint: str
    resource: Resource | None = field(default=None, compare=False, repr=False)
    path: KeyPath = field(default=(), compare=False, repr=False)
    suppression: Suppression | None = None

    @property
    def sort_key(self) -> tuple:
        return (self.location, self.rule.id, self.message)


class Scope(enum.Enum):
    """What a rule is called with; the engine gives each rule what its scope promises."""

    RESOURCE = "resource"  # each resource of the rule's kinds
    POD_TEMPLATE = "pod template"  # each workload of its kinds with the pod template written in it
    WORKLOAD = "workload"  # each workload of its kinds judged on its own, its pod template followed
    UNIT = "unit"  # once, with the index of what was scanned together
    SUPPRESSIONS = "suppressions"  # by the suppress stage, with the suppressions that matched nothing


@dataclass(frozen=True)
class Option:
    """A setting of one or more rules under `options:` in the configuration; the rule receives its value
    as the keyword argument of the same name (`min-replicas` → `min_replicas`)."""

    name: str
    default: Any
    doc: str
    schema: dict = field(compare=False)  # JSON Schema of a value, checked when the configuration is read

    @property
    def argument(self) -> str:
        return self.name.replace("-", "_")


@dataclass(frozen=True)
class RuleMeta:
    id: str
    name: str
    level: Level
    section: int | None
    check: Callable[..., Iterable[Problem]] = field(repr=False, compare=False)
    scope: Scope = Scope.RESOURCE
    kinds: frozenset[KindKey] = frozenset()
    options: tuple[Option, ...] = ()
    default_on: bool = True  # False: shipped but off until selected or configured

    @property
    def doc(self) -> str:
        """The docstring, and an *Options* section built from the declared options."""
        import inspect
        import json

        doc = inspect.cleandoc(self.check.__doc__ or "")
        if not self.options:
            return doc
        lines = [f"- `{o.name}` (default `{json.dumps(o.default)}`): {o.doc}" for o in self.options]
        return doc + "\n\n## Options\nSet under `options:` in the configuration.\n\n" + "\n".join(lines)

    @property
    def summary(self) -> str:
        """The docstring's first sentence, used as the short description."""
        return self.doc.split("\n\n", 1)[0].replace("\n", " ")

    def is_named(self, key: str) -> bool:
        """Whether `key` names this rule: its ID in any case, or its name."""
        key = key.strip()
        return key.upper() == self.id or key.lower() == self.name

    def is_selected_by(self, key: str) -> bool:
        """Whether `key` names this rule or is a prefix of its ID (`PR3`)."""
        key = key.strip()
        return self.is_named(key) or (key != "" and self.id.startswith(key.upper()))


@dataclass(frozen=True)
class Notification:
    """Something the user should know that is not a finding, e.g. a directory not scanned and why."""

    message: str
    file: str | None = None


@dataclass
class ScanResult:
    """What a scan hands the reports."""

    findings: list[Finding]
    notifications: list[Notification]
    rules: list[RuleMeta]  # the rules that ran
    files: int
    resources: int
    checked: dict[str, int]  # rule ID → subjects it was run on
