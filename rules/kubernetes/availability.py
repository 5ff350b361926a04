"""Availability of replicated workloads (checklist § 4): replicas, disruption budgets, spreading.

These rules judge a workload by its *effective* replicas (`Index.replicas`: the autoscaler's minimum
when one targets it, else `spec.replicas`, absent = 1) and skip a Deployment that an Argo Rollout
replaces through `workloadRef`: the Rollout is judged instead, with the Deployment's pod template."""

from __future__ import annotations

from collections.abc import Iterable, Iterator

from prodready.index import Index
from prodready.kubernetes import (
    HOSTNAME_KEY,
    REPLICATED,
    WORKLOADS,
    ZONE_KEYS,
    PodTemplate,
    autoscaler_minimum_anchor,
    containers,
    elects_leader,
    integer,
    mapping,
    percent,
    runs_alone,
    selects,
    sequence,
    serves_only_metrics,
    spread_terms,
)
from prodready.model import NAME_PATH, Level, Option, Problem, Resource, Scope
from prodready.registry import rule

MIN_REPLICAS = Option(
    "min-replicas",
    2,
    "The fewest replicas a replicated workload may run (PR301).",
    {"type": "integer", "minimum": 1},
)


def _replicas_text(count: int) -> str:
    return f"{count} replica" if count == 1 else f"{count} replicas"


@rule(
    "PR301",
    "single-replica",
    Level.WARNING,
    section=4,
    scope=Scope.WORKLOAD,
    kinds=REPLICATED,
    options=[MIN_REPLICAS],
)
def single_replica(workload: Resource, index: Index, min_replicas: int) -> Iterator[Problem]:
    """A replicated workload runs fewer than 2 replicas.

    ## What it checks
    Deployments, StatefulSets, ReplicaSets and Argo Rollouts must run at least 2 replicas (the
    `min-replicas` option). The count is the minimum of the HorizontalPodAutoscaler (`minReplicas`,
    absent = 1) or KEDA ScaledObject (`minReplicaCount`, absent = 0) that targets the workload, else
    `spec.replicas` (absent = 1). A workload written with `replicas: 0` and no autoscaler is switched
    off on purpose and is not reported.

    Where the workload's own manifests show that more replicas are not the fix, the finding is a note
    that says why:

    - it runs alone by design: its pods mount a PersistentVolumeClaim that only one node can attach
      (not found in the scanned manifests with only `ReadWriteMany`/`ReadOnlyMany`), or it is a
      Deployment with `strategy: Recreate`. It is still a single point of failure, but making it
      redundant takes a design change (a claim per replica, leader election), not a higher count;
    - it serves only metrics: its containers run Prometheus exporters (image named `*_exporter` or
      `*-exporter`, the exporters' naming convention), its ports are all metrics ports (`metrics`,
      `*-metrics`, or the `prometheus.io/port` of pods annotated for scraping), or each Service in
      front of it exposes one port, annotated for Prometheus to scrape. Losing its pod leaves a gap in
      metrics, not an outage;
    - nothing sends it requests: its containers declare no port and no Service of the scanned manifests
      selects its pods (a worker, a load generator). Losing its pod pauses its work, and whether that
      matters depends on the work.

    A workload that elects a leader (`--leader-elect`, `--leader-election`, `--enable-leader-election`)
    stays a warning: a second replica is the standby that takes over. What the rule cannot see is how
    much an outage of the workload matters: an exporter whose name follows no convention and whose
    ports say nothing is reported like any service.

    ## Why it matters
    With one pod, every node drain, eviction, crash or rollout of a pod that cannot start leaves the
    service with nothing to answer requests.

    ## Example
    ```yaml
    apiVersion: apps/v1
    kind: Deployment
    metadata:
      name: web
    spec:
      replicas: 1
    ```

    ## Fix
    Run `replicas: 2` or more (or raise the autoscaler's `minReplicas` to 2), and add a
    PodDisruptionBudget so that drains keep one of them up. A workload that runs alone by design needs
    to be made able to run several first; if its outages are acceptable, suppress the note with the
    reason.
    """
    replicas = index.replicas(workload)
    if replicas is None or replicas >= min_replicas:
        return
    spec = mapping(workload.body.get("spec"))
    path = ("spec", "replicas") if "replicas" in spec else NAME_PATH
    autoscalers = index.autoscalers_of(workload)
    if autoscalers:
        names = ", ".join(f"{a.kind} '{a.name}'" for a in autoscalers)
        then = (
            "it then runs one pod or none" if replicas == 0 else "one node drain or crash then takes it down"
        )
        yield Problem(
            f"{workload.kind} '{workload.name}' can scale down to {_replicas_text(replicas)} "
            f"({names}): {then}",
            workload,
            path,
            related=tuple((a, autoscaler_minimum_anchor(a)) for a in autoscalers),
        )
        return
    if replicas == 0:  # without an autoscaler: switched off on purpose
        return
    runs = f"{workload.kind} '{workload.name}' runs {_replicas_text(replicas)}"
    template = index.pod_template(workload)  # not asked for: the count alone is the finding
    if template is None:
        yield Problem(f"{runs}: {_risk(replicas, min_replicas)}", workload, path)
        return
    services = index.services_selecting(template, workload)
    alone = runs_alone(workload, index.single_node_claims(template, workload))
    metrics = serves_only_metrics(template, services)
    if alone:
        yield Problem(
            f"{runs} and cannot simply run more: {alone}. One node drain or crash takes it down; if that "
            "matters, make it able to run several (a claim per replica, leader election)",
            workload,
            path,
            level=Level.NOTE,
        )
    elif metrics:
        yield Problem(
            f"{runs}: {metrics}, so a node drain or crash leaves a gap in metrics rather than an outage",
            workload,
            path,
            level=Level.NOTE,
        )
    elif not services and not any(sequence(c.body.get("ports")) for c in containers(template)):
        yield Problem(
            f"{runs}: nothing sends it requests (it declares no port and no Service selects it), so a node "
            "drain or crash pauses its work rather than failing requests",
            workload,
            path,
            level=Level.NOTE,
        )
    elif elects_leader(template):
        yield Problem(
            f"{runs}: {_risk(replicas, min_replicas)}; it elects a leader, so a second replica waits as a "
            "standby and takes over",
            workload,
            path,
        )
    else:
        yield Problem(f"{runs}: {_risk(replicas, min_replicas)}", workload, path)


def _risk(replicas: int, min_replicas: int) -> str:
    if replicas == 1:
        return "one node drain or crash takes it down"
    return f"fewer than the {min_replicas} required"


@rule(
    "PR302", "missing-pod-disruption-budget", Level.WARNING, section=4, scope=Scope.WORKLOAD, kinds=REPLICATED
)
def missing_pod_disruption_budget(
    workload: Resource, template: PodTemplate, index: Index
) -> Iterator[Problem]:
    """A replicated workload with 2+ replicas, or an autoscaler, has no PodDisruptionBudget.

    ## What it checks
    A Deployment, StatefulSet, ReplicaSet or Argo Rollout that runs 2 or more replicas, or that an
    autoscaler scales, must have its pods selected by a PodDisruptionBudget of its namespace (an empty
    selector selects every pod of the namespace; a PDB without a namespace matches any).

    ## Why it matters
    Node drains (cluster upgrades, autoscaler scale-down, spot reclaim) evict pods without limit unless a
    PodDisruptionBudget says how many may go at once: running several replicas does not help when the
    drain takes all of them in the same minute.

    ## Example
    ```yaml
    apiVersion: apps/v1
    kind: Deployment
    metadata:
      name: web
    spec:
      replicas: 3
      template:
        metadata:
          labels: {app: web}
    ```

    ## Fix
    ```yaml
    apiVersion: policy/v1
    kind: PodDisruptionBudget
    metadata:
      name: web
    spec:
      maxUnavailable: 1
      selector:
        matchLabels: {app: web}
    ```
    """
    autoscaled = bool(index.autoscalers_of(workload))
    replicas = index.replicas(workload)
    if not autoscaled and (replicas is None or replicas < 2):
        return
    if index.selecting("policy/PodDisruptionBudget", template, workload):
        return
    what = "is autoscaled" if autoscaled else f"runs {_replicas_text(replicas or 0)}"
    yield Problem(
        f"{workload.kind} '{workload.name}' {what} but no PodDisruptionBudget selects its pods: "
        "a node drain may evict them all at once",
        workload,
    )


@rule(
    "PR303",
    "pdb-blocks-eviction",
    Level.WARNING,
    section=4,
    scope=Scope.RESOURCE,
    kinds={"policy/PodDisruptionBudget"},
)
def pdb_blocks_eviction(budget: Resource, index: Index) -> Iterator[Problem]:
    """A PodDisruptionBudget allows no pod to be evicted.

    ## What it checks
    A PodDisruptionBudget with `maxUnavailable: 0` or `0%`, with `minAvailable: 100%`, or with an
    integer `minAvailable` at or above the replicas of a workload it selects (the autoscaler's minimum
    when one targets the workload, else `spec.replicas`).

    ## Why it matters
    Such a budget never allows a voluntary eviction: `kubectl drain`, cluster upgrades and the cluster
    autoscaler wait on the node forever (or until someone deletes the budget by hand), so a routine
    maintenance turns into an incident.

    ## Example
    ```yaml
    apiVersion: policy/v1
    kind: PodDisruptionBudget
    metadata:
      name: web
    spec:
      minAvailable: 2
      selector:
        matchLabels: {app: web}   # Deployment web runs 2 replicas
    ```

    ## Fix
    Prefer `maxUnavailable: 1`, which keeps working when the replica count changes, or keep
    `minAvailable` below the number of replicas.
    """
    spec = mapping(budget.body.get("spec"))
    selected = index.workloads_selected_by(budget)
    related = tuple((workload, NAME_PATH) for workload in selected)
    if "maxUnavailable" in spec:
        value = spec["maxUnavailable"]
        if integer(value) == 0 or percent(value) == 0:
            yield Problem(
                f"PodDisruptionBudget '{budget.name}' has maxUnavailable {value}: "
                "no pod can ever be evicted, so node drains hang",
                budget,
                ("spec", "maxUnavailable"),
                related,
            )
        return
    value = spec.get("minAvailable")
    if percent(value) == 100:
        yield Problem(
            f"PodDisruptionBudget '{budget.name}' has minAvailable 100%: no pod can ever be evicted, "
            "so node drains hang",
            budget,
            ("spec", "minAvailable"),
            related,
        )
        return
    minimum = integer(value)
    if minimum is None or minimum < 1:
        return
    blocked = [(w, r) for w in selected if (r := index.replicas(w)) is not None and minimum >= r]
    if blocked:
        workload, replicas = blocked[0]
        yield Problem(
            f"PodDisruptionBudget '{budget.name}' requires {minimum} available pods but {workload.kind} "
            f"'{workload.name}' runs {_replicas_text(replicas)}: no pod can be evicted, so node drains hang",
            budget,
            ("spec", "minAvailable"),
            tuple((w, NAME_PATH) for w, _ in blocked),
        )


def _spreads(template: PodTemplate, keys: Iterable[str], required_keys: Iterable[str] = ()) -> bool:
    """Whether a spread constraint or anti-affinity term on one of `keys` (or a required anti-affinity
    term on one of `required_keys`) applies to the pod's own labels."""
    labels = template.labels
    for term in spread_terms(template):
        key = term.topology_key
        if not isinstance(key, str):
            continue
        on_key = key in keys or (term.kind == "required" and key in required_keys)
        if on_key and selects(term.selector, labels):
            return True
    return False


@rule("PR304", "missing-zone-spread", Level.WARNING, section=4, scope=Scope.WORKLOAD, kinds=REPLICATED)
def missing_zone_spread(workload: Resource, template: PodTemplate, index: Index) -> Iterator[Problem]:
    """A replicated workload with 2+ replicas is not spread across zones.

    ## What it checks
    A Deployment, StatefulSet, ReplicaSet or Argo Rollout that runs 2 or more replicas must have a
    `topologySpreadConstraints` entry or a pod anti-affinity term (required or preferred) on
    `topology.kubernetes.io/zone` (or the older `failure-domain.beta.kubernetes.io/zone`) whose
    `labelSelector` selects the pod's own labels.

    ## Why it matters
    The scheduler packs pods where resources are free; without a zone constraint all replicas can land
    in one zone, and that zone's outage takes the whole service down despite its replicas.

    ## Example
    ```yaml
    spec:
      replicas: 3
      template:
        metadata:
          labels: {app: web}
        spec:
          containers: [...]
    ```

    ## Fix
    ```yaml
        spec:
          topologySpreadConstraints:
            - maxSkew: 1
              topologyKey: topology.kubernetes.io/zone
              whenUnsatisfiable: ScheduleAnyway
              labelSelector:
                matchLabels: {app: web}
    ```
    """
    replicas = index.replicas(workload)
    if replicas is None or replicas < 2 or _spreads(template, ZONE_KEYS):
        return
    yield Problem(
        f"{workload.kind} '{workload.name}' runs {_replicas_text(replicas)} "
        "with nothing spreading them across zones: one zone outage can take them all down",
        workload,
    )


@rule("PR305", "missing-node-spread", Level.NOTE, section=4, scope=Scope.WORKLOAD, kinds=REPLICATED)
def missing_node_spread(workload: Resource, template: PodTemplate, index: Index) -> Iterator[Problem]:
    """A replicated workload with 2+ replicas is not spread across nodes.

    ## What it checks
    A Deployment, StatefulSet, ReplicaSet or Argo Rollout that runs 2 or more replicas must have a
    `topologySpreadConstraints` entry or a pod anti-affinity term (required or preferred) on
    `kubernetes.io/hostname` whose `labelSelector` selects the pod's own labels. A *required*
    anti-affinity term on the zone key counts too: no two pods share a zone, so none share a node.

    ## Why it matters
    Without it the scheduler may put several or all replicas on one node, and a single node failure or
    drain takes them down together.

    ## Example
    ```yaml
    spec:
      replicas: 3
      template:
        metadata:
          labels: {app: web}
        spec:
          containers: [...]
    ```

    ## Fix
    ```yaml
        spec:
          topologySpreadConstraints:
            - maxSkew: 1
              topologyKey: kubernetes.io/hostname
              whenUnsatisfiable: ScheduleAnyway
              labelSelector:
                matchLabels: {app: web}
    ```
    """
    replicas = index.replicas(workload)
    if replicas is None or replicas < 2 or _spreads(template, {HOSTNAME_KEY}, required_keys=ZONE_KEYS):
        return
    yield Problem(
        f"{workload.kind} '{workload.name}' runs {_replicas_text(replicas)} "
        "with nothing spreading them across nodes: they may all land on one node",
        workload,
    )


def _selector_keys(selector: dict) -> set[str]:
    keys = {str(key) for key in mapping(selector.get("matchLabels"))}
    keys.update(
        str(mapping(expression).get("key")) for expression in sequence(selector.get("matchExpressions"))
    )
    return keys


@rule("PR306", "spread-selector-mismatch", Level.WARNING, section=4, scope=Scope.WORKLOAD, kinds=WORKLOADS)
def spread_selector_mismatch(workload: Resource, template: PodTemplate, index: Index) -> Iterator[Problem]:
    """A topology spread constraint or pod anti-affinity term does not select the pod's own labels.

    ## What it checks
    Every `topologySpreadConstraints` entry with a `labelSelector` must select the labels of the pod
    template it is written in: a spread constraint only spreads the pods it counts.

    Pod anti-affinity terms are held to less, because keeping away from *another* application's pods
    is a legitimate use (Argo CD's manifests, for one, keep each component away from `part-of: argocd`
    pods). An anti-affinity term is reported only when it looks like a self-spread term gone wrong: it
    names no other namespace (`namespaces`, `namespaceSelector`), its selector uses only label keys
    the pod itself carries, it does not select the pod's own labels, and it selects no pod template of
    any workload in the scanned manifests of that namespace.

    ## Why it matters
    A selector that does not match the pod (a typo, a renamed label, a block copied from another
    workload) silently does nothing: the replicas it was written to spread can all land on one node or
    in one zone.

    ## Example
    ```yaml
    template:
      metadata:
        labels: {app: web}
      spec:
        topologySpreadConstraints:
          - maxSkew: 1
            topologyKey: topology.kubernetes.io/zone
            whenUnsatisfiable: ScheduleAnyway
            labelSelector:
              matchLabels: {app: web-server}
    ```

    ## Fix
    Make the `labelSelector` select the template's own labels (`matchLabels: {app: web}`).
    """
    labels = template.labels
    related = ((workload, NAME_PATH),) if template.owner is not workload else ()
    for term in spread_terms(template):
        selector = term.selector
        if not isinstance(selector, dict) or selects(selector, labels):
            continue
        key = term.topology_key if isinstance(term.topology_key, str) else "?"
        if not term.anti_affinity:
            message = (
                f"topology spread constraint on {key} does not select the pods of {workload.kind} "
                f"'{workload.name}': it does not spread them"
            )
        elif (
            "namespaces" not in term.body
            and "namespaceSelector" not in term.body
            and _selector_keys(selector) <= {str(k) for k in labels}
            and not index.selects_any_pod(selector, workload)
        ):
            message = (
                f"pod anti-affinity term on {key} selects no pod, not even those of {workload.kind} "
                f"'{workload.name}': it keeps nothing apart"
            )
        else:
            continue
        yield Problem(message, template.owner, term.path + ("labelSelector",), related)
