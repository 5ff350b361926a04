"""Lookups across the scanned resources, built once per scan so that no rule searches the whole set.

The index answers generic questions: by kind, name and namespace, label selectors, annotations,
autoscaler and `workloadRef` targets, Terraform references. What a rule module alone knows (what
Prometheus scrapes, what Velero backs up) it builds from these with `derived()`."""

from __future__ import annotations

import os
from collections import defaultdict
from collections.abc import Callable, Iterable
from functools import cached_property
from typing import Any

from prodready.kubernetes import (
    AUTOSCALERS,
    REPLICATED,
    PodTemplate,
    autoscaler_minimum,
    autoscaler_target,
    claim_names,
    dig,
    integer,
    is_workload,
    label_text,
    mapping,
    own_pod_template,
    same_application,
    same_namespace,
    selects,
    sequence,
    shared_across_nodes,
)
from prodready.model import KeyPath, KindKey, Problem, Resource, kind_key

# kind → where its pod selector lives
POD_SELECTORS: dict[str, KeyPath] = {
    "policy/PodDisruptionBudget": ("spec", "selector"),
    "networking.k8s.io/NetworkPolicy": ("spec", "podSelector"),
}


def _own_labels(resource: Resource) -> dict:
    return mapping(resource.metadata.get("labels"))


class Index:
    def __init__(self, resources: list[Resource], input_problems: Iterable[tuple[str, Problem]] = ()) -> None:
        self.resources = resources
        self._namespaces_holding: dict[KindKey, set[str | None]] = {}
        self._by_own_label: dict[KindKey, dict[tuple, list[Resource]]] = {}
        self._derived: dict[Callable, Any] = {}
        self._order = {id(resource): position for position, resource in enumerate(resources)}
        self._by_kind: dict[KindKey, list[Resource]] = defaultdict(list)
        for resource in resources:
            self._by_kind[resource.kind_key].append(resource)
        self._input_problems: dict[str, list[Problem]] = defaultdict(list)
        for rule_id, problem in input_problems:
            self._input_problems[rule_id].append(problem)

    def of_kinds(self, keys: Iterable[KindKey]) -> list[Resource]:
        """Resources of the given kinds (see `kind_key`), in scan order."""
        found = [self._by_kind[key] for key in set(keys) if key in self._by_kind]
        if len(found) == 1:
            return found[0]
        return sorted((resource for resources in found for resource in resources), key=self.position)

    def of_kind(self, *kinds: str) -> list[Resource]:
        """Resources of the given kinds, written as rules declare them (`apps/Deployment`, `Service`,
        `aws_db_instance`), in scan order."""
        return self.of_kinds(map(kind_key, kinds))

    def derived(self, build: Callable[[Index], Any]) -> Any:
        """`build(self)`, computed once per index: a rule module's own lookup table (what Prometheus
        scrapes, what a backup covers), built the first time a rule asks and shared by every call."""
        if build not in self._derived:
            self._derived[build] = build(self)
        return self._derived[build]

    def position(self, resource: Resource) -> int:
        """Where `resource` stands in scan order."""
        return self._order[id(resource)]

    @cached_property
    def namespaces(self) -> list[str | None]:
        """The namespaces of the scanned objects, each once, in scan order (None: objects without one)."""
        return list(dict.fromkeys(resource.namespace for resource in self.resources))

    def namespaces_holding(self, kind: str) -> set[str | None]:
        """The namespaces that hold a resource of this kind (None: one without namespace)."""
        key = kind_key(kind)
        if key not in self._namespaces_holding:
            self._namespaces_holding[key] = {r.namespace for r in self.of_kinds([key])}
        return self._namespaces_holding[key]

    @staticmethod
    def namespace_keys(namespace: str | None) -> tuple[str | None, ...]:
        """The namespace keys under which the lookups below hold what an object of `namespace` may
        match: its own namespace and None (the objects without one), or, for an object without a
        namespace, "*" (all)."""
        return ("*",) if namespace is None else (namespace, None)

    def input_problems(self, rule_id: str) -> list[Problem]:
        """What the loaders found wrong with the input itself, for the PR0xx rules."""
        return self._input_problems.get(rule_id, [])

    # --- references by name -------------------------------------------------------------------------
    # A scan may hold several applications that reuse names (examples of one chart rendered side by
    # side, each in its own directory, all in `default` or in no namespace). A reference by name
    # therefore resolves to the candidates nearest to the referring file: the same file first, then the
    # same directory, then each directory above it; all candidates found at the nearest place count.

    @cached_property
    def _places(self) -> dict[str, tuple[tuple[str, ...], ...]]:
        """Per file, the places it lies in from nearest to farthest: the file itself, its directory,
        then every directory above it up to the root of the scan."""
        table: dict[str, tuple[tuple[str, ...], ...]] = {}
        for resource in self.resources:
            if resource.file not in table:
                parts = os.path.normpath(os.path.dirname(resource.file)).split(os.sep)
                directory = tuple(part for part in parts if part not in ("", "."))
                above = tuple(("dir", *directory[:depth]) for depth in range(len(directory), -1, -1))
                table[resource.file] = (("file", resource.file), *above)
        return table

    def _by_place(self, resources: Iterable[Resource]) -> dict[tuple, list[Resource]]:
        """Resources under (kind, name, place, namespace) for every place they lie in, and under the
        namespace "*" too, for references from objects without a namespace."""
        table: dict[tuple, list[Resource]] = defaultdict(list)
        for resource in resources:
            for place in self._places[resource.file]:
                table[resource.kind, resource.name, place, resource.namespace].append(resource)
                table[resource.kind, resource.name, place, "*"].append(resource)
        return table

    @cached_property
    def _workloads_by_place(self) -> dict[tuple, list[Resource]]:
        return self._by_place(resource for resource in self.resources if is_workload(resource))

    @cached_property
    def _resources_by_place(self) -> dict[tuple, list[Resource]]:
        return self._by_place(self.resources)

    def _nearest_named(self, table: dict, kind: str, name: str, near: Resource) -> list:
        namespaces = self.namespace_keys(near.namespace)
        for place in self._places[near.file]:
            found = [r for namespace in namespaces for r in table.get((kind, name, place, namespace), ())]
            if found:
                return sorted(found, key=lambda resource: self._order[id(resource)])
        return []

    def nearest(self, candidates: Iterable[Resource], near: Resource) -> list[Resource]:
        """The candidates in `near`'s namespace that lie at the nearest place to it (see above)."""
        found = [candidate for candidate in candidates if same_namespace(candidate, near)]
        if len(found) <= 1:
            return found
        places = {place: rank for rank, place in enumerate(self._places[near.file])}
        ranks = [min(places.get(place, len(places)) for place in self._places[c.file]) for c in found]
        best = min(ranks)
        return [candidate for candidate, rank in zip(found, ranks) if rank == best]

    def workloads_named(self, kind: str, name: str, near: Resource) -> list[Resource]:
        """The workloads of that kind and name that a reference from `near` means."""
        return self._nearest_named(self._workloads_by_place, kind, name, near)

    def workload(self, kind: str, name: str, near: Resource) -> Resource | None:
        """The workload of that kind and name in `near`'s namespace (the nearest, see above)."""
        found = self.workloads_named(kind, name, near)
        return found[0] if found else None

    def named(self, kind: str, name: str, near: Resource) -> Resource | None:
        """Any resource of that kind and name in `near`'s namespace, workload or not (an autoscaler may
        scale a custom resource)."""
        found = self._nearest_named(self._resources_by_place, kind, name, near)
        return found[0] if found else None

    def single_node_claims(self, template: PodTemplate, near: Resource) -> list[str]:
        """The PersistentVolumeClaims the pods mount by name that only one node can attach: every one
        not found in the scanned manifests with only ReadWriteMany or ReadOnlyMany access modes."""
        return [
            name
            for name in claim_names(template)
            if not shared_across_nodes(self.named("PersistentVolumeClaim", name, near))
        ]

    # --- autoscalers and Argo Rollouts --------------------------------------------------------------

    @cached_property
    def _autoscalers_by_target(self) -> dict[int, list[Resource]]:
        table: dict[int, list[Resource]] = defaultdict(list)
        for resource in self.of_kind(*AUTOSCALERS):
            target = autoscaler_target(resource)
            if target:
                for workload in self.workloads_named(*target, resource):
                    table[id(workload)].append(resource)
        return table

    def autoscalers_of(self, workload: Resource) -> list[Resource]:
        """The HPAs and KEDA ScaledObjects that scale `workload`."""
        return self._autoscalers_by_target.get(id(workload), [])

    def autoscaler_target_of(self, autoscaler: Resource) -> Resource | None:
        target = autoscaler_target(autoscaler)
        return self.workload(*target, autoscaler) if target else None

    @staticmethod
    def _workload_ref(rollout: Resource) -> tuple[str, str] | None:
        reference = mapping(dig(rollout.body, ("spec", "workloadRef")))
        name = reference.get("name")
        return (str(reference.get("kind", "Deployment")), name) if isinstance(name, str) else None

    @cached_property
    def _rollouts_by_workload_ref(self) -> dict[int, list[Resource]]:
        table: dict[int, list[Resource]] = defaultdict(list)
        for rollout in self.of_kind("argoproj.io/Rollout"):
            reference = self._workload_ref(rollout)
            if reference:
                for workload in self.workloads_named(*reference, rollout):
                    table[id(workload)].append(rollout)
        return table

    def rollout_replacing(self, workload: Resource) -> Resource | None:
        """The Argo Rollout that names `workload` in its `workloadRef`: it is judged through the Rollout."""
        rollouts = self._rollouts_by_workload_ref.get(id(workload))
        return rollouts[0] if rollouts else None

    def pod_template(self, workload: Resource) -> PodTemplate | None:
        """The workload's pod template, following an Argo Rollout's `workloadRef` to the Deployment."""
        template = own_pod_template(workload)
        if template is None and workload.kind == "Rollout":
            reference = self._workload_ref(workload)
            referenced = self.workload(*reference, workload) if reference else None
            template = own_pod_template(referenced) if referenced else None
        return template

    def replicas(self, workload: Resource) -> int | None:
        """The replicas a workload runs with: the minimum of its autoscaler when one targets it, else
        `spec.replicas` (absent = 1). None when that is not a number (or `spec` not a mapping)."""
        autoscalers = self.autoscalers_of(workload)
        if autoscalers:
            minimums = [autoscaler_minimum(autoscaler) for autoscaler in autoscalers]
            known = [minimum for minimum in minimums if minimum is not None]
            return max(known) if known else None
        spec = workload.body.get("spec", {})
        return integer(spec.get("replicas", 1)) if isinstance(spec, dict) else None

    def judged(self, resource: Resource) -> bool:
        """Whether `resource` is a workload judged on its own: a Deployment an Argo Rollout replaces is
        judged through the Rollout."""
        return is_workload(resource) and self.rollout_replacing(resource) is None

    def judged_workloads(self, kinds: Iterable[str]) -> Iterable[Resource]:
        """Workloads of `kinds` that are judged on their own (see `judged`)."""
        for resource in self.of_kind(*kinds):
            if self.judged(resource):
                yield resource

    # --- label selectors ----------------------------------------------------------------------------

    @staticmethod
    def _label_table(entries: Iterable[tuple[str | None, dict, Any]]) -> dict[tuple, list]:
        """Entries given as (namespace, labels, entry), under (namespace, key, value) for each of their
        labels, (namespace, key, None) for the key alone and (namespace,) for every entry of the namespace;
        under the namespace "*" too (see `namespace_keys`)."""
        table: dict[tuple, list] = defaultdict(list)
        for namespace, labels, entry in entries:
            for space in (namespace, "*"):
                table[(space,)].append(entry)
                for key, value in labels.items():
                    table[space, str(key), label_text(value)].append(entry)
                    table[space, str(key), None].append(entry)
        return table

    @cached_property
    def _templates_by_label(self) -> dict[tuple, list[PodTemplate]]:
        """Every pod template written in a workload, in a `_label_table` of its labels."""
        templates = (own_pod_template(resource) for resource in self.resources)
        return self._label_table((t.owner.namespace, t.labels, t) for t in templates if t is not None)

    def _narrowest_labels(
        self, selector: Any, table: dict | None = None
    ) -> list[tuple[str, str | None]] | None:
        """Labels of which a pod must carry one to be selected: the requirement of `selector` that the
        fewest pod templates (or entries of another `_label_table`) meet, as (key, value) pairs, (key, None)
        for `Exists`. None when the selector requires no label (empty, only NotIn/DoesNotExist, or
        malformed)."""
        selector = mapping(selector)
        options: list[list[tuple[str, str | None]]] = [
            [(str(key), label_text(value))] for key, value in mapping(selector.get("matchLabels")).items()
        ]
        for expression in sequence(selector.get("matchExpressions")):
            expression = mapping(expression)
            key, operator = str(expression.get("key")), expression.get("operator")
            if operator == "In":
                options.append([(key, label_text(value)) for value in sequence(expression.get("values"))])
            elif operator == "Exists":
                options.append([(key, None)])
        if not options:
            return None
        if table is None:
            table = self._templates_by_label
        return min(options, key=lambda labels: sum(len(table.get(("*", *label), ())) for label in labels))

    def _selected_in(self, table: dict, selector: Any, namespaces: Iterable[str | None], labels_of) -> list:
        """The entries of a `_label_table` under `namespaces` whose labels `selector` selects, each once;
        only those that carry the selector's narrowest requirement are tested."""
        if not isinstance(selector, dict):
            return []
        requirement = self._narrowest_labels(selector, table)
        keys: list[tuple]
        if requirement is None:
            keys = [(namespace,) for namespace in namespaces]
        else:
            keys = [(namespace, *label) for namespace in namespaces for label in requirement]
        found: dict[int, Any] = {}
        for key in keys:
            for entry in table.get(key, ()):
                if id(entry) not in found and selects(selector, labels_of(entry)):
                    found[id(entry)] = entry
        return list(found.values())

    def selected(self, kind: str, selector: Any, namespaces: Iterable[str | None]) -> list[Resource]:
        """The objects of `kind` under the namespace keys `namespaces` (see `namespace_keys`) whose own
        labels `selector` selects (as a ServiceMonitor selects Services), each once."""
        key = kind_key(kind)
        if key not in self._by_own_label:
            resources = self.of_kinds([key])
            self._by_own_label[key] = self._label_table((r.namespace, _own_labels(r), r) for r in resources)
        return self._selected_in(self._by_own_label[key], selector, namespaces, _own_labels)

    def templates_selected(self, selector: Any, namespaces: Iterable[str | None]) -> list[PodTemplate]:
        """The pod templates written in workloads under the namespace keys `namespaces` (see
        `namespace_keys`) whose labels `selector` selects (as a PodMonitor selects pods), each once."""
        return self._selected_in(self._templates_by_label, selector, namespaces, lambda t: t.labels)

    @cached_property
    def _selector_buckets(self) -> dict[str, tuple[dict, dict]]:
        """Per selecting kind: resources bucketed under their narrowest labels (see above), plus those
        that require none, so a lookup only tests selectors that can match and no selector is tested
        against every pod that shares a common label with it."""
        buckets: dict[str, tuple[dict, dict]] = {}
        for kind, path in POD_SELECTORS.items():
            by_label: dict[tuple, list[Resource]] = defaultdict(list)
            unbucketed: dict[str | None, list[Resource]] = defaultdict(list)
            for resource in self.of_kind(kind):
                labels = self._narrowest_labels(dig(resource.body, path))
                for namespace in (resource.namespace, "*"):
                    if labels is None:
                        unbucketed[namespace].append(resource)
                    for label in labels or ():
                        by_label[(namespace, *label)].append(resource)
            buckets[kind] = (by_label, unbucketed)
        return buckets

    def selecting(self, kind: str, template: PodTemplate, workload: Resource) -> list[Resource]:
        """Resources of `kind` (PodDisruptionBudget, NetworkPolicy) whose pod selector selects the pods
        of `workload`, in its namespace."""
        by_label, unbucketed = self._selector_buckets[kind]
        labels = template.labels
        namespaces = self.namespace_keys(workload.namespace)
        candidates = {
            id(r): r
            for namespace in namespaces
            for key, value in labels.items()
            for label in ((namespace, str(key), label_text(value)), (namespace, str(key), None))
            for r in by_label.get(label, ())
        }
        candidates.update((id(r), r) for namespace in namespaces for r in unbucketed.get(namespace, ()))
        path = POD_SELECTORS[kind]
        ordered = sorted(candidates.values(), key=lambda r: self._order[id(r)])
        return [r for r in ordered if same_application(r, workload) and selects(dig(r.body, path), labels)]

    @cached_property
    def _selected_workloads(self) -> dict[int, list[Resource]]:
        table: dict[int, list[Resource]] = defaultdict(list)
        for workload in self.judged_workloads(REPLICATED):
            template = self.pod_template(workload)
            if template is None:
                continue
            for selector_owner in self.selecting("policy/PodDisruptionBudget", template, workload):
                table[id(selector_owner)].append(workload)
        return table

    def workloads_selected_by(self, disruption_budget: Resource) -> list[Resource]:
        """The replicated workloads whose pods a PodDisruptionBudget selects; of several, those nearest
        to it in the file tree (see `nearest`)."""
        return self.nearest(self._selected_workloads.get(id(disruption_budget), []), disruption_budget)

    def selects_any_pod(self, selector: dict, near: Resource) -> bool:
        """Whether `selector` selects the pod template of any workload in `near`'s namespace. Only the
        templates that carry its narrowest labels are tested; a selector that requires no label is taken
        to select something."""
        labels = self._narrowest_labels(selector)
        if labels is None:
            return True
        table = self._templates_by_label
        namespaces = self.namespace_keys(near.namespace)
        candidates = (t for n in namespaces for label in labels for t in table.get((n, *label), ()))
        return any(selects(selector, t.labels) for t in candidates)

    @staticmethod
    def _service_selector(service: Resource) -> dict | None:
        """A Service's `spec.selector` (a plain label map) as a LabelSelector; None when it has none (its
        endpoints are managed by hand, or it is an ExternalName)."""
        selector = dig(service.body, ("spec", "selector"))
        return {"matchLabels": selector} if isinstance(selector, dict) and selector else None

    @cached_property
    def _services_by_pod_label(self) -> dict[tuple, list[Resource]]:
        """Services with a pod selector, under (namespace, key, value) of its narrowest label."""
        table: dict[tuple, list[Resource]] = defaultdict(list)
        for service in self.of_kind("Service"):
            selector = self._service_selector(service)
            labels = self._narrowest_labels(selector) if selector else None
            for label in labels or ():
                for namespace in (service.namespace, "*"):
                    table[(namespace, *label)].append(service)
        return table

    def services_selecting(self, template: PodTemplate, workload: Resource) -> list[Resource]:
        """The Services of `workload`'s namespace whose `spec.selector` selects its pods, in scan order."""
        labels = template.labels
        table = self._services_by_pod_label
        candidates = {
            id(service): service
            for namespace in self.namespace_keys(workload.namespace)
            for key, value in labels.items()
            for service in table.get((namespace, str(key), label_text(value)), ())
        }
        ordered = sorted(candidates.values(), key=lambda service: self._order[id(service)])
        return [
            s for s in ordered if same_namespace(s, workload) and selects(self._service_selector(s), labels)
        ]

    # --- annotations --------------------------------------------------------------------------------

    @cached_property
    def _templates_by_annotation(self) -> dict[str, list[PodTemplate]]:
        table: dict[str, list[PodTemplate]] = defaultdict(list)
        for resource in self.resources:
            template = own_pod_template(resource)
            if template is not None:
                for key in template.annotations:
                    table[str(key)].append(template)
        return table

    def templates_annotated(self, key: str) -> list[PodTemplate]:
        """The pod templates written in workloads that carry the annotation `key`, in scan order."""
        return self._templates_by_annotation.get(key, [])

    # --- Terraform references -----------------------------------------------------------------------
    # Terraform resources are grouped by configuration (a root module and all it calls); references are
    # addresses in it without instance keys (`module.db.aws_db_instance.this`), made through module
    # inputs and outputs too.

    @cached_property
    def _referrers(self) -> dict[tuple[str, str], list[Resource]]:
        table: dict[tuple[str, str], list[Resource]] = defaultdict(list)
        for resource in self.resources:
            if resource.instance is not None:
                for address in sorted(resource.references):
                    table[resource.instance.configuration, address].append(resource)
        return table

    def referrers(self, resource: Resource, *kinds: str) -> list[Resource]:
        """Resources of `kinds` in the same Terraform configuration that mention `resource` (an edge made
        by an expression such as `aws_db_instance.main.id`, or by a module output that is one); data
        sources are `data.<type>`, module calls whose module is not on disk `module`."""
        if resource.instance is None:
            return []
        found = self._referrers.get((resource.instance.configuration, resource.base_address), ())
        return [r for r in found if r.kind in kinds]

    @cached_property
    def _by_address(self) -> dict[tuple[str, str], list[Resource]]:
        table: dict[tuple[str, str], list[Resource]] = defaultdict(list)
        for resource in self.resources:
            if resource.instance is not None:
                table[resource.instance.configuration, resource.base_address].append(resource)
        return table

    def referenced(self, resource: Resource, *kinds: str) -> list[Resource]:
        """Resources of `kinds` in the same Terraform configuration that `resource` mentions."""
        if resource.instance is None:
            return []
        configuration = resource.instance.configuration
        return [
            r
            for address in sorted(resource.references)
            for r in self._by_address.get((configuration, address), ())
            if r.kind in kinds
        ]

    @cached_property
    def _by_configuration_and_kind(self) -> dict[tuple[str, str], list[Resource]]:
        table: dict[tuple[str, str], list[Resource]] = defaultdict(list)
        for resource in self.resources:
            if resource.instance is not None:
                table[resource.instance.configuration, resource.kind].append(resource)
        return table

    def in_configuration(self, resource: Resource, kind: str) -> list[Resource]:
        """Resources of `kind` in the same Terraform configuration as `resource`."""
        if resource.instance is None:
            return []
        return self._by_configuration_and_kind.get((resource.instance.configuration, kind), [])
