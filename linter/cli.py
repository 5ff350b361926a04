"""The `prodready` command. Heavy modules are imported inside the commands, so `--version` and `--help`
start fast enough for a pre-commit hook."""

from __future__ import annotations

import os
import sys
import tempfile
from typing import TYPE_CHECKING, NoReturn

import click
from prodready import DEFAULT_MAX_FILE_SIZE_MB, __version__

if TYPE_CHECKING:
    from prodready.config import Config

EXIT_CLEAN, EXIT_FINDINGS, EXIT_ERROR = 0, 1, 2
MAX_FILE_SIZE_MB = 2**20  # a terabyte: any larger limit is no limit


def _codes(values: tuple[str, ...]) -> list[str]:
    """`--select PR301,PR304 --select PR2` → ["PR301", "PR304", "PR2"]."""
    return [code.strip() for value in values for code in value.split(",") if code.strip()]


def _write_atomically(path: str, text: str) -> None:
    """Write the whole report or nothing: an upload step never sees a truncated file."""
    directory = os.path.dirname(os.path.abspath(path))
    handle, temporary = tempfile.mkstemp(dir=directory, prefix=".prodready-", suffix=".tmp")
    try:
        with os.fdopen(handle, "w", encoding="utf-8") as stream:
            stream.write(text)
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(temporary, 0o666 & ~umask)  # mkstemp makes it private; a report is an ordinary file
        os.replace(temporary, path)
    except BaseException:
        if os.path.exists(temporary):
            os.unlink(temporary)
        raise


def _fail(message: str) -> NoReturn:
    click.echo(f"prodready: error: {message}", err=True)
    sys.exit(EXIT_ERROR)


class _Progress:
    """`scanning 120/1,249 files` on stderr, only when stderr is a terminal."""

    def __init__(self, enabled: bool) -> None:
        self.enabled = enabled
        self.shown = False

    def __call__(self, done: int, total: int) -> None:
        if self.enabled and total >= 50 and (done % 25 == 0 or done == total):
            click.echo(f"\rscanning {done:,}/{total:,} files", err=True, nl=False)
            self.shown = True

    def clear(self) -> None:
        if self.shown:
            click.echo("\r\033[K", err=True, nl=False)


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="prodready")
def main() -> None:
    """prodready: find what will hurt in production before it merges.

    Reads Kubernetes manifests (plain YAML, `helm template` and `kustomize build` output) and Terraform,
    and reports missing requests, limits and probes, single replicas, missing disruption budgets,
    autoscalers that cannot work, unschedulable GPU pods, databases without backups or Multi-AZ,
    unencrypted storage, missing alarms and more. Offline: nothing is fetched, nothing is executed.

    \b
    Start with:
      prodready scan deploy/                 scan files and directories
      helm template ./chart | prodready scan -
      prodready rules                        list every rule
      prodready explain PR313                what a rule checks and how to fix it
    """


def _scan_options(command):
    """The options that choose what is scanned and how, shared by `scan` and `baseline create`."""
    options = [
        click.argument("paths", nargs=-1, type=click.Path(allow_dash=True)),
        click.option(
            "--select",
            multiple=True,
            metavar="CODES",
            help="Run only these rules: IDs (PR301), ID prefixes (PR3) or names, comma-separated. Naming a rule exactly also runs a rule that is off by default.",
        ),
        click.option(
            "--ignore",
            multiple=True,
            metavar="CODES",
            help="Do not run these rules (IDs, prefixes or names).",
        ),
        click.option(
            "--config",
            "config_file",
            type=click.Path(exists=True, dir_okay=False),
            help="Use this configuration file instead of the .prodready.yaml or pyproject.toml [tool.prodready] found above the scanned paths.",
        ),
        click.option("--isolated", is_flag=True, help="Ignore configuration files."),
        click.option(
            "--max-file-size",
            type=click.FloatRange(min=0, max=MAX_FILE_SIZE_MB, min_open=True),
            default=None,
            metavar="MB",
            help=f"Files, and rendered charts and kustomizations, larger than this are reported (PR001), not read.  [default: {DEFAULT_MAX_FILE_SIZE_MB}]",
        ),
        click.option(
            "--var-file",
            "var_files",
            multiple=True,
            type=click.Path(exists=True, dir_okay=False),
            help="Terraform variable values (like terraform plan -var-file); repeatable, later files win.",
        ),
        click.option(
            "-j",
            "--jobs",
            type=click.IntRange(min=1),
            default=None,
            help="Parse Terraform in this many processes, and run this many helm or kustomize renders at once.  [default: all cores]",
        ),
        click.option(
            "--no-cache",
            is_flag=True,
            help="Parse and instantiate Terraform and render every chart and kustomization again instead of using the caches.",
        ),
        click.option(
            "--helm-values",
            "helm_values",
            multiple=True,
            type=click.Path(exists=True, dir_okay=False),
            metavar="FILE",
            help="Render every chart with this values file too (like helm template -f); repeatable, later files win.",
        ),
        click.option(
            "--helm-set",
            "helm_set",
            multiple=True,
            metavar="KEY=VALUE",
            help="Render every chart with this value (like helm template --set); repeatable.",
        ),
        click.option(
            "--helm-ci-values",
            is_flag=True,
            help="Also render each chart with each of its ci/*-values.yaml (chart-testing's variants); a finding several variants share is reported once.",
        ),
        click.option(
            "--chart-root",
            "chart_roots",
            multiple=True,
            type=click.Path(exists=True, file_okay=False),
            help="Where to look for the Helm charts and Kustomize bases that rendered input came from (besides the scanned directories and the current one); repeatable.",
        ),
        click.option(
            "--unit-context",
            is_flag=True,
            help="Report findings only in the FILES given, checking each together with the other files of its directory (its unit), so an HPA in another file still counts. The pre-commit hook uses this.",
        ),
        click.option(
            "--changed-since",
            metavar="REF",
            help="Report findings only in files changed since the git REF (renames followed), each checked with its unit as context: the pull-request mode.",
        ),
        click.option(
            "-q", "--quiet", is_flag=True, help="Print findings only: no summary line, notes or progress."
        ),
    ]
    for option in reversed(options):
        command = option(command)
    return command


def _changed_files(reference: str, paths: list[str]) -> list[str]:
    """Files changed since `reference` (committed, staged or not), under `paths`, as paths from here."""
    import subprocess

    def git(*arguments: str) -> str:
        try:
            completed = subprocess.run(["git", *arguments], capture_output=True, text=True, check=True)
        except FileNotFoundError:
            _fail("--changed-since needs git, and git was not found")
        except subprocess.CalledProcessError as error:
            _fail(f"git {' '.join(arguments)}: {error.stderr.strip() or 'failed'}")
        return completed.stdout

    top = git("rev-parse", "--show-toplevel").strip()
    names = git("diff", "--name-only", "--find-renames", "--diff-filter=d", reference, "--").splitlines()
    names += git("ls-files", "--others", "--exclude-standard", "--full-name", top).splitlines()
    roots = [os.path.abspath(p) for p in paths if p != "-"] or [os.getcwd()]
    changed = []
    for name in dict.fromkeys(names):
        absolute = os.path.join(top, name)
        if any(absolute == root or absolute.startswith(root + os.sep) for root in roots):
            changed.append(os.path.relpath(absolute))
    return changed


def _run_scan(
    paths,
    select,
    ignore,
    config_file,
    isolated,
    max_file_size,
    var_files,
    jobs,
    no_cache,
    chart_roots,
    helm_values,
    helm_set,
    helm_ci_values,
    unit_context,
    changed_since,
    quiet,
    baseline=None,
):
    """Configuration, then the scan, with every error a user can cause turned into a message and exit 2."""
    from prodready.config import Config, ConfigError, discover_config, load
    from prodready.discover import UsageError
    from prodready.registry import UnknownRule
    from prodready.report import escape_control
    from prodready.scan import ScanOptions
    from prodready.scan import scan as run_scan
    from prodready.suppress import BaselineError

    paths = list(paths) or ["."]
    try:
        config = Config() if isolated else load(config_file) if config_file else discover_config(paths)
    except ConfigError as error:
        _fail(f"configuration: {error}")
    report_files = None
    if changed_since:
        report_files = _changed_files(changed_since, paths)
    elif unit_context:
        report_files = [p for p in paths if p != "-" and not os.path.isdir(p)]
    options = ScanOptions(
        select=_codes(select),
        ignore=_codes(ignore),
        max_file_size=int(max_file_size * 2**20) if max_file_size else None,
        var_files=list(var_files),
        jobs=jobs or os.cpu_count() or 1,
        cache=not no_cache,
        chart_roots=list(chart_roots),
        helm_values=[
            *(
                os.path.relpath(os.path.join(config.directory, path))
                for path in config.get("helm-values", [])
            ),
            *helm_values,
        ],
        helm_set=[*config.get("helm-set", []), *helm_set],
        helm_ci_values=helm_ci_values or config.get("helm-ci-values", False),
        helm_charts=config.chart_values(),
        config=config,
        baseline=baseline,
        report_files=report_files,
    )
    progress = _Progress(enabled=not quiet and sys.stderr.isatty())
    try:
        result = run_scan(paths, options, stdin=sys.stdin.buffer.read, progress=progress)
    except UnknownRule as error:
        _fail(f"unknown rule '{error}' (see `prodready rules`)")
    except UsageError as error:
        _fail(str(error))
    except BaselineError as error:
        _fail(f"baseline: {error}")
    progress.clear()
    if not quiet:
        for notification in result.notifications:
            click.echo(f"prodready: note: {escape_control(notification.message)}", err=True)
    return result, config


@main.command()
@_scan_options
@click.option(
    "--format",
    "output_format",
    type=click.Choice(["text", "json", "sarif", "github", "scorecard"]),
    default="text",
    show_default=True,
    help="text for people, json for scripts, sarif for GitHub code scanning, github for annotations from a GitHub "
    "Actions step, scorecard for Markdown by checklist section (for $GITHUB_STEP_SUMMARY).",
)
@click.option(
    "-o",
    "--output",
    type=click.Path(dir_okay=False, writable=True),
    help="Write the report to FILE (atomically) instead of stdout.",
)
@click.option(
    "--fail-level",
    type=click.Choice(["error", "warning", "note"]),
    default=None,
    help="Exit with 1 when a finding has this level or a higher one.  [default: warning]",
)
@click.option(
    "--color",
    type=click.Choice(["auto", "always", "never"]),
    default="auto",
    show_default=True,
    help="Colour text output; auto: only on a terminal.",
)
@click.option(
    "--statistics",
    is_flag=True,
    help="Print how many findings each rule made (most first) instead of the findings; replaces the report of any --format. The exit status is unchanged.",
)
@click.option(
    "--baseline",
    type=click.Path(exists=True, dir_okay=False),
    help="Report only findings that are not in this baseline (see `prodready baseline create`).",
)
@click.option(
    "--show-suppressed", is_flag=True, help="Also print suppressed findings in text output, with the reason."
)
def scan(
    output_format, output, fail_level, color, statistics, baseline, show_suppressed, **scan_arguments
) -> None:
    """Scan manifests, charts, Kustomize trees and Terraform, and report what is not production-ready.

    PATHS are files and directories, or - for standard input (YAML). Directories are searched
    recursively; hidden directories are skipped. Without PATHS, the current directory is scanned.

    \b
    - Kubernetes manifests: .yaml, .yml, .json.
    - A directory holding Chart.yaml is a Helm chart, rendered offline with
      your helm (or in-process with prodready[helm] where there is no helm);
      findings point at the values key or the template line.
    - A kustomization that no other scanned one uses is a root, built with
      kustomize or kubectl kustomize; findings point at the patch,
      kustomization or base line.
    - Terraform: .tf, .tfvars; each directory is a module. Module calls are
      instantiated with the caller's arguments, per count/for_each instance;
      findings about a called module point at the caller's argument or call.

    `helm template` or `kustomize build` output piped in points back at the chart's templates (found
    below the scanned directories, the current directory or --chart-root) or at the origin files.

    Settings come from .prodready.yaml or [tool.prodready] in pyproject.toml, the closest one above the
    scanned paths (see `prodready config`); options given here win.

    \b
    Examples:
      prodready scan deploy/
      prodready scan charts/ overlays/ --helm-ci-values
      helm template ./chart | prodready scan -
      kubectl kustomize overlays/prod | prodready scan - --format sarif -o prodready.sarif
      prodready scan k8s/ --select PR3 --ignore PR305 --fail-level error
      prodready scan infra/ --var-file prod.tfvars
      prodready scan --changed-since origin/main

    \b
    Exit status:
      0  no finding at or above --fail-level
      1  findings at or above --fail-level
      2  usage or configuration error, or input that could not be read (PR001)
    """
    from prodready.model import INVALID_INPUT, Level
    from prodready.report import render

    result, config = _run_scan(baseline=baseline, **scan_arguments)
    quiet = scan_arguments["quiet"]
    to_terminal = output is None and sys.stdout.isatty()
    colored = color == "always" or (color == "auto" and to_terminal and "NO_COLOR" not in os.environ)
    report = render(
        "statistics" if statistics else output_format, result, color=colored, show_suppressed=show_suppressed
    )
    if quiet and output_format == "text" and not statistics:
        report = "".join(line for line in report.splitlines(keepends=True)[:-1])
    if output:
        try:
            _write_atomically(output, report)
        except OSError as error:
            _fail(f"cannot write {output}: {error.strerror or error}")
    else:
        click.echo(report, nl=False)

    threshold = Level.parse(fail_level or config.get("fail-level", "warning"))
    counted = [finding for finding in result.findings if finding.suppression is None]
    if any(finding.rule.id == INVALID_INPUT for finding in counted):
        sys.exit(EXIT_ERROR)
    sys.exit(EXIT_FINDINGS if any(finding.level >= threshold for finding in counted) else EXIT_CLEAN)


@main.group()
def baseline() -> None:
    """Accept today's findings so that only new ones are reported."""


@baseline.command("create")
@_scan_options
@click.option(
    "-o",
    "--output",
    type=click.Path(dir_okay=False, writable=True),
    default=".prodready-baseline.json",
    show_default=True,
    help="Where to write the baseline.",
)
def create_baseline(output, **scan_arguments) -> None:
    """Record the current findings by fingerprint. `prodready scan --baseline FILE` then reports only
    findings that are not in it; fingerprints do not change when unrelated lines move."""
    from prodready.suppress import baseline_document

    result, _ = _run_scan(**scan_arguments)
    try:
        _write_atomically(output, baseline_document(result.findings))
    except OSError as error:
        _fail(f"cannot write {output}: {error.strerror or error}")
    accepted = sum(1 for finding in result.findings if finding.suppression is None)
    click.echo(f"Recorded {accepted:,} findings in {output}.", err=True)


@main.command("config")
@click.argument("paths", nargs=-1, type=click.Path())
@click.option(
    "--config",
    "config_file",
    type=click.Path(exists=True, dir_okay=False),
    help="Use this configuration file.",
)
def config_command(paths, config_file) -> None:
    """Print the effective configuration for PATHS and where each value comes from: the configuration
    file found above them (or given), else the defaults, every rule option included."""
    import json

    from prodready.config import ConfigError, discover_config, load
    from prodready.registry import all_options

    try:
        config = load(config_file) if config_file else discover_config(list(paths) or ["."])
    except ConfigError as error:
        _fail(f"configuration: {error}")
    source = config.path or "(no configuration file)"
    click.echo(f"# configuration file: {source}")
    defaults = {
        "select": [],
        "ignore": [],
        "fail-level": "warning",
        "rules": {},
        "per-path-ignores": {},
        "exclude": [],
        "max-file-size": DEFAULT_MAX_FILE_SIZE_MB,
        "helm-values": [],
        "helm-set": [],
        "helm-ci-values": False,
        "charts": {},
        "unrendered-templates": "note",
    }
    for key, default in defaults.items():
        value, origin = (config.settings[key], source) if key in config.settings else (default, "default")
        click.echo(f"{key}: {json.dumps(value)}  # {origin}")
    configured = config.settings.get("options", {})
    click.echo("options:")
    for option in all_options():
        value, origin = (
            (configured[option.name], source) if option.name in configured else (option.default, "default")
        )
        click.echo(f"  {option.name}: {json.dumps(value)}  # {origin}")


def _checks_option(command):
    return click.option(
        "--config",
        "config_file",
        type=click.Path(exists=True, dir_okay=False),
        help="Take the custom checks from this configuration file instead of the one found above the current directory.",
    )(command)


def _checks_config(config_file: str | None) -> Config:
    """The configuration given, or found above the current directory: its custom checks are rules too."""
    from prodready.config import ConfigError, discover_config, load

    try:
        return load(config_file) if config_file else discover_config(["."])
    except ConfigError as error:
        _fail(f"configuration: {error}")


@main.command()
@click.option(
    "--format",
    "output_format",
    type=click.Choice(["text", "markdown"]),
    default="text",
    show_default=True,
    help="text: a table; markdown: every rule's documentation (docs/rules.md is this output).",
)
@_checks_option
def rules(output_format, config_file) -> None:
    """List every rule: ID, name, level and checklist section; then the custom checks of the
    configuration, with the file that defines them."""
    from prodready.registry import all_rules

    config = _checks_config(config_file)
    metas = all_rules() + config.checks
    if output_format == "markdown":
        from prodready.report import rules_markdown

        click.echo(rules_markdown.render(metas), nl=False)
        return
    id_width = max(len(meta.id) for meta in metas) + 1
    width = max(len(meta.name) for meta in metas)

    def line(meta) -> str:
        level = str(meta.level) if meta.default_on else f"off ({meta.level})"
        section = f"§{meta.section}" if meta.section else "-"
        return f"{meta.id:<{id_width}} {meta.name:<{width}} {level:<18} {section:<8} {meta.summary}"

    click.echo(f"{'ID':<{id_width}} {'NAME':<{width}} {'LEVEL':<18} SECTION  SUMMARY")
    for meta in all_rules():
        click.echo(line(meta))
    if config.checks:
        click.echo(f"\nCustom checks from {config.path}:")
        for meta in config.checks:
            click.echo(line(meta))


@main.command()
@click.argument("rule")
@_checks_option
def explain(rule: str, config_file: str | None) -> None:
    """Print what RULE (an ID such as PR313, or a name; a custom check of the configuration too) checks,
    why, and how to fix it."""
    from prodready.registry import find_rule

    meta = find_rule(rule, _checks_config(config_file).checks)
    if meta is None:
        _fail(f"unknown rule '{rule}' (see `prodready rules`)")
    level = str(meta.level) if meta.default_on else f"off by default; {meta.level} when enabled"
    section = f", checklist § {meta.section}" if meta.section else ""
    click.echo(f"{meta.id} {meta.name} ({level}{section})\n\n{meta.doc}")
