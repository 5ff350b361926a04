"""Rollout, rollback and release (checklist § 4 and § 8): progressive delivery with Flagger or Argo
Rollouts, the update strategy of workloads, rollback history, image tags and version labels.

A Deployment that an Argo Rollout names in `workloadRef` is judged through the Rollout (its own
strategy, history and labels are not what a release goes through); container rules (PR406) read the
template where it is written, like the other container rules."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

from prodready.index import Index
from prodready.kubernetes import (
    LONG_RUNNING,
    WORKLOADS,
    PodTemplate,
    containers,
    dig,
    helm_hooks,
    integer,
    is_helm_test,
    label_text,
    mapping,
    own_pod_template,
    percent,
    runs_alone,
    same_application,
    sequence,
    serves_only_metrics,
    workload_kinds,
)
from prodready.model import NAME_PATH, KeyPath, Level, Problem, Resource, Scope
from prodready.registry import rule

ROLLOUT = "argoproj.io/Rollout"
CANARY = "flagger.app/Canary"


# --- PR401 ---------------------------------------------------------------------------------------


def _canary_targets(index: Index) -> set[int]:
    """The `id`s of the workloads that the `targetRef` of a Flagger Canary means."""
    targets: set[int] = set()
    for canary in index.of_kind(CANARY):
        reference = mapping(dig(canary.body, ("spec", "targetRef")))
        kind, name = reference.get("kind", "Deployment"), reference.get("name")
        if isinstance(kind, str) and isinstance(name, str):
            targets.update(id(workload) for workload in index.workloads_named(kind, name, canary))
    return targets


@rule(
    "PR401",
    "no-progressive-delivery",
    Level.NOTE,
    section=4,
    scope=Scope.WORKLOAD,
    kinds=workload_kinds("Deployment"),
)
def no_progressive_delivery(deployment: Resource, index: Index) -> Iterator[Problem]:
    """A Deployment is released to all of its traffic at once, with nothing checking the new version.

    ## What it checks
    Every Deployment must be the `targetRef` of a Flagger `Canary` (`flagger.app`, any version; a
    `targetRef` without `kind` counts as naming a Deployment) in its namespace, or be replaced by an
    Argo `Rollout` that names it in `workloadRef`. Not reported: a Deployment that a Rollout replaces
    (the Rollout is what releases it), one written with `replicas: 0` and no autoscaler (switched
    off), one that runs alone by design (it mounts a PersistentVolumeClaim that only one node can
    attach, or uses `strategy: Recreate`: a canary cannot run beside it), and one that serves only
    metrics (Prometheus exporters by their naming convention, metrics ports, a Service that exposes one
    port annotated for scraping: there is no traffic to shift).

    ## Why it matters
    A rolling update replaces pods as soon as they are ready: a release that starts but returns errors,
    is slow, or breaks one code path reaches every user, and rolling back is a manual decision taken
    after the alerts fire. Progressive delivery sends a small share of traffic to the new version,
    compares its metrics and rolls back by itself.

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
    apiVersion: flagger.app/v1beta1
    kind: Canary
    metadata:
      name: web
    spec:
      targetRef: {apiVersion: apps/v1, kind: Deployment, name: web}
      service: {port: 80}
      analysis:
        interval: 1m
        threshold: 5
        maxWeight: 50
        stepWeight: 10
        metrics:
          - name: request-success-rate
            thresholdRange: {min: 99}
            interval: 1m
    ```
    or migrate it to an Argo Rollout (`workloadRef` pointing at the Deployment works without moving
    the pod template). Components that are not released this way on purpose (operators, cluster
    add-ons) are what the note level and suppressions are for.
    """
    if id(deployment) in index.derived(_canary_targets):
        return
    if index.replicas(deployment) == 0 and not index.autoscalers_of(deployment):
        return  # switched off on purpose
    template = index.pod_template(deployment)
    if template is not None and (
        runs_alone(deployment, index.single_node_claims(template, deployment))
        or serves_only_metrics(template, index.services_selecting(template, deployment))
    ):
        return  # no second version can run beside the first, or no traffic to shift to it
    yield Problem(
        f"Deployment '{deployment.name}' has no Flagger Canary or Argo Rollout: a bad version replaces "
        "every pod and nothing checks it or rolls it back automatically",
        deployment,
    )


# --- PR402 ---------------------------------------------------------------------------------------


def _has_templates(analysis: Any) -> bool:
    """An Argo Rollouts analysis block that runs something: a mapping with at least one template."""
    return bool(sequence(mapping(analysis).get("templates")))


def _canary_checks(canary: dict) -> bool:
    """Whether an Argo Rollouts canary strategy analyses the new version or waits for a person:
    background analysis, a step `analysis`, an `experiment` step with analyses, or a `pause` step
    without a duration (promotion by hand)."""
    if _has_templates(canary.get("analysis")):
        return True
    for step in sequence(canary.get("steps")):
        step = mapping(step)
        if _has_templates(step.get("analysis")):
            return True
        if sequence(mapping(step.get("experiment")).get("analyses")):
            return True
        if isinstance(step.get("pause"), dict) and step["pause"].get("duration") is None:
            return True
    return False


def _blue_green_checks(blue_green: dict) -> bool:
    """Whether an Argo Rollouts blueGreen strategy analyses the new version (before or after
    promotion: a failed post-promotion analysis switches traffic back) or is promoted by hand."""
    if blue_green.get("autoPromotionEnabled") is False:
        return True
    return _has_templates(blue_green.get("prePromotionAnalysis")) or _has_templates(
        blue_green.get("postPromotionAnalysis")
    )


# Flagger load tester tasks that start in the background and answer at once: they generate traffic
# for the metrics to measure but never fail a check (`cmd` is its default task type).
_BACKGROUND_TASKS = frozenset({"cmd", "ngrinder"})


def _webhook_gates(webhook: Any) -> bool:
    """Whether a Flagger webhook fails the analysis when the new version is bad: a `rollout` (the
    default type) or `pre-rollout` hook, except load tester tasks that run in the background."""
    webhook = mapping(webhook)
    if webhook.get("type", "rollout") not in ("rollout", "pre-rollout") or not webhook.get("url"):
        return False
    metadata = mapping(webhook.get("metadata"))
    task = metadata.get("type", "cmd" if "cmd" in metadata else None)
    return task not in _BACKGROUND_TASKS


@rule(
    "PR402",
    "rollout-without-analysis",
    Level.WARNING,
    section=4,
    scope=Scope.RESOURCE,
    kinds={ROLLOUT, CANARY},
)
def rollout_without_analysis(resource: Resource) -> Iterator[Problem]:
    """A progressive rollout promotes the new version without checking it.

    ## What it checks
    - An Argo `Rollout` with a `canary` strategy must run an analysis: background (`canary.analysis`
      with templates), in a step (`analysis`), or in an `experiment` step (`analyses`). A `pause` step
      without a duration counts too: a person promotes the canary.
    - An Argo `Rollout` with a `blueGreen` strategy must run a `prePromotionAnalysis` (or a
      `postPromotionAnalysis`, whose failure switches traffic back), or not promote by itself
      (`autoPromotionEnabled: false`; absent means true).
    - A Flagger `Canary` must list `analysis.metrics` (`canaryAnalysis` in old versions), or run a
      webhook that fails the analysis when the new version is bad: a `rollout` (the default) or
      `pre-rollout` webhook. Flagger load tester tasks that run in the background (`cmd`, the default
      task type, and `ngrinder`) only generate traffic and do not count. `skipAnalysis: true` is
      reported whatever the analysis says: Flagger then promotes without running it.

    ## Why it matters
    Without analysis a canary or blue-green rollout only waits: it shifts traffic on a timer and
    promotes a version that returns errors as long as its pods are ready, so nothing rolls back on its
    own and the progressive rollout protects no better than a rolling update.

    ## Example
    ```yaml
    strategy:
      canary:
        steps:
          - setWeight: 20
          - pause: {duration: 10m}
    ```

    ## Fix
    ```yaml
    strategy:
      canary:
        analysis:
          templates:
            - templateName: success-rate
        steps:
          - setWeight: 20
          - pause: {duration: 10m}
    ```
    For Flagger, add `metrics` (e.g. the built-in `request-success-rate` with a `thresholdRange`).
    """
    if resource.kind == "Rollout":
        strategy = mapping(dig(resource.body, ("spec", "strategy")))
        canary, blue_green = strategy.get("canary"), strategy.get("blueGreen")
        if isinstance(canary, dict) and not _canary_checks(canary):
            yield Problem(
                f"Rollout '{resource.name}' runs a canary with no analysis: a bad version is promoted "
                "without any check and nothing rolls it back",
                resource,
                ("spec", "strategy", "canary"),
            )
        elif isinstance(blue_green, dict) and not _blue_green_checks(blue_green):
            yield Problem(
                f"Rollout '{resource.name}' promotes its blueGreen preview automatically with no "
                "analysis: a bad version goes live and nothing rolls it back",
                resource,
                ("spec", "strategy", "blueGreen"),
            )
    else:
        spec = mapping(resource.body.get("spec"))
        key = "analysis" if "analysis" in spec or "canaryAnalysis" not in spec else "canaryAnalysis"
        if spec.get("skipAnalysis") is True:
            yield Problem(
                f"Canary '{resource.name}' sets skipAnalysis: Flagger promotes every release without "
                "checking it",
                resource,
                ("spec", "skipAnalysis"),
            )
            return
        analysis = mapping(spec.get(key))
        if sequence(analysis.get("metrics")) or any(map(_webhook_gates, sequence(analysis.get("webhooks")))):
            return
        yield Problem(
            f"Canary '{resource.name}' has no metrics in its analysis: Flagger promotes a bad release "
            "as long as its pods are ready",
            resource,
            ("spec", key) if key in spec else NAME_PATH,
        )


# --- PR403 ---------------------------------------------------------------------------------------


@rule(
    "PR403",
    "recreate-strategy",
    Level.NOTE,
    section=4,
    scope=Scope.WORKLOAD,
    kinds=workload_kinds("Deployment"),
)
def recreate_strategy(deployment: Resource, index: Index) -> Iterator[Problem]:
    """A Deployment stops all of its pods before starting the new version.

    ## What it checks
    A Deployment with `spec.strategy.type: Recreate`. Deployments whose pods mount a
    PersistentVolumeClaim are excepted unless the claim, found in the scanned manifests, allows only
    `ReadWriteMany`/`ReadOnlyMany`: a ReadWriteOnce volume cannot attach to a second node, so a
    rolling update would hang and Recreate is the right choice.

    ## Why it matters
    Recreate scales the old ReplicaSet to zero and only then starts the new one: every release is an
    outage that lasts as long as the new pods take to pull, start and become ready, and a release that
    never becomes ready leaves nothing running.

    ## Example
    ```yaml
    spec:
      strategy:
        type: Recreate
    ```

    ## Fix
    Use `type: RollingUpdate` (the default), e.g. with `maxUnavailable: 0` and `maxSurge: 1`. Keep
    Recreate, and suppress this note, where two versions must never run at the same time (a singleton
    controller without leader election, a schema migration that breaks the old version).
    """
    if dig(deployment.body, ("spec", "strategy", "type")) != "Recreate":
        return
    template = own_pod_template(deployment)
    if template is not None and index.single_node_claims(template, deployment):
        return
    yield Problem(
        f"Deployment '{deployment.name}' uses the Recreate strategy: every release stops all pods "
        "before the new ones start, an outage each time",
        deployment,
        ("spec", "strategy", "type"),
    )


# --- PR404 ---------------------------------------------------------------------------------------


def _max_unavailable_path(workload: Resource) -> KeyPath | None:
    """Where the workload's rolling update writes `maxUnavailable`, when it rolls that way."""
    spec = mapping(workload.body.get("spec"))
    if workload.kind == "Deployment":
        if mapping(spec.get("strategy")).get("type", "RollingUpdate") != "RollingUpdate":
            return None
        return ("spec", "strategy", "rollingUpdate", "maxUnavailable")
    if workload.kind == "DaemonSet":
        if mapping(spec.get("updateStrategy")).get("type", "RollingUpdate") != "RollingUpdate":
            return None
        return ("spec", "updateStrategy", "rollingUpdate", "maxUnavailable")
    if workload.kind == "Rollout":
        canary = mapping(mapping(spec.get("strategy")).get("canary"))
        if "trafficRouting" in canary:  # Argo Rollouts ignores maxUnavailable with traffic routing
            return None
        return ("spec", "strategy", "canary", "maxUnavailable")
    return None


def _binds_host_ports(workload: Resource, index: Index) -> bool:
    """Whether the pods take ports on their node (`hostNetwork`, a `hostPort`): a new pod cannot start
    on a node where an old one holds the port, so such rollouts must be allowed one pod down."""
    template = index.pod_template(workload)
    if template is None:
        return False
    if template.spec.get("hostNetwork") is True:
        return True
    return any(
        mapping(port).get("hostPort") not in (None, 0)
        for container in containers(template)
        for port in sequence(container.body.get("ports"))
    )


@rule(
    "PR404",
    "unsafe-rolling-update",
    Level.WARNING,
    section=4,
    scope=Scope.WORKLOAD,
    kinds=workload_kinds("Deployment", "DaemonSet", "Rollout"),
)
def unsafe_rolling_update(workload: Resource, index: Index) -> Iterator[Problem]:
    """A rolling update may take every pod down at once.

    ## What it checks
    The `maxUnavailable` of a Deployment's rolling update, of an Argo Rollout's basic canary (without
    `trafficRouting`, which makes Argo Rollouts ignore it) and of a DaemonSet's rolling update must
    leave a pod running: it is reported when it is 100% (or more), or, for Deployments and Rollouts, an
    integer at or above the replicas (the autoscaler's minimum when one targets the workload, else
    `spec.replicas`, absent = 1). Percentages below 100% round down and always leave a pod. A
    DaemonSet runs one pod per node, a count the manifests do not hold, so only 100% is reported
    there. A workload written with `replicas: 0` is switched off and not reported, and neither is
    `maxUnavailable: 1` on pods that bind host ports (`hostPort`, `hostNetwork`): a new pod cannot
    start on a node where the old one holds the port, so one pod down is how such a rollout moves (a
    single replica is PR301's finding). StatefulSets are
    not checked: their `maxUnavailable` is an alpha field that is ignored unless a feature gate is on.

    ## Why it matters
    The controller may stop every old pod before a new one is ready: each release becomes an outage,
    and a release whose pods never become ready leaves nothing serving.

    ## Example
    ```yaml
    spec:
      replicas: 2
      strategy:
        rollingUpdate:
          maxUnavailable: 2
    ```

    ## Fix
    Keep `maxUnavailable` below the replicas (e.g. `maxUnavailable: 0` with `maxSurge: 1`, or `25%`),
    and run more than one replica.
    """
    path = _max_unavailable_path(workload)
    value = dig(workload.body, path) if path else None
    if path is None or value is None:
        return
    replicas = None if workload.kind == "DaemonSet" else index.replicas(workload)
    if replicas is not None and replicas < 1:
        return
    share = percent(value)
    where = f"{workload.kind} '{workload.name}'"
    if share is not None and share >= 100:
        if workload.kind == "DaemonSet":
            message = (
                f"maxUnavailable {value} restarts the pods of {where} on every node at once: "
                "a bad release breaks all nodes together"
            )
        else:
            message = f"maxUnavailable {value} lets a rollout of {where} take every pod down at once"
        yield Problem(message, workload, path)
        return
    count = integer(value)
    if count is None or replicas is None or count < replicas:
        return
    if count == 1 and _binds_host_ports(workload, index):
        return
    runs = "1 replica" if replicas == 1 else f"{replicas} replicas"
    yield Problem(
        f"maxUnavailable {count} lets a rollout of {where}, which runs {runs}, take every pod down at once",
        workload,
        path,
    )


# --- PR405 ---------------------------------------------------------------------------------------


@rule(
    "PR405",
    "no-rollback-history",
    Level.WARNING,
    section=4,
    scope=Scope.WORKLOAD,
    kinds=workload_kinds("Deployment", "Rollout"),
)
def no_rollback_history(workload: Resource) -> Iterator[Problem]:
    """A Deployment or Argo Rollout keeps no previous revision to roll back to.

    ## What it checks
    `spec.revisionHistoryLimit: 0` on a Deployment or an Argo Rollout (the defaults, 10, are fine).

    ## Why it matters
    The old ReplicaSets are the revisions a rollback returns to: with none kept, `kubectl rollout undo`
    (or `kubectl argo rollouts undo`) has nothing to go back to, and recovering from a bad release
    means finding and re-applying the previous manifests while the incident runs.

    ## Example
    ```yaml
    spec:
      revisionHistoryLimit: 0
    ```

    ## Fix
    Remove the field or keep a few revisions (`revisionHistoryLimit: 3`).
    """
    if integer(dig(workload.body, ("spec", "revisionHistoryLimit"))) != 0:
        return
    yield Problem(
        f"{workload.kind} '{workload.name}' keeps no old revisions (revisionHistoryLimit: 0): "
        "a bad release cannot be rolled back with `rollout undo`",
        workload,
        ("spec", "revisionHistoryLimit"),
    )


# --- PR406 ---------------------------------------------------------------------------------------

# What an image reference may hold; anything else is a placeholder (`<image>`, `${IMAGE}`) to fill in.
_REFERENCE = re.compile(r"[A-Za-z0-9][A-Za-z0-9._/:@+-]*\Z")


def image_tag(image: str) -> tuple[str, str | None] | None:
    """(repository, tag or None) of an image reference; None when it is pinned by digest or is not a
    reference. A registry port (`host:5000/app`) is not a tag: the tag follows the last `/`."""
    image = image.strip()
    if not _REFERENCE.match(image) or "@" in image:  # `@sha256:…`: pinned by digest
        return None
    repository, slash, last = image.rpartition("/")
    if ":" in last:
        name, _, tag = last.partition(":")
        return repository + slash + name, tag
    return image, None


def _kustomized_images(index: Index) -> set[str]:
    """Image names that a Kustomization of the scanned set pins to a tag other than latest or to a
    digest (`images:` of a kustomize.config.k8s.io Kustomization, `spec.images` of a Flux one)."""
    names: set[str] = set()
    for kustomization in index.of_kind(
        "kustomize.config.k8s.io/Kustomization", "kustomize.toolkit.fluxcd.io/Kustomization"
    ):
        if kustomization.group == "kustomize.config.k8s.io":
            entries = kustomization.body.get("images")
        else:
            entries = dig(kustomization.body, ("spec", "images"))
        for entry in sequence(entries):
            entry = mapping(entry)
            pinned = entry.get("digest") or label_text(entry.get("newTag")) not in ("", "latest")
            if isinstance(entry.get("name"), str) and pinned:
                names.add(entry["name"])
    return names


SKAFFOLD = "skaffold/Config"


def _skaffold_artifacts(index: Index) -> list[tuple[Resource, set[str]]]:
    """Per Skaffold configuration (`skaffold.yaml`, apiVersion `skaffold/v…`) of the scanned set: the
    images it builds (`build.artifacts[].image`, in its profiles too), which it tags and writes into
    the manifests it deploys in place of those names."""
    found = []
    for config in index.of_kind(SKAFFOLD):
        builds = [config.body.get("build")]
        builds += [mapping(profile).get("build") for profile in sequence(config.body.get("profiles"))]
        images = {
            artifact["image"]
            for build in builds
            for artifact in map(mapping, sequence(mapping(build).get("artifacts")))
            if isinstance(artifact.get("image"), str)
        }
        found.append((config, images))
    return found


def _built_by_skaffold(repository: str, workload: Resource, index: Index) -> bool:
    """Whether a Skaffold configuration next to the workload (see `same_application`) builds the image."""
    return any(
        repository in images and same_application(config, workload)
        for config, images in index.derived(_skaffold_artifacts)
    )


@rule("PR406", "mutable-image-tag", Level.WARNING, section=8, scope=Scope.POD_TEMPLATE, kinds=WORKLOADS)
def mutable_image_tag(workload: Resource, template: PodTemplate, index: Index) -> Iterator[Problem]:
    """A container image has no tag or the tag `latest`.

    ## What it checks
    The `image` of every container of every workload, init containers included, must carry a tag other
    than `latest`, or be pinned by digest (`@sha256:…`). A registry port (`registry:5000/app`) is not
    a tag. Left alone: images that are not references yet (`<image>`, `${IMAGE}`), images that a
    Kustomization of the scanned manifests pins (`images:` with a `newTag` other than latest, or a
    `digest`), images that a Skaffold configuration builds (`build.artifacts[].image`, profiles
    included, of a `skaffold.yaml` in the manifest's directory or in one that contains it or lies
    below it: Skaffold tags each build and writes the tag into the manifests it deploys), and Helm
    test pods (`helm.sh/hook: test`), which `helm test` runs on demand and which are never rolled out
    or back.

    The `skaffold.yaml` must be scanned with the manifests: a chart or Kustomize root that prodready
    renders is a unit of its own and does not see a `skaffold.yaml` beside it.

    ## Why it matters
    `latest` (which is what no tag means) points at whatever was pushed last: two pods of one
    ReplicaSet can run different builds, a node that pulls again gets a new version nobody released,
    and rolling back to the previous ReplicaSet brings back the same tag, not the old code.

    ## Example
    ```yaml
    containers:
      - name: web
        image: registry.example.com/web:latest
    ```

    ## Fix
    ```yaml
        image: registry.example.com/web:1.4.2
        # or pinned: registry.example.com/web@sha256:4b0e…
    ```
    """
    if is_helm_test(workload):
        return
    for container in containers(template, include_init=True):
        image = container.body.get("image")
        if not isinstance(image, str):
            continue
        parsed = image_tag(image)
        if parsed is None or parsed[1] not in (None, "latest"):
            continue
        if parsed[0] in index.derived(_kustomized_images) or _built_by_skaffold(parsed[0], workload, index):
            continue
        what = "no tag (so latest)" if parsed[1] is None else "the tag latest"
        yield Problem(
            f"container '{container.name}' runs image '{image.strip()}' with {what}: pods may run "
            "different builds and a rollback does not bring the old one back",
            workload,
            container.path + ("image",),
        )


# --- PR407 ---------------------------------------------------------------------------------------

VERSION_LABELS = ("app.kubernetes.io/version", "version")


def _version_label(labels: dict) -> bool:
    return any(label_text(labels.get(key)).strip() for key in VERSION_LABELS)


@rule("PR407", "missing-version-label", Level.NOTE, section=8, scope=Scope.WORKLOAD, kinds=LONG_RUNNING)
def missing_version_label(workload: Resource, index: Index) -> Iterator[Problem]:
    """A long-running workload does not say which version it runs.

    ## What it checks
    Every long-running workload (not Jobs and CronJobs) must carry a non-empty
    `app.kubernetes.io/version` label in its metadata or its pod template. The plain `version` label,
    Istio's and Kiali's convention for the same thing, counts too. An Argo Rollout with `workloadRef`
    is read with the pod template of the Deployment it names; that Deployment is not reported itself.
    Helm test pods (`helm.sh/hook: test`) run on demand and are not checked.

    ## Why it matters
    During an incident the first question is "what changed": dashboards, alerts and `kubectl get -L`
    can group and compare pods by the version label, and an image tag alone does not say which release
    of the application a pod belongs to (or says nothing when it is a digest).

    ## Example
    ```yaml
    metadata:
      name: web
      labels:
        app.kubernetes.io/name: web
    ```

    ## Fix
    ```yaml
    metadata:
      labels:
        app.kubernetes.io/name: web
        app.kubernetes.io/version: "1.4.2"
    ```
    Set it on the pod template too, so that each pod says which version it runs.
    """
    if helm_hooks(workload) or _version_label(mapping(workload.metadata.get("labels"))):
        return
    template = index.pod_template(workload)  # not asked for: the workload's own label counts without it
    if template is not None and _version_label(template.labels):
        return
    yield Problem(
        f"{workload.kind} '{workload.name}' has no app.kubernetes.io/version label: incidents and "
        "dashboards cannot tell which release its pods run",
        workload,
    )
