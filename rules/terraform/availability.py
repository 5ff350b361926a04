"""Availability and scaling of AWS resources (checklist § 4, deployment: availability, autoscaling).

Values are three-valued: a rule fires on a known bad value or on an absent attribute whose AWS default is
bad, never on UNKNOWN. An attribute set to `null` is the same as an absent one, as in Terraform."""

from collections.abc import Iterator
from typing import Any

from prodready.index import Index
from prodready.model import ABSENT, UNKNOWN, Level, Problem, Resource, is_unknown
from prodready.registry import rule
from prodready.terraform import blocks, boolean, may_point_at, number, value


def _plural(count: float, noun: str) -> str:
    count = int(count)
    return f"{count} {noun}" if count == 1 else f"{count} {noun}s"


@rule("PR350", "rds-single-az", Level.WARNING, section=4, kinds={"aws_db_instance"})
def rds_single_az(database: Resource) -> Iterator[Problem]:
    """An RDS database instance in a single availability zone.

    ## What it checks
    An `aws_db_instance` must set `multi_az = true`. Read replicas (`replicate_source_db`) and Aurora
    instances (`engine = "aurora…"`; their availability comes from the cluster) are not checked.

    ## Why it matters
    A single-AZ instance is down for the whole time AWS needs to recover its host or its zone, and every
    maintenance that reboots it (engine patches, instance class changes) is an outage. Multi-AZ keeps a
    synchronous standby in another zone and fails over to it in a minute or two.

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
      multi_az = true
    ```
    """
    if value(database.body, "replicate_source_db") is not ABSENT:
        return
    engine = value(database.body, "engine")
    if engine is UNKNOWN or (isinstance(engine, str) and engine.lower().startswith("aurora")):
        return
    multi_az = value(database.body, "multi_az")
    if multi_az is UNKNOWN or boolean(multi_az) is True:
        return
    yield Problem(
        f"{database.address} runs in one availability zone: a host or zone failure, or a maintenance "
        "reboot, takes the database down until it is back",
        database,
        ("multi_az",),
    )


def _instance_count(instance: Resource) -> float | None:
    """How many instances a resource block makes (`count`, `for_each`), or None when unknown."""
    body = instance.body
    if "count" in body:
        return number(body["count"])
    if "for_each" in body:
        items = body["for_each"]
        if isinstance(items, dict):
            return len(items)
        if isinstance(items, list) and not is_unknown(items):
            return len(set(map(str, items)))
        return None
    return 1


@rule("PR351", "aurora-single-instance", Level.WARNING, section=4, kinds={"aws_rds_cluster"})
def aurora_single_instance(cluster: Resource, index: Index) -> Iterator[Problem]:
    """An Aurora cluster with fewer than two instances.

    ## What it checks
    An `aws_rds_cluster` must have at least two `aws_rds_cluster_instance` referencing it in the same
    module (or naming its `cluster_identifier` literally), counting each one's `count` or `for_each`.
    An unknown count, an instance whose `cluster_identifier` comes from input, a module call that receives
    the cluster, Aurora Serverless v1 (`engine_mode = "serverless"`), Multi-AZ DB clusters
    (`db_cluster_instance_class`) and headless secondary clusters of a global database are not findings.

    ## Why it matters
    With one instance there is no reader to promote: when the writer fails, or its zone does, Aurora has
    to create a new instance, and the database is down for ten minutes or more. With a second instance in
    another zone, failover takes about half a minute.

    ## Example
    ```hcl
    resource "aws_rds_cluster_instance" "orders" {
      cluster_identifier = aws_rds_cluster.orders.id
      instance_class     = "db.r6g.large"
      engine             = aws_rds_cluster.orders.engine
    }
    ```

    ## Fix
    ```hcl
    resource "aws_rds_cluster_instance" "orders" {
      count              = 2
      cluster_identifier = aws_rds_cluster.orders.id
      instance_class     = "db.r6g.large"
      engine             = aws_rds_cluster.orders.engine
    }
    ```
    """
    body = cluster.body
    engine_mode = value(body, "engine_mode")
    if engine_mode is UNKNOWN or engine_mode == "serverless":
        return
    if value(body, "db_cluster_instance_class") is not ABSENT:
        return
    if index.referrers(cluster, "module"):
        return
    instances = list(index.referrers(cluster, "aws_rds_cluster_instance"))
    name = value(body, "cluster_identifier")
    for other in index.in_configuration(cluster, "aws_rds_cluster_instance"):
        if other in instances:
            continue
        verdict = may_point_at(
            other, {cluster.kind}, value(other.body, "cluster_identifier"), lambda found: found == name
        )
        if verdict is None:
            return
        if verdict:
            instances.append(other)
    total = 0.0
    for instance in instances:
        count = _instance_count(instance)
        if count is None:
            return
        total += count
    if total >= 2:
        return
    if total == 0 and value(body, "global_cluster_identifier") is not ABSENT:
        return  # a headless secondary of a global database
    if total == 0:
        what = "no aws_rds_cluster_instance"
    else:
        what = f"only {_plural(total, 'instance')}"
    yield Problem(
        f"{cluster.address} has {what}: when the writer or its zone fails there is no replica to fail "
        "over to, and the database is down until Aurora builds a new instance",
        cluster,
        (),
        related=tuple((instance, ()) for instance in instances),
    )


def _nodes(group: dict) -> tuple[Any, tuple]:
    """Nodes per shard of a replication group and the attribute that decides it: 1 + replicas in
    cluster mode, `num_cache_clusters` otherwise (absent = 1)."""
    for path in (("replicas_per_node_group",), ("cluster_mode", "replicas_per_node_group")):
        replicas = value(group, *path)
        if replicas is not ABSENT:
            known = number(replicas)
            return (UNKNOWN if known is None else known + 1), (
                path if len(path) == 1 else ("cluster_mode", 0, path[1])
            )
    for path in (("num_cache_clusters",), ("number_cache_clusters",)):
        clusters = value(group, *path)
        if clusters is not ABSENT:
            known = number(clusters)
            return (UNKNOWN if known is None else known), path
    for path in (("num_node_groups",), ("cluster_mode", "num_node_groups")):
        shards = value(group, *path)
        if shards is UNKNOWN:
            return UNKNOWN, ()
        if shards is not ABSENT:
            return 1, ("replicas_per_node_group",)  # cluster mode without replicas
    return 1, ("num_cache_clusters",)


@rule(
    "PR352", "elasticache-no-failover", Level.WARNING, section=4, kinds={"aws_elasticache_replication_group"}
)
def elasticache_no_failover(group: Resource) -> Iterator[Problem]:
    """An ElastiCache replication group that cannot fail over to another zone.

    ## What it checks
    An `aws_elasticache_replication_group` must set `automatic_failover_enabled = true` and
    `multi_az_enabled = true`, and have at least two nodes: `num_cache_clusters` (or the older
    `number_cache_clusters`) of 2 or more, or, in cluster mode, `replicas_per_node_group` of 1 or more.

    ## Why it matters
    Without a replica and automatic failover, the loss of the primary node takes the cache down until
    ElastiCache replaces it, empty. Everything behind the cache then hits the database at once. Without
    Multi-AZ the replicas may share the primary's zone and go down with it.

    ## Example
    ```hcl
    resource "aws_elasticache_replication_group" "sessions" {
      replication_group_id = "sessions"
      description          = "user sessions"
      engine               = "redis"
      node_type            = "cache.r7g.large"
      num_cache_clusters   = 1
    }
    ```

    ## Fix
    ```hcl
      num_cache_clusters         = 2
      automatic_failover_enabled = true
      multi_az_enabled           = true
    ```
    """
    body = group.body
    reasons: list[tuple[str, tuple]] = []
    nodes, nodes_path = _nodes(body)
    count = number(nodes)
    if count is not None and count < 2:
        reasons.append(
            (
                "no replica per shard" if nodes_path[-1] == "replicas_per_node_group" else "one node",
                nodes_path,
            )
        )
    failover = value(body, "automatic_failover_enabled")
    if failover is not UNKNOWN and boolean(failover) is not True:
        reasons.append(("no automatic failover", ("automatic_failover_enabled",)))
    multi_az = value(body, "multi_az_enabled")
    if multi_az is not UNKNOWN and boolean(multi_az) is not True:
        reasons.append(("no Multi-AZ", ("multi_az_enabled",)))
    if not reasons:
        return
    # Point at the first bad attribute that is written; all absent, the block's first line.
    path = next((path for _, path in reasons if value(body, *path) is not ABSENT), ())
    texts = [text for text, _ in reasons]
    what = texts[0] if len(texts) == 1 else ", ".join(texts[:-1]) + " and " + texts[-1]
    yield Problem(
        f"{group.address} has {what}: losing the primary node or its zone takes the cache down, and its load "
        "falls on the database",
        group,
        path,
    )


# Where each compute kind says which subnets or zones it runs in.
PLACEMENT = {
    "aws_autoscaling_group": ("vpc_zone_identifier", "availability_zones"),
    "aws_eks_node_group": ("subnet_ids",),
}


def _single(found: Any) -> bool:
    """A known list of exactly one subnet or zone (the entry itself may be unknown)."""
    if not isinstance(found, list) or not found:
        return False
    if len(found) == 1:
        return found[0] is not None
    return not is_unknown(found) and len({str(item) for item in found}) == 1


@rule("PR353", "single-az-compute", Level.WARNING, section=4, kinds=set(PLACEMENT))
def single_az_compute(group: Resource) -> Iterator[Problem]:
    """An autoscaling group or EKS node group confined to one subnet or availability zone.

    ## What it checks
    The subnets (`vpc_zone_identifier` of an `aws_autoscaling_group`, `subnet_ids` of an
    `aws_eks_node_group`) or `availability_zones` must not be a known list of exactly one entry. A list
    that comes from input or from other resources (`var.subnet_ids`, `aws_subnet.private[*].id`) is
    unknown and not a finding; `[aws_subnet.a.id]` is one subnet whatever its ID.

    ## Why it matters
    A subnet lives in one availability zone. When that zone has an outage, every instance of the group
    goes with it, and the group cannot launch replacements anywhere else.

    ## Example
    ```hcl
    resource "aws_autoscaling_group" "web" {
      min_size            = 2
      max_size            = 6
      vpc_zone_identifier = [aws_subnet.private_a.id]
    }
    ```

    ## Fix
    ```hcl
      vpc_zone_identifier = [aws_subnet.private_a.id, aws_subnet.private_b.id, aws_subnet.private_c.id]
    ```
    """
    for attribute in PLACEMENT[group.kind]:
        if _single(value(group.body, attribute)):
            where = "one availability zone" if attribute == "availability_zones" else "one subnet"
            yield Problem(
                f"{group.address} runs in {where}: an outage of that zone takes every instance down, and no "
                "replacement can start elsewhere",
                group,
                (attribute,),
            )
            return


@rule("PR354", "asg-fixed-size", Level.NOTE, section=4, kinds={"aws_autoscaling_group", "aws_eks_node_group"})
def asg_fixed_size(group: Resource, index: Index) -> Iterator[Problem]:
    """An autoscaling group or EKS node group whose minimum and maximum size are equal.

    ## What it checks
    `min_size` and `max_size` of an `aws_autoscaling_group`, or of the `scaling_config` of an
    `aws_eks_node_group`, must differ. A group with scheduled actions (an `aws_autoscaling_schedule`
    referencing it or naming it, or one whose group name comes from input) and a group switched off
    (`max_size = 0`) are not findings.

    ## Why it matters
    A group that cannot grow serves a traffic peak, a noisy neighbour or a slow dependency with the
    capacity it had before: requests queue, latency climbs, and the cluster autoscaler or scaling policy
    that should have helped is not allowed to.

    ## Example
    ```hcl
    resource "aws_autoscaling_group" "web" {
      min_size            = 3
      max_size            = 3
      vpc_zone_identifier = var.private_subnet_ids
    }
    ```

    ## Fix
    ```hcl
      min_size = 3
      max_size = 12
    ```
    Then add a scaling policy (target tracking on CPU or request count), or run the cluster autoscaler.
    """
    if group.kind == "aws_eks_node_group":
        config = value(group.body, "scaling_config", 0)
        if not isinstance(config, dict):
            return
        prefix: tuple = ("scaling_config", 0)
    else:
        config = group.body
        prefix = ()
    minimum, maximum = number(value(config, "min_size")), number(value(config, "max_size"))
    if minimum is None or maximum is None or minimum != maximum or maximum <= 0:
        return
    if index.referrers(group, "aws_autoscaling_schedule"):
        return
    name = value(group.body, "name")
    for schedule in index.in_configuration(group, "aws_autoscaling_schedule"):
        found = value(schedule.body, "autoscaling_group_name")
        if may_point_at(schedule, {group.kind}, found, lambda found: found == name) is not False:
            return
    yield Problem(
        f"{group.address} has min_size = max_size = {int(maximum)}: it cannot add capacity when load grows",
        group,
        prefix + ("max_size",),
    )


def _may_scale(target: Resource, service: Resource) -> bool:
    """Whether an autoscaling target that does not reference `service` may still scale it: its
    `resource_id` names the service, or comes from input."""
    namespace = value(target.body, "service_namespace")
    if isinstance(namespace, str) and namespace != "ecs":
        return False
    name = value(service.body, "name")

    def names(resource_id: str) -> bool:
        return (
            isinstance(name, str) and resource_id.startswith("service/") and resource_id.endswith(f"/{name}")
        )

    return may_point_at(target, {service.kind}, value(target.body, "resource_id"), names) is not False


@rule("PR355", "ecs-service-no-autoscaling", Level.NOTE, section=4, kinds={"aws_ecs_service"})
def ecs_service_no_autoscaling(service: Resource, index: Index) -> Iterator[Problem]:
    """An ECS service with no Application Auto Scaling target.

    ## What it checks
    An `aws_ecs_service` must be referenced by an `aws_appautoscaling_target` of the same module (its
    `resource_id` is usually `"service/${cluster}/${aws_ecs_service.x.name}"`). A target whose
    `resource_id` names the service literally counts; a target whose `resource_id` comes from input, or
    a module call that receives the service, make the answer unknown. Daemon services are not checked.

    ## Why it matters
    Without a scalable target the service runs `desired_count` tasks whatever the load: a peak saturates
    them, and at night they cost as much as at noon.

    ## Example
    ```hcl
    resource "aws_ecs_service" "api" {
      name            = "api"
      cluster         = aws_ecs_cluster.main.id
      task_definition = aws_ecs_task_definition.api.arn
      desired_count   = 3
    }
    ```

    ## Fix
    ```hcl
    resource "aws_appautoscaling_target" "api" {
      service_namespace  = "ecs"
      scalable_dimension = "ecs:service:DesiredCount"
      resource_id        = "service/${aws_ecs_cluster.main.name}/${aws_ecs_service.api.name}"
      min_capacity       = 3
      max_capacity       = 12
    }
    ```
    Then add an `aws_appautoscaling_policy` (target tracking on CPU or request count).
    """
    strategy = value(service.body, "scheduling_strategy")
    if strategy is UNKNOWN or strategy == "DAEMON":
        return
    if index.referrers(service, "aws_appautoscaling_target", "module"):
        return
    if any(
        _may_scale(target, service) for target in index.in_configuration(service, "aws_appautoscaling_target")
    ):
        return
    yield Problem(
        f"no aws_appautoscaling_target scales {service.address}: it runs the same number of tasks whatever "
        "the load",
        service,
        (),
    )


def _replicates(bucket: Resource) -> bool | None:
    """Whether a bucket has an inline (provider v3) replication configuration; None when unknown."""
    found = blocks(bucket.body, "replication_configuration")
    return None if found is UNKNOWN else bool(found)


def _may_replicate_into(configuration: Resource, name: Any, index: Index) -> bool:
    """Whether a v4 replication configuration may have the bucket called `name` as a destination without
    referencing it: a destination ARN that names it, or one not known while the configuration references
    no bucket but its source (`"arn:aws:s3:::${local.replica_name}"`)."""
    rules = blocks(configuration.body, "rule")
    if rules is UNKNOWN:
        return True
    destinations: list[Any] = []
    for rule_block in rules:
        found = blocks(rule_block, "destination")
        if found is UNKNOWN:
            return True
        destinations.extend(value(destination, "bucket") for destination in found)
    if isinstance(name, str) and f"arn:aws:s3:::{name}" in destinations:
        return True
    return any(is_unknown(found) for found in destinations) and (
        len(index.referenced(configuration, "aws_s3_bucket")) <= 1
    )


@rule("PR356", "s3-no-replication", Level.NOTE, section=4, kinds={"aws_s3_bucket"})
def s3_no_replication(bucket: Resource, index: Index) -> Iterator[Problem]:
    """An S3 bucket whose objects exist in one region only.

    ## What it checks
    An `aws_s3_bucket` must have a replication configuration: an inline `replication_configuration` block
    (AWS provider v3) or an `aws_s3_bucket_replication_configuration` referencing it or naming it (v4+).
    A bucket that is the destination of another bucket's replication (by reference, or by an ARN that
    names it or is not known), that a module call receives, or that a replication configuration whose
    `bucket` comes from input may cover is not a finding.

    ## Why it matters
    S3 keeps objects in several zones of one region, but a regional outage makes them unreachable, and
    a delete or an overwrite by a buggy release or a compromised key reaches every copy. Replication to
    another region (or account) keeps a copy that can serve while the region recovers.

    ## Example
    ```hcl
    resource "aws_s3_bucket" "documents" {
      bucket = "acme-documents"
    }
    ```

    ## Fix
    ```hcl
    resource "aws_s3_bucket_replication_configuration" "documents" {
      bucket = aws_s3_bucket.documents.id
      role   = aws_iam_role.replication.arn
      rule {
        id     = "all"
        status = "Enabled"
        destination {
          bucket = aws_s3_bucket.documents_replica.arn
        }
      }
    }
    ```
    """
    if _replicates(bucket) is not False:
        return
    if index.referrers(bucket, "aws_s3_bucket_replication_configuration", "module"):
        return
    if any(_replicates(source) is not False for source in index.referrers(bucket, "aws_s3_bucket")):
        return  # the destination of a v3 inline replication
    name = value(bucket.body, "bucket")
    for configuration in index.in_configuration(bucket, "aws_s3_bucket_replication_configuration"):
        found = value(configuration.body, "bucket")
        if may_point_at(configuration, {bucket.kind}, found, lambda found: found == name) is not False:
            return
        if _may_replicate_into(configuration, name, index):
            return
    yield Problem(
        f"{bucket.address} is not replicated to another region: a regional outage or a bad delete leaves no "
        "other copy",
        bucket,
        (),
    )


@rule(
    "PR357",
    "dynamodb-single-region",
    Level.WARNING,
    section=4,
    kinds={"aws_dynamodb_table"},
    default_on=False,
)
def dynamodb_single_region(table: Resource, index: Index) -> Iterator[Problem]:
    """A DynamoDB table in one region only (off by default).

    ## What it checks
    An `aws_dynamodb_table` must have `replica` blocks (a global table), or be referenced by an
    `aws_dynamodb_table_replica` or a legacy `aws_dynamodb_global_table`. A module call that receives the
    table, or a table replica whose `global_table_arn` comes from input, makes the answer unknown. Off by
    default: most services accept a regional dependency; teams
    with a multi-region requirement enable it.

    ## Why it matters
    A DynamoDB table is replicated across the zones of its region, not beyond it. During a regional
    outage it cannot be read or written, and there is no other region to fail over to.

    ## Example
    ```hcl
    resource "aws_dynamodb_table" "orders" {
      name         = "orders"
      billing_mode = "PAY_PER_REQUEST"
      hash_key     = "id"
      attribute {
        name = "id"
        type = "S"
      }
    }
    ```

    ## Fix
    ```hcl
      stream_enabled   = true
      stream_view_type = "NEW_AND_OLD_IMAGES"
      replica {
        region_name = "eu-west-1"
      }
    ```
    """
    replicas = blocks(table.body, "replica")
    if replicas is UNKNOWN or replicas:
        return
    if index.referrers(table, "aws_dynamodb_table_replica", "aws_dynamodb_global_table", "module"):
        return
    name = value(table.body, "name")
    for replica in index.in_configuration(table, "aws_dynamodb_table_replica"):
        found = value(replica.body, "global_table_arn")
        if (
            may_point_at(replica, {table.kind}, found, lambda found: found.endswith(f":table/{name}"))
            is not False
        ):
            return
    yield Problem(
        f"{table.address} lives in one region: a regional outage leaves it unreadable and unwritable",
        table,
        (),
    )
