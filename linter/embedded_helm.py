"""Helm in-process, for machines without a `helm` binary: the optional extra `prodready[helm]` installs
helm-python-sdk (Helm's Go SDK through ctypes). It renders each template of a chart; this module turns
that into what `helm template` prints (the same documents, in Helm's install order, each under its
`# Source:` line) and fails where `helm template` fails, with Helm's own messages: a dependency
Chart.yaml names that is not in charts/, a library chart, a values file or a template that does not
parse. Nothing here reaches a repository, a registry or a cluster.

What still differs from the binary: templates see the SDK's Helm and Kubernetes versions; Chart.yaml's
`kubeVersion:` range is not checked; values reach the SDK as JSON, so a whole number given with --set is
a float64 in templates, as numbers from values files always are. And Helm's log lines (a symbolic link
it follows in a chart) go to this process's stderr: Go's default logger writes there, whatever handler
the SDK is given."""

from __future__ import annotations

import importlib.util
import os
import re
from typing import Any

# The kinds in the order Helm installs them (its kind sorter); `helm template` prints them in this order,
# other kinds after them by name, documents of one kind in the order of their templates.
_INSTALL_ORDER = {
    kind: position
    for position, kind in enumerate(
        [
            "PriorityClass",
            "Namespace",
            "NetworkPolicy",
            "ResourceQuota",
            "LimitRange",
            "PodSecurityPolicy",
            "PodDisruptionBudget",
            "ServiceAccount",
            "Secret",
            "SecretList",
            "ConfigMap",
            "StorageClass",
            "PersistentVolume",
            "PersistentVolumeClaim",
            "CustomResourceDefinition",
            "ClusterRole",
            "ClusterRoleList",
            "ClusterRoleBinding",
            "ClusterRoleBindingList",
            "Role",
            "RoleList",
            "RoleBinding",
            "RoleBindingList",
            "Service",
            "DaemonSet",
            "Pod",
            "ReplicationController",
            "ReplicaSet",
            "Deployment",
            "HorizontalPodAutoscaler",
            "StatefulSet",
            "Job",
            "CronJob",
            "IngressClass",
            "Ingress",
            "APIService",
            "MutatingWebhookConfiguration",
            "ValidatingWebhookConfiguration",
        ]
    )
}
_DOCUMENT_SEPARATOR = re.compile(r"(?:^|[\t\n\f\r ]*\n)---[\t\n\f\r ]*")  # Helm's, in Go's `\s`
_HOOK = "helm.sh/hook"


def location() -> str | None:
    """Where helm-python-sdk is installed (its package's `__init__.py`), None when it is not; the library
    itself is loaded only when a chart is rendered."""
    spec = importlib.util.find_spec("helm_python")
    return spec.origin if spec is not None else None


def template(
    chart: str, release: str, values_files: list[str], settings: list[str]
) -> tuple[bytes | None, str]:
    """What `helm template RELEASE CHART -f FILE… --set SETTING…` prints, or None and Helm's error."""
    try:
        import helm_python
    except Exception as error:  # its native library does not load here (built for another system)
        return None, f"helm-python-sdk does not load: {error}"

    try:
        values = _user_values(helm_python, values_files, settings)
        with helm_python.Chart.load(chart) as loaded:
            metadata = loaded.metadata
            if metadata.get("type") not in (None, "", "application"):
                return None, f"{metadata['type']} charts are not installable"
            missing = _missing_dependencies(metadata, loaded.dependencies)
            if missing:
                return None, (
                    "an error occurred while checking for chart dependencies. You may need to run "
                    "`helm dependency build` to fetch missing dependencies: found in Chart.yaml, but "
                    f"missing in charts/ directory: {', '.join(missing)}"
                )
            files = loaded.render(values, name=release, namespace="default", revision=1, is_install=True)
        return _printed(helm_python, files).encode(), ""
    except helm_python.HelmError as error:
        return None, str(error)
    except OSError as error:
        return None, f"{error.filename}: {error.strerror or error}"


def _user_values(helm_python: Any, values_files: list[str], settings: list[str]) -> dict[str, Any]:
    """The values files merged in order, then each --set on top, as `helm template` merges them."""
    values: dict[str, Any] = {}
    for path in values_files:
        with open(path, encoding="utf-8") as handle:
            text = handle.read()
        try:
            values = _merged(values, helm_python.values_from_yaml(text))
        except helm_python.HelmError as error:
            raise helm_python.HelmValuesError(f"failed to parse {path}: {error}") from None
    for setting in settings:
        try:
            values = _merged(values, helm_python.parse_set_string(setting))
        except helm_python.HelmError as error:
            raise helm_python.HelmValuesError(f"failed parsing --set data: {error}") from None
    return values


def _merged(base: dict[str, Any], override: dict[str, Any]) -> dict[str, Any]:
    merged = dict(base)
    for key, value in override.items():
        if isinstance(value, dict) and isinstance(merged.get(key), dict):
            merged[key] = _merged(merged[key], value)
        else:
            merged[key] = value
    return merged


def _missing_dependencies(metadata: dict[str, Any], present: list[dict[str, Any]]) -> list[str]:
    """The dependencies Chart.yaml declares that charts/ does not hold (by name, as Helm checks)."""
    vendored = {subchart.get("name") for subchart in present}
    declared = [dependency.get("name") for dependency in metadata.get("dependencies") or []]
    return [str(name) for name in declared if name not in vendored]


def _printed(helm_python: Any, files: dict[str, str]) -> str:
    """The rendered templates as `helm template` prints them: each document of each template (by path,
    leaving out partials, NOTES.txt and empty output) under its `# Source:` line, sorted by kind, the
    hooks after the rest."""
    manifests: list[tuple[str, str, str]] = []
    hooks: list[tuple[str, str, str]] = []
    for path in sorted(files):
        content = files[path]
        if os.path.basename(path).startswith("_") or path.endswith("NOTES.txt") or not content.strip():
            continue
        for document in _DOCUMENT_SEPARATOR.split(content.strip()):
            if document == "":
                continue
            document = document.strip()
            try:
                head = helm_python.values_from_yaml(document)
            except helm_python.HelmError as error:
                raise helm_python.HelmRenderError(f"YAML parse error on {path}: {error}") from None
            metadata = head.get("metadata")
            annotations = metadata.get("annotations") if isinstance(metadata, dict) else None
            kind = head.get("kind") if isinstance(head.get("kind"), str) else ""
            hook = isinstance(annotations, dict) and _HOOK in annotations
            (hooks if hook else manifests).append((path, document, kind))
    printed = "".join(f"---\n# Source: {path}\n{document}\n" for path, document, _ in _by_kind(manifests))
    printed = printed.strip() + "\n"
    return printed + "".join(f"---\n# Source: {path}\n{document}\n" for path, document, _ in _by_kind(hooks))


def _by_kind(documents: list[tuple[str, str, str]]) -> list[tuple[str, str, str]]:
    last = len(_INSTALL_ORDER)
    return sorted(
        documents,
        key=lambda document: (
            (_INSTALL_ORDER[document[2]], "") if document[2] in _INSTALL_ORDER else (last, document[2])
        ),
    )
