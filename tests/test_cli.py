"""The command line as users meet it: formats, exit codes, stdin, rule selection."""

import json
import os

import pytest
from click.testing import CliRunner
from prodready.cli import main

DEPLOYMENT = """\
apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
spec:
  selector:
    matchLabels: {app: web}
  template:
    metadata:
      labels: {app: web}
    spec:
      containers:
        - name: web
          image: registry.example.com/web:1.0.0
          resources:
            requests: {cpu: 100m}
"""


@pytest.fixture
def workdir(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "deploy").mkdir()
    (tmp_path / "deploy" / "web.yaml").write_text(DEPLOYMENT)
    return tmp_path


def run(*args, input=None):
    return CliRunner().invoke(main, list(args), input=input)


def test_text_output_names_file_line_column_level_rule_and_message(workdir):
    result = run("scan", "deploy", "--select", "PR201,PR202")
    assert result.exit_code == 1
    assert result.output == (
        "deploy/web.yaml:13:11: warning PR201 container-missing-requests: container 'web' has no memory request\n"
        "deploy/web.yaml:13:11: warning PR202 container-missing-memory-limit: container 'web' has no memory limit\n"
        "Found 2 findings (2 warnings) in 1 file, 1 resource.\n"
    )


def test_quiet_drops_the_summary(workdir):
    result = run("scan", "deploy", "--select", "PR202", "--quiet")
    assert result.output.count("\n") == 1 and "Found" not in result.output


def test_stdin_is_named_stdin():
    result = run("scan", "-", "--select", "PR202", input=DEPLOYMENT)
    assert result.output.startswith("<stdin>:13:11: warning PR202")


def test_exit_codes(workdir):
    assert run("scan", "deploy", "--select", "PR204").exit_code == 0
    assert run("scan", "deploy", "--select", "PR201").exit_code == 1
    assert run("scan", "deploy", "--select", "PR201", "--fail-level", "error").exit_code == 0
    assert run("scan", "missing-dir").exit_code == 2
    assert run("scan", "deploy", "--select", "PR999").exit_code == 2
    assert run("scan", "deploy", "--format", "xml").exit_code == 2
    (workdir / "deploy" / "broken.yaml").write_text("a: [\n")
    broken = run("scan", "deploy", "--select", "PR001,PR202")
    assert broken.exit_code == 2
    assert "deploy/broken.yaml:2:1: error PR001 invalid-input" in broken.output
    assert "deploy/web.yaml:13:11: warning PR202" in broken.output


def test_select_and_ignore_by_prefix_and_name(workdir):
    output = run("scan", "deploy", "--select", "PR2", "--ignore", "container-missing-memory-limit").output
    assert "PR201" in output and "PR202" not in output
    assert "PR203" not in output  # off by default: a prefix does not turn it on
    assert "PR203" in run("scan", "deploy", "--select", "PR203").output


def test_json_output(workdir):
    result = run("scan", "deploy", "--format", "json", "--select", "PR201")
    document = json.loads(result.output)
    [finding] = document["findings"]
    assert (finding["rule"], finding["file"], finding["line"], finding["column"]) == (
        "PR201",
        "deploy/web.yaml",
        13,
        11,
    )
    assert document["summary"] == {"files": 1, "resources": 1, "findings": 1}


def test_output_file_is_written_whole(workdir):
    result = run("scan", "deploy", "--format", "sarif", "-o", "out.sarif")
    assert result.exit_code == 1 and result.output == ""
    assert json.loads((workdir / "out.sarif").read_text())["version"] == "2.1.0"
    assert [name for name in os.listdir(workdir) if name.endswith(".tmp")] == []


def test_without_helm_a_chart_is_read_as_plain_files_and_the_user_is_told(workdir, no_rendering_engines):
    chart = workdir / "chart"
    (chart / "templates").mkdir(parents=True)
    (chart / "Chart.yaml").write_text("apiVersion: v2\nname: chart\nversion: 1.0.0\n")
    (chart / "values.yaml").write_text("replicaCount: 1\n")
    (chart / "templates" / "deployment.yaml").write_text(
        "{{- if .Values.enabled }}\nkind: Deployment\n{{- end }}\n"
    )
    result = run("scan", "chart")
    assert result.exit_code == 0
    assert "No findings in 2 files, 0 resources." in result.stdout
    assert "chart was not rendered: helm is not installed" in result.stderr


def test_control_characters_from_input_never_reach_the_terminal(workdir):
    (workdir / "deploy" / "web.yaml").write_text(DEPLOYMENT.replace("- name: web", '- name: "web\\e[31m"'))
    output = run("scan", "deploy", "--select", "PR202").output
    assert "\x1b" not in output and "web\\x1b[31m" in output


def test_rules_and_explain():
    listing = run("rules").output
    assert "PR201  container-missing-requests" in listing and "off (warning)" in listing
    explained = run("explain", "pr204")
    assert explained.exit_code == 0 and "## Why it matters" in explained.output
    assert run("explain", "requests-exceed-limits").output == explained.output
    assert run("explain", "PR999").exit_code == 2


def test_version():
    assert run("--version").output.startswith("prodready, version ")


def test_a_chart_of_the_configuration_that_is_not_a_chart_is_a_configuration_error(workdir):
    (workdir / ".prodready.yaml").write_text("charts:\n  deploy/charts/web:\n    values: [prod.yaml]\n")
    result = run("scan", "deploy")
    assert result.exit_code == 2
    assert result.stderr == (
        f"prodready: error: configuration: {workdir / '.prodready.yaml'}:2: charts: deploy/charts/web: "
        f"no Helm chart there (no Chart.yaml in {workdir / 'deploy' / 'charts' / 'web'})\n"
    )
    (workdir / "deploy" / "charts" / "web").mkdir(parents=True)
    (workdir / "deploy" / "charts" / "web" / "Chart.yaml").write_text("apiVersion: v2\nname: web\n")
    result = run("scan", "deploy")
    assert result.exit_code == 2
    assert "charts: deploy/charts/web: values: prod.yaml does not exist" in result.stderr
    (workdir / ".prodready.yaml").write_text("charts:\n  deploy/charts/web:\n    value: [prod.yaml]\n")
    result = run("scan", "deploy")
    assert result.exit_code == 2
    assert (
        "charts.deploy/charts/web: Additional properties are not allowed ('value' was unexpected)"
        in result.stderr
    )
