"""Charts and Kustomize trees rendered with the real engines, and findings at the lines people edit.

Each directory of `fixtures/render/` is scanned whole with the rules its `# select:` lines name; its
`# expect: PRnnn` marks, in templates, values, bases and patches, are the exact findings. Without helm or
kubectl these tests are skipped on a developer's machine and fail in CI, which installs both."""

import os
import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner
from prodready.cli import main
from prodready.scan import ScanOptions, scan

from tests.test_fixtures import FIXTURES, expected_marks, selected

RENDER = FIXTURES / "render"


def needs(engine: str) -> None:
    if shutil.which(engine) is None:
        if os.environ.get("CI"):
            pytest.fail(f"{engine} is not installed: CI must install the rendering engines (.ci/run)")
        pytest.skip(f"{engine} is not installed")


@pytest.mark.parametrize("case", sorted(RENDER.iterdir()), ids=lambda path: path.name)
def test_rendered_findings_point_at_the_lines_people_edit(case: Path, monkeypatch) -> None:
    needs("helm")
    needs("kubectl")
    monkeypatch.chdir(FIXTURES.parent)
    relative = case.relative_to(FIXTURES.parent)
    result = scan([str(relative)], ScanOptions(select=selected(case)[1:], cache=False, jobs=2))
    assert not [n for n in result.notifications if "internal error" in n.message]
    found = {(f.rule.id, f.location.file, f.location.line) for f in result.findings if not f.suppression}
    expected = {(rule, os.path.relpath(file), line) for rule, file, line in expected_marks(relative)}
    assert found == expected


def test_a_chart_without_helm_is_read_as_plain_files_with_a_note(monkeypatch, tmp_path) -> None:
    monkeypatch.setenv("PATH", str(tmp_path))  # no engine on it
    monkeypatch.chdir(RENDER / "chart")
    result = CliRunner().invoke(main, ["scan", "shop", "--no-cache", "--select", "PR301"])
    assert "shop was not rendered: helm is not installed" in result.output
    assert "No findings" in result.output


def test_the_hook_on_a_changed_base_file_renders_the_overlays_that_use_it(monkeypatch) -> None:
    needs("kubectl")
    monkeypatch.chdir(RENDER / "kustomize")
    result = CliRunner().invoke(
        main, ["scan", "--unit-context", "base/web.yaml", "--no-cache", "--select", "PR202,PR310"]
    )
    assert [line for line in result.output.splitlines() if not line.startswith(" ")] == [
        "base/web.yaml:4:3: warning PR310 missing-autoscaler: Deployment 'web' has no HorizontalPodAutoscaler or KEDA ScaledObject: its replica count stays fixed under load",
        "base/web.yaml:16:11: warning PR202 container-missing-memory-limit: container 'log-shipper' has no memory limit",
        "Found 2 findings (2 warnings) in 2 files, 4 resources.",
    ]


def test_the_hook_on_a_changed_template_renders_its_chart(monkeypatch) -> None:
    needs("helm")
    monkeypatch.chdir(RENDER / "chart")
    result = CliRunner().invoke(
        main,
        ["scan", "--unit-context", "shop/templates/deployment.yaml", "--no-cache", "--select", "PR201,PR301"],
    )
    files = {line.split(":")[0] for line in result.output.splitlines() if not line.startswith((" ", "Found"))}
    assert files == {"shop/templates/deployment.yaml"}
