"""The production-readiness checklist's sections, which every rule serves one of (`RuleMeta.section`)."""

from __future__ import annotations

# Number, title, rules that serve the section besides those whose own section it is (§ 6 reads the
# requests and autoscaler bounds that § 4's rules check), and whether manifests and Terraform can show it.
SECTIONS: tuple[tuple[int, str, tuple[str, ...], bool], ...] = (
    (1, "Alerts and metrics", (), True),
    (2, "Dashboards, SOPs, runbooks", (), True),
    (3, "On-call and escalation", (), True),
    (4, "Deployment", (), True),
    (5, "Observability and tracing", (), True),
    (6, "Load tests and capacity", ("PR201", "PR312", "PR315"), True),
    (7, "Quality", (), False),
    (8, "Release", (), True),
    (9, "Disaster recovery", (), True),
    (10, "Compliance and security", (), True),
    (11, "Documentation", (), False),
)
TITLES = {number: title for number, title, _, _ in SECTIONS}
