"""Rendering speed: a repository of 50 charts generated from one chart, against `helm template` run in the
same process, one chart after another. Needs helm on PATH.

    python bench/render.py [--charts 50] [--runs 3]

| figure | baseline | target |
|---|---|---|
| cold scan, `--jobs 2`, empty render cache | serial sum of `helm template` of each chart | ≤ 0.6× |
| warm scan (nothing changed) | the cold scan | ≤ 0.2× |
| pre-commit: one changed template (`--unit-context`) | a bare `helm template` of that chart | ≤ 2× |

Two more lines put the cold figure in context: `helm template` of every chart two at a time, without
prodready (what two cores allow at best), and, when helm-python-sdk is installed (`prodready[helm]`), the
cold scan with no helm on PATH, rendering in-process.
"""

from __future__ import annotations

import argparse
import importlib.util
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

CHART = Path(__file__).parent.parent / "fixtures" / "render" / "chart" / "shop"
PRODREADY = [sys.executable, "-m", "prodready"]


def timed(command: list[str], environment: dict[str, str], cwd: Path) -> float:
    start = time.perf_counter()
    subprocess.run(command, cwd=cwd, env=environment, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--charts", type=int, default=50)
    parser.add_argument("--runs", type=int, default=3)
    arguments = parser.parse_args()
    helm = shutil.which("helm")
    if helm is None:
        sys.exit("helm is not on PATH")
    # Installing prodready compiles its modules; a checkout run with PYTHONDONTWRITEBYTECODE set would
    # compile them again on every run, and the hook would measure the compiler.
    import prodready
    import prodready.rules

    packages = [os.path.dirname(prodready.__file__), os.path.dirname(prodready.rules.__file__)]
    subprocess.run(
        [sys.executable, "-m", "compileall", "-q", *packages], check=True, stdout=subprocess.DEVNULL
    )
    with tempfile.TemporaryDirectory() as scratch:
        repository = Path(scratch) / "repository"
        for number in range(arguments.charts):
            chart = repository / "charts" / f"shop{number}"
            shutil.copytree(CHART, chart)
            text = (chart / "Chart.yaml").read_text().replace("name: shop", f"name: shop{number}")
            (chart / "Chart.yaml").write_text(text)
        charts = sorted((repository / "charts").iterdir())
        environment = {**os.environ, "XDG_CACHE_HOME": str(Path(scratch) / "cache")}
        without_helm = {
            **environment,
            "PATH": os.pathsep.join(
                directory
                for directory in os.environ["PATH"].split(os.pathsep)
                if not os.path.exists(os.path.join(directory, "helm"))
            ),
        }
        embedded = importlib.util.find_spec("helm_python") is not None

        def helm_template(chart: Path) -> None:
            subprocess.run([helm, "template", chart.name, str(chart)], capture_output=True, check=True)

        serial, two_at_a_time, cold, cold_embedded, warm, hook, bare = [], [], [], [], [], [], []
        for _ in range(arguments.runs):
            start = time.perf_counter()
            for chart in charts:
                helm_template(chart)
            serial.append(time.perf_counter() - start)
            start = time.perf_counter()
            with ThreadPoolExecutor(max_workers=2) as pool:
                list(pool.map(helm_template, charts))
            two_at_a_time.append(time.perf_counter() - start)
            scan = [*PRODREADY, "scan", "charts", "--jobs", "2", "-q"]
            if embedded:
                shutil.rmtree(Path(scratch) / "cache", ignore_errors=True)
                cold_embedded.append(timed(scan, without_helm, repository))
            shutil.rmtree(Path(scratch) / "cache", ignore_errors=True)
            cold.append(timed(scan, environment, repository))
            warm.append(timed(scan, environment, repository))
            template = charts[7] / "templates" / "deployment.yaml"
            template.write_text(template.read_text() + f"# edited {time.time()}\n")
            changed = [*PRODREADY, "scan", "--unit-context", str(template.relative_to(repository)), "-q"]
            hook.append(timed(changed, environment, repository))
            bare.append(timed([helm, "template", charts[7].name, str(charts[7])], environment, repository))
    rows = [
        ("cold scan / serial helm template", statistics.median(cold) / statistics.median(serial), 0.6),
        ("warm scan / cold scan", statistics.median(warm) / statistics.median(cold), 0.2),
        (
            "pre-commit, one changed template / bare helm template",
            statistics.median(hook) / statistics.median(bare),
            2.0,
        ),
    ]
    print(
        f"{arguments.charts} charts, median of {arguments.runs} runs; serial helm template: {statistics.median(serial):.2f} s"
    )
    for figure, ratio, target in rows:
        verdict = "ok" if ratio <= target else "MISSED"
        print(f"{figure:<58} {ratio:5.2f}×   target ≤ {target}×   {verdict}")
    context = [("helm template two at a time, no prodready / serial", two_at_a_time)]
    if embedded:
        context.append(("cold scan, embedded engine (no helm on PATH) / serial", cold_embedded))
    for figure, times in context:
        print(f"{figure:<58} {statistics.median(times) / statistics.median(serial):5.2f}×")


if __name__ == "__main__":
    main()
