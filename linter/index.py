"""Lookups across the scanned resources, built once per scan so that no rule searches the whole set."""

from __future__ import annotations

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

    # --- workloads by name --------------------------------------------------------------------------

    @cached_property
    def _workloads_by_name(self) -> dict[tuple[str, str], list[Resource]]:
        table: dict[tuple[str, str], list[Resource]] = defaultdict(list)
        for resource in self.resources:
            if is_workload(resource):
                table[resource.kind, resource.name].append(resource)
        return table

    def workload(self, kind: str, name: str, near: Resource) -> Resource | None:
        """The workload of that kind and name in `near`'s namespace."""
        for candidate in self._workloads_by_name.get((kind, name), ()):
            if same_namespace(candidate, near):
                return candidate
        return None

    # --- autoscalers and Argo Rollouts --------------------------------------------------------------

    @cached_property
    def _autoscalers_by_target(self) -> dict[tuple[str, str], list[Resource]]:
        table: dict[tuple[str, str], list[Resource]] = defaultdict(list)
        for resource in self.of_kind("HorizontalPodAutoscaler", "ScaledObject"):
            target = autoscaler_target(resource)
            if target and is_autoscaler(resource):
                table[target].append(resource)
        return table

    def autoscalers_of(self, workload: Resource) -> list[Resource]:
        """The HPAs and KEDA ScaledObjects that scale `workload`."""
        candidates = self._autoscalers_by_target.get((workload.kind, workload.name), ())
        return [autoscaler for autoscaler in candidates if same_namespace(autoscaler, workload)]

    def autoscaler_target_of(self, autoscaler: Resource) -> Resource | None:
        target = autoscaler_target(autoscaler)
        return self.workload(*target, autoscaler) if target else None

    @cached_property
    def _rollouts_by_workload_ref(self) -> dict[tuple[str, str], list[Resource]]:
        table: dict[tuple[str, str], list[Resource]] = defaultdict(list)
        for rollout in self.of_kind("Rollout"):
            reference = mapping(dig(rollout.body, ("spec", "workloadRef")))
            if is_workload(rollout) and isinstance(reference.get("name"), str):
                table[str(reference.get("kind", "Deployment")), reference["name"]].append(rollout)
        return table

    def rollout_replacing(self, workload: Resource) -> Resource | None:
        """The Argo Rollout that names `workload` in its `workloadRef`: it is judged through the Rollout."""
        for rollout in self._rollouts_by_workload_ref.get((workload.kind, workload.name), ()):
            if same_namespace(rollout, workload):
                return rollout
        return None

    def pod_template(self, workload: Resource) -> PodTemplate | None:
        """The workload's pod template, following an Argo Rollout's `workloadRef` to the Deployment."""
        template = own_pod_template(workload)
        if template is None and workload.kind == "Rollout":
            reference = mapping(dig(workload.body, ("spec", "workloadRef")))
            name = reference.get("name")
            if isinstance(name, str):
                referenced = self.workload(str(reference.get("kind", "Deployment")), name, workload)
                template = own_pod_template(referenced) if referenced else None
        return template

    def replicas(self, workload: Resource) -> int | None:
        """The replicas a workload runs with: the minimum of its autoscaler when one targets it, else
        `spec.replicas` (absent = 1). None when that is not a number."""
        autoscalers = self.autoscalers_of(workload)
        if autoscalers:
            minimums = [autoscaler_minimum(autoscaler) for autoscaler in autoscalers]
            known = [minimum for minimum in minimums if minimum is not None]
            return max(known) if known else None
        value = mapping(workload.body.get("spec")).get("replicas", 1)
        return value if isinstance(value, int) and not isinstance(value, bool) else None

    def judged_workloads(self, kinds: Iterable[str]) -> Iterable[Resource]:
        """Workloads of `kinds` that are judged on their own: a Deployment an Argo Rollout replaces is
        judged through the Rollout."""
        for resource in self.of_kind(*kinds):
            if is_workload(resource) and self.rollout_replacing(resource) is None:
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
        """The replicated workloads whose pods a PodDisruptionBudget selects."""
        return self._selected_workloads.get(id(disruption_budget), [])
