"""The hook as pre-commit runs it: `pre-commit try-repo` installs prodready from this checkout into its
own environment (from PyPI, the one registry CI reaches) and passes only the staged files."""

import importlib.util
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

REPOSITORY = Path(__file__).parent.parent
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
DATABASE = 'resource "aws_db_instance" "db" {\n  multi_az = true\n}\n'
ALARM = 'resource "aws_cloudwatch_metric_alarm" "db" {\n  dimensions = { DBInstanceIdentifier = aws_db_instance.db.id }\n}\n'

pytestmark = pytest.mark.skipif(
    importlib.util.find_spec("pre_commit") is None or shutil.which("git") is None,
    reason="needs pre-commit and git",
)


def git(cwd: Path, *args: str) -> None:
    subprocess.run(
        ["git", "-c", "user.email=ci@example.com", "-c", "user.name=ci", *args],
        cwd=cwd,
        check=True,
        capture_output=True,
    )


def test_hook_reports_staged_files_with_their_directory_as_context(tmp_path):
    (tmp_path / "deploy").mkdir()
    (tmp_path / "infra").mkdir()
    (tmp_path / "deploy" / "web.yaml").write_text(DEPLOYMENT)
    (tmp_path / "deploy" / "hpa.yaml").write_text(HPA)
    (tmp_path / "infra" / "main.tf").write_text(DATABASE)
    (tmp_path / "infra" / "alarms.tf").write_text(ALARM)
    git(tmp_path, "init", "-q")
    git(tmp_path, "add", ".")
    git(tmp_path, "commit", "-q", "-m", "start")
    (tmp_path / "deploy" / "web.yaml").write_text(DEPLOYMENT.replace("replicas: 3", "replicas: 4"))
    (tmp_path / "infra" / "main.tf").write_text(DATABASE + "# changed\n")
    git(tmp_path, "add", "deploy/web.yaml", "infra/main.tf")

    command = [sys.executable, "-m", "pre_commit", "try-repo", str(REPOSITORY), "prodready", "--verbose"]
    completed = subprocess.run(command, cwd=tmp_path, capture_output=True, text=True, timeout=600)
    output = completed.stdout + completed.stderr
    assert "deploy/web.yaml" in output, output
    assert "PR310" not in output  # the HPA in hpa.yaml is read as context
    assert "PR150" not in output  # the alarm in alarms.tf is read as context
    reported = {line.split(":")[0] for line in output.splitlines() if line.startswith(("deploy/", "infra/"))}
    assert reported == {"deploy/web.yaml", "infra/main.tf"}  # unchanged files are context, not reported
    assert "infra/main.tf" in output  # the database is reported on (its backups)
