"""Findings in rendered manifests point at the Helm template or Kustomize origin file people edit."""

from pathlib import Path

from click.testing import CliRunner
from prodready.cli import main

FIXTURES = Path(__file__).parent.parent / "fixtures"


def scan_stdin(cwd: Path, text: str, *args: str, monkeypatch) -> str:
    monkeypatch.chdir(cwd)
    return CliRunner().invoke(main, ["scan", "-", *args], input=text).output


def test_helm_findings_move_to_the_template_line_of_their_key(monkeypatch):
    rendered = (FIXTURES / "helm" / "rendered.yaml").read_text()
    output = scan_stdin(FIXTURES / "helm", rendered, "--select", "PR201,PR301", monkeypatch=monkeypatch)
    assert output.splitlines() == [
        "shop/templates/deployment.yaml:8:3: warning PR301 single-replica: Deployment 'demo-web' runs 1 replica: one node drain or crash takes it down",
        "    <stdin>:21:3: rendered manifest",
        "shop/templates/deployment.yaml:18:11: warning PR201 container-missing-requests: container 'web' has no memory request",
        "    <stdin>:31:11: rendered manifest",
        "Found 2 findings (2 warnings) in 1 file, 2 resources.",
    ]


def test_a_key_the_template_does_not_spell_out_points_at_its_nearest_ancestor(monkeypatch):
    rendered = (FIXTURES / "helm" / "rendered.yaml").read_text().replace("- name: web", "- name: web-renamed")
    output = scan_stdin(FIXTURES / "helm", rendered, "--select", "PR201", monkeypatch=monkeypatch)
    assert output.startswith("shop/templates/deployment.yaml:17:7: warning PR201")  # `containers:`


def test_without_the_chart_the_rendered_location_stays(monkeypatch, tmp_path):
    rendered = (FIXTURES / "helm" / "rendered.yaml").read_text()
    output = scan_stdin(tmp_path, rendered, "--select", "PR201", monkeypatch=monkeypatch)
    assert output.startswith("<stdin>:31:11: warning PR201")
    assert "rendered manifest" not in output


def test_chart_root_option_finds_charts_elsewhere(monkeypatch, tmp_path):
    rendered = (FIXTURES / "helm" / "rendered.yaml").read_text()
    output = scan_stdin(
        tmp_path,
        rendered,
        "--select",
        "PR201",
        "--chart-root",
        str(FIXTURES / "helm"),
        monkeypatch=monkeypatch,
    )
    assert "shop/templates/deployment.yaml:18:11: warning PR201" in output


def test_kustomize_origin_annotation_points_into_the_base(monkeypatch):
    monkeypatch.chdir(FIXTURES / "kustomize")
    output = CliRunner().invoke(main, ["scan", "rendered.yaml", "--select", "PR202"]).output
    assert output.splitlines()[:2] == [
        "base/deployment.yaml:15:11: warning PR202 container-missing-memory-limit: container 'api' has no memory limit",
        "    rendered.yaml:19:9: rendered manifest",
    ]
