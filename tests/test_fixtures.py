"""Every rule against its fixtures: `fixtures/<rule ID>/*` must yield exactly the findings of that rule
marked in the file with `# expect: PRnnn` on the line the finding points at, and nothing else."""

import re
from pathlib import Path

import pytest

from prodready.registry import all_rules
from prodready.scan import ScanOptions, scan

FIXTURES = Path(__file__).parent.parent / "fixtures"
EXPECT = re.compile(r"#\s*expect:\s*(PR\d{3}(?:\s*,\s*PR\d{3})*)")


def expected_marks(path: Path) -> set[tuple[str, int]]:
    marks = set()
    for number, line in enumerate(path.read_text(encoding="utf-8", errors="replace").splitlines(), start=1):
        match = EXPECT.search(line)
        if match:
            marks.update((rule_id.strip(), number) for rule_id in match.group(1).split(","))
    return marks


def fixture_files() -> list[Path]:
    return sorted(p for p in FIXTURES.glob("PR*/*") if p.is_file())


@pytest.mark.parametrize("path", fixture_files(), ids=lambda p: f"{p.parent.name}/{p.name}")
def test_fixture(path: Path) -> None:
    rule_id = path.parent.name
    result = scan([str(path)], ScanOptions(select=[rule_id]))
    assert not [n for n in result.notifications if "internal error" in n.message]
    found = {(f.rule.id, f.location.line) for f in result.findings if f.location.file == str(path)}
    expected = {mark for mark in expected_marks(path) if mark[0] == rule_id}
    assert found == expected


@pytest.mark.parametrize("meta", all_rules(), ids=lambda meta: meta.id)
def test_every_rule_has_firing_and_quiet_fixtures(meta) -> None:
    files = [p for p in fixture_files() if p.parent.name == meta.id]
    firing = [p for p in files if any(rule_id == meta.id for rule_id, _ in expected_marks(p))]
    assert firing, f"fixtures/{meta.id}/ has no fixture that must fire"
    assert len(firing) < len(files), f"fixtures/{meta.id}/ has no near-miss that must stay quiet"
