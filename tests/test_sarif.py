"""SARIF output: valid against the published 2.1.0 schema, repository-relative, stable fingerprints."""

import json
from pathlib import Path

import jsonschema
import pytest
from prodready.report import render
from prodready.scan import ScanOptions, scan

SCHEMA = json.loads((Path(__file__).parent / "data" / "sarif-schema-2.1.0.json").read_text())
FIXTURES = Path(__file__).parent.parent / "fixtures"


def sarif_of(paths, **options):
    return json.loads(render("sarif", scan([str(p) for p in paths], ScanOptions(**options))))


def test_every_fixture_gives_schema_valid_sarif(monkeypatch):
    monkeypatch.chdir(FIXTURES.parent)
    document = sarif_of([Path("fixtures")])
    errors = sorted(jsonschema.Draft4Validator(SCHEMA).iter_errors(document), key=str)
    assert errors == []
    run = document["runs"][0]
    assert document["$schema"].endswith("sarif-schema-2.1.0.json")
    assert run["tool"]["driver"]["name"] == "prodready"
    rules = run["tool"]["driver"]["rules"]
    assert run["results"], "the fixtures must produce results"
    for result in run["results"]:
        assert rules[result["ruleIndex"]]["id"] == result["ruleId"]
        assert result["level"] in ("error", "warning", "note")
        for location in result["locations"] + result.get("relatedLocations", []):
            uri = location["physicalLocation"]["artifactLocation"]["uri"]
            assert uri.startswith("fixtures/") and ".." not in uri and "://" not in uri
            region = location["physicalLocation"]["region"]
            assert region["startLine"] >= 1 and region["startColumn"] >= 1
        assert len(result["partialFingerprints"]["prodready/v1"]) == 32


def test_rule_metadata_is_complete():
    document = sarif_of([FIXTURES / "PR204"], select=["PR204"])
    [rule] = document["runs"][0]["tool"]["driver"]["rules"]
    assert rule["id"] == "PR204" and rule["name"] == "requests-exceed-limits"
    assert rule["defaultConfiguration"]["level"] == "error"
    assert rule["shortDescription"]["text"] and rule["fullDescription"]["text"]
    assert "## Fix" in rule["help"]["markdown"] and rule["help"]["text"]
    assert rule["properties"] == {"tags": ["production-readiness", "checklist-4"], "precision": "high"}
    assert "ruleIndex" in document["runs"][0]["results"][0]


def test_no_attrs_sentinels_leak():
    text = render("sarif", scan([str(FIXTURES / "PR204")], ScanOptions(select=["PR204"])))
    assert "-1" not in text and "null" not in text


def test_fingerprints_survive_lines_inserted_above(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    original = (FIXTURES / "PR201" / "fire.yaml").read_text()
    Path("m.yaml").write_text(original)
    before = sarif_of([Path("m.yaml")], select=["PR201"])["runs"][0]["results"]
    Path("m.yaml").write_text("# a comment\n# and another\n" + original)
    after = sarif_of([Path("m.yaml")], select=["PR201"])["runs"][0]["results"]
    assert [r["partialFingerprints"] for r in before] == [r["partialFingerprints"] for r in after]

    def lines(results):
        return [r["locations"][0]["physicalLocation"]["region"]["startLine"] for r in results]

    assert [line + 2 for line in lines(before)] == lines(after)
    assert len({json.dumps(r["partialFingerprints"]) for r in before}) == len(before)


@pytest.mark.parametrize("name", ["<stdin>", "dir with space/m.yaml"])
def test_uris_are_encoded(name):
    from prodready.report.sarif import artifact_uri

    assert " " not in artifact_uri(name) and "<" not in artifact_uri(name)


def test_results_stay_within_github_limits(monkeypatch):
    """GitHub rejects more than 25,000 results per run; the most severe are kept and the rest counted."""
    import prodready.report.sarif as sarif_report

    monkeypatch.setattr(sarif_report, "MAX_RESULTS", 2)
    document = sarif_of([FIXTURES / "PR204", FIXTURES / "PR201"], select=["PR201", "PR204"])
    run = document["runs"][0]
    assert [r["level"] for r in run["results"]] == ["error", "error"]
    notes = [n["message"]["text"] for n in run["invocations"][0]["toolExecutionNotifications"]]
    assert any("less severe findings were left out" in note for note in notes)
    for rule in run["tool"]["driver"]["rules"]:
        assert len(rule["properties"]["tags"]) <= 20
