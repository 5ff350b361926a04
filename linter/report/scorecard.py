"""Markdown for `$GITHUB_STEP_SUMMARY`: the checklist's eleven sections, each with the rules that ran, how
many checks they made, the findings by level and a verdict; sections no manifest can show say so."""

from __future__ import annotations

from prodready.checklist import SECTIONS
from prodready.model import Level
from prodready.report import counts_by_level

NOT_CHECKABLE = "➖ not statically checkable"
NOT_SELECTED = "➖ no rules selected"
NOTHING_CHECKED = "➖ nothing to check"  # the rules ran, but the scan held nothing they read


def _plural(count: int, word: str) -> str:
    return f"{count:,} {word}{'' if count == 1 else 's'}"


def _levels(counts: dict[str, int]) -> str:
    return ", ".join(
        _plural(counts[str(level)], str(level)) for level in reversed(Level) if counts.get(str(level))
    )


def verdict(counts: dict[str, int], checks: int = 1) -> str:
    """✅ no findings, ℹ️ notes only, ⚠️ warnings, ❌ errors; the counts of every level found."""
    if not counts:
        return "✅ no findings" if checks else NOTHING_CHECKED
    mark = "❌" if counts.get("error") else "⚠️" if counts.get("warning") else "ℹ️"
    return f"{mark} {_levels(counts)}"


def render(result) -> str:
    findings = [finding for finding in result.findings if finding.suppression is None]
    ran = {meta.id: meta for meta in result.rules}
    scanned = f"{_plural(result.files, 'file')}, {_plural(result.resources, 'resource')}"
    overall = verdict(counts_by_level(findings))
    lines = [
        "# prodready scorecard",
        "",
        f"**{overall}** in {scanned}; {_plural(len(ran), 'rule')} ran.",
        "",
        "| § | section | rules | rule checks | errors | warnings | notes | verdict |",
        "|--:|---|--:|--:|--:|--:|--:|---|",
    ]
    details = []
    for number, title, also, checkable in SECTIONS:
        rules = [meta for meta in result.rules if meta.section == number or meta.id in also]
        if not checkable or not rules:
            lines.append(
                f"| {number} | {title} | – | – | – | – | – | {NOT_CHECKABLE if not checkable else NOT_SELECTED} |"
            )
            continue
        ids = {meta.id for meta in rules}
        counts = counts_by_level([finding for finding in findings if finding.rule.id in ids])
        checks = sum(result.checked.get(rule_id, 0) for rule_id in ids)
        row = " | ".join(f"{counts.get(level, 0):,}" for level in ("error", "warning", "note"))
        lines.append(
            f"| {number} | {title} | {len(rules)} | {checks:,} | {row} | {verdict(counts, checks)} |"
        )
        names = ", ".join(f"`{meta.id}` {meta.name}" for meta in rules)
        details += ["", f"**§ {number} {title}** ({verdict(counts, checks)}): {names}"]
    unsectioned = [finding for finding in findings if finding.rule.section is None]
    if unsectioned:
        lines += ["", f"Input problems (PR0xx, in no section): {_levels(counts_by_level(unsectioned))}."]
    lines += [
        "",
        (
            "*Rule checks*: the resources each rule ran on, summed over the section's rules (a resource that three"
            " rules read counts three times). *Not statically checkable*: no manifest or Terraform shows it."
            " *No rules selected*: none of the section's rules ran in this scan. *Nothing to check*: they ran, but"
            " the scan held no resource they read."
        ),
    ]
    if details:
        lines += ["", "## Rules that ran", *details]
    return "\n".join(lines) + "\n"
