"""Every rule against its fixtures: `fixtures/<rule ID>/*` must yield exactly the findings of that rule
marked with `# expect: PRnnn` on the line the finding points at, and nothing else. A fixture is a file
scanned alone, or a directory (a Terraform module with its tfvars, say) scanned whole. A `# select: PRnnn`
line runs more rules beside the fixture's own (PR004 needs the rules its suppressions name)."""

import re
from pathlib import Path

import pytest
from prodready.registry import all_rules
from prodready.scan import ScanOptions, scan

FIXTURES = Path(__file__).parent.parent / "fixtures"
EXPECT = re.compile(r"#\s*expect:\s*(PR\d{3}(?:\s*,\s*PR\d{3})*)")
SELECT = re.compile(r"#\s*select:\s*(PR\d{3}(?:\s*,\s*PR\d{3})*)")


def expected_marks(fixture: Path) -> set[tuple[str, str, int]]:
    """(rule, file, line) for every mark in a fixture file, or in every file of a fixture directory."""
    files = sorted(p for p in fixture.rglob("*") if p.is_file()) if fixture.is_dir() else [fixture]
    marks = set()
    for path in files:
        for number, line in enumerate(
            path.read_text(encoding="utf-8", errors="replace").splitlines(), start=1
        ):
            match = EXPECT.search(line)
            if match:
                marks.update((rule_id.strip(), str(path), number) for rule_id in match.group(1).split(","))
    return marks


def selected(fixture: Path) -> list[str]:
    files = sorted(p for p in fixture.rglob("*") if p.is_file()) if fixture.is_dir() else [fixture]
    found = [fixture.parent.name]
    for path in files:
        for match in SELECT.finditer(path.read_text(encoding="utf-8", errors="replace")):
            found.extend(rule_id.strip() for rule_id in match.group(1).split(","))
    return found


def fixtures() -> list[Path]:
    return sorted(FIXTURES.glob("PR*/*"))


@pytest.mark.parametrize("fixture", fixtures(), ids=lambda p: f"{p.parent.name}/{p.name}")
def test_fixture(fixture: Path) -> None:
    rule_id = fixture.parent.name
    result = scan([str(fixture)], ScanOptions(select=selected(fixture), cache=False, jobs=1))
    assert not [n for n in result.notifications if "internal error" in n.message]
    found = {
        (f.rule.id, f.location.file, f.location.line)
        for f in result.findings
        if f.rule.id == rule_id and not f.suppression
    }
    expected = {mark for mark in expected_marks(fixture) if mark[0] == rule_id}
    assert found == expected


@pytest.mark.parametrize("meta", all_rules(), ids=lambda meta: meta.id)
def test_every_rule_has_firing_and_quiet_fixtures(meta) -> None:
    files = [p for p in fixtures() if p.parent.name == meta.id]
    firing = [p for p in files if any(rule_id == meta.id for rule_id, _, _ in expected_marks(p))]
    assert firing, f"fixtures/{meta.id}/ has no fixture that must fire"
    assert len(firing) < len(files), f"fixtures/{meta.id}/ has no near-miss that must stay quiet"
