"""Rollout and rollback of AWS services (checklist § 4, deployment: rollback).

Values are three-valued: a rule fires on a known bad value or on an absent attribute whose AWS default is
bad, never on UNKNOWN. An attribute set to `null` is the same as an absent one, as in Terraform."""

from collections.abc import Iterator

from prodready.model import UNKNOWN, Level, Problem, Resource
from prodready.registry import rule
from prodready.terraform import blocks, boolean, value


@rule("PR450", "ecs-no-rollback", Level.WARNING, section=4, kinds={"aws_ecs_service"})
def ecs_no_rollback(service: Resource) -> Iterator[Problem]:
    """An ECS service whose failed deployments do not roll back.

    ## What it checks
    An `aws_ecs_service` using the ECS deployment controller (no `deployment_controller` block, or
    `type = "ECS"`) must have `deployment_circuit_breaker { enable = true, rollback = true }`, or roll back
    on CloudWatch alarms with `alarms { enable = true, rollback = true, alarm_names = [...] }`. Services
    deployed by CodeDeploy or an external controller are not checked: their rollback lives there.

    ## Why it matters
    Without the circuit breaker, a release whose tasks crash at start-up or fail their health checks is
    retried forever: the deployment never completes, the service runs below capacity on the old tasks, and
    someone has to notice and roll back by hand. With `enable` but not `rollback`, ECS stops the
    deployment and leaves the service on the broken release.

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
      deployment_circuit_breaker {
        enable   = true
        rollback = true
      }
    ```
    """
    body = service.body
    controllers = blocks(body, "deployment_controller")
    if controllers is UNKNOWN:
        return
    controller = value(body, "deployment_controller", "type")
    if controller is UNKNOWN or (isinstance(controller, str) and controller.upper() != "ECS"):
        return
    alarms = blocks(body, "alarms")
    if alarms is UNKNOWN or any(
        boolean(value(block, "enable")) is not False and boolean(value(block, "rollback")) is not False
        for block in alarms
    ):
        return  # alarms that roll a deployment back, or may
    breakers = blocks(body, "deployment_circuit_breaker")
    if breakers is UNKNOWN:
        return
    if not breakers:
        yield Problem(
            f"{service.address} has no deployment circuit breaker: a release whose tasks fail to start is "
            "never rolled back, ECS keeps launching them until someone steps in",
            service,
            ("deployment_circuit_breaker",),
        )
        return
    enable = value(body, "deployment_circuit_breaker", 0, "enable")
    if enable is UNKNOWN:
        return
    if boolean(enable) is not True:
        yield Problem(
            f"{service.address} disables its deployment circuit breaker: a release whose tasks fail to start "
            "is never rolled back, ECS keeps launching them until someone steps in",
            service,
            ("deployment_circuit_breaker", 0, "enable"),
        )
        return
    rollback = value(body, "deployment_circuit_breaker", 0, "rollback")
    if rollback is UNKNOWN or boolean(rollback) is True:
        return
    yield Problem(
        f"{service.address} stops a failing deployment but does not roll it back: the service stays on "
        "the broken release",
        service,
        ("deployment_circuit_breaker", 0, "rollback"),
    )
