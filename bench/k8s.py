"""Benchmark: a whole `prodready scan` (all default rules, SARIF written) against the parse floor, on a
directory of real manifests.

    python bench/k8s.py DIR [--runs N]

The floor is ruamel.yaml's C-backed `compose_all` over the same files, measured in this run; the scan runs
as a separate process, so its figure includes start-up, discovery, rules and writing the report. Prints
median wall times, the ratio to the floor (target ≤ 2×) and the scan's peak memory (target < 400 MB).
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path


def manifest_files(root: Path) -> list[Path]:
    return sorted(p for p in root.rglob("*") if p.suffix in (".yaml", ".yml", ".json") and p.is_file())


def compose_floor(files: list[Path]) -> float:
    from ruamel.yaml import YAML

    yaml = YAML(typ="safe")
    start = time.perf_counter()
    for path in files:
        try:
            for _ in yaml.compose_all(path.read_bytes()):
                pass
        except Exception:  # noqa: BLE001 - the floor only times parsing; broken files cost what they cost
            pass
    return time.perf_counter() - start


def scan_once(root: Path, output: str) -> tuple[float, float]:
    """Wall seconds and peak RSS (MB) of one scan process."""
    command = [sys.executable, "-m", "prodready", "scan", str(root), "--format", "sarif", "-o", output, "-q"]
    start = time.perf_counter()
    pid = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL).pid
    _, _, usage = os.wait4(pid, 0)
    return time.perf_counter() - start, usage.ru_maxrss / 1024


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("root", type=Path, help="a directory of Kubernetes manifests")
    parser.add_argument("--runs", type=int, default=3)
    arguments = parser.parse_args()

    files = manifest_files(arguments.root)
    size = sum(p.stat().st_size for p in files) / 1e6
    floors, scans, memories = [], [], []
    with tempfile.TemporaryDirectory() as directory:
        output = os.path.join(directory, "out.sarif")
        for _ in range(arguments.runs):
            floors.append(compose_floor(files))
            seconds, megabytes = scan_once(arguments.root, output)
            scans.append(seconds)
            memories.append(megabytes)
    floor, whole = statistics.median(floors), statistics.median(scans)
    print(f"corpus: {len(files):,} files, {size:.1f} MB, {arguments.runs} runs (medians)")
    print(f"{'figure':<44} {'value':>10}  target")
    print(f"{'parse floor (ruamel C compose_all)':<44} {floor:>9.2f}s")
    print(f"{'prodready scan, all rules, SARIF written':<44} {whole:>9.2f}s")
    print(f"{'ratio scan / floor':<44} {whole / floor:>9.2f}×  ≤ 2×")
    print(f"{'scan throughput':<44} {size / whole:>7.2f}MB/s")
    print(f"{'scan peak memory':<44} {max(memories):>8.0f}MB  < 400 MB")


if __name__ == "__main__":
    main()
