"""Logs, traces and metrics of AWS resources (checklist § 5, observability).

Values are three-valued: a rule fires on a known bad value or on an absent attribute whose AWS default is
bad, never on UNKNOWN. An attribute set to `null` is the same as an absent one, as in Terraform."""

from collections.abc import Iterator

from prodready.index import Index
from prodready.model import ABSENT, UNKNOWN, Level, Problem, Resource, is_unknown
from prodready.registry import rule
from prodready.terraform import (
    blocks,
    boolean,
    may_point_at,
    number,
    passed_to_module,
    principal_identifiers,
    value,
)

REQUIRED_CONTROL_PLANE_LOGS = ("api", "audit")


@rule("PR550", "eks-control-plane-logging", Level.WARNING, section=5, kinds={"aws_eks_cluster"})
def eks_control_plane_logging(cluster: Resource) -> Iterator[Problem]:
    """An EKS cluster does not send its API server and audit logs to CloudWatch.

    ## What it checks
    An `aws_eks_cluster` must list both `api` and `audit` in `enabled_cluster_log_types`. Without the
    attribute, EKS enables no control plane log at all.

    ## Why it matters
    The audit log is the only record of who changed what in the cluster: who deleted a namespace, which
    service account read a Secret. The API server log explains throttling, webhook timeouts and failing
    admission. Neither can be turned on after the incident it would have explained.

    ## Example
    ```hcl
    resource "aws_eks_cluster" "main" {
      name     = "prod"
      role_arn = aws_iam_role.cluster.arn
      vpc_config {
        subnet_ids = var.subnet_ids
      }
    }
    ```

    ## Fix
    ```hcl
      enabled_cluster_log_types = ["api", "audit", "authenticator"]
    ```
    """
    log_types = value(cluster.body, "enabled_cluster_log_types")
    if log_types is ABSENT:
        yield Problem(
            f"{cluster.address} enables no control plane logs: API calls and audit events of the cluster "
            "are not recorded anywhere",
            cluster,
            ("enabled_cluster_log_types",),
        )
        return
    if not isinstance(log_types, list):
        return
    missing = [name for name in REQUIRED_CONTROL_PLANE_LOGS if name not in log_types]
    if missing and not is_unknown(log_types):
        yield Problem(
            f"{cluster.address} does not log {' and '.join(repr(name) for name in missing)} from the control "
            "plane: who changed what in the cluster cannot be traced after an incident",
            cluster,
            ("enabled_cluster_log_types",),
        )


@rule("PR551", "lb-access-logs-disabled", Level.NOTE, section=5, kinds={"aws_lb", "aws_alb"})
def lb_access_logs_disabled(balancer: Resource) -> Iterator[Problem]:
    """An application load balancer does not write access logs.

    ## What it checks
    An `aws_lb` or `aws_alb` of type `application` (the default when `load_balancer_type` is left out)
    must have an `access_logs` block with `enabled = true`. The provider's default for `enabled` is
    `false`, even when a bucket is named. Network and gateway load balancers are not checked.

    ## Why it matters
    Access logs are the record of every request the load balancer saw: client, target, status codes and
    latencies. Without them, a burst of 5xx or a slow target can be seen in metrics but not explained,
    and requests that never reached the application leave no trace at all.

    ## Example
    ```hcl
    resource "aws_lb" "web" {
      name    = "web"
      subnets = var.public_subnet_ids
    }
    ```

    ## Fix
    ```hcl
      access_logs {
        bucket  = aws_s3_bucket.lb_logs.id
        prefix  = "web"
        enabled = true
      }
    ```
    """
    balancer_type = value(balancer.body, "load_balancer_type")
    if balancer_type is not ABSENT and balancer_type != "application":
        return
    access_logs = blocks(balancer.body, "access_logs")
    if access_logs is UNKNOWN:
        return
    if not access_logs:
        yield Problem(
            f"{balancer.address} has no access_logs: failed and slow requests leave no record to investigate",
            balancer,
            ("access_logs",),
        )
        return
    enabled = value(access_logs, 0, "enabled")
    if enabled is UNKNOWN or boolean(enabled) is True:
        return
    if enabled is ABSENT:
        yield Problem(
            f"{balancer.address} names an access log bucket but does not set enabled = true (the default is "
            "false): no request is logged",
            balancer,
            ("access_logs", 0),
        )
    elif boolean(enabled) is False:
        yield Problem(
            f"{balancer.address} has access logs disabled: failed and slow requests leave no record to investigate",
            balancer,
            ("access_logs", 0, "enabled"),
        )


@rule("PR552", "log-group-no-retention", Level.NOTE, section=5, kinds={"aws_cloudwatch_log_group"})
def log_group_no_retention(group: Resource) -> Iterator[Problem]:
    """A CloudWatch log group keeps its logs forever.

    ## What it checks
    An `aws_cloudwatch_log_group` must set `retention_in_days` to a number of days. Left out, or set to
    `0`, CloudWatch never expires the logs.

    ## Why it matters
    Logs kept forever grow a bill that nobody reviews, and keep personal data longer than most retention
    policies allow. A deliberate retention also makes the team decide how far back an investigation can
    look, instead of finding out during one.

    ## Example
    ```hcl
    resource "aws_cloudwatch_log_group" "app" {
      name = "/ecs/app"
    }
    ```

    ## Fix
    ```hcl
      retention_in_days = 90
    ```
    """
    retention = value(group.body, "retention_in_days")
    if retention is ABSENT:
        yield Problem(
            f"{group.address} has no retention_in_days: its logs are kept, and billed, forever",
            group,
            ("retention_in_days",),
        )
    elif number(retention) == 0:
        yield Problem(
            f"{group.address} sets retention_in_days = 0: its logs are kept, and billed, forever",
            group,
            ("retention_in_days",),
        )


_EDGE_LAMBDA = "edgelambda.amazonaws.com"


def _runs_at_edge(function: Resource, index: Index) -> bool:
    """Whether the function's role trusts Lambda@Edge, in its `assume_role_policy` JSON or in the
    `aws_iam_policy_document` that makes it."""
    for role in index.referenced(function, "aws_iam_role"):
        policy = value(role.body, "assume_role_policy")
        if isinstance(policy, str) and _EDGE_LAMBDA in policy:
            return True
        for document in index.referenced(role, "data.aws_iam_policy_document"):
            if _EDGE_LAMBDA in principal_identifiers(document.body):
                return True
    return False


@rule("PR553", "lambda-no-tracing", Level.NOTE, section=5, kinds={"aws_lambda_function"})
def lambda_no_tracing(function: Resource, index: Index) -> Iterator[Problem]:
    """A Lambda function does not record X-Ray traces.

    ## What it checks
    An `aws_lambda_function` must have `tracing_config { mode = "Active" }`. Without the block, or with
    `mode = "PassThrough"`, the function samples no traces of its own. Lambda@Edge functions (their role
    trusts `edgelambda.amazonaws.com`) are not checked: Lambda@Edge does not support X-Ray.

    ## Why it matters
    A Lambda function is usually one step of a longer chain (API Gateway, queues, other functions,
    databases). Without traces, a slow or failing request cannot be followed across that chain: cold
    starts, downstream timeouts and retries all look the same in the function's metrics.

    ## Example
    ```hcl
    resource "aws_lambda_function" "worker" {
      function_name = "worker"
      role          = aws_iam_role.worker.arn
      runtime       = "python3.12"
      handler       = "app.handler"
      filename      = "worker.zip"
    }
    ```

    ## Fix
    ```hcl
      tracing_config {
        mode = "Active"
      }
    ```
    (the function's role also needs `xray:PutTraceSegments` and `xray:PutTelemetryRecords`.)
    """
    tracing = blocks(function.body, "tracing_config")
    if tracing is UNKNOWN or _runs_at_edge(function, index):
        return
    if not tracing:
        yield Problem(
            f"{function.address} has no tracing_config: slow or failing invocations cannot be followed "
            "through the services they call",
            function,
            ("tracing_config",),
        )
        return
    mode = value(tracing, 0, "mode")
    if mode is UNKNOWN or mode == "Active":
        return
    if mode is ABSENT:
        path: tuple = ("tracing_config", 0)
        what = 'has a tracing_config without mode = "Active"'
    else:
        path = ("tracing_config", 0, "mode")
        what = f"traces in mode {mode!r}, not 'Active'"
    yield Problem(
        f"{function.address} {what}: it records a trace only when its caller already sampled the request",
        function,
        path,
    )


@rule("PR554", "apigw-stage-no-tracing", Level.NOTE, section=5, kinds={"aws_api_gateway_stage"})
def apigw_stage_no_tracing(stage: Resource) -> Iterator[Problem]:
    """An API Gateway stage records no X-Ray traces or no access logs.

    ## What it checks
    An `aws_api_gateway_stage` must set `xray_tracing_enabled = true` and must have an
    `access_log_settings` block. Each missing one is its own finding.

    ## Why it matters
    The stage is where every request to the API enters. Without access logs there is no record of who
    called what and which status they got (execution logs are sampled and often off); without tracing,
    the latency a client sees cannot be split between API Gateway, authorizers and the integration.

    ## Example
    ```hcl
    resource "aws_api_gateway_stage" "prod" {
      stage_name    = "prod"
      rest_api_id   = aws_api_gateway_rest_api.api.id
      deployment_id = aws_api_gateway_deployment.api.id
    }
    ```

    ## Fix
    ```hcl
      xray_tracing_enabled = true

      access_log_settings {
        destination_arn = aws_cloudwatch_log_group.api_access.arn
        format          = jsonencode({ requestId = "$context.requestId", status = "$context.status" })
      }
    ```
    """
    tracing = value(stage.body, "xray_tracing_enabled")
    if tracing is ABSENT:
        yield Problem(
            f"{stage.address} does not enable X-Ray tracing: API latency cannot be split between the gateway "
            "and its integrations",
            stage,
            ("xray_tracing_enabled",),
        )
    elif boolean(tracing) is False:
        yield Problem(
            f"{stage.address} has X-Ray tracing disabled: API latency cannot be split between the gateway "
            "and its integrations",
            stage,
            ("xray_tracing_enabled",),
        )
    access_logs = blocks(stage.body, "access_log_settings")
    if access_logs is not UNKNOWN and not access_logs:
        yield Problem(
            f"{stage.address} has no access_log_settings: requests to the API and their status codes are "
            "not recorded",
            stage,
            ("access_log_settings",),
        )


@rule("PR555", "rds-no-enhanced-monitoring", Level.NOTE, section=5, kinds={"aws_db_instance"})
def rds_no_enhanced_monitoring(database: Resource) -> Iterator[Problem]:
    """An RDS instance has neither Enhanced Monitoring nor Performance Insights.

    ## What it checks
    An `aws_db_instance` must set `monitoring_interval` above 0 (Enhanced Monitoring) or
    `performance_insights_enabled = true`. Both are off by default.

    ## Why it matters
    Basic CloudWatch metrics are one-minute averages of the host. When the database is slow, Enhanced
    Monitoring shows what the operating system sees (processes, memory, I/O per device) and Performance
    Insights shows which queries and waits take the time. Without either, the question "why is the
    database slow" has no answer until it happens again with them on.

    ## Example
    ```hcl
    resource "aws_db_instance" "main" {
      engine         = "postgres"
      instance_class = "db.r6g.large"
    }
    ```

    ## Fix
    ```hcl
      performance_insights_enabled = true
      monitoring_interval          = 60
      monitoring_role_arn          = aws_iam_role.rds_monitoring.arn
    ```
    """
    interval = value(database.body, "monitoring_interval")
    insights = value(database.body, "performance_insights_enabled")
    enabled = boolean(insights)
    if interval is UNKNOWN or enabled is UNKNOWN:
        return
    seconds = number(interval) if interval is not ABSENT else 0
    if seconds is None or seconds > 0 or enabled:
        return
    if interval is not ABSENT:
        path: tuple = ("monitoring_interval",)
    elif insights is not ABSENT:
        path = ("performance_insights_enabled",)
    else:
        path = ()
    yield Problem(
        f"{database.address} has neither Enhanced Monitoring nor Performance Insights: when it is slow, "
        "nothing shows which queries or resources are the cause",
        database,
        path,
    )


def flow_logged(vpc: Resource, index: Index) -> bool | None:
    """True when an `aws_flow_log` references the VPC, None when that cannot be known, else False."""
    if index.referrers(vpc, "aws_flow_log"):
        return True
    if passed_to_module(vpc, index) or any(
        may_point_at(log, {vpc.kind}, value(log.body, "vpc_id")) is not False
        for log in index.in_configuration(vpc, "aws_flow_log")
    ):
        return None
    return False


@rule("PR556", "vpc-no-flow-logs", Level.NOTE, section=5, kinds={"aws_vpc"})
def vpc_no_flow_logs(vpc: Resource, index: Index) -> Iterator[Problem]:
    """A VPC has no flow log.

    ## What it checks
    An `aws_vpc` must be referenced by an `aws_flow_log` of the same module (`vpc_id = aws_vpc.main.id`).
    When the VPC is passed to a module call, or a flow log of the module names an unknown VPC (a
    variable, a local), the rule stays quiet.

    ## Why it matters
    Flow logs are the record of which connections were accepted and rejected in the network. Without
    them, "the service cannot reach the database" is debugged by guessing at security groups and route
    tables, and a security incident cannot be scoped.

    ## Example
    ```hcl
    resource "aws_vpc" "main" {
      cidr_block = "10.0.0.0/16"
    }
    ```

    ## Fix
    ```hcl
    resource "aws_flow_log" "main" {
      vpc_id          = aws_vpc.main.id
      traffic_type    = "ALL"
      log_destination = aws_s3_bucket.flow_logs.arn
      log_destination_type = "s3"
    }
    ```
    """
    if flow_logged(vpc, index) is False:
        yield Problem(
            f"{vpc.address} has no flow log: rejected connections and unexpected traffic leave no record",
            vpc,
            (),
        )
