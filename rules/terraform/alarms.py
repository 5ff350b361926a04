"""CloudWatch alarms on AWS resources (checklist § 1 monitoring and § 3 on-call).

Values are three-valued: a rule fires on a known bad value or on an absent attribute whose AWS default is
bad, never on UNKNOWN. An attribute set to `null` is the same as an absent one, as in Terraform."""

from collections.abc import Iterator
from typing import Any

from prodready.index import Index
from prodready.model import ABSENT, UNKNOWN, Level, Problem, Resource
from prodready.registry import rule
from prodready.terraform import blocks, boolean, each_block, may_point_at, value

ALARM = "aws_cloudwatch_metric_alarm"

# What PR150 watches: the resource kind → the CloudWatch namespaces its metrics live in, and the
# attributes that name it in an alarm's dimensions (`DBInstanceIdentifier = "orders"`).
WATCHED: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {
    "aws_db_instance": (("AWS/RDS",), ("identifier",)),
    "aws_rds_cluster": (("AWS/RDS",), ("cluster_identifier",)),
    "aws_lb": (("AWS/ApplicationELB", "AWS/NetworkELB", "AWS/GatewayELB"), ("name",)),
    "aws_alb": (("AWS/ApplicationELB",), ("name",)),
    "aws_autoscaling_group": (("AWS/EC2", "AWS/AutoScaling", "CWAgent"), ("name",)),
    "aws_sqs_queue": (("AWS/SQS",), ("name",)),
    "aws_elasticache_replication_group": (("AWS/ElastiCache",), ("replication_group_id",)),
    "aws_ecs_service": (("AWS/ECS", "ECS/ContainerInsights"), ("name",)),
    "aws_lambda_function": (("AWS/Lambda",), ("function_name",)),
}

# Resources that act on an alarm without `alarm_actions`: a composite alarm notifies for its children,
# ECS and CodeDeploy roll a deployment back, a Route 53 health check fails DNS over.
ALARM_CONSUMERS = (
    "aws_cloudwatch_composite_alarm",
    "aws_ecs_service",
    "aws_codedeploy_deployment_group",
    "aws_route53_health_check",
    "module",
)


def _names(resource: Resource) -> set[str]:
    """The known names an alarm's dimensions could use for `resource`."""
    _, attributes = WATCHED[resource.kind]
    return {
        found
        for attribute in attributes
        if isinstance(found := value(resource.body, attribute), str) and found
    }


def _names_it(dimension: Any, names: set[str], kind: str) -> bool:
    if not isinstance(dimension, str):
        return False
    if dimension in names:
        return True
    if kind in ("aws_lb", "aws_alb"):  # `LoadBalancer = "app/<name>/<id>"`
        return any(f"/{name}/" in dimension for name in names)
    if kind == "aws_elasticache_replication_group":  # `CacheClusterId = "<group>-001"`
        return any(dimension.startswith(f"{name}-") for name in names)
    return False


def _metrics(alarm: Resource) -> list[tuple[Any, Any]]:
    """(namespace, dimensions) of every metric an alarm reads: its own and those of `metric_query`."""
    metrics = [(value(alarm.body, "namespace"), value(alarm.body, "dimensions"))]
    queries = blocks(alarm.body, "metric_query")
    if queries is UNKNOWN:
        return metrics + [(UNKNOWN, UNKNOWN)]
    for _, query in each_block(alarm.body, "metric_query"):
        metric = blocks(query, "metric")
        if metric is UNKNOWN:
            metrics.append((UNKNOWN, UNKNOWN))
            continue
        metrics.extend(
            (value(item, "namespace"), value(item, "dimensions")) for item in metric if isinstance(item, dict)
        )
    return metrics


def _may_watch(alarm: Resource, resource: Resource, names: set[str], index: Index) -> bool:
    """Whether `alarm` watches `resource` by name, or reads a metric whose target cannot be known (its
    dimensions come from a variable, not from a resource this rule watches)."""
    namespaces, _ = WATCHED[resource.kind]
    # An alarm that references a watched resource watches that one; a reference to one the module does not
    # create (its count is 0) says nothing.
    watched = {other.kind for other in index.referenced(alarm, *WATCHED)}
    for namespace, dimensions in _metrics(alarm):
        if isinstance(namespace, str) and namespace not in namespaces:
            continue
        if isinstance(dimensions, dict) and any(
            _names_it(item, names, resource.kind) for item in dimensions.values()
        ):
            return True
        if may_point_at(alarm, watched, dimensions) is None:
            return True
    return False


@rule("PR150", "resource-without-alarm", Level.WARNING, section=1, kinds=set(WATCHED))
def resource_without_alarm(resource: Resource, index: Index) -> Iterator[Problem]:
    """A database, load balancer, queue, cache, service or function that no CloudWatch alarm watches.

    ## What it checks
    Every `aws_db_instance`, `aws_rds_cluster`, `aws_lb`/`aws_alb`, `aws_autoscaling_group`, `aws_sqs_queue`,
    `aws_elasticache_replication_group`, `aws_ecs_service` and `aws_lambda_function` must be referenced by an
    `aws_cloudwatch_metric_alarm` of the same module, in `dimensions` or in a `metric_query`. An alarm that
    names the resource by a literal (`DBInstanceIdentifier = "orders"`) counts too.

    There is no finding when a module call receives a reference to the resource (the module may create
    the alarms), or when an alarm of the same module reads a metric of the resource's CloudWatch namespace
    whose dimensions come from input (`dimensions = var.dimensions`): what it watches is unknown.

    ## Why it matters
    Without an alarm, a database running out of storage, a queue whose backlog grows for hours or a
    function that throws on every call is noticed by users first. AWS publishes these metrics for free;
    an alarm is what turns them into a page.

    ## Example
    ```hcl
    resource "aws_db_instance" "orders" {
      identifier     = "orders"
      engine         = "postgres"
      instance_class = "db.r6g.large"
    }
    ```

    ## Fix
    ```hcl
    resource "aws_cloudwatch_metric_alarm" "orders_storage" {
      alarm_name          = "orders-free-storage"
      namespace           = "AWS/RDS"
      metric_name         = "FreeStorageSpace"
      dimensions          = { DBInstanceIdentifier = aws_db_instance.orders.identifier }
      statistic           = "Minimum"
      period              = 300
      evaluation_periods  = 1
      comparison_operator = "LessThanThreshold"
      threshold           = 10737418240
      alarm_actions       = [aws_sns_topic.oncall.arn]
    }
    ```
    """
    if index.referrers(resource, ALARM, "module"):
        return
    names = _names(resource)
    if any(_may_watch(alarm, resource, names, index) for alarm in index.in_configuration(resource, ALARM)):
        return
    yield Problem(
        f"no CloudWatch alarm watches {resource.address}: when it fails or saturates, nobody is told until users notice",
        resource,
        (),
    )


@rule("PR151", "alarm-without-actions", Level.WARNING, section=3, kinds={ALARM})
def alarm_without_actions(alarm: Resource, index: Index) -> Iterator[Problem]:
    """A CloudWatch alarm that notifies nobody.

    ## What it checks
    An `aws_cloudwatch_metric_alarm` must have a non-empty `alarm_actions` (an SNS topic, an autoscaling
    or a Systems Manager action), and must not set `actions_enabled = false`.

    Alarms without actions that something else acts on are fine: a child of an
    `aws_cloudwatch_composite_alarm`, an alarm an `aws_ecs_service` or `aws_codedeploy_deployment_group`
    rolls back on, an alarm behind an `aws_route53_health_check`, or one passed to a module call.

    ## Why it matters
    An alarm without actions only changes colour in the console. The incident it was written for happens
    at night, the alarm goes into `ALARM`, and nobody is paged.

    ## Example
    ```hcl
    resource "aws_cloudwatch_metric_alarm" "queue_backlog" {
      alarm_name          = "orders-backlog"
      namespace           = "AWS/SQS"
      metric_name         = "ApproximateAgeOfOldestMessage"
      dimensions          = { QueueName = aws_sqs_queue.orders.name }
      statistic           = "Maximum"
      period              = 300
      evaluation_periods  = 2
      comparison_operator = "GreaterThanThreshold"
      threshold           = 900
    }
    ```

    ## Fix
    ```hcl
      alarm_actions = [aws_sns_topic.oncall.arn]
      ok_actions    = [aws_sns_topic.oncall.arn]
    ```
    """
    if index.referrers(alarm, *ALARM_CONSUMERS):
        return
    if boolean(value(alarm.body, "actions_enabled")) is False:
        yield Problem(
            f"{alarm.address} has actions_enabled = false: when it goes off, nobody is told",
            alarm,
            ("actions_enabled",),
        )
        return
    actions = value(alarm.body, "alarm_actions")
    if actions is ABSENT or actions is None:
        missing = True
    elif isinstance(actions, list):
        missing = all(item is None or item == "" for item in actions)
    else:
        missing = False  # UNKNOWN, or a value Terraform would reject
    if missing:
        yield Problem(
            f"{alarm.address} has no alarm_actions: when it goes off, nobody is told",
            alarm,
            ("alarm_actions",),
        )
