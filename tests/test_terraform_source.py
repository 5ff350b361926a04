"""The Terraform loader: positions, three-valued evaluation, references, parse cache."""

import os
import pickle

import pytest
from prodready.cache import ParseCache
from prodready.instantiate import instantiate
from prodready.scan import ScanOptions, scan
from prodready.sources.hcl import HclFile, HclSyntaxError, parse_hcl
from prodready.sources.terraform import ModuleFile, TerraformModules
from prodready.terraform import ABSENT, UNKNOWN, value

MAIN = """\
variable "retention" {
  default = 7
}
variable "env" {}
variable "subnets" {
  default = ["a", "b"]
}
locals {
  name     = "db-${var.retention}"
  tags     = { Team = "core" }
  is_prod  = var.retention > 5
}
resource "aws_db_instance" "main" {
  identifier              = local.name
  backup_retention_period = var.retention
  multi_az                = local.is_prod ? true : false
  instance_class          = "db.${var.env}.large"
  tags                    = merge(local.tags, { Env = "prod" })
  subnet_count            = length(var.subnets)
  kms_key_id              = aws_kms_key.db.arn
  policy                  = jsonencode({ Statement = [{ Action = "*", Resource = "*" }] })
  heredoc                 = <<-EOT
    {"a": 1}
  EOT
  dynamic "ingress" {
    for_each = var.subnets
    content {
      cidr = ingress.value
    }
  }
  dynamic "egress" {
    for_each = var.unknown_list
    content {
      cidr = egress.value
    }
  }
  lifecycle {
    prevent_destroy = true
  }
}
resource "aws_s3_bucket" "gone" {
  count = 0
}
resource "aws_cloudwatch_metric_alarm" "cpu" {
  for_each   = toset(var.subnets)
  dimensions = { DBInstanceIdentifier = aws_db_instance.main.id }
}
"""


def load(text: str, tfvars: str | None = None, var_file: str | None = None):
    files = [ModuleFile("m/main.tf", parse_hcl(text))]
    if tfvars is not None:
        files.append(ModuleFile("m/terraform.tfvars", parse_hcl(tfvars)))
    var_files = [ModuleFile("prod.tfvars", parse_hcl(var_file))] if var_file else []
    modules = TerraformModules({"m": files}, {"m"}, var_files=var_files)
    return {r.address: r for r in instantiate(modules).resources}


def test_values_known_unknown_absent():
    db = load(MAIN)["aws_db_instance.main"]
    body = db.body
    assert body["identifier"] == "db-7"
    assert body["backup_retention_period"] == 7
    assert body["multi_az"] is True
    assert body["instance_class"] is UNKNOWN
    assert body["tags"] == {"Team": "core", "Env": "prod"}
    assert body["subnet_count"] == 2
    assert body["kms_key_id"] is UNKNOWN
    assert body["policy"] == '{"Statement":[{"Action":"*","Resource":"*"}]}'
    assert body["heredoc"] == '{"a": 1}\n'
    assert body["ingress"] == [{"cidr": "a"}, {"cidr": "b"}]
    assert body["egress"] is UNKNOWN
    assert value(body, "lifecycle", "prevent_destroy") is True
    assert value(body, "storage_encrypted") is ABSENT


def test_variables_from_tfvars_and_var_files_in_order():
    assert load(MAIN, tfvars="retention = 1\n")["aws_db_instance.main"].body["backup_retention_period"] == 1
    db = load(MAIN, tfvars="retention = 1\n", var_file='retention = 30\nenv = "r6g"\n')[
        "aws_db_instance.main"
    ]
    assert db.body["backup_retention_period"] == 30
    assert db.body["instance_class"] == "db.r6g.large"


def test_count_zero_resources_do_not_exist_and_references_are_edges():
    resources = load(MAIN)
    assert "aws_s3_bucket.gone" not in resources
    assert resources['aws_cloudwatch_metric_alarm.cpu["a"]'].references == {"aws_db_instance.main"}
    assert resources["aws_db_instance.main"].references == {"aws_kms_key.db"}


def test_positions_point_at_attributes_nested_blocks_and_the_block():
    db = load(MAIN)["aws_db_instance.main"]
    assert db.locate(("backup_retention_period",)).line == 15
    assert db.locate(("ingress", 1, "cidr")).line == 28
    assert db.locate(("lifecycle", 0, "prevent_destroy")).line == 38
    assert db.locate(("storage_encrypted",)).line == 13
    assert (db.start.line, db.start.column) == (13, 1)


def test_local_cycles_are_unknown():
    resources = load('locals {\n  a = local.b\n  b = local.a\n}\nresource "x_y" "z" {\n  v = local.a\n}\n')
    assert resources["x_y.z"].body["v"] is UNKNOWN


@pytest.mark.parametrize(
    "text, line",
    [
        ('resource "a_b" "c" {\n  x = \n}\n', 2),
        ("locals {\n  p = <<EOF\n{}\n", 2),
        ('resource "a_b" "c" {\n  x = 1\n', 3),
        ("x = [" * 3000, 1),
    ],
)
def test_syntax_errors_name_the_line(text, line):
    with pytest.raises(HclSyntaxError) as error:
        parse_hcl(text)
    assert error.value.line == line


def test_a_broken_file_leaves_the_rest_of_the_module_and_other_modules(tmp_path):
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    (tmp_path / "a" / "good.tf").write_text('resource "aws_s3_bucket" "one" {}\n')
    (tmp_path / "a" / "bad.tf").write_text('resource "aws_s3_bucket" "two" {\n')
    (tmp_path / "b" / "main.tf").write_bytes(b"\x00\x01binary")
    (tmp_path / "c.tf").write_text('resource "aws_s3_bucket" "three" {}\n')
    result = scan([str(tmp_path)], ScanOptions(select=["PR001"], cache=False))
    assert result.resources == 2
    assert sorted((os.path.basename(f.location.file), f.location.line) for f in result.findings) == [
        ("bad.tf", 2),
        ("main.tf", 1),
    ]


def test_cache_entries_are_used_and_bad_ones_ignored(tmp_path):
    cache = ParseCache("hcl", str(tmp_path))
    data = b'resource "a_b" "c" {}\n'
    assert cache.get(data, HclFile) is None
    parsed = parse_hcl(data.decode())
    cache.put(data, parsed)
    assert cache.get(data, HclFile) == parsed
    path = cache._path(data)
    with open(path, "wb") as handle:
        handle.write(b"not a pickle")
    assert cache.get(data, HclFile) is None

    class Evil:
        def __reduce__(self):
            return (os.system, ("echo pwned",))

    with open(path, "wb") as handle:
        pickle.dump(Evil(), handle)
    assert cache.get(data, HclFile) is None


def test_references_through_locals_and_not_through_dynamic_iterators():
    resources = load(
        "locals {\n  vpc = aws_vpc.this.id\n  again = local.vpc\n}\n"
        'resource "aws_flow_log" "f" {\n  vpc_id = local.again\n  x = null\n'
        '  dynamic "log_destination" {\n    for_each = var.d\n    content {\n      arn = log_destination.value.arn\n    }\n  }\n}\n'
    )
    flow_log = resources["aws_flow_log.f"]
    assert flow_log.references == {"aws_vpc.this"}
    assert "x" not in flow_log.body
