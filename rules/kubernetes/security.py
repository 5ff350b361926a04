"""Security of pods, containers, Ingresses and network access (checklist § 10, security and compliance).

Container rules read the template written in the workload itself: a Deployment that an Argo Rollout
names in `workloadRef` is checked on its own, so the Rollout would only repeat its findings.

The securityContext is read the way the kubelet reads it: `runAsNonRoot`, `runAsUser` and
`windowsOptions` set on a container override the pod's, and `privileged`, `allowPrivilegeEscalation`,
`readOnlyRootFilesystem` and `capabilities` exist only on containers. The hardening rules (PR701,
PR703, PR704, PR706) look at regular containers, sidecar init containers among them; PR702
(privileged) and PR709 (credentials in env) look at plain init containers too, because a privileged
init container owns the node just as long as it runs, and a literal password leaks from any container.

Helm test pods (`helm.sh/hook: test`) run for seconds when someone runs `helm test` and serve nothing:
the hardening rules leave them alone. DaemonSets are node agents, which often need the node's
privileges or namespaces by design: PR702 and PR705 report them as notes.

Pods that run on Windows nodes (`spec.os.name: windows`, or a `kubernetes.io/os: windows` node
selector) have no Linux capabilities, no `allowPrivilegeEscalation` and no read-only root filesystem:
PR703, PR704 and PR706 leave them alone, and PR701 judges them by `windowsOptions.runAsUserName`."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

from prodready.index import Index
from prodready.kubernetes import (
    LONG_RUNNING,
    WORKLOADS,
    Container,
    PodTemplate,
    containers,
    helm_hooks,
    integer,
    is_helm_test,
    label_text,
    mapping,
    sequence,
)
from prodready.model import KeyPath, Level, Problem, Resource, Scope
from prodready.registry import rule

# --- reading securityContext -----------------------------------------------------------------------


def _pod_context_path(template: PodTemplate) -> KeyPath:
    return template.path + ("securityContext",)


def _container_context_path(container: Container) -> KeyPath:
    return container.path + ("securityContext",)


def _effective(template: PodTemplate, container: Container, *keys: str) -> tuple[Any, KeyPath | None]:
    """The value of a securityContext field that exists on both levels, as the kubelet sees it: the
    container's when it sets the key, else the pod's; with the path of the key that was read (None and
    None when neither sets it)."""
    for context, path in (
        (mapping(container.body.get("securityContext")), _container_context_path(container)),
        (mapping(template.spec.get("securityContext")), _pod_context_path(template)),
    ):
        value: Any = context
        for key in keys:
            value = value.get(key) if isinstance(value, dict) else None
        if value is not None:  # `null` leaves the pod's value in force
            return value, path + keys
    return None, None


def _container_field(container: Container, *keys: str) -> tuple[Any, KeyPath | None]:
    """A field that exists only in the container's securityContext, with its path (None, None if unset)."""
    value: Any = mapping(container.body.get("securityContext"))
    for key in keys:
        if not isinstance(value, dict) or key not in value:
            return None, None
        value = value[key]
    return value, _container_context_path(container) + keys


def _is_windows(template: PodTemplate) -> bool:
    spec = template.spec
    if mapping(spec.get("os")).get("name") == "windows":
        return True
    selector = mapping(spec.get("nodeSelector"))
    return "windows" in (selector.get("kubernetes.io/os"), selector.get("beta.kubernetes.io/os"))


def _capabilities(container: Container, field: str) -> list[tuple[str, KeyPath]]:
    """(name in upper case without `CAP_`, path) of each entry of `capabilities.add` or `.drop`."""
    values, path = _container_field(container, "capabilities", field)
    if path is None:
        return []
    found = []
    for position, value in enumerate(sequence(values)):
        if isinstance(value, str):
            name = value.strip().upper()
            found.append((name.removeprefix("CAP_"), path + (position,)))
    return found


def _privileged(container: Container) -> bool:
    return _container_field(container, "privileged")[0] is True


# --- PR701 ---------------------------------------------------------------------------------------


@rule("PR701", "run-as-root", Level.WARNING, section=10, scope=Scope.POD_TEMPLATE, kinds=WORKLOADS)
def run_as_root(workload: Resource, template: PodTemplate) -> Iterator[Problem]:
    """A container may run as root.

    ## What it checks
    Every regular container (sidecar init containers included) must end up with `runAsNonRoot: true` or a
    `runAsUser` above 0, set on the container or inherited from the pod's `securityContext` (a container's
    value overrides the pod's). An explicit `runAsUser: 0` or `runAsNonRoot: false` is reported at that
    key, a missing setting at the container. `runAsNonRoot: true` next to `runAsUser: 0` is not reported:
    the kubelet refuses to start that container rather than run it as root. Plain init containers are
    left out: they run a fixed command to completion before the application starts, and often must be
    root to prepare volumes. Helm test pods are left out too.

    On Windows nodes root is `ContainerAdministrator`: the container must set `runAsNonRoot: true` or a
    `windowsOptions.runAsUserName` other than `ContainerAdministrator`.

    ## Why it matters
    Without either setting the container runs as whatever user its image names, and most images name root.
    A root process that escapes the container (a kernel or runtime bug, a writable host mount) is root on
    the node; inside the container it can rewrite its own binaries and install tools.

    ## Example
    ```yaml
    containers:
      - name: web
        image: registry.example.com/web:1.4.2
    ```

    ## Fix
    ```yaml
    securityContext:          # pod level: applies to every container
      runAsNonRoot: true
      runAsUser: 10001
    ```
    Build the image with a numeric non-root `USER` so that `runAsNonRoot: true` alone is enough.
    """
    if is_helm_test(workload):
        return
    judge = _windows_root if _is_windows(template) else _linux_root
    for container in containers(template):
        problem = judge(workload, template, container)
        if problem is not None:
            yield problem


def _linux_root(workload: Resource, template: PodTemplate, container: Container) -> Problem | None:
    non_root, non_root_path = _effective(template, container, "runAsNonRoot")
    user, user_path = _effective(template, container, "runAsUser")
    if non_root is True or (integer(user) or 0) > 0:
        return None
    name = container.name
    if user == 0 and not isinstance(user, bool) and user_path is not None:
        return Problem(
            f"container '{name}' runs as root (runAsUser: 0): an escape from it is root on the node",
            workload,
            user_path,
        )
    if non_root is False and non_root_path is not None:
        return Problem(
            f"container '{name}' sets runAsNonRoot: false and no non-zero runAsUser: it runs as root "
            "whenever its image does",
            workload,
            non_root_path,
        )
    return Problem(
        f"container '{name}' may run as root: neither runAsNonRoot: true nor a non-zero runAsUser is set, "
        "so it runs as its image's user, often root",
        workload,
        container.path,
    )


def _windows_root(workload: Resource, template: PodTemplate, container: Container) -> Problem | None:
    non_root, _ = _effective(template, container, "runAsNonRoot")
    user, user_path = _effective(template, container, "windowsOptions", "runAsUserName")
    if non_root is True:
        return None
    name = container.name
    if isinstance(user, str) and user.strip().lower() == "containeradministrator" and user_path is not None:
        return Problem(
            f"container '{name}' runs as ContainerAdministrator, Windows' root: a compromised process has "
            "every right inside the container",
            workload,
            user_path,
        )
    if isinstance(user, str) and user.strip():
        return None
    return Problem(
        f"container '{name}' may run as ContainerAdministrator: neither runAsNonRoot: true nor "
        "windowsOptions.runAsUserName is set",
        workload,
        container.path,
    )


# --- PR702 ---------------------------------------------------------------------------------------

# What PR702 and PR705 add for a DaemonSet, whose findings are notes.
_NODE_AGENT = (
    "; a node agent may need that: if this one does, keep it in a namespace of its own and suppress this "
    "with the reason"
)


@rule("PR702", "privileged-container", Level.ERROR, section=10, scope=Scope.POD_TEMPLATE, kinds=WORKLOADS)
def privileged_container(workload: Resource, template: PodTemplate) -> Iterator[Problem]:
    """A container runs privileged.

    ## What it checks
    `securityContext.privileged: true` on any container of any workload, init containers included: a
    privileged init container has the same power over the node while it runs, on every start of the pod.
    In a DaemonSet the finding is a note: node agents (CNI and CSI plugins, storage and disk monitors)
    often need the node's full privileges by design, which the manifests cannot tell from a mistake.

    ## Why it matters
    A privileged container gets every capability, every host device and no seccomp or AppArmor
    confinement. Whoever controls its process controls the node and every pod on it.

    ## Example
    ```yaml
    containers:
      - name: agent
        securityContext:
          privileged: true
    ```

    ## Fix
    Grant only what the container needs: a specific capability in `capabilities.add` (e.g. `NET_ADMIN`),
    a specific `hostPath`, or a device plugin. Node agents that truly need full privileges (CNI, CSI,
    storage drivers) should run in a namespace of their own and be suppressed with a reason.
    """
    agent = workload.kind == "DaemonSet"
    for container in containers(template, include_init=True):
        value, path = _container_field(container, "privileged")
        if value is True and path is not None:
            yield Problem(
                f"container '{container.name}' is privileged: it has every capability and all host devices, "
                f"so whoever controls it controls the node{_NODE_AGENT if agent else ''}",
                workload,
                path,
                level=Level.NOTE if agent else None,
            )


# --- PR703 ---------------------------------------------------------------------------------------


@rule(
    "PR703",
    "privilege-escalation-allowed",
    Level.WARNING,
    section=10,
    scope=Scope.POD_TEMPLATE,
    kinds=WORKLOADS,
)
def privilege_escalation_allowed(workload: Resource, template: PodTemplate) -> Iterator[Problem]:
    """A container allows privilege escalation.

    ## What it checks
    Every regular container (sidecar init containers included) must set
    `securityContext.allowPrivilegeEscalation: false`; absent, Kubernetes allows it. A container that adds
    `CAP_SYS_ADMIN` is reported at that capability whatever it sets: that capability can gain every other
    privilege, and the API refuses `allowPrivilegeEscalation: false` next to it. A privileged container
    is not reported here: escalation is implied, the API refuses `false` for it too, and PR702 already
    reports it. Plain init containers, Helm test pods and Windows pods (which have no such setting) are
    left out.

    ## Why it matters
    Without it the kernel's `no_new_privs` flag is not set, so a setuid binary (`su`, `sudo`, `ping` in
    older images) or a file capability lets a compromised process gain privileges it did not start with.

    ## Example
    ```yaml
    containers:
      - name: web
        securityContext:
          runAsNonRoot: true
    ```

    ## Fix
    ```yaml
        securityContext:
          runAsNonRoot: true
          allowPrivilegeEscalation: false
    ```
    """
    if _is_windows(template) or is_helm_test(workload):
        return
    for container in containers(template):
        if _privileged(container):
            continue
        name = container.name
        sys_admin = [
            path for capability, path in _capabilities(container, "add") if capability == "SYS_ADMIN"
        ]
        if sys_admin:
            yield Problem(
                f"container '{name}' adds CAP_SYS_ADMIN, which allows privilege escalation whatever "
                "allowPrivilegeEscalation says",
                workload,
                sys_admin[0],
            )
            continue
        value, path = _container_field(container, "allowPrivilegeEscalation")
        if value is False:
            continue
        if path is not None and value is True:
            yield Problem(
                f"container '{name}' allows privilege escalation: a setuid binary lets a compromised "
                "process gain privileges it did not start with",
                workload,
                path,
            )
        else:
            yield Problem(
                f"container '{name}' does not set allowPrivilegeEscalation: false: a setuid binary lets a "
                "compromised process gain privileges it did not start with",
                workload,
                container.path,
            )


# --- PR704 ---------------------------------------------------------------------------------------


@rule("PR704", "writable-root-filesystem", Level.NOTE, section=10, scope=Scope.POD_TEMPLATE, kinds=WORKLOADS)
def writable_root_filesystem(workload: Resource, template: PodTemplate) -> Iterator[Problem]:
    """A container can write to its root filesystem.

    ## What it checks
    Every regular container (sidecar init containers included) should set
    `securityContext.readOnlyRootFilesystem: true`. An explicit `false` is reported at that key, a missing
    setting at the container. Plain init containers, Helm test pods and Windows pods (which cannot set
    it) are left out.

    ## Why it matters
    A writable root filesystem lets an intruder download tools, change the application's binaries or
    configuration, and persist until the pod is replaced. It also hides state in the container layer
    that disappears on restart.

    ## Example
    ```yaml
    containers:
      - name: web
        securityContext:
          allowPrivilegeEscalation: false
    ```

    ## Fix
    ```yaml
        securityContext:
          allowPrivilegeEscalation: false
          readOnlyRootFilesystem: true
        volumeMounts:
          - {name: tmp, mountPath: /tmp}   # an emptyDir for what it must write
    ```
    """
    if _is_windows(template) or is_helm_test(workload):
        return
    for container in containers(template):
        value, path = _container_field(container, "readOnlyRootFilesystem")
        if value is True:
            continue
        if value is False and path is not None:
            yield Problem(
                f"container '{container.name}' sets readOnlyRootFilesystem: false: an intruder can "
                "change its binaries and keep tools in it",
                workload,
                path,
            )
        else:
            yield Problem(
                f"container '{container.name}' has a writable root filesystem: an intruder can change its "
                "binaries and keep tools in it",
                workload,
                container.path,
            )


# --- PR705 ---------------------------------------------------------------------------------------

_HOST_NAMESPACES = {
    "hostNetwork": "the node's network: it can bind any node port, reach node-local services and see "
    "the node's traffic",
    "hostPID": "the node's process table: it can see every process on the node, their environment and "
    "command lines, and signal them",
    "hostIPC": "the node's IPC namespace: it can read and write the shared memory of other processes on "
    "the node",
}


@rule("PR705", "host-namespace", Level.ERROR, section=10, scope=Scope.POD_TEMPLATE, kinds=WORKLOADS)
def host_namespace(workload: Resource, template: PodTemplate) -> Iterator[Problem]:
    """A pod shares a namespace of the node: network, processes or IPC.

    ## What it checks
    `hostNetwork: true`, `hostPID: true` or `hostIPC: true` in a workload's pod spec; each is reported
    at its key. In a DaemonSet the finding is a note: node agents (node exporters, CNI plugins, log
    collectors) often need the node's namespaces by design, which the manifests cannot tell from a
    mistake.

    ## Why it matters
    These settings take away the isolation that makes a container a container. With the host network a
    pod can reach every service bound to the node's loopback (the kubelet's read-only port, cloud
    metadata endpoints), and NetworkPolicies no longer apply to it; with the host PID namespace it sees
    and signals every process and reads their environment; with host IPC it reads other processes'
    shared memory.

    Some node agents need them (CNI and CSI plugins, node exporters, ingress controllers on bare metal).
    Keep those in a namespace of their own and suppress the finding with a reason:
    `prodready.io/ignore: "PR705"` and `prodready.io/ignore-reason: "node exporter reads host metrics"`.

    ## Example
    ```yaml
    spec:
      template:
        spec:
          hostNetwork: true
    ```

    ## Fix
    Remove the setting and expose the pod through a Service (or a `hostPort` on the one port that must be
    reachable on the node).
    """
    agent = workload.kind == "DaemonSet"
    for key, meaning in _HOST_NAMESPACES.items():
        if template.spec.get(key) is True:
            yield Problem(
                f"pod of {workload.kind} '{workload.name}' shares {meaning}{_NODE_AGENT if agent else ''}",
                workload,
                template.path + (key,),
                level=Level.NOTE if agent else None,
            )


# --- PR706 ---------------------------------------------------------------------------------------


@rule("PR706", "capabilities-not-dropped", Level.NOTE, section=10, scope=Scope.POD_TEMPLATE, kinds=WORKLOADS)
def capabilities_not_dropped(workload: Resource, template: PodTemplate) -> Iterator[Problem]:
    """A container keeps the runtime's default Linux capabilities.

    ## What it checks
    Every regular container (sidecar init containers included) should list `ALL` in
    `securityContext.capabilities.drop` (any case); it may add back the few it needs in
    `capabilities.add`. A `drop` list without `ALL` is reported at `drop`, a missing one at the container.
    Privileged containers (every capability whatever they drop; PR702 reports them), plain init containers,
    Helm test pods and Windows pods are left out.

    ## Why it matters
    Container runtimes grant about fourteen capabilities by default, among them `NET_RAW` (forge packets,
    spoof ARP on the node's network), `CHOWN`, `SETUID`, `DAC_OVERRIDE` and `MKNOD`. Few applications need
    any of them, and each one widens what a compromised process can do.

    ## Example
    ```yaml
    securityContext:
      capabilities:
        drop: [NET_RAW]
    ```

    ## Fix
    ```yaml
    securityContext:
      capabilities:
        drop: [ALL]
        add: [NET_BIND_SERVICE]   # only if it binds a port below 1024
    ```
    """
    if _is_windows(template) or is_helm_test(workload):
        return
    for container in containers(template):
        if _privileged(container):
            continue
        dropped = [name for name, _ in _capabilities(container, "drop")]
        if "ALL" in dropped:
            continue
        _, path = _container_field(container, "capabilities", "drop")
        if dropped:
            message = (
                f"container '{container.name}' drops {', '.join(dropped)} but not ALL: it keeps the other "
                "runtime default capabilities"
            )
        else:
            message = (
                f"container '{container.name}' does not drop ALL capabilities: it keeps the runtime "
                "defaults, such as NET_RAW, SETUID and DAC_OVERRIDE"
            )
        yield Problem(message, workload, path if path is not None else container.path)


# --- PR707 ---------------------------------------------------------------------------------------

# Annotations with which a load balancer controller terminates TLS without `spec.tls`.
_TLS_ANNOTATIONS = (
    "alb.ingress.kubernetes.io/certificate-arn",  # AWS Load Balancer Controller
    "ingress.gcp.kubernetes.io/pre-shared-cert",  # GKE
    "networking.gke.io/managed-certificates",
    "appgw.ingress.kubernetes.io/appgw-ssl-certificate",  # Azure Application Gateway
)


def _tls_elsewhere(ingress: Resource) -> bool:
    """Whether the Ingress gets TLS from its controller's annotations, or passes TLS through to the
    backend untouched (ingress-nginx `ssl-passthrough`)."""
    annotations = mapping(ingress.metadata.get("annotations"))
    if any(label_text(annotations.get(key)).strip() for key in _TLS_ANNOTATIONS):
        return True
    if "HTTPS" in label_text(annotations.get("alb.ingress.kubernetes.io/listen-ports")).upper():
        return True
    return (
        label_text(annotations.get("nginx.ingress.kubernetes.io/ssl-passthrough")).strip().lower() == "true"
    )


def _covers(tls_host: str, host: str) -> bool:
    """Whether a TLS host name covers a rule's host: equal (any case), or a wildcard `*.example.com`
    that matches exactly one label (`a.example.com`, not `a.b.example.com`, not `example.com`)."""
    tls_host, host = tls_host.strip().lower().rstrip("."), host.strip().lower().rstrip(".")
    if tls_host == host:
        return True
    if tls_host.startswith("*."):
        label, _, rest = host.partition(".")
        return bool(label) and rest == tls_host[2:]
    return False


@rule(
    "PR707",
    "ingress-without-tls",
    Level.WARNING,
    section=10,
    scope=Scope.RESOURCE,
    kinds={"networking.k8s.io/Ingress", "extensions/Ingress"},
)
def ingress_without_tls(ingress: Resource) -> Iterator[Problem]:
    """An Ingress serves a host over plain HTTP.

    ## What it checks
    Every `spec.rules[].host` of an Ingress (`networking.k8s.io` or `extensions`) must be covered by a
    `spec.tls[].hosts` entry: the same name (any case), or a wildcard `*.example.com` that covers exactly
    one label (`shop.example.com`, not `a.shop.example.com`, not `example.com`). Each uncovered host is
    reported at its `- host:` line.

    A rule without `host` serves every host name. It is covered only by a `tls` entry without `hosts`,
    which the API applies to the wildcard host; otherwise it is reported at the rule.

    Not reported: Ingresses whose controller terminates TLS from annotations (AWS Load Balancer
    Controller `certificate-arn` or HTTPS `listen-ports`, GKE pre-shared or managed certificates, Azure
    Application Gateway certificates) and ingress-nginx `ssl-passthrough`, which hands TLS to the backend.

    ## Why it matters
    Traffic to an uncovered host, session cookies and credentials included, crosses the network in
    clear text, and anyone on the path can read or change it.

    ## Example
    ```yaml
    spec:
      tls:
        - hosts: [shop.example.com]
          secretName: shop-tls
      rules:
        - host: shop.example.com
        - host: api.example.com     # no certificate
    ```

    ## Fix
    Add the host to a `tls` entry whose Secret holds a certificate for it (cert-manager can issue it):
    ```yaml
      tls:
        - hosts: [shop.example.com, api.example.com]
          secretName: shop-tls
    ```
    """
    if _tls_elsewhere(ingress):
        return
    spec = mapping(ingress.body.get("spec"))
    entries = [mapping(entry) for entry in sequence(spec.get("tls"))]
    tls_hosts = [host for entry in entries for host in sequence(entry.get("hosts")) if isinstance(host, str)]
    catch_all = any(not sequence(entry.get("hosts")) for entry in entries)
    for position, item in enumerate(sequence(spec.get("rules"))):
        if not isinstance(item, dict):
            continue
        host = item.get("host")
        if isinstance(host, str) and host.strip():
            if not any(_covers(tls_host, host) for tls_host in tls_hosts):
                yield Problem(
                    f"Ingress '{ingress.name}' serves host '{host}' without TLS: its traffic, cookies and "
                    "credentials cross the network in clear text",
                    ingress,
                    ("spec", "rules", position, "host"),
                )
        elif not catch_all:
            yield Problem(
                f"Ingress '{ingress.name}' has a rule without host and no tls entry for it: it serves every "
                "host name in clear text",
                ingress,
                ("spec", "rules", position),
            )


# --- PR708 ---------------------------------------------------------------------------------------

# Policies of other network plugins whose selectors we do not evaluate: where any exists for the
# workload's namespace (or cluster-wide), the workload may well be isolated, so it is not reported.
# kind → whether it is namespaced
_OTHER_POLICIES = {
    "cilium.io/CiliumNetworkPolicy": True,
    "cilium.io/CiliumClusterwideNetworkPolicy": False,
    "crd.projectcalico.org/NetworkPolicy": True,
    "crd.projectcalico.org/GlobalNetworkPolicy": False,
}


def _other_plugin_policy(workload: Resource, index: Index) -> bool:
    for kind, namespaced in _OTHER_POLICIES.items():
        namespaces = index.namespaces_holding(kind)
        if namespaces and (
            not namespaced or workload.namespace is None or {None, workload.namespace} & namespaces
        ):
            return True
    return False


@rule("PR708", "no-network-policy", Level.WARNING, section=10, scope=Scope.WORKLOAD, kinds=LONG_RUNNING)
def no_network_policy(workload: Resource, template: PodTemplate, index: Index) -> Iterator[Problem]:
    """No NetworkPolicy selects a long-running workload's pods.

    ## What it checks
    The pods of every long-running workload (Deployment, StatefulSet, DaemonSet, ReplicaSet,
    ReplicationController, Argo Rollout, bare Pod) must be selected by a `networking.k8s.io`
    NetworkPolicy of their namespace: its `podSelector` matches the pod template's labels, and an empty
    `podSelector` selects every pod of the namespace. A Deployment that an Argo Rollout replaces is judged
    through the Rollout.

    Two explicit, equal namespaces match wherever the files lie. An object without a namespace is
    applied into whatever namespace its release targets, so a policy matches across a missing namespace
    only when it lies next to the workload: in the same directory, or in a directory that contains the
    other's (`app/deployment.yaml` and `app/policies/deny.yaml`). A scan that holds several applications
    thus does not let one application's namespace-less `podSelector: {}` isolate all the others.

    Not reported: pods on the host network (NetworkPolicies do not apply to them; PR705 reports them),
    bare Pods meant to finish (`restartPolicy: Never` or `OnFailure`, such as Helm test pods), and
    workloads in a namespace that Cilium or Calico policies of the scanned set may cover (their
    selectors are not evaluated).

    ## Why it matters
    A pod that no NetworkPolicy selects accepts connections from every pod in the cluster and may
    connect anywhere: one compromised pod can reach its database, its admin port and the cloud metadata
    endpoint.

    ## Example
    ```yaml
    apiVersion: apps/v1
    kind: Deployment
    metadata:
      name: api
    spec:
      template:
        metadata:
          labels: {app: api}
    ```

    ## Fix
    ```yaml
    apiVersion: networking.k8s.io/v1
    kind: NetworkPolicy
    metadata:
      name: api
    spec:
      podSelector:
        matchLabels: {app: api}
      policyTypes: [Ingress]
      ingress:
        - from:
            - podSelector:
                matchLabels: {app: frontend}
    ```
    A namespace-wide default deny (`podSelector: {}`) plus one policy per allowed path is the usual shape.
    """
    if helm_hooks(workload) or template.spec.get("hostNetwork") is True:
        return
    if workload.kind == "Pod" and template.spec.get("restartPolicy") in ("Never", "OnFailure"):
        return
    if index.selecting("networking.k8s.io/NetworkPolicy", template, workload):
        return
    if _other_plugin_policy(workload, index):
        return
    yield Problem(
        f"{workload.kind} '{workload.name}' is selected by no NetworkPolicy: every pod in the cluster can "
        "connect to it, and it can connect anywhere",
        workload,
    )


# --- PR709 ---------------------------------------------------------------------------------------

_WORDS = re.compile(r"[A-Z]+(?=[A-Z][a-z])|[A-Z]?[a-z]+|[A-Z]+|[0-9]+")
# Name endings (as words) that name a credential; the name must end with one of them, so that
# `TOKEN_URL`, `SECRET_NAME`, `PASSWORD_FILE`, `API_KEY_PATH` or `PASSWORD_MIN_LENGTH` are left out.
_CREDENTIAL_ENDINGS = (
    ("PASSWORD",),
    ("PASSWD",),
    ("PASSPHRASE",),
    ("SECRET",),
    ("TOKEN",),
    ("APIKEY",),
    ("API", "KEY"),
    ("ACCESS", "KEY"),
    ("SECRET", "KEY"),
    ("PRIVATE", "KEY"),
    ("AUTH", "KEY"),
    ("CREDENTIAL",),
    ("CREDENTIALS",),
    ("SECRET", "KEY", "BASE"),  # Rails
)
# Values that name where the credential is, not the credential: paths, expansions, templates, and
# references that secret injectors resolve (bank-vaults `vault:`, vals `ref+`, AWS ARNs, berglas, GCP
# Secret Manager names).
_REFERENCE = re.compile(
    r"\A(?:/|\./|~/|file:|\$\(|\$\{|\{\{|vault:|ref\+|arn:aws:(?:secretsmanager|ssm|kms):|sm://|berglas://|"
    r"projects/[^/]+/secrets/)",
    re.IGNORECASE,
)
_NOT_SECRET = {"true", "false", "yes", "no", "on", "off", "enabled", "disabled", "none", "null"}


# Names that end like a credential but are not one: etcd's initial cluster token only keeps two
# clusters bootstrapping on the same network apart.
_NOT_CREDENTIALS = (("INITIAL", "CLUSTER", "TOKEN"),)


def _credential_name(name: str) -> bool:
    words = tuple(word.upper() for word in _WORDS.findall(name))
    if any(words[-len(ending) :] == ending for ending in _NOT_CREDENTIALS):
        return False
    return any(words[-len(ending) :] == ending for ending in _CREDENTIAL_ENDINGS if len(words) >= len(ending))


def _literal_secret(value: Any) -> bool:
    if not isinstance(value, str):
        return False  # the API accepts only strings; anything else is rejected before it runs
    text = value.strip()
    if not text or text.lower() in _NOT_SECRET or _REFERENCE.match(text):
        return False
    return not any(marker in text for marker in ("$(", "${", "{{"))


@rule("PR709", "secret-in-env-literal", Level.WARNING, section=10, scope=Scope.POD_TEMPLATE, kinds=WORKLOADS)
def secret_in_env_literal(workload: Resource, template: PodTemplate) -> Iterator[Problem]:
    """A credential is written into a container's environment as a literal value.

    ## What it checks
    Every `env` entry of every container (init containers included) whose name ends with a credential
    word — `PASSWORD`, `PASSWD`, `PASSPHRASE`, `SECRET`, `TOKEN`, `API_KEY`/`APIKEY`, `ACCESS_KEY`,
    `SECRET_KEY`, `PRIVATE_KEY`, `AUTH_KEY`, `CREDENTIALS`, in `UPPER_SNAKE`, `kebab` or `camelCase` —
    must not carry a literal non-empty `value`; it should come from `valueFrom.secretKeyRef`. The name
    must end with the word, so `TOKEN_URL`, `SECRET_NAME`, `PASSWORD_FILE`, `API_KEY_PATH`,
    `AUTH_TOKEN_ENABLED` and `PASSWORD_MIN_LENGTH` are not credentials. Values that only point at the
    credential are left out: paths (`/var/run/secrets/...`), `$(VAR)` and `${VAR}` expansions, `{{ }}`
    templates, secret-manager references (`vault:`, `ref+`, `arn:aws:secretsmanager:`, ...) and booleans.

    The finding never repeats the value, so reports do not spread the credential further.

    ## Why it matters
    A literal value lives in the manifest, in Git, in Helm release history, in every `kubectl get -o yaml`
    and in the API server's audit log; everyone who can read the workload can read the credential, and
    rotating it means a new release.

    ## Example
    ```yaml
    env:
      - name: DB_PASSWORD
        value: s3cr3t
    ```

    ## Fix
    ```yaml
    env:
      - name: DB_PASSWORD
        valueFrom:
          secretKeyRef: {name: db, key: password}
    ```
    """
    for container in containers(template, include_init=True):
        for position, variable in enumerate(sequence(container.body.get("env"))):
            variable = mapping(variable)
            name = variable.get("name")
            if not isinstance(name, str) or "value" not in variable or not _credential_name(name):
                continue
            if _literal_secret(variable["value"]):
                yield Problem(
                    f"env var '{name}' of container '{container.name}' is a credential written as a "
                    "literal value: anyone who can read the manifest or the pod can read it; use "
                    "valueFrom.secretKeyRef",
                    workload,
                    container.path + ("env", position, "value"),
                )
