"""Hostile and broken input: every file of fixtures/hostile/generate.py's corpus gives exactly its PR001 and
PR002 findings, naming file and line, and nothing else breaks: no exception, no internal error, and every
other file, the good manifest among them, is still scanned. Then the promises around it: no code runs and
no socket opens, control characters never reach the terminal, SARIF URIs stay relative, output is the same
whatever the order, the jobs or the cache, and a report file is written whole or not at all.

Bounds are asserted through outcomes (a 100 MB file is reported as too big, not read; 10,000-deep nesting
is refused), never through timings; `python fixtures/hostile/generate.py --measure` prints the time and
memory each file costs.
"""

from __future__ import annotations

import builtins
import importlib.util
import io
import json
import os
import re
import shutil
import socket
import subprocess
import sys
import threading
from pathlib import Path

import jsonschema
import pytest
from click.testing import CliRunner
from prodready.cli import main
from prodready.config import load
from prodready.registry import all_rules
from prodready.scan import ScanOptions, scan

ROOT = Path(__file__).parent.parent
SCHEMA = json.loads((Path(__file__).parent / "data" / "sarif-schema-2.1.0.json").read_text())


def _load_generator():
    spec = importlib.util.spec_from_file_location(
        "hostile_generate", ROOT / "fixtures" / "hostile" / "generate.py"
    )
    module = importlib.util.module_from_spec(spec)
    sys.modules["hostile_generate"] = module  # dataclasses look their module up
    writes_bytecode, sys.dont_write_bytecode = sys.dont_write_bytecode, True  # no __pycache__ in fixtures/
    try:
        spec.loader.exec_module(module)
    finally:
        sys.dont_write_bytecode = writes_bytecode
    return module


hostile = _load_generator()
ALL_RULES = [meta.id for meta in all_rules()]  # off-by-default rules too: a prefix would not enable them
INPUT_RULES = ("PR001", "PR002")


def _relative(path: str, root: Path) -> str:
    return os.path.normpath(os.path.relpath(path, root) if os.path.isabs(path) else path)


def _input_findings(result, root: Path) -> dict[str, set[tuple[str, int]]]:
    found: dict[str, set[tuple[str, int]]] = {}
    for finding in result.findings:
        if finding.rule.id in INPUT_RULES:
            found.setdefault(_relative(finding.location.file, root), set()).add(
                (finding.rule.id, finding.location.line)
            )
    return found


def _matches(expected: frozenset, got: set) -> bool:
    """Exactly the expected (rule, line) pairs; a line of None accepts one or more findings on any line."""
    exact = {pair for pair in expected if pair[1] is not None}
    anywhere = {rule for rule, line in expected if line is None}
    rest = {pair for pair in got if pair not in exact}
    return exact <= got and {rule for rule, _ in rest} == anywhere and (not anywhere or rest)


def _case(path: str):
    [case] = [case for case in hostile.CASES if case.path == path]
    return case


def _expected(case, chmod_enforced: bool) -> frozenset:
    if case.expect_when_readable is not None and not chmod_enforced:
        return case.expect_when_readable
    return case.expect


def _internal_errors(result) -> list[str]:
    return [n.message for n in result.notifications if "internal error" in n.message]


def _good_findings(result, root: Path) -> set[tuple[str, int]]:
    return {
        (f.rule.id, f.location.line)
        for f in result.findings
        if _relative(f.location.file, root) == hostile.GOOD_PATH
    }


class _ReadCounter:
    """Counts the bytes the load stage reads from each file through open()."""

    def __init__(self) -> None:
        self.read: dict[str, int] = {}

    def open(self, path, mode="r", *args, **kwargs):
        handle = builtins.open(path, mode, *args, **kwargs)
        counter, key = self, os.path.normpath(str(path))
        counter.read.setdefault(key, 0)

        class Counted:
            def __enter__(self):
                return self

            def __exit__(self, *exc):
                handle.close()

            def read(self, *size):
                data = handle.read(*size)
                counter.read[key] += len(data)
                return data

            def __getattr__(self, name):
                return getattr(handle, name)

        return Counted()


@pytest.fixture(scope="module")
def corpus(tmp_path_factory):
    """The corpus without known bugs, its big files included, plus the good manifest: scanned once with every
    rule, from inside the corpus directory, with the parse cache on (in a private directory)."""
    root = tmp_path_factory.mktemp("hostile")
    cache = tmp_path_factory.mktemp("cache")
    cases = hostile.build(str(root), hostile.CASES)
    counter = _ReadCounter()
    with pytest.MonkeyPatch.context() as patch:
        patch.chdir(root)
        patch.setenv("XDG_CACHE_HOME", str(cache))
        patch.setattr("prodready.sources.load.open", counter.open, raising=False)
        result = scan(["."], ScanOptions(select=ALL_RULES, cache=True, jobs=1))
    yield root, cases, result, counter.read, hostile.chmod_is_enforced(str(root))
    hostile.make_removable(str(root))


# --- the corpus ------------------------------------------------------------------------------------


def test_every_bad_file_gives_exactly_its_input_findings(corpus):
    root, cases, result, _, chmod_enforced = corpus
    found = _input_findings(result, root)
    wrong = {}
    for case in cases:
        got = found.pop(case.path, set())
        expected = _expected(case, chmod_enforced)
        if not _matches(expected, got):
            wrong[case.path] = {"expected": sorted(expected, key=str), "got": sorted(got)}
    assert wrong == {}
    assert found == {}, "input findings in files that should have none"


def test_input_findings_say_what_is_wrong(corpus):
    root, cases, result, _, chmod_enforced = corpus
    hints = {
        case.path: case.hint for case in cases if case.hint and _expected(case, chmod_enforced) == case.expect
    }
    unclear = [
        (_relative(f.location.file, root), f.message)
        for f in result.findings
        if f.rule.id == "PR001"
        and _relative(f.location.file, root) in hints
        and hints[_relative(f.location.file, root)] not in f.message
    ]
    assert unclear == []


def test_no_internal_error_and_every_file_is_scanned(corpus):
    root, cases, result, _, _ = corpus
    assert _internal_errors(result) == []
    regular = [case for case in cases if not isinstance(case.content, (hostile.Symlink, hostile.Unreadable))]
    assert result.files >= len(regular) + 1


def test_the_good_manifest_is_checked_as_if_alone(corpus):
    root, _, result, _, _ = corpus
    assert hostile.GOOD_FINDINGS <= _good_findings(result, root)


def test_documents_after_broken_ones_are_still_checked(corpus):
    root, _, result, _, _ = corpus
    from prodready.sources.yaml import load_manifests

    for path, name in [
        ("yaml/alias-bomb.yaml", "after-bomb"),
        ("yaml/deep-block.yaml", "after-deep-block"),
        ("yaml/crlf.yaml", "after-crlf"),
        ("yaml/tabs.yaml", "after-tabs"),
        ("yaml/templates.yaml", "after-template"),
        ("yaml/many-errors.yaml", "after-many-errors"),
        ("yaml/many-documents.yaml", "after-many-documents"),
    ]:
        resources, _ = load_manifests((root / path).read_bytes(), path)
        assert name in [resource.name for resource in resources], path
    # and the rules ran on them: the Deployment after the bomb has findings below it
    assert any(
        f.rule.id not in INPUT_RULES and f.location.line > 10
        for f in result.findings
        if _relative(f.location.file, root) == "yaml/alias-bomb.yaml"
    )
    # a module with one broken file still has its other files checked
    for path in ("tf/syntax/ok.tf", "tf/tfvars/main.tf"):
        assert any(_relative(f.location.file, root) == path for f in result.findings), path


def test_files_over_the_limit_are_not_read(corpus):
    root, _, result, read, _ = corpus
    assert read, "prodready.sources.load no longer reads files through open(): update _ReadCounter"
    limit = 50 * 2**20
    for path, limit_text in (("yaml/huge.yaml", "50 MB limit"), ("tf/huge/main.tf", "4 MB limit")):
        assert (root / path).stat().st_size == hostile.HUNDRED_MB
        assert read.get(path, 0) <= limit + 1, f"{path} was read: {read[path]:,} bytes"
        [message] = [
            f.message
            for f in result.findings
            if f.rule.id == "PR001" and _relative(f.location.file, root) == path
        ]
        assert "100.0 MB" in message and limit_text in message
    assert sum(read.values()) < 60 * 2**20


def test_python_tags_are_data_never_constructors():
    from prodready.sources.yaml import load_manifests

    [resource], problems = load_manifests(hostile.PYTHON_TAGS, "python-tags.yaml")
    assert problems == []
    annotations = resource.body["metadata"]["annotations"]
    assert annotations["a"] == ["exit 3"] and annotations["b"] == [["false"]]
    assert annotations["c"] == "" and annotations["e"] == {"source": "raise SystemExit(3)"}
    assert resource.body["spec"]["replicas"] == ["__import__('os').system('exit 3')"]
    assert resource.body["spec"]["template"]["spec"]["containers"] == ["exit 3"]


# --- the file system -------------------------------------------------------------------------------


def test_unreadable_files_and_directories_are_pr001(tmp_path):
    if not hostile.chmod_is_enforced(str(tmp_path)):
        pytest.skip("running as root (or with CAP_DAC_OVERRIDE): chmod 000 does not stop reading here")
    cases = [case for case in hostile.CASES if isinstance(case.content, hostile.Unreadable)]
    hostile.build(str(tmp_path), cases)
    try:
        result = scan([str(tmp_path)], ScanOptions(select=ALL_RULES, cache=False, jobs=1))
    finally:
        hostile.make_removable(str(tmp_path))
    found = _input_findings(result, tmp_path)
    assert {case.path: found.get(case.path) for case in cases} == {
        case.path: set(case.expect) for case in cases
    }
    assert hostile.GOOD_FINDINGS <= _good_findings(result, tmp_path)


def test_a_fifo_in_a_scanned_directory_is_not_opened(tmp_path):
    fifo = tmp_path / "pipe.yaml"
    os.mkfifo(fifo)
    (tmp_path / "deployment.yaml").write_bytes(hostile.GOOD)
    opened = threading.Event()

    def writer() -> None:  # unblocks a reader, and tells that there was one
        descriptor = os.open(fifo, os.O_WRONLY)
        opened.set()
        os.close(descriptor)

    thread = threading.Thread(target=writer, daemon=True)
    thread.start()
    try:
        result = scan([str(tmp_path)], ScanOptions(select=ALL_RULES, cache=False, jobs=1))
        opened_by_scan = opened.is_set()
    finally:
        if not opened.is_set():
            release = os.open(fifo, os.O_RDONLY | os.O_NONBLOCK)
            thread.join(5)
            os.close(release)
        thread.join(5)
    assert not opened_by_scan, "the scan opened a FIFO (with no writer, it would have waited forever)"
    told = [
        f.message for f in result.findings if f.rule.id == "PR001" and f.location.file.endswith("pipe.yaml")
    ]
    told += [n.message for n in result.notifications if "pipe.yaml" in n.message]
    assert told, "the FIFO is neither reported nor mentioned"
    assert {("PR201", 15)} <= {
        (f.rule.id, f.location.line) for f in result.findings if f.location.file.endswith("deployment.yaml")
    }


# --- the command line ------------------------------------------------------------------------------


def run_cli(*args, **kwargs):
    return CliRunner().invoke(main, ["scan", "--isolated", "--no-cache", "-j", "1", *args], **kwargs)


@pytest.fixture
def small_corpus(tmp_path, monkeypatch):
    """The corpus without its big and slow files, in the working directory."""
    monkeypatch.chdir(tmp_path)
    slow = {"yaml/wrong-types.yaml", "yaml/big-list.yaml", "yaml/many-documents.yaml", "yaml/long-line.yaml"}
    cases = [case for case in hostile.CASES if not case.big and case.path not in slow]
    hostile.build(str(tmp_path), cases)
    yield tmp_path, cases
    hostile.make_removable(str(tmp_path))


def test_cli_names_file_and_line_of_every_input_problem_and_exits_2(small_corpus):
    root, cases = small_corpus
    result = run_cli(".", "--select", ",".join(ALL_RULES))
    assert result.exit_code == 2, result.output
    assert result.exception is None or isinstance(result.exception, SystemExit)
    assert "Traceback" not in result.output and "internal error" not in result.stderr
    chmod_enforced = hostile.chmod_is_enforced(str(root))
    for case in cases:
        for rule, line in _expected(case, chmod_enforced):
            pattern = re.escape(f"{case.path}:") + (str(line) if line else r"\d+") + r":\d+: \w+ " + rule
            assert re.search(pattern, result.stdout), f"{case.path}: no {rule} at line {line}"
    assert "good/deployment.yaml:15:11: warning PR201" in result.stdout


def test_max_file_size_option(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "big.yaml").write_bytes(hostile._configmap("big") + b"# " + b"x" * 2**20 + b"\n")
    (tmp_path / "good.yaml").write_bytes(hostile.GOOD)
    small = run_cli(".", "--max-file-size", "0.5")
    assert small.exit_code == 2
    assert (
        "big.yaml:1:1: error PR001 invalid-input: file is 1.0 MB, over the 0.5 MB limit (--max-file-size)"
        in small.stdout
    )
    assert "good.yaml:15:11: warning PR201" in small.stdout
    assert run_cli(".", "--max-file-size", "2").exit_code == 1  # under the limit: read, and fine
    for bad in ("0", "-1", "ten"):
        refused = run_cli(".", "--max-file-size", bad)
        assert refused.exit_code == 2 and "--max-file-size" in refused.stderr


def test_max_file_size_raises_the_limit_too(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    hostile.write_case(
        str(tmp_path),
        hostile.Case("huge.yaml", hostile.Sparse(hostile.HUNDRED_MB, b"a: 1\n"), frozenset(), ""),
    )
    over = run_cli("huge.yaml")
    assert "over the 50 MB limit" in over.stdout
    read = run_cli("huge.yaml", "--max-file-size", "101")  # now it is read, and its NULs make it binary
    assert read.exit_code == 2 and "huge.yaml:2:1: error PR001 invalid-input: a binary file" in read.stdout


class _Stream(io.RawIOBase):
    """`size` bytes of YAML comments, counting how many were read."""

    def __init__(self, size: int) -> None:
        self.size, self.consumed = size, 0

    def readable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:
        count = min(len(buffer), self.size - self.consumed)
        buffer[:count] = (b"#" * 63 + b"\n") * (count // 64) + b"#" * (count % 64)
        self.consumed += count
        return count


def test_standard_input_is_not_read_past_the_limit():
    stream = _Stream(8 * 2**20)
    result = CliRunner().invoke(
        main, ["scan", "--isolated", "-", "--max-file-size", "1"], input=io.BufferedReader(stream)
    )
    assert result.exit_code == 2 and "<stdin>:1:1: error PR001" in result.stdout
    assert stream.consumed <= 2**20 + 64 * 1024, f"read {stream.consumed:,} bytes of standard input"


@pytest.mark.parametrize(
    "value",
    [
        ".inf",
        "1e400",
        ".nan",
    ],
)
def test_a_max_file_size_that_is_not_finite_is_a_configuration_error(tmp_path, monkeypatch, value):
    monkeypatch.chdir(tmp_path)
    (tmp_path / ".prodready.yaml").write_text(f"max-file-size: {value}\n")
    (tmp_path / "good.yaml").write_bytes(hostile.GOOD)
    result = CliRunner().invoke(main, ["scan", "--no-cache", "."])
    assert result.exception is None or isinstance(result.exception, SystemExit)
    assert result.exit_code == 2 and "configuration" in result.stderr and "max-file-size" in result.stderr


# --- bounded time and memory: inputs that used to hang, run in a child with a CPU and memory limit ----


def run_limited(code: str, cpu_seconds: int = 3, memory: int = 2**30) -> subprocess.CompletedProcess:
    """Run `code` in a fresh interpreter that the kernel stops after `cpu_seconds` of CPU or `memory` bytes
    (of address space). A scan of a few small files, imports included, needs a quarter of a second of CPU
    and 50 MB: the limits are a net for inputs that used to hang (a hang must fail the test, not stall
    the suite), not a measure of speed."""
    prelude = (
        "import resource\n"
        f"resource.setrlimit(resource.RLIMIT_CPU, ({cpu_seconds}, {cpu_seconds}))\n"
        f"resource.setrlimit(resource.RLIMIT_AS, ({memory}, {memory}))\n"
    )
    return subprocess.run([sys.executable, "-c", prelude + code], capture_output=True, text=True, timeout=120)


def limited_scan(paths: list[str], select: list[str] = ALL_RULES) -> subprocess.CompletedProcess:
    """A scan in a child under run_limited(); its output starts with `done <number of findings>`."""
    code = (
        "from prodready.scan import ScanOptions, scan\n"
        f"result = scan({paths!r}, ScanOptions(select={select!r}, cache=False, jobs=1))\n"
        "print('done', len(result.findings), [n.message for n in result.notifications if 'internal' in n.message])\n"
    )
    return run_limited(code)


def test_a_quantity_with_a_huge_exponent_is_bounded(tmp_path):
    (tmp_path / "pod.yaml").write_bytes(hostile.QUANTITY_EXPONENT)
    completed = limited_scan([str(tmp_path)])
    assert completed.returncode == 0 and completed.stdout.startswith("done"), completed.stderr[-500:]


def test_a_quantity_with_many_digits_is_not_an_internal_error(tmp_path):
    (tmp_path / "pod.yaml").write_bytes(
        hostile.QUANTITY_EXPONENT.replace(b'"1e999999999"', b'"' + b"1" * 5000 + b'"')
    )
    result = scan([str(tmp_path)], ScanOptions(select=ALL_RULES, cache=False, jobs=1))
    assert _internal_errors(result) == []


@pytest.mark.parametrize("bomb", ["doubling", "sharing"])
def test_terraform_locals_bombs_are_bounded(tmp_path, bomb):
    module = tmp_path / "module"
    module.mkdir()
    (module / "main.tf").write_bytes(
        hostile.tf_doubling(40) if bomb == "doubling" else hostile.tf_sharing(40)
    )
    completed = limited_scan([str(module)])
    assert completed.returncode == 0 and completed.stdout.startswith("done"), completed.stderr[-500:]


def test_many_broken_documents_are_read_in_bounded_time(tmp_path):
    (tmp_path / "broken.yaml").write_bytes(b"a: [\n---\n" * 40_000)
    completed = limited_scan([str(tmp_path)], select=["PR001"])
    assert completed.returncode == 0 and completed.stdout.startswith("done 40000"), completed.stderr[-500:]


# --- custom checks from the configuration over hostile input ------------------------------------------

CUSTOM_CHECKS = """\
checks:
  ACME901:
    name: company-registry
    level: error
    section: 10
    target: Container
    message: images come only from the company registry
    description: Images come from registry.acme.io; no environment value holds an assignment.
    schema:
      required: [image]
      properties:
        image: {type: string, pattern: '^registry\\.acme\\.io/'}
        env: {type: array, items: {properties: {value: {pattern: '^[^=]*$'}}}}
  ACME902:
    name: tidy-metadata
    level: warning
    section: 3
    target: Workload
    message: labels are lowercase and annotations are ours
    description: Label values are lowercase words; every annotation key is a non-empty string.
    schema:
      properties:
        metadata:
          properties:
            labels:
              patternProperties: {'^acme\\.io/': {type: string}}
              additionalProperties: {type: string, pattern: '^[a-z0-9-]*$'}
            annotations:
              patternProperties: {'.': {}}
              additionalProperties: false
  ACME903:
    name: no-private-keys
    level: error
    section: 10
    target: ConfigMap
    message: a ConfigMap holds a private key
    description: Keys go into Secrets, never ConfigMaps.
    schema:
      properties:
        data:
          propertyNames: {pattern: '^[A-Za-z0-9._-]+$'}
          additionalProperties: {not: {pattern: 'BEGIN [A-Z ]*PRIVATE KEY'}}
  ACME904:
    name: bucket-classification
    level: warning
    section: 10
    target: terraform:aws_s3_bucket
    message: the bucket has no data-classification tag
    description: Every bucket says what data it holds.
    schema:
      required: [tags]
      properties:
        tags: {required: [data-classification]}
      additionalProperties: {not: {type: array, minItems: 100}}
"""


def test_custom_checks_over_the_corpus_are_never_an_internal_error(small_corpus):
    """Wrong types, keys that are not strings, deep nesting, unknown Terraform values: every object is
    judged by its schema and nothing breaks."""
    root, _ = small_corpus
    (root / ".prodready.yaml").write_text(CUSTOM_CHECKS)
    config = load(str(root / ".prodready.yaml"))
    result = scan(["."], ScanOptions(select=["ACME"], config=config, cache=False, jobs=1))
    assert _internal_errors(result) == []
    assert all(result.checked[check_id] > 0 for check_id in ("ACME901", "ACME902", "ACME903", "ACME904"))
    assert ("ACME901", 16) in _good_findings(result, root)  # its image


def test_a_pattern_never_runs_over_a_long_hostile_value(tmp_path):
    """`^x*x*y` backtracks quadratically: over a 1 MB value it would run for hours. A value longer than
    prodready.custom.MAX_MATCHED_LENGTH is not matched: it fails its pattern, and the finding says why."""
    config = tmp_path / ".prodready.yaml"
    config.write_text(CUSTOM_CHECKS.split("  ACME902:")[0].replace("'^[^=]*$'", "'^x*x*y'"))
    (tmp_path / "pod.yaml").write_bytes(
        b"apiVersion: v1\nkind: Pod\nmetadata: {name: p}\nspec:\n  containers:\n    - name: c\n"
        b"      image: registry.acme.io/c\n      env:\n        - name: X\n          value: "
        + b"x" * 2**20
        + b"\n"
    )
    code = (
        "from prodready.config import load\n"
        "from prodready.scan import ScanOptions, scan\n"
        f"result = scan([{str(tmp_path)!r}], ScanOptions(config=load({str(config)!r}), select=['ACME'], cache=False, jobs=1))\n"
        "print(*(f.message for f in result.findings), sep='\\n')\n"
    )
    completed = run_limited(code)
    assert completed.returncode == 0, completed.stderr[-500:]
    assert completed.stdout == (
        "images come only from the company registry: 'env[0].value' is 1,048,576 characters long,"
        " too long to match against '^x*x*y'\n"
    )


# --- values read as Kubernetes and Terraform read them -------------------------------------------------


def test_yaml_1_1_y_and_n_are_booleans_as_in_kubernetes():
    from prodready.sources.yaml import resolve_plain

    assert [resolve_plain(text) for text in ("y", "Y", "n", "N")] == [True, True, False, False]


def test_unicode_line_separators_do_not_shift_positions():
    from prodready.sources.yaml import load_manifests

    text = 'apiVersion: v1\nkind: Pod\nmetadata:\n  name: p\n  annotations:\n    a: "x\u2028y"\nspec:\n  containers: []\n'
    [resource], problems = load_manifests(text.encode(), "m.yaml")
    assert problems == [] and resource.locate(("spec", "containers")).line == 8


def test_terraform_format_treats_braces_as_text():
    from prodready.sources.hcl import parse_hcl
    from prodready.sources.terraform import Evaluator

    def evaluate(expression: str):
        [block] = parse_hcl(f"locals {{\n  x = {expression}\n}}\n").blocks
        return Evaluator({}, {}).value(block.attributes["x"].expression)

    assert evaluate('format("{%s}", "x")') == "{x}"
    assert evaluate('format("%s {:>10000000}", "x")') == "x {:>10000000}"


# --- no code execution, no network -----------------------------------------------------------------


def test_a_full_scan_opens_no_socket_and_runs_nothing(tmp_path, monkeypatch):
    cases = [
        case
        for case in hostile.CASES
        if case.path.startswith(
            ("yaml/python-tags", "yaml/unknown-tags", "yaml/merge-keys", "tf/syntax", "tf/tfvars")
        )
    ]
    hostile.build(str(tmp_path), cases)
    for number in range(10):  # enough Terraform files for --jobs 2 to parse in worker processes
        module = tmp_path / "modules" / f"m{number}"
        module.mkdir(parents=True)
        (module / "main.tf").write_bytes(hostile._bucket(f"b{number}"))
    attempts = []

    def refuse(name):
        def refused(*args, **kwargs):
            attempts.append((name, args))
            raise OSError(f"{name} is not allowed in a scan")

        return refused

    for name in ("socket", "create_connection", "getaddrinfo", "socketpair"):
        monkeypatch.setattr(socket, name, refuse(f"socket.{name}"))
    for name in ("system", "popen", "execv", "execve", "posix_spawn", "spawnv"):
        monkeypatch.setattr(os, name, refuse(f"os.{name}"))
    monkeypatch.setattr(subprocess, "Popen", refuse("subprocess.Popen"))
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    for jobs in (1, 2):
        result = scan([str(tmp_path)], ScanOptions(select=ALL_RULES, cache=False, jobs=jobs))
        assert _internal_errors(result) == []
        assert hostile.GOOD_FINDINGS <= _good_findings(result, tmp_path)
        assert any(f.location.file.endswith("modules/m9/main.tf") for f in result.findings)
        assert any(f.location.file.endswith("python-tags.yaml") for f in result.findings)
    assert attempts == []


# --- control characters in output --------------------------------------------------------------------

CONTROL = re.compile(r"[\x00-\x09\x0b-\x1f\x7f-\x9f]")  # C0 but newline, DEL, C1
JSON_CONTROL = re.compile(r"[\x00-\x09\x0b-\x1f]")  # what JSON must escape


def _strings(value):
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for key, item in value.items():
            yield key
            yield from _strings(item)
    elif isinstance(value, list):
        for item in value:
            yield from _strings(item)


@pytest.fixture
def escapes(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "k8s").mkdir()
    (tmp_path / "k8s" / "control.yaml").write_bytes(hostile.CONTROL_CHARACTERS)
    (tmp_path / "k8s" / "named\x1b[31m.yaml").write_bytes(hostile.GOOD)
    (tmp_path / "tf").mkdir()
    (tmp_path / "tf" / "main.tf").write_bytes(hostile.TF_CONTROL)
    return tmp_path


def test_text_output_escapes_control_characters(escapes):
    plain = run_cli("k8s", "tf", "--select", ",".join(ALL_RULES), "--color", "never")
    assert plain.exit_code == 1
    assert CONTROL.findall(plain.stdout) == []
    assert "escape\\x1b[31m\\x1b]0;title\\x07\\r\\x08\\x9b2J" in plain.stdout
    assert "named\\x1b[31m.yaml:15:11: warning PR201" in plain.stdout
    colored = run_cli("k8s", "tf", "--select", ",".join(ALL_RULES), "--color", "always")
    ours = re.sub(r"\x1b\[[0-9;]*m", "", colored.stdout)  # the colours prodready adds ...
    assert ours == plain.stdout  # ... are all there is: the input's sequences are escaped the same way


@pytest.mark.parametrize("output_format", ["json", "sarif"])
def test_json_and_sarif_carry_control_characters_escaped(escapes, output_format):
    result = run_cli("k8s", "tf", "--select", ",".join(ALL_RULES), "--format", output_format)
    assert JSON_CONTROL.findall(result.stdout) == []
    document = json.loads(result.stdout)
    assert any("\x1b" in text for text in _strings(document))  # the names are kept, as data
    if output_format == "sarif":
        assert sorted(jsonschema.Draft4Validator(SCHEMA).iter_errors(document), key=str) == []


@pytest.mark.parametrize("terminal", [False, True], ids=["piped", "terminal"])
def test_notes_on_stderr_escape_control_characters(tmp_path, monkeypatch, terminal, no_rendering_engines):
    monkeypatch.chdir(tmp_path)  # the chart is noted as not rendered
    chart = tmp_path / "chart\x1b]0;owned\x07\x1b[31m"
    (chart / "templates").mkdir(parents=True)
    (chart / "Chart.yaml").write_text("apiVersion: v2\nname: c\nversion: 1.0.0\n")
    result = CliRunner().invoke(main, ["scan", "--isolated", "."], color=terminal)
    assert "was not rendered" in result.stderr
    assert CONTROL.findall(result.stderr.replace("\n", "")) == []


# --- SARIF URIs --------------------------------------------------------------------------------------


def test_sarif_uris_are_relative_without_dot_dot(tmp_path, monkeypatch, no_rendering_engines):
    repository = tmp_path / "repo"
    (repository / ".git").mkdir(parents=True)
    (repository / "k8s").mkdir()
    (repository / "k8s" / "app.yaml").write_bytes(hostile.GOOD)
    (repository / "k8s" / "broken.yaml").write_bytes(hostile.TEMPLATES)
    (repository / "infra").mkdir()
    (repository / "infra" / "main.tf").write_bytes(_case("tf/syntax/main.tf").content)
    (repository / "infra" / "ok.tf").write_bytes(hostile._bucket("x"))
    (repository / "work").mkdir()
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "elsewhere.yaml").write_bytes(hostile.GOOD)
    chart = repository / "chart"
    (chart / "templates").mkdir(parents=True)
    (chart / "Chart.yaml").write_text("apiVersion: v2\nname: c\nversion: 1.0.0\n")
    monkeypatch.chdir(repository / "work")  # the chart is noted as not rendered
    paths = [
        "../k8s",
        str(repository / "infra"),
        "../chart",
        "./../k8s/app.yaml",
        str(outside / "elsewhere.yaml"),
    ]
    result = run_cli(*paths, "--format", "sarif", "--select", ",".join(ALL_RULES))
    document = json.loads(result.stdout)
    assert sorted(jsonschema.Draft4Validator(SCHEMA).iter_errors(document), key=str) == []
    uris = []

    def collect(value):
        if isinstance(value, dict):
            for key, item in value.items():
                if key == "uri" and isinstance(item, str):
                    uris.append(item)
                else:
                    collect(item)
        elif isinstance(value, list):
            for item in value:
                collect(item)

    run = document["runs"][0]
    collect(run["results"])
    collect(run.get("invocations", []))
    assert {"k8s/app.yaml", "k8s/broken.yaml", "infra/main.tf", "chart"} <= set(uris)
    for uri in uris:
        assert not uri.startswith("/") and ":" not in uri.split("/")[0], uri
        assert ".." not in uri.split("/") and "\\" not in uri, uri


# --- the same output, whatever the order, the jobs and the cache ---------------------------------------


@pytest.fixture
def mixed_tree(tmp_path, monkeypatch):
    """Rule fixtures (a quarter of them, with enough Terraform and YAML files that --jobs 2 parses both in
    worker processes) and the small hostile cases, copied so that nothing changes while they are scanned."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    sources = sorted(p for p in (ROOT / "fixtures").glob("PR*") if p.is_dir())
    chosen = sources[::4]
    for source in sources:
        if sum(1 for d in chosen for _ in d.rglob("*.tf")) >= 12:
            break
        if source not in chosen and any(source.rglob("*.tf")):
            chosen.append(source)
    for source in chosen:
        shutil.copytree(source, tmp_path / "rules" / source.name)
    picked = [c for c in hostile.CASES if not c.big and c.path.split("/")[0] in ("yaml", "tf")]
    picked = [
        c
        for c in picked
        if c.path
        not in (
            "yaml/wrong-types.yaml",
            "yaml/many-documents.yaml",
            "yaml/long-line.yaml",
            "yaml/big-list.yaml",
        )
    ]
    hostile.build(str(tmp_path / "hostile"), picked)
    entries = sorted(str(p.relative_to(tmp_path)) for p in (tmp_path / "rules").iterdir()) + [
        str(p.relative_to(tmp_path)) for p in sorted((tmp_path / "hostile").rglob("*")) if p.is_file()
    ]
    assert sum(1 for _ in (tmp_path / "rules").rglob("*.tf")) >= 9  # more than 8: parsed by workers
    assert sum(1 for _ in tmp_path.rglob("*.yaml")) > 32  # more than 32: loaded by workers
    return entries


@pytest.mark.parametrize("output_format", ["text", "json", "sarif"])
def test_output_is_identical_across_runs_jobs_order_and_cache(mixed_tree, output_format):
    def report(paths, *options):
        result = CliRunner().invoke(
            main,
            [
                "scan",
                "--isolated",
                "--format",
                output_format,
                "--select",
                ",".join(ALL_RULES),
                *options,
                *paths,
            ],
        )
        assert result.exception is None or isinstance(result.exception, SystemExit), result.exception
        return result.stdout_bytes, result.stderr_bytes

    first = report(mixed_tree, "-j", "1", "--no-cache")
    assert first[0]
    assert report(list(reversed(mixed_tree)), "-j", "2", "--no-cache") == first  # worker processes
    assert report(mixed_tree[1::2] + mixed_tree[::2], "-j", "2") == first  # a cold cache, filled here
    assert report(mixed_tree, "-j", "1") == first  # the same run again, from the warm cache


def test_a_file_named_twice_is_reported_under_one_name_in_any_order(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "deploy").mkdir()
    (tmp_path / "deploy" / "app.yaml").write_bytes(hostile.GOOD)
    (tmp_path / "link.yaml").symlink_to("deploy/app.yaml")
    assert run_cli("link.yaml", "deploy").stdout == run_cli("deploy", "link.yaml").stdout


# --- the report file is written whole or not at all ------------------------------------------------------


@pytest.fixture
def previous_report(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "k8s").mkdir()
    (tmp_path / "k8s" / "app.yaml").write_bytes(hostile.GOOD)
    report = tmp_path / "out" / "report.sarif"
    report.parent.mkdir()
    report.write_text("previous report\n")
    return report


def _left_over(directory: Path) -> list[str]:
    return sorted(name for name in os.listdir(directory) if name != "report.sarif")


def test_a_rendering_failure_midway_leaves_the_previous_report(previous_report, monkeypatch):
    import prodready.report.sarif as sarif

    calls = []
    real = sarif.to_json

    def failing(value):
        calls.append(value)
        if len(calls) == 50:
            raise RuntimeError("rendering failed midway")
        return real(value)

    monkeypatch.setattr(sarif, "to_json", failing)
    result = run_cli("k8s", "--format", "sarif", "-o", str(previous_report))
    assert isinstance(result.exception, RuntimeError) and len(calls) >= 50
    assert previous_report.read_text() == "previous report\n"
    assert _left_over(previous_report.parent) == []


@pytest.mark.parametrize("failure", ["write", "replace", "interrupt"])
def test_a_write_failure_leaves_the_previous_report_and_no_temporary_file(
    previous_report, monkeypatch, failure
):
    real_fdopen, real_replace = os.fdopen, os.replace

    def fdopen(descriptor, *args, **kwargs):
        stream = real_fdopen(descriptor, *args, **kwargs)

        class HalfWritten:
            def __enter__(self):
                return self

            def __exit__(self, *exc):
                stream.close()

            def write(self, text):
                stream.write(text[: len(text) // 2])
                stream.flush()
                if failure == "interrupt":
                    raise KeyboardInterrupt
                raise OSError(28, "No space left on device")

        return HalfWritten()

    def replace(source, destination):
        if str(destination).endswith("report.sarif"):
            raise OSError(13, "Permission denied")
        return real_replace(source, destination)

    if failure == "replace":
        monkeypatch.setattr(os, "replace", replace)
    else:
        monkeypatch.setattr(os, "fdopen", fdopen)
    result = run_cli("k8s", "--format", "sarif", "-o", str(previous_report))
    if failure == "interrupt":
        assert isinstance(result.exception, KeyboardInterrupt) or result.exit_code != 0
    else:
        assert result.exit_code == 2 and "cannot write" in result.stderr
    assert previous_report.read_text() == "previous report\n"
    assert _left_over(previous_report.parent) == []
