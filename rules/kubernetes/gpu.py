"""GPU workloads and GPU nodes (checklist § 4, deployment: instance types).

A GPU is requested through an extended resource: `nvidia.com/gpu`, `amd.com/gpu` or `gpu.intel.com/*`.
Rules read the template written in the workload itself, like the container rules."""

from __future__ import annotations

import fnmatch
import re
from collections.abc import Iterator
from fractions import Fraction

from prodready.kubernetes import (
    WORKLOADS,
    Container,
    PodTemplate,
    containers,
    dig,
    mapping,
    quantity,
    resources_of,
    sequence,
)
from prodready.model import Level, Option, Problem, Resource, Scope
from prodready.registry import rule

# Node label keys that pick a kind of node: GPU and accelerator labels (`nvidia.com/gpu.present`,
# `cloud.google.com/gke-accelerator`), instance types and families, and named node pools or hosts,
# which are chosen for their hardware.
_NODE_CHOICE_KEY = re.compile(
    r"gpu|accelerator|(instance|machine)[-_.]?(type|family|category|size)|node-?pool|node-?group|agentpool|hostname",
    re.IGNORECASE,
)
_GPU_VALUE = re.compile(r"gpu|accelerator", re.IGNORECASE)


GPU_RESOURCES = Option(
    "gpu-resources",
    ["nvidia.com/gpu", "amd.com/gpu", "gpu.intel.com/*"],
    "Extended resource names that are GPUs; `*` matches any suffix (PR220-PR223).",
    {"type": "array", "items": {"type": "string"}, "minItems": 1},
)


def is_gpu_resource(name: object, gpu_resources: list[str]) -> bool:
    """Whether a resource name is a GPU: one of the `gpu-resources` option's names or globs."""
    return isinstance(name, str) and any(fnmatch.fnmatchcase(name, pattern) for pattern in gpu_resources)


def gpu_amounts(
    template: PodTemplate, gpu_resources: list[str]
) -> Iterator[tuple[Container, str, Fraction | None]]:
    """(container, resource name, amount) of every GPU request or limit, init containers included;
    the amount is None when it is not a quantity we can read."""
    for container in containers(template, include_init=True):
        for part in resources_of(container):
            for name, value in part.items():
                if is_gpu_resource(name, gpu_resources) and value is not None:
                    yield container, name, quantity(value)


def gpu_request(template: PodTemplate, gpu_resources: list[str]) -> tuple[Container, str] | None:
    """The first container that asks for at least one GPU, and the resource it asks for."""
    for container, name, amount in gpu_amounts(template, gpu_resources):
        if amount is not None and amount > 0:
            return container, name
    return None


def may_use_gpu(template: PodTemplate, gpu_resources: list[str]) -> bool:
    """Whether the pod may get a GPU: a GPU resource not known to be zero, a dynamic resource claim,
    or the NVIDIA runtime exposing the node's GPUs without a request."""
    spec = template.spec
    if any(amount is None or amount != 0 for _, _, amount in gpu_amounts(template, gpu_resources)):
        return True
    if sequence(spec.get("resourceClaims")) or "nvidia" in str(spec.get("runtimeClassName", "")).lower():
        return True
    for container in containers(template, include_init=True):
        for variable in sequence(container.body.get("env")):
            if mapping(variable).get("name") == "NVIDIA_VISIBLE_DEVICES":
                return True
    return False


def targets_gpu_nodes(template: PodTemplate) -> bool:
    """Whether a nodeSelector or a required node affinity term picks nodes by a label that chooses
    hardware, or by a value that names GPUs (`gke-nodepool: gpu-pool`), or the pod names its node."""
    spec = template.spec
    if spec.get("nodeName"):
        return True
    labels = [(key, [value]) for key, value in mapping(spec.get("nodeSelector")).items()]
    required = (
        "affinity",
        "nodeAffinity",
        "requiredDuringSchedulingIgnoredDuringExecution",
        "nodeSelectorTerms",
    )
    for term in sequence(dig(spec, required)):
        for field in ("matchExpressions", "matchFields"):
            for expression in sequence(mapping(term).get(field)):
                expression = mapping(expression)
                labels.append((expression.get("key"), sequence(expression.get("values"))))
    for key, values in labels:
        if isinstance(key, str) and _NODE_CHOICE_KEY.search(key):
            return True
        if any(isinstance(value, str) and _GPU_VALUE.search(value) for value in values):
            return True
    return False


def names_gpu_taint(toleration: dict) -> bool:
    key = toleration.get("key")
    return isinstance(key, str) and "gpu" in key.lower()


def tolerates_gpu_taint(toleration: dict) -> bool:
    """A toleration for the usual GPU taints (`nvidia.com/gpu`, AKS's `sku=gpu`), or for every taint."""
    if names_gpu_taint(toleration):
        return True
    if not toleration.get("key") and toleration.get("operator") == "Exists":
        return True
    value = toleration.get("value")
    return isinstance(value, str) and "gpu" in value.lower()


@rule(
    "PR220",
    "gpu-workload-unpinned",
    Level.WARNING,
    section=4,
    scope=Scope.POD_TEMPLATE,
    kinds=WORKLOADS,
    options=[GPU_RESOURCES],
)
def gpu_workload_unpinned(
    workload: Resource, template: PodTemplate, gpu_resources: list[str]
) -> Iterator[Problem]:
    """A pod requests a GPU but does not choose which GPU nodes it runs on.

    ## What it checks
    A workload whose containers (init containers included) request `nvidia.com/gpu`, `amd.com/gpu` or
    `gpu.intel.com/*` must pick its nodes with a `nodeSelector` or a *required* node affinity on a
    label that chooses hardware: a key naming a GPU, an accelerator, an instance type or family, or a
    node pool or group (`cloud.google.com/gke-accelerator`, `nvidia.com/gpu.product`,
    `node.kubernetes.io/instance-type`, `karpenter.k8s.aws/instance-gpu-name`), or a value naming GPUs
    (`cloud.google.com/gke-nodepool: gpu-pool`). A pod with `nodeName` is pinned too.

    ## Why it matters
    The scheduler only knows that the node has *a* GPU. Without a selector the pod lands on whatever
    GPU node has room, a small inference card where the model needs a large one, and a cluster
    autoscaler or Karpenter may provision the cheapest GPU instance it knows of. The model then fails
    to load or runs far slower, and only in some pods.

    ## Example
    ```yaml
    spec:
      containers:
        - name: inference
          resources:
            limits:
              nvidia.com/gpu: 1
    ```

    ## Fix
    ```yaml
    spec:
      nodeSelector:
        cloud.google.com/gke-accelerator: nvidia-l4
      containers:
        - name: inference
          resources:
            limits:
              nvidia.com/gpu: 1
    ```
    """
    request = gpu_request(template, gpu_resources)
    if request is not None and not targets_gpu_nodes(template):
        container, name = request
        yield Problem(
            f"container '{container.name}' requests {name}, but no nodeSelector or required node affinity "
            "chooses the GPU nodes it runs on",
            workload,
        )


@rule(
    "PR221",
    "gpu-missing-toleration",
    Level.WARNING,
    section=4,
    scope=Scope.POD_TEMPLATE,
    kinds=WORKLOADS,
    options=[GPU_RESOURCES],
)
def gpu_missing_toleration(
    workload: Resource, template: PodTemplate, gpu_resources: list[str]
) -> Iterator[Problem]:
    """A pod requests a GPU but tolerates no GPU taint.

    ## What it checks
    A workload whose containers (init containers included) request `nvidia.com/gpu`, `amd.com/gpu` or
    `gpu.intel.com/*` must tolerate the GPU nodes' taint: a toleration whose key names a GPU
    (`nvidia.com/gpu`, `amd.com/gpu`), one whose value does (AKS's `sku=gpu`), or an `Exists`
    toleration without a key, which tolerates every taint.

    ## Why it matters
    GPU nodes are usually tainted so that ordinary pods do not take their room: GKE taints GPU node
    pools with `nvidia.com/gpu`, AKS documents `sku=gpu`, and Karpenter NodePools for GPUs commonly
    carry a taint. A GPU pod without the toleration cannot be scheduled on them and stays `Pending`.
    Clusters that run the `ExtendedResourceToleration` admission plugin (GKE does) add the toleration
    to pods that request a GPU; there, and where GPU nodes are not tainted, turn this rule off.

    ## Example
    ```yaml
    spec:
      containers:
        - name: train
          resources:
            limits:
              nvidia.com/gpu: 1
    ```

    ## Fix
    ```yaml
    spec:
      tolerations:
        - key: nvidia.com/gpu
          operator: Exists
          effect: NoSchedule
    ```
    """
    request = gpu_request(template, gpu_resources)
    if request is None:
        return
    if any(
        tolerates_gpu_taint(mapping(toleration)) for toleration in sequence(template.spec.get("tolerations"))
    ):
        return
    container, name = request
    yield Problem(
        f"container '{container.name}' requests {name}, but the pod tolerates no GPU taint: "
        "it cannot be scheduled on tainted GPU nodes",
        workload,
    )


@rule(
    "PR222",
    "gpu-request-limit-mismatch",
    Level.ERROR,
    section=4,
    scope=Scope.POD_TEMPLATE,
    kinds=WORKLOADS,
    options=[GPU_RESOURCES],
)
def gpu_request_limit_mismatch(
    workload: Resource, template: PodTemplate, gpu_resources: list[str]
) -> Iterator[Problem]:
    """A container requests GPUs without an equal GPU limit.

    ## What it checks
    Every GPU resource (`nvidia.com/gpu`, `amd.com/gpu`, `gpu.intel.com/*`) in a container's `requests`,
    init containers included, must also be in its `limits`, with the same quantity. A GPU set only in
    `limits` is fine: the request defaults to the limit.

    ## Why it matters
    GPUs cannot be overcommitted, so the API server rejects a pod whose GPU request has no limit or a
    different one. The rollout fails at apply time or, inside a controller, the workload never gets pods.

    ## Example
    ```yaml
    resources:
      requests:
        nvidia.com/gpu: 1
    ```

    ## Fix
    ```yaml
    resources:
      limits:
        nvidia.com/gpu: 1
    ```
    """
    for container in containers(template, include_init=True):
        requests, limits = resources_of(container)
        for name, requested in requests.items():
            if not is_gpu_resource(name, gpu_resources) or requested is None:
                continue
            path = container.path + ("resources", "requests", name)
            limit = limits.get(name)
            if limit is None:
                yield Problem(
                    f"container '{container.name}' requests {requested} {name} but sets no {name} limit",
                    workload,
                    path,
                )
                continue
            request_amount, limit_amount = quantity(requested), quantity(limit)
            if request_amount is not None and limit_amount is not None and request_amount != limit_amount:
                yield Problem(
                    f"container '{container.name}' requests {requested} {name} but its limit is {limit}: "
                    "they must be equal",
                    workload,
                    path,
                )


@rule(
    "PR223",
    "gpu-toleration-without-gpu",
    Level.NOTE,
    section=4,
    scope=Scope.POD_TEMPLATE,
    kinds=WORKLOADS,
    options=[GPU_RESOURCES],
)
def gpu_toleration_without_gpu(
    workload: Resource, template: PodTemplate, gpu_resources: list[str]
) -> Iterator[Problem]:
    """A pod tolerates the GPU taint but requests no GPU.

    ## What it checks
    A workload with a toleration whose key names a GPU (`nvidia.com/gpu`, `amd.com/gpu`) must request a
    GPU in one of its containers. DaemonSets are not checked: device plugins, exporters and node agents
    run on every node, GPU nodes included, by design. Pods that get GPUs another way (a dynamic
    `resourceClaims`, an NVIDIA `runtimeClassName`, `NVIDIA_VISIBLE_DEVICES`) are not checked either.

    ## Why it matters
    The taint keeps ordinary pods off expensive GPU nodes. A pod that tolerates it without needing a
    GPU can be placed there and take the CPU and memory a GPU job needs, so that job waits, or the
    autoscaler adds another GPU node.

    ## Example
    ```yaml
    spec:
      tolerations:
        - key: nvidia.com/gpu
          operator: Exists
          effect: NoSchedule
      containers:
        - name: api
          resources:
            requests: {cpu: 500m, memory: 512Mi}
    ```

    ## Fix
    Remove the toleration, or request the GPU the pod needs.
    """
    if workload.kind == "DaemonSet" or may_use_gpu(template, gpu_resources):
        return
    for position, toleration in enumerate(sequence(template.spec.get("tolerations"))):
        toleration = mapping(toleration)
        if names_gpu_taint(toleration):
            yield Problem(
                f"tolerates the GPU taint '{toleration['key']}' but no container requests a GPU: "
                "it can take a GPU node's room",
                workload,
                template.path + ("tolerations", position),
            )
