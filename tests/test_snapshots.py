"""The exact text output of every fixture directory, compared with `tests/snapshots/<rule ID>.txt`.

The fixture tests assert which lines fire; these pin everything a reader sees: message, column, related
locations, suppressions and the summary. A change to any of them shows up as a diff of the snapshot, to be
reviewed like code. Refresh after an intended change with:

    python -m pytest tests/test_snapshots.py --update-snapshots
"""

from pathlib import Path

import pytest
from prodready.report import render
from prodready.scan import ScanOptions, scan

from tests.test_fixtures import FIXTURES, selected

ROOT = FIXTURES.parent
SNAPSHOTS = Path(__file__).parent / "snapshots"


def output_of(directory: Path) -> str:
    """Each fixture of the directory scanned as the fixture test scans it, under a header naming it."""
    parts = []
    for fixture in sorted(directory.iterdir()):
        relative = fixture.relative_to(ROOT)
        result = scan([str(relative)], ScanOptions(select=selected(fixture), cache=False, jobs=1))
        parts.append(f"## {relative.as_posix()}\n{render('text', result, show_suppressed=True)}")
    return "\n".join(parts)


@pytest.mark.parametrize("directory", sorted(FIXTURES.glob("PR*")), ids=lambda path: path.name)
def test_exact_output(directory: Path, monkeypatch, request) -> None:
    monkeypatch.chdir(ROOT)
    actual = output_of(directory)
    snapshot = SNAPSHOTS / f"{directory.name}.txt"
    if request.config.getoption("--update-snapshots"):
        SNAPSHOTS.mkdir(exist_ok=True)
        snapshot.write_text(actual, encoding="utf-8")
    assert snapshot.exists(), f"no snapshot for {directory.name}: run with --update-snapshots"
    assert actual == snapshot.read_text(encoding="utf-8")
