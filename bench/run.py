"""prodready's speed and memory, each figure with its baseline measured in the same run.

    python bench/run.py --k8s DIR --terraform DIR [--runs N] [--skip-peers]
    python bench/run.py --k8s DIR --custom-checks-only [--runs N]

DIR are directories of real manifests and Terraform modules. Every figure is the median wall time of N
runs of a whole `prodready` process (start-up included) and its peak memory. Baselines:

- the parse floor: ruamel.yaml's C-backed `compose_all` over the same YAML files (target: scan ≤ 2×);
- Checkov and Trivy on the same input, offline, when they are installed (see bench/README.md);
- the same scan at 1× for the 10× corpus (target ≤ 11×: linear), and at `--jobs 1` for `--jobs 2`;
- the same scan without custom checks for the scan with 50 of them in the configuration (target ≤ 1.5×).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

PRODREADY = [sys.executable, "-m", "prodready"]


def measure(
    command: list[str], runs: int, env: dict | None = None, cwd: str | None = None
) -> tuple[float, float]:
    """Median wall seconds and the largest peak RSS (MB) of `runs` runs of a command."""
    times, memories = [], []
    for _ in range(runs):
        start = time.perf_counter()
        process = subprocess.Popen(
            command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env, cwd=cwd
        )
        _, _, usage = os.wait4(process.pid, 0)
        times.append(time.perf_counter() - start)
        memories.append(usage.ru_maxrss / 1024)
    return statistics.median(times), max(memories)


def compose_floor(root: Path, runs: int) -> float:
    from ruamel.yaml import YAML

    files = [p for p in sorted(root.rglob("*")) if p.suffix in (".yaml", ".yml", ".json") and p.is_file()]
    yaml = YAML(typ="safe")
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        for path in files:
            try:
                for _ in yaml.compose_all(path.read_bytes()):
                    pass
            except Exception:  # noqa: BLE001 - the floor only times parsing; broken files cost what they cost
                pass
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def copies(root: Path, count: int, into: Path) -> Path:
    """`count` copies of a tree in one tree, as hard links where the file system allows."""
    for number in range(count):
        shutil.copytree(root, into / f"copy{number}", copy_function=_link)
    return into


def _link(source: str, destination: str) -> None:
    try:
        os.link(source, destination)
    except OSError:
        shutil.copy2(source, destination)


def synthetic_repository(k8s: Path, terraform: Path, into: Path) -> list[str]:
    """1,000 manifests in 100 directories and 200 Terraform modules; returns 3 files to report on."""
    manifests = [p for p in sorted(k8s.rglob("*.yaml")) if p.stat().st_size < 200_000][:1000]
    for number, path in enumerate(manifests):
        directory = into / "k8s" / f"app{number // 10:03d}"
        directory.mkdir(parents=True, exist_ok=True)
        _link(str(path), str(directory / f"{number:04d}.yaml"))
    modules = sorted({p.parent for p in terraform.rglob("*.tf")})[:200]
    for number, module in enumerate(modules):
        directory = into / "infra" / f"module{number:03d}"
        directory.mkdir(parents=True)
        for path in module.glob("*.tf"):
            _link(str(path), str(directory / path.name))
    changed = [into / "k8s" / "app010" / "0100.yaml", into / "k8s" / "app050" / "0500.yaml"]
    changed.append(sorted((into / "infra" / "module020").glob("*.tf"))[0])
    return [str(path) for path in changed]


# Policies organisations write, each kind of target, cycled through to make any number of checks (NUMBER
# makes each its own). Like real policies, most pass on most objects; the cost-center label fails on all.
CHECK_TEMPLATES = [
    "target: Workload\n    schema: {required: [metadata], properties: {metadata: {required: [labels],"
    " properties: {labels: {required: [acme.io/cost-center-NUMBER]}}}}}",
    "target: Container\n    schema: {required: [image], properties: {image: {type: string,"
    " not: {pattern: ':latest-NUMBER$'}}}}",
    "target: Container\n    match: {required: [ports]}\n    schema: {required: [readinessProbe]}",
    "target: Container\n    schema: {properties: {securityContext: {properties: {privileged: {const: false},"
    " runAsUser: {not: {const: NUMBER}}}}}}",
    "target: Workload\n    schema: {properties: {spec: {properties: {template: {properties: {spec: {properties:"
    " {hostNetwork: {const: false}, hostPID: {const: false}}}}}}}}}",
    "target: apps/Deployment\n    schema: {properties: {spec: {properties: {replicas: {maximum: 1NUMBER}}}}}",
    "target: Service\n    schema: {properties: {spec: {properties: {type: {not: {const: LoadBalancer}}}}}}",
    "target: ConfigMap\n    schema: {properties: {data: {additionalProperties: {type: string, maxLength: 1NUMBER000}}}}",
]


def custom_checks(count: int) -> str:
    """A configuration of `count` custom checks."""
    checks = [
        f"  ACME{number:03d}:\n    name: check-{number}\n    level: warning\n    section: 10\n"
        f"    message: check {number} fails\n    description: Check {number}.\n    "
        + CHECK_TEMPLATES[number % len(CHECK_TEMPLATES)].replace("NUMBER", str(number))
        for number in range(1, count + 1)
    ]
    return "checks:\n" + "\n".join(checks) + "\n"


def measure_custom_checks(k8s: Path, scratch: Path, runs: int) -> None:
    """50 custom checks against the same scan without them, all built-in rules running in both; the runs
    alternate, so that a busy moment of the machine weighs on both alike."""
    sarif = scratch / "custom.sarif"
    without, with_checks = scratch / "without.yaml", scratch / "with.yaml"
    without.write_text("{}\n")
    with_checks.write_text(custom_checks(50))
    scan = PRODREADY + ["scan", "-q", "--format", "sarif", "-o", str(sarif), "--config"]
    plain, custom = [], []
    for _ in range(runs):
        plain.append(measure(scan + [str(without), str(k8s)], 1)[0])
        custom.append(measure(scan + [str(with_checks), str(k8s)], 1)[0])
    results = json.loads(sarif.read_text())["runs"][0]["results"]
    theirs = sum(1 for result in results if result["ruleId"].startswith("ACME"))
    row(
        "k8s: scan with 50 custom checks",
        f"{statistics.median(custom):.2f} s",
        f"({theirs:,} of their findings)",
    )
    row(
        "k8s: with 50 custom checks / without",
        f"{statistics.median(custom) / statistics.median(plain):.2f}×",
        "≤ 1.5×",
    )


def peer(name: str) -> str | None:
    return shutil.which(name)


def row(figure: str, value: str, target: str = "") -> None:
    print(f"{figure:<58} {value:>14}  {target}")


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--k8s", type=Path, required=True, help="a directory of Kubernetes manifests")
    parser.add_argument("--terraform", type=Path, help="a directory of Terraform modules")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument(
        "--skip-peers", action="store_true", help="do not run Checkov or Trivy even if installed"
    )
    parser.add_argument(
        "--custom-checks-only",
        action="store_true",
        help="measure only the scan with 50 custom checks against the scan without them",
    )
    arguments = parser.parse_args()
    if arguments.terraform is None and not arguments.custom_checks_only:
        parser.error("--terraform is required (unless --custom-checks-only)")
    runs = arguments.runs
    k8s = arguments.k8s.resolve()

    with tempfile.TemporaryDirectory() as scratch:
        scratch_path = Path(scratch)
        if arguments.custom_checks_only:
            print(f"{'figure':<58} {'value':>14}  target")
            measure_custom_checks(k8s, scratch_path, runs)
            return
        terraform = arguments.terraform.resolve()
        sarif = str(scratch_path / "out.sarif")
        cache_env = {**os.environ, "XDG_CACHE_HOME": str(scratch_path / "cache")}
        scan = PRODREADY + ["scan", "--isolated", "-q", "--format", "sarif", "-o", sarif]
        print(f"{'figure':<58} {'value':>14}  target")

        floor = compose_floor(k8s, runs)
        whole, memory = measure(scan + [str(k8s)], runs)
        row("k8s: parse floor (ruamel C compose_all)", f"{floor:.2f} s")
        row("k8s: prodready scan, all rules, SARIF written", f"{whole:.2f} s")
        row("k8s: scan / floor", f"{whole / floor:.2f}×", "≤ 2×")
        row("k8s: peak memory", f"{memory:.0f} MB", "< 400 MB")
        measure_custom_checks(k8s, scratch_path, runs)

        one, _ = measure(scan + ["--jobs", "1", str(k8s)], runs)
        two, _ = measure(scan + ["--jobs", "2", str(k8s)], runs)
        outputs = []
        for jobs in ("1", "2"):
            subprocess.run(
                scan[:-2] + ["-o", f"{sarif}.{jobs}", "--jobs", jobs, str(k8s)], capture_output=True
            )
            outputs.append(Path(f"{sarif}.{jobs}").read_bytes())
        row("k8s: --jobs 1 / --jobs 2", f"{one / two:.2f}×", "≥ 1.6×")
        row("k8s: output identical across --jobs", "yes" if outputs[0] == outputs[1] else "NO", "identical")

        ten = copies(k8s, 10, scratch_path / "ten")
        ten_time, ten_memory = measure(scan + [str(ten)], max(1, runs // 2))
        row("k8s: 10× corpus / 1× time", f"{ten_time / whole:.2f}×", "≤ 11×")
        row("k8s: 10× corpus / 1× peak memory", f"{ten_memory / memory:.2f}×", "≤ 2×")
        shutil.rmtree(ten)

        cold, cold_memory = measure(scan + ["--no-cache", "--jobs", "2", str(terraform)], runs, env=cache_env)
        subprocess.run(scan + [str(terraform)], env=cache_env, capture_output=True)
        warm, _ = measure(scan + [str(terraform)], runs, env=cache_env)
        serial, _ = measure(scan + ["--no-cache", "--jobs", "1", str(terraform)], runs, env=cache_env)
        row("terraform: cold (no cache)", f"{cold:.2f} s", "< 40 s")
        row("terraform cold: --jobs 1 / --jobs 2", f"{serial / cold:.2f}×", "≥ 1.6×")
        row("terraform: warm (parse cache)", f"{warm:.2f} s", "< 4 s")
        row("terraform: peak memory", f"{cold_memory:.0f} MB", "< 500 MB")

        version, _ = measure(PRODREADY + ["--version"], max(runs, 5))
        row("prodready --version", f"{version * 1000:.0f} ms", "< 150 ms")

        repository = scratch_path / "repository"
        changed = synthetic_repository(k8s, terraform, repository)
        hook, _ = measure(
            PRODREADY + ["scan", "--isolated", "-q", "--unit-context", *changed], runs, env=cache_env
        )
        row("pre-commit: 3 files, tree of 1,000 manifests + 200 modules", f"{hook:.2f} s", "< 1 s")

        if arguments.skip_peers:
            return
        checkov = peer("checkov")
        if checkov:
            checkov_k8s, checkov_memory = measure(
                [
                    checkov,
                    "-d",
                    str(k8s),
                    "--framework",
                    "kubernetes",
                    "--quiet",
                    "--compact",
                    "--skip-download",
                ],
                1,
            )
            row("Checkov, k8s", f"{checkov_k8s:.1f} s ({checkov_memory:.0f} MB)")
            row("k8s: Checkov / prodready", f"{checkov_k8s / whole:.0f}×", "≥ 25×")
            checkov_tf, _ = measure(
                [
                    checkov,
                    "-d",
                    str(terraform),
                    "--framework",
                    "terraform",
                    "--quiet",
                    "--compact",
                    "--skip-download",
                ],
                1,
            )
            row("Checkov, terraform", f"{checkov_tf:.1f} s")
            row("terraform cold: Checkov / prodready", f"{checkov_tf / cold:.0f}×", "≥ 30×")
            row("terraform warm: Checkov / prodready", f"{checkov_tf / warm:.0f}×", "≥ 300×")
        else:
            print("Checkov not found on PATH: no ratio against it (see bench/README.md)")
        trivy = peer("trivy")
        if trivy:
            trivy_k8s, _ = measure([trivy, "config", "--skip-check-update", "--quiet", str(k8s)], 1)
            row("Trivy, k8s", f"{trivy_k8s:.1f} s")
            row("k8s: Trivy / prodready", f"{trivy_k8s / whole:.0f}×", "≥ 50×")
        else:
            print("Trivy not found on PATH: no ratio against it (see bench/README.md)")


if __name__ == "__main__":
    main()
