"""Adopting prodready on an existing repository: configuration, suppressions, baseline, the pre-commit
hook's unit context and the pull-request mode."""

import json
import re
import subprocess
from pathlib import Path

import pytest
from click.testing import CliRunner
from prodready.cli import main

DEPLOYMENT = """\
apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
spec:
  replicas: 3
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
            requests: {cpu: 100m, memory: 128Mi}
            limits: {memory: 128Mi}
"""
HPA = """\
apiVersion: autoscaling/v2
kind: HorizontalPodAutoscaler
metadata:
  name: web
spec:
  scaleTargetRef: {apiVersion: apps/v1, kind: Deployment, name: web}
  minReplicas: 3
  maxReplicas: 6
"""


def run(*args, input=None):
    return CliRunner().invoke(main, list(args), input=input)


@pytest.fixture
def repo(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / ".git").mkdir()  # the configuration search stops at the repository root
    (tmp_path / "deploy").mkdir()
    (tmp_path / "deploy" / "web.yaml").write_text(DEPLOYMENT)
    return tmp_path


def lines(result):
    return [line for line in result.output.splitlines() if not line.startswith(("Found", "No findings"))]


def test_configuration_levels_select_and_fail_level(repo):
    (repo / ".prodready.yaml").write_text(
        "select: [PR20]\nrules:\n  PR203: warning\n  PR201: off\nfail-level: error\n"
    )
    result = run("scan", "deploy")
    assert lines(result) == [
        "deploy/web.yaml:14:11: warning PR203 container-missing-cpu-limit: container 'web' has no CPU limit"
    ]
    assert result.exit_code == 0  # a warning is below the configured fail level
    assert run("scan", "deploy", "--isolated", "--select", "PR203").exit_code == 1


def test_pyproject_configuration_and_closest_wins(repo):
    (repo / "pyproject.toml").write_text('[tool.prodready]\nselect = ["PR203"]\n')
    assert "PR203" in run("scan", "deploy").output
    (repo / "deploy" / ".prodready.yaml").write_text("select: [PR202]\n")
    output = run("scan", "deploy").output
    assert "PR203" not in output and "No findings" in output


def test_configuration_errors_name_file_key_and_expectation(repo):
    (repo / ".prodready.yaml").write_text("rules:\n  PR203: loud\n")
    result = run("scan", "deploy")
    assert result.exit_code == 2
    assert ".prodready.yaml: rules.PR203: 'loud' is not one of error, warning, note, off" in result.output
    (repo / ".prodready.yaml").write_text("selcet: [PR2]\n")
    assert "expected one of: charts, checks, exclude, fail-level" in run("scan", "deploy").output


def test_config_show_says_where_values_come_from(repo):
    (repo / ".prodready.yaml").write_text("fail-level: error\noptions:\n  min-replicas: 3\n")
    output = run("config").output
    assert 'fail-level: "error"  # ' in output and output.count(".prodready.yaml") >= 3
    assert "min-replicas: 3" in output and "backup-retention-days: 7  # default" in output


def test_per_path_ignores_and_exclude(repo):
    (repo / "legacy").mkdir()
    (repo / "legacy" / "old.yaml").write_text(DEPLOYMENT)
    (repo / "vendor").mkdir()
    (repo / "vendor" / "x.yaml").write_text(DEPLOYMENT)
    (repo / ".prodready.yaml").write_text(
        'select: [PR203]\nper-path-ignores:\n  "legacy/**": [PR203]\nexclude: ["vendor/**"]\n'
    )
    result = run("scan", ".")
    assert lines(result) == [
        "deploy/web.yaml:14:11: warning PR203 container-missing-cpu-limit: container 'web' has no CPU limit"
    ]
    assert "1 suppressed" in result.output


def test_annotation_and_comment_suppressions(repo):
    annotated = DEPLOYMENT.replace(
        "  name: web\n",
        '  name: web\n  annotations:\n    prodready.io/ignore: "PR203"\n    prodready.io/ignore-reason: "CPU limits throttle this service"\n',
        1,
    )
    (repo / "deploy" / "web.yaml").write_text(annotated)
    result = run("scan", "deploy", "--select", "PR203")
    assert result.exit_code == 0 and "No findings in 1 file, 1 resource; 1 suppressed." in result.output
    shown = run("scan", "deploy", "--select", "PR203", "--show-suppressed").output
    assert "[suppressed: CPU limits throttle this service]" in shown
    commented = DEPLOYMENT.replace(
        "        - name: web",
        "        # prodready:ignore PR203 -- throttling hurts latency\n        - name: web",
    )
    (repo / "deploy" / "web.yaml").write_text(commented)
    assert run("scan", "deploy", "--select", "PR203").exit_code == 0
    sarif = json.loads(run("scan", "deploy", "--select", "PR203", "--format", "sarif").output)
    [result_] = sarif["runs"][0]["results"]
    assert result_["suppressions"] == [{"kind": "inSource", "justification": "throttling hurts latency"}]


def test_terraform_comment_suppression(repo):
    (repo / "infra").mkdir()
    (repo / "infra" / "main.tf").write_text(
        "# prodready:ignore PR652 -- restored from snapshot in the DR drill\n"
        'resource "aws_db_instance" "db" {\n  skip_final_snapshot = true\n}\n'
    )
    result = run("scan", "infra", "--select", "PR652,PR004")
    assert result.exit_code == 0 and "1 suppressed" in result.output


def test_unused_suppressions_are_reported(repo):
    (repo / "deploy" / "web.yaml").write_text(
        DEPLOYMENT.replace("  replicas: 3", "  replicas: 3  # prodready:ignore PR301 -- gone")
    )
    output = run("scan", "deploy", "--select", "PR301,PR004").output
    assert (
        "deploy/web.yaml:6:16: note PR004 unused-suppression: suppression of PR301 matches no finding; remove it"
        in output
    )


def test_baseline_reports_only_new_findings(repo):
    assert run("baseline", "create", "-o", "base.json", "deploy", "--select", "PR203").exit_code == 0
    assert json.loads(Path("base.json").read_text())["findings"][0]["rule"] == "PR203"
    (repo / "deploy" / "web.yaml").write_text("# moved down\n\n" + DEPLOYMENT)
    assert run("scan", "deploy", "--select", "PR203", "--baseline", "base.json").exit_code == 0
    (repo / "deploy" / "api.yaml").write_text(DEPLOYMENT.replace("name: web", "name: api"))
    result = run("scan", "deploy", "--select", "PR203", "--baseline", "base.json")
    assert result.exit_code == 1 and lines(result) == [
        "deploy/api.yaml:14:11: warning PR203 container-missing-cpu-limit: container 'api' has no CPU limit"
    ]


def test_unit_context_reports_given_files_but_reads_their_directory(repo):
    (repo / "deploy" / "hpa.yaml").write_text(HPA)
    (repo / "other").mkdir()
    (repo / "other" / "api.yaml").write_text(DEPLOYMENT.replace("name: web", "name: api"))
    assert "PR310" not in run("scan", "--unit-context", "--select", "PR310", "deploy/web.yaml").output
    assert "PR310" in run("scan", "--select", "PR310", "deploy/web.yaml").output  # alone, no HPA is seen
    output = run("scan", "--unit-context", "--select", "PR310", "deploy/web.yaml", "other/api.yaml").output
    assert lines(run("scan", "--unit-context", "--select", "PR310", "deploy/hpa.yaml")) == []
    assert [line.split(":")[0] for line in output.splitlines() if "PR310" in line] == ["other/api.yaml"]


def git(repo, *args):
    subprocess.run(["git", *args], cwd=repo, check=True, capture_output=True)


def test_changed_since_reports_changed_files_only(repo):
    (repo / ".git").rmdir()
    git(repo, "init", "-q")
    git(repo, "-c", "user.email=a@b", "-c", "user.name=a", "commit", "-q", "--allow-empty", "-m", "start")
    (repo / "deploy" / "hpa.yaml").write_text(HPA)
    git(repo, "add", ".")
    git(repo, "-c", "user.email=a@b", "-c", "user.name=a", "commit", "-q", "-m", "add")
    git(repo, "mv", "deploy/web.yaml", "deploy/frontend.yaml")
    (repo / "deploy" / "frontend.yaml").write_text(DEPLOYMENT + "\n")
    output = run("scan", "--changed-since", "HEAD", "--select", "PR203,PR310").output
    assert lines(run("scan", "--changed-since", "HEAD", "--select", "PR203,PR310")) == [
        "deploy/frontend.yaml:14:11: warning PR203 container-missing-cpu-limit: container 'web' has no CPU limit"
    ], output
    assert run("scan", "--changed-since", "no-such-ref").exit_code == 2


def _hooks() -> dict:
    from prodready.sources.yaml import read_documents

    hooks = Path(__file__).parent.parent / ".pre-commit-hooks.yaml"
    [document], _ = read_documents(hooks.read_bytes(), str(hooks))
    return {hook["id"]: hook for hook in document.body}


def test_pre_commit_hooks_file():
    by_id = _hooks()
    assert by_id["prodready"]["require_serial"] is True
    assert "--unit-context" in by_id["prodready"]["entry"]
    assert by_id["prodready-all"]["pass_filenames"] is False


@pytest.mark.parametrize(
    "path",
    [
        "deploy/web.yaml",
        "deploy/web.yml",
        "deploy/list.json",
        "charts/api/templates/_helpers.tpl",
        "charts/api/Chart.yaml",
        "overlays/prod/Kustomization",
        "infra/main.tf",
        "infra/prod.tfvars",
    ],
)
def test_the_hook_is_given_every_kind_of_file_prodready_reads(path):
    files = _hooks()["prodready"]["files"]
    assert re.search(files, path)
    assert not re.search(files, "charts/api/templates/NOTES.txt")


def test_rule_options_from_configuration(repo):
    (repo / ".prodready.yaml").write_text(
        "options:\n  min-replicas: 4\n  backup-retention-days: 30\n  gpu-resources: [example.com/tpu]\n"
    )
    assert "runs 3 replicas" in run("scan", "deploy", "--select", "PR301").output
    (repo / "infra").mkdir()
    (repo / "infra" / "main.tf").write_text(
        'resource "aws_db_instance" "db" {\n  backup_retention_period = 14\n}\n'
    )
    assert "infra/main.tf:2:3: warning PR650" in run("scan", "infra", "--select", "PR650").output
    gpu = DEPLOYMENT.replace(
        "requests: {cpu: 100m, memory: 128Mi}", "requests: {cpu: 100m, memory: 128Mi, example.com/tpu: 1}"
    )
    (repo / "deploy" / "web.yaml").write_text(gpu)
    assert "PR220" in run("scan", "deploy", "--select", "PR220").output
