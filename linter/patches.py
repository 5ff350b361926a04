"""Which line of an overlay set a value of a rendered Kustomize object: a patch file, an inline patch, or the
kustomization's own `replicas:` and `images:` entries. Part of the locate stage.

`kustomize build` names, in the `alpha.config.kubernetes.io/transformations` annotation, the kustomization
files whose transformers ran over an object; which of their patches touched which field it does not say, so
each patch's target and body are matched here against the object and the finding's path."""

from __future__ import annotations

import os
from typing import Any

from prodready.kubernetes import dig, mapping, sequence
from prodready.kustomization import TRANSFORMATIONS_ANNOTATION
from prodready.model import KeyPath, Location, Positions, Resource
from prodready.sources import lines_of

# list field → the key its items merge on in a strategic merge patch
_MERGE_KEYS = {
    "containers": "name",
    "initContainers": "name",
    "env": "name",
    "volumes": "name",
    "volumeMounts": "mountPath",
    "ports": "containerPort",
    "imagePullSecrets": "name",
}

_IDENTITY = {("metadata", "name"), ("metadata", "namespace"), ("kind",), ("apiVersion",)}

Parsed = tuple[Any, Positions, int, int]  # body, positions, lines and columns to add (inline patches)


class Overlays:
    """Kustomization and patch files, each parsed once."""

    def __init__(self) -> None:
        self._parsed: dict[str, list[Parsed]] = {}

    def _documents(self, file: str) -> list[Parsed]:
        if file not in self._parsed:
            self._parsed[file] = _parse_file(file)
        return self._parsed[file]

    def locate(self, resource: Resource, path: KeyPath, base: Any) -> Location | None:
        """Where an overlay of `resource` sets the value at `path`, the overlay applied last first. A
        list item the base (`base`: the object as its origin file writes it) already has is the base's,
        even where a patch merges into it: a finding about the item itself stays there."""
        if path and isinstance(path[-1], int) and _strategic_path(base, resource.body, path) is not None:
            return None
        transformations = _transformations(resource)
        for kustomization in reversed(list(dict.fromkeys(transformations))):
            documents = self._documents(kustomization)
            if not documents:
                continue
            body, positions, _, _ = documents[0]
            found = (
                _replicas(body, positions, resource, path)
                or _image(body, positions, resource, path)
                or self._patched(kustomization, body, positions, resource, path)
            )
            if found is not None:
                return found
        return None

    def _patched(
        self, kustomization: str, body: Any, positions: Positions, resource: Resource, path: KeyPath
    ) -> Location | None:
        directory = os.path.dirname(kustomization)
        entries: list[tuple[Any, list[Parsed]]] = []
        for number, entry in enumerate(sequence(body.get("patches") if isinstance(body, dict) else None)):
            entry = mapping(entry)
            if isinstance(entry.get("path"), str):
                entries.append((entry.get("target"), self._documents(os.path.join(directory, entry["path"]))))
            elif isinstance(entry.get("patch"), str):
                inline = _parse_inline(entry["patch"], positions, body, ("patches", number, "patch"))
                entries.append((entry.get("target"), inline))
        for number, entry in enumerate(sequence(mapping(body).get("patchesStrategicMerge"))):
            if isinstance(entry, str) and "\n" not in entry:
                entries.append((None, self._documents(os.path.join(directory, entry))))
            elif isinstance(entry, str):
                entries.append(
                    (None, _parse_inline(entry, positions, body, ("patchesStrategicMerge", number)))
                )
        for target, documents in reversed(entries):
            for patch, patch_positions, lines, columns in reversed(documents):
                found = _in_patch(patch, patch_positions, target, resource, path)
                if found is not None:
                    return Location(found.file, found.line + lines, found.column + columns)
        return None


def _transformations(resource: Resource) -> list[str]:
    """The kustomization files named in the transformations annotation, in the order they ran."""
    from prodready.sources.yaml import InvalidYaml, parse_documents

    text = resource.build_annotation(TRANSFORMATIONS_ANNOTATION)
    if not isinstance(text, str):
        return []
    try:
        documents = list(parse_documents(text, "annotation"))
    except InvalidYaml:
        return []
    entries = sequence(documents[0].body) if documents else []
    return [entry["configuredIn"] for entry in entries if isinstance(mapping(entry).get("configuredIn"), str)]


def _parse_file(file: str) -> list[Parsed]:
    from prodready.sources.yaml import InvalidYaml, parse_documents

    relative = os.path.relpath(file)
    display = file if relative.startswith(os.pardir) else relative
    try:
        with open(file, "rb") as handle:
            return [(d.body, d.positions, 0, 0) for d in parse_documents(handle.read(), display)]
    except (OSError, InvalidYaml):
        return []


def _parse_inline(text: str, positions: Positions, body: Any, key: KeyPath) -> list[Parsed]:
    """An inline patch (a block scalar in the kustomization), its positions shifted to the lines of the
    kustomization that hold it."""
    from prodready.sources.yaml import InvalidYaml, parse_documents

    written = positions.locate(body, key, Location(positions.file, 1, 1))
    lines = lines_of(positions.file)
    start = written.line  # the `patch: |-` line; the text starts below it
    indent = 0
    for line in lines[start:]:
        if line.strip():
            indent = len(line) - len(line.lstrip())
            break
    try:
        parsed = list(parse_documents(text, positions.file))
    except InvalidYaml:
        return []
    return [(d.body, d.positions, start, indent) for d in parsed]


def _named(name: Any, resource: Resource) -> bool:
    """Whether `name` (as an overlay writes it) means `resource`, whose name may carry a prefix or suffix."""
    return isinstance(name, str) and bool(name) and name in resource.name


def _replicas(body: Any, positions: Positions, resource: Resource, path: KeyPath) -> Location | None:
    if path != ("spec", "replicas"):
        return None
    for number, entry in enumerate(sequence(mapping(body).get("replicas"))):
        if _named(mapping(entry).get("name"), resource) and "count" in mapping(entry):
            return positions.locate(body, ("replicas", number, "count"), Location(positions.file, 1, 1))
    return None


def _image(body: Any, positions: Positions, resource: Resource, path: KeyPath) -> Location | None:
    if not path or path[-1] != "image":
        return None
    image = dig(resource.body, path)
    if not isinstance(image, str):
        return None
    repository = (
        image.split("@")[0].rsplit(":", 1)[0] if ":" in image.rsplit("/", 1)[-1] else image.split("@")[0]
    )
    for number, entry in enumerate(sequence(mapping(body).get("images"))):
        entry = mapping(entry)
        if repository not in (entry.get("name"), entry.get("newName")):
            continue
        for key in ("newTag", "digest", "newName", "name"):
            if key in entry:
                return positions.locate(body, ("images", number, key), Location(positions.file, 1, 1))
    return None


def _targets(target: Any, patch: Any, resource: Resource) -> bool:
    """Whether a patch applies to `resource`: its `target` selector, else its own kind and name."""
    if isinstance(target, dict):
        kind, name = target.get("kind"), target.get("name")
        return (kind is None or kind == resource.kind) and (name is None or _named(name, resource))
    patch = mapping(patch)
    return patch.get("kind") == resource.kind and _named(mapping(patch.get("metadata")).get("name"), resource)


def _in_patch(
    patch: Any, positions: Positions, target: Any, resource: Resource, path: KeyPath
) -> Location | None:
    if isinstance(patch, list):  # JSON 6902: operations
        if not isinstance(target, dict) or not _targets(target, None, resource):
            return None
        pointer = "/" + "/".join(str(step) for step in path)
        for number, operation in enumerate(patch):
            operation = mapping(operation)
            where = operation.get("path")
            if operation.get("op") in ("add", "replace") and isinstance(where, str):
                if pointer == where or pointer.startswith(where.rstrip("/") + "/"):
                    rest = tuple(pointer[len(where) :].strip("/").split("/")) if pointer != where else ()
                    inside = tuple(int(step) if step.isdigit() else step for step in rest if step)
                    return positions.locate(patch, (number, "value", *inside), Location(positions.file, 1, 1))
        return None
    if not isinstance(patch, dict) or not _targets(target, patch, resource) or path[:2] in _IDENTITY:
        return None  # a strategic merge patch names its object; that sets nothing
    found_path = _strategic_path(patch, resource.body, path)
    if found_path is None:
        return None
    return positions.locate(patch, found_path, Location(positions.file, 1, 1))


def _strategic_path(patch: Any, rendered: Any, path: KeyPath) -> KeyPath | None:
    """`path` as it is written in a strategic merge patch (list items matched on their merge key), or None
    when the patch does not set it."""
    written: list[Any] = []
    node, here = patch, rendered
    for depth, step in enumerate(path):
        if isinstance(step, int):
            field = path[depth - 1] if depth else None
            key = _MERGE_KEYS.get(str(field))
            wanted = mapping(here[step] if isinstance(here, list) and step < len(here) else None).get(key)
            items = sequence(node)
            match = next(
                (i for i, item in enumerate(items) if key and mapping(item).get(key) == wanted), None
            )
            if match is None:
                return None
            written.append(match)
            node, here = items[match], here[step]
        else:
            if not isinstance(node, dict) or step not in node:
                return None
            written.append(step)
            node, here = node[step], mapping(here).get(step)
    return tuple(written)
