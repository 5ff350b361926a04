"""The GitHub, scorecard and statistics reports, and docs/rules.md with the SARIF links into it."""

import json
import re
from dataclasses import replace
from pathlib import Path
from types import SimpleNamespace

import pytest
from click.testing import CliRunner
from prodready.cli import main
from prodready.model import Finding, Level, Location, Suppression
from prodready.registry import all_rules, find_rule
from prodready.report import render, rules_markdown
from prodready.scan import ScanOptions, scan

DOCS = Path(__file__).parent.parent / "docs" / "rules.md"

DEPLOYMENT = """\
apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
spec:
  replicas: 2
  selector:
    matchLabels: {app: web}
  template:
    metadata:
      labels: {app: web}
    spec:
      containers:
        - name: NAME
          image: registry.example.com/web:1.0.0
          resources:
            requests: {cpu: "2"}
            limits: {cpu: "1"}
"""


def finding(rule: str, level: Level, line: int, message: str = "m") -> Finding:
    return Finding(
        rule=find_rule(rule),
        level=level,
        message=message,
        location=Location("deploy/web.yaml", line, 3),
        related=(),
        fingerprint=f"{rule}{line}",
    )


def result_of(findings, rules=(), checked=None):
    """What the reports read of a scan result, without running a scan."""
    return SimpleNamespace(
        findings=findings,
        notifications=[],
        rules=[find_rule(r) for r in rules],
        files=1,
        resources=1,
        checked=checked or {},
    )


def scanned(tmp_path, monkeypatch, select, name="web", directory="deploy"):
    monkeypatch.chdir(tmp_path)
    (tmp_path / directory).mkdir()
    (tmp_path / directory / "web.yaml").write_text(DEPLOYMENT.replace("NAME", name))
    return scan([directory], ScanOptions(select=select))


# --format github


def test_github_escapes_as_the_actions_toolkit_does(tmp_path, monkeypatch):
    result = scanned(
        tmp_path, monkeypatch, ["PR202"], name='"a%b\\r\\nc:d,e\\e[31m"', directory="we:ird,dir%"
    )
    assert render("github", result) == (
        "::warning file=we%3Aird%2Cdir%25/web.yaml,line=14,col=11,title=PR202 container-missing-memory-limit"
        "::container 'a%25b%0D%0Ac:d,e\\x1b[31m' has no memory limit\n"
    )


def test_github_levels_become_error_warning_and_notice():
    findings = [
        finding("PR204", Level.ERROR, 1),
        finding("PR202", Level.WARNING, 2),
        finding("PR212", Level.NOTE, 3),
    ]
    assert render("github", result_of(findings)) == (
        "::error file=deploy/web.yaml,line=1,col=3,title=PR204 requests-exceed-limits::m\n"
        "::warning file=deploy/web.yaml,line=2,col=3,title=PR202 container-missing-memory-limit::m\n"
        "::notice file=deploy/web.yaml,line=3,col=3,title=PR212 identical-liveness-readiness::m\n"
    )


def test_github_shows_ten_of_each_kind_and_summarises_the_rest():
    findings = sorted(
        [finding("PR204", Level.ERROR, line) for line in range(1, 4)]
        + [finding("PR202", Level.WARNING, line) for line in range(1, 13)]
        + [finding("PR212", Level.NOTE, line) for line in range(1, 11)],
        key=lambda f: f.sort_key,
    )
    lines = render("github", result_of(findings)).splitlines()
    assert [line.split(" ", 1)[0] for line in lines[:-1]].count("::error") == 3
    assert [line.split(" ", 1)[0] for line in lines[:-1]].count("::warning") == 10
    # nine notices, so that the summary is the tenth notice GitHub shows
    assert [line.split(" ", 1)[0] for line in lines[:-1]].count("::notice") == 9
    assert lines[-1] == (
        "::notice::prodready: 3 more findings (2 warnings, 1 notice) not shown as annotations;"
        " see the SARIF or text report"
    )
    assert "line=11," not in "\n".join(lines) and "line=10,col=3,title=PR202" in "\n".join(lines)


def test_github_ten_of_each_kind_need_no_summary():
    findings = [
        finding(rule, level, line)
        for rule, level in (("PR204", Level.ERROR), ("PR202", Level.WARNING), ("PR212", Level.NOTE))
        for line in range(1, 11)
    ]
    lines = render("github", result_of(findings)).splitlines()
    assert len(lines) == 30 and not any(line.startswith("::notice::") for line in lines)


def test_suppressed_findings_neither_show_nor_count():
    suppressed = Suppression("inSource", "accepted")
    findings = [
        finding("PR202", Level.WARNING, 1),
        replace(finding("PR204", Level.ERROR, 2), suppression=suppressed),
    ]
    result = result_of(findings, rules=["PR202", "PR204"], checked={"PR202": 1, "PR204": 1})
    assert render("github", result).count("\n") == 1 and "PR204" not in render("github", result)
    assert "PR204" not in render("statistics", result)
    assert "| 4 | Deployment | 2 | 2 | 0 | 1 | 0 | ⚠️ 1 warning |" in render("scorecard", result)


def test_findings_suppressed_by_annotation_are_left_out(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "web.yaml").write_text(
        DEPLOYMENT.replace("NAME", "web").replace(
            "  name: web\n", '  name: web\n  annotations: {prodready.io/ignore: "PR202"}\n', 1
        )
    )
    result = scan(["web.yaml"], ScanOptions(select=["PR201", "PR202"]))
    assert any(finding.suppression for finding in result.findings)
    assert render("statistics", result) == "1  PR201  container-missing-requests  warning\n"
    assert "PR202" not in render("github", result) and "PR201" in render("github", result)


# --format scorecard


def test_scorecard_sections_and_verdicts(tmp_path, monkeypatch):
    result = scanned(tmp_path, monkeypatch, ["PR201", "PR204", "PR406", "PR150"])
    lines = render("scorecard", result).splitlines()
    assert lines[0] == "# prodready scorecard"
    assert lines[2] == "**❌ 1 error, 1 warning** in 1 file, 1 resource; 4 rules ran."
    table = [line for line in lines if re.match(r"\| \d+ \|", line)]
    assert table == [
        "| 1 | Alerts and metrics | 1 | 0 | 0 | 0 | 0 | ➖ nothing to check |",
        "| 2 | Dashboards, SOPs, runbooks | – | – | – | – | – | ➖ no rules selected |",
        "| 3 | On-call and escalation | – | – | – | – | – | ➖ no rules selected |",
        "| 4 | Deployment | 2 | 2 | 1 | 1 | 0 | ❌ 1 error, 1 warning |",
        "| 5 | Observability and tracing | – | – | – | – | – | ➖ no rules selected |",
        "| 6 | Load tests and capacity | 1 | 1 | 0 | 1 | 0 | ⚠️ 1 warning |",
        "| 7 | Quality | – | – | – | – | – | ➖ not statically checkable |",
        "| 8 | Release | 1 | 1 | 0 | 0 | 0 | ✅ no findings |",
        "| 9 | Disaster recovery | – | – | – | – | – | ➖ no rules selected |",
        "| 10 | Compliance and security | – | – | – | – | – | ➖ no rules selected |",
        "| 11 | Documentation | – | – | – | – | – | ➖ not statically checkable |",
    ]
    assert (
        "**§ 4 Deployment** (❌ 1 error, 1 warning): `PR201` container-missing-requests, `PR204` requests-exceed-limits"
        in lines
    )
    assert "rule checks" in lines[4] and any("*Rule checks*" in line for line in lines)


def test_scorecard_without_findings_says_so():
    result = result_of([], rules=["PR202"], checked={"PR202": 3})
    assert (
        render("scorecard", result).splitlines()[2] == "**✅ no findings** in 1 file, 1 resource; 1 rule ran."
    )


# --statistics


def test_statistics_counts_by_rule_most_first():
    findings = [finding("PR202", Level.WARNING, line) for line in range(1, 4)] + [
        finding("PR204", Level.ERROR, 1),
        finding("PR201", Level.WARNING, 1),
        finding("PR201", Level.NOTE, 2),  # a rule may lower some of its findings
        finding("PR212", Level.NOTE, 1),
    ]
    assert render("statistics", result_of(findings)) == (
        "3  PR202  container-missing-memory-limit  warning\n"
        "2  PR201  container-missing-requests      warning/note\n"
        "1  PR204  requests-exceed-limits          error\n"
        "1  PR212  identical-liveness-readiness    note\n"
    )
    assert render("statistics", result_of([])) == ""


def test_statistics_flag_replaces_any_format_and_keeps_the_exit_status(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "deploy").mkdir()
    (tmp_path / "deploy" / "web.yaml").write_text(DEPLOYMENT.replace("NAME", "web"))
    runner = CliRunner()
    text = runner.invoke(main, ["scan", "deploy", "--select", "PR201,PR202,PR204", "--statistics"])
    assert text.exit_code == 1
    assert text.stdout == (
        "1  PR201  container-missing-requests      warning\n"
        "1  PR202  container-missing-memory-limit  warning\n"
        "1  PR204  requests-exceed-limits          error\n"
    )
    as_json = runner.invoke(
        main, ["scan", "deploy", "--select", "PR201,PR202,PR204", "--statistics", "--format", "json"]
    )
    assert as_json.stdout == text.stdout and as_json.exit_code == 1


def test_github_and_scorecard_are_formats_of_the_cli(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "deploy").mkdir()
    (tmp_path / "deploy" / "web.yaml").write_text(DEPLOYMENT.replace("NAME", "web"))
    github = CliRunner().invoke(main, ["scan", "deploy", "--select", "PR204", "--format", "github"])
    assert github.exit_code == 1 and github.stdout.startswith("::error file=deploy/web.yaml,line=17,")
    scorecard = CliRunner().invoke(main, ["scan", "deploy", "--select", "PR204", "--format", "scorecard"])
    assert scorecard.exit_code == 1 and scorecard.stdout.startswith("# prodready scorecard\n")


# docs/rules.md and SARIF helpUri


def test_docs_rules_md_is_up_to_date():
    fresh = rules_markdown.render(all_rules())
    assert DOCS.read_text(encoding="utf-8") == fresh, (
        "docs/rules.md is stale: regenerate it with `prodready rules --format markdown > docs/rules.md`"
    )
    assert CliRunner().invoke(main, ["rules", "--format", "markdown"]).stdout == fresh


def test_docs_rules_md_documents_every_rule():
    text = DOCS.read_text(encoding="utf-8")
    for meta in all_rules():
        assert f"\n## {meta.id} {meta.name}\n" in text
    assert "off by default (warning when enabled)" in text  # PR203


@pytest.mark.parametrize(
    "heading, anchor",
    [
        ("PR201 container-missing-requests", "pr201-container-missing-requests"),
        ("What it checks?", "what-it-checks"),
        ("Disaster recovery (§ 9), backups", "disaster-recovery--9-backups"),
    ],
)
def test_slug_is_githubs(heading, anchor):
    assert rules_markdown.slug(heading) == anchor


def test_sarif_rules_link_to_their_heading_in_docs(tmp_path, monkeypatch):
    result = scanned(tmp_path, monkeypatch, ["PR2", "PR406"])
    rules = json.loads(render("sarif", result))["runs"][0]["tool"]["driver"]["rules"]
    anchors = {
        rules_markdown.slug(heading) for heading in re.findall(r"^## (.+)$", DOCS.read_text(), re.MULTILINE)
    }
    assert rules
    for rule in rules:
        url, _, anchor = rule["helpUri"].partition("#")
        assert url == "https://github.com/prodready/prodready/blob/main/docs/rules.md"
        assert anchor == f"{rule['id'].lower()}-{rule['name']}" and anchor in anchors
