"""Terraform as Terraform evaluates it: the cost of instantiating module calls, each figure against a
baseline measured in the same run.

    python bench/terraform.py [--corpus DIR] [--baseline-rev REV] [--runs N]

| figure | baseline | target |
|---|---|---|
| generated configuration, 1,000 services (each three module instances deep), warm and cold | the same with 100 | ≤ 11× the time, ≤ 3× the peak memory |
| a directory of real Terraform (`--corpus`), cold (empty cache) and warm | prodready at `--baseline-rev`, which instantiates no module call | ≤ 1.5× |

The generated configuration is a root that calls a service module with `for_each` over a map of services
in `terraform.tfvars` (objects with `optional()` defaults, some settings overridden); each service has a
bucket, a queue and its alarm, and calls a database module (an `aws_db_instance` and its parameter group),
which calls an alarms module (`for_each` over a local map of CloudWatch alarms). The root has the SNS
topic the alarms notify and a backup selection that lists every service's database.

The baseline is the code at `--baseline-rev` (default: the commit before module calls were instantiated),
taken with `git archive` into a scratch directory and run with PYTHONPATH. Every figure is the median wall
time of whole `prodready` processes; the two versions' runs alternate, so that a busy moment of the
machine weighs on both alike.
"""

from __future__ import annotations

import argparse
import io
import os
import shutil
import statistics
import subprocess
import tarfile
import tempfile
from pathlib import Path

from run import PRODREADY, measure, row

REPOSITORY = Path(__file__).resolve().parent.parent
BEFORE_INSTANTIATION = "803faf5^"

ROOT = """\
provider "aws" {
  region = "eu-west-1"
  default_tags {
    tags = { team = "platform" }
  }
}

variable "services" {
  type = map(object({
    engine                  = string
    instance_class          = optional(string, "db.t3.medium")
    multi_az                = optional(bool, true)
    backup_retention_period = optional(number, 14)
    queue                   = optional(bool, true)
  }))
}

resource "aws_sns_topic" "alarms" {
  name              = "service-alarms"
  kms_master_key_id = "alias/aws/sns"
}

module "service" {
  source   = "./modules/service"
  for_each = var.services

  name                    = each.key
  engine                  = each.value.engine
  instance_class          = each.value.instance_class
  multi_az                = each.value.multi_az
  backup_retention_period = each.value.backup_retention_period
  create_queue            = each.value.queue
  alarm_topic_arn         = aws_sns_topic.alarms.arn
}

resource "aws_backup_plan" "daily" {
  name = "daily"
  rule {
    rule_name         = "daily"
    target_vault_name = "default"
    schedule          = "cron(0 3 * * ? *)"
    lifecycle {
      delete_after = 35
    }
  }
}

resource "aws_backup_selection" "databases" {
  name         = "databases"
  plan_id      = aws_backup_plan.daily.id
  iam_role_arn = "arn:aws:iam::123456789012:role/backup"
  resources    = [for service in module.service : service.database_arn]
}
"""

SERVICE = """\
variable "name" {
  type = string
}

variable "engine" {
  type = string
}

variable "instance_class" {
  type = string
}

variable "multi_az" {
  type = bool
}

variable "backup_retention_period" {
  type = number
}

variable "create_queue" {
  type    = bool
  default = true
}

variable "alarm_topic_arn" {
  type = string
}

resource "aws_s3_bucket" "assets" {
  bucket = "${var.name}-assets"
}

resource "aws_s3_bucket_versioning" "assets" {
  bucket = aws_s3_bucket.assets.id
  versioning_configuration {
    status = "Enabled"
  }
}

resource "aws_s3_bucket_server_side_encryption_configuration" "assets" {
  bucket = aws_s3_bucket.assets.id
  rule {
    apply_server_side_encryption_by_default {
      sse_algorithm = "aws:kms"
    }
  }
}

resource "aws_sqs_queue" "jobs" {
  count             = var.create_queue ? 1 : 0
  name              = "${var.name}-jobs"
  kms_master_key_id = "alias/aws/sqs"
}

resource "aws_cloudwatch_metric_alarm" "queue_age" {
  count               = var.create_queue ? 1 : 0
  alarm_name          = "${var.name}-jobs-age"
  namespace           = "AWS/SQS"
  metric_name         = "ApproximateAgeOfOldestMessage"
  comparison_operator = "GreaterThanThreshold"
  threshold           = 600
  evaluation_periods  = 3
  period              = 60
  statistic           = "Maximum"
  dimensions          = { QueueName = aws_sqs_queue.jobs[0].name }
  alarm_actions       = [var.alarm_topic_arn]
}

module "database" {
  source = "../database"

  identifier              = var.name
  engine                  = var.engine
  instance_class          = var.instance_class
  multi_az                = var.multi_az
  backup_retention_period = var.backup_retention_period
  alarm_topic_arn         = var.alarm_topic_arn
}

output "database_arn" {
  value = module.database.arn
}

output "bucket" {
  value = aws_s3_bucket.assets.id
}
"""

DATABASE = """\
variable "identifier" {
  type = string
}

variable "engine" {
  type = string
}

variable "instance_class" {
  type = string
}

variable "multi_az" {
  type    = bool
  default = false
}

variable "backup_retention_period" {
  type    = number
  default = 7
}

variable "alarm_topic_arn" {
  type = string
}

locals {
  postgres = var.engine == "postgres"
}

resource "aws_db_parameter_group" "this" {
  name   = var.identifier
  family = local.postgres ? "postgres16" : "mysql8.0"
}

resource "aws_db_instance" "this" {
  identifier                = var.identifier
  engine                    = var.engine
  instance_class            = var.instance_class
  allocated_storage         = 50
  storage_encrypted         = true
  multi_az                  = var.multi_az
  backup_retention_period   = var.backup_retention_period
  deletion_protection       = true
  skip_final_snapshot       = false
  final_snapshot_identifier = "${var.identifier}-final"
  parameter_group_name      = aws_db_parameter_group.this.name
  port                      = local.postgres ? 5432 : 3306
  monitoring_interval       = 60
  tags                      = { service = var.identifier }
}

module "alarms" {
  source = "../alarms"

  db_instance_identifier = aws_db_instance.this.identifier
  alarm_topic_arn        = var.alarm_topic_arn
}

output "arn" {
  value = aws_db_instance.this.arn
}
"""

ALARMS = """\
variable "db_instance_identifier" {
  type = string
}

variable "alarm_topic_arn" {
  type = string
}

variable "thresholds" {
  type = object({
    cpu_percent        = optional(number, 80)
    free_storage_bytes = optional(number, 5000000000)
  })
  default = {}
}

locals {
  alarms = {
    cpu = {
      metric     = "CPUUtilization"
      comparison = "GreaterThanThreshold"
      threshold  = var.thresholds.cpu_percent
    }
    storage = {
      metric     = "FreeStorageSpace"
      comparison = "LessThanThreshold"
      threshold  = var.thresholds.free_storage_bytes
    }
  }
}

resource "aws_cloudwatch_metric_alarm" "this" {
  for_each            = local.alarms
  alarm_name          = "${var.db_instance_identifier}-${each.key}"
  namespace           = "AWS/RDS"
  metric_name         = each.value.metric
  comparison_operator = each.value.comparison
  threshold           = each.value.threshold
  evaluation_periods  = 3
  period              = 300
  statistic           = "Average"
  dimensions          = { DBInstanceIdentifier = var.db_instance_identifier }
  alarm_actions       = [var.alarm_topic_arn]
}
"""

# How services differ from the defaults, cycled through: most keep them, some are single-AZ, keep no
# backups or have no queue (findings at their line of terraform.tfvars).
SETTINGS = [
    'engine = "postgres"',
    'engine = "mysql", instance_class = "db.r6g.large"',
    'engine = "postgres", multi_az = false',
    'engine = "mysql", backup_retention_period = 0, queue = false',
    'engine = "postgres", queue = false',
]


def configuration(services: int, into: Path) -> Path:
    """A root calling a service module once per service (`for_each`), three module calls deep."""
    for directory, text in [
        (into, ROOT),
        (into / "modules" / "service", SERVICE),
        (into / "modules" / "database", DATABASE),
        (into / "modules" / "alarms", ALARMS),
    ]:
        directory.mkdir(parents=True, exist_ok=True)
        (directory / "main.tf").write_text(text)
    lines = [f"  svc{number:04d} = {{ {SETTINGS[number % len(SETTINGS)]} }}" for number in range(services)]
    (into / "terraform.tfvars").write_text("services = {\n" + "\n".join(lines) + "\n}\n")
    return into


def baseline(revision: str, into: Path) -> Path:
    """prodready at `revision`, laid out as an importable package; returns the directory for PYTHONPATH."""
    archive = subprocess.run(
        ["git", "-C", str(REPOSITORY), "archive", revision, "linter", "rules"],
        capture_output=True,
        check=True,
    ).stdout
    with tarfile.open(fileobj=io.BytesIO(archive)) as tar:
        tar.extractall(into, filter="data")
    (into / "linter").rename(into / "prodready")
    (into / "rules").rename(into / "prodready" / "rules")
    return into


def cold_and_warm(
    path: Path, runs: int, cache: Path, python_path: str | None = None
) -> tuple[float, float, float]:
    """Median seconds of a scan with an empty cache and of one with the cache it filled, and the largest
    peak memory (MB) of either."""
    environment = {**os.environ, "XDG_CACHE_HOME": str(cache)}
    if python_path is not None:
        environment["PYTHONPATH"] = python_path
    scan = PRODREADY + ["scan", "--isolated", "-q", str(path)]
    colds, warms, memories = [], [], []
    for _ in range(runs):
        shutil.rmtree(cache, ignore_errors=True)
        cold, cold_memory = measure(scan, 1, environment)
        warm, warm_memory = measure(scan, 1, environment)
        colds.append(cold)
        warms.append(warm)
        memories += [cold_memory, warm_memory]
    return statistics.median(colds), statistics.median(warms), max(memories)


def ratio(figure: str, value: float, target: float) -> None:
    row(figure, f"{value:.2f}×", f"≤ {target}×  {'ok' if value <= target else 'MISSED'}")


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--corpus", type=Path, help="a directory of real Terraform modules and examples")
    parser.add_argument(
        "--baseline-rev",
        default=BEFORE_INSTANTIATION,
        help=f"the code to compare the corpus scans with (default {BEFORE_INSTANTIATION}, "
        "the commit before module calls were instantiated)",
    )
    parser.add_argument("--runs", type=int, default=3)
    arguments = parser.parse_args()
    runs = arguments.runs

    with tempfile.TemporaryDirectory() as scratch:
        scratch_path = Path(scratch)
        print(f"{'figure':<58} {'value':>14}  target")
        small = configuration(100, scratch_path / "services100")
        large = configuration(1000, scratch_path / "services1000")
        small_cold, small_warm, small_memory = cold_and_warm(small, runs, scratch_path / "cache")
        large_cold, large_warm, large_memory = cold_and_warm(large, runs, scratch_path / "cache")
        row("generated, 100 services: cold, warm", f"{small_cold:.2f} s, {small_warm:.2f} s")
        row("generated, 1,000 services: cold, warm", f"{large_cold:.2f} s, {large_warm:.2f} s")
        ratio("generated: 1,000 / 100 services, cold time", large_cold / small_cold, 11)
        ratio("generated: 1,000 / 100 services, warm time", large_warm / small_warm, 11)
        ratio("generated: 1,000 / 100 services, peak memory", large_memory / small_memory, 3)

        if arguments.corpus is None:
            return
        corpus = arguments.corpus.resolve()
        before = str(baseline(arguments.baseline_rev, scratch_path / "baseline"))
        figures: dict[str, list[tuple[float, float, float]]] = {"before": [], "now": []}
        for _ in range(runs):  # alternating, one cold and one warm scan each
            figures["before"].append(cold_and_warm(corpus, 1, scratch_path / "cache", before))
            figures["now"].append(cold_and_warm(corpus, 1, scratch_path / "cache"))
        medians = {
            version: [statistics.median(run[number] for run in values) for number in range(2)]
            for version, values in figures.items()
        }
        for version, label in (("before", f"at {arguments.baseline_rev}"), ("now", "now")):
            cold, warm = medians[version]
            memory = max(run[2] for run in figures[version])
            row(f"corpus, {label}: cold, warm", f"{cold:.2f} s, {warm:.2f} s", f"({memory:.0f} MB)")
        ratio("corpus cold: now / before", medians["now"][0] / medians["before"][0], 1.5)
        ratio("corpus warm: now / before", medians["now"][1] / medians["before"][1], 1.5)


if __name__ == "__main__":
    main()
