"""Encryption and network exposure of AWS resources (checklist § 10, security and compliance).

Every value is read three-valued: a rule fires on a known bad value or on an absent attribute whose AWS
default is bad, never on an unknown one (a variable without default, a data source, another resource's
attribute). `x = null` is Terraform's way of leaving `x` out, so it reads as absent."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from prodready.index import Index
from prodready.model import ABSENT, UNKNOWN, Level, Problem, Resource
from prodready.registry import rule
from prodready.terraform import address_kind, blocks, boolean, each_block, principal_identifiers, value

# --- reading values --------------------------------------------------------------------------------


def _given(item: Any) -> bool:
    """Whether an attribute is set to something (known or not): neither absent nor null."""
    return item is not ABSENT and item is not None


def _port(item: Any) -> int | Any:
    """A port number, or UNKNOWN when the value is unknown, absent or not a number."""
    if isinstance(item, bool):
        return UNKNOWN
    if isinstance(item, int):
        return item
    if isinstance(item, float) and item.is_integer():
        return int(item)
    if isinstance(item, str) and item.strip().lstrip("-").isdigit():
        return int(item.strip())
    return UNKNOWN


def _text(item: Any) -> str | None | Any:
    """A known string, None when absent, null or empty, UNKNOWN otherwise."""
    if item is ABSENT or item is None or item == "":
        return None
    if isinstance(item, str):
        return item
    return UNKNOWN


# --- PR750 ---------------------------------------------------------------------------------------

_KMS_ALGORITHMS = {"aws:kms", "aws:kms:dsse"}
_SSE_CONFIGURATION = "aws_s3_bucket_server_side_encryption_configuration"


def _sse_algorithms(body: Any, prefix: tuple) -> list[tuple[tuple, Any]] | Any:
    """(path, sse_algorithm) for every default-encryption rule under `body` (the `rule` blocks of a v4
    configuration, or of a v3 inline `server_side_encryption_configuration`), or UNKNOWN when `dynamic`
    blocks with an unknown `for_each` make some of them."""
    found: list[tuple[tuple, Any]] = []
    rules = blocks(body, "rule")
    if rules is UNKNOWN:
        return UNKNOWN
    for index, block in enumerate(rules):
        if not isinstance(block, dict):
            return UNKNOWN
        defaults = blocks(block, "apply_server_side_encryption_by_default")
        if defaults is UNKNOWN:
            return UNKNOWN
        for inner, default in enumerate(defaults):
            path = (*prefix, "rule", index, "apply_server_side_encryption_by_default", inner, "sse_algorithm")
            found.append((path, value(default, "sse_algorithm")))
    return found


def _loose_encryption_configurations(index: Index) -> dict[str, list[Resource]]:
    """Per Terraform configuration, the encryption configurations that reference no `aws_s3_bucket`:
    each may name any bucket of its configuration by its literal name."""
    found: dict[str, list[Resource]] = {}
    for configuration in index.of_kind(_SSE_CONFIGURATION):
        if configuration.instance is not None and not any(
            address_kind(ref) == "aws_s3_bucket" for ref in configuration.references
        ):
            found.setdefault(configuration.instance.configuration, []).append(configuration)
    return found


def _encryption_configurations(bucket: Resource, index: Index) -> list[Resource] | Any:
    """The `aws_s3_bucket_server_side_encryption_configuration` resources of the bucket's module that
    apply to it: those referencing it, and those naming it by its literal name. UNKNOWN when one names
    an unknown bucket without referencing any `aws_s3_bucket`: it may be this one."""
    name = value(bucket.body, "bucket")
    found = index.referrers(bucket, _SSE_CONFIGURATION)
    if bucket.instance is None:
        return found
    referring = {id(configuration) for configuration in found}
    loose = index.derived(_loose_encryption_configurations).get(bucket.instance.configuration, [])
    for configuration in loose:
        if id(configuration) in referring:
            continue
        target = value(configuration.body, "bucket")
        if target is UNKNOWN:
            return UNKNOWN
        if isinstance(name, str) and target == name:
            found.append(configuration)
    return found


# Log deliveries that write only to buckets encrypted with SSE-S3: load balancers' access logs (through
# their service principal or the region's ELB account) and S3 server access logs.
_SSE_S3_ONLY_DELIVERIES = {"logdelivery.elasticloadbalancing.amazonaws.com", "logging.s3.amazonaws.com"}
_POLICY_DOCUMENT = "data.aws_iam_policy_document"


def _receives_sse_s3_only_logs(bucket: Resource, index: Index) -> bool:
    """Whether the bucket's policy lets a log delivery that cannot write to a KMS-encrypted bucket write
    to it, in its own statements or in the policy documents they are built from."""
    pending = [
        document
        for policy in index.referrers(bucket, "aws_s3_bucket_policy")
        for document in index.referenced(policy, _POLICY_DOCUMENT)
    ]
    seen: set[int] = set()
    while pending:
        document = pending.pop()
        if id(document) in seen:
            continue
        seen.add(id(document))
        if any(address_kind(ref) == "data.aws_elb_service_account" for ref in document.references):
            return True
        if _SSE_S3_ONLY_DELIVERIES & principal_identifiers(document.body):
            return True
        pending += index.referenced(document, _POLICY_DOCUMENT)
    return False


@rule("PR750", "s3-no-kms", Level.NOTE, section=10, kinds={"aws_s3_bucket"})
def s3_no_kms(bucket: Resource, index: Index) -> Iterator[Problem]:
    """An S3 bucket's default encryption is not a KMS key.

    ## What it checks
    The default server-side encryption of every `aws_s3_bucket` must be `aws:kms` or `aws:kms:dsse`.
    Both ways of writing it count: the AWS provider v3 inline `server_side_encryption_configuration`
    block and the v4+ `aws_s3_bucket_server_side_encryption_configuration` resource that references the
    bucket (or names it literally). A bucket with no configuration at all, or with `AES256`, is reported;
    an algorithm that is unknown (a variable without default, say) is not. Neither is a bucket whose
    policy lets load balancers deliver access logs to it (their service principal, or the region's ELB
    account) or S3 deliver server access logs: those deliveries write only to SSE-S3 buckets.

    ## Why it matters
    Since 2023 AWS encrypts every new object with SSE-S3 (`AES256`) by default, which is why this is a
    note. SSE-S3 protects the disks, not the data: anyone whose IAM policy grants `s3:GetObject` reads
    the objects. With a KMS key, reading also needs `kms:Decrypt` on the key, the key policy is a second
    gate that a leaked bucket policy does not open, and every decrypt lands in CloudTrail.

    ## Example
    ```hcl
    resource "aws_s3_bucket_server_side_encryption_configuration" "exports" {
      bucket = aws_s3_bucket.exports.id
      rule {
        apply_server_side_encryption_by_default {
          sse_algorithm = "AES256"
        }
      }
    }
    ```

    ## Fix
    ```hcl
        apply_server_side_encryption_by_default {
          sse_algorithm     = "aws:kms"
          kms_master_key_id = aws_kms_key.exports.arn
        }
      }
      # bucket_key_enabled = true keeps the KMS request cost down
    ```
    """
    if _receives_sse_s3_only_logs(bucket, index):
        return
    found: list[tuple[Resource, tuple, Any]] = []
    inline = blocks(bucket.body, "server_side_encryption_configuration")
    if inline is UNKNOWN:
        return
    for position, configuration in enumerate(inline):
        algorithms = _sse_algorithms(configuration, ("server_side_encryption_configuration", position))
        if algorithms is UNKNOWN:
            return
        found.extend((bucket, path, algorithm) for path, algorithm in algorithms)
    configurations = _encryption_configurations(bucket, index)
    if configurations is UNKNOWN:
        return
    for configuration in configurations:
        algorithms = _sse_algorithms(configuration.body, ())
        if algorithms is UNKNOWN:
            return
        found.extend((configuration, path, algorithm) for path, algorithm in algorithms)

    if any(algorithm is UNKNOWN or not isinstance(algorithm, (str, type(None))) for _, _, algorithm in found):
        return
    if any(algorithm in _KMS_ALGORITHMS for _, _, algorithm in found):
        return
    name = bucket.address
    weak = [(owner, path, algorithm) for owner, path, algorithm in found if isinstance(algorithm, str)]
    if weak:
        owner, path, algorithm = weak[0]
        related = () if owner is bucket else ((bucket, ()),)
        yield Problem(
            f"{name} is encrypted with {algorithm}, not a KMS key: anyone allowed s3:GetObject reads its objects, "
            "with no key policy in the way and no decrypt in CloudTrail",
            owner,
            path,
            related=related,
        )
    else:
        yield Problem(
            f"{name} has no KMS default encryption: objects get SSE-S3, so anyone allowed s3:GetObject reads them, "
            "with no key policy in the way and no decrypt in CloudTrail",
            bucket,
            (),
        )


# --- PR751 ---------------------------------------------------------------------------------------


@rule("PR751", "rds-unencrypted", Level.ERROR, section=10, kinds={"aws_db_instance", "aws_rds_cluster"})
def rds_unencrypted(database: Resource) -> Iterator[Problem]:
    """An RDS database or Aurora cluster does not encrypt its storage.

    ## What it checks
    Every `aws_db_instance` and `aws_rds_cluster` (Aurora and Multi-AZ DB clusters) must set
    `storage_encrypted = true`; the AWS default is `false`. Aurora members (`aws_rds_cluster_instance`)
    are not checked: their storage is the cluster's. Not reported, because their encryption is decided
    elsewhere:
    - a read replica (`replicate_source_db`, or `replication_source_identifier` on a cluster) inherits
      its source's encryption;
    - a database restored from a snapshot (`snapshot_identifier`) or to a point in time
      (`restore_to_point_in_time`) is encrypted when its source is;
    - an Aurora Serverless v1 cluster (`engine_mode = "serverless"`) is always encrypted.

    ## Why it matters
    Unencrypted storage means unencrypted snapshots, automated backups and read replicas too, and a
    snapshot shared by mistake, or copied to another account, is readable as is. Encryption cannot be
    switched on later: it takes a snapshot, an encrypted copy and a restore, with downtime.

    ## Example
    ```hcl
    resource "aws_db_instance" "orders" {
      engine         = "postgres"
      instance_class = "db.m6g.large"
    }
    ```

    ## Fix
    ```hcl
    resource "aws_db_instance" "orders" {
      engine            = "postgres"
      instance_class    = "db.m6g.large"
      storage_encrypted = true
      kms_key_id        = aws_kms_key.rds.arn
    }
    ```
    """
    body = database.body
    sources = ("snapshot_identifier", "replicate_source_db", "replication_source_identifier")
    if any(_given(value(body, attribute)) for attribute in sources):
        return
    restore = blocks(body, "restore_to_point_in_time")
    if restore is UNKNOWN or restore:
        return
    encrypted = boolean(value(body, "storage_encrypted"))
    if encrypted is True or encrypted is UNKNOWN:
        return
    if encrypted is None and database.kind == "aws_rds_cluster":
        mode = value(body, "engine_mode")
        if mode is UNKNOWN or mode == "serverless":
            return
    yield Problem(
        f"{database.address} stores its data unencrypted: snapshots and backups are readable by whoever gets "
        "a copy, and encrypting later takes a snapshot, a copy and a restore",
        database,
        ("storage_encrypted",),
    )


# --- PR752 ---------------------------------------------------------------------------------------


def _encrypted_by_default(resource: Resource, index: Index) -> bool | Any:
    """Whether the module turns on EBS encryption by default for the region (`enabled` absent = true)."""
    verdicts = [
        boolean(value(switch.body, "enabled"))
        for switch in index.in_configuration(resource, "aws_ebs_encryption_by_default")
    ]
    if any(verdict is True or verdict is None for verdict in verdicts):
        return True
    return UNKNOWN if UNKNOWN in verdicts else False


def _unencrypted(device: dict, path: tuple) -> Iterator[tuple]:
    """The path to `encrypted` when an EBS device is known not to be encrypted. A volume made from a
    snapshot follows the snapshot's encryption, so it is left out."""
    if _given(value(device, "snapshot_id")):
        return
    encrypted = boolean(value(device, "encrypted"))
    if encrypted is False or encrypted is None:
        yield (*path, "encrypted")


@rule(
    "PR752",
    "ebs-unencrypted",
    Level.ERROR,
    section=10,
    kinds={"aws_ebs_volume", "aws_instance", "aws_launch_template"},
)
def ebs_unencrypted(resource: Resource, index: Index) -> Iterator[Problem]:
    """An EBS volume is created without encryption.

    ## What it checks
    `encrypted = true` on every `aws_ebs_volume`, on every `root_block_device` and `ebs_block_device`
    block of an `aws_instance`, and on every `ebs` block of an `aws_launch_template`'s
    `block_device_mappings` (a mapping without `ebs` is an instance-store or `no_device` mapping, not an
    EBS volume). Each offending block is reported at its `encrypted` line, or at the block's line when
    `encrypted` is missing. Nothing is reported when the same module sets
    `aws_ebs_encryption_by_default` with `enabled = true` (or without `enabled`), which encrypts every
    new volume in the region. A volume made from a snapshot (`snapshot_id`) follows the snapshot's
    encryption and is not reported; neither is an instance's root volume that no `root_block_device`
    block describes (its encryption follows the AMI).

    ## Why it matters
    An unencrypted volume gives unencrypted snapshots and AMIs: one shared or copied by mistake exposes
    the disk as is. Encryption cannot be added to a volume in place; it takes a snapshot, an encrypted
    copy and a new volume.

    ## Example
    ```hcl
    resource "aws_instance" "worker" {
      ami           = data.aws_ami.base.id
      instance_type = "m6i.large"
      root_block_device {
        volume_size = 50
      }
    }
    ```

    ## Fix
    ```hcl
      root_block_device {
        volume_size = 50
        encrypted   = true
      }
    ```
    or once per account and region:
    ```hcl
    resource "aws_ebs_encryption_by_default" "this" {
      enabled = true
    }
    ```
    """
    if _encrypted_by_default(resource, index) is not False:
        return
    body = resource.body
    found: list[tuple[tuple, str]] = []  # (path to `encrypted`, which device)
    if resource.kind == "aws_ebs_volume":
        found.extend((path, "") for path in _unencrypted(body, ()))
    elif resource.kind == "aws_instance":
        for block_type in ("root_block_device", "ebs_block_device"):
            for position, device in each_block(body, block_type):
                found.extend(
                    (path, f"'s {block_type}") for path in _unencrypted(device, (block_type, position))
                )
    else:
        for position, mapping in each_block(body, "block_device_mappings"):
            for inner, device in each_block(mapping, "ebs"):
                where = ("block_device_mappings", position, "ebs", inner)
                found.extend(
                    (path, f"'s block device mapping {position + 1}") for path in _unencrypted(device, where)
                )
    for path, which in found:
        yield Problem(
            f"{resource.address}{which} creates an unencrypted EBS volume: its snapshots are readable by whoever "
            "gets a copy, and encrypting it later means copying the data to a new volume",
            resource,
            path,
        )


# --- PR753 ---------------------------------------------------------------------------------------


@rule("PR753", "efs-unencrypted", Level.ERROR, section=10, kinds={"aws_efs_file_system"})
def efs_unencrypted(file_system: Resource) -> Iterator[Problem]:
    """An EFS file system is not encrypted at rest.

    ## What it checks
    Every `aws_efs_file_system` must set `encrypted = true`; through the API (and so Terraform) the
    default is `false`, unlike the console's.

    ## Why it matters
    Encryption at rest is chosen when the file system is created and cannot be switched on later: the
    data has to be copied to a new file system, and every client remounted.

    ## Example
    ```hcl
    resource "aws_efs_file_system" "shared" {
      creation_token = "shared"
    }
    ```

    ## Fix
    ```hcl
    resource "aws_efs_file_system" "shared" {
      creation_token = "shared"
      encrypted      = true
    }
    ```
    """
    encrypted = boolean(value(file_system.body, "encrypted"))
    if encrypted is False or encrypted is None:
        yield Problem(
            f"{file_system.address} is not encrypted at rest: this is fixed at creation, so encrypting it later "
            "means copying every file to a new file system",
            file_system,
            ("encrypted",),
        )


# --- PR754 ---------------------------------------------------------------------------------------


@rule("PR754", "eks-secrets-unencrypted", Level.WARNING, section=10, kinds={"aws_eks_cluster"})
def eks_secrets_unencrypted(cluster: Resource) -> Iterator[Problem]:
    """An EKS cluster does not envelope-encrypt Kubernetes secrets with a KMS key of yours.

    ## What it checks
    Every `aws_eks_cluster` must have an `encryption_config` block whose `resources` include
    `"secrets"`. Clusters on Outposts (`outpost_config`), where EKS does not offer it, are not checked.

    ## Why it matters
    Since Kubernetes 1.28, EKS envelope-encrypts API data with a key AWS owns: you cannot see its use in
    CloudTrail, restrict it with a key policy, rotate it on your schedule or revoke it. Older clusters
    have no envelope encryption at all. With `encryption_config` and a customer-managed key, reading a
    secret from an etcd backup also requires `kms:Decrypt` on your key.

    ## Example
    ```hcl
    resource "aws_eks_cluster" "main" {
      name     = "main"
      role_arn = aws_iam_role.cluster.arn
      vpc_config {
        subnet_ids = var.private_subnet_ids
      }
    }
    ```

    ## Fix
    ```hcl
      encryption_config {
        resources = ["secrets"]
        provider {
          key_arn = aws_kms_key.eks.arn
        }
      }
    ```
    """
    body = cluster.body
    outposts = blocks(body, "outpost_config")
    configurations = blocks(body, "encryption_config")
    if outposts is UNKNOWN or outposts or configurations is UNKNOWN:
        return
    path: tuple = ("encryption_config",)
    for position, configuration in enumerate(configurations):
        resources = value(configuration, "resources")
        if resources is UNKNOWN:
            return
        if isinstance(resources, list) and "secrets" in resources:
            return
        if isinstance(resources, list) and UNKNOWN in resources:
            return
        path = ("encryption_config", position, "resources")
    yield Problem(
        f"{cluster.address} does not encrypt Kubernetes secrets with a KMS key of yours: their use cannot be "
        "audited, restricted or revoked",
        cluster,
        path,
    )


# --- PR755 ---------------------------------------------------------------------------------------


@rule(
    "PR755", "elasticache-unencrypted", Level.WARNING, section=10, kinds={"aws_elasticache_replication_group"}
)
def elasticache_unencrypted(group: Resource) -> Iterator[Problem]:
    """An ElastiCache replication group is not encrypted at rest or in transit.

    ## What it checks
    Every `aws_elasticache_replication_group` must set both `at_rest_encryption_enabled = true` and
    `transit_encryption_enabled = true`. At rest, the AWS default is `true` for the `valkey` engine and
    `false` for `redis` (the default engine); in transit it is `false`. A member of a global datastore
    (`global_replication_group_id`) takes both settings from the global group and is not checked.

    ## Why it matters
    A cache holds sessions, tokens and copies of database rows. Without in-transit encryption they
    cross the network in clear text, readable by anything that can capture VPC traffic; without
    at-rest encryption the same goes for its backups and swap. Neither setting can be switched on in
    place for every engine version: it often means a new replication group.

    ## Example
    ```hcl
    resource "aws_elasticache_replication_group" "sessions" {
      replication_group_id = "sessions"
      description          = "user sessions"
      engine               = "redis"
      node_type            = "cache.r7g.large"
    }
    ```

    ## Fix
    ```hcl
      at_rest_encryption_enabled = true
      transit_encryption_enabled = true
    ```
    """
    body = group.body
    if _given(value(body, "global_replication_group_id")):
        return
    engine = value(body, "engine")
    engine = engine.lower() if isinstance(engine, str) else engine
    missing: list[tuple[str, str, bool]] = []  # (attribute, what, written)
    at_rest = boolean(value(body, "at_rest_encryption_enabled"))
    if at_rest is False or (at_rest is None and engine is not UNKNOWN and engine in (ABSENT, None, "redis")):
        missing.append(("at_rest_encryption_enabled", "at rest", at_rest is False))
    in_transit = boolean(value(body, "transit_encryption_enabled"))
    if in_transit is False or in_transit is None:
        missing.append(("transit_encryption_enabled", "in transit", in_transit is False))
    if len(missing) == 2 and not any(written for _, _, written in missing):
        yield Problem(
            f"{group.address} is encrypted neither at rest nor in transit: cached sessions and tokens cross the "
            "network and sit in backups in clear text",
            group,
            ("at_rest_encryption_enabled",),
        )
        return
    for attribute, what, _ in missing:
        consequence = (
            "cached data crosses the network in clear text"
            if what == "in transit"
            else "its backups are readable by whoever gets a copy"
        )
        yield Problem(f"{group.address} is not encrypted {what}: {consequence}", group, (attribute,))


# --- PR756 ---------------------------------------------------------------------------------------


@rule("PR756", "queue-topic-unencrypted", Level.WARNING, section=10, kinds={"aws_sqs_queue", "aws_sns_topic"})
def queue_topic_unencrypted(resource: Resource) -> Iterator[Problem]:
    """An SQS queue has server-side encryption turned off, or an SNS topic has no KMS key.

    ## What it checks
    An `aws_sqs_queue` with `sqs_managed_sse_enabled = false` and no `kms_master_key_id` (SQS encrypts
    new queues with SQS-managed keys unless told not to, so only the explicit `false` is reported). An
    `aws_sns_topic` without `kms_master_key_id` (SNS does not encrypt at rest by default).

    ## Why it matters
    Messages often carry personal data, tokens or payment details, and sit in the queue or topic for
    up to two weeks; unencrypted, they are stored in clear text and fail most compliance audits
    (PCI DSS, HIPAA, SOC 2).

    ## Example
    ```hcl
    resource "aws_sns_topic" "orders" {
      name = "orders"
    }
    ```

    ## Fix
    ```hcl
    resource "aws_sns_topic" "orders" {
      name              = "orders"
      kms_master_key_id = "alias/aws/sns"
    }
    ```
    """
    body = resource.body
    key = _text(value(body, "kms_master_key_id"))
    if key is not None:
        return
    if resource.kind == "aws_sqs_queue":
        if boolean(value(body, "sqs_managed_sse_enabled")) is False:
            yield Problem(
                f"{resource.address} turns server-side encryption off and has no KMS key: its messages are "
                "stored in clear text",
                resource,
                ("sqs_managed_sse_enabled",),
            )
    else:
        yield Problem(
            f"{resource.address} has no KMS key: its messages are stored unencrypted",
            resource,
            ("kms_master_key_id",),
        )


# --- PR757 / PR758 -------------------------------------------------------------------------------

_LISTENERS = {"aws_lb_listener", "aws_alb_listener"}

# Policies that accept TLS 1.0 or 1.1, from AWS's published lists for Application and Network Load
# Balancers. ELBSecurityPolicy-2016-08 is also what AWS uses when `ssl_policy` is left out.
_WEAK_TLS_POLICIES = {
    "ELBSecurityPolicy-2015-05",
    "ELBSecurityPolicy-2016-08",
    "ELBSecurityPolicy-TLS-1-0-2015-04",
    "ELBSecurityPolicy-TLS-1-1-2017-01",
    "ELBSecurityPolicy-FS-2018-06",
    "ELBSecurityPolicy-FS-1-1-2019-08",
    "ELBSecurityPolicy-TLS13-1-0-2021-06",
    "ELBSecurityPolicy-TLS13-1-1-2021-06",
    "ELBSecurityPolicy-TLS13-1-0-FIPS-2023-04",
    "ELBSecurityPolicy-TLS13-1-1-FIPS-2023-04",
    "ELBSecurityPolicy-TLS13-1-0-PQ-2025-09",
    "ELBSecurityPolicy-TLS13-1-0-FIPS-PQ-2025-09",
}
_TERMINAL_ACTIONS = {"forward", "redirect", "fixed-response"}


def _listener_protocol(listener: Resource) -> str | None | Any:
    """The listener's protocol in upper case; an absent protocol on port 80 is an ALB's default, HTTP.
    None when there is nothing to judge (absent on another port), UNKNOWN when unknown."""
    protocol = value(listener.body, "protocol")
    if protocol is UNKNOWN:
        return UNKNOWN
    if protocol is ABSENT or protocol is None:
        port = _port(value(listener.body, "port"))
        return "HTTP" if port == 80 else None
    return protocol.upper() if isinstance(protocol, str) else UNKNOWN


def _served_safely(listener: Resource) -> bool | Any:
    """Whether the default action of an HTTP listener sends no content over plain HTTP: a redirect to
    HTTPS, or a fixed response. UNKNOWN when the action is unknown."""
    actions = blocks(listener.body, "default_action")
    if actions is UNKNOWN:
        return UNKNOWN
    kinds = [value(action, "type") for action in actions]
    if UNKNOWN in kinds:
        return UNKNOWN
    terminal = [
        action for action, kind in zip(actions, kinds) if isinstance(kind, str) and kind in _TERMINAL_ACTIONS
    ]
    if not terminal:
        return False
    action = terminal[-1]
    kind = value(action, "type")
    if kind == "fixed-response":
        return True
    if kind == "redirect":
        target = value(action, "redirect", "protocol")
        if target is UNKNOWN:
            return UNKNOWN
        return isinstance(target, str) and target.upper() == "HTTPS"
    return False


@rule("PR757", "lb-listener-plaintext", Level.ERROR, section=10, kinds=_LISTENERS)
def lb_listener_plaintext(listener: Resource) -> Iterator[Problem]:
    """A load balancer listener serves plain HTTP instead of redirecting to HTTPS.

    ## What it checks
    An `aws_lb_listener` or `aws_alb_listener` whose `protocol` is `HTTP` (or absent on port 80: an
    ALB listener defaults to HTTP) must have a default action that redirects with
    `redirect { protocol = "HTTPS" }`. A `fixed-response` default action is not reported either: it
    serves a canned reply (typically a 404) and forwards nothing to the application, so no application
    data crosses the wire in clear text; listener rules are not read. The finding points at `protocol`.

    ## Why it matters
    Over plain HTTP, cookies, tokens, passwords and personal data cross the internet readable and
    changeable by anyone on the path: a café Wi-Fi, an ISP, a compromised router.

    ## Example
    ```hcl
    resource "aws_lb_listener" "web" {
      load_balancer_arn = aws_lb.web.arn
      port              = 80
      protocol          = "HTTP"
      default_action {
        type             = "forward"
        target_group_arn = aws_lb_target_group.web.arn
      }
    }
    ```

    ## Fix
    ```hcl
      default_action {
        type = "redirect"
        redirect {
          port        = "443"
          protocol    = "HTTPS"
          status_code = "HTTP_301"
        }
      }
    ```
    and serve the application from an HTTPS listener on 443.
    """
    if _listener_protocol(listener) != "HTTP":
        return
    if _served_safely(listener) is not False:
        return
    yield Problem(
        f"{listener.address} serves the application over plain HTTP: cookies, tokens and personal data cross "
        "the network readable and changeable by anyone on the path",
        listener,
        ("protocol",),
    )


@rule("PR758", "lb-listener-weak-tls", Level.WARNING, section=10, kinds=_LISTENERS)
def lb_listener_weak_tls(listener: Resource) -> Iterator[Problem]:
    """An HTTPS or TLS listener accepts TLS versions older than 1.2.

    ## What it checks
    An `aws_lb_listener` or `aws_alb_listener` with `protocol` `HTTPS` or `TLS` must set an
    `ssl_policy` that refuses TLS 1.0 and 1.1. Left out, AWS uses `ELBSecurityPolicy-2016-08`, which
    accepts TLS 1.0. Reported policies: `ELBSecurityPolicy-2015-05`, `-2016-08`, `-TLS-1-0-2015-04`,
    `-TLS-1-1-2017-01`, `-FS-2018-06`, `-FS-1-1-2019-08`, `-TLS13-1-0-2021-06`, `-TLS13-1-1-2021-06`,
    `-TLS13-1-0-FIPS-2023-04`, `-TLS13-1-1-FIPS-2023-04`, `-TLS13-1-0-PQ-2025-09` and
    `-TLS13-1-0-FIPS-PQ-2025-09`. The finding points at `ssl_policy` (the block's line when absent).

    ## Why it matters
    TLS 1.0 and 1.1 are deprecated (RFC 8996): they rely on SHA-1 and CBC constructions with known
    attacks, browsers no longer use them, and PCI DSS forbids them. Accepting them only helps an
    attacker downgrade a connection.

    ## Example
    ```hcl
    resource "aws_lb_listener" "web" {
      load_balancer_arn = aws_lb.web.arn
      port              = 443
      protocol          = "HTTPS"
      certificate_arn   = aws_acm_certificate.web.arn
    }
    ```

    ## Fix
    ```hcl
      ssl_policy = "ELBSecurityPolicy-TLS13-1-2-2021-06"
    ```
    """
    if _listener_protocol(listener) not in ("HTTPS", "TLS"):
        return
    policy = value(listener.body, "ssl_policy")
    if policy is ABSENT or policy is None or policy == "":
        yield Problem(
            f"{listener.address} has no ssl_policy, so AWS uses ELBSecurityPolicy-2016-08, which accepts TLS 1.0 "
            "and 1.1: clients can be downgraded to broken protocol versions",
            listener,
            ("ssl_policy",),
        )
    elif isinstance(policy, str) and policy in _WEAK_TLS_POLICIES:
        yield Problem(
            f"{listener.address} uses {policy}, which accepts TLS older than 1.2: clients can be downgraded to "
            "broken protocol versions",
            listener,
            ("ssl_policy",),
        )


# --- PR759 ---------------------------------------------------------------------------------------


@rule(
    "PR759",
    "rds-publicly-accessible",
    Level.ERROR,
    section=10,
    kinds={"aws_db_instance", "aws_rds_cluster_instance"},
)
def rds_publicly_accessible(instance: Resource) -> Iterator[Problem]:
    """An RDS instance is reachable from the internet.

    ## What it checks
    `publicly_accessible = true` on an `aws_db_instance` or an Aurora `aws_rds_cluster_instance`
    (the default is `false`).

    ## Why it matters
    A public database gets a public DNS name and IP address: a security group opened a little too wide
    is then all that stands between the internet and password guessing or the next engine exploit.
    Applications reach a database from inside the VPC; people should come in through a bastion, a VPN
    or SSM port forwarding.

    ## Example
    ```hcl
    resource "aws_db_instance" "orders" {
      engine              = "postgres"
      instance_class      = "db.m6g.large"
      publicly_accessible = true
    }
    ```

    ## Fix
    ```hcl
      publicly_accessible = false
    ```
    """
    if boolean(value(instance.body, "publicly_accessible")) is True:
        yield Problem(
            f"{instance.address} is publicly accessible: it gets a public address, and one loose security group "
            "rule exposes it to password guessing from the internet",
            instance,
            ("publicly_accessible",),
        )


# --- PR760 ---------------------------------------------------------------------------------------

_ADMIN_PORTS = {22: "SSH", 3389: "RDP"}
_WORLD = ("0.0.0.0/0", "::/0")


def _admin_ports(protocol: Any, from_port: Any, to_port: Any) -> list[int] | Any:
    """The admin ports (22, 3389) a rule opens, or UNKNOWN. Protocol "-1"/"all" opens every port."""
    if isinstance(protocol, bool) or protocol is ABSENT or protocol is None:
        return UNKNOWN
    if isinstance(protocol, int) or (isinstance(protocol, float) and protocol.is_integer()):
        protocol = str(int(protocol))
    if not isinstance(protocol, str):
        return UNKNOWN
    protocol = protocol.strip().lower()
    if protocol in ("-1", "all"):
        return sorted(_ADMIN_PORTS)
    if protocol not in ("tcp", "6"):
        return []
    low, high = _port(from_port), _port(to_port)
    if low is UNKNOWN or high is UNKNOWN:
        return UNKNOWN
    return [port for port in sorted(_ADMIN_PORTS) if low <= port <= high]


def _open_cidrs(rule_body: dict, attributes: tuple[str, ...]) -> Iterator[tuple[str, str]]:
    """(attribute, CIDR) for each CIDR attribute that holds 0.0.0.0/0 or ::/0 (a list or a string)."""
    for attribute in attributes:
        cidrs = value(rule_body, attribute)
        items = cidrs if isinstance(cidrs, list) else [cidrs]
        world = next((cidr for cidr in items if isinstance(cidr, str) and cidr.strip() in _WORLD), None)
        if world is not None:
            yield attribute, world.strip()


def _ingress_rules(resource: Resource) -> Iterator[tuple[tuple, dict, Any, tuple[str, ...]]]:
    """(path prefix, rule body, protocol, CIDR attributes) for each ingress rule a resource declares."""
    body = resource.body
    if resource.kind == "aws_security_group":
        for position, ingress in each_block(body, "ingress"):
            yield (
                ("ingress", position),
                ingress,
                value(ingress, "protocol"),
                ("cidr_blocks", "ipv6_cidr_blocks"),
            )
    elif resource.kind == "aws_security_group_rule":
        if value(body, "type") == "ingress":
            yield (), body, value(body, "protocol"), ("cidr_blocks", "ipv6_cidr_blocks")
    else:
        yield (), body, value(body, "ip_protocol"), ("cidr_ipv4", "cidr_ipv6")


@rule(
    "PR760",
    "admin-port-open-to-world",
    Level.ERROR,
    section=10,
    kinds={"aws_security_group", "aws_security_group_rule", "aws_vpc_security_group_ingress_rule"},
)
def admin_port_open_to_world(resource: Resource) -> Iterator[Problem]:
    """A security group lets the whole internet reach SSH or RDP.

    ## What it checks
    Ingress rules (inline `ingress` blocks of `aws_security_group`, `aws_security_group_rule` with
    `type = "ingress"`, `aws_vpc_security_group_ingress_rule`) whose port range covers 22 or 3389 for
    TCP (`tcp`, `6`) or all protocols (`-1`, `all`), from `0.0.0.0/0` or `::/0`. The finding points at
    the CIDR attribute (`cidr_blocks`, `ipv6_cidr_blocks`, `cidr_ipv4`, `cidr_ipv6`).

    ## Why it matters
    Port 22 and 3389 on a public address are scanned within minutes of creation, and then brute-forced
    around the clock; one weak password, leaked key or unpatched daemon is a foothold inside the VPC.

    ## Example
    ```hcl
    resource "aws_security_group_rule" "ssh" {
      type              = "ingress"
      security_group_id = aws_security_group.bastion.id
      protocol          = "tcp"
      from_port         = 22
      to_port           = 22
      cidr_blocks       = ["0.0.0.0/0"]
    }
    ```

    ## Fix
    Use SSM Session Manager (no inbound port at all), or limit the source to the office or VPN range:
    ```hcl
      cidr_blocks = ["203.0.113.0/24"]
    ```
    """
    for prefix, rule_body, protocol, attributes in _ingress_rules(resource):
        ports = _admin_ports(protocol, value(rule_body, "from_port"), value(rule_body, "to_port"))
        if ports is UNKNOWN or not ports:
            continue
        services = " and ".join(f"{_ADMIN_PORTS[port]} ({port})" for port in ports)
        for attribute, cidr in _open_cidrs(rule_body, attributes):
            yield Problem(
                f"{resource.address} opens {services} to {cidr}: the whole internet can try passwords and "
                "exploits on it",
                resource,
                (*prefix, attribute),
            )
