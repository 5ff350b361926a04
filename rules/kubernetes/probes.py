"""Health checks of containers (checklist § 4, deployment: readiness and liveness probes).

Container rules read the template written in the workload itself: a Deployment that an Argo Rollout
names in `workloadRef` is checked on its own, so the Rollout would only repeat its findings."""

from collections.abc import Iterator

from prodready.index import Index
from prodready.kubernetes import (
    LONG_RUNNING,
    WORKLOADS,
    Container,
    PodTemplate,
    containers,
    helm_hooks,
    mapping,
    sequence,
)
from prodready.model import KeyPath, Level, Problem, Resource, Scope
from prodready.registry import rule

PROBES = ("livenessProbe", "readinessProbe", "startupProbe")


def runs_until_stopped(workload: Resource, template: PodTemplate) -> bool:
    """Whether the pods of a long-running workload kind run until stopped: not a Helm hook, and not a
    bare Pod that is meant to finish (`restartPolicy: Never` or `OnFailure`, e.g. a test pod)."""
    if helm_hooks(workload):
        return False
    return workload.kind != "Pod" or template.spec.get("restartPolicy") not in ("Never", "OnFailure")


def probe(container: Container, name: str) -> dict | None:
    """The container's probe `name` if it is set; an empty mapping sets nothing."""
    value = mapping(container.body.get(name))
    return value or None


def declares_ports(container: Container) -> bool:
    return bool(sequence(container.body.get("ports")))


def port_names(container: Container) -> set[str]:
    names = (mapping(port).get("name") for port in sequence(container.body.get("ports")))
    return {name for name in names if isinstance(name, str)}


def named_probe_ports(container: Container) -> Iterator[tuple[str, str, KeyPath]]:
    """(probe, port name, path of `port`) of every probe handler that names its port instead of numbering it."""
    for name in PROBES:
        for handler in ("httpGet", "tcpSocket"):
            port = mapping(mapping(container.body.get(name)).get(handler)).get("port")
            if isinstance(port, str) and port.strip() and not port.strip().isdigit():
                yield name, port, container.path + (name, handler, "port")


@rule(
    "PR210",
    "container-missing-readiness-probe",
    Level.WARNING,
    section=4,
    scope=Scope.POD_TEMPLATE,
    kinds=LONG_RUNNING,
)
def container_missing_readiness_probe(
    workload: Resource, template: PodTemplate, index: Index
) -> Iterator[Problem]:
    """A container of a long-running workload has no readiness probe.

    ## What it checks
    Every container of a Deployment, StatefulSet, DaemonSet, ReplicaSet, ReplicationController, Argo
    Rollout or long-running bare Pod, sidecar init containers included, must set `readinessProbe`.
    Jobs, CronJobs and bare Pods with `restartPolicy: Never` or `OnFailure` run to completion and are
    not checked. Containers that declare no `ports` are not checked in a DaemonSet (node agents nobody
    sends traffic to) nor beside a container that declares ports (helpers such as config reloaders:
    the serving container's probe decides when the pod is ready). A pod that declares no port and that
    no Service of the scanned manifests selects (a worker, a load generator) gets a note: no traffic
    waits for it, only its rollout, which `minReadySeconds` can hold as well.

    ## Why it matters
    Without a readiness probe a container counts as ready as soon as it starts: Services send it
    requests before it can serve them, and a rolling update takes old pods down while the new ones are
    still warming up. A readiness probe that fails also takes a stuck pod out of rotation without
    restarting it.

    ## Example
    ```yaml
    containers:
      - name: web
        image: registry.example.com/web:1.4.2
        ports:
          - name: http
            containerPort: 8080
    ```

    ## Fix
    ```yaml
        readinessProbe:
          httpGet:
            path: /ready
            port: http
          periodSeconds: 5
    ```
    """
    if not runs_until_stopped(workload, template):
        return
    pod = list(containers(template))
    serves = any(declares_ports(container) for container in pod)
    for container in pod:
        if probe(container, "readinessProbe"):
            continue
        if declares_ports(container):
            yield Problem(
                f"container '{container.name}' has no readinessProbe: traffic reaches it before it can serve",
                workload,
                container.path,
            )
        elif workload.kind == "DaemonSet" or serves:
            continue  # a node agent, or a helper beside the container that serves: nothing waits for it
        else:
            selected = bool(index.services_selecting(template, workload))
            yield Problem(
                f"container '{container.name}' has no readinessProbe: it counts as ready, and a rollout "
                "moves on, as soon as it starts",
                workload,
                container.path,
                level=None if selected else Level.NOTE,  # without a Service only the rollout waits for it
            )


@rule(
    "PR211",
    "container-missing-liveness-probe",
    Level.WARNING,
    section=4,
    scope=Scope.POD_TEMPLATE,
    kinds=LONG_RUNNING,
)
def container_missing_liveness_probe(workload: Resource, template: PodTemplate) -> Iterator[Problem]:
    """A container of a long-running workload has no liveness probe.

    ## What it checks
    Every container of a Deployment, StatefulSet, DaemonSet, ReplicaSet, ReplicationController, Argo
    Rollout or long-running bare Pod, sidecar init containers included, must set `livenessProbe`.
    Jobs, CronJobs and bare Pods with `restartPolicy: Never` or `OnFailure` are not checked.

    ## Why it matters
    A process that deadlocks or stops making progress without exiting keeps its pod running forever:
    nothing restarts it, and with a readiness probe it silently drops out of rotation until capacity
    runs out. A liveness probe lets the kubelet restart it.

    ## Example
    ```yaml
    containers:
      - name: worker
        image: registry.example.com/worker:2.0.1
    ```

    ## Fix
    Probe something that only fails when a restart helps, not the dependencies of the container:
    ```yaml
        livenessProbe:
          httpGet:
            path: /healthz
            port: 8080
          periodSeconds: 10
          failureThreshold: 3
    ```
    """
    if not runs_until_stopped(workload, template):
        return
    for container in containers(template):
        if not probe(container, "livenessProbe"):
            yield Problem(
                f"container '{container.name}' has no livenessProbe: nothing restarts it when it hangs",
                workload,
                container.path,
            )


@rule(
    "PR212", "identical-liveness-readiness", Level.NOTE, section=4, scope=Scope.POD_TEMPLATE, kinds=WORKLOADS
)
def identical_liveness_readiness(workload: Resource, template: PodTemplate) -> Iterator[Problem]:
    """A container's liveness and readiness probes are the same.

    ## What it checks
    Every container (sidecar init containers included) whose `livenessProbe` and `readinessProbe` are
    equal: same handler, same target, same timings and thresholds.

    ## Why it matters
    Readiness answers "should this pod get traffic now?", liveness "is this process beyond repair?".
    When both ask the same question with the same patience, anything that makes the pod unready, such
    as a slow database or a burst of load, also gets it restarted, and a restart of every replica at
    once turns a degraded service into an outage.

    ## Example
    ```yaml
    livenessProbe:
      httpGet: {path: /health, port: http}
    readinessProbe:
      httpGet: {path: /health, port: http}
    ```

    ## Fix
    Give liveness a cheaper check that ignores dependencies, or at least more patience:
    ```yaml
    livenessProbe:
      httpGet: {path: /livez, port: http}
      failureThreshold: 6
    readinessProbe:
      httpGet: {path: /readyz, port: http}
    ```
    """
    for container in containers(template):
        liveness = probe(container, "livenessProbe")
        if liveness is not None and liveness == probe(container, "readinessProbe"):
            yield Problem(
                f"container '{container.name}' has identical liveness and readiness probes: "
                "whatever makes it unready also restarts it",
                workload,
                container.path + ("livenessProbe",),
            )


@rule("PR213", "probe-port-not-declared", Level.ERROR, section=4, scope=Scope.POD_TEMPLATE, kinds=WORKLOADS)
def probe_port_not_declared(workload: Resource, template: PodTemplate) -> Iterator[Problem]:
    """A probe names a port the container does not declare.

    ## What it checks
    For every probe (`livenessProbe`, `readinessProbe`, `startupProbe`) of every container, init
    containers included, whose `httpGet.port` or `tcpSocket.port` is a port name rather than a number:
    that name must be the `name` of one of the same container's `ports`. Ports of other containers do
    not count; the kubelet only looks up the probed container's own.

    ## Why it matters
    The kubelet cannot resolve the name, so the probe fails every time: a liveness probe restarts the
    container in a loop, a readiness probe keeps it out of every Service, a startup probe never lets it
    start. This usually happens when a port is renamed or a probe is copied from another container.

    ## Example
    ```yaml
    containers:
      - name: web
        ports:
          - name: http
            containerPort: 8080
        readinessProbe:
          httpGet:
            path: /ready
            port: web
    ```

    ## Fix
    Use the declared name (`port: http`) or the number (`port: 8080`).
    """
    for container in containers(template, include_init=True):
        declared = port_names(container)
        for probe_name, port, path in named_probe_ports(container):
            if port not in declared:
                yield Problem(
                    f"{probe_name} of container '{container.name}' uses port '{port}', "
                    "which the container does not declare: the probe always fails",
                    workload,
                    path,
                )
