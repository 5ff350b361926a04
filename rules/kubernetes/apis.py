"""API versions that Kubernetes no longer serves (checklist § 8, release: the deploy must not fail)."""

from collections.abc import Iterator

from prodready.model import Level, Problem, Resource, Scope
from prodready.registry import rule

# (apiVersion, kind) → (the release that stopped serving it, what to write instead), from the Kubernetes
# deprecated API migration guide.
REMOVED: dict[tuple[str, str], tuple[str, str]] = {
    **{
        (version, kind): ("1.16", "apps/v1")
        for version in ("extensions/v1beta1", "apps/v1beta1", "apps/v1beta2")
        for kind in ("Deployment", "DaemonSet", "ReplicaSet", "StatefulSet")
        if (version, kind) != ("extensions/v1beta1", "StatefulSet")
    },
    ("extensions/v1beta1", "NetworkPolicy"): ("1.16", "networking.k8s.io/v1"),
    ("extensions/v1beta1", "Ingress"): ("1.22", "networking.k8s.io/v1"),
    ("networking.k8s.io/v1beta1", "Ingress"): ("1.22", "networking.k8s.io/v1"),
    ("networking.k8s.io/v1beta1", "IngressClass"): ("1.22", "networking.k8s.io/v1"),
    ("apiextensions.k8s.io/v1beta1", "CustomResourceDefinition"): ("1.22", "apiextensions.k8s.io/v1"),
    ("apiregistration.k8s.io/v1beta1", "APIService"): ("1.22", "apiregistration.k8s.io/v1"),
    ("admissionregistration.k8s.io/v1beta1", "MutatingWebhookConfiguration"): (
        "1.22",
        "admissionregistration.k8s.io/v1",
    ),
    ("admissionregistration.k8s.io/v1beta1", "ValidatingWebhookConfiguration"): (
        "1.22",
        "admissionregistration.k8s.io/v1",
    ),
    ("certificates.k8s.io/v1beta1", "CertificateSigningRequest"): ("1.22", "certificates.k8s.io/v1"),
    ("coordination.k8s.io/v1beta1", "Lease"): ("1.22", "coordination.k8s.io/v1"),
    **{
        ("rbac.authorization.k8s.io/v1beta1", kind): ("1.22", "rbac.authorization.k8s.io/v1")
        for kind in ("ClusterRole", "ClusterRoleBinding", "Role", "RoleBinding")
    },
    ("scheduling.k8s.io/v1beta1", "PriorityClass"): ("1.22", "scheduling.k8s.io/v1"),
    **{
        ("storage.k8s.io/v1beta1", kind): ("1.22", "storage.k8s.io/v1")
        for kind in ("CSIDriver", "CSINode", "StorageClass", "VolumeAttachment")
    },
    ("batch/v1beta1", "CronJob"): ("1.25", "batch/v1"),
    ("discovery.k8s.io/v1beta1", "EndpointSlice"): ("1.25", "discovery.k8s.io/v1"),
    ("events.k8s.io/v1beta1", "Event"): ("1.25", "events.k8s.io/v1"),
    ("autoscaling/v2beta1", "HorizontalPodAutoscaler"): ("1.25", "autoscaling/v2"),
    ("policy/v1beta1", "PodDisruptionBudget"): ("1.25", "policy/v1"),
    ("policy/v1beta1", "PodSecurityPolicy"): ("1.25", "Pod Security Admission (the API is gone)"),
    ("node.k8s.io/v1beta1", "RuntimeClass"): ("1.25", "node.k8s.io/v1"),
    ("autoscaling/v2beta2", "HorizontalPodAutoscaler"): ("1.26", "autoscaling/v2"),
    ("storage.k8s.io/v1beta1", "CSIStorageCapacity"): ("1.27", "storage.k8s.io/v1"),
    **{
        (f"flowcontrol.apiserver.k8s.io/{version}", kind): (release, "flowcontrol.apiserver.k8s.io/v1")
        for version, release in (("v1beta1", "1.26"), ("v1beta2", "1.29"), ("v1beta3", "1.32"))
        for kind in ("FlowSchema", "PriorityLevelConfiguration")
    },
}


@rule(
    "PR408",
    "removed-api-version",
    Level.ERROR,
    section=8,
    scope=Scope.RESOURCE,
    kinds={f"{version.rpartition('/')[0]}/{kind}" for version, kind in REMOVED},
)
def removed_api_version(resource: Resource) -> Iterator[Problem]:
    """An object uses an API version that current Kubernetes no longer serves.

    ## What it checks
    The `apiVersion` of every object against the versions that Kubernetes has stopped serving:
    `extensions/v1beta1` and `apps/v1beta1`/`v1beta2` workloads (removed in 1.16), `v1beta1` Ingress,
    RBAC, CRDs and webhooks (1.22), `policy/v1beta1` PodDisruptionBudget and PodSecurityPolicy,
    `batch/v1beta1` CronJob and `autoscaling/v2beta1` HorizontalPodAutoscaler (1.25),
    `autoscaling/v2beta2` (1.26), `flowcontrol.apiserver.k8s.io` betas (1.26 to 1.32).

    ## Why it matters
    The API server answers such a manifest with "no matches for kind": the deploy fails, and often only
    after a cluster upgrade, when nobody is looking at the chart that still says `v1beta1`.

    ## Example
    ```yaml
    apiVersion: policy/v1beta1
    kind: PodDisruptionBudget
    ```

    ## Fix
    ```yaml
    apiVersion: policy/v1
    kind: PodDisruptionBudget
    ```
    Check the fields that changed between the versions (the Kubernetes deprecated API migration guide
    lists them); `kubectl convert` rewrites most manifests.
    """
    removed = REMOVED.get((resource.api_version, resource.kind))
    if removed is not None:
        release, replacement = removed
        yield Problem(
            f"{resource.api_version} {resource.kind} is no longer served since Kubernetes {release}: "
            f"the deploy fails; use {replacement}",
            resource,
            ("apiVersion",),
        )
