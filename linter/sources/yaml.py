"""Multi-document YAML → Kubernetes resources with source positions.

Positions come from the events of libyaml's C parser (through ruamel.yaml.clib): one pass builds plain
dicts and lists and records where every key and item starts. This reads about three times faster than
composing ruamel nodes and ten times faster than its round-trip loader, and it keeps no node tree.

Values resolve as Kubernetes resolves them (YAML 1.1: `yes`/`on` are booleans, `0755` is octal). Tags never
construct objects: an unknown tag is ignored and its value read as data.
"""

from __future__ import annotations

import bisect
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from sys import intern
from typing import Any

from _ruamel_yaml import (
    AliasEvent,
    CParser,
    DocumentEndEvent,
    DocumentStartEvent,
    MappingEndEvent,
    MappingStartEvent,
    ScalarEvent,
    SequenceEndEvent,
    SequenceStartEvent,
    StreamEndEvent,
)
from prodready.model import (
    DUPLICATE_KEY,
    INVALID_INPUT,
    NOT_AN_OBJECT,
    Location,
    Positions,
    Problem,
    Resource,
)
from prodready.model import mark as pack
from prodready.sources import text_problem
from ruamel.yaml.error import MarkedYAMLError, YAMLError

# Real manifests nest about 35 levels deep (a CRD's schema); deeper input is refused before anything
# that recurses over it (comparison, pickling between processes) could fail on it.
MAX_DEPTH = 200
# Aliases share one object, so a "billion laughs" document costs nothing to build; it is refused anyway,
# because anything that walks it (Kubernetes included) would expand it.
MAX_ALIAS_EXPANSION = 100_000

_NULLS = {"", "~", "null", "Null", "NULL"}
_BOOLS = {
    **dict.fromkeys(("y", "Y", "yes", "Yes", "YES", "true", "True", "TRUE", "on", "On", "ON"), True),
    **dict.fromkeys(("n", "N", "no", "No", "NO", "false", "False", "FALSE", "off", "Off", "OFF"), False),
}
# A number longer than this is not one Kubernetes can hold; it stays text (Python also refuses to
# convert integers of more than 4,300 digits).
_LONGEST_NUMBER = 64
_INT = re.compile(r"[-+]?(?:0|[1-9][0-9_]*)\Z")
_INT_OTHER_BASE = re.compile(r"[-+]?0(?:x[0-9a-fA-F_]+|o?[0-7_]+)\Z")
_FLOAT = re.compile(r"[-+]?(?:\.[0-9]+|[0-9][0-9_]*(?:\.[0-9_]*)?)(?:[eE][-+]?[0-9]+)?\Z")
_SPECIAL_FLOATS = {".inf": float("inf"), "+.inf": float("inf"), "-.inf": float("-inf"), ".nan": float("nan")}
_NUMBER_START = frozenset("0123456789+-.")


class InvalidYaml(Exception):
    def __init__(self, message: str, line: int, column: int) -> None:
        super().__init__(message)
        self.line, self.column = line, column


def resolve_plain(text: str) -> Any:
    """The value of an unquoted scalar."""
    if text in _NULLS:
        return None
    boolean = _BOOLS.get(text)
    if boolean is not None:
        return boolean
    if text[0] in _NUMBER_START and len(text) <= _LONGEST_NUMBER:
        if _INT.match(text):
            return int(text.replace("_", ""))
        if _INT_OTHER_BASE.match(text):
            digits = text.replace("_", "").lstrip("+-")
            sign = -1 if text[0] == "-" else 1
            base = 16 if digits[1:2] == "x" else 8
            return sign * int(digits[2:] if base == 16 or digits[1:2] == "o" else digits, base)
        if _FLOAT.match(text):
            return float(text.replace("_", ""))
        lowered = text.lower()
        if lowered in _SPECIAL_FLOATS:
            return _SPECIAL_FLOATS[lowered]
    return text


def _scalar(event: ScalarEvent) -> Any:
    if event.tag == "tag:yaml.org,2002:str" or not (event.implicit[0] or event.tag):
        return _shared(event.value)
    value = resolve_plain(event.value) if event.value else (None if event.implicit[0] else "")
    return _shared(value) if type(value) is str else value


def _shared(text: str) -> str:
    """Short strings repeat across manifests (`TCP`, `IfNotPresent`, label values): one copy each."""
    return intern(text) if len(text) <= 32 else text


@dataclass
class Document:
    body: Any
    start: Location
    positions: Positions
    duplicate_keys: list[tuple[Location, str]] = field(default_factory=list)  # second occurrences
    # Values the document dropped while it was read (a duplicate key's first value, an inline merged
    # mapping): kept alive so that no later container reuses their identity in the positions table.
    dropped: list[Any] = field(default_factory=list, repr=False)


def _expanded_size(value: Any, sizes: dict[int, int]) -> int:
    """How many nodes `value` stands for once every alias inside it is expanded (without recursion:
    an alias may point at a node hundreds of levels deep)."""
    if not isinstance(value, (dict, list)):
        return 1
    pending = [(value, False)]
    while pending:
        node, children_done = pending.pop()
        if id(node) in sizes:
            continue
        children = [
            c for c in (node.values() if isinstance(node, dict) else node) if isinstance(c, (dict, list))
        ]
        if children_done:
            leaves = len(node) - len(children)
            sizes[id(node)] = 1 + leaves + sum(sizes[id(child)] for child in children)
        else:
            pending.append((node, True))
            pending.extend((child, False) for child in children if id(child) not in sizes)
    return sizes[id(value)]


def _merge(mapping: dict, merged: Any, mark: Any) -> None:
    """Apply a `<<` merge key: keys written in the mapping itself win over merged ones."""
    sources = merged if isinstance(merged, list) else [merged]
    for source in sources:
        if not isinstance(source, dict):
            raise InvalidYaml(
                "a merge key (<<) needs a mapping or a list of mappings", mark.line, mark.column
            )
        for key, value in source.items():
            mapping.setdefault(key, value)


def parse_documents(data: bytes | str, file: str, pure: bool = False) -> Iterator[Document]:
    """Every document of a YAML stream, with positions. Raises InvalidYaml at the first error.

    libyaml's C parser is fast; `pure` reads with ruamel.yaml's Python parser instead, which accepts
    what libyaml refuses and Kubernetes reads (`{image: nginx:1.27}`: a colon in a flow plain scalar)."""
    if pure:
        from ruamel.yaml import YAML

        get_event = iter(YAML(typ="safe", pure=True).parse(data)).__next__
    else:
        get_event = CParser(data).get_event
    document = Document(None, Location(file, 1, 1), Positions(file))  # replaced at each document start
    stack: list[Any] = []
    keys: list[Any] = []  # per open mapping: the key waiting for its value, or _NO_KEY
    anchors: dict[str, Any] = {}
    merge_marks: dict[int, Any] = {}  # mapping → where its `<<` key is
    sizes: dict[int, int] = {}
    expansion = 0
    table: dict[int, Any] = {}
    try:
        get_event()  # StreamStart
        while True:
            event = get_event()
            kind = type(event)
            if kind is ScalarEvent:
                value = _scalar(event)
            elif kind is MappingStartEvent:
                value = {}
            elif kind is SequenceStartEvent:
                value = []
            elif kind is MappingEndEvent or kind is SequenceEndEvent:
                closed = stack.pop()
                keys.pop()
                if kind is MappingEndEvent and "<<" in closed:
                    merged = closed.pop("<<")
                    document.dropped.append(merged)
                    _merge(closed, merged, merge_marks.get(id(closed), event.start_mark))
                continue
            elif kind is AliasEvent:
                if event.anchor not in anchors:
                    mark = event.start_mark
                    raise InvalidYaml(f"unknown alias *{event.anchor}", mark.line, mark.column)
                value = anchors[event.anchor]
                if any(value is open_node for open_node in stack):
                    mark = event.start_mark
                    raise InvalidYaml(
                        f"alias *{event.anchor} points at a node that contains it", mark.line, mark.column
                    )
                expansion += _expanded_size(value, sizes)
                if expansion > MAX_ALIAS_EXPANSION:
                    mark = event.start_mark
                    raise InvalidYaml(
                        f"aliases expand to more than {MAX_ALIAS_EXPANSION:,} nodes (an alias bomb?)",
                        mark.line,
                        mark.column,
                    )
            elif kind is DocumentStartEvent:
                mark = event.start_mark
                positions = Positions(file)
                table = positions.table
                document = Document(None, Location(file, mark.line + 1, mark.column + 1), positions)
                root: list[Any] = []
                stack = [root]
                keys = [_NO_KEY]
                anchors.clear()
                continue
            elif kind is DocumentEndEvent:
                document.body = root[0] if root else None
                yield document
                continue
            elif kind is StreamEndEvent:
                return
            else:
                continue

            mark = event.start_mark
            parent = stack[-1]
            if type(parent) is list:
                if parent is root:  # the document starts where its content starts, below any comments
                    document.start = Location(file, mark.line + 1, mark.column + 1)
                marks = table.get(id(parent))
                if marks is None:
                    marks = table[id(parent)] = []
                marks.append(pack(mark.line + 1, mark.column + 1))
                parent.append(value)
            else:
                key = keys[-1]
                if key is _NO_KEY:
                    if kind is not ScalarEvent:
                        hint = " (an unrendered template?)" if kind is MappingStartEvent else ""
                        raise InvalidYaml(f"a mapping key that is not a string{hint}", mark.line, mark.column)
                    key = keys[-1] = intern(event.value)  # keys repeat in every object: one copy each
                    marks = table.get(id(parent))
                    if marks is None:
                        marks = table[id(parent)] = {}
                    elif key in marks:
                        document.duplicate_keys.append((Location(file, mark.line + 1, mark.column + 1), key))
                        document.dropped.append(parent.get(key))
                    marks[key] = pack(mark.line + 1, mark.column + 1)
                    if key == "<<":
                        merge_marks[id(parent)] = mark
                    continue
                parent[key] = value
                keys[-1] = _NO_KEY
            if event.anchor is not None and kind is not AliasEvent:
                anchors[event.anchor] = value
            if kind is MappingStartEvent or kind is SequenceStartEvent:
                if len(stack) > MAX_DEPTH:
                    raise InvalidYaml(f"nested deeper than {MAX_DEPTH} levels", mark.line, mark.column)
                stack.append(value)
                keys.append(_NO_KEY)
    except MarkedYAMLError as error:
        mark = error.problem_mark or error.context_mark
        message = " ".join(filter(None, (error.context, error.problem)))
        raise InvalidYaml(message, mark.line if mark else 0, mark.column if mark else 0) from None
    except YAMLError as error:
        raise InvalidYaml(str(error).splitlines()[0], 0, 0) from None


_NO_KEY = object()
PURE_PARSER_LIMIT = 1024 * 1024  # bytes: ruamel.yaml's Python parser reads about 0.3 MB/s
_DOCUMENT_START = re.compile(rb"^---", re.MULTILINE)


def read_documents(data: bytes, file: str) -> tuple[list[Document], list[tuple[str, Problem]]]:
    """All readable documents of a file and the input problems found on the way.

    After a syntax error, reading resumes at the next `---` line, so one broken document does not hide
    the ones after it.
    """
    problem = text_problem(data)
    if problem:
        message, line, column = problem
        return [], [(INVALID_INPUT, Problem(message, location=Location(file, line, column)))]
    documents: list[Document] = []
    problems: list[tuple[str, Problem]] = []
    data, forbidden = _without_forbidden_characters(data, file)

    def read(chunk: bytes, lines_before: int, pure: bool) -> None:
        for document in parse_documents(chunk, file, pure):
            if lines_before:
                _shift(document, lines_before)
            documents.append(document)
            for duplicate, key in document.duplicate_keys:
                message = f"duplicate key '{key}': the first value is silently dropped"
                problems.append((DUPLICATE_KEY, Problem(message, location=duplicate)))

    def parse(chunk: bytes, lines_before: int) -> int | None:
        """Read the documents of a chunk; the line of its syntax error, if it has one. A colon that
        libyaml refuses in a flow scalar is read again with the Python parser (in chunks of at most
        PURE_PARSER_LIMIT: it is far slower)."""
        kept = len(documents), len(problems)
        try:
            read(chunk, lines_before, pure=False)
            return None
        except InvalidYaml as error:
            # Plain values, not the exception: its traceback would make a cycle that the disabled
            # collector never frees, and keep the parser's buffers alive (see sources/load.py).
            message, line, column = str(error), lines_before + error.line + 1, error.column + 1
        if "found unexpected ':'" in message and len(chunk) <= PURE_PARSER_LIMIT:
            del documents[kept[0] :], problems[kept[1] :]
            try:
                read(chunk, lines_before, pure=True)
                return None
            except InvalidYaml:
                del documents[kept[0] :], problems[kept[1] :]
                read_until_error(chunk, lines_before)
        problems.append(
            (INVALID_INPUT, Problem(f"invalid YAML: {message}", location=Location(file, line, column)))
        )
        return line

    def read_until_error(chunk: bytes, lines_before: int) -> None:
        try:
            read(chunk, lines_before, pure=False)
        except InvalidYaml:
            pass

    error_line = parse(data, 0)
    if error_line is not None:
        # Every document from the one the error is in onwards is read on its own: the parser often
        # reports an unclosed document at the next `---`, so reading resumes at that marker.
        markers = [
            (position, line)
            for position, line in _document_markers(data)
            if line >= error_line and position > 0
        ]
        for (position, line), (end, _) in zip(markers, [*markers[1:], (len(data), 0)]):
            parse(data[position:end], line - 1)
    if forbidden:
        documents = _drop_documents_with(forbidden, documents, problems)
    return documents, problems


# YAML (and so Kubernetes) refuses control characters; NEL, LS and PS break lines for libyaml but not
# for editors, so they would shift every position after them.
_FORBIDDEN = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x84\x86-\x9f\ufffe\uffff]")
_LINE_BREAKS_ONLY_TO_YAML = re.compile("[\x85\u2028\u2029]")
_FORBIDDEN_ASCII = re.compile(rb"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


def _without_forbidden_characters(data: bytes, file: str) -> tuple[bytes, list[Location]]:
    """The data with forbidden characters and YAML-only line breaks replaced by spaces (so that reading
    goes on and positions match the editor's), and where the forbidden characters were."""
    if data.isascii() and not _FORBIDDEN_ASCII.search(data):
        return data, []
    text = data.decode("utf-8")
    forbidden = []
    line, counted = 1, 0
    for match in _FORBIDDEN.finditer(text):
        line += text.count("\n", counted, match.start())
        counted = match.start()
        column = match.start() - text.rfind("\n", 0, match.start())
        forbidden.append(Location(file, line, column))
    cleaned = _LINE_BREAKS_ONLY_TO_YAML.sub(" ", _FORBIDDEN.sub(" ", text))
    return (cleaned.encode("utf-8") if cleaned != text else data), forbidden


def _drop_documents_with(
    forbidden: list[Location], documents: list[Document], problems: list
) -> list[Document]:
    """Report the first forbidden character of each document (PR001) and leave those documents out:
    the API server would refuse them."""
    starts = [document.start.line for document in documents]
    dropped: set[int] = set()
    for location in forbidden:
        owner = bisect.bisect_right(starts, location.line) - 1
        if owner in dropped:
            continue
        dropped.add(owner)
        problems.append(
            (INVALID_INPUT, Problem("a control character, which YAML does not allow", location=location))
        )
    return [document for number, document in enumerate(documents) if number not in dropped]


def _document_markers(data: bytes) -> Iterator[tuple[int, int]]:
    """(byte offset, 1-based line) of every line that starts with `---`."""
    counted, line = 0, 1
    for match in _DOCUMENT_START.finditer(data):
        line += data.count(b"\n", counted, match.start())
        counted = match.start()
        yield match.start(), line


def _shift(document: Document, lines: int) -> None:
    """Move a document parsed from the middle of a file to its real lines."""
    start = document.start
    document.start = Location(start.file, start.line + lines, start.column)
    document.duplicate_keys = [
        (Location(d.file, d.line + lines, d.column), key) for d, key in document.duplicate_keys
    ]
    table = document.positions.table
    shift = pack(lines, 0)
    for key, marks in table.items():
        if isinstance(marks, dict):
            table[key] = {k: packed + shift for k, packed in marks.items()}
        else:
            table[key] = [packed + shift for packed in marks]


def _object(body: Any) -> tuple[str, str] | None:
    """(apiVersion, kind) when `body` is a Kubernetes object."""
    if isinstance(body, dict):
        api_version, kind = body.get("apiVersion"), body.get("kind")
        if isinstance(api_version, str) and isinstance(kind, str) and api_version and kind:
            return api_version, kind
    return None


def _resource(
    body: dict, api_version: str, kind: str, document: Document, start: Location, helm_source: str | None
) -> Resource:
    metadata = body.get("metadata")
    metadata = metadata if isinstance(metadata, dict) else {}
    name = metadata.get("name") or metadata.get("generateName") or ""
    namespace = metadata.get("namespace")
    return Resource(
        kind=kind,
        api_version=api_version,
        name=str(name),
        namespace=namespace if isinstance(namespace, str) and namespace else None,
        body=body,
        file=document.positions.file,
        start=start,
        positions=document.positions,
        helm_source=helm_source,
    )


_HELM_SOURCE = re.compile(rb"^# Source: (\S.*?)\s*$", re.MULTILINE)


def _helm_sources(data: bytes, documents: list[Document]) -> list[str | None]:
    """The `# Source: <chart>/templates/<file>` comment that `helm template` writes above each document,
    for each document (None where there is none)."""
    comments = []
    line, counted = 1, 0
    for match in _HELM_SOURCE.finditer(data):
        line += data.count(b"\n", counted, match.start())
        counted = match.start()
        comments.append((line, match.group(1).decode("utf-8", "replace")))
    sources: list[str | None] = []
    previous_start, next_comment = 0, 0
    for document in documents:
        found = None
        while next_comment < len(comments) and comments[next_comment][0] < document.start.line:
            if comments[next_comment][0] > previous_start:
                found = comments[next_comment][1]
            next_comment += 1
        sources.append(found)
        previous_start = document.start.line
    return sources


def load_manifests(data: bytes, file: str) -> tuple[list[Resource], list[tuple[str, Problem]]]:
    """The Kubernetes objects of a YAML (or JSON) file, `List` kinds unpacked, with the input problems."""
    documents, problems = read_documents(data, file)
    helm_sources = _helm_sources(data, documents) if b"# Source: " in data else [None] * len(documents)
    resources: list[Resource] = []
    for document, helm_source in zip(documents, helm_sources):
        body = document.body
        if body is None or isinstance(body, dict) and "$patch" in body:  # a patch's directive, no object
            continue
        identity = _object(body)
        if identity is None:
            problems.append(
                (
                    NOT_AN_OBJECT,
                    Problem("not a Kubernetes object (no apiVersion and kind)", location=document.start),
                )
            )
            continue
        api_version, kind = identity
        items = body.get("items")
        if kind.endswith("List") and isinstance(items, list):
            for index, item in enumerate(items):
                start = document.positions.locate(body, ("items", index), document.start)
                item_identity = _object(item)
                if item_identity is None:
                    problems.append(
                        (
                            NOT_AN_OBJECT,
                            Problem(f"{kind} item {index} is not a Kubernetes object", location=start),
                        )
                    )
                    continue
                resources.append(_resource(item, *item_identity, document, start, helm_source))
        else:
            resources.append(_resource(body, api_version, kind, document, document.start, helm_source))
    return resources, problems
