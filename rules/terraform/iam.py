"""IAM policies (checklist § 10, security and compliance).

Policies are read where they are written: JSON strings in `policy` attributes (`jsonencode(...)` and
heredocs evaluate to strings) and `statement` blocks of `data "aws_iam_policy_document"`. A `policy`
that is unknown (it points at a data source, say) is skipped: the data source is checked itself."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

from prodready.model import ABSENT, UNKNOWN, Level, Problem, Resource
from prodready.registry import rule
from prodready.terraform import blocks, each_block, value

_POLICY_OWNERS = {"aws_iam_policy", "aws_iam_role_policy", "aws_iam_user_policy", "aws_iam_group_policy"}
_POLICY_DOCUMENT = "data.aws_iam_policy_document"


def _everything(item: Any) -> bool:
    """Whether an Action or Resource element names everything: "*" alone or inside a list."""
    if isinstance(item, str):
        return item.strip() == "*"
    return isinstance(item, list) and any(
        isinstance(element, str) and element.strip() == "*" for element in item
    )


def _json_statements(document: Any) -> list[dict]:
    """The statements of a JSON policy string; nothing when it is not a JSON policy."""
    if not isinstance(document, str):
        return []
    try:
        policy = json.loads(document)
    except ValueError:
        return []
    statements = policy.get("Statement") if isinstance(policy, dict) else None
    if isinstance(statements, dict):
        statements = [statements]
    return (
        [statement for statement in statements if isinstance(statement, dict)]
        if isinstance(statements, list)
        else []
    )


def _json_grants_everything(statement: dict) -> bool:
    """Allow, Action "*" and Resource "*", in an identity policy statement (no Principal)."""
    if statement.get("Effect") != "Allow" or "Principal" in statement or "NotPrincipal" in statement:
        return False
    return _everything(statement.get("Action")) and _everything(statement.get("Resource"))


def _document_grants_everything(statement: dict) -> bool:
    """The same for a `statement` block of an aws_iam_policy_document (`effect` absent = Allow); a
    statement naming principals belongs to a resource or trust policy and is left out."""
    effect = value(statement, "effect")
    if effect not in (ABSENT, None, "Allow"):
        return False
    for block_type in ("principals", "not_principals"):
        principals = blocks(statement, block_type)
        if principals is UNKNOWN or principals:
            return False
    return _everything(value(statement, "actions")) and _everything(value(statement, "resources"))


def _policies(resource: Resource) -> Iterator[tuple[tuple, Any]]:
    """(path, policy JSON) for each policy a resource holds."""
    if resource.kind == "aws_iam_role":
        for position, inline in each_block(resource.body, "inline_policy"):
            yield ("inline_policy", position, "policy"), value(inline, "policy")
    else:
        yield ("policy",), value(resource.body, "policy")


@rule(
    "PR761",
    "iam-wildcard-admin",
    Level.ERROR,
    section=10,
    kinds=_POLICY_OWNERS | {"aws_iam_role", _POLICY_DOCUMENT},
)
def iam_wildcard_admin(resource: Resource) -> Iterator[Problem]:
    """An IAM policy allows every action on every resource.

    ## What it checks
    A statement with `Effect: "Allow"`, `Action: "*"` and `Resource: "*"` (alone or inside a list) in:
    - the `policy` of `aws_iam_policy`, `aws_iam_role_policy`, `aws_iam_user_policy`,
      `aws_iam_group_policy` and the `inline_policy` blocks of `aws_iam_role`, written with
      `jsonencode(...)` or as a JSON heredoc; the finding points at the `policy` line;
    - a `statement` of `data "aws_iam_policy_document"` (`effect` absent means Allow); the finding
      points at its `actions` line.

    A `policy` that points at a data source is checked through that data source. Not reported:
    `NotAction`/`not_actions` statements, statements with principals (resource and trust policies
    grant rights on one resource, not on the account), `Deny` statements, and policies whose text is
    unknown.

    ## Why it matters
    `*` on `*` is full administrator: whoever holds the policy (a CI role, an application, a leaked
    key) can read every secret, delete every database and backup, and create new admins to stay in.
    Least privilege limits the blast radius of each credential to what it needs.

    ## Example
    ```hcl
    resource "aws_iam_role_policy" "deploy" {
      role = aws_iam_role.deploy.id
      policy = jsonencode({
        Version   = "2012-10-17"
        Statement = [{ Effect = "Allow", Action = "*", Resource = "*" }]
      })
    }
    ```

    ## Fix
    Name the actions and resources the role needs:
    ```hcl
        Statement = [{
          Effect   = "Allow"
          Action   = ["ecs:UpdateService", "ecs:DescribeServices"]
          Resource = aws_ecs_service.web.id
        }]
    ```
    """
    if resource.kind == _POLICY_DOCUMENT:
        for position, statement in each_block(resource.body, "statement"):
            if _document_grants_everything(statement):
                yield Problem(
                    f"{resource.address} statement {position + 1} allows every action on every resource: whoever "
                    "holds it is a full administrator of the account",
                    resource,
                    ("statement", position, "actions"),
                )
        return
    for path, document in _policies(resource):
        if any(_json_grants_everything(statement) for statement in _json_statements(document)):
            yield Problem(
                f"{resource.address} allows every action on every resource: whoever holds it is a full "
                "administrator of the account",
                resource,
                path,
            )
