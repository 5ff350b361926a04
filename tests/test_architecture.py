"""The import graph of the engine and the catalogue follows the stages of docs/architecture.md: a module
imports only modules of its own or an earlier layer, rule modules never import each other, and there is no
cycle. The registry loads the rule modules by walking the package, which is no import edge.

    python tests/test_architecture.py        prints the graph, one module a line with what it imports
"""

from __future__ import annotations

import ast
import sys
from pathlib import Path

ROOT = Path(__file__).parent.parent
PACKAGES = {"prodready": ROOT / "linter", "prodready.rules": ROOT / "rules"}

# Earliest first. A module belongs to the layer of the longest prefix that names it or its package.
LAYERS: list[tuple[str, ...]] = [
    ("prodready.__init__", "prodready.model", "prodready.checklist"),  # data every stage shares
    # the parsers and the domain libraries, which every stage may read with; the catalogue
    ("prodready.sources", "prodready.sources.yaml", "prodready.sources.hcl"),
    (
        "prodready.kubernetes",
        "prodready.terraform",
        "prodready.kustomization",
        "prodready.helm",
        "prodready.registry",
    ),
    ("prodready.discover",),
    ("prodready.embedded_helm", "prodready.render"),
    ("prodready.cache", "prodready.sources.load", "prodready.sources.terraform"),  # load
    ("prodready.instantiate",),
    ("prodready.index",),
    ("prodready.rules", "prodready.engine", "prodready.custom"),  # custom: checks from the configuration
    ("prodready.suppress",),
    ("prodready.patches", "prodready.callers", "prodready.locate"),
    ("prodready.report",),
    ("prodready.config", "prodready.scan"),  # the scan runs the stages with the configuration
    ("prodready.cli", "prodready.__main__"),
]


def modules() -> dict[str, Path]:
    found = {}
    for package, directory in PACKAGES.items():
        for path in sorted(directory.rglob("*.py")):
            parts = list(path.relative_to(directory).with_suffix("").parts)
            if parts[-1] == "__init__" and len(parts) > 1:
                parts.pop()
            found[".".join([package, *parts])] = path
    return found


def imports(path: Path, name: str, known: set[str]) -> set[str]:
    """The prodready modules that `path` imports, at any depth of the file (lazy imports count)."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            candidates = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module:
            submodules = [f"{node.module}.{alias.name}" for alias in node.names]
            candidates = [name for name in submodules if name in known] or [node.module]
        else:
            continue
        found.update(candidate for candidate in candidates if candidate in known and candidate != name)
    if "prodready" in found and name != "prodready.__init__":
        found.discard("prodready")
        found.add("prodready.__init__")
    return found


def graph() -> dict[str, set[str]]:
    found = modules()
    known = set(found) | {"prodready"}
    return {
        ("prodready.__init__" if name == "prodready" else name): imports(path, name, known)
        for name, path in found.items()
    }


def layer(module: str) -> int:
    matches = [
        (len(prefix), number)
        for number, prefixes in enumerate(LAYERS)
        for prefix in prefixes
        if module == prefix or module.startswith(prefix + ".")
    ]
    if matches:
        return max(matches)[1]  # the most specific prefix decides
    raise AssertionError(f"{module} is in no layer of tests/test_architecture.py")


def is_rule_module(module: str) -> bool:
    return module.startswith("prodready.rules.") and module.count(".") >= 3


def test_no_import_reaches_back_to_an_earlier_stage() -> None:
    backwards = [
        f"{module} → {target}"
        for module, targets in graph().items()
        for target in targets
        if layer(target) > layer(module)
    ]
    assert backwards == []


def test_rule_modules_do_not_import_each_other() -> None:
    sideways = [
        f"{module} → {target}"
        for module, targets in graph().items()
        for target in targets
        if is_rule_module(module) and is_rule_module(target)
    ]
    assert sideways == []


def test_no_cycles() -> None:
    edges = graph()
    state: dict[str, str] = {}

    def visit(module: str, trail: list[str]) -> None:
        state[module] = "open"
        for target in sorted(edges.get(module, ())):
            if state.get(target) == "open":
                raise AssertionError("import cycle: " + " → ".join([*trail, module, target]))
            if target not in state:
                visit(target, [*trail, module])
        state[module] = "done"

    for module in sorted(edges):
        if module not in state:
            visit(module, [])


if __name__ == "__main__":
    for module, targets in sorted(graph().items(), key=lambda item: (layer(item[0]), item[0])):
        short = sorted(target.removeprefix("prodready.") for target in targets)
        sys.stdout.write(
            f"{layer(module):2} {module.removeprefix('prodready.')} → {', '.join(short) or '-'}\n"
        )
