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


def test_the_context_of_each_template_action_follows_with_else_range_and_dollar():
    from prodready import helm

    lines = [
        "{{- with .Values.web }}",
        "replicas: {{ .replicas }}",
        "  {{- with .resources }}{{ toYaml . | nindent 2 }}{{- end }}",
        "image: {{ $.Values.image | quote }}",
        "{{- else }}",
        "replicas: {{ .Values.replicaCount }}",
        "{{- end }}",
        "{{- range .Values.extra }}{{ .name }}{{- end }}",
        "{{- with $web := .Values.web }}{{ .port }}{{ end }}",
        '{{ include "web.labels" . }} {{ template "web.name" $ }} {{ include "x" (dict) }}',
    ]
    found = helm.actions(lines, 0, len(lines))
    references = [[helm.values_reference(action) for action in found[n]] for n in range(len(lines))]
    assert references == [
        [None],
        [("web", "replicas")],
        [None, ("web", "resources"), None],
        [("image",)],
        [None],
        [("replicaCount",)],
        [None],
        [None, None, None],
        [None, ("web", "port"), None],
        [None, None, None],
    ]
    assert [helm.included(action) for action in found[9]] == [
        ("web.labels", ()),
        ("web.name", ()),
        ("x", None),
    ]


def test_a_named_template_is_found_in_the_chart_and_its_subcharts(tmp_path):
    from prodready import helm

    (tmp_path / "templates").mkdir()
    (tmp_path / "templates" / "_helpers.tpl").write_text(
        '{{- define "a" -}}\n{{- if .x }}\nx: 1\n{{- end }}\n{{- end }}\n{{ define "b" }}y: 2{{ end }}\n'
    )
    (tmp_path / "charts" / "sub" / "templates").mkdir(parents=True)
    (tmp_path / "charts" / "sub" / "templates" / "_x.tpl").write_text('{{ define "a" }}\n{{ end }}\n')
    (tmp_path / "charts" / "sub" / "templates" / "_y.tpl").write_text('{{ define "c" }}\nz: 3\n{{ end }}\n')
    helpers = str(tmp_path / "templates" / "_helpers.tpl")
    assert helm.defines(str(tmp_path)) == {
        "a": helm.Define(helpers, 1, 4),
        "b": helm.Define(helpers, 6, 6),  # a one-line define: no line of its own to point at
        "c": helm.Define(str(tmp_path / "charts" / "sub" / "templates" / "_y.tpl"), 1, 2),
    }
