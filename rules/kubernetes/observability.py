"""Alerts, runbooks, ownership and telemetry (checklist § 1, 2, 3 and 5): Prometheus Operator alert
rules, whether Prometheus scrapes a workload, who owns a workload, and whether it emits traces.

A Deployment that an Argo Rollout replaces through `workloadRef` is judged through the Rollout, with the
Deployment's pod template: the Rollout is what runs."""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Iterator
from typing import Any

from prodready.index import Index
from prodready.kubernetes import (
    LONG_RUNNING,
    SCRAPE_ANNOTATION,
    PodTemplate,
    containers,
    dig,
    helm_hooks,
    is_long_running,
    label_text,
    mapping,
    sequence,
)
from prodready.model import KeyPath, Level, Option, Problem, Resource, Scope
from prodready.registry import rule

OWNER_KEYS = Option(
    "owner-keys",
    ["team", "owner", "oncall"],
    "Label or annotation keys that name who owns a workload (PR110).",
    {"type": "array", "items": {"type": "string", "pattern": r"\S"}, "minItems": 1},
)

# The pod annotations that opt pods into scraping: Prometheus' (see SCRAPE_ANNOTATION), and the one by
# which the OpenTelemetry Collector's receiver_creator discovers pods.
DISCOVERY_ANNOTATIONS = (SCRAPE_ANNOTATION, "io.opentelemetry.discovery.metrics/enabled")

# Pod annotations with which the OpenTelemetry Operator injects an SDK (`inject-java`, `inject-sdk`, …;
# it exports traces and metrics over OTLP) or a collector sidecar.
_INJECTION_ANNOTATION = re.compile(
    r"instrumentation\.opentelemetry\.io/inject-|sidecar\.opentelemetry\.io/inject\Z"
)

# A Prometheus rule file held in a ConfigMap (the prometheus-community chart, Mimir, Loki): an alerting
# rule starts with an `alert:` key.
_ALERT_IN_RULE_FILE = re.compile(r"^[ \t]*(?:-[ \t]+)?alert:[ \t]*\S", re.MULTILINE)

PROMETHEUS_RULE = "monitoring.coreos.com/PrometheusRule"
# Where alerting rules are written: the Prometheus Operator's PrometheusRule, the VictoriaMetrics
# operator's VMRule (same shape), and a ConfigMap holding a rule file.
ALERT_HOLDERS = (PROMETHEUS_RULE, "operator.victoriametrics.com/VMRule", "ConfigMap")

# (API group, kind) of the objects that make Prometheus scrape the pods behind the Services they select:
# the Prometheus Operator's ServiceMonitor and the VictoriaMetrics operator's VMServiceScrape (same shape).
SERVICE_SCRAPERS = frozenset(
    {("monitoring.coreos.com", "ServiceMonitor"), ("operator.victoriametrics.com", "VMServiceScrape")}
)
# … and those that select pods by their labels: PodMonitor, VMPodScrape, and Google Managed Prometheus'
# PodMonitoring (its own namespace) and ClusterPodMonitoring (every namespace).
POD_SCRAPERS = frozenset(
    {
        ("monitoring.coreos.com", "PodMonitor"),
        ("operator.victoriametrics.com", "VMPodScrape"),
        ("monitoring.googleapis.com", "PodMonitoring"),
        ("monitoring.googleapis.com", "ClusterPodMonitoring"),
    }
)


def _text(value: Any) -> str:
    return label_text(value).strip() if isinstance(value, (str, bool, int, float)) else ""


def _alerts(resource: Resource) -> Iterator[tuple[dict, KeyPath]]:
    """The alerting rules (not the recording rules) of a PrometheusRule (or a VictoriaMetrics VMRule,
    which has the same shape), with the path of each rule's list item."""
    for g, group in enumerate(sequence(dig(resource.body, ("spec", "groups")))):
        for r, item in enumerate(sequence(mapping(group).get("rules"))):
            if isinstance(item, dict) and "alert" in item:
                yield item, ("spec", "groups", g, "rules", r)


def _alert_name(alert: dict) -> str:
    return _text(alert.get("alert")) or "?"


def _holds_alerts(resource: Resource) -> bool:
    """Whether one of ALERT_HOLDERS holds an alerting rule."""
    if resource.kind == "ConfigMap":
        data = mapping(resource.body.get("data"))
        return any(isinstance(text, str) and _ALERT_IN_RULE_FILE.search(text) for text in data.values())
    return next(_alerts(resource), None) is not None


@rule(
    "PR101",
    "no-alert-rules",
    Level.NOTE,
    section=1,
    scope=Scope.UNIT,
    kinds={*LONG_RUNNING, *ALERT_HOLDERS},  # what it reads
)
def no_alert_rules(index: Index) -> Iterator[Problem]:
    """The scanned manifests run long-running workloads but define no alert.

    ## What it checks
    Once per scan: when the scanned manifests hold a long-running workload (Deployment, StatefulSet,
    DaemonSet, ReplicaSet, ReplicationController, Pod, Argo Rollout), they must also hold at least one
    alerting rule: a Prometheus Operator `PrometheusRule` (or VictoriaMetrics `VMRule`) with an
    `alert:` rule, or a ConfigMap holding a Prometheus rule file with one (how the prometheus-community
    chart, Mimir and Loki take their rules). Recording rules are not alerts. The finding points at the
    first long-running workload, files in path order.

    ## Why it matters
    Without alerts, nobody learns that the service is down until its users say so. Alert rules that live
    with the manifests are reviewed and deployed with the service they watch.

    ## Example
    A directory holding only these, or whose PrometheusRules hold only recording rules:
    ```yaml
    apiVersion: apps/v1
    kind: Deployment
    metadata:
      name: web
    ---
    apiVersion: v1
    kind: Service
    metadata:
      name: web
    ```

    ## Fix
    ```yaml
    apiVersion: monitoring.coreos.com/v1
    kind: PrometheusRule
    metadata:
      name: web
    spec:
      groups:
        - name: web
          rules:
            - alert: WebDown
              expr: up{job="web"} == 0
              for: 5m
              labels: {severity: critical}
              annotations:
                summary: web is down
                runbook_url: https://runbooks.example.com/web-down
    ```
    If your alerts live elsewhere (a monitoring repository, a SaaS), disable this rule in the
    configuration.
    """
    workloads = [resource for resource in index.resources if is_long_running(resource)]
    if not workloads:
        return
    if any(_holds_alerts(resource) for resource in index.of_kind(*ALERT_HOLDERS)):
        return
    first = workloads[0]
    others = len(workloads) - 1
    what = f"{first.kind} '{first.name}'" + (
        f" and {others} other workload{'s' * (others > 1)}" if others else ""
    )
    yield Problem(
        f"no PrometheusRule with an alert in the scanned manifests, which run {what}: "
        f"nobody is paged when {'they fail' if others else 'it fails'}",
        first,
    )


def _scrape_annotated(annotations: dict) -> bool:
    """`prometheus.io/scrape: "true"`, or the OpenTelemetry Collector's and the Datadog Agent's
    annotation-based discovery of metrics endpoints."""
    for key, value in annotations.items():
        key = str(key)
        if key in DISCOVERY_ANNOTATIONS:
            if _text(value).lower() == "true":
                return True
        elif key.startswith("ad.datadoghq.com/") and key.endswith((".checks", ".check_names")):
            return True
    return False


# OpenTelemetry Collector builds (upstream, contrib, k8s, Splunk's): their Helm charts configure them to
# scrape their own metrics (`prometheus` receiver on :8888) and send them down their metrics pipeline.
_COLLECTOR_IMAGE = re.compile(r"opentelemetry-collector|otel-collector|otelcol", re.IGNORECASE)
# The Prometheus server (`prom/prometheus`, `quay.io/prometheus/prometheus`): its default configuration,
# and the prometheus-community chart's, scrape the server itself (`localhost:9090`).
_PROMETHEUS_IMAGE = re.compile(r"(\A|/)prom(etheus)?/prometheus(\Z|[:@])", re.IGNORECASE)
# OTLP exporter settings of an OpenTelemetry SDK that apply to metrics (all but those of the traces and
# logs exporters); OTEL_METRICS_EXPORTER defaults to `otlp`.
_OTLP_METRICS_SETTING = re.compile(r"OTEL_EXPORTER_OTLP_(?!TRACES_|LOGS_)")


def _reports_metrics_otherwise(template: PodTemplate) -> bool:
    """Whether the pods send their metrics without being scraped: an OpenTelemetry SDK configured to push
    them over OTLP (and not `OTEL_METRICS_EXPORTER=none`), an OpenTelemetry Operator injection, or an
    OpenTelemetry Collector or a Prometheus server, which scrape themselves."""
    if any(
        _INJECTION_ANNOTATION.match(str(key)) and _text(value).lower() not in ("", "false")
        for key, value in template.annotations.items()
    ):
        return True
    for container in containers(template):
        image = _text(container.body.get("image"))
        if _COLLECTOR_IMAGE.search(image) or _PROMETHEUS_IMAGE.search(image):
            return True
        env = {
            str(variable.get("name")): variable
            for variable in map(mapping, sequence(container.body.get("env")))
            if "name" in variable
        }
        exporter = _text(mapping(env.get("OTEL_METRICS_EXPORTER")).get("value")).lower()
        if exporter != "none" and (exporter or any(_OTLP_METRICS_SETTING.match(name) for name in env)):
            return True
    return False


_NOT_IN_LABEL_NAME = re.compile(r"[^a-zA-Z0-9_]")


def _meta_labels(template: PodTemplate, service: Resource | None) -> list[dict[str, str]]:
    """What Prometheus' Kubernetes discovery knows of the pods' targets, one dict per container (a
    target carries its container's name): the pod's labels and annotations, and the Service's."""
    known: dict[str, str] = {}
    sources = [("pod", template.labels, template.annotations)]
    if service is not None:
        metadata = service.metadata
        sources.append(("service", mapping(metadata.get("labels")), mapping(metadata.get("annotations"))))
    for role, labels, notes in sources:
        for field, values in (("label", labels), ("annotation", notes)):
            for key, value in values.items():
                name = _NOT_IN_LABEL_NAME.sub("_", str(key))
                known[f"__meta_kubernetes_{role}_{field}_{name}"] = label_text(value)
                known[f"__meta_kubernetes_{role}_{field}present_{name}"] = "true"
    names = [container.name for container in containers(template, include_init=True)]
    return [{**known, "__meta_kubernetes_pod_container_name": name} for name in names or [""]]


def _relabeling_drops(relabeling: Any, target: dict[str, str], roles: tuple[str, ...]) -> bool | None:
    """Whether a `keep` or `drop` relabeling drops the target, whose labels and annotations of `roles`
    (pod, service) are all known; None when it reads a label whose value the manifests do not tell (or
    is not such a relabeling)."""
    relabeling = mapping(relabeling)
    action = _text(relabeling.get("action")).lower()
    sources = [str(label) for label in sequence(relabeling.get("sourceLabels"))]
    if action not in ("keep", "drop") or len(sources) != 1:
        return None
    source = sources[0]
    if source in target:
        value = target[source]
    elif any(
        source.startswith(f"__meta_kubernetes_{role}_{field}")
        for role in roles
        for field in ("label", "annotation")
    ):
        value = ""  # a label or annotation the object does not carry
    else:
        return None
    try:
        matched = re.fullmatch(str(relabeling.get("regex", "(.*)")), value) is not None
    except re.error:
        return None
    return not matched if action == "keep" else matched


def _scrape_namespaces(scraper: Resource) -> tuple[str | None, ...]:
    """The namespace keys (see `Index.namespace_keys`) of what a ServiceMonitor or PodMonitor looks at:
    every namespace with `namespaceSelector.any: true` (and for a ClusterPodMonitoring), the
    namespaces of `matchNames` and the namespace-less objects, else its own namespace."""
    if scraper.kind == "ClusterPodMonitoring":
        return ("*",)
    chooser = mapping(dig(scraper.body, ("spec", "namespaceSelector")))
    if chooser.get("any") is True:
        return ("*",)
    names = [name for name in sequence(chooser.get("matchNames")) if isinstance(name, str)]
    if names:
        return (*dict.fromkeys(names), None)
    return Index.namespace_keys(scraper.namespace)


def _scrapers_by_target(index: Index) -> dict[int, list[Resource]]:
    """Per Service and per workload with a pod template: the scrape configurations that select it (see
    SERVICE_SCRAPERS and POD_SCRAPERS), in scan order."""
    table: dict[int, list[Resource]] = defaultdict(list)
    for scraper in index.of_kinds(SERVICE_SCRAPERS | POD_SCRAPERS):
        selector = dig(scraper.body, ("spec", "selector"))
        namespaces = _scrape_namespaces(scraper)
        if scraper.kind_key in SERVICE_SCRAPERS:
            targets = index.selected("Service", selector, namespaces)
        else:
            targets = [template.owner for template in index.templates_selected(selector, namespaces)]
        for target in targets:
            table[id(target)].append(scraper)
    return table


def _scrapes(scraper: Resource, template: PodTemplate, service: Resource | None = None) -> bool:
    """Whether a ServiceMonitor or PodMonitor that selects the pods keeps one of their targets in one of
    its endpoints: only `keep`/`drop` relabelings on a single pod or Service label whose value the
    manifests tell (container name, labels, annotations) are evaluated, as Istio's
    `envoy-stats-monitor` keeps only `istio-proxy` containers; anything else counts as kept."""
    endpoints = [
        mapping(endpoint)
        for field in ("endpoints", "podMetricsEndpoints")
        for endpoint in sequence(dig(scraper.body, ("spec", field)))
    ]
    if not endpoints:
        return True
    targets = _meta_labels(template, service)
    roles = ("pod", "service") if service is not None else ("pod",)
    for endpoint in endpoints:
        relabelings = sequence(endpoint.get("relabelings"))
        for target in targets:
            if not any(_relabeling_drops(relabeling, target, roles) for relabeling in relabelings):
                return True
    return False


@rule("PR102", "workload-not-scraped", Level.NOTE, section=1, scope=Scope.WORKLOAD, kinds=LONG_RUNNING)
def workload_not_scraped(workload: Resource, template: PodTemplate, index: Index) -> Iterator[Problem]:
    """A workload that serves on a port is scraped by no Prometheus configuration.

    ## What it checks
    A long-running workload whose containers declare `ports` must have its metrics collected in one of
    these ways:

    - a `ServiceMonitor` selects (by its labels) a Service whose `spec.selector` selects the pods; the
      ServiceMonitor looks in its own namespace, or in those of `namespaceSelector` (`any: true`,
      `matchNames`);
    - a `PodMonitor` selects the pods by their labels (same namespace rules);
    - the pod template, or such a Service, carries `prometheus.io/scrape: "true"`; the pod template
      carries `io.opentelemetry.discovery.metrics/enabled: "true"` (OpenTelemetry Collector discovery)
      or a Datadog `ad.datadoghq.com/<container>.checks` annotation;
    - the pods push their metrics: a container has OpenTelemetry OTLP exporter settings
      (`OTEL_EXPORTER_OTLP_*` other than those for traces or logs, or `OTEL_METRICS_EXPORTER`, not
      `none`), or the pod template has an OpenTelemetry Operator `instrumentation.opentelemetry.io/inject-*`
      annotation;
    - a container runs an OpenTelemetry Collector (image name with `opentelemetry-collector`,
      `otel-collector` or `otelcol`), whose charts have it scrape its own metrics into its pipeline, or
      a Prometheus server (`prom/prometheus`, `quay.io/prometheus/prometheus`), which scrapes itself.

    The VictoriaMetrics operator's `VMServiceScrape`/`VMPodScrape` and Google Managed Prometheus'
    `PodMonitoring`/`ClusterPodMonitoring` count as ServiceMonitors and PodMonitors. The ports a monitor
    scrapes are not compared with those of the pods. Of its `relabelings`, only a `keep` or `drop` on one
    label that the manifests tell (`__meta_kubernetes_pod_container_name`, pod and Service labels and
    annotations) is evaluated: Istio's `envoy-stats-monitor` selects every pod of the cluster but keeps
    only the `istio-proxy` sidecars, so it does not scrape the application.

    ## Why it matters
    A service whose metrics nobody collects cannot be alerted on, and nobody can see its latency,
    errors or saturation during an incident.

    ## Example
    ```yaml
    kind: Deployment
    metadata:
      name: api
    spec:
      template:
        metadata:
          labels: {app: api}
        spec:
          containers:
            - name: api
              ports: [{name: http, containerPort: 8080}]
    ```

    ## Fix
    ```yaml
    apiVersion: monitoring.coreos.com/v1
    kind: PodMonitor
    metadata:
      name: api
    spec:
      selector:
        matchLabels: {app: api}
      podMetricsEndpoints:
        - port: http
    ```
    """
    if helm_hooks(workload):
        return
    if not any(sequence(container.body.get("ports")) for container in containers(template)):
        return
    if _scrape_annotated(template.annotations) or _reports_metrics_otherwise(template):
        return
    scrapers = index.derived(_scrapers_by_target)
    if any(_scrapes(scraper, template) for scraper in scrapers.get(id(template.owner), ())):
        return
    for service in index.services_selecting(template, workload):
        if _scrape_annotated(mapping(service.metadata.get("annotations"))):
            return
        if any(_scrapes(scraper, template, service) for scraper in scrapers.get(id(service), ())):
            return
    yield Problem(
        f"{workload.kind} '{workload.name}' listens on container ports but no ServiceMonitor, PodMonitor or "
        f"`{SCRAPE_ANNOTATION}` annotation has Prometheus scrape it: no alert can fire on its metrics",
        workload,
    )


@rule(
    "PR103", "alert-missing-runbook", Level.WARNING, section=2, scope=Scope.RESOURCE, kinds={PROMETHEUS_RULE}
)
def alert_missing_runbook(resource: Resource) -> Iterator[Problem]:
    """An alert has no runbook URL.

    ## What it checks
    Every `alert:` rule of a PrometheusRule (recording rules are not alerts) must carry a non-empty
    `runbook_url` annotation. Any annotation whose name contains `runbook` (`runbook`, `runbookUrl`)
    counts.

    ## Why it matters
    The person paged at night needs to know what the alert means and what to do first. A runbook link
    in the notification saves the minutes spent searching a wiki, or guessing.

    ## Example
    ```yaml
    - alert: WebHighErrorRate
      expr: job:http_errors:ratio5m{job="web"} > 0.05
      labels: {severity: critical}
      annotations:
        summary: web answers more than 5% errors
    ```

    ## Fix
    ```yaml
      annotations:
        summary: web answers more than 5% errors
        runbook_url: https://runbooks.example.com/web-high-error-rate
    ```
    """
    for alert, path in _alerts(resource):
        annotations = mapping(alert.get("annotations"))
        if not any("runbook" in str(key).lower() and _text(value) for key, value in annotations.items()):
            yield Problem(
                f"alert '{_alert_name(alert)}' has no runbook_url annotation: whoever is paged must find out "
                "alone what to do",
                resource,
                path,
            )


@rule(
    "PR104", "alert-missing-severity", Level.WARNING, section=3, scope=Scope.RESOURCE, kinds={PROMETHEUS_RULE}
)
def alert_missing_severity(resource: Resource) -> Iterator[Problem]:
    """An alert has no `severity` label.

    ## What it checks
    Every `alert:` rule of a PrometheusRule must carry a non-empty `severity` label (a template such as
    `{{ $labels.severity }}` counts).

    ## Why it matters
    Alertmanager routes on labels: by convention `severity` decides whether an alert pages someone or
    lands in a ticket queue. An alert without it falls through to the default route, which usually
    pages nobody, or everybody.

    ## Example
    ```yaml
    - alert: WebDown
      expr: up{job="web"} == 0
      for: 5m
    ```

    ## Fix
    ```yaml
      labels:
        severity: critical
    ```
    """
    for alert, path in _alerts(resource):
        if not _text(mapping(alert.get("labels")).get("severity")):
            yield Problem(
                f"alert '{_alert_name(alert)}' has no severity label: Alertmanager cannot route it to "
                "the right people",
                resource,
                path,
            )


@rule("PR105", "alert-missing-summary", Level.NOTE, section=2, scope=Scope.RESOURCE, kinds={PROMETHEUS_RULE})
def alert_missing_summary(resource: Resource) -> Iterator[Problem]:
    """An alert has neither a `summary` nor a `description` annotation.

    ## What it checks
    Every `alert:` rule of a PrometheusRule must carry a non-empty `summary` or `description`
    annotation; `message`, which older kubernetes-mixin releases used instead, counts too.

    ## Why it matters
    The notification shows the annotations. Without them the person paged sees an alert name and an
    expression, and has to work out from the query what is wrong and where.

    ## Example
    ```yaml
    - alert: WebDown
      expr: up{job="web"} == 0
      labels: {severity: critical}
    ```

    ## Fix
    ```yaml
      annotations:
        summary: web is down
        description: "{{ $labels.instance }} has not answered scrapes for 5 minutes."
    ```
    """
    for alert, path in _alerts(resource):
        annotations = mapping(alert.get("annotations"))
        if not any(_text(annotations.get(key)) for key in ("summary", "description", "message")):
            yield Problem(
                f"alert '{_alert_name(alert)}' has neither a summary nor a description annotation: "
                "its notification does not say what is wrong",
                resource,
                path,
            )


def _is_owner_key(key: Any, wanted: tuple[str, ...]) -> bool:
    """`team`, or a prefixed form such as `example.com/team` or `app.kubernetes.io/owner`."""
    key = str(key)
    return key in wanted or key.rpartition("/")[2] in wanted


@rule(
    "PR110",
    "workload-missing-owner",
    Level.NOTE,
    section=3,
    scope=Scope.WORKLOAD,
    kinds=LONG_RUNNING,
    options=[OWNER_KEYS],
)
def workload_missing_owner(workload: Resource, index: Index, owner_keys: list[str]) -> Iterator[Problem]:
    """A workload does not say who owns it.

    ## What it checks
    A long-running workload must carry, in the labels or annotations of its own metadata or of its pod
    template, one of the owner keys with a non-empty value. The keys are `team`, `owner` and `oncall`
    (the `owner-keys` option replaces them); a prefixed key counts when its name after the last `/` is
    one of them (`example.com/team`, `app.kubernetes.io/owner`).

    ## Why it matters
    When it misbehaves at 3 a.m., the on-call engineer of the platform needs to know whose service it
    is and whom to wake. Owner labels also let alerts and cost reports route to the right team.

    ## Example
    ```yaml
    kind: Deployment
    metadata:
      name: web
      labels: {app: web}
    ```

    ## Fix
    ```yaml
    metadata:
      name: web
      labels: {app: web, team: storefront}
    ```
    """
    if helm_hooks(workload):
        return
    wanted = tuple(owner_keys)
    template = index.pod_template(workload)  # not asked for: the workload's own metadata counts without it
    places = [workload.metadata]
    if template is not None:
        places.append(template.metadata)
    for metadata in places:
        for field in ("labels", "annotations"):
            if any(
                _is_owner_key(key, wanted) and _text(value)
                for key, value in mapping(metadata.get(field)).items()
            ):
                return
    yield Problem(
        f"{workload.kind} '{workload.name}' has no {', '.join(wanted[:-1])}"
        f"{' or ' if len(wanted) > 1 else ''}{wanted[-1]} label or annotation: "
        "nobody knows whom to call when it breaks",
        workload,
    )


# --- tracing -------------------------------------------------------------------------------------

# Environment variables that configure a tracer: OpenTelemetry SDKs and agents, Datadog, Jaeger
# clients, Zipkin (Spring and others), Elastic APM, Splunk SignalFx tracing, AWS X-Ray.
_TRACING_ENV = re.compile(
    r"OTEL_|DD_TRACE_|DD_AGENT_HOST\Z|JAEGER_|ELASTIC_APM_|SIGNALFX_|AWS_XRAY_|.*ZIPKIN", re.IGNORECASE
)
# The usual application switch (`ENABLE_TRACING=1`, `TRACING_ENABLED=true`), with a value that turns it on.
_TRACING_SWITCH = re.compile(r"(ENABLE_TRACING|TRACING_ENABLED)\Z", re.IGNORECASE)
_TRUTHY = {"1", "true", "yes", "on"}
# A JVM tracing agent loaded through JAVA_TOOL_OPTIONS or JAVA_OPTS (not a metrics agent such as the JMX
# exporter).
_TRACING_JAVA_AGENT = re.compile(
    r"-javaagent:\S*(opentelemetry|otel|dd-java-agent|elastic-apm|newrelic|skywalking|signalfx|jaeger)",
    re.IGNORECASE,
)


# Settings that switch a tracer off, by the prefix of the settings they silence.
_TRACING_OFF = {
    "OTEL_SDK_DISABLED": ("true", "OTEL_"),
    "OTEL_TRACES_EXPORTER": ("none", "OTEL_"),
    "DD_TRACE_ENABLED": ("false", "DD_"),
}


def _silenced(variables: dict[str, Any]) -> tuple[str, ...]:
    """The prefixes of the tracing settings that `variables` (name → value) switch off."""
    return tuple(
        prefix
        for name, (off, prefix) in _TRACING_OFF.items()
        if name in variables and _text(variables[name]).lower() == off
    )


def _configures_tracing(name: Any, value: Any = None, silenced: tuple[str, ...] = ()) -> bool:
    name = str(name)
    if name in _TRACING_OFF or (silenced and name.upper().startswith(silenced)):
        return False
    if _TRACING_ENV.match(name):
        return True
    if _TRACING_SWITCH.search(name):
        return _text(value).lower() in _TRUTHY
    return isinstance(value, str) and _TRACING_JAVA_AGENT.search(value) is not None


def _injects_tracing(template: PodTemplate) -> bool:
    for key, value in template.annotations.items():
        key = str(key)
        if _INJECTION_ANNOTATION.match(key) and _text(value).lower() not in ("", "false"):
            return True
        if key == "proxy.istio.io/config" and "tracing" in _text(value):
            return True
    return _text(template.labels.get("admission.datadoghq.com/enabled")).lower() == "true"


def _env_traced(template: PodTemplate, workload: Resource, index: Index) -> bool | None:
    """Whether a container is traced: an env var configures a tracer (one that another does not switch
    off), or it is an OpenTelemetry Collector; None (unknown) when a container takes its environment
    from a ConfigMap that is not in the scanned manifests, or from a Secret (not loaded)."""
    unknown = False
    for container in containers(template):
        if _COLLECTOR_IMAGE.search(_text(container.body.get("image"))):
            return True  # the tracing pipeline itself
        variables = {
            str(variable["name"]): variable.get("value")
            for variable in map(mapping, sequence(container.body.get("env")))
            if "name" in variable
        }
        silenced = _silenced(variables)
        if any(_configures_tracing(name, value, silenced) for name, value in variables.items()):
            return True
        for source in sequence(container.body.get("envFrom")):
            source = mapping(source)
            prefix = _text(source.get("prefix"))
            for kind, field in (("ConfigMap", "configMapRef"), ("Secret", "secretRef")):
                name = mapping(source.get(field)).get("name")
                if not isinstance(name, str):
                    continue
                found = index.named(kind, name, workload)
                if found is None or not {"data", "stringData", "binaryData"} & found.body.keys():
                    unknown = True  # not in the scan, or its contents not loaded (Secrets are not)
                    continue
                data = {**mapping(found.body.get("data")), **mapping(found.body.get("stringData"))}
                if any(_configures_tracing(prefix + str(k), v, silenced) for k, v in data.items()):
                    return True
    return None if unknown else False


@rule(
    "PR501",
    "no-tracing-config",
    Level.NOTE,
    section=5,
    scope=Scope.WORKLOAD,
    kinds=LONG_RUNNING,
    default_on=False,
)
def no_tracing_config(workload: Resource, template: PodTemplate, index: Index) -> Iterator[Problem]:
    """A workload has no tracing configuration.

    ## What it checks
    Off by default. A long-running workload must show that it emits traces, in one of these ways:

    - an env var of a container (directly, or through `envFrom` a ConfigMap of the scanned manifests)
      named `OTEL_*`, `DD_TRACE_*`, `DD_AGENT_HOST`, `JAEGER_*`, `ELASTIC_APM_*`,
      `SIGNALFX_*`, `AWS_XRAY_*` or containing `ZIPKIN`; `ENABLE_TRACING`/`TRACING_ENABLED` set to a true
      value; a tracing `-javaagent:` (OpenTelemetry, Datadog, Elastic, New Relic, SkyWalking, SignalFx,
      Jaeger) in any variable such as `JAVA_TOOL_OPTIONS`;
    - a pod annotation `instrumentation.opentelemetry.io/inject-*` or `sidecar.opentelemetry.io/inject`
      (OpenTelemetry Operator) not set to `false`, a `proxy.istio.io/config` that sets `tracing`, or the
      label `admission.datadoghq.com/enabled: "true"`.

    Settings that a container switches off (`OTEL_SDK_DISABLED=true`, `OTEL_TRACES_EXPORTER=none`,
    `DD_TRACE_ENABLED=false`) do not count. OpenTelemetry Collectors (image name with
    `opentelemetry-collector`, `otel-collector` or `otelcol`) are the tracing pipeline and are not
    reported. Service-mesh sidecar injection alone does not count: the proxy's spans break at the
    application unless it propagates the trace headers. A container that takes its environment from a
    ConfigMap outside the scanned manifests, or from a Secret (Secrets are not read), may be configured
    there, so it is not reported.

    ## Why it matters
    Without traces, a slow or failing request that crosses several services cannot be followed: you
    see symptoms in each service and guess where the cause is.

    ## Example
    ```yaml
    containers:
      - name: api
        image: registry.example.com/api:2.3.0
    ```

    ## Fix
    ```yaml
    metadata:
      annotations:
        instrumentation.opentelemetry.io/inject-java: "true"
    ```
    or set `OTEL_EXPORTER_OTLP_ENDPOINT` and `OTEL_SERVICE_NAME` for the SDK the application uses.
    """
    if helm_hooks(workload) or _injects_tracing(template):
        return
    if _env_traced(template, workload, index) is not False:
        return
    yield Problem(
        f"{workload.kind} '{workload.name}' has no tracing configuration (no OTEL_* env, no OpenTelemetry "
        "injection): requests through it leave no traces",
        workload,
    )
