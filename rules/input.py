"""Problems with the input itself, found while loading it. The loaders find them; these rules report them,
so that selection, levels and suppressions treat them like any other finding."""

from collections.abc import Iterator

from prodready.index import Index
from prodready.model import (
    DUPLICATE_KEY,
    INVALID_INPUT,
    NOT_AN_OBJECT,
    UNUSED_SUPPRESSION,
    Level,
    Problem,
    Scope,
    SuppressionMark,
)
from prodready.registry import rule


@rule(INVALID_INPUT, "invalid-input", Level.ERROR, section=None, scope=Scope.UNIT)
def invalid_input(index: Index) -> Iterator[Problem]:
    """A file could not be read as YAML or HCL.

    ## What it checks
    Every scanned file must parse: valid YAML syntax, UTF-8 text, no binary content, under the size limit
    (`--max-file-size`, 50 MB by default), no alias bombs, no nesting deeper than 200 levels. The finding
    points at the line where the parser gave up; documents before it, and after the next `---`, are still
    checked, and so is every other file.

    ## Why it matters
    A manifest that does not parse is not applied, or is applied differently from what its author
    meant. A file that cannot be read also hides every other problem in it.

    ## Example
    ```yaml
    spec:
      containers:
    <TAB>- name: web     # a tab in the indentation: YAML forbids it
    ```

    ## Fix
    Correct the syntax at the line shown. Helm templates are not YAML until rendered: scan the output of
    `helm template` instead of the chart's `templates/` directory.
    """
    yield from index.input_problems(INVALID_INPUT)


@rule(DUPLICATE_KEY, "duplicate-key", Level.WARNING, section=None, scope=Scope.UNIT)
def duplicate_key(index: Index) -> Iterator[Problem]:
    """A YAML mapping has the same key twice.

    ## What it checks
    Every key of a mapping must be unique. The finding points at the second occurrence.

    ## Why it matters
    The API server keeps one of the values and silently drops the other, so the object running in the
    cluster differs from what the reviewer read.

    ## Example
    ```yaml
    resources:
      limits:
        memory: 256Mi
      limits:            # replaces the first `limits`
        cpu: "1"
    ```

    ## Fix
    Merge the two entries into one.
    """
    yield from index.input_problems(DUPLICATE_KEY)


@rule(NOT_AN_OBJECT, "not-a-k8s-object", Level.NOTE, section=None, scope=Scope.UNIT, default_on=False)
def not_a_k8s_object(index: Index) -> Iterator[Problem]:
    """A YAML document is not a Kubernetes object (off by default).

    ## What it checks
    Reports documents without `apiVersion` and `kind`, and `List` items that are not objects. Such
    documents (Helm values, application configs) are skipped silently unless this rule is selected.

    ## Why it matters
    A manifest that lost its `kind` in a bad merge is never applied; enabling this rule finds it in a
    directory that should hold only manifests.

    ## Example
    ```yaml
    metadata:
      name: web
    spec:
      replicas: 3
    ```

    ## Fix
    Add `apiVersion` and `kind`, or keep non-manifest YAML out of the scanned paths.
    """
    yield from index.input_problems(NOT_AN_OBJECT)


@rule(UNUSED_SUPPRESSION, "unused-suppression", Level.NOTE, section=None, scope=Scope.SUPPRESSIONS)
def unused_suppression(unused: list[tuple[SuppressionMark, tuple[str, ...]]]) -> Iterator[Problem]:
    """A suppression suppresses nothing.

    ## What it checks
    Every `# prodready:ignore` comment, `prodready.io/ignore` annotation and `per-path-ignores` entry must
    suppress at least one finding of each rule it names (among the rules that ran). The finding points at
    the comment, the annotation or the configuration line.

    ## Why it matters
    A suppression outlives the problem it hid: once the manifest is fixed or the resource moved, a stale
    suppression silently hides the next, real problem at that place.

    ## Example
    ```yaml
    metadata:
      annotations:
        prodready.io/ignore: "PR301"   # the Deployment now runs 3 replicas
    ```

    ## Fix
    Remove the suppression, or the rule IDs in it that no longer match anything.
    """
    for mark, rules in unused:
        names = ", ".join(rules)
        yield Problem(f"suppression of {names} matches no finding; remove it", location=mark.location)
