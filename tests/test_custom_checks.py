"""Custom checks from the configuration: each case of `fixtures/custom/<case>/` scanned with its own
`.prodready.yaml` must yield exactly the findings marked `# expect: ACME001` on their lines; suppressions,
selection and levels work on them as on built-in rules; a definition that is not a valid check is a
configuration error naming file, line and ID; `rules`, `explain`, SARIF and the scorecard carry them."""

import json
import re
from pathlib import Path

import jsonschema
import pytest
from click.testing import CliRunner
from prodready.cli import main
from prodready.config import load
from prodready.report import render
from prodready.scan import ScanOptions, scan

CASES = Path(__file__).parent.parent / "fixtures" / "custom"
SARIF_SCHEMA = json.loads((Path(__file__).parent / "data" / "sarif-schema-2.1.0.json").read_text())
EXPECT = re.compile(r"#\s*expect:\s*([A-Z]+\d+(?:\s*,\s*[A-Z]+\d+)*)")


def expected_marks(case: Path) -> set[tuple[str, str, int]]:
    marks = set()
    for path in sorted(p for p in case.rglob("*") if p.is_file()):
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
            match = EXPECT.search(line)
            if match:
                marks.update((rule_id.strip(), str(path), number) for rule_id in match.group(1).split(","))
    return marks


def scanned(case: Path, **options):
    return scan(
        [str(case)], ScanOptions(config=load(str(case / ".prodready.yaml")), cache=False, jobs=1, **options)
    )


def messages(result) -> dict[tuple[str, int], str]:
    return {(Path(f.location.file).name, f.location.line): f.message for f in result.findings}


@pytest.mark.parametrize("case", sorted(CASES.iterdir()), ids=lambda case: case.name)
def test_case_yields_exactly_its_marked_findings(case: Path) -> None:
    result = scanned(case)
    assert not [n for n in result.notifications if "internal error" in n.message]
    found = {(f.rule.id, f.location.file, f.location.line) for f in result.findings if not f.suppression}
    assert found == expected_marks(case)


def test_container_findings_point_inside_the_container_and_say_what_failed() -> None:
    result = scanned(CASES / "container")
    assert messages(result) == {
        ("workloads.yaml", 14): "images come only from the company registry: 'image' is"
        " 'docker.io/library/flyway:10', which does not match '^registry\\.acme\\.io/'",
        ("workloads.yaml", 16): "a container that serves a port has no readiness probe, so it gets traffic"
        " before it is ready: 'readinessProbe' is required",
        ("workloads.yaml", 25): "images come only from the company registry: 'image' is"
        " 'registry.acme.io.example.net/logger:1', which does not match '^registry\\.acme\\.io/'",
        ("workloads.yaml", 39): "images come only from the company registry: 'image' is required",
    }
    [missing_image] = [f for f in result.findings if f.location.line == 39]
    assert missing_image.path == ("spec", "jobTemplate", "spec", "template", "spec", "containers", 0)
    assert result.checked == {"ACME002": 3, "ACME003": 3}  # the workloads with a pod template


def test_a_missing_key_points_at_the_object_that_should_hold_it() -> None:
    found = messages(scanned(CASES / "workload"))
    suffix = "workload has no cost-center label of four digits, so its spend is charged to nobody: "
    assert found[("workloads.yaml", 3)] == suffix + "'metadata.labels' is required"
    assert found[("workloads.yaml", 18)] == suffix + "'metadata.labels.cost-center' is required"
    assert (
        found[("workloads.yaml", 35)]
        == suffix + "'metadata.labels.cost-center' is '47-11', which does not match '^[0-9]{4}$'"
    )
    assert found[("workloads.yaml", 50)] == suffix + "'metadata' is required"


def test_kind_targets_with_and_without_api_group() -> None:
    found = messages(scanned(CASES / "kinds"))
    assert found[("objects.yaml", 6)].endswith(": 'spec.revisionHistoryLimit' is 50; it must be at most 5")
    assert found[("objects.yaml", 8)].endswith(": 'spec.strategy.type' must be 'RollingUpdate'")
    assert found[("objects.yaml", 67)].endswith(": 'spec.type' is 'LoadBalancer', which the check forbids")


def test_terraform_unknowns_never_fire_and_known_values_do() -> None:
    found = messages(scanned(CASES / "terraform"))
    assert found[("main.tf", 10)].endswith(": 'tags' is required")
    assert found[("main.tf", 21)].endswith(
        ": 'tags.data-classification' is 'secret', not one of 'public', 'internal', 'confidential', 'restricted'"
    )
    assert (
        found[("main.tf", 50)]
        == "the database can be deleted by one apply: 'deletion_protection' must be true"
    )


# --- suppressions, selection, levels ----------------------------------------------------------------


def test_annotations_comments_and_per_path_ignores_suppress_a_custom_check() -> None:
    result = scanned(CASES / "suppressed")
    suppressed = {
        (Path(f.location.file).name, f.suppression.kind, f.suppression.justification)
        for f in result.findings
        if f.suppression
    }
    assert suppressed == {
        ("annotated.yaml", "inSource", "a cluster add-on, billed to the platform team"),
        ("commented.yaml", "inSource", "the vendor's chart, billed as a whole"),
        (
            "old.yaml",
            "external",
            f"per-path-ignores: legacy/*.yaml in {CASES / 'suppressed' / '.prodready.yaml'}",
        ),
    }
    [unused] = [f for f in result.findings if f.rule.id == "PR004"]
    assert unused.message == "suppression of ACME001 matches no finding; remove it"


def test_a_baseline_accepts_custom_findings(tmp_path) -> None:
    from prodready.suppress import baseline_document

    baseline = tmp_path / "baseline.json"
    baseline.write_text(baseline_document(scanned(CASES / "workload").findings))
    again = scanned(CASES / "workload", baseline=str(baseline))
    assert again.findings and all(f.suppression and f.suppression.kind == "external" for f in again.findings)


def _write_config(directory: Path, settings: str) -> Path:
    """The workload case's check with other settings around it."""
    text = (CASES / "workload" / ".prodready.yaml").read_text().replace("select: [ACME]\n", settings)
    (directory / ".prodready.yaml").write_text(text)
    return directory / ".prodready.yaml"


@pytest.mark.parametrize(
    ("settings", "arguments", "levels"),
    [
        ("", [], ["warning"] * 4),
        ("", ["--select", "ACME"], ["warning"] * 4),
        ("", ["--select", "workload-cost-center"], ["warning"] * 4),
        ("", ["--select", "PR3"], []),
        ("", ["--ignore", "ACME001"], []),
        ("rules: {ACME001: error}\n", ["--select", "ACME"], ["error"] * 4),
        ("rules: {workload-cost-center: off}\n", [], []),
        ("ignore: [ACME]\n", [], []),
    ],
)
def test_select_ignore_and_levels_name_custom_checks(tmp_path, settings, arguments, levels) -> None:
    config = _write_config(tmp_path, settings)
    document = CliRunner().invoke(
        main,
        [
            "scan",
            "--no-cache",
            "--config",
            str(config),
            "--format",
            "json",
            *arguments,
            str(CASES / "workload"),
        ],
    )
    assert document.exit_code in (0, 1), document.output
    found = [f["level"] for f in json.loads(document.stdout)["findings"] if f["rule"] == "ACME001"]
    assert found == levels


# --- definitions that are not checks ----------------------------------------------------------------

CHECK = """\
fail-level: warning
checks:
  ACME001:
    name: workload-cost-center
    level: warning
    section: 3
    target: Workload
    message: workload has no cost-center label
    description: Every workload carries the cost-center label.
    schema:
      required: [metadata]
      properties:
        metadata: {$ref: '#/definitions/labelled'}
      definitions:
        labelled: {required: [labels]}
"""


@pytest.mark.parametrize(
    ("change", "reason"),
    [
        (
            ("target: Workload", "target: deployment"),
            "unknown target 'deployment': expected Container, Workload,",
        ),
        (
            ("target: Workload", "target: Controller"),
            "unknown target 'Controller' (Polaris's Controller is Workload here)",
        ),
        (("    level: warning\n", ""), "'level' is required"),
        (
            ("level: warning\n    section", "level: fatal\n    section"),
            "'level' is 'fatal', not one of 'error', 'warning', 'note'",
        ),
        (("section: 3", "section: 7"), "'section' is 7, not one of 1, 2, 3, 4, 5, 6, 8, 9, 10"),
        (
            ("    description: Every workload carries the cost-center label.\n", ""),
            "'description' is required",
        ),
        (("    message:", "    mesage:"), "'mesage' is not allowed"),
        (
            ("required: [metadata]", "required: metadata"),
            "schema: not a valid JSON Schema: 'required' must be a list",
        ),
        (
            ("required: [labels]}", "required: [labels], pattern: '(unclosed'}"),
            "schema: not a valid JSON Schema: 'definitions.labelled.pattern': '(unclosed' is not a 'regex'",
        ),
        (
            ("'#/definitions/labelled'", "'https://schemas.example.com/labelled.json'"),
            "schema: $ref 'https://schemas.example.com/labelled.json': a check refers only inside itself",
        ),
        (
            ("'#/definitions/labelled'", "'#/definitions/missing'"),
            "schema: $ref '#/definitions/missing' resolves to nothing in the check",
        ),
        (
            (
                "required: [labels]}",
                "required: [labels], properties: {metadata: {$ref: '#/definitions/labelled'}}}",
            ),
            "schema: $ref '#/definitions/labelled' points at a part that holds a $ref itself",
        ),
        (
            ("required: [labels]}", "required: [labels], pattern: '" + "a" * 501 + "'}"),
            "schema: definitions.labelled.pattern: a pattern of 501 characters; at most 500 are allowed",
        ),
        (
            ("    schema:\n", "    schema:\n      $schema: https://json-schema.org/draft/2020-12/schema\n"),
            "schema: $schema 'https://json-schema.org/draft/2020-12/schema': custom checks are JSON Schema draft 7",
        ),
        (
            ("    target: Workload\n", "    target: Workload\n    match: {type: objekt}\n"),
            "match: not a valid JSON Schema",
        ),
        (("ACME001:", "PR301:"), "collides with the built-in rule PR301 single-replica"),
        (("ACME001:", "PR999:"), "IDs that start with PR are reserved for prodready's own rules"),
        (("ACME001:", "acme-1:"), "a check ID is uppercase letters followed by digits, like ACME001"),
        (
            ("name: workload-cost-center", "name: single-replica"),
            "the name 'single-replica' is taken by PR301",
        ),
    ],
)
def test_a_broken_definition_is_a_configuration_error(tmp_path, change, reason) -> None:
    old, new = change
    assert old in CHECK
    config = tmp_path / ".prodready.yaml"
    config.write_text(CHECK.replace(old, new, 1))
    check_id = "ACME001" if "ACME001:" in config.read_text() else new.rstrip(":")
    result = CliRunner().invoke(main, ["scan", "--config", str(config), str(tmp_path)])
    assert result.exit_code == 2
    assert result.exception is None or isinstance(result.exception, SystemExit)
    assert f"prodready: error: configuration: {config}:3: checks: {check_id}: {reason}" in result.stderr


def test_the_check_as_written_is_valid(tmp_path) -> None:
    (tmp_path / ".prodready.yaml").write_text(CHECK)
    assert [meta.id for meta in load(str(tmp_path / ".prodready.yaml")).checks] == ["ACME001"]


def test_a_broken_definition_in_pyproject_names_its_table(tmp_path) -> None:
    pyproject = tmp_path / "pyproject.toml"
    pyproject.write_text(
        '[project]\nname = "x"\n\n[tool.prodready.checks.ACME001]\nname = "x"\nlevel = "warning"\n'
    )
    result = CliRunner().invoke(main, ["scan", "--config", str(pyproject), str(tmp_path)])
    assert result.exit_code == 2
    assert f"{pyproject}:4: checks: ACME001: 'section' is required" in result.stderr


def test_a_second_check_may_not_take_the_name_of_the_first(tmp_path) -> None:
    config = tmp_path / ".prodready.yaml"
    second = CHECK.split("checks:\n")[1].replace("ACME001", "ACME002")
    config.write_text(CHECK + second)
    result = CliRunner().invoke(main, ["scan", "--config", str(config), str(tmp_path)])
    assert result.exit_code == 2
    assert (
        f"{config}:16: checks: ACME002: the name 'workload-cost-center' is taken by ACME001" in result.stderr
    )


# --- rules, explain, SARIF, scorecard ---------------------------------------------------------------


def test_rules_lists_custom_checks_with_their_file() -> None:
    config = CASES / "kinds" / ".prodready.yaml"
    listing = CliRunner().invoke(main, ["rules", "--config", str(config)]).output
    assert "PR201    container-missing-requests" in listing
    custom = listing.split(f"\nCustom checks from {config}:\n")[1].splitlines()
    assert [line.split()[:4] for line in custom] == [
        ["ACME010", "short-revision-history", "note", "§8"],
        ["ACME011", "rolling-update", "warning", "§4"],
        ["ACME012", "no-load-balancer-service", "error", "§10"],
    ]
    assert custom[0].endswith("A Deployment of any API group keeps at most 5 old ReplicaSets for rollbacks.")


def test_explain_prints_the_description_and_the_schema() -> None:
    config = CASES / "container" / ".prodready.yaml"
    explained = CliRunner().invoke(main, ["explain", "acme002", "--config", str(config)])
    assert explained.exit_code == 0
    assert explained.output.startswith(
        "ACME002 company-registry (error, checklist § 10)\n\n"
        "Every container image comes from registry.acme.io, where images are scanned and kept.\n\n"
        "## What it checks\n"
        f"A custom check, defined in {config} at line 3, on each container of every workload (init containers"
        " included): each must satisfy the schema below. A finding says: images come only from the company"
        " registry.\n\n## Schema\n```json\n{\n"
    )
    assert '"pattern": "^registry\\\\.acme\\\\.io/"' in explained.output
    assert CliRunner().invoke(main, ["explain", "ACME002"]).exit_code == 2  # no configuration, no such rule


def test_sarif_carries_custom_checks_and_is_valid(monkeypatch) -> None:
    monkeypatch.chdir(CASES.parent.parent)
    case = Path("fixtures/custom/kinds")
    document = json.loads(render("sarif", scanned(case)))
    assert sorted(jsonschema.Draft4Validator(SARIF_SCHEMA).iter_errors(document), key=str) == []
    run = document["runs"][0]
    rules = run["tool"]["driver"]["rules"]
    assert [rule["id"] for rule in rules] == ["ACME010", "ACME011", "ACME012"]
    [service] = [rule for rule in rules if rule["id"] == "ACME012"]
    assert "helpUri" not in service  # documented by the configuration, not by docs/rules.md
    assert service["shortDescription"]["text"].startswith("Traffic from outside reaches Services only")
    assert "## Schema" in service["help"]["markdown"] and service["properties"]["tags"][1] == "checklist-10"
    assert service["defaultConfiguration"]["level"] == "error"
    assert {rules[r["ruleIndex"]]["id"] for r in run["results"]} == {"ACME010", "ACME011", "ACME012"}


def test_the_scorecard_counts_custom_checks_in_their_section() -> None:
    table = render("scorecard", scanned(CASES / "kinds")).splitlines()
    assert "| 4 | Deployment | 1 | 2 | 0 | 1 | 0 | ⚠️ 1 warning |" in table  # apps/Deployment only
    assert "| 8 | Release | 1 | 3 | 0 | 0 | 2 | ℹ️ 2 notes |" in table  # Deployment in any group
    assert "| 10 | Compliance and security | 1 | 3 | 2 | 0 | 0 | ❌ 2 errors |" in table
