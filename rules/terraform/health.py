"""Health checks and instance types of AWS compute (checklist § 4, deployment: health checks, resources).

Values are three-valued: a rule fires on a known bad value or on an absent attribute whose AWS default is
bad, never on UNKNOWN. An attribute set to `null` is the same as an absent one, as in Terraform."""

from collections.abc import Iterator
from typing import Any

from prodready.index import Index
from prodready.model import ABSENT, UNKNOWN, Level, Problem, Resource
from prodready.registry import rule
from prodready.terraform import blocks, boolean, each_block, value

# Resources that put an autoscaling group behind a load balancer from outside the group.
ASG_ATTACHMENTS = ("aws_autoscaling_attachment", "aws_autoscaling_traffic_source_attachment")

# Health check types that take the load balancer's (or VPC Lattice's) view of an instance.
TRAFFIC_HEALTH_CHECKS = {"ELB", "VPC_LATTICE"}


def _non_empty(found: Any) -> bool:
    """A known list with at least one entry that is not null (entries may be unknown)."""
    return isinstance(found, list) and any(item is not None and item != "" for item in found)


@rule(
    "PR250",
    "target-group-health-check",
    Level.WARNING,
    section=4,
    kinds={"aws_lb_target_group", "aws_alb_target_group"},
)
def target_group_health_check(group: Resource) -> Iterator[Problem]:
    """A load balancer target group without a health check written for the application.

    ## What it checks
    An `aws_lb_target_group` (or `aws_alb_target_group`) must have a `health_check` block, and it must not
    set `enabled = false`. Target groups of `target_type = "lambda"` are not checked: a Lambda target is
    a single function, there is no other target to route to.

    ## Why it matters
    The load balancer only stops sending traffic to a target that fails its health check. With checks
    disabled, a crashed or hung instance keeps receiving its share of requests. Without a `health_check`
    block the defaults apply (`/` on the traffic port, HTTP 200 only; for a TCP, TLS or UDP target group
    of a network load balancer, a TCP connection to the traffic port), which either fail an application
    that redirects `/` or pass one that accepts connections while it cannot serve.

    ## Example
    ```hcl
    resource "aws_lb_target_group" "api" {
      name     = "api"
      port     = 8080
      protocol = "HTTP"
      vpc_id   = var.vpc_id
    }
    ```

    ## Fix
    ```hcl
      health_check {
        path                = "/healthz"
        matcher             = "200"
        interval            = 15
        healthy_threshold   = 2
        unhealthy_threshold = 3
      }
    ```
    """
    target_type = value(group.body, "target_type")
    if target_type is UNKNOWN or target_type == "lambda":
        return
    checks = blocks(group.body, "health_check")
    if checks is UNKNOWN:
        return
    if not checks:
        protocol = value(group.body, "protocol")
        probe = (
            "only checks that the port accepts a TCP connection"
            if isinstance(protocol, str) and protocol.upper() not in ("HTTP", "HTTPS")
            else "probes `/` with defaults"
        )
        yield Problem(
            f"{group.address} has no health_check block: the load balancer {probe}, which says nothing "
            "about whether the application can serve",
            group,
            ("health_check",),
        )
        return
    for position, check in each_block(group.body, "health_check"):
        if boolean(value(check, "enabled")) is False:
            yield Problem(
                f"{group.address} disables its health check: the load balancer keeps sending requests "
                "to targets that crashed or hung",
                group,
                ("health_check", position, "enabled"),
            )


@rule("PR251", "asg-ec2-health-check", Level.WARNING, section=4, kinds={"aws_autoscaling_group"})
def asg_ec2_health_check(group: Resource, index: Index) -> Iterator[Problem]:
    """An autoscaling group behind a load balancer that only replaces instances whose VM fails.

    ## What it checks
    An `aws_autoscaling_group` attached to a load balancer (a non-empty `target_group_arns`,
    `load_balancers` or `traffic_source`, or an `aws_autoscaling_attachment` /
    `aws_autoscaling_traffic_source_attachment` referencing it) must set `health_check_type = "ELB"`
    (or include `ELB` or `VPC_LATTICE` in a comma-separated list). Absent, the type is `EC2`.

    ## Why it matters
    With `EC2` health checks the group only replaces an instance whose hypervisor status checks fail. An
    instance whose application crashed, hung or lost its disk still passes: the load balancer stops
    sending it traffic, but the group keeps it forever, and capacity shrinks with every such failure.

    ## Example
    ```hcl
    resource "aws_autoscaling_group" "web" {
      min_size            = 2
      max_size            = 6
      vpc_zone_identifier = var.private_subnet_ids
      target_group_arns   = [aws_lb_target_group.web.arn]
      launch_template {
        id = aws_launch_template.web.id
      }
    }
    ```

    ## Fix
    ```hcl
      health_check_type         = "ELB"
      health_check_grace_period = 300
    ```
    """
    attachments = index.referrers(group, *ASG_ATTACHMENTS)
    traffic_sources = blocks(group.body, "traffic_source")
    attached = (
        bool(attachments)
        or _non_empty(value(group.body, "target_group_arns"))
        or _non_empty(value(group.body, "load_balancers"))
        or (traffic_sources is not UNKNOWN and bool(traffic_sources))
    )
    if not attached:
        return
    check_type = value(group.body, "health_check_type")
    if check_type is UNKNOWN:
        return
    if isinstance(check_type, str) and check_type:
        if {part.strip().upper() for part in check_type.split(",")} & TRAFFIC_HEALTH_CHECKS:
            return
        what = f'health_check_type = "{check_type}"'
    elif check_type is ABSENT or check_type is None or check_type == "":
        what = "EC2 health checks (the default)"
    else:
        return
    yield Problem(
        f"{group.address} sits behind a load balancer but uses {what}: an instance whose application hung "
        "keeps passing and is never replaced",
        group,
        ("health_check_type",),
        related=tuple((attachment, ()) for attachment in attachments),
    )


@rule("PR252", "node-group-default-instance-type", Level.NOTE, section=4, kinds={"aws_eks_node_group"})
def node_group_default_instance_type(node_group: Resource, index: Index) -> Iterator[Problem]:
    """An EKS managed node group that leaves the instance type to AWS.

    ## What it checks
    An `aws_eks_node_group` must set `instance_types`, unless its `launch_template` sets `instance_type`.
    When the launch template is not a resource of the same module (its ID comes from input), the instance
    type is unknown and there is no finding.

    ## Why it matters
    Without an instance type, EKS launches `t3.medium`: 2 vCPUs of burstable CPU and 4 GiB of memory, of
    which pods get little after the kubelet and system daemons. When the CPU credits run out under
    sustained load every pod on the node slows down at once, and nobody chose that capacity.

    ## Example
    ```hcl
    resource "aws_eks_node_group" "workers" {
      cluster_name  = aws_eks_cluster.main.name
      node_role_arn = aws_iam_role.node.arn
      subnet_ids    = var.private_subnet_ids
      scaling_config {
        min_size     = 2
        max_size     = 6
        desired_size = 3
      }
    }
    ```

    ## Fix
    ```hcl
      instance_types = ["m6i.large"]
    ```
    """
    instance_types = value(node_group.body, "instance_types")
    if instance_types is UNKNOWN or _non_empty(instance_types):
        return
    if isinstance(instance_types, list) and instance_types:
        return  # entries that are all null: Terraform rejects it; nothing to say here
    launch_templates = blocks(node_group.body, "launch_template")
    if launch_templates is UNKNOWN:
        return
    related: tuple = ()
    if launch_templates:
        templates = index.referenced(node_group, "aws_launch_template")
        if not templates:
            return  # a launch template from input may set the instance type
        if any(value(template.body, "instance_type") not in (ABSENT, None) for template in templates):
            return
        related = tuple((template, ()) for template in templates)
    yield Problem(
        f"{node_group.address} sets no instance type: EKS launches t3.medium, burstable nodes that slow "
        "every pod down once their CPU credits run out",
        node_group,
        ("instance_types",),
        related=related,
    )
