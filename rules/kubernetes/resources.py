"""Resource requests and limits of containers (checklist § 4, deployment: resource limits).

Container rules read the template written in the workload itself: a Deployment that an Argo Rollout
names in `workloadRef` is checked on its own, so the Rollout would only repeat its findings. Helm test
pods (`helm.sh/hook: test`) run for seconds when someone runs `helm test`; PR201 to PR203 leave them
alone."""

from collections.abc import Iterator

from prodready.kubernetes import (
    WORKLOADS,
    PodTemplate,
    containers,
    has_limit,
    has_request,
    is_helm_test,
    quantity,
    resources_of,
)
from prodready.model import Level, Problem, Resource, Scope
from prodready.registry import rule


@rule(
    "PR201", "container-missing-requests", Level.WARNING, section=4, scope=Scope.POD_TEMPLATE, kinds=WORKLOADS
)
def container_missing_requests(workload: Resource, template: PodTemplate) -> Iterator[Problem]:
    """A container has no CPU or no memory request.

    ## What it checks
    Every container of every workload, init containers included, must request both `cpu` and `memory`.
    A request left out but covered by a limit counts (Kubernetes copies the limit), and so do pod-level
    `spec.resources`. Helm test pods are not checked.

    ## Why it matters
    The scheduler places pods by their requests. A pod without them lands on a node that cannot hold it,
    is the first to be evicted under pressure, and gives an autoscaler nothing to compute utilization from.

    ## Example
    ```yaml
    containers:
      - name: web
        image: registry.example.com/web:1.4.2
        resources:
          limits:
            memory: 512Mi
    ```

    ## Fix
    ```yaml
        resources:
          requests:
            cpu: 250m
            memory: 512Mi
          limits:
            memory: 512Mi
    ```
    """
    if is_helm_test(workload):
        return
    for container in containers(template, include_init=True):
        missing = [
            label
            for name, label in (("cpu", "CPU"), ("memory", "memory"))
            if not has_request(container, template, name)
        ]
        if missing:
            what = " or ".join(missing)
            yield Problem(f"container '{container.name}' has no {what} request", workload, container.path)


@rule(
    "PR202",
    "container-missing-memory-limit",
    Level.WARNING,
    section=4,
    scope=Scope.POD_TEMPLATE,
    kinds=WORKLOADS,
)
def container_missing_memory_limit(workload: Resource, template: PodTemplate) -> Iterator[Problem]:
    """A container has no memory limit.

    ## What it checks
    Every regular container (sidecar init containers included) must set `resources.limits.memory`,
    or the pod must set a pod-level memory limit. Helm test pods are not checked.

    ## Why it matters
    Memory is not compressible: a container without a limit can grow until the node runs out and the
    kernel kills whatever it picks, often a neighbour that did nothing wrong.

    ## Example
    ```yaml
    resources:
      requests:
        cpu: 250m
        memory: 512Mi
    ```

    ## Fix
    ```yaml
    resources:
      requests:
        cpu: 250m
        memory: 512Mi
      limits:
        memory: 512Mi
    ```
    """
    if is_helm_test(workload):
        return
    for container in containers(template):
        if not has_limit(container, template, "memory"):
            yield Problem(f"container '{container.name}' has no memory limit", workload, container.path)


@rule(
    "PR203",
    "container-missing-cpu-limit",
    Level.WARNING,
    section=4,
    scope=Scope.POD_TEMPLATE,
    kinds=WORKLOADS,
    default_on=False,
)
def container_missing_cpu_limit(workload: Resource, template: PodTemplate) -> Iterator[Problem]:
    """A container has no CPU limit (off by default).

    ## What it checks
    Every regular container must set `resources.limits.cpu`, or the pod a pod-level CPU limit. Helm
    test pods are not checked.

    ## Why it matters
    CPU limits throttle a container even when the node has idle CPU, which often hurts latency more than
    it protects neighbours; that is why this rule is off by default. Teams that want hard CPU caps (for
    cost control or strict multi-tenancy) enable it.

    ## Example
    ```yaml
    resources:
      requests:
        cpu: 250m
    ```

    ## Fix
    ```yaml
    resources:
      requests:
        cpu: 250m
      limits:
        cpu: "1"
    ```
    """
    if is_helm_test(workload):
        return
    for container in containers(template):
        if not has_limit(container, template, "cpu"):
            yield Problem(f"container '{container.name}' has no CPU limit", workload, container.path)


@rule("PR204", "requests-exceed-limits", Level.ERROR, section=4, scope=Scope.POD_TEMPLATE, kinds=WORKLOADS)
def requests_exceed_limits(workload: Resource, template: PodTemplate) -> Iterator[Problem]:
    """A container requests more of a resource than its limit allows.

    ## What it checks
    For every resource named in both `requests` and `limits` of a container (init containers included),
    the request must not exceed the limit. Quantities are compared as numbers: `500m` is less than `1`,
    `1Gi` is more than `1000Mi`, `0.5` equals `500m`.

    ## Why it matters
    The API server rejects such a pod, so the rollout fails at apply time, or, inside a controller,
    the workload silently never gets pods.

    ## Example
    ```yaml
    resources:
      requests:
        memory: 1Gi
      limits:
        memory: 1000Mi
    ```

    ## Fix
    Lower the request or raise the limit so that request ≤ limit.
    """
    for container in containers(template, include_init=True):
        requests, limits = resources_of(container)
        for name, requested in requests.items():
            request, limit = quantity(requested), quantity(limits.get(name))
            if request is not None and limit is not None and request > limit:
                yield Problem(
                    f"container '{container.name}' requests {requested} {name}, more than its limit {limits[name]}",
                    workload,
                    container.path + ("resources", "requests", name),
                )
