"""The data every stage passes on: resources with positions, problems rules yield, findings reports print."""

from __future__ import annotations

import enum
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

Path = tuple  # keys and indexes into a resource body, e.g. ("spec", "template", "spec", "containers", 0)


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

    def locate(self, body: Any, path: Path, fallback: Location) -> Location:
        """The position of `path` inside `body`, or of its nearest ancestor that exists."""
        found = fallback
        node = body
        for step in path:
            marks = self.table.get(id(node))
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


@dataclass(eq=False)
class Resource:
    """One Kubernetes object (or, later, one Terraform block) with a way back to its source."""

    kind: str
    api_version: str
    name: str
    namespace: str | None
    body: dict
    file: str
    start: Location
    positions: Positions = field(repr=False)
    references: frozenset[str] = frozenset()  # Terraform addresses this resource mentions
    helm_source: str | None = None  # `<chart>/templates/<file>` from helm's `# Source:` comment

    @property
    def group(self) -> str:
        return self.api_version.rpartition("/")[0] if "/" in self.api_version else ""

    @property
    def identity(self) -> str:
        """Stable across edits that move the resource: kind, namespace and name, never a line."""
        return f"{self.kind}/{self.namespace or ''}/{self.name}"

    @property
    def metadata(self) -> dict:
        metadata = self.body.get("metadata")
        return metadata if isinstance(metadata, dict) else {}

    def locate(self, path: Path) -> Location:
        return self.positions.locate(self.body, path, self.start)

    def __str__(self) -> str:
        return f"{self.kind} {self.name}"


NAME_PATH: Path = ("metadata", "name")


@dataclass(frozen=True)
class Problem:
    """What a rule yields: a message about a place in a resource, or about a place in a file."""

    message: str
    resource: Resource | None = None
    path: Path = NAME_PATH
    related: tuple[tuple[Resource, Path], ...] = ()
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
    path: Path = field(default=(), compare=False, repr=False)
    suppression: Suppression | None = None

    @property
    def sort_key(self) -> tuple:
        return (self.location, self.rule.id, self.message)


class Scope(enum.Enum):
    RESOURCE = "resource"  # called once per resource of the rule's kinds, with the index
    SET = "set"  # called once per scan, with the index
    SUPPRESSIONS = "suppressions"  # called by the suppress stage with the suppressions that matched nothing


@dataclass(frozen=True)
class RuleMeta:
    id: str
    name: str
    level: Level
    section: int | None
    check: Callable[..., Iterable[Problem]] = field(repr=False, compare=False)
    scope: Scope = Scope.RESOURCE
    kinds: frozenset[str] = frozenset()
    default_on: bool = True  # False: shipped but off until selected or configured

    @property
    def doc(self) -> str:
        import inspect

        return inspect.cleandoc(self.check.__doc__ or "")

    @property
    def summary(self) -> str:
        """The docstring's first sentence, used as the short description."""
        return self.doc.split("\n\n", 1)[0].replace("\n", " ")


@dataclass(frozen=True)
class Notification:
    """Something the user should know that is not a finding, e.g. a directory not scanned and why."""

    message: str
    file: str | None = None
