"""What a kustomization file says about other files: the resources and components it builds from, and the
files it uses as patches or generator input, which are never objects of their own."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from typing import Any

KUSTOMIZATION_FILES = ("kustomization.yaml", "kustomization.yml", "Kustomization")


@dataclass
class Kustomization:
    directory: str
    file: str
    is_component: bool = False
    builds_from: list[str] = field(default_factory=list)  # resources, bases, components: files or directories
    uses: list[str] = field(default_factory=list)  # patches, generator inputs, replacements: files
    remote: list[str] = field(default_factory=list)  # references to URLs, never fetched


# The annotations `kustomize build` writes with `buildMetadata: [originAnnotations, transformerAnnotations]`:
# the file each object came from, and the kustomizations whose patches and transformers changed it.
ORIGIN_ANNOTATION = "config.kubernetes.io/origin"
TRANSFORMATIONS_ANNOTATION = "alpha.config.kubernetes.io/transformations"


def kustomization_file(directory: str) -> str | None:
    for name in KUSTOMIZATION_FILES:
        path = os.path.join(directory, name)
        if os.path.isfile(path):
            return path
    return None


def _strings(value: Any) -> list[str]:
    return [item for item in value if isinstance(item, str)] if isinstance(value, list) else []


def _paths(entries: Any, key: str = "path") -> list[str]:
    """`path:` of each mapping entry (patches, replacements)."""
    found = []
    for entry in entries if isinstance(entries, list) else []:
        if isinstance(entry, dict) and isinstance(entry.get(key), str):
            found.append(entry[key])
    return found


def _generator_files(generators: Any) -> list[str]:
    """The files of configMapGenerator and secretGenerator entries (`files: [key=path]`, `envs`, `env`)."""
    found = []
    for generator in generators if isinstance(generators, list) else []:
        if not isinstance(generator, dict):
            continue
        for item in _strings(generator.get("files")):
            found.append(item.partition("=")[2] or item)
        found += _strings(generator.get("envs"))
        if isinstance(generator.get("env"), str):
            found.append(generator["env"])
    return found


def _is_remote(reference: str) -> bool:
    return "://" in reference or reference.startswith(
        ("github.com/", "git@", "gitlab.com/", "bitbucket.org/")
    )


def read(directory: str, body: Any, file: str) -> Kustomization:
    """The references of a parsed kustomization file, as paths joined to its directory."""
    body = body if isinstance(body, dict) else {}
    found = Kustomization(directory, file, is_component=body.get("kind") == "Component")
    builds_from = (
        _strings(body.get("resources")) + _strings(body.get("bases")) + _strings(body.get("components"))
    )
    uses = (
        [entry for entry in _strings(body.get("patchesStrategicMerge")) if "\n" not in entry]
        + _paths(body.get("patches"))
        + _paths(body.get("patchesJson6902"))
        + _paths(body.get("replacements"))
        + _generator_files(body.get("configMapGenerator"))
        + _generator_files(body.get("secretGenerator"))
        + _strings(body.get("crds"))
        + _strings(body.get("transformers"))
        + _strings(body.get("generators"))
        + _strings(body.get("validators"))
        + _strings(body.get("configurations"))
    )
    for reference in builds_from + uses:
        if _is_remote(reference):
            found.remote.append(reference)
    local = [reference for reference in builds_from if not _is_remote(reference)]
    found.builds_from = [os.path.normpath(os.path.join(directory, reference)) for reference in local]
    found.uses = [
        os.path.normpath(os.path.join(directory, reference))
        for reference in uses
        if not _is_remote(reference)
    ]
    return found
