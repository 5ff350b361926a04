"""The `prodready` command. Heavy modules are imported inside the commands, so `--version` and `--help`
start fast enough for a pre-commit hook."""

from __future__ import annotations

import os
import sys
import tempfile

import click

from prodready import __version__

EXIT_CLEAN, EXIT_FINDINGS, EXIT_ERROR = 0, 1, 2


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
        os.replace(temporary, path)
    except BaseException:
        if os.path.exists(temporary):
            os.unlink(temporary)
        raise


def _fail(message: str) -> None:
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


@main.command()
@click.argument("paths", nargs=-1, type=click.Path(allow_dash=True))
@click.option(
    "--format", "output_format", type=click.Choice(["text", "json", "sarif"]), default="text", show_default=True,
    help="text for people, json for scripts, sarif for GitHub code scanning.",
)
@click.option("-o", "--output", type=click.Path(dir_okay=False, writable=True), help="Write the report to FILE (atomically) instead of stdout.")
@click.option("--select", multiple=True, metavar="CODES", help="Run only these rules: IDs (PR301), ID prefixes (PR3) or names, comma-separated. Naming a rule exactly also runs a rule that is off by default.")
@click.option("--ignore", multiple=True, metavar="CODES", help="Do not run these rules (IDs, prefixes or names).")
@click.option(
    "--fail-level", type=click.Choice(["error", "warning", "note"]), default="warning", show_default=True,
    help="Exit with 1 when a finding has this level or a higher one.",
)
@click.option("--color", type=click.Choice(["auto", "always", "never"]), default="auto", show_default=True, help="Colour text output; auto: only on a terminal.")
@click.option("-q", "--quiet", is_flag=True, help="Print findings only: no summary line, notes or progress.")
@click.option("--max-file-size", type=click.FloatRange(min=0, min_open=True), default=50, show_default=True, metavar="MB", help="Files larger than this are reported (PR001), not read.")
@click.option("--var-file", "var_files", multiple=True, type=click.Path(exists=True, dir_okay=False), help="Terraform variable values (like terraform plan -var-file); repeatable, later files win.")
@click.option("-j", "--jobs", type=click.IntRange(min=1), default=None, help="Parse in this many processes.  [default: all cores]")
@click.option("--no-cache", is_flag=True, help="Parse every Terraform file again instead of using the parse cache.")
@click.option("--chart-root", "chart_roots", multiple=True, type=click.Path(exists=True, file_okay=False), help="Where to look for the Helm charts and Kustomize bases that rendered input came from (besides the scanned directories and the current one); repeatable.")
def scan(paths, output_format, output, select, ignore, fail_level, color, quiet, max_file_size, var_files, jobs, no_cache, chart_roots) -> None:
    """Scan manifests and report what is not production-ready.

    PATHS are files and directories, or - for standard input (YAML). Directories are searched
    recursively for Kubernetes manifests (.yaml, .yml, .json) and Terraform (.tf, .tfvars; each directory
    is one module); hidden directories are skipped. Without PATHS, the current directory is scanned. A
    directory holding Chart.yaml is a Helm chart: its templates/ are scanned only once rendered.

    \b
    Examples:
      prodready scan deploy/
      helm template ./chart | prodready scan -
      kubectl kustomize overlays/prod | prodready scan - --format sarif -o prodready.sarif
      prodready scan k8s/ --select PR3 --ignore PR305 --fail-level error
      prodready scan infra/ --var-file prod.tfvars

    \b
    Exit status:
      0  no finding at or above --fail-level
      1  findings at or above --fail-level
      2  usage error, or input that could not be read (PR001)
    """
    from prodready.discover import UsageError
    from prodready.model import Level
    from prodready.report import render
    from prodready.scan import ScanOptions, UnknownRule
    from prodready.scan import scan as run_scan

    options = ScanOptions(
        select=_codes(select),
        ignore=_codes(ignore),
        max_file_size=int(max_file_size * 2**20),
        var_files=list(var_files),
        jobs=jobs or os.cpu_count() or 1,
        cache=not no_cache,
        chart_roots=list(chart_roots),
    )
    progress = _Progress(enabled=not quiet and sys.stderr.isatty())
    try:
        result = run_scan(
            list(paths) or ["."],
            options,
            stdin=lambda: sys.stdin.buffer.read(),
            progress=progress,
        )
    except UnknownRule as error:
        _fail(f"unknown rule '{error}' (see `prodready rules`)")
    except UsageError as error:
        _fail(str(error))
    progress.clear()

    to_terminal = output is None and sys.stdout.isatty()
    colored = color == "always" or (color == "auto" and to_terminal and "NO_COLOR" not in os.environ)
    report = render(output_format, result, color=colored)
    if quiet and output_format == "text":
        report = "".join(line for line in report.splitlines(keepends=True)[:-1])
    if output:
        try:
            _write_atomically(output, report)
        except OSError as error:
            _fail(f"cannot write {output}: {error.strerror or error}")
    else:
        click.echo(report, nl=False)
    if not quiet:
        for notification in result.notifications:
            click.echo(f"prodready: note: {notification.message}", err=True)

    threshold = Level.parse(fail_level)
    if any(finding.rule.id == "PR001" for finding in result.findings):
        sys.exit(EXIT_ERROR)
    sys.exit(EXIT_FINDINGS if any(finding.level >= threshold for finding in result.findings) else EXIT_CLEAN)


@main.command()
def rules() -> None:
    """List every rule: ID, name, level and checklist section."""
    from prodready.registry import all_rules

    metas = all_rules()
    width = max(len(meta.name) for meta in metas)
    click.echo(f"{'ID':<6} {'NAME':<{width}} {'LEVEL':<18} SECTION  SUMMARY")
    for meta in metas:
        level = str(meta.level) if meta.default_on else f"off ({meta.level})"
        section = f"§{meta.section}" if meta.section else "-"
        click.echo(f"{meta.id:<6} {meta.name:<{width}} {level:<18} {section:<8} {meta.summary}")


@main.command()
@click.argument("rule")
def explain(rule: str) -> None:
    """Print what RULE (an ID such as PR313, or a name) checks, why, and how to fix it."""
    from prodready.registry import find_rule

    meta = find_rule(rule)
    if meta is None:
        _fail(f"unknown rule '{rule}' (see `prodready rules`)")
    level = str(meta.level) if meta.default_on else f"off by default; {meta.level} when enabled"
    section = f", checklist § {meta.section}" if meta.section else ""
    click.echo(f"{meta.id} {meta.name} ({level}{section})\n\n{meta.doc}")
