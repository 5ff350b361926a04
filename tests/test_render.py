"""Charts and Kustomize trees rendered with the real engines, and findings at the lines people edit.

Each directory of `fixtures/render/` is scanned whole with the rules its `# select:` lines name; its
`# expect: PRnnn` marks, in templates, values, bases and patches, are the exact findings. Charts are
rendered by the helm binary, and again by the embedded engine (`prodready[helm]`) with no helm on PATH.
Without an engine these tests are skipped on a developer's machine and fail in CI, which installs them."""

import importlib.util
import os
import shutil
import subprocess
from pathlib import Path

import pytest
from click.testing import CliRunner
from prodready import embedded_helm, render
from prodready.cli import main
from prodready.scan import ScanOptions, scan

from tests.test_fixtures import FIXTURES, expected_marks, selected

RENDER = FIXTURES / "render"


def needs(engine: str) -> None:
    if shutil.which(engine) is None:
        if os.environ.get("CI"):
            pytest.fail(f"{engine} is not installed: CI must install the rendering engines (.ci/run)")
        pytest.skip(f"{engine} is not installed")


def needs_embedded_helm() -> None:
    if importlib.util.find_spec("helm_python") is None:
        if os.environ.get("CI"):
            pytest.fail("helm-python-sdk is not installed: CI must install prodready[helm] (.ci/run)")
        pytest.skip("helm-python-sdk is not installed")


@pytest.fixture
def without_helm_binary(monkeypatch, tmp_path) -> None:
    """PATH with kubectl and without helm, so charts render in-process."""
    needs("kubectl")
    needs_embedded_helm()
    os.symlink(shutil.which("kubectl"), tmp_path / "kubectl")
    monkeypatch.setenv("PATH", str(tmp_path))


@pytest.mark.parametrize("case", sorted(RENDER.iterdir()), ids=lambda path: path.name)
def test_rendered_findings_point_at_the_lines_people_edit(case: Path, monkeypatch) -> None:
    needs("helm")
    needs("kubectl")
    assert_marks_are_the_findings(case, monkeypatch)


@pytest.mark.parametrize(
    "case", sorted(path for path in RENDER.iterdir() if "chart" in path.name), ids=lambda path: path.name
)
def test_the_embedded_engine_finds_what_helm_finds(case: Path, monkeypatch, without_helm_binary) -> None:
    assert_marks_are_the_findings(case, monkeypatch)


def assert_marks_are_the_findings(case: Path, monkeypatch) -> None:
    monkeypatch.chdir(FIXTURES.parent)
    relative = case.relative_to(FIXTURES.parent)
    result = scan([str(relative)], ScanOptions(select=selected(case)[1:], cache=False, jobs=2))
    assert not [
        n for n in result.notifications if "internal error" in n.message or "not rendered" in n.message
    ]
    found = {(f.rule.id, f.location.file, f.location.line) for f in result.findings if not f.suppression}
    expected = {(rule, os.path.relpath(file), line) for rule, file, line in expected_marks(relative)}
    assert found == expected


def test_the_embedded_engine_prints_what_helm_template_prints(tmp_path) -> None:
    needs("helm")
    needs_embedded_helm()
    values = tmp_path / "prod.yaml"
    values.write_text("replicaCount: 3\nresources:\n  limits:\n    memory: 1Gi\n")
    charts = [
        RENDER / "chart" / "shop",
        RENDER / "packaged-subchart" / "shop",
        RENDER / "chart-helpers" / "web",
    ]
    for chart in charts:
        for files, settings in [([], []), ([str(values)], ["replicaCount=5", "image.tag=2.0"])]:
            command = ["helm", "template", "release", str(chart)]
            command += [a for f in files for a in ("-f", f)] + [a for s in settings for a in ("--set", s)]
            printed = subprocess.run(command, capture_output=True, check=True).stdout
            assert embedded_helm.template(str(chart), "release", files, settings) == (printed, "")


def test_the_helm_binary_is_preferred_to_the_embedded_engine() -> None:
    needs("helm")
    engine = render._engine("helm")
    assert engine is not None and engine[0] == [shutil.which("helm"), "template"]


def test_a_chart_without_helm_is_read_as_plain_files_with_a_note(monkeypatch, no_rendering_engines) -> None:
    monkeypatch.chdir(RENDER / "chart")
    result = CliRunner().invoke(main, ["scan", "shop", "--no-cache", "--select", "PR301"])
    assert (
        "shop was not rendered: helm is not installed (put it on PATH, or install prodready[helm] to "
        "render in-process)" in result.output
    )
    assert "No findings" in result.output


def test_the_hook_on_a_changed_base_file_renders_the_overlays_that_use_it(monkeypatch) -> None:
    needs("kubectl")
    monkeypatch.chdir(RENDER / "kustomize")
    result = CliRunner().invoke(
        main, ["scan", "--unit-context", "base/web.yaml", "--no-cache", "--select", "PR202"]
    )
    assert [line for line in result.output.splitlines() if not line.startswith(" ")] == [
        "base/web.yaml:16:11: warning PR202 container-missing-memory-limit: container 'log-shipper' has no memory limit",
        "Found 1 finding (1 warning) in 2 files, 4 resources.",
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


def test_helm_set_and_values_files_render_every_chart_with_them(monkeypatch, tmp_path) -> None:
    needs("helm")
    monkeypatch.chdir(RENDER / "chart")
    values = tmp_path / "prod.yaml"
    values.write_text("replicaCount: 1\n")
    arguments = ["scan", "shop", "--no-cache", "--select", "PR301"]
    with_set = CliRunner().invoke(main, [*arguments, "--helm-set", "replicaCount=3"]).output
    assert "Deployment 'shop-web'" not in with_set
    with_file = CliRunner().invoke(
        main, [*arguments, "--helm-set", "replicaCount=3", "--helm-values", str(values)]
    )
    assert "Deployment 'shop-web'" not in with_file.output  # --set wins over -f, as in helm


def test_a_template_outside_a_chart_is_a_note_unless_configured_as_an_error(tmp_path) -> None:
    template = FIXTURES / "PR001" / "unrendered-template.yaml"
    quiet = CliRunner().invoke(main, ["scan", str(template), "--isolated"])
    assert quiet.exit_code == 0 and "were not checked" in quiet.stderr
    config = tmp_path / ".prodready.yaml"
    config.write_text("unrendered-templates: error\n")
    loud = CliRunner().invoke(main, ["scan", str(template), "--config", str(config)])
    assert loud.exit_code == 2 and "PR001 invalid-input" in loud.output


def test_a_warm_scan_renders_nothing_that_did_not_change(monkeypatch, tmp_path) -> None:
    needs("helm")
    needs("kubectl")
    import prodready.render

    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    monkeypatch.chdir(RENDER)
    cold = CliRunner().invoke(main, ["scan", "chart", "kustomize", "--select", "PR202,PR301"]).output

    def no_engine_runs(*arguments):
        raise AssertionError("rendered again")

    monkeypatch.setattr(prodready.render, "_run", no_engine_runs)
    assert CliRunner().invoke(main, ["scan", "chart", "kustomize", "--select", "PR202,PR301"]).output == cold


def test_a_chart_of_the_configuration_is_rendered_with_its_own_values_and_they_are_located(
    monkeypatch, tmp_path
) -> None:
    needs("helm")
    monkeypatch.chdir(RENDER)
    (tmp_path / "prod.yaml").write_text("resources:\n  requests:\n    memory: 512Mi\n")
    shop = os.path.relpath(RENDER / "chart" / "shop", tmp_path)
    config = tmp_path / ".prodready.yaml"
    config.write_text(f"charts:\n  {shop}:\n    values: [prod.yaml]\n    set: [replicaCount=3]\n")
    arguments = ["scan", "chart/shop", "chart-helpers/web", "--no-cache", "--config", str(config)]
    result = CliRunner().invoke(main, [*arguments, "--select", "PR204,PR301"])
    prod = os.path.relpath(tmp_path / "prod.yaml")
    assert [line for line in result.output.splitlines() if not line.startswith(" ")] == [
        f"{prod}:3:5: error PR204 requests-exceed-limits: container 'web' requests 512Mi memory, more than its limit 256Mi",
        "chart-helpers/web/values.yaml:3:3: warning PR301 single-replica: Deployment 'web-web' runs 1 replica: one node drain or crash takes it down",
        "chart-helpers/web/values.yaml:6:7: error PR204 requests-exceed-limits: container 'web' requests 1Gi memory, more than its limit 256Mi",
        "chart-helpers/web/values.yaml:17:7: error PR204 requests-exceed-limits: container 'sidecar' requests 2Gi memory, more than its limit 1Gi",
        "chart-helpers/web/values.yaml:21:3: note PR301 single-replica: StatefulSet 'web-cache' runs 1 replica: nothing sends it requests (it declares no port and no Service selects it), so a node drain or crash pauses its work rather than failing requests",
        "chart/shop/charts/cache/templates/statefulset.yaml:6:3: note PR301 single-replica: StatefulSet 'shop-cache' runs 1 replica: nothing sends it requests (it declares no port and no Service selects it), so a node drain or crash pauses its work rather than failing requests",
        "Found 6 findings (3 errors, 1 warning, 2 notes) in 2 files, 6 resources.",
    ]
    assert result.output.splitlines()[1:3] == [
        "    chart/shop/templates/deployment.yaml:32:11: template",
        "    chart/shop (helm template):48:15: rendered manifest",
    ]


def test_a_chart_whose_output_is_among_the_scanned_files_is_not_rendered_again(monkeypatch, tmp_path) -> None:
    needs("helm")
    import subprocess

    import prodready.render

    shutil.copytree(RENDER / "chart" / "shop", tmp_path / "shop")
    rendered = subprocess.run(
        ["helm", "template", "shop", "shop"], cwd=tmp_path, capture_output=True, check=True
    )
    (tmp_path / "rendered").mkdir()
    (tmp_path / "rendered" / "shop.yaml").write_bytes(rendered.stdout)

    def no_engine_runs(*arguments):
        raise AssertionError("rendered again")

    monkeypatch.setattr(prodready.render, "_run", no_engine_runs)
    monkeypatch.chdir(tmp_path)
    result = CliRunner().invoke(main, ["scan", ".", "--no-cache", "--select", "PR301"])
    assert "shop was not rendered: its output is already among the scanned files (rendered/shop.yaml)" in (
        result.output
    )
    findings = [line for line in result.output.splitlines() if " PR301 " in line]
    assert [line.split(":")[0] for line in findings] == [
        "shop/charts/cache/templates/statefulset.yaml",  # the templates: the values are not known
        "shop/templates/deployment.yaml",
    ]


def test_checks_see_rendered_objects_without_the_build_annotations_prodready_asked_for(tmp_path) -> None:
    needs("kubectl")
    config = tmp_path / ".prodready.yaml"
    config.write_text(
        "checks:\n  ACME001:\n    name: annotations-allowed\n    level: warning\n    section: 3\n"
        "    target: apps/Deployment\n    message: only the allowed annotations\n"
        "    description: Deployments carry only the annotations the platform knows.\n"
        "    schema:\n      properties:\n        metadata:\n          properties:\n"
        "            annotations: {propertyNames: {enum: [team]}}\n"
    )
    overlay = RENDER / "kustomize" / "overlays" / "prod"
    result = CliRunner().invoke(
        main, ["scan", "--config", str(config), "--no-cache", "--select", "ACME001,PR202", str(overlay)]
    )
    assert "ACME001" not in result.output
    assert "PR202" in result.output  # the overlay still renders and is located


def test_rendered_output_over_the_size_limit_is_reported_not_read(monkeypatch) -> None:
    needs("helm")
    monkeypatch.chdir(RENDER / "chart")
    result = CliRunner().invoke(main, ["scan", "shop", "--no-cache", "--max-file-size", "0.001"])
    assert result.exit_code == 2
    assert "shop/Chart.yaml:1:1: error PR001 invalid-input: rendered output is " in result.output
    assert "MB, over the 0.000999 MB limit (--max-file-size)" in result.output


def test_fingerprints_of_rendered_findings_survive_template_lines_moving(monkeypatch, tmp_path) -> None:
    needs("helm")
    shutil.copytree(RENDER / "chart" / "shop", tmp_path / "shop")
    monkeypatch.chdir(tmp_path)

    def findings():
        result = scan(["shop"], ScanOptions(select=["PR201", "PR301"], cache=False, jobs=1))
        return [(f.fingerprint, f.location.file, f.location.line) for f in result.findings]

    before = findings()
    template = tmp_path / "shop" / "templates" / "deployment.yaml"
    template.write_text("{{/* two lines */}}\n{{/* above */}}\n" + template.read_text())
    after = findings()
    assert [fingerprint for fingerprint, *_ in before] == [fingerprint for fingerprint, *_ in after]
    moved = [(b[2], a[2]) for b, a in zip(before, after) if b[1].endswith("deployment.yaml")]
    assert moved and all(line + 2 == moved_line for line, moved_line in moved)
