"""What every Kubernetes rule needs to know about the shapes of objects: workloads, pod templates,
containers, label selectors and resource quantities. Rules ask here instead of repeating the switch."""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from dataclasses import dataclass
from fractions import Fraction
from typing import Any

from prodready.model import NAME_PATH, KeyPath, Resource

# kind → the API groups it is a workload in
WORKLOAD_GROUPS = {
    "Deployment": {"apps", "extensions"},
    "StatefulSet": {"apps"},
    "DaemonSet": {"apps", "extensions"},
    "ReplicaSet": {"apps", "extensions"},
    "ReplicationController": {""},
    "Job": {"batch"},
    "CronJob": {"batch"},
    "Pod": {""},
    "Rollout": {"argoproj.io"},
}


def workload_kinds(*kinds: str) -> frozenset[str]:
    """The workload kinds as rules declare them, once for each API group they are a workload in:
    `workload_kinds("Deployment")` is `apps/Deployment` and `extensions/Deployment`."""
    return frozenset(
        f"{group}/{kind}" if group else kind for kind in kinds for group in WORKLOAD_GROUPS[kind]
    )


WORKLOADS = workload_kinds(*WORKLOAD_GROUPS)
_ONE_SHOT_KINDS = frozenset({"Job", "CronJob"})
LONG_RUNNING = workload_kinds(*(WORKLOAD_GROUPS.keys() - _ONE_SHOT_KINDS))
REPLICATED = workload_kinds("Deployment", "StatefulSet", "ReplicaSet", "Rollout")
AUTOSCALED = workload_kinds("Deployment", "StatefulSet", "Rollout")
AUTOSCALERS = frozenset({"autoscaling/HorizontalPodAutoscaler", "keda.sh/ScaledObject"})


def is_workload(resource: Resource) -> bool:
    return resource.group in WORKLOAD_GROUPS.get(resource.kind, ())


def helm_hooks(resource: Resource) -> list[str]:
    """The Helm hooks (`helm.sh/hook: pre-install,test`) a resource runs as: one-shot, never rolled out."""
    hook = mapping(resource.metadata.get("annotations")).get("helm.sh/hook")
    return [part.strip() for part in hook.split(",")] if isinstance(hook, str) else []


def is_helm_test(resource: Resource) -> bool:
    """A pod that `helm test` runs on demand (`helm.sh/hook: test`, or the older `test-success`): it
    serves nothing, runs for seconds, and is never rolled out or back."""
    return any(hook.startswith("test") for hook in helm_hooks(resource))


def is_long_running(resource: Resource) -> bool:
    return resource.kind not in _ONE_SHOT_KINDS and is_workload(resource) and not helm_hooks(resource)


def mapping(value: Any) -> dict:
    """`value` if it is a mapping, else an empty one: wrong types in input never crash a rule."""
    return value if isinstance(value, dict) else {}


def sequence(value: Any) -> list:
    return value if isinstance(value, list) else []


def integer(value: Any) -> int | None:
    """`value` if it is an integer, else None; YAML's `true` is not one, though Python counts it as 1."""
    return value if isinstance(value, int) and not isinstance(value, bool) else None


_PERCENT = re.compile(r"\s*(\d+)\s*%\s*\Z")


def percent(value: Any) -> int | None:
    """The number of a percentage written as text (`25%`, as in `maxUnavailable`), else None."""
    match = _PERCENT.match(value) if isinstance(value, str) else None
    return int(match.group(1)) if match else None


def dig(body: Any, path: KeyPath) -> Any:
    """The value at `path`, or None where the path breaks off or meets the wrong type."""
    for step in path:
        if isinstance(step, int) and isinstance(body, list) and 0 <= step < len(body):
            body = body[step]
        elif isinstance(step, str) and isinstance(body, dict):
            body = body.get(step)
        else:
            return None
    return body


@dataclass(frozen=True)
class PodTemplate:
    """A pod template and where it lives: `owner` is the resource whose body holds it."""

    owner: Resource
    path: KeyPath  # of the pod spec inside the owner's body

    @property
    def spec(self) -> dict:
        return mapping(dig(self.owner.body, self.path))

    @property
    def metadata(self) -> dict:
        if self.owner.kind == "Pod":
            return self.owner.metadata
        return mapping(dig(self.owner.body, self.path[:-1] + ("metadata",)))

    @property
    def labels(self) -> dict:
        return mapping(self.metadata.get("labels"))

    @property
    def annotations(self) -> dict:
        return mapping(self.metadata.get("annotations"))


def own_pod_template(resource: Resource) -> PodTemplate | None:
    """The pod template written in the workload itself (an Argo Rollout with `workloadRef` has none)."""
    if not is_workload(resource):
        return None
    if resource.kind == "Pod":
        path: KeyPath = ("spec",)
    elif resource.kind == "CronJob":
        path = ("spec", "jobTemplate", "spec", "template", "spec")
    else:
        path = ("spec", "template", "spec")
    if not isinstance(dig(resource.body, path), dict):
        return None
    return PodTemplate(resource, path)


@dataclass(frozen=True)
class Container:
    body: dict
    path: KeyPath  # inside the owner's body
    init: bool  # an init container that runs to completion before the others start

    @property
    def name(self) -> str:
        return str(self.body.get("name", ""))


def containers(template: PodTemplate, include_init: bool = False) -> Iterator[Container]:
    """The regular containers, sidecars (init containers with `restartPolicy: Always`) among them,
    and, with `include_init`, the other init containers too."""
    spec = template.spec
    for field in ("initContainers", "containers"):
        for index, body in enumerate(sequence(spec.get(field))):
            if not isinstance(body, dict):
                continue
            init = field == "initContainers" and body.get("restartPolicy") != "Always"
            if init and not include_init:
                continue
            yield Container(body, template.path + (field, index), init)


# --- what a workload's manifests say about how many of its pods may run ------------------------

# Access modes with which pods on several nodes may mount one claim; any other (ReadWriteOnce,
# ReadWriteOncePod) ties the claim to one node at a time.
SHARED_ACCESS_MODES = frozenset({"ReadWriteMany", "ReadOnlyMany"})


def claim_names(template: PodTemplate) -> list[str]:
    """The PersistentVolumeClaims the pods mount by name, each once (generic ephemeral volumes make a
    claim per pod and are not among them)."""
    names: list[str] = []
    for volume in sequence(template.spec.get("volumes")):
        claim = mapping(mapping(volume).get("persistentVolumeClaim")).get("claimName")
        if isinstance(claim, str) and claim and claim not in names:
            names.append(claim)
    return names


def shared_across_nodes(claim: Resource | None) -> bool:
    """Whether pods on several nodes may mount the claim: its access modes are known and all shared.
    A claim that is not in the scanned manifests may be ReadWriteOnce, so it is not."""
    if claim is None:
        return False
    modes = {str(mode) for mode in sequence(dig(claim.body, ("spec", "accessModes")))}
    return bool(modes) and modes <= SHARED_ACCESS_MODES


def runs_alone(workload: Resource, single_node_claims: list[str]) -> str | None:
    """What in the workload's own manifests says that it runs one pod at a time by design, or None: it
    mounts a claim that only one node can attach (`single_node_claims`, see `shared_across_nodes`), so
    a second pod could not run on another node, or it is a Deployment with `strategy: Recreate`, which
    never runs two of its pods together."""
    if single_node_claims:
        names = ", ".join(f"'{name}'" for name in single_node_claims)
        return f"it mounts PersistentVolumeClaim {names}, which only one node can attach"
    if workload.kind == "Deployment" and dig(workload.body, ("spec", "strategy", "type")) == "Recreate":
        return "its Recreate strategy never runs two of its pods together"
    return None


# The flags with which Kubernetes controllers (controller-runtime, client-go) elect a leader; only the
# leader works, the other replicas wait. ingress-nginx's `--election-id` is not one: every replica serves.
_LEADER_ELECTION = re.compile(r"--(?:leader-elect|leader-election|enable-leader-election)(?:=(\S*))?\Z")


def elects_leader(template: PodTemplate) -> bool:
    """Whether a container is started with a leader election flag that is not set to false."""
    for container in containers(template):
        for argument in [*sequence(container.body.get("command")), *sequence(container.body.get("args"))]:
            match = _LEADER_ELECTION.match(argument.strip()) if isinstance(argument, str) else None
            if match and (match.group(1) or "true").lower() != "false":
                return True
    return False


# Prometheus exporters are named `<thing>_exporter` (Prometheus' naming convention for exporters):
# the last part of the image's repository, without tag or digest.
_EXPORTER_IMAGE = re.compile(r"[-_]exporter\Z")
_METRICS_PORT_NAME = re.compile(r"(?:\A|-)metrics\Z")  # `metrics`, `http-metrics`, `https-metrics`
_EXPOSED_SERVICE_TYPES = ("LoadBalancer", "NodePort")
# The pod annotation (also honoured on Services by the usual `kubernetes-service-endpoints` job) that the
# Prometheus example configuration and most Helm charts use to opt pods into scraping, and the port.
SCRAPE_ANNOTATION = "prometheus.io/scrape"
SCRAPE_PORT_ANNOTATION = "prometheus.io/port"


def _scraped(annotations: dict) -> bool:
    return label_text(annotations.get(SCRAPE_ANNOTATION)).strip().lower() == "true"


def _image_name(image: Any) -> str:
    """The last part of an image's repository: `quay.io/prometheus/node-exporter:v1` → `node-exporter`."""
    last = label_text(image).strip().partition("@")[0].rpartition("/")[2]
    return last.partition(":")[0]


def _only_the_scraped_port(service: Resource) -> bool:
    """Whether a Service exposes one port only, inside the cluster, and carries the scrape annotation
    for it (`prometheus.io/scrape: "true"`, and `prometheus.io/port` absent or naming that port)."""
    annotations = mapping(service.metadata.get("annotations"))
    spec = mapping(service.body.get("spec"))
    ports = [mapping(port) for port in sequence(spec.get("ports"))]
    if not _scraped(annotations) or spec.get("type") in _EXPOSED_SERVICE_TYPES or len(ports) != 1:
        return False
    wanted = label_text(annotations.get(SCRAPE_PORT_ANNOTATION)).strip()
    return not wanted or wanted in {label_text(ports[0].get(key)) for key in ("port", "targetPort")}


def serves_only_metrics(template: PodTemplate, services: list[Resource]) -> str | None:
    """Why the pods' only traffic is Prometheus scraping their metrics, or None: every container that
    declares ports runs a Prometheus exporter (by the exporters' naming convention, `*_exporter`); every
    port they declare is a metrics port (named `metrics` or `*-metrics`, or the `prometheus.io/port` of
    pods annotated for scraping); or each of the Services in front of them (`services`, at least one)
    exposes a single port inside the cluster and is annotated for Prometheus to scrape it."""
    serving = [container for container in containers(template) if sequence(container.body.get("ports"))]
    images = [_image_name(container.body.get("image")) for container in serving]
    if images and all(_EXPORTER_IMAGE.search(image) for image in images):
        return f"it runs the Prometheus exporter '{images[0]}'"
    scraped_port = (
        label_text(template.annotations.get(SCRAPE_PORT_ANNOTATION)).strip()
        if _scraped(template.annotations)
        else None
    )
    ports = [mapping(port) for container in serving for port in sequence(container.body.get("ports"))]
    if ports and all(
        _METRICS_PORT_NAME.search(label_text(port.get("name")))
        or label_text(port.get("containerPort")) == scraped_port
        for port in ports
    ):
        return "its only ports serve metrics"
    if services and all(_only_the_scraped_port(service) for service in services):
        return f"Service '{services[0].name}' exposes only the port Prometheus scrapes"
    return None


# --- spreading pods over nodes and zones ---------------------------------------------------------

ZONE_KEYS = frozenset({"topology.kubernetes.io/zone", "failure-domain.beta.kubernetes.io/zone"})
HOSTNAME_KEY = "kubernetes.io/hostname"


@dataclass(frozen=True)
class SpreadTerm:
    """A topology spread constraint or a pod anti-affinity term of a pod template."""

    kind: str  # "topologySpreadConstraints", "required" or "preferred" (anti-affinity)
    body: dict  # the constraint, or the anti-affinity term (a preferred term's `podAffinityTerm`)
    path: KeyPath  # of `body` inside the template owner's body

    @property
    def topology_key(self) -> Any:
        return self.body.get("topologyKey")

    @property
    def selector(self) -> Any:
        return self.body.get("labelSelector")

    @property
    def anti_affinity(self) -> bool:
        return self.kind != "topologySpreadConstraints"


def spread_terms(template: PodTemplate) -> Iterator[SpreadTerm]:
    """The template's topology spread constraints, then its required and preferred pod anti-affinity
    terms; entries of the wrong type are left out."""
    spec = template.spec
    field = "topologySpreadConstraints"
    for index, body in enumerate(sequence(spec.get(field))):
        if isinstance(body, dict):
            yield SpreadTerm(field, body, template.path + (field, index))
    anti = mapping(mapping(spec.get("affinity")).get("podAntiAffinity"))
    anti_path = template.path + ("affinity", "podAntiAffinity")
    field = "requiredDuringSchedulingIgnoredDuringExecution"
    for index, body in enumerate(sequence(anti.get(field))):
        if isinstance(body, dict):
            yield SpreadTerm("required", body, anti_path + (field, index))
    field = "preferredDuringSchedulingIgnoredDuringExecution"
    for index, weighted in enumerate(sequence(anti.get(field))):
        body = mapping(weighted).get("podAffinityTerm")
        if isinstance(body, dict):
            yield SpreadTerm("preferred", body, anti_path + (field, index, "podAffinityTerm"))


# --- resource quantities -------------------------------------------------------------------------

_QUANTITY = re.compile(r"([+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+))([eE][+-]?[0-9]+|[numkMGTPE]i?|Ki)?\Z")
# Kubernetes stores quantities as 64-bit scaled integers; text far beyond that is not a quantity, and
# refusing it keeps `1e999999999` from taking forever.
_LONGEST_QUANTITY = 64
_LARGEST_EXPONENT = 64
_SUFFIXES = {
    "": Fraction(1),
    "n": Fraction(1, 10**9),
    "u": Fraction(1, 10**6),
    "m": Fraction(1, 1000),
    "k": Fraction(10**3),
    "M": Fraction(10**6),
    "G": Fraction(10**9),
    "T": Fraction(10**12),
    "P": Fraction(10**15),
    "E": Fraction(10**18),
    "Ki": Fraction(2**10),
    "Mi": Fraction(2**20),
    "Gi": Fraction(2**30),
    "Ti": Fraction(2**40),
    "Pi": Fraction(2**50),
    "Ei": Fraction(2**60),
}


def quantity(value: Any) -> Fraction | None:
    """A Kubernetes quantity (`500m`, `1Gi`, `0.5`, `1e3`) as an exact number; None if it is not one."""
    if isinstance(value, bool) or value is None:
        return None
    if isinstance(value, (int, float)):
        return Fraction(value) if value == value and abs(value) != float("inf") else None
    text = str(value).strip()
    match = _QUANTITY.match(text) if len(text) <= _LONGEST_QUANTITY else None
    if not match:
        return None
    number, suffix = match.groups()
    if suffix and suffix[0] in "eE":
        exponent = int(suffix[1:])
        return Fraction(number) * Fraction(10) ** exponent if abs(exponent) <= _LARGEST_EXPONENT else None
    multiplier = _SUFFIXES.get(suffix or "")
    return None if multiplier is None else Fraction(number) * multiplier


def resources_of(container: Container) -> tuple[dict, dict]:
    """(requests, limits) of a container as written."""
    resources = mapping(container.body.get("resources"))
    return mapping(resources.get("requests")), mapping(resources.get("limits"))


def has_request(container: Container, template: PodTemplate, resource_name: str) -> bool:
    """Whether the container gets a request for `resource_name` as Kubernetes defaults it: a request
    left out takes the limit's value, and pod-level resources cover every container."""
    requests, limits = resources_of(container)
    if requests.get(resource_name) is not None or limits.get(resource_name) is not None:
        return True
    pod = mapping(template.spec.get("resources"))
    return any(mapping(pod.get(part)).get(resource_name) is not None for part in ("requests", "limits"))


def has_limit(container: Container, template: PodTemplate, resource_name: str) -> bool:
    _, limits = resources_of(container)
    if limits.get(resource_name) is not None:
        return True
    return mapping(mapping(template.spec.get("resources")).get("limits")).get(resource_name) is not None


# --- label selectors -----------------------------------------------------------------------------


def label_text(value: Any) -> str:
    """A label value as the API server stores it: YAML's `true` or `8080` written unquoted is still text."""
    if isinstance(value, bool):
        return "true" if value else "false"
    return "" if value is None else str(value)


def selects(selector: Any, labels: dict) -> bool:
    """Whether a LabelSelector matches `labels`. An empty selector matches everything; a missing or
    malformed one matches nothing."""
    if not isinstance(selector, dict):
        return False
    for key, value in mapping(selector.get("matchLabels")).items():
        if key not in labels or label_text(labels[key]) != label_text(value):
            return False
    for expression in sequence(selector.get("matchExpressions")):
        if not isinstance(expression, dict):
            return False
        key, operator = expression.get("key"), expression.get("operator")
        if not isinstance(key, str):
            return False
        values = {label_text(v) for v in sequence(expression.get("values"))}
        present = key in labels
        if operator == "In":
            matched = present and label_text(labels[key]) in values
        elif operator == "NotIn":
            matched = not present or label_text(labels[key]) not in values
        elif operator == "Exists":
            matched = present
        elif operator == "DoesNotExist":
            matched = not present
        else:
            return False
        if not matched:
            return False
    return True


def same_application(a: Resource, b: Resource) -> bool:
    """Whether two objects that may lack a namespace belong together. Two explicit, equal namespaces
    match wherever the files lie. An object without a namespace is applied into whatever namespace its
    release targets, so it counts only next to the other: in the same directory, or in one that contains
    the other's. In a scan of several applications, one application's namespace-less `podSelector: {}`
    must not select all the others' pods."""
    if a.namespace is not None and b.namespace is not None:
        return a.namespace == b.namespace
    here, there = os.path.dirname(os.path.normpath(a.file)), os.path.dirname(os.path.normpath(b.file))
    return here == there or _inside(here, there) or _inside(there, here)


def _inside(directory: str, ancestor: str) -> bool:
    return directory.startswith(ancestor.rstrip(os.sep) + os.sep) or (
        ancestor in ("", ".") and directory != ""
    )


def same_namespace(a: Resource, b: Resource) -> bool:
    """Objects without a namespace are applied into whatever namespace the release targets, so they
    match any namespace; two explicit namespaces must be equal."""
    return a.namespace is None or b.namespace is None or a.namespace == b.namespace


# --- autoscalers ---------------------------------------------------------------------------------


def autoscaler_minimum(autoscaler: Resource) -> int | None:
    """The autoscaler's minimum replicas with the API's defaults (HPA 1, KEDA 0); None if not a number
    (or `spec` is not a mapping)."""
    spec = autoscaler.body.get("spec", {})
    if not isinstance(spec, dict):
        return None
    if autoscaler.kind == "HorizontalPodAutoscaler":
        value = spec.get("minReplicas", 1)
    else:
        value = spec.get("minReplicaCount", 0)
    return integer(value)


def autoscaler_minimum_path(autoscaler: Resource) -> KeyPath:
    key = "minReplicas" if autoscaler.kind == "HorizontalPodAutoscaler" else "minReplicaCount"
    return ("spec", key)


def autoscaler_minimum_anchor(autoscaler: Resource) -> KeyPath:
    """Where a finding about the minimum points: the key when written, else the autoscaler's name."""
    path = autoscaler_minimum_path(autoscaler)
    return path if path[-1] in mapping(autoscaler.body.get("spec")) else NAME_PATH


def autoscaler_maximum(autoscaler: Resource) -> int | None:
    """The autoscaler's maximum replicas (KEDA `maxReplicaCount` absent = 100); None if not a number
    (or `spec` is not a mapping)."""
    spec = autoscaler.body.get("spec", {})
    if not isinstance(spec, dict):
        return None
    if autoscaler.kind == "HorizontalPodAutoscaler":
        value = spec.get("maxReplicas")
    else:
        value = spec.get("maxReplicaCount", 100)
    return integer(value)


def autoscaler_maximum_path(autoscaler: Resource) -> KeyPath:
    key = "maxReplicas" if autoscaler.kind == "HorizontalPodAutoscaler" else "maxReplicaCount"
    return ("spec", key)


def autoscaler_target(autoscaler: Resource) -> tuple[str, str] | None:
    """(kind, name) of the workload an HPA or KEDA ScaledObject scales."""
    reference = mapping(mapping(autoscaler.body.get("spec")).get("scaleTargetRef"))
    name = reference.get("name")
    kind = reference.get("kind", "Deployment" if autoscaler.kind == "ScaledObject" else None)
    if not isinstance(name, str) or not isinstance(kind, str):
        return None
    return kind, name
