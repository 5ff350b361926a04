"""Lookups across the scanned resources, built once per scan so that no rule searches the whole set."""

from __future__ import annotations

import os
from collections import defaultdict
from functools import cached_property
from typing import Iterable

from prodready.kubernetes import (
    PodTemplate,
    autoscaler_minimum,
    autoscaler_target,
    dig,
    is_autoscaler,
    is_replicated,
    is_workload,
    label_text,
    mapping,
    own_pod_template,
    same_namespace,
    selects,
    sequence,
)
from prodready.model import Path, Problem, Resource

# kind → where its pod selector lives
POD_SELECTORS: dict[str, Path] = {
    "PodDisruptionBudget": ("spec", "selector"),
    "NetworkPolicy": ("spec", "podSelector"),
}


class Index:
    def __init__(self, resources: list[Resource], input_problems: Iterable[tuple[str, Problem]] = ()) -> None:
        self.resources = resources
        self._order = {id(resource): position for position, resource in enumerate(resources)}
        self._by_kind: dict[str, list[Resource]] = defaultdict(list)
        for resource in resources:
            self._by_kind[resource.kind].append(resource)
        self._input_problems: dict[str, list[Problem]] = defaultdict(list)
        for rule_id, problem in input_problems:
            self._input_problems[rule_id].append(problem)

    def of_kind(self, *kinds: str) -> list[Resource]:
        """Resources of the given kinds, in scan order."""
        if len(kinds) == 1:
            return self._by_kind.get(kinds[0], [])
        wanted = set(kinds)
        return [resource for resource in self.resources if resource.kind in wanted]

    def input_problems(self, rule_id: str) -> list[Problem]:
        """What the loaders found wrong with the input itself, for the PR0xx rules."""
        return self._input_problems.get(rule_id, [])

    # --- references by name -------------------------------------------------------------------------
    # A scan may hold several applications that reuse names (examples of one chart rendered side by
    # side, each in its own directory, all in `default` or in no namespace). A reference by name
    # therefore resolves to the candidates nearest to the referring file: same file first, then the
    # fewest directory steps apart; equally near candidates all count.

    @cached_property
    def _workloads_by_name(self) -> dict[tuple[str, str], list[Resource]]:
        table: dict[tuple[str, str], list[Resource]] = defaultdict(list)
        for resource in self.resources:
            if is_workload(resource):
                table[resource.kind, resource.name].append(resource)
        return table

    @cached_property
    def _directories(self) -> dict[str, tuple[str, ...]]:
        table: dict[str, tuple[str, ...]] = {}
        for resource in self.resources:
            if resource.file not in table:
                parts = os.path.normpath(os.path.dirname(resource.file)).split(os.sep)
                table[resource.file] = tuple(part for part in parts if part not in ("", "."))
        return table

    def _distance(self, a: Resource, b: Resource) -> int:
        if a.file == b.file:
            return -1
        left, right = self._directories[a.file], self._directories[b.file]
        common = 0
        for x, y in zip(left, right):
            if x != y:
                break
            common += 1
        return len(left) + len(right) - 2 * common

    def nearest(self, candidates: Iterable[Resource], near: Resource) -> list[Resource]:
        """The candidates in `near`'s namespace that are nearest to it in the file tree, in scan order."""
        found = [candidate for candidate in candidates if same_namespace(candidate, near)]
        if len(found) <= 1:
            return found
        distances = [self._distance(candidate, near) for candidate in found]
        best = min(distances)
        return [candidate for candidate, distance in zip(found, distances) if distance == best]

    def workloads_named(self, kind: str, name: str, near: Resource) -> list[Resource]:
        """The workloads of that kind and name that a reference from `near` means."""
        return self.nearest(self._workloads_by_name.get((kind, name), ()), near)

    def workload(self, kind: str, name: str, near: Resource) -> Resource | None:
        """The workload of that kind and name in `near`'s namespace (the nearest, see above)."""
        found = self.workloads_named(kind, name, near)
        return found[0] if found else None

    @cached_property
    def _resources_by_name(self) -> dict[tuple[str, str], list[Resource]]:
        table: dict[tuple[str, str], list[Resource]] = defaultdict(list)
        for resource in self.resources:
            table[resource.kind, resource.name].append(resource)
        return table

    def named(self, kind: str, name: str, near: Resource) -> Resource | None:
        """Any resource of that kind and name in `near`'s namespace, workload or not (an autoscaler may
        scale a custom resource)."""
        found = self.nearest(self._resources_by_name.get((kind, name), ()), near)
        return found[0] if found else None

    # --- autoscalers and Argo Rollouts --------------------------------------------------------------

    @cached_property
    def _autoscalers_by_target(self) -> dict[int, list[Resource]]:
        table: dict[int, list[Resource]] = defaultdict(list)
        for resource in self.of_kind("HorizontalPodAutoscaler", "ScaledObject"):
            target = autoscaler_target(resource)
            if target and is_autoscaler(resource):
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
        for rollout in self.of_kind("Rollout"):
            reference = self._workload_ref(rollout)
            if is_workload(rollout) and reference:
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
        value = spec.get("replicas", 1) if isinstance(spec, dict) else None
        return value if isinstance(value, int) and not isinstance(value, bool) else None

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

    @cached_property
    def _selector_buckets(self) -> dict[str, tuple[dict, list]]:
        """Per selecting kind: resources bucketed by one (key, value) of their matchLabels, plus those
        without matchLabels, so a lookup only tests selectors that can match."""
        buckets: dict[str, tuple[dict, list]] = {}
        for kind, path in POD_SELECTORS.items():
            by_label: dict[tuple[str, str], list[Resource]] = defaultdict(list)
            unbucketed: list[Resource] = []
            for resource in self.of_kind(kind):
                match_labels = mapping(mapping(dig(resource.body, path)).get("matchLabels"))
                if match_labels:
                    key, value = next(iter(match_labels.items()))
                    by_label[key, label_text(value)].append(resource)
                else:
                    unbucketed.append(resource)
            buckets[kind] = (by_label, unbucketed)
        return buckets

    def selecting(self, kind: str, template: PodTemplate, workload: Resource) -> list[Resource]:
        """Resources of `kind` (PodDisruptionBudget, NetworkPolicy) whose pod selector selects the pods
        of `workload`, in its namespace."""
        by_label, unbucketed = self._selector_buckets[kind]
        labels = template.labels
        candidates = {id(r): r for key, value in labels.items() for r in by_label.get((key, label_text(value)), ())}
        path = POD_SELECTORS[kind]
        ordered = sorted([*candidates.values(), *unbucketed], key=lambda r: self._order[id(r)])
        return [r for r in ordered if same_namespace(r, workload) and selects(dig(r.body, path), labels)]

    @cached_property
    def _selected_workloads(self) -> dict[int, list[Resource]]:
        table: dict[int, list[Resource]] = defaultdict(list)
        for workload in self.judged_workloads(("Deployment", "StatefulSet", "ReplicaSet", "Rollout")):
            template = self.pod_template(workload) if is_replicated(workload) else None
            if template is None:
                continue
            for selector_owner in self.selecting("PodDisruptionBudget", template, workload):
                table[id(selector_owner)].append(workload)
        return table

    def workloads_selected_by(self, disruption_budget: Resource) -> list[Resource]:
        """The replicated workloads whose pods a PodDisruptionBudget selects; of several, those nearest
        to it in the file tree (see `nearest`)."""
        return self.nearest(self._selected_workloads.get(id(disruption_budget), []), disruption_budget)

    @cached_property
    def _templates_by_label(self) -> dict[tuple[str, str | None], list[PodTemplate]]:
        """Every pod template written in a workload, under each (key, value) of its labels and under
        (key, None) for the key alone."""
        table: dict[tuple[str, str | None], list[PodTemplate]] = defaultdict(list)
        for resource in self.resources:
            template = own_pod_template(resource)
            if template is None:
                continue
            for key, value in template.labels.items():
                table[str(key), label_text(value)].append(template)
                table[str(key), None].append(template)
        return table

    def selects_any_pod(self, selector: dict, near: Resource) -> bool:
        """Whether `selector` selects the pod template of any workload in `near`'s namespace. Only the
        templates that carry a label the selector requires are tested; a selector that requires no label
        (empty, or only NotIn/DoesNotExist) is taken to select something."""
        candidates: list[PodTemplate] = []
        match_labels = mapping(selector.get("matchLabels"))
        if match_labels:
            key, value = next(iter(match_labels.items()))
            candidates = self._templates_by_label.get((str(key), label_text(value)), [])
        else:
            for expression in sequence(selector.get("matchExpressions")):
                expression = mapping(expression)
                key, operator = str(expression.get("key")), expression.get("operator")
                if operator == "In":
                    values = {label_text(v) for v in sequence(expression.get("values"))}
                    table = self._templates_by_label
                    candidates = [t for value in values for t in table.get((key, value), [])]
                    break
                if operator == "Exists":
                    candidates = self._templates_by_label.get((key, None), [])
                    break
            else:
                return True
        return any(same_namespace(t.owner, near) and selects(selector, t.labels) for t in candidates)

    # --- Terraform references -----------------------------------------------------------------------

    @cached_property
    def _referrers(self) -> dict[tuple[str | None, str], list[Resource]]:
        table: dict[tuple[str | None, str], list[Resource]] = defaultdict(list)
        for resource in self.resources:
            for address in sorted(resource.references):
                table[resource.namespace, address].append(resource)
        return table

    def referrers(self, resource: Resource, *kinds: str) -> list[Resource]:
        """Resources of `kinds` in the same Terraform module that mention `resource` (an edge made by
        an expression such as `aws_db_instance.main.id`); data sources are `data.<type>`, module calls
        `module`."""
        address = f"{resource.kind}.{resource.name}"
        return [r for r in self._referrers.get((resource.namespace, address), ()) if r.kind in kinds]

    @cached_property
    def _by_address(self) -> dict[tuple[str | None, str], Resource]:
        return {(r.namespace, f"{r.kind}.{r.name}"): r for r in self.resources if r.api_version == "terraform"}

    def referenced(self, resource: Resource, *kinds: str) -> list[Resource]:
        """Resources of `kinds` in the same Terraform module that `resource` mentions."""
        found = (self._by_address.get((resource.namespace, address)) for address in sorted(resource.references))
        return [r for r in found if r is not None and r.kind in kinds]

    @cached_property
    def _by_module_and_kind(self) -> dict[tuple[str | None, str], list[Resource]]:
        table: dict[tuple[str | None, str], list[Resource]] = defaultdict(list)
        for resource in self.resources:
            if resource.api_version == "terraform":
                table[resource.namespace, resource.kind].append(resource)
        return table

    def in_module(self, resource: Resource, kind: str) -> list[Resource]:
        """Resources of `kind` in the same Terraform module (directory) as `resource`."""
        return self._by_module_and_kind.get((resource.namespace, kind), [])

