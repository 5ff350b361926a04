"""Backups, snapshots and protection against deletion of AWS data stores (checklist § 9, backup and
disaster recovery).

Values are three-valued: a rule fires on a known bad value or on an absent attribute whose AWS default is
bad, never on UNKNOWN. An attribute set to `null` is the same as an absent one, as in Terraform."""

from collections.abc import Iterator
from fnmatch import fnmatchcase
from typing import Any

from prodready.index import Index
from prodready.model import ABSENT, UNKNOWN, Level, Option, Problem, Resource, is_unknown
from prodready.registry import rule
from prodready.terraform import (
    address_kind,
    blocks,
    boolean,
    each_block,
    may_point_at,
    number,
    passed_to_module,
    tags,
    value,
)

RDS_KINDS = {"aws_db_instance", "aws_rds_cluster"}
BACKUP_RETENTION_DAYS = Option(
    "backup-retention-days",
    7,
    "The fewest days an RDS database keeps its automated backups (PR650).",
    {"type": "integer", "minimum": 1},
)

# The service part of an ARN that AWS Backup selects each kind of resource by.
BACKUP_SERVICE = {
    "aws_db_instance": "rds",
    "aws_rds_cluster": "rds",
    "aws_dynamodb_table": "dynamodb",
    "aws_efs_file_system": "elasticfilesystem",
    "aws_ebs_volume": "ec2",
}


def is_read_replica(database: Resource) -> bool:
    """An `aws_db_instance` that replicates another: its data is backed up at its source."""
    source = value(database.body, "replicate_source_db")
    return database.kind == "aws_db_instance" and source is not ABSENT and source != ""


@rule(
    "PR650",
    "rds-backup-retention",
    Level.WARNING,
    section=9,
    kinds=RDS_KINDS,
    options=[BACKUP_RETENTION_DAYS],
)
def rds_backup_retention(database: Resource, backup_retention_days: int) -> Iterator[Problem]:
    """An RDS database keeps automated backups for less than a week.

    ## What it checks
    An `aws_db_instance` or `aws_rds_cluster` must set `backup_retention_period` to at least 7 days (the `backup-retention-days` option).
    Left out, AWS keeps backups for 1 day (clusters, and instances created through the API); `0`
    disables automated backups and point-in-time recovery. Read replicas (`replicate_source_db`) are
    not checked: their source holds the backups.

    ## Why it matters
    Automated backups are what point-in-time recovery restores from. A bad migration or a deleted table
    noticed on Monday morning cannot be undone if the backups from Friday have already expired.

    ## Example
    ```hcl
    resource "aws_db_instance" "main" {
      engine                  = "postgres"
      instance_class          = "db.r6g.large"
      backup_retention_period = 1
    }
    ```

    ## Fix
    ```hcl
      backup_retention_period = 14
    ```
    """
    if is_read_replica(database):
        return
    retention = value(database.body, "backup_retention_period")
    if retention is ABSENT:
        yield Problem(
            f"{database.address} does not set backup_retention_period, so AWS keeps backups for 1 day: "
            "a bad migration found after a weekend cannot be undone",
            database,
            ("backup_retention_period",),
        )
        return
    days = number(retention)
    minimum = backup_retention_days
    if days is None or days >= minimum:
        return
    if days <= 0:
        message = (
            f"{database.address} has automated backups disabled: no point-in-time recovery after a bad change"
        )
    else:
        message = (
            f"{database.address} keeps backups for {days:g} day{'s' if days != 1 else ''}: a bad migration "
            f"found after a weekend cannot be undone (at least {minimum} days)"
        )
    yield Problem(message, database, ("backup_retention_period",))


@rule(
    "PR651",
    "deletion-protection-disabled",
    Level.WARNING,
    section=9,
    kinds=RDS_KINDS | {"aws_dynamodb_table"},
)
def deletion_protection_disabled(store: Resource) -> Iterator[Problem]:
    """A database or table can be deleted without first turning off deletion protection.

    ## What it checks
    An `aws_db_instance` or `aws_rds_cluster` must set `deletion_protection = true`; an
    `aws_dynamodb_table` must set `deletion_protection_enabled = true`. Both are off by default. Read
    replicas (`replicate_source_db`) are not checked: deleting one loses no data, which its source holds.

    ## Why it matters
    A renamed resource, a wrong workspace or a `terraform destroy` in the wrong directory deletes the
    database with everything in it. Deletion protection turns that into an error that a human has to
    read and undo on purpose.

    ## Example
    ```hcl
    resource "aws_dynamodb_table" "orders" {
      name         = "orders"
      billing_mode = "PAY_PER_REQUEST"
      hash_key     = "id"
    }
    ```

    ## Fix
    ```hcl
      deletion_protection_enabled = true   # aws_dynamodb_table
      deletion_protection         = true   # aws_db_instance, aws_rds_cluster
    ```
    """
    if is_read_replica(store):
        return
    attribute = "deletion_protection_enabled" if store.kind == "aws_dynamodb_table" else "deletion_protection"
    protection = value(store.body, attribute)
    if protection is ABSENT:
        yield Problem(
            f"{store.address} does not set {attribute} = true: one mistaken destroy or rename deletes it "
            "with all its data",
            store,
            (attribute,),
        )
    elif boolean(protection) is False:
        yield Problem(
            f"{store.address} has {attribute} off: one mistaken destroy or rename deletes it with all its data",
            store,
            (attribute,),
        )


@rule("PR652", "skip-final-snapshot", Level.WARNING, section=9, kinds=RDS_KINDS)
def skip_final_snapshot(database: Resource) -> Iterator[Problem]:
    """An RDS database is deleted without a final snapshot.

    ## What it checks
    An `aws_db_instance` or `aws_rds_cluster` must not set `skip_final_snapshot = true`. Read replicas
    are not checked: AWS takes no final snapshot of a replica.

    ## Why it matters
    When the database is destroyed (on purpose, or by a rename or a replacement that Terraform plans),
    its automated backups go with it. The final snapshot is then the only copy of the data left.

    ## Example
    ```hcl
    resource "aws_rds_cluster" "main" {
      engine              = "aurora-postgresql"
      skip_final_snapshot = true
    }
    ```

    ## Fix
    ```hcl
      skip_final_snapshot       = false
      final_snapshot_identifier = "main-final"
    ```
    """
    if is_read_replica(database):
        return
    if boolean(value(database.body, "skip_final_snapshot")) is True:
        yield Problem(
            f"{database.address} sets skip_final_snapshot = true: destroying or replacing it deletes the "
            "data with no copy left",
            database,
            ("skip_final_snapshot",),
        )


@rule("PR653", "s3-versioning-disabled", Level.WARNING, section=9, kinds={"aws_s3_bucket"})
def s3_versioning_disabled(bucket: Resource, index: Index) -> Iterator[Problem]:
    """An S3 bucket does not keep versions of its objects.

    ## What it checks
    An `aws_s3_bucket` must enable versioning, either inline (`versioning { enabled = true }`, AWS
    provider v3) or with an `aws_s3_bucket_versioning` that references the bucket and sets
    `versioning_configuration { status = "Enabled" }` (v4 and later). A versioning resource whose status
    is unknown or whose bucket is unknown (a variable, a local), or a bucket passed to a module call, is
    given the benefit of the doubt.

    ## Why it matters
    Without versioning, an overwrite or a delete, by a bug, a script or a person, destroys the object
    for good. With it, the previous version is one API call away (add a lifecycle rule to expire old
    versions, so the bucket does not grow forever).

    ## Example
    ```hcl
    resource "aws_s3_bucket" "uploads" {
      bucket = "example-uploads"
    }
    ```

    ## Fix
    ```hcl
    resource "aws_s3_bucket_versioning" "uploads" {
      bucket = aws_s3_bucket.uploads.id
      versioning_configuration {
        status = "Enabled"
      }
    }
    ```
    """
    split = index.referrers(bucket, "aws_s3_bucket_versioning")
    statuses = [
        (versioning, value(versioning.body, "versioning_configuration", "status")) for versioning in split
    ]
    if any(status is UNKNOWN or status == "Enabled" for _, status in statuses):
        return
    if passed_to_module(bucket, index) or any(
        may_point_at(versioning, {bucket.kind}, value(versioning.body, "bucket")) is not False
        for versioning in index.in_configuration(bucket, "aws_s3_bucket_versioning")
    ):
        return
    inline = blocks(bucket.body, "versioning")
    if inline is UNKNOWN:
        return
    enabled = value(inline, 0, "enabled") if inline else ABSENT
    if enabled is UNKNOWN or boolean(enabled) is True:
        return
    related = tuple((versioning, ("versioning_configuration", 0, "status")) for versioning, _ in statuses)
    for versioning, status in statuses:
        if status is not ABSENT:
            yield Problem(
                f"{bucket.address} has versioning {status!r} in {versioning.address}: an overwritten or "
                "deleted object cannot be recovered",
                versioning,
                ("versioning_configuration", 0, "status"),
                related=((bucket, ()),),
            )
            return
    if inline and boolean(enabled) is False:
        yield Problem(
            f"{bucket.address} has versioning disabled: an overwritten or deleted object cannot be recovered",
            bucket,
            ("versioning", 0, "enabled"),
            related=related,
        )
        return
    yield Problem(
        f"{bucket.address} does not enable versioning: an overwritten or deleted object cannot be recovered",
        bucket,
        (),
        related=related,
    )


@rule("PR654", "dynamodb-no-pitr", Level.WARNING, section=9, kinds={"aws_dynamodb_table"})
def dynamodb_no_pitr(table: Resource) -> Iterator[Problem]:
    """A DynamoDB table has no point-in-time recovery.

    ## What it checks
    An `aws_dynamodb_table` must have `point_in_time_recovery { enabled = true }`. It is off by default.

    ## Why it matters
    Point-in-time recovery restores the table to any second of the last 35 days. Without it, a bad
    deploy that rewrites items, or a script that deletes the wrong ones, can only be undone from an
    on-demand backup, if someone took one.

    ## Example
    ```hcl
    resource "aws_dynamodb_table" "orders" {
      name         = "orders"
      billing_mode = "PAY_PER_REQUEST"
      hash_key     = "id"
    }
    ```

    ## Fix
    ```hcl
      point_in_time_recovery {
        enabled = true
      }
    ```
    """
    recovery = blocks(table.body, "point_in_time_recovery")
    if recovery is UNKNOWN:
        return
    enabled = value(recovery, 0, "enabled") if recovery else ABSENT
    if enabled is UNKNOWN or boolean(enabled) is True:
        return
    if not recovery:
        path: tuple = ()
    elif enabled is ABSENT:
        path = ("point_in_time_recovery", 0)
    else:
        path = ("point_in_time_recovery", 0, "enabled")
    yield Problem(
        f"{table.address} has no point-in-time recovery: items overwritten or deleted by a bad deploy "
        "cannot be restored",
        table,
        path,
    )


def _tag_matches(selection_tag: dict, carried: Any) -> bool | None:
    """Whether a `selection_tag { type = "STRINGEQUALS", key, value }` matches the tags; None when unknown."""
    condition = [value(selection_tag, name) for name in ("type", "key", "value")]
    if any(part is UNKNOWN for part in condition) or carried is UNKNOWN:
        return None
    kind, key, wanted = condition
    if kind != "STRINGEQUALS" or not isinstance(carried, dict):
        return False
    found = carried.get(key, ABSENT)
    if found is UNKNOWN:
        return None
    return found == wanted


# What a selection references besides what it selects: its plan and its IAM role.
_SELECTION_PLUMBING = ("aws_backup_plan", "aws_iam_role")


def _selects_by_arn(selection: Resource, kind: str, index: Index) -> bool | None:
    """Whether a selection's `resources` holds a wildcard ARN that matches `kind`; None when unknown."""
    arns = value(selection.body, "resources")
    if arns is ABSENT:
        return False
    if not isinstance(arns, list):
        return None
    # `aws_db_instance.other.arn` is unknown too, but it names another resource: only unknown items that
    # the selection's references to other resources do not account for (a variable, a local, a data
    # source, a module output) may be the resource in question.
    unknown_items = sum(1 for arn in arns if is_unknown(arn))
    kinds = {address_kind(ref) for ref in selection.references} - set(_SELECTION_PLUMBING)
    if unknown_items > len(index.referenced(selection, *kinds)):
        return None
    service = BACKUP_SERVICE[kind]
    for arn in arns:
        if not isinstance(arn, str) or "*" not in arn:
            continue
        parts = arn.split(":")
        if len(parts) < 3 or fnmatchcase(service, parts[2]):
            return True
    return False


def covered_by_backup(resource: Resource, index: Index) -> bool | None:
    """Whether an `aws_backup_selection` of the same module covers `resource`: by reference in
    `resources`, by a wildcard ARN there, or by a `selection_tag` its tags carry. None when that depends
    on values that are unknown (or on a module call that receives the resource)."""
    if index.referrers(resource, "aws_backup_selection"):
        return True
    unknown = passed_to_module(resource, index)
    carried = tags(resource.body)
    for selection in index.in_configuration(resource, "aws_backup_selection"):
        verdicts = [_selects_by_arn(selection, resource.kind, index)]
        selection_tags = blocks(selection.body, "selection_tag")
        if selection_tags is UNKNOWN:
            verdicts.append(None)
        else:
            verdicts.extend(
                _tag_matches(tag, carried) for _, tag in each_block(selection.body, "selection_tag")
            )
        if True in verdicts:
            return True
        unknown = unknown or None in verdicts
    return None if unknown else False


@rule(
    "PR655",
    "no-backup-plan-coverage",
    Level.WARNING,
    section=9,
    kinds=set(BACKUP_SERVICE),
)
def no_backup_plan_coverage(store: Resource, index: Index) -> Iterator[Problem]:
    """A data store is covered by no AWS Backup selection.

    ## What it checks
    Every `aws_db_instance`, `aws_rds_cluster`, `aws_dynamodb_table`, `aws_efs_file_system` and
    `aws_ebs_volume` must be covered by an `aws_backup_selection` of the same configuration (a root module
    and the modules it calls): one that references it in `resources`, lists a wildcard ARN of its service
    there (`arn:aws:rds:*:*:db:*`, `*`), or selects by a `selection_tag` (`STRINGEQUALS`) that the
    resource carries, in its `tags` or through its provider's `default_tags`. A selection whose
    resources or tags are unknown (a variable, a local, a data source; not a reference to another
    resource), or a module call that receives the resource, counts as covering.
    Read replicas are not checked (AWS Backup does not back them up; their source is).
    When the module defines no `aws_backup_plan` at all, backups may be managed elsewhere (another
    configuration, an AWS Organizations backup policy), and the finding is a note.

    ## Why it matters
    Service-level backups (RDS automated backups, DynamoDB point-in-time recovery) live in the same
    account and region as the data and are deleted with it. An AWS Backup plan keeps copies under its
    own retention, can copy them to another account or region, and shows in one place what is protected.

    ## Example
    ```hcl
    resource "aws_backup_selection" "databases" {
      name         = "databases"
      plan_id      = aws_backup_plan.daily.id
      iam_role_arn = aws_iam_role.backup.arn
      resources    = [aws_db_instance.main.arn]
    }

    resource "aws_dynamodb_table" "orders" {   # covered by nothing
      name     = "orders"
      hash_key = "id"
    }
    ```

    ## Fix
    Reference the resource in a selection's `resources`, or tag it and select by tag:
    ```hcl
    resource "aws_backup_selection" "tagged" {
      name         = "tagged"
      plan_id      = aws_backup_plan.daily.id
      iam_role_arn = aws_iam_role.backup.arn
      selection_tag {
        type  = "STRINGEQUALS"
        key   = "backup"
        value = "daily"
      }
    }
    ```
    """
    if is_read_replica(store) or covered_by_backup(store, index) is not False:
        return
    if not index.in_configuration(store, "aws_backup_plan"):
        yield Problem(
            f"{store.address} is in no AWS Backup plan, and this configuration defines none: unless backups are "
            "managed elsewhere, losing the account or region loses the data",
            store,
            (),
            level=Level.NOTE,
        )
        return
    yield Problem(
        f"{store.address} is selected by no aws_backup_selection: the configuration's backup plan does not "
        "protect it",
        store,
        (),
    )


@rule("PR656", "efs-no-backup-policy", Level.NOTE, section=9, kinds={"aws_efs_file_system"})
def efs_no_backup_policy(file_system: Resource, index: Index) -> Iterator[Problem]:
    """An EFS file system has automatic backups turned off.

    ## What it checks
    An `aws_efs_file_system` must be referenced by an `aws_efs_backup_policy` with
    `backup_policy { status = "ENABLED" }`. A file system that an `aws_backup_selection` covers (see
    PR655), that is passed to a module call, or that a backup policy with an unknown file system (a
    variable, a local) may name, is not reported.

    ## Why it matters
    File systems created with Terraform have automatic backups off (the console turns them on). Without
    backups, a deleted directory or a corrupting write is permanent.

    ## Example
    ```hcl
    resource "aws_efs_file_system" "shared" {
      encrypted = true
    }
    ```

    ## Fix
    ```hcl
    resource "aws_efs_backup_policy" "shared" {
      file_system_id = aws_efs_file_system.shared.id
      backup_policy {
        status = "ENABLED"
      }
    }
    ```
    """
    policies = index.referrers(file_system, "aws_efs_backup_policy")
    statuses = [(policy, value(policy.body, "backup_policy", "status")) for policy in policies]
    if any(status is UNKNOWN or status == "ENABLED" for _, status in statuses):
        return
    if any(
        may_point_at(policy, {file_system.kind}, value(policy.body, "file_system_id")) is not False
        for policy in index.in_configuration(file_system, "aws_efs_backup_policy")
    ):
        return
    if covered_by_backup(file_system, index) is not False:
        return
    for policy, status in statuses:
        if status is not ABSENT:
            yield Problem(
                f"{file_system.address} has automatic backups {status!r} in {policy.address}: a deleted or "
                "corrupted file cannot be restored",
                policy,
                ("backup_policy", 0, "status"),
                related=((file_system, ()),),
            )
            return
    yield Problem(
        f"{file_system.address} has no backup policy enabling automatic backups: a deleted or corrupted "
        "file cannot be restored",
        file_system,
        (),
    )


@rule(
    "PR657",
    "elasticache-no-snapshots",
    Level.NOTE,
    section=9,
    kinds={"aws_elasticache_cluster", "aws_elasticache_replication_group"},
)
def elasticache_no_snapshots(cache: Resource) -> Iterator[Problem]:
    """A Redis cache takes no automatic snapshots.

    ## What it checks
    An `aws_elasticache_replication_group`, or an `aws_elasticache_cluster` running Redis or Valkey
    (`engine`) outside a replication group, must set `snapshot_retention_limit` above 0. It is 0, no
    snapshots, by default. Memcached keeps no data worth a snapshot and is not checked.

    ## Why it matters
    Redis often holds more than a cache: sessions, queues, rate limits, leaderboards. Without snapshots,
    a failed node without a replica, a `FLUSHALL` or a bad deploy loses all of it, and the only recovery
    is to rebuild from whatever else has the data.

    ## Example
    ```hcl
    resource "aws_elasticache_replication_group" "sessions" {
      replication_group_id = "sessions"
      description          = "user sessions"
      node_type            = "cache.r7g.large"
    }
    ```

    ## Fix
    ```hcl
      snapshot_retention_limit = 7
      snapshot_window          = "03:00-04:00"
    ```
    """
    if cache.kind == "aws_elasticache_cluster":
        if value(cache.body, "replication_group_id") is not ABSENT:
            return  # a member: the replication group holds the snapshot settings
        engine = value(cache.body, "engine")
        if engine is not ABSENT and engine not in ("redis", "valkey"):
            return
    limit = value(cache.body, "snapshot_retention_limit")
    if limit is ABSENT:
        yield Problem(
            f"{cache.address} sets no snapshot_retention_limit, so it takes no snapshots: a flush or a lost "
            "node loses its data for good",
            cache,
            ("snapshot_retention_limit",),
        )
    elif number(limit) == 0:
        yield Problem(
            f"{cache.address} has snapshot_retention_limit = 0, so it takes no snapshots: a flush or a lost "
            "node loses its data for good",
            cache,
            ("snapshot_retention_limit",),
        )
