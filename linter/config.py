"""Configuration: `.prodready.yaml`, or `[tool.prodready]` in `pyproject.toml`, found by walking up from the
scanned paths (the closest wins), validated against `schema()`.

```yaml
select: [PR2, PR3]                 # run only these rules (IDs, ID prefixes or names)
ignore: [PR305]
fail-level: warning
rules:                             # levels per rule; `off` turns a rule off, a level turns it on
  PR203: warning
  PR406: off
per-path-ignores:                  # globs relative to the configuration file
  "charts/legacy/**": [PR301]
exclude: ["vendor/**"]             # never scanned
options:                           # rule options; `prodready config` lists them with their defaults
  min-replicas: 3
max-file-size: 50                  # MB
helm-values: [deploy/values-prod.yaml]   # every chart rendered with these too (relative to here)
helm-set: [image.tag=1.4.2]
helm-ci-values: true               # also render each chart with its ci/*-values.yaml
charts:                            # one chart's own values, besides the ones above (relative to here)
  deploy/charts/web: {values: [deploy/values-prod.yaml], set: [image.tag=1.4.2]}
unrendered-templates: error        # a template outside any chart is PR001, not a note
checks:                            # the organisation's own policies as JSON Schema (see custom.py)
  ACME001: {name: …, level: warning, section: 3, target: Workload, message: …, description: …, schema: …}
```
"""

from __future__ import annotations

import functools
import math
import os
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from prodready.model import KeyPath, Location, SuppressionMark

if TYPE_CHECKING:
    from prodready.custom import CustomCheck

LEVELS = ["error", "warning", "note", "off"]
RULE_KEY = r"^([A-Z]+[0-9]+|[a-z0-9]+(-[a-z0-9]+)*)$"  # an ID (built-in PR301, custom ACME001) or a name
RULE_LIST = {"type": "array", "items": {"type": "string", "pattern": r"^[A-Za-z0-9-]+$"}}

SCHEMA: dict[str, Any] = {
    "$schema": "http://json-schema.org/draft-07/schema#",
    "type": "object",
    "additionalProperties": False,
    "properties": {
        "select": RULE_LIST,
        "ignore": RULE_LIST,
        "fail-level": {"enum": LEVELS[:3]},
        "rules": {
            "type": "object",
            "propertyNames": {"pattern": RULE_KEY},
            "additionalProperties": {"enum": LEVELS},
        },
        "per-path-ignores": {"type": "object", "additionalProperties": RULE_LIST},
        "exclude": {"type": "array", "items": {"type": "string"}},
        "max-file-size": {"type": "number", "exclusiveMinimum": 0, "maximum": 2**20},
        "helm-values": {"type": "array", "items": {"type": "string"}},
        "helm-set": {"type": "array", "items": {"type": "string", "pattern": "="}},
        "helm-ci-values": {"type": "boolean"},
        "charts": {
            "type": "object",
            "additionalProperties": {
                "type": "object",
                "additionalProperties": False,
                "properties": {
                    "values": {"type": "array", "items": {"type": "string"}},
                    "set": {"type": "array", "items": {"type": "string", "pattern": "="}},
                },
            },
        },
        "unrendered-templates": {"enum": ["note", "error"]},
        "checks": {"type": "object"},  # each definition is validated when it is compiled
    },
}

CONFIG_FILE = ".prodready.yaml"


class ConfigError(Exception):
    """A configuration file that cannot be used; the message names the file, the key and what was expected."""


@dataclass
class Config:
    path: str | None = None  # the file it came from; None: defaults only
    settings: dict[str, Any] = field(default_factory=dict)
    checks: list[CustomCheck] = field(default_factory=list)  # compiled from `checks:`

    @property
    def directory(self) -> str:
        return os.path.dirname(os.path.abspath(self.path)) if self.path else os.getcwd()

    def get(self, key: str, default: Any = None) -> Any:
        return self.settings.get(key, default)

    def path_ignores(self) -> list[tuple[str, SuppressionMark]]:
        """(glob, mark) for each `per-path-ignores` entry, the mark at the entry's line."""
        return [
            (
                glob,
                SuppressionMark(
                    Location(self.path or "", _line_of(self.path or "", glob), 1),
                    tuple(rules),
                    f"per-path-ignores: {glob}",
                ),
            )
            for glob, rules in self.get("per-path-ignores", {}).items()
        ]

    def chart_values(self) -> dict[str, tuple[list[str], list[str]]]:
        """The values files and `--set` values of each chart of `charts:`, by the chart's real path."""
        return {
            os.path.realpath(os.path.join(self.directory, chart)): (
                [os.path.relpath(os.path.join(self.directory, file)) for file in own.get("values", [])],
                list(own.get("set", [])),
            )
            for chart, own in self.get("charts", {}).items()
        }

    @property
    def options(self) -> dict[str, Any]:
        """The rule options the file sets; a rule takes the declared default of any other."""
        return self.settings.get("options", {})


def _line_of(path: str, text: str) -> int:
    """The first line of the file that holds `text`; 1 when none does."""
    try:
        with open(path, encoding="utf-8", errors="replace") as handle:
            for number, line in enumerate(handle, start=1):
                if text in line:
                    return number
    except OSError:
        pass
    return 1


def _toml_line(path: str, keys: KeyPath) -> int:
    """The line of `[tool.prodready.checks.ACME001]` for ("checks", "ACME001"): TOML keeps no positions."""
    return _line_of(path, ".".join(map(str, keys)))


def _read_pyproject(path: str) -> dict | None:
    import tomllib

    with open(path, "rb") as handle:
        try:
            document = tomllib.load(handle)
        except tomllib.TOMLDecodeError as error:
            raise ConfigError(f"{path}: not valid TOML: {error}") from None
    tool = document.get("tool", {})
    return tool.get("prodready") if isinstance(tool, dict) else None


def _read_yaml(path: str) -> tuple[dict, Callable[[KeyPath], int]]:
    """The settings, and the line of each key path in them."""
    from prodready.sources.yaml import InvalidYaml, parse_documents

    with open(path, "rb") as handle:
        data = handle.read()
    try:
        documents = list(parse_documents(data, path))
    except InvalidYaml as error:
        raise ConfigError(f"{path}:{error.line + 1}: not valid YAML: {error}") from None
    body = documents[0].body if documents else None
    if body is None:
        return {}, lambda keys: 1
    if not isinstance(body, dict):
        raise ConfigError(f"{path}: expected a mapping of settings at the top level")
    rules = body.get("rules")
    if isinstance(rules, dict):  # YAML 1.1 reads an unquoted `off` as false
        body["rules"] = {rule: "off" if level is False else level for rule, level in rules.items()}
    document = documents[0]
    return body, lambda keys: document.positions.locate(body, keys, document.start).line


def schema() -> dict[str, Any]:
    """The configuration's JSON Schema, with the options every rule declares."""
    from prodready.registry import all_options

    options = {
        "type": "object",
        "additionalProperties": False,
        "properties": {option.name: option.schema for option in all_options()},
    }
    return {**SCHEMA, "properties": {**SCHEMA["properties"], "options": options}}


def validate(settings: Any, path: str) -> dict:
    import jsonschema

    validator = jsonschema.Draft7Validator(schema())
    errors = sorted(validator.iter_errors(settings), key=lambda e: list(e.absolute_path))
    if errors:
        error = errors[0]
        key = ".".join(str(part) for part in error.absolute_path) or "(top level)"
        raise ConfigError(f"{path}: {key}: {_explain(error)}")
    size = settings.get("max-file-size")
    if size is not None and not math.isfinite(size):  # NaN passes every comparison of the schema
        raise ConfigError(f"{path}: max-file-size: {size!r} is not a number of megabytes")
    return settings


def _explain(error: Any) -> str:
    if error.validator == "additionalProperties":
        allowed = ", ".join(sorted(error.schema.get("properties", {}))) or "nothing"
        return f"{error.message}; expected one of: {allowed}"
    if error.validator == "enum":
        return f"{error.instance!r} is not one of {', '.join(map(str, error.validator_value))}"
    return error.message


def load(path: str) -> Config:
    """Read and validate one configuration file, and compile its custom checks."""
    line_of: Callable[[KeyPath], int]  # the line of a key path in the file
    try:
        if os.path.basename(path) == "pyproject.toml":
            settings = _read_pyproject(path)
            line_of = functools.partial(_toml_line, path)
        else:
            settings, line_of = _read_yaml(path)
    except OSError as error:
        raise ConfigError(f"{path}: cannot read: {error.strerror or error}") from None
    settings = validate(settings if settings is not None else {}, path)
    _check_charts(settings.get("charts", {}), path, line_of)
    return Config(path, settings, _custom_checks(settings.get("checks", {}), path, line_of))


def _check_charts(charts: dict[str, Any], path: str, line_of: Callable[[KeyPath], int]) -> None:
    """Each chart of `charts:` is a directory holding Chart.yaml, and each of its values files exists."""
    directory = os.path.dirname(os.path.abspath(path))
    for chart, own in charts.items():
        where = f"{path}:{line_of(('charts', chart))}: charts: {chart}"
        if not os.path.isfile(os.path.join(directory, chart, "Chart.yaml")):
            raise ConfigError(
                f"{where}: no Helm chart there (no Chart.yaml in {os.path.join(directory, chart)})"
            )
        for file in own.get("values", []):
            if not os.path.isfile(os.path.join(directory, file)):
                raise ConfigError(f"{where}: values: {file} does not exist (relative to {directory})")


def _custom_checks(
    definitions: dict[str, Any], path: str, line_of: Callable[[KeyPath], int]
) -> list[CustomCheck]:
    from prodready.custom import InvalidCheck, compile_checks

    try:
        return compile_checks(definitions, lambda check_id: Location(path, line_of(("checks", check_id)), 1))
    except InvalidCheck as error:
        raise ConfigError(
            f"{error.location.file}:{error.location.line}: checks: {error.check_id}: {error}"
        ) from None


def discover_config(paths: list[str]) -> Config:
    """The configuration closest to the scanned paths: walk up from their common directory, stopping at
    the repository root."""
    directories = [
        os.path.abspath(p if os.path.isdir(p) else os.path.dirname(p) or ".") for p in paths if p != "-"
    ]
    directory = os.path.commonpath(directories) if directories else os.getcwd()
    while True:
        candidate = os.path.join(directory, CONFIG_FILE)
        if os.path.isfile(candidate):
            return load(candidate)
        pyproject = os.path.join(directory, "pyproject.toml")
        if os.path.isfile(pyproject) and _read_pyproject(pyproject) is not None:
            return load(pyproject)
        parent = os.path.dirname(directory)
        if parent == directory or os.path.exists(os.path.join(directory, ".git")):
            return Config()
        directory = parent
