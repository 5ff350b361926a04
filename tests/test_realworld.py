"""prodready on a judged sample of real charts and Kustomize roots (tests/realworld/, see its NOTICE.md).

Every finding reported on the sample must be in `judged.tsv` at the level reported, and no finding judged
false or debatable may be a warning or an error: a rule change that brings a false positive back, raises
a note, or drops a finding fails here until the finding is judged again."""

import csv
from pathlib import Path

import pytest
from prodready.scan import ScanOptions, scan

SAMPLE = Path(__file__).parent / "realworld"
Key = tuple[str, str, int]  # rule, file inside the sample, line


def judged() -> dict[Key, dict[str, str]]:
    with open(SAMPLE / "judged.tsv", encoding="utf-8", newline="") as handle:
        lines = (line for line in handle if not line.startswith("#"))
        return {
            (row["rule"], row["file"], int(row["line"])): row for row in csv.DictReader(lines, delimiter="\t")
        }


def reported(monkeypatch: pytest.MonkeyPatch) -> dict[Key, str]:
    """Each unit scanned on its own, as prodready scans each chart or Kustomize root it renders."""
    monkeypatch.chdir(SAMPLE)
    found: dict[Key, str] = {}
    for unit in sorted(path.name for path in SAMPLE.iterdir() if path.is_dir()):
        for finding in scan([unit], ScanOptions(cache=False, jobs=1)).findings:
            key = (finding.rule.id, finding.location.file, finding.location.line)
            assert key not in found, f"two findings of {key[0]} at {key[1]}:{key[2]}: judge them apart"
            found[key] = str(finding.level)
    return found


def test_every_finding_is_judged_at_the_level_reported(monkeypatch: pytest.MonkeyPatch) -> None:
    expected = {key: row["level"] for key, row in judged().items() if row["level"] != "none"}
    assert reported(monkeypatch) == expected


def test_no_warning_or_error_is_false_or_debatable() -> None:
    wrong = [
        f"{rule} {file}:{line} {row['verdict']}: {row['reason']}"
        for (rule, file, line), row in judged().items()
        if row["level"] in ("warning", "error") and row["verdict"] != "right"
    ]
    assert wrong == []
