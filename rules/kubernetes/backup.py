"""Backup and disaster recovery (checklist § 9): persistent volumes and the Velero Schedules that back
them up.

A Deployment that an Argo Rollout replaces through `workloadRef` is judged through the Rollout, with the
Deployment's pod template: the Rollout is what runs."""

from __future__ import annotations

import fnmatch
import re
from collections import defaultdict
from collections.abc import Iterator

from prodready.index import Index
from prodready.kubernetes import WORKLOADS, PodTemplate, claim_names, dig, mapping, selects, sequence
from prodready.model import Level, Problem, Resource, Scope
from prodready.registry import rule

SCHEDULE = "velero.io/Schedule"

# The pod annotation that opts volumes into Velero's file-system backup one by one.
OPT_IN_ANNOTATION = "backup.velero.io/backup-volumes"

# A Velero namespace pattern (Velero 1.18 accepts `*`, `?` and `[abc]` in namespace names).
_GLOB = re.compile(r"[*?\[]")


def _includes(schedule: Resource, namespace: str | None) -> bool:
    """Whether a Velero Schedule backs up `namespace`: `includedNamespaces` absent, empty, `*` or
    naming it, and `excludedNamespaces` not naming it. Names are glob patterns (`*`, `?`, `[abc]`), as
    in Velero 1.18. A namespace-less object may be applied into any namespace, so every schedule may
    include it."""
    if namespace is None:
        return True
    template = mapping(dig(schedule.body, ("spec", "template")))
    included = [str(name) for name in sequence(template.get("includedNamespaces")) if name is not None]
    excluded = [str(name) for name in sequence(template.get("excludedNamespaces")) if name is not None]
    if included and not any(fnmatch.fnmatchcase(namespace, pattern) for pattern in included):
        return False
    return not any(fnmatch.fnmatchcase(namespace, pattern) for pattern in excluded)


def _schedules_by_namespace(index: Index) -> dict[str | None, list[Resource]]:
    """Per namespace of the scanned objects: the Velero Schedules, not paused, that back it up, in scan
    order. Schedules that name their namespaces plainly are looked up by name; only the others (all
    namespaces, glob patterns) are tested against every namespace."""
    active = [s for s in index.of_kind(SCHEDULE) if dig(s.body, ("spec", "paused")) is not True]
    by_name: dict[str, list[Resource]] = defaultdict(list)
    general: list[Resource] = []
    for schedule in active:
        included = sequence(dig(schedule.body, ("spec", "template", "includedNamespaces")))
        if included and all(isinstance(name, str) and not _GLOB.search(name) for name in included):
            for name in dict.fromkeys(included):
                by_name[name].append(schedule)
        else:
            general.append(schedule)
    table: dict[str | None, list[Resource]] = {}
    for namespace in index.namespaces:
        # a namespace-less object may be applied into any namespace: every schedule may include it
        candidates = active if namespace is None else by_name.get(namespace, []) + general
        found = [s for s in candidates if _includes(s, namespace)]
        table[namespace] = sorted(found, key=index.position)
    return table


def _claim_templates(workload: Resource) -> list[dict]:
    if workload.kind != "StatefulSet":
        return []
    return [
        mapping(t)
        for t in sequence(dig(workload.body, ("spec", "volumeClaimTemplates")))
        if isinstance(t, dict)
    ]


def _label_sets(
    workload: Resource,
    template: PodTemplate | None,
    claim_templates: list[dict],
    claims: list[str],
    index: Index,
) -> list[dict] | None:
    """The labels a Velero label selector may find on the objects that hold the data: the workload, its
    pods, the claims its volumeClaimTemplates make (their labels plus the StatefulSet's selector labels,
    which the controller copies onto them) and the claims it mounts; None when a mounted claim is not in
    the scanned manifests (its labels are unknown)."""
    sets = [mapping(workload.metadata.get("labels"))]
    if template is not None:
        sets.append(template.labels)
    selector_labels = mapping(dig(workload.body, ("spec", "selector", "matchLabels")))
    for claim_template in claim_templates:
        sets.append({**selector_labels, **mapping(mapping(claim_template.get("metadata")).get("labels"))})
    for name in claims:
        claim = index.named("PersistentVolumeClaim", name, workload)
        if claim is None:
            return None
        sets.append(mapping(claim.metadata.get("labels")))
    return sets


def _selects_data(schedule: Resource, label_sets: list[dict] | None) -> bool:
    """Whether the schedule's label selectors (`labelSelector`, `orLabelSelectors`), if any, pick one of
    the objects that hold the data; unknown labels count as picked."""
    template = mapping(dig(schedule.body, ("spec", "template")))
    selectors = [template["labelSelector"]] if template.get("labelSelector") is not None else []
    selectors += [s for s in sequence(template.get("orLabelSelectors")) if s is not None]
    if not selectors or label_sets is None:
        return True
    return any(selects(selector, labels) for selector in selectors for labels in label_sets)


@rule("PR601", "volume-without-backup", Level.WARNING, section=9, scope=Scope.WORKLOAD, kinds=WORKLOADS)
def volume_without_backup(workload: Resource, index: Index) -> Iterator[Problem]:
    """A workload keeps data in persistent volumes that no Velero Schedule backs up.

    ## What it checks
    A StatefulSet with `volumeClaimTemplates`, or any workload whose pods mount a PersistentVolumeClaim
    (`volumes[].persistentVolumeClaim`), must lie in a namespace that a Velero `Schedule` (velero.io)
    backs up:

    - `spec.template.includedNamespaces` absent, empty, `*`, or naming the namespace, and
      `excludedNamespaces` not naming it (names are glob patterns, as in Velero 1.18);
    - the schedule is not `paused`;
    - if it has a `labelSelector` or `orLabelSelectors`, one of them selects the workload, its pods or
      the claims (a mounted claim that is not in the scanned manifests has unknown labels and counts as
      selected).

    A workload without a namespace may be applied into any namespace, so any active schedule counts for
    it. When the scanned manifests hold no Velero Schedule at all, backups may well be configured
    elsewhere, and the finding is a note. Generic ephemeral volumes are not checked: they die with the
    pod. Whether the schedule backs up the data of volumes, not only the objects, is PR602.

    ## Why it matters
    A deleted namespace, a failed storage backend or a bad migration destroys the data of a persistent
    volume. Without a scheduled backup that includes it, there is nothing to restore from.

    ## Example
    ```yaml
    apiVersion: apps/v1
    kind: StatefulSet
    metadata:
      name: db
      namespace: shop
    spec:
      volumeClaimTemplates:
        - metadata: {name: data}
          spec:
            accessModes: [ReadWriteOnce]
            resources: {requests: {storage: 10Gi}}
    ```

    ## Fix
    ```yaml
    apiVersion: velero.io/v1
    kind: Schedule
    metadata:
      name: shop-daily
      namespace: velero
    spec:
      schedule: "0 3 * * *"
      template:
        includedNamespaces: [shop]
        ttl: 720h
    ```
    """
    # looked up, not asked for: volumeClaimTemplates hold data even without a pod template
    template = index.pod_template(workload)
    claim_templates = _claim_templates(workload)
    claims = claim_names(template) if template is not None else []
    if not claim_templates and not claims:
        return
    if claim_templates:
        what = "volumeClaimTemplates"
    else:
        what = "PersistentVolumeClaim " + ", ".join(f"'{name}'" for name in claims)
    if not index.of_kind(SCHEDULE):
        yield Problem(
            f"{workload.kind} '{workload.name}' keeps data in {what}, and no Velero Schedule is in the "
            "scanned manifests: nothing shows that its volumes are backed up",
            workload,
            level=Level.NOTE,
        )
        return
    including = index.derived(_schedules_by_namespace)[workload.namespace]
    label_sets = _label_sets(workload, template, claim_templates, claims, index)
    if any(_selects_data(schedule, label_sets) for schedule in including):
        return
    if including:
        why = "the Velero Schedules of its namespace do not select it by label"
    elif workload.namespace is None:
        why = "every Velero Schedule is paused"
    else:
        why = f"no active Velero Schedule backs up namespace '{workload.namespace}'"
    yield Problem(
        f"{workload.kind} '{workload.name}' keeps data in {what}, but {why}: "
        "losing the volumes loses the data",
        workload,
        related=tuple((schedule, ("metadata", "name")) for schedule in including),
    )


@rule("PR602", "backup-skips-volumes", Level.WARNING, section=9, scope=Scope.RESOURCE, kinds={SCHEDULE})
def backup_skips_volumes(schedule: Resource, index: Index) -> Iterator[Problem]:
    """A Velero Schedule backs up no volume data.

    ## What it checks
    A Velero `Schedule` with `spec.template.snapshotVolumes: false` must set
    `defaultVolumesToFsBackup: true` (or the older `defaultVolumesToRestic: true`) so that the data of
    volumes is copied by file-system backup instead. Not reported: a schedule with a `resourcePolicy`
    (its volume policies choose per volume), and a schedule that backs up the namespace of a pod
    template carrying `backup.velero.io/backup-volumes` (volumes are opted in one by one).

    ## Why it matters
    Such a backup holds the Kubernetes objects, PersistentVolumeClaims included, but not what is in the
    volumes: a restore brings back empty disks.

    ## Example
    ```yaml
    apiVersion: velero.io/v1
    kind: Schedule
    metadata:
      name: daily
    spec:
      schedule: "0 3 * * *"
      template:
        snapshotVolumes: false
    ```

    ## Fix
    Let Velero snapshot the volumes (remove `snapshotVolumes: false`, configure a
    VolumeSnapshotLocation), or copy them with `defaultVolumesToFsBackup: true`.
    """
    template = mapping(dig(schedule.body, ("spec", "template")))
    if template.get("snapshotVolumes") is not False:
        return
    if template.get("defaultVolumesToFsBackup") is True or template.get("defaultVolumesToRestic") is True:
        return
    if template.get("resourcePolicy") is not None:
        return
    for opted_in in index.templates_annotated(OPT_IN_ANNOTATION):
        if _includes(schedule, opted_in.owner.namespace):
            return
    yield Problem(
        f"Velero Schedule '{schedule.name}' has snapshotVolumes: false and no defaultVolumesToFsBackup: "
        "its backups hold no volume data, so a restore brings back empty volumes",
        schedule,
        ("spec", "template", "snapshotVolumes"),
    )
