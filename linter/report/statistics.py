"""`--statistics`: how many findings each rule made, most first, like `ruff check --statistics`."""

from __future__ import annotations


def render(result) -> str:
    counts: dict[str, int] = {}
    levels: dict[str, set] = {}
    rules = {}
    for finding in result.findings:
        if finding.suppression is not None:
            continue
        rule = finding.rule
        rules[rule.id] = rule
        counts[rule.id] = counts.get(rule.id, 0) + 1
        # A rule may lower some of its findings (a note where context is missing): show every level seen.
        levels.setdefault(rule.id, set()).add(finding.level)
    if not counts:
        return ""
    order = sorted(counts, key=lambda rule_id: (-counts[rule_id], rule_id))
    count_width = max(len(f"{count:,}") for count in counts.values())
    name_width = max(len(rules[rule_id].name) for rule_id in order)
    lines = []
    for rule_id in order:
        level = "/".join(str(level) for level in sorted(levels[rule_id], reverse=True))
        lines.append(
            f"{counts[rule_id]:>{count_width},}  {rule_id}  {rules[rule_id].name:<{name_width}}  {level}"
        )
    return "\n".join(lines) + "\n"
