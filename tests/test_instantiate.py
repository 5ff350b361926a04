"""Terraform configurations instantiated: module sources, instances, values as Terraform evaluates them,
and findings at the line a person edits. The rule fixtures (fixtures/PR650/modules and others) pin the
caller lines; these tests pin what they cannot."""

import json
import os
import pickle
from pathlib import Path

import prodready.instantiate
import pytest
from prodready.instantiate import instantiate
from prodready.model import UNKNOWN
from prodready.scan import ScanOptions, scan
from prodready.sources.hcl import parse_hcl
from prodready.sources.load import TerraformInput, load_terraform
from prodready.sources.terraform import Evaluator

DATABASE = """\
variable "name" {
  type = string
}

resource "aws_db_instance" "this" {
  identifier          = var.name
  engine              = "postgres"
  instance_class      = "db.r6g.large"
  skip_final_snapshot = true
}
"""


def write(root, files: dict[str, str]) -> None:
    for name, text in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)


def findings(paths, rule="PR652"):
    result = scan([str(p) for p in paths], ScanOptions(select=[rule], cache=False, jobs=1))
    return result, [
        (os.path.relpath(f.location.file), f.location.line, f.message.split(":")[0], f.related)
        for f in result.findings
    ]


def test_a_module_outside_the_scanned_tree_is_pointed_at_through_its_call(tmp_path, monkeypatch):
    write(
        tmp_path,
        {
            "modules/db/main.tf": DATABASE,
            "app/main.tf": 'module "orders" {\n  source = "../modules/db"\n  name = "orders"\n}\n',
        },
    )
    monkeypatch.chdir(tmp_path)
    _, found = findings(["app"])
    [(file, line, message, related)] = found
    assert (file, line) == ("app/main.tf", 1)
    assert message == "module.orders.aws_db_instance.this sets skip_final_snapshot = true"
    assert [(os.path.relpath(r.location.file), r.location.line) for r in related] == [
        ("modules/db/main.tf", 9)
    ]


def test_modules_terraform_init_installed_are_read_and_never_scanned_on_their_own(tmp_path, monkeypatch):
    manifest = {
        "Modules": [
            {"Key": "", "Source": "", "Dir": "."},
            {"Key": "db", "Source": "registry.terraform.io/acme/db/aws", "Dir": ".terraform/modules/db"},
        ]
    }
    write(
        tmp_path,
        {
            "main.tf": 'module "db" {\n  source  = "acme/db/aws"\n  version = "1.0.0"\n  name    = "orders"\n}\n',
            ".terraform/modules/modules.json": json.dumps(manifest),
            ".terraform/modules/db/main.tf": DATABASE,
        },
    )
    monkeypatch.chdir(tmp_path)
    result, found = findings(["."])
    assert [(file, line) for file, line, _, _ in found] == [("main.tf", 1)]
    assert not result.notifications


def test_a_module_not_on_disk_is_a_note_and_its_call_stays_context(tmp_path, monkeypatch):
    write(tmp_path, {"main.tf": 'module "vpc" {\n  source = "terraform-aws-modules/vpc/aws"\n}\n'})
    monkeypatch.chdir(tmp_path)
    result, found = findings(["."])
    assert not found
    [note] = [n.message for n in result.notifications]
    assert note == (
        "1 module call of the configuration in . is not on disk (module.vpc (terraform-aws-modules/vpc/aws, "
        "main.tf:1)): what it creates is not checked and its outputs are unknown; run `terraform init` there "
        "to check it"
    )


def test_a_module_that_calls_itself_is_an_error_naming_the_calls(tmp_path, monkeypatch):
    write(
        tmp_path,
        {
            "main.tf": 'module "loop" {\n  source = "./inner"\n}\n',
            "inner/main.tf": 'module "again" {\n  source = "../inner"\n}\n',
        },
    )
    monkeypatch.chdir(tmp_path)
    result = scan(["."], ScanOptions(select=["PR001"], cache=False, jobs=1))
    [finding] = result.findings
    assert (os.path.relpath(finding.location.file), finding.location.line) == ("inner/main.tf", 1)
    assert finding.message == "module call chain module.loop → module.again calls itself; not instantiated"


def test_counts_that_multiply_across_nested_calls_stop_at_the_configuration_bound(tmp_path, monkeypatch):
    # 40 × 40 × 40 × 40 queues would be 2.5 million instances: gigabytes, minutes.
    files = {"main.tf": 'module "a" {\n  source = "./m1"\n  count  = 40\n}\n'}
    for level in range(1, 5):
        files[f"m{level}/main.tf"] = 'resource "aws_sqs_queue" "q" {\n  name = "q"\n}\n' + (
            f'module "next" {{\n  source = "../m{level + 1}"\n  count  = 40\n}}\n' if level < 4 else ""
        )
    write(tmp_path, files)
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(prodready.instantiate, "MAX_CONFIGURATION_INSTANCES", 2_000)
    result = scan(["."], ScanOptions(select=["PR150"], cache=False, jobs=1))
    assert [n.message for n in result.notifications if "instances" in n.message] == [
        "the configuration in . makes more than 2,000 module and resource instances: "
        "those past that many are not checked"
    ]
    assert result.resources < 10_000


def test_a_called_module_is_judged_only_through_its_callers(tmp_path, monkeypatch):
    child = DATABASE.replace("skip_final_snapshot = true", "skip_final_snapshot = var.skip").replace(
        'variable "name"', 'variable "skip" {\n  default = true\n}\nvariable "name"'
    )
    write(
        tmp_path,
        {
            "modules/db/main.tf": child,
            "main.tf": 'module "db" {\n  source = "./modules/db"\n  name = "x"\n  skip = false\n}\n',
        },
    )
    monkeypatch.chdir(tmp_path)
    _, found = findings(["."])
    assert found == []


def test_instances_have_their_own_fingerprints_that_survive_moved_lines(tmp_path, monkeypatch):
    calls = (
        'module "a" {\n  source = "./db"\n  name = "a"\n}\nmodule "b" {\n  source = "./db"\n  name = "b"\n}\n'
    )
    write(tmp_path, {"db/main.tf": DATABASE, "main.tf": calls})
    monkeypatch.chdir(tmp_path)
    [merged] = scan(["."], ScanOptions(select=["PR652"], cache=False, jobs=1)).findings
    assert merged.message.startswith(
        "module.a.aws_db_instance.this (and 1 other instance: module.b.aws_db_instance.this) sets"
    )
    calls = calls.replace("}\n", "  skip = true\n}\n")
    child = 'variable "skip" {}\n' + DATABASE.replace("= true", "= var.skip")
    write(tmp_path, {"db/main.tf": child, "main.tf": calls})
    first = scan(["."], ScanOptions(select=["PR652"], cache=False, jobs=1)).findings
    write(tmp_path, {"db/main.tf": "\n\n" + child, "main.tf": "\n" + calls})
    moved = scan(["."], ScanOptions(select=["PR652"], cache=False, jobs=1)).findings
    assert [f.location.line for f in first] == [4, 9]
    assert [f.location.line for f in moved] == [5, 10]
    assert len({f.fingerprint for f in first}) == 2
    assert [f.fingerprint for f in first] == [f.fingerprint for f in moved]


def evaluate(text: str, **variables):
    [attribute] = parse_hcl(f"x = {text}\n").attributes.values()
    return Evaluator(variables, {}).value(attribute.expression)


@pytest.mark.parametrize(
    "text, expected",
    [
        ('try(var.m.missing, "fallback")', "fallback"),
        ("try(var.m.a, 1)", 2),
        ("can(var.m.missing)", False),
        ("can(var.m.a)", True),
        ('coalesce(null, "", "x")', "x"),
        ("coalescelist([], [1])", [1]),
        ('lookup(var.m, "b", 0)', 0),
        ("one([])", None),
        ("one([3])", 3),
        ("length([var.unknown])", 1),
        ("length(slice([var.unknown, 1, 2], 0, 1))", 1),
        ("length(slice(var.unknown, 0, 1))", 1),
        ("slice(var.unknown, 1, 3)", [UNKNOWN, UNKNOWN]),
        ("slice(var.list, 0, 3)", UNKNOWN),
        ('length(compact([var.unknown, "a"]))', UNKNOWN),
        ("anytrue([var.unknown, true])", True),
        ("alltrue([var.unknown, false])", False),
        ("alltrue([var.unknown, true])", UNKNOWN),
        ("values(var.m)", [2]),
        ("tostring(2)", "2"),
        ('contains(keys(var.m), "a")', True),
        ("[for k, v in var.m : k if v > 1]", ["a"]),
        ("{ for k, v in var.m : upper(k) => v }", {"A": 2}),
        ("var.list[*].name", ["p", "q"]),
        ("flatten([[1], [2, [3]]])", [1, 2, 3]),
        ('compact(["a", "", null])', ["a"]),
        ('tobool("true")', True),
        ('tonumber("7") + 1', 8),
        ("var.unknown == null", UNKNOWN),
        ("{ a = var.unknown } == null", False),
        ('var.m.a > 1 ? "big" : "small"', "big"),
        ("var.unknown ? 1 : 1", 1),
        ("merge(var.m, { c = var.unknown })", {"a": 2, "c": UNKNOWN}),
        ("var.m.missing", UNKNOWN),
    ],
)
def test_functions_real_modules_lean_on(text, expected):
    result = evaluate(text, m={"a": 2}, list=[{"name": "p"}, {"name": "q"}], unknown=UNKNOWN)
    assert result == expected


def test_a_warm_scan_takes_instances_from_the_cache_until_a_file_they_read_changes(tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    monkeypatch.chdir(tmp_path)
    module = DATABASE.replace("skip_final_snapshot = true", "skip_final_snapshot = var.skip")
    caller = 'module "orders" {\n  source = "../modules/db"\n  name = "orders"\n  skip = true\n}\n'
    write(tmp_path, {"modules/db/main.tf": 'variable "skip" {}\n' + module, "app/main.tf": caller})

    def report():
        result = scan(["app"], ScanOptions(select=["PR652"], cache=True, jobs=1))
        return [(f.location, f.message, f.related, f.fingerprint) for f in result.findings]

    cold = report()
    assert [(os.path.relpath(location.file), location.line) for location, *_ in cold] == [("app/main.tf", 4)]
    with monkeypatch.context() as patch:
        patch.setattr(
            prodready.instantiate, "_instantiate", lambda modules: pytest.fail("not from the cache")
        )
        assert report() == cold
    entries = list((tmp_path / "cache").glob("prodready/instances*/*/*"))
    assert entries
    for entry in entries:
        entry.write_bytes(pickle.dumps((1, 2, 3, 4, 5)))  # not what instantiating writes: ignored
    assert report() == cold
    write(tmp_path, {"app/main.tf": caller.replace("skip = true", "skip = false")})
    assert report() == []


def test_every_terraform_fixture_reports_the_same_from_the_cache(tmp_path, monkeypatch):
    """What the cache keeps of an instance is all that the rules and the locate stage read of it."""
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    fixtures = Path(__file__).parent.parent / "fixtures"
    paths = sorted(str(d) for d in fixtures.glob("PR*") if any(d.rglob("*.tf")))

    def report():
        result = scan(paths, ScanOptions(cache=True, jobs=1))
        return [(f.location, f.message, f.related, f.fingerprint) for f in result.findings]

    cold = report()
    assert len(cold) > 100
    monkeypatch.setattr(prodready.instantiate, "_instantiate", lambda modules: pytest.fail("not cached"))
    assert report() == cold


def test_default_tags_follow_provider_configurations_into_nested_modules(tmp_path, monkeypatch):
    provider = 'provider "aws" {{\n{alias}  default_tags {{\n    tags = {{ team = "{team}" }}\n  }}\n}}\n'
    table = 'resource "aws_dynamodb_table" "this" {\n  name = "t"\n  tags = { name = "t" }\n}\n'
    write(
        tmp_path,
        {
            "main.tf": provider.format(alias="", team="root")
            + provider.format(alias='  alias = "west"\n', team="west")
            + 'module "outer" {\n  source = "./outer"\n  providers = {\n    aws.east = aws\n    aws = aws.west\n  }\n}\n',
            "outer/main.tf": table
            + 'resource "aws_sqs_queue" "east" {\n  provider = aws.east\n}\n'
            + 'module "inner" {\n  source = "../inner"\n}\n'
            + 'module "own" {\n  source = "../own"\n}\n',
            "inner/main.tf": table,
            "own/main.tf": provider.format(alias="", team="own") + table,
        },
    )
    monkeypatch.chdir(tmp_path)
    loaded = load_terraform(["main.tf"], 10**6, TerraformInput([], 1, False))
    tags = {r.address: r.body.get("tags_all") for r in instantiate(loaded.terraform).resources}
    assert tags == {
        "module.outer.aws_dynamodb_table.this": {"team": "west", "name": "t"},
        "module.outer.aws_sqs_queue.east": {"team": "root"},
        "module.outer.module.inner.aws_dynamodb_table.this": {"team": "west", "name": "t"},
        "module.outer.module.own.aws_dynamodb_table.this": {"team": "own", "name": "t"},
    }
