"""The YAML loader: values as Kubernetes reads them, positions of every key, and bad input that becomes
PR001 instead of an exception."""

import pytest
from prodready.sources.yaml import load_manifests, resolve_plain


def load(text: str | bytes):
    data = text.encode() if isinstance(text, str) else text
    return load_manifests(data, "m.yaml")


@pytest.mark.parametrize(
    "text, value",
    [
        ("3", 3),
        ("-3", -3),
        ("0x1F", 31),
        ("0755", 493),
        ("0o17", 15),
        ("1_000", 1000),
        ("0.5", 0.5),
        ("1e3", 1000.0),
        (".inf", float("inf")),
        ("true", True),
        ("on", True),
        ("No", False),
        ("null", None),
        ("~", None),
        ("500m", "500m"),
        ("1Gi", "1Gi"),
        ("=", "="),
        ("08x", "08x"),
    ],
)
def test_plain_scalars_resolve_like_kubernetes(text, value):
    assert resolve_plain(text) == value


def test_quoted_and_tagged_scalars_stay_text():
    [resource], _ = load(
        'apiVersion: v1\nkind: Pod\nmetadata: {name: "3"}\nspec: {a: !!str 4, b: !custom 5, c: "on"}\n'
    )
    assert resource.name == "3"
    assert resource.body["spec"] == {"a": "4", "b": 5, "c": "on"}


def test_positions_point_at_keys_and_items_and_fall_back_to_the_nearest_ancestor():
    text = "# Source: chart/templates/pod.yaml\napiVersion: v1\nkind: Pod\nmetadata:\n  name: web\nspec:\n  containers:\n    - name: a\n      image: x\n"
    [resource], problems = load(text)
    assert problems == []
    assert (resource.locate(("metadata", "name")).line, resource.locate(("metadata", "name")).column) == (
        5,
        3,
    )
    container = resource.locate(("spec", "containers", 0))
    assert (container.line, container.column) == (8, 7)
    assert resource.locate(("spec", "containers", 0, "resources", "limits")).line == 8
    assert resource.locate(("spec", "containers", 5)).line == 7


def test_documents_after_a_syntax_error_are_still_read():
    text = "apiVersion: v1\nkind: Pod\nmetadata: {name: a}\n---\nkey: [broken\n---\napiVersion: v1\nkind: Pod\nmetadata: {name: b}\n"
    resources, problems = load(text)
    assert [r.name for r in resources] == ["a", "b"]
    assert resources[1].locate(("metadata", "name")).line == 9
    assert [(rule, p.location.line) for rule, p in problems] == [("PR001", 6)]


def test_list_items_become_resources_with_their_own_positions():
    text = "apiVersion: v1\nkind: List\nitems:\n  - apiVersion: v1\n    kind: Service\n    metadata: {name: s}\n  - apiVersion: apps/v1\n    kind: Deployment\n    metadata:\n      name: d\n"
    resources, _ = load(text)
    assert [(r.kind, r.name, r.locate(("metadata", "name")).line) for r in resources] == [
        ("Service", "s", 6),
        ("Deployment", "d", 10),
    ]


def test_merge_keys_and_aliases():
    text = "apiVersion: v1\nkind: Pod\nmetadata: {name: p}\nbase: &base {a: 1, b: 2}\nspec:\n  <<: *base\n  b: 3\n"
    [resource], _ = load(text)
    assert resource.body["spec"] == {"a": 1, "b": 3}


def test_duplicate_keys_keep_the_last_value_and_are_reported_at_the_second():
    [resource], problems = load("apiVersion: v1\nkind: Pod\nmetadata: {name: p}\nspec: 1\nspec: 2\n")
    assert resource.body["spec"] == 2
    assert [(rule, p.location.line) for rule, p in problems] == [("PR002", 5)]


def invalid(text):
    resources, problems = load(text)
    assert resources == []
    [(rule, problem)] = problems
    assert rule == "PR001"
    return problem


def test_alias_bomb_is_refused():
    lines = ["a: &a [x, x, x, x, x, x, x, x, x]"]
    for level in range(1, 9):
        lines.append(
            f"{chr(97 + level)}: &{chr(97 + level)} [" + ", ".join([f"*{chr(96 + level)}"] * 9) + "]"
        )
    problem = invalid("\n".join(lines) + "\n")
    assert "alias bomb" in problem.message


def test_deep_nesting_is_refused():
    problem = invalid("[" * 10_000 + "]" * 10_000)
    assert "nested deeper" in problem.message


def test_binary_and_non_utf8_files():
    assert "binary" in invalid(b"\x7fELF\x00\x00\x01").message
    problem = invalid(b"a: 1\nb: caf\xe9\n")
    assert (problem.location.line, problem.location.column) == (2, 7)


def test_unknown_alias():
    assert "unknown alias" in invalid("a: *nowhere\n").message


def test_bom_and_crlf():
    [resource], problems = load(b"\xef\xbb\xbfapiVersion: v1\r\nkind: Pod\r\nmetadata:\r\n  name: p\r\n")
    assert problems == [] and resource.locate(("metadata", "name")).line == 4


def test_helm_source_comments_belong_to_the_document_below_them():
    text = "---\n# Source: web/templates/service.yaml\napiVersion: v1\nkind: Service\nmetadata: {name: s}\n---\napiVersion: v1\nkind: ConfigMap\nmetadata: {name: plain}\n---\n# Source: web/templates/deployment.yaml\napiVersion: apps/v1\nkind: Deployment\nmetadata: {name: d}\n"
    resources, _ = load(text)
    assert [(r.name, r.helm_source, r.start.line) for r in resources] == [
        ("s", "web/templates/service.yaml", 3),
        ("plain", None, 7),
        ("d", "web/templates/deployment.yaml", 12),
    ]
