"""Horizontal autoscaling (checklist § 4): HorizontalPodAutoscalers (autoscaling/v1, v2, v2beta2,
v2beta1) and KEDA ScaledObjects, and the workloads they scale.

A Deployment that an Argo Rollout replaces through `workloadRef` is judged through the Rollout: the
autoscaler should target the Rollout, and the Rollout's pods are the Deployment's template."""

from __future__ import annotations

from collections.abc import Iterator

from prodready.index import Index
from prodready.kubernetes import (
    AUTOSCALED,
    AUTOSCALERS,
    REPLICATED,
    autoscaler_maximum,
    autoscaler_maximum_path,
    autoscaler_minimum,
    autoscaler_minimum_anchor,
    autoscaler_target,
    containers,
    dig,
    elects_leader,
    has_request,
    mapping,
    runs_alone,
    sequence,
    serves_only_metrics,
)
from prodready.model import NAME_PATH, KeyPath, Level, Problem, Resource, Scope
from prodready.registry import rule

UTILIZATION_RESOURCES = ("cpu", "memory")


def _takes_no_more_load(workload: Resource, index: Index) -> bool:
    """Whether the workload's own manifests show that more of its pods would not take more load."""
    if workload.kind == "StatefulSet" and sequence(dig(workload.body, ("spec", "volumeClaimTemplates"))):
        return True
    template = index.pod_template(workload)
    return template is not None and bool(
        elects_leader(template)
        or runs_alone(workload, index.single_node_claims(template, workload))
        or serves_only_metrics(template, index.services_selecting(template, workload))
    )


@rule("PR310", "missing-autoscaler", Level.NOTE, section=4, scope=Scope.WORKLOAD, kinds=AUTOSCALED)
def missing_autoscaler(workload: Resource, index: Index) -> Iterator[Problem]:
    """A Deployment, StatefulSet or Argo Rollout that could scale out has no autoscaler.

    ## What it checks
    Every Deployment, StatefulSet and Argo Rollout should be the `scaleTargetRef` of a
    HorizontalPodAutoscaler (any API version) or a KEDA ScaledObject in its namespace. A Deployment an
    Argo Rollout replaces through `workloadRef` is not checked; the Rollout is.

    Left alone are the workloads whose own manifests show that more pods would not take more load:

    - a StatefulSet with `volumeClaimTemplates`: each replica holds its own data, and adding one is a
      change of the cluster it forms (rebalancing, replication), not a reaction to CPU;
    - a workload that runs alone by design: its pods mount a PersistentVolumeClaim that only one node
      can attach, or it is a Deployment with `strategy: Recreate`;
    - a workload that elects a leader (`--leader-elect`, `--leader-election`,
      `--enable-leader-election`): only the leader works;
    - a workload that serves only metrics (Prometheus exporters by their naming convention, pods whose
      ports are all metrics ports, Services that expose one port annotated for scraping): its load is
      the scrape interval, not its users;
    - a workload written with `replicas: 0` and no autoscaler: switched off.

    It is a note: whether a fixed replica count is enough depends on how the load varies, which no
    manifest shows.

    ## Why it matters
    A fixed replica count is sized for one load: a traffic peak saturates it and the service slows down
    or fails, while quiet hours pay for idle pods.

    ## Example
    ```yaml
    apiVersion: apps/v1
    kind: Deployment
    metadata:
      name: web
    spec:
      replicas: 3
    ```

    ## Fix
    ```yaml
    apiVersion: autoscaling/v2
    kind: HorizontalPodAutoscaler
    metadata:
      name: web
    spec:
      scaleTargetRef: {apiVersion: apps/v1, kind: Deployment, name: web}
      minReplicas: 3
      maxReplicas: 10
      metrics:
        - type: Resource
          resource:
            name: cpu
            target: {type: Utilization, averageUtilization: 70}
    ```
    A service whose load is steady may keep its fixed count: suppress the note with the reason.
    """
    if (
        index.autoscalers_of(workload)
        or index.replicas(workload) == 0
        or _takes_no_more_load(workload, index)
    ):
        return
    yield Problem(
        f"{workload.kind} '{workload.name}' has no HorizontalPodAutoscaler or KEDA ScaledObject: "
        "its replica count stays fixed under load",
        workload,
    )


@rule("PR311", "autoscaler-target-missing", Level.WARNING, section=4, scope=Scope.RESOURCE, kinds=AUTOSCALERS)
def autoscaler_target_missing(autoscaler: Resource, index: Index) -> Iterator[Problem]:
    """An autoscaler's `scaleTargetRef` names nothing in the scanned manifests.

    ## What it checks
    The `scaleTargetRef` (kind and name; a KEDA ScaledObject without `kind` means a Deployment) of a
    HorizontalPodAutoscaler or KEDA ScaledObject must name an object of the scanned manifests in the
    autoscaler's namespace. Any kind counts, custom resources with a scale subresource included.

    ## Why it matters
    A target renamed or removed leaves an autoscaler that scales nothing: the workload it was meant for
    runs at a fixed size and nobody notices until the next peak.

    ## Example
    ```yaml
    spec:
      scaleTargetRef:
        apiVersion: apps/v1
        kind: Deployment
        name: web-server   # the Deployment is called web
    ```

    ## Fix
    Point `scaleTargetRef` at the workload's kind and name, or delete the autoscaler. Scan the
    autoscaler together with its target.
    """
    target = autoscaler_target(autoscaler)
    if target is None:
        return
    kind, name = target
    if index.named(kind, name, autoscaler) is None:
        yield Problem(
            f"{autoscaler.kind} '{autoscaler.name}' scales {kind} '{name}', "
            "which is not in the scanned manifests",
            autoscaler,
            ("spec", "scaleTargetRef", "name"),
        )


@rule("PR312", "autoscaler-min-replicas", Level.WARNING, section=4, scope=Scope.RESOURCE, kinds=AUTOSCALERS)
def autoscaler_min_replicas(autoscaler: Resource) -> Iterator[Problem]:
    """An autoscaler lets its workload scale below 2 replicas.

    ## What it checks
    A HorizontalPodAutoscaler's `minReplicas` (absent = 1) or a KEDA ScaledObject's `minReplicaCount`
    (absent = 0) must be at least 2.

    ## Why it matters
    At its minimum the workload runs a single pod (or none, waiting for a cold start): quiet hours are
    exactly when node drains and upgrades happen, and one eviction then takes the service down.

    ## Example
    ```yaml
    apiVersion: autoscaling/v2
    kind: HorizontalPodAutoscaler
    spec:
      minReplicas: 1
      maxReplicas: 10
    ```

    ## Fix
    Set `minReplicas: 2` (KEDA: `minReplicaCount: 2`) or more.
    """
    minimum = autoscaler_minimum(autoscaler)
    if minimum is None or minimum >= 2:
        return
    path = autoscaler_minimum_anchor(autoscaler)
    key = path[-1] if path != NAME_PATH else None
    if key is None:
        default = "minReplicas" if autoscaler.kind == "HorizontalPodAutoscaler" else "minReplicaCount"
        written = f"has no {default} (default {minimum})"
    else:
        written = f"has {key} {minimum}"
    yield Problem(
        f"{autoscaler.kind} '{autoscaler.name}' {written}: at its minimum "
        + (
            "the workload is scaled to zero"
            if minimum == 0
            else "one eviction or crash takes the workload down"
        ),
        autoscaler,
        path,
    )


def utilization_metrics(autoscaler: Resource) -> Iterator[tuple[str, str | None, KeyPath]]:
    """(resource, container or None for all, anchor) of every metric that scales on the utilization
    of a container resource, the defaults of the API included."""
    spec = mapping(autoscaler.body.get("spec"))
    if autoscaler.kind == "ScaledObject":
        for number, trigger in enumerate(sequence(spec.get("triggers"))):
            trigger = mapping(trigger)
            resource = trigger.get("type")
            metadata = mapping(trigger.get("metadata"))
            metric_type = trigger.get("metricType", metadata.get("type"))
            if resource in UTILIZATION_RESOURCES and metric_type in (None, "Utilization"):
                container = metadata.get("containerName")
                yield (
                    resource,
                    container if isinstance(container, str) else None,
                    ("spec", "triggers", number),
                )
        return
    if autoscaler.api_version == "autoscaling/v1":
        # without a target, autoscaling/v1 defaults to 80 % CPU utilization
        written = "targetCPUUtilizationPercentage" in spec
        yield "cpu", None, ("spec", "targetCPUUtilizationPercentage") if written else NAME_PATH
        return
    metrics = spec.get("metrics")
    if metrics is None or metrics == []:
        yield "cpu", None, NAME_PATH  # the API defaults an HPA without metrics to 80 % CPU utilization
        return
    for number, metric in enumerate(sequence(metrics)):
        metric = mapping(metric)
        field = {"Resource": "resource", "ContainerResource": "containerResource"}.get(
            str(metric.get("type"))
        )
        if field is None:
            continue
        source = mapping(metric.get(field))
        resource = source.get("name")
        utilization = (
            mapping(source.get("target")).get("type") == "Utilization"
            or source.get("targetAverageUtilization") is not None  # autoscaling/v2beta1
        )
        if resource in UTILIZATION_RESOURCES and utilization:
            container = source.get("container") if field == "containerResource" else None
            if field == "containerResource" and not isinstance(container, str):
                continue
            yield resource, container, ("spec", "metrics", number, field, "name")


@rule("PR313", "autoscaler-without-requests", Level.ERROR, section=4, scope=Scope.RESOURCE, kinds=AUTOSCALERS)
def autoscaler_without_requests(autoscaler: Resource, index: Index) -> Iterator[Problem]:
    """An autoscaler scales on CPU or memory utilization of containers that request none.

    ## What it checks
    For a HorizontalPodAutoscaler metric of type `Resource` (or `ContainerResource`) on `cpu` or
    `memory` with a `Utilization` target (`targetAverageUtilization` in autoscaling/v2beta1,
    `targetCPUUtilizationPercentage` in autoscaling/v1; an HPA without any metric defaults to 80 % CPU),
    and for a KEDA `cpu`/`memory` trigger whose `metricType` is `Utilization` or absent, every regular
    container of the target (or the one container named) must request that resource. A limit without a
    request counts (Kubernetes copies it), and so do pod-level resources.

    ## Why it matters
    Utilization is usage divided by request. When one container has no request the HPA cannot compute
    it, reports `FailedGetResourceMetric`, and does not scale at all.

    ## Example
    ```yaml
    metrics:
      - type: Resource
        resource:
          name: cpu          # but the target's container has no cpu request
          target: {type: Utilization, averageUtilization: 70}
    ```

    ## Fix
    Give every container of the target a `requests` entry for that resource, or scale on an
    `AverageValue` target instead.
    """
    target = index.autoscaler_target_of(autoscaler)
    template = index.pod_template(target) if target is not None else None
    if target is None or template is None:
        return
    for resource, only, path in utilization_metrics(autoscaler):
        lacking = [
            container
            for container in containers(template)
            if (only is None or container.name == only) and not has_request(container, template, resource)
        ]
        if not lacking:
            continue
        names = ", ".join(f"'{container.name}'" for container in lacking)
        who = f"container {names} requests" if len(lacking) == 1 else f"containers {names} request"
        yield Problem(
            f"{autoscaler.kind} '{autoscaler.name}' scales on {resource} utilization but {who} no {resource} "
            f"in {target.kind} '{target.name}': it cannot compute utilization",
            autoscaler,
            path,
            tuple((template.owner, container.path) for container in lacking),
        )


@rule("PR314", "replicas-with-autoscaler", Level.NOTE, section=4, scope=Scope.WORKLOAD, kinds=REPLICATED)
def replicas_with_autoscaler(workload: Resource, index: Index) -> Iterator[Problem]:
    """A workload sets `spec.replicas` while an autoscaler manages it.

    ## What it checks
    A Deployment, StatefulSet, ReplicaSet or Argo Rollout that a HorizontalPodAutoscaler or KEDA
    ScaledObject targets must not write `spec.replicas`.

    ## Why it matters
    Every `kubectl apply`, Helm upgrade or GitOps sync sets the replicas back to the written number, so
    a service that the autoscaler grew for a peak is cut down in the middle of it, then grown again.

    ## Example
    ```yaml
    kind: Deployment
    spec:
      replicas: 3   # and an HPA scales this Deployment
    ```

    ## Fix
    Delete `spec.replicas` from the manifest and let the autoscaler's `minReplicas` set the floor.
    """
    replicas = mapping(workload.body.get("spec")).get("replicas")
    if replicas is None:
        return
    autoscalers = index.autoscalers_of(workload)
    if autoscalers:
        first = autoscalers[0]
        yield Problem(
            f"{workload.kind} '{workload.name}' sets replicas {replicas} while {first.kind} '{first.name}' "
            f"scales it: every apply resets the scale to {replicas}",
            workload,
            ("spec", "replicas"),
            tuple((autoscaler, ("spec", "scaleTargetRef", "name")) for autoscaler in autoscalers),
        )


@rule("PR315", "autoscaler-cannot-scale", Level.NOTE, section=4, scope=Scope.RESOURCE, kinds=AUTOSCALERS)
def autoscaler_cannot_scale(autoscaler: Resource) -> Iterator[Problem]:
    """An autoscaler's maximum equals its minimum.

    ## What it checks
    A HorizontalPodAutoscaler's `maxReplicas` equal to its `minReplicas` (absent = 1), or a KEDA
    ScaledObject's `maxReplicaCount` (absent = 100) equal to its `minReplicaCount` (absent = 0).

    ## Why it matters
    Such an autoscaler never changes the replica count: it only looks like the workload scales, and it
    takes the replica count away from `spec.replicas` where readers expect it.

    ## Example
    ```yaml
    spec:
      minReplicas: 3
      maxReplicas: 3
    ```

    ## Fix
    Raise `maxReplicas` to what the workload may need at its peak, or delete the autoscaler and set
    `spec.replicas`.
    """
    minimum, maximum = autoscaler_minimum(autoscaler), autoscaler_maximum(autoscaler)
    if minimum is not None and maximum is not None and minimum == maximum:
        yield Problem(
            f"{autoscaler.kind} '{autoscaler.name}' has maximum and minimum replicas both {maximum}: "
            "it never scales",
            autoscaler,
            autoscaler_maximum_path(autoscaler),
        )
