"""The instantiate stage: Terraform configurations as Terraform evaluates them.

A configuration is a root module and every module it calls. Each module call instantiates its child with
the caller's arguments as variable values (defaults otherwise, shaped by the variable's type), once per
`count` or `for_each` instance; outputs flow back as `module.<name>.<output>`; every resource block gives
one resource per instance, its body evaluated with `count.index` or `each` bound. A collection that is
not known gives one instance that may not exist: it is context for other resources, never judged.

Each instance remembers where its values were written, for the locate stage: a value the caller passed
points at the caller's argument (in the outermost caller that wrote it), a child default at the module
call that could have set it.
"""

from __future__ import annotations

import gc
import os
from collections.abc import Iterator
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

from prodready.model import (
    DEFAULTED,
    INVALID_INPUT,
    UNKNOWN,
    Location,
    Notification,
    Positions,
    Problem,
    Resource,
    TerraformInstance,
    mark,
)
from prodready.sources.hcl import (
    SPLAT,
    Block,
    Call,
    Conditional,
    ForExpr,
    Literal,
    ObjectExpr,
    Reference,
    TupleExpr,
)
from prodready.sources.terraform import (
    Evaluator,
    ModuleFile,
    TerraformModules,
    conform,
    is_local_source,
    module_calls,
    references_in,
    variable_values,
)

# Names that start a reference to something other than a resource. Resource types always hold an
# underscore (`aws_s3_bucket`), which also tells them from `for` and `dynamic` iterators.
_NOT_RESOURCES = {"var", "local", "each", "count", "self", "path", "terraform", "module", "data"}

# How deep module calls may nest, how many instances one count or for_each may make, and how many module
# and resource instances one configuration may make (nested counts multiply): real configurations stay
# far below all three; past them the instances are unknown.
MAX_DEPTH = 16
MAX_INSTANCES = 10_000
MAX_CONFIGURATION_INSTANCES = 100_000

_KINDS = {"resource": lambda labels: labels[0], "data": lambda labels: f"data.{labels[0]}"}


@dataclass
class Instantiated:
    resources: list[Resource] = field(default_factory=list)
    problems: list[tuple[str, Problem]] = field(default_factory=list)
    notifications: list[Notification] = field(default_factory=list)


class _Shape:
    """The blocks of one module directory, read once for all its instances."""

    def __init__(self, files: list[ModuleFile], found: dict[int, list[Reference]]) -> None:
        self.found = found  # the references in each expression, by identity: shared by every module
        self.files = [f for f in files if f.path.endswith(".tf")]
        self.all_files = files
        self.variables: dict[str, tuple[ModuleFile, Block]] = {}
        self.locals: dict[str, tuple[ModuleFile, Any]] = {}
        self.outputs: dict[str, Any] = {}
        self.resources: list[tuple[ModuleFile, Block]] = []
        self.providers: list[Block] = []
        for module_file in self.files:
            for block in module_file.parsed.blocks:
                if block.type == "variable" and block.labels:
                    self.variables[block.labels[0]] = (module_file, block)
                elif block.type == "locals":
                    for name, attribute in block.attributes.items():
                        self.locals[name] = (module_file, attribute.expression)
                elif block.type == "output" and block.labels and "value" in block.attributes:
                    self.outputs[block.labels[0]] = block.attributes["value"].expression
                elif block.type in _KINDS and len(block.labels) >= 2:
                    self.resources.append((module_file, block))
                elif block.type == "provider" and block.labels:
                    self.providers.append(block)
        self.calls = {block.labels[0]: (f, block, source) for f, block, source in module_calls(self.files)}
        self.local_expressions = {name: expression for name, (_, expression) in self.locals.items()}
        self._local_inputs: dict[str, list[str]] = {}

    def references(self, expression: Any) -> list[Reference]:
        """references_in(expression), once for each expression of the configuration."""
        key = id(expression)
        if key not in self.found:
            self.found[key] = list(references_in(expression))
        return self.found[key]

    def local_inputs(self, name: str) -> list[str]:
        """The variables a local reads, directly or through other locals."""
        if name not in self._local_inputs:
            self._local_inputs[name] = []  # a cycle reads none
            if name in self.locals:
                try:
                    self._local_inputs[name] = self.inputs(self.locals[name][1], {})
                except RecursionError:  # a chain of locals too long to follow
                    pass
        return self._local_inputs[name]

    def inputs(self, expression: Any, iterators: dict[str, list[str]]) -> list[str]:
        """The variables an expression reads; `iterators` says what `each`, `count` or a dynamic block's
        iterator reads."""
        names: list[str] = []
        for reference in self.references(expression):
            root, steps = reference.steps[0], reference.steps
            if root == "var" and len(steps) > 1:
                names.append(steps[1])
            elif root == "local" and len(steps) > 1:
                names.extend(self.local_inputs(steps[1]))
            elif root in iterators:
                names.extend(iterators[root])
        return list(dict.fromkeys(names))


def _instances(block: Block, evaluator: Evaluator, bindings: dict) -> list[tuple[str, dict]] | None:
    """(address key, bindings) of each instance a block's count or for_each makes; None when that
    collection is not known."""
    count = block.attributes.get("count")
    if count is not None:
        number = evaluator.value(count.expression, bindings)
        if isinstance(number, bool) or not isinstance(number, (int, float)) or number > MAX_INSTANCES:
            return None
        return [(f"[{index}]", {"count": {"index": index}}) for index in range(int(number))]
    for_each = block.attributes.get("for_each")
    if for_each is not None:
        collection = evaluator.value(for_each.expression, bindings)
        if isinstance(collection, list) and all(isinstance(key, str) for key in collection):
            collection = {key: key for key in collection}  # a set of strings
        if not isinstance(collection, dict) or len(collection) > MAX_INSTANCES:
            return None
        return [
            (f'["{key}"]', {"each": {"key": key, "value": item}}) for key, item in sorted(collection.items())
        ]
    return [("", {})]


_UNKNOWN_INSTANCE = ("[*]", {"count": {"index": UNKNOWN}, "each": {"key": UNKNOWN, "value": UNKNOWN}})


@dataclass
class _Shared:
    """What every configuration of one scan shares: module shapes, the references of each expression,
    what was already reported, and the module calls not on disk, by the root module that makes them."""

    shapes: dict[str, _Shape] = field(default_factory=dict)
    found: dict[int, list[Reference]] = field(default_factory=dict)
    reported: set[tuple[str, int]] = field(default_factory=set)
    missing: dict[str, list[tuple[str, str]]] = field(default_factory=dict)  # (file:line, what)


class _Configuration:
    """One root module and everything it calls, instantiated on demand."""

    def __init__(self, modules: TerraformModules, root: str, result: Instantiated, shared: _Shared) -> None:
        self.modules = modules
        self.root = root
        self.result = result
        self.shared = shared
        self.instances_left = MAX_CONFIGURATION_INSTANCES

    def instances(self, block: Block, evaluator: Evaluator) -> list[tuple[str, dict]] | None:
        """The instances a block makes (see `_instances`); None, unknown, once the configuration has made
        as many as it may."""
        made = _instances(block, evaluator, {})
        if made is not None and len(made) > self.instances_left:
            if self.instances_left >= 0:
                self.result.notifications.append(
                    Notification(
                        f"the configuration in {self.root} makes more than {MAX_CONFIGURATION_INSTANCES:,} "
                        "module and resource instances: those past that many are not checked"
                    )
                )
            self.instances_left = -1
            return None
        if made is not None:
            self.instances_left -= len(made)
        return made

    def shape(self, directory: str) -> _Shape:
        shapes = self.shared.shapes
        if directory not in shapes:
            shapes[directory] = _Shape(self.modules.modules[directory], self.shared.found)
        return shapes[directory]

    def child_directory(self, caller: _ModuleInstance, name: str, source: str | None) -> str | None:
        """Where the module a call names is: what `terraform init` recorded for it, or a local path."""
        installed = self.modules.installed.get(self.root, {})
        key = ".".join([*caller.call_names, name])
        if key in installed:
            return installed[key]
        if source is not None and is_local_source(source):
            return os.path.normpath(os.path.join(caller.directory, source))
        return None

    def not_on_disk(self, module_file: ModuleFile, block: Block, call: tuple[str, str]) -> None:
        if (module_file.path, block.line) not in self.shared.reported:
            self.shared.reported.add((module_file.path, block.line))
            self.shared.missing.setdefault(self.root, []).append(call)

    def problem_once(self, module_file: ModuleFile, block: Block, message: str) -> None:
        if (module_file.path, block.line) not in self.shared.reported:
            self.shared.reported.add((module_file.path, block.line))
            location = Location(module_file.path, block.line, block.column)
            self.result.problems.append((INVALID_INPUT, Problem(message, location=location)))


class _ModuleInstance:
    def __init__(
        self,
        configuration: _Configuration,
        directory: str,
        parent: _ModuleInstance | None = None,
        call: tuple[ModuleFile, Block, str, dict] | None = None,  # in the parent: file, block, key, bindings
        known: bool = True,
        anchor: Location | None = None,
    ) -> None:
        self.configuration = configuration
        self.directory = directory
        self.shape = configuration.shape(directory)
        self.parent = parent
        self.call = call
        self.known = known
        self.anchor = anchor
        self.editable = directory in configuration.modules.scanned
        self.call_names: list[str] = []
        if parent is None or call is None:
            self.address, self.depth = "", 0
            self.variables = self._root_variables()
            self.origins: dict[str, Any] = {}
        else:
            name = call[1].labels[0]
            self.address = f"{parent.address + '.' if parent.address else ''}module.{name}{call[2]}"
            self.call_names = [*parent.call_names, name]
            self.depth = parent.depth + 1
            self.variables, self.origins = self._caller_variables(parent, call)
        self.evaluator = Evaluator(
            self.variables, self.shape.local_expressions, self._module_value, directory
        )
        self._calls: dict[str, tuple[bool, list[_ModuleInstance]] | None] = {}
        self._outputs: dict | None = None
        self._addresses: dict[tuple[str, str], set[str]] = {}

    # --- inputs ------------------------------------------------------------------------------------

    def _root_variables(self) -> dict[str, Any]:
        values = variable_values(self.shape.all_files, self.configuration.modules.var_files)
        for name, (_, block) in self.shape.variables.items():
            values[name] = conform(values.get(name, UNKNOWN), _type(block), Evaluator({}, {}))
        return values

    def _caller_variables(
        self, parent: _ModuleInstance, call: tuple[ModuleFile, Block, str, dict]
    ) -> tuple[dict[str, Any], dict[str, Any]]:
        call_file, block, _, bindings = call
        plain = Evaluator({}, {})
        values: dict[str, Any] = {}
        origins: dict[str, Any] = {}
        iterators = parent.call_iterators(block)
        for name, (_, variable) in self.shape.variables.items():
            argument = block.attributes.get(name)
            default = variable.attributes.get("default")
            found: Any = UNKNOWN
            if argument is not None:
                found = parent.evaluator.value(argument.expression, bindings)
                origin = parent.origin(argument.expression, found, iterators, bindings)
                if "each" in bindings and "for_each" in block.attributes:
                    collection = (block.attributes["for_each"].expression, call_file.path)
                    origin = parent.written_item(
                        argument.expression, bindings["each"]["key"], collection, origin, iterators
                    )
                origins[name] = (
                    Location(call_file.path, argument.line, argument.column) if origin is None else origin
                )
            nullable = variable.attributes.get("nullable")
            not_nullable = nullable is not None and plain.value(nullable.expression) is False
            if argument is None or (found is None and not_nullable):
                found = plain.value(default.expression) if default else UNKNOWN
                origins[name] = DEFAULTED
            values[name] = conform(found, _type(variable), plain)
        return values, origins

    def call_iterators(self, block: Block) -> dict[str, list[str]]:
        """What `each` and `count` read in a block of this module."""
        expressions = [
            block.attributes[name].expression for name in ("for_each", "count") if name in block.attributes
        ]
        inputs = [name for expression in expressions for name in self.shape.inputs(expression, {})]
        return {"each": inputs, "count": inputs}

    def origin(
        self, expression: Any, found: Any, iterators: dict[str, list[str]], bindings: dict | None = None
    ) -> Any:
        """Where the value of an expression of this module was written, when not here: a caller's
        argument (a Location) or a child default (DEFAULTED); None when this module writes it."""
        if self.parent is None:
            return None
        names = self.shape.inputs(expression, iterators)
        if not names:
            return None
        # `var.blue_green ? coalesce(var.retention, 1) : …`: the value comes from the branch taken, when
        # that reads inputs; what chose it is the origin only when the branch is a literal. (With one
        # input, either way it is that one.)
        while len(names) > 1 and type(expression) is Conditional:
            condition = self.evaluator.value(expression.condition, bindings)
            branch = expression.if_true if condition is True else expression.if_false
            if not isinstance(condition, bool) or not self.shape.inputs(branch, iterators):
                break
            expression, names = branch, self.shape.inputs(branch, iterators)
        written = [name for name in names if isinstance(self.origins.get(name), Location)]
        matching = [name for name in written if _same(self.variables.get(name), found)]
        if matching or written:
            return self.origins[(matching or written)[0]]
        return DEFAULTED

    @cached_property
    def default_tags(self) -> dict[str, Any]:
        """The `default_tags` of each provider configuration that has them, by its name in this module
        (`aws`, `aws.replica`): the caller's default configurations, or those its `providers` argument
        passes (then only those), under this module's own provider blocks."""
        found: dict[str, Any] = {}
        if self.parent is not None and self.call is not None:
            passed = self.call[1].attributes.get("providers")
            if passed is None:
                found = {name: tags for name, tags in self.parent.default_tags.items() if "." not in name}
            elif isinstance(passed.expression, ObjectExpr):
                for key, target in passed.expression.items:
                    name = _provider_name(key)
                    tags = self.parent.default_tags.get(_provider_name(target) or "")
                    if name is not None and tags is not None:
                        found[name] = tags
        for block in self.shape.providers:
            alias = block.attributes.get("alias")
            name = block.labels[0] + (f".{self.evaluator.value(alias.expression)}" if alias else "")
            defaults = next((child for child in block.blocks if child.type == "default_tags"), None)
            if defaults is not None and "tags" in defaults.attributes:
                found[name] = self.evaluator.value(defaults.attributes["tags"].expression)
            else:
                found.pop(name, None)
        return found

    # --- module calls and outputs ------------------------------------------------------------------

    def calls(self, name: str) -> tuple[bool, list[_ModuleInstance]] | None:
        """(whether the call makes several instances, its instances); None when its module cannot be read."""
        if name not in self._calls:
            self._calls[name] = None  # a call whose inputs read its own outputs sees them unknown
            self._calls[name] = self._instantiate_call(name)
        return self._calls[name]

    def _instantiate_call(self, name: str) -> tuple[bool, list[_ModuleInstance]] | None:
        if name not in self.shape.calls:
            return None
        module_file, block, source = self.shape.calls[name]
        configuration = self.configuration
        directory = configuration.child_directory(self, name, source)
        if directory is None or directory not in configuration.modules.modules:
            shown = source if source is not None else "a source that is not a plain string"
            where = f"{os.path.relpath(module_file.path, configuration.root)}:{block.line}"
            configuration.not_on_disk(module_file, block, (where, f"module.{name} ({shown}, {where})"))
            return None
        chain = self._ancestors()
        if directory in (instance.directory for instance in chain) or self.depth >= MAX_DEPTH:
            calls = " → ".join(f"module.{n}" for n in [*self.call_names, name])
            what = "calls itself" if self.depth < MAX_DEPTH else f"nests more than {MAX_DEPTH} module calls"
            configuration.problem_once(
                module_file, block, f"module call chain {calls} {what}; not instantiated"
            )
            return None
        several = "count" in block.attributes or "for_each" in block.attributes
        made = configuration.instances(block, self.evaluator)
        known = self.known and made is not None
        children = []
        for key, bindings in made if made is not None else [_UNKNOWN_INSTANCE]:
            anchor = self.anchor
            if self.parent is None:
                anchor = self._element(block, bindings, module_file) or Location(
                    module_file.path, block.line, block.column
                )
            children.append(
                _ModuleInstance(
                    configuration, directory, self, (module_file, block, key, bindings), known, anchor
                )
            )
        return several, children

    def _ancestors(self) -> list[_ModuleInstance]:
        chain: list[_ModuleInstance] = []
        current: _ModuleInstance | None = self
        while current is not None:
            chain.append(current)
            current = current.parent
        return chain

    def _element(self, block: Block, bindings: dict, module_file: ModuleFile) -> Location | None:
        """The line of the item of the collection a root module's `for_each` names that made an instance."""
        each = bindings.get("each")
        for_each = block.attributes.get("for_each")
        if not each or for_each is None:
            return None
        return self.item_location(for_each.expression, [each["key"]], module_file.path)[0]

    def item_location(self, expression: Any, steps: list, path: str) -> tuple[Location | None, bool]:
        """Where the item that `steps` (keys and attribute names) reach in `expression`, a collection
        of this module written in `path`, is written literally: here, in a local, or in the callers that
        passed it on (through their `for_each` too); the deepest item written when the rest is not, and
        whether that item is the one `steps` reach."""
        owner: _ModuleInstance = self
        found: Location | None = None
        each: tuple[Block, Any] | None = None  # in a caller: its module call and the instance's key
        rebuilt = False
        for _ in range(32):  # what real configurations nest stays far below
            kind = type(expression)
            if kind is ObjectExpr and steps:
                item = next(
                    (
                        (value, position)
                        for (key, value), position in zip(
                            expression.items, expression.positions, strict=False
                        )
                        if isinstance(key, Literal) and key.value == steps[0]
                    ),
                    None,
                )
                if item is None:
                    break
                expression, found, steps = item[0], Location(path, *item[1]), steps[1:]
            elif kind is TupleExpr and steps:  # a set's item is its own key; a list's, its index
                index = next(
                    (n for n, item in enumerate(expression.items) if item == Literal(steps[0])),
                    steps[0],
                )
                if not isinstance(index, int) or not 0 <= index < len(expression.positions):
                    break
                found = Location(path, *expression.positions[index])
                expression, steps = expression.items[index], steps[1:]
            elif kind is ForExpr and expression.key == Reference((expression.key_name,)):
                if expression.value != Reference((expression.value_name,)):
                    rebuilt, steps = True, steps[:1]  # only the key still says which item
                expression = expression.collection
            elif kind is Call and expression.name in ("tomap", "toset") and expression.arguments:
                expression = expression.arguments[0]
            elif kind is Conditional:
                condition = owner.evaluator.value(expression.condition)
                if not isinstance(condition, bool):
                    break
                expression = expression.if_true if condition else expression.if_false
            elif kind is Reference and len(expression.steps) >= 2:
                root, name, rest = expression.steps[0], expression.steps[1], list(expression.steps[2:])
                steps = rest + steps
                if root == "local" and name in owner.shape.locals:
                    module_file, expression = owner.shape.locals[name]
                    path = module_file.path
                elif root == "var" and owner.call is not None and name in owner.call[1].attributes:
                    call_file, block, _, bindings = owner.call
                    expression, path = block.attributes[name].expression, call_file.path
                    each = (block, bindings["each"]["key"]) if "each" in bindings else None
                    owner = owner.parent  # type: ignore[assignment]  # a module with a call has a caller
                elif root == "var" and name in owner.shape.variables:
                    variable_file, variable = owner.shape.variables[name]
                    default = variable.attributes.get("default")
                    if default is None:
                        break
                    expression, path = default.expression, variable_file.path
                elif root == "each" and name == "value" and each is not None:
                    expression, steps = each[0].attributes["for_each"].expression, [each[1], *steps]
                    each = None
                else:
                    break
            else:
                break
        return found, not steps and not rebuilt

    def written_item(
        self, expression: Any, each_key: Any, collection: tuple[Any, str], origin: Any, iterators: dict
    ) -> Any:
        """`origin` narrowed for a value of a block whose `for_each` is `collection` (its expression and
        file) and that reads `each.value`: the line, in the caller, of the item that holds the value, or
        of the item that leaves it out when the value comes from the collection's argument."""
        if not isinstance(origin, Location):
            return origin
        collection_origins = [self.origins.get(name) for name in iterators.get("each", [])]
        for reference in self.shape.references(expression):
            if reference.steps[:2] != ("each", "value"):
                continue
            steps = list(reference.steps[2:])
            steps = steps[: steps.index(SPLAT)] if SPLAT in steps else steps
            found, complete = self.item_location(collection[0], [each_key, *steps], collection[1])
            if found is None or os.path.dirname(found.file) == self.directory:
                continue
            if complete or origin in collection_origins:
                return found
        return origin

    def _module_value(self, name: str) -> Any:
        """`module.<name>` as the evaluator reads it: the outputs of the call's instances."""
        made = self.calls(name)
        if made is None:
            return UNKNOWN
        several, children = made
        if any(not child.known for child in children):
            return UNKNOWN
        if not several:
            return children[0].outputs() if children else UNKNOWN
        keys = [child.call[2] for child in children if child.call]
        if all(key.startswith('["') for key in keys):
            return {key[2:-2]: child.outputs() for key, child in zip(keys, children, strict=True)}
        return [child.outputs() for child in children]

    def outputs(self) -> dict:
        if self._outputs is None:
            self._outputs = {}  # outputs that read each other through the caller are unknown
            self._outputs = {
                name: self.evaluator.value(expression) for name, expression in self.shape.outputs.items()
            }
        return self._outputs

    # --- references --------------------------------------------------------------------------------

    def addresses(
        self, expression: Any, skip: frozenset[str] = frozenset(), each: set[str] | None = None
    ) -> set[str]:
        """The resources of the configuration an expression mentions: directly, through this module's
        variables (what the caller passed), locals, and other modules' outputs. `skip`: iterator names."""
        found: set[str] = set()
        prefix = self.address + "." if self.address else ""
        for reference in self.shape.references(expression):
            steps = reference.steps
            root = steps[0]
            names = [step for step in steps if isinstance(step, str) and step != SPLAT]
            if root in skip:
                continue
            if root in ("each", "count") and each is not None:
                found |= each
            elif root in ("var", "local") and len(names) >= 2:
                found |= self._memo((root, names[1]))
            elif root == "module" and len(names) >= 2:
                found |= self._output_addresses(steps[1:])
            elif root == "data" and len(names) >= 3:
                found.add(prefix + ".".join(names[:3]))
            elif "_" in root and root not in _NOT_RESOURCES and len(names) >= 2:
                found.add(prefix + ".".join(names[:2]))
        return found

    def _memo(self, key: tuple[str, str]) -> set[str]:
        if key not in self._addresses:
            self._addresses[key] = set()  # a cycle adds nothing, nor a chain too long to follow
            try:
                self._addresses[key] = self._compute(key)
            except RecursionError:
                pass
        return self._addresses[key]

    def _compute(self, key: tuple[str, str]) -> set[str]:
        kind, name = key
        if kind == "local":
            local = self.shape.locals.get(name)
            return self.addresses(local[1]) if local else set()
        if kind == "output":
            expression = self.shape.outputs.get(name)
            return self.addresses(expression) if expression is not None else set()
        if self.parent is None or self.call is None:  # a root's variables come from outside
            return set()
        argument = self.call[1].attributes.get(name)
        if argument is None:
            return set()
        parent_each = self.parent.addresses_of_collection(self.call[1])
        return self.parent.addresses(argument.expression, each=parent_each)

    def addresses_of_collection(self, block: Block) -> set[str]:
        found: set[str] = set()
        for name in ("for_each", "count"):
            if name in block.attributes:
                found |= self.addresses(block.attributes[name].expression)
        return found

    def _output_addresses(self, steps: tuple) -> set[str]:
        name = steps[0]
        made = self.calls(name)
        if made is None:
            return {f"{self.address + '.' if self.address else ''}module.{name}"}
        several, children = made
        rest = steps[1:]
        if several and rest and rest[0] != SPLAT:
            wanted = f'["{rest[0]}"]' if isinstance(rest[0], str) else f"[{rest[0]}]"
            keyed = [child for child in children if child.call and child.call[2] == wanted]
            if keyed:
                children, rest = keyed, rest[1:]
        output = next((step for step in rest if isinstance(step, str) and step != SPLAT), None)
        found: set[str] = set()
        for child in children:
            if output is not None and output in child.shape.outputs:
                found |= child._memo(("output", output))
            else:
                for each_output in child.shape.outputs:
                    found |= child._memo(("output", each_output))
        return found

    # --- resources ---------------------------------------------------------------------------------

    def resources(self) -> Iterator[Resource]:
        """The resources of this instance and of every instance it calls."""
        for module_file, block in self.shape.resources:
            yield from self._resource_instances(module_file, block)
        for name, (module_file, block, _) in self.shape.calls.items():
            made = self.calls(name)
            if made is None:
                yield from self._resource_instances(
                    module_file, block
                )  # a module not on disk: the call itself
                continue
            for child in made[1]:
                yield from child.resources()

    def _resource_instances(self, module_file: ModuleFile, block: Block) -> Iterator[Resource]:
        made = self.configuration.instances(block, self.evaluator)
        if made == []:
            return
        known = self.known and made is not None
        iterators = self.call_iterators(block)
        each = self.addresses_of_collection(block)
        positions = Positions(module_file.path)
        kind = "module" if block.type == "module" else _KINDS[block.type](block.labels)
        references = frozenset(self._block_addresses(block, each))  # the same for every instance
        for key, bindings in made if made is not None else [_UNKNOWN_INSTANCE]:
            instance = TerraformInstance(
                self.configuration.root,
                self.address,
                key if block.type != "module" else "",
                known,
                self.anchor,
                self.editable,
            )
            for_each = block.attributes.get("for_each")
            collection = (for_each.expression, module_file.path) if for_each is not None else None
            builder = _BodyBuilder(self, positions, instance.origins if self.parent else None, collection)
            body = builder.build(block, bindings, iterators)
            defaults = self.default_tags.get(_provider(block)) if block.type == "resource" else None
            if defaults is not None:
                body["tags_all"] = _tagged(body.get("tags", {}), defaults)
            yield Resource(
                kind=kind,
                name=block.labels[-1] if block.type != "module" else block.labels[0],
                module=self.directory,
                body=body,
                file=module_file.path,
                start=Location(module_file.path, block.line, block.column),
                positions=positions,
                references=references,
                instance=instance,
            )

    def _block_addresses(
        self, block: Block, each: set[str], iterators: frozenset[str] = frozenset()
    ) -> set[str]:
        """Everything a block mentions, leaving out the iterators of its `dynamic` blocks."""
        found: set[str] = set()
        for attribute in block.attributes.values():
            found |= self.addresses(attribute.expression, iterators, each)
        for child in block.blocks:
            if child.type == "lifecycle":  # `ignore_changes = [tags]` names attributes, not resources
                continue
            inner = iterators | {_iterator(child)} if child.type == "dynamic" and child.labels else iterators
            found |= self._block_addresses(child, each, inner)
        return found


def _provider_name(expression: Any) -> str | None:
    """`aws` or `aws.replica`, as a key or a value of a module call's `providers` argument."""
    if isinstance(expression, Literal) and isinstance(expression.value, str):
        return expression.value
    if isinstance(expression, Reference) and all(isinstance(step, str) for step in expression.steps):
        return ".".join(expression.steps)
    return None


def _provider(block: Block) -> str:
    """The provider configuration a resource uses: its `provider` argument, else the default one of the
    provider its type names (`aws_s3_bucket` → `aws`)."""
    chosen = block.attributes.get("provider")
    name = _provider_name(chosen.expression) if chosen is not None else None
    return name or block.labels[0].split("_")[0]


def _tagged(tags: Any, defaults: Any) -> Any:
    """`tags_all` as the provider computes it: its default tags, under the resource's own."""
    if not isinstance(tags, dict) or not isinstance(defaults, dict):
        return UNKNOWN
    return {**defaults, **tags}


def _iterator(block: Block) -> str:
    iterator = block.attributes.get("iterator")
    if iterator and isinstance(iterator.expression, Reference):
        return str(iterator.expression.steps[0])
    return block.labels[0]


def _type(variable: Block) -> Any:
    attribute = variable.attributes.get("type")
    return attribute.expression if attribute is not None else None


def _same(a: Any, b: Any) -> bool:
    try:
        return bool(a == b)
    except Exception:  # values too deep to compare are not the same
        return False


class _BodyBuilder:
    """Evaluates a block into a plain dict (nested blocks as lists of dicts) and records positions, and
    for an instance of a called module where each value was written (`origins`)."""

    def __init__(
        self,
        instance: _ModuleInstance,
        positions: Positions,
        origins: dict | None,
        collection: tuple[Any, str] | None,  # the block's for_each expression and its file
    ) -> None:
        self.instance = instance
        self.evaluator = instance.evaluator
        self.table = positions.table
        self.origins = origins
        self.collection = collection

    def build(self, block: Block, bindings: dict[str, Any], iterators: dict[str, list[str]]) -> dict:
        body: dict = {}
        marks: dict = {}
        self.table[id(body)] = marks
        written: dict = {}
        for name, attribute in block.attributes.items():
            marks[name] = mark(attribute.line, attribute.column)
            evaluated = self.evaluator.value(attribute.expression, bindings)
            if self.origins is not None:
                origin = self._origin(attribute.expression, evaluated, bindings, iterators)
                if origin is not None:
                    written[name] = origin
            if (
                evaluated is not None
            ):  # `x = null` is the same as leaving x out, but findings still point at it
                body[name] = evaluated
        if written and self.origins is not None:
            self.origins[id(body)] = written
        for child in block.blocks:
            if child.type == "dynamic" and child.labels:
                self._dynamic(child, body, marks, bindings, iterators)
                continue
            self._append(body, marks, child.type, self.build(child, bindings, iterators), child)
        return body

    def _origin(self, expression: Any, found: Any, bindings: dict[str, Any], iterators: dict) -> Any:
        """Where the value of an expression of the block was written (see `_ModuleInstance.origin`), down
        to the item of the caller's collection when the block is made from one."""
        origin = self.instance.origin(expression, found, iterators, bindings)
        if self.collection is not None and "each" in bindings:
            key = bindings["each"]["key"]
            origin = self.instance.written_item(expression, key, self.collection, origin, iterators)
        return origin

    def _append(self, body: dict, marks: dict, block_type: str, built: Any, block: Block) -> None:
        siblings = body.get(block_type)
        if siblings is UNKNOWN:
            return
        if not isinstance(siblings, list):
            siblings = body[block_type] = []
            self.table[id(siblings)] = []
            marks[block_type] = mark(block.line, block.column)
        siblings.append(built)
        self.table[id(siblings)].append(mark(block.line, block.column))

    def _dynamic(
        self, block: Block, body: dict, marks: dict, bindings: dict[str, Any], iterators: dict[str, list[str]]
    ) -> None:
        """`dynamic "x" { for_each = …; content { … } }` counts as the blocks it generates when
        `for_each` is known; otherwise the blocks of type x are UNKNOWN."""
        block_type = block.labels[0]
        for_each = block.attributes.get("for_each")
        content = next((child for child in block.blocks if child.type == "content"), None)
        items = self.evaluator.value(for_each.expression, bindings) if for_each else UNKNOWN
        iterator = _iterator(block)
        known = content is not None and isinstance(items, (list, dict))
        if content is None or not isinstance(items, (list, dict)) or (not items and block_type not in body):
            # No blocks, or blocks not known: a finding about them points at what decided that.
            if not known:
                body[block_type] = UNKNOWN
                marks.setdefault(block_type, mark(block.line, block.column))
            if self.origins is not None and for_each is not None:
                origin = self._origin(for_each.expression, items, bindings, iterators)
                if origin is not None:
                    self.origins.setdefault(id(body), {})[block_type] = origin
            return
        inner_iterators = {
            **iterators,
            iterator: self.instance.shape.inputs(for_each.expression, iterators) if for_each else [],
        }
        pairs = items.items() if isinstance(items, dict) else enumerate(items)
        for key, item in pairs:
            generated = self.build(
                content, {**bindings, iterator: {"key": key, "value": item}}, inner_iterators
            )
            self._append(body, marks, block_type, generated, block)


def _roots(modules: TerraformModules) -> list[str]:
    """The scanned module directories that no other scanned module calls."""
    called: set[str] = set()
    for directory in modules.scanned:
        installed = modules.installed.get(directory, {})
        for _, block, source in module_calls(modules.modules[directory]):
            name = block.labels[0]
            if name in installed:
                called.add(installed[name])
            elif source is not None and is_local_source(source):
                child = os.path.normpath(os.path.join(directory, source))
                if child != directory:
                    called.add(child)
    return sorted(directory for directory in modules.scanned if directory not in called)


def _file_and_line(where: str) -> tuple[str, int]:
    file, _, line = where.rpartition(":")
    return file, int(line)


def instantiate(modules: TerraformModules, cache: bool = False) -> Instantiated:
    """Every configuration among the scanned modules, instantiated; with `cache`, from the parse cache
    when it holds the same files instantiated by the same code."""
    # Instantiating builds millions of dicts and lists: the cyclic collector would walk the growing heap
    # again and again (two thirds of the time at 5,000 instances). What it built is frozen, as loaded:
    # the module instances too, whose cycles (parent and children) cost less memory than a collection
    # would cost time.
    collecting = gc.isenabled()
    gc.disable()
    try:
        if not cache:
            return _instantiate(modules)
        from prodready.cache import ParseCache

        store, key = ParseCache("instances"), _cache_key(modules)
        found = store.get(key, tuple)
        if found is not None:
            try:
                return _restored(*found)
            except (TypeError, ValueError, AttributeError):  # an entry this code did not write
                pass
        result = _instantiate(modules)
        store.put(key, _portable(result))
        return result
    finally:
        if collecting:
            gc.freeze()
            gc.enable()


def _instantiate(modules: TerraformModules) -> Instantiated:
    result = Instantiated()
    shared = _Shared()
    for root in _roots(modules):
        configuration = _Configuration(modules, root, result, shared)
        try:
            result.resources.extend(_ModuleInstance(configuration, root).resources())
        except RecursionError:
            files = modules.modules[root]
            problem = Problem(
                "nested too deeply to evaluate; the module was not checked",
                location=Location(files[0].path, 1, 1),
            )
            result.problems.append((INVALID_INPUT, problem))
    for root, found in shared.missing.items():
        calls = [what for _, what in sorted(found, key=lambda call: _file_and_line(call[0]))]
        shown = "; ".join(calls[:3]) + (f"; and {len(calls) - 3} more" if len(calls) > 3 else "")
        several = len(calls) > 1
        result.notifications.append(
            Notification(
                f"{len(calls)} module call{'s' if several else ''} of the configuration in {root} "
                f"{'are' if several else 'is'} not on disk ({shown}): what {'they create' if several else 'it creates'} "
                f"is not checked and {'their' if several else 'its'} outputs are unknown; run `terraform init` there to check {'them' if several else 'it'}",
            )
        )
    return result


# --- the cache -------------------------------------------------------------------------------------


def _cache_key(modules: TerraformModules) -> bytes:
    """What instantiating reads: every module file and var file (its path and content), the directories
    scanned, what `terraform init` recorded, and the code that instantiates."""
    import hashlib
    import inspect
    import json
    import sys

    code = hashlib.sha256()
    for name in (
        "prodready.instantiate",
        "prodready.sources.terraform",
        "prodready.sources.hcl",
        "prodready.model",
    ):
        try:  # a working copy changes this code without changing the version in the cache's name
            code.update(inspect.getsource(sys.modules[name]).encode())
        except (OSError, TypeError):  # installed without its source: the version is what tells them apart
            pass
    read = {
        "code": code.hexdigest(),
        "modules": {d: [(f.path, f.digest) for f in files] for d, files in modules.modules.items()},
        "scanned": sorted(modules.scanned),
        "installed": modules.installed,
        "var_files": [(f.path, f.digest) for f in modules.var_files],
    }
    return json.dumps(read).encode()


def _portable(result: Instantiated) -> tuple:
    """The result as the cache keeps it. Positions and origins are keyed by the identity of the dicts and
    lists of a body, which pickling does not keep: they travel as (node, entry) pairs as well."""
    positions: dict[int, tuple[Positions, list]] = {}
    origins = []
    for resource in result.resources:
        table = resource.positions.table
        nodes = _built_nodes(resource.body, table)
        pairs = positions.setdefault(id(resource.positions), (resource.positions, []))[1]
        pairs.extend((node, table[id(node)]) for node in nodes)
        instance = resource.instance
        if instance is not None and instance.origins:
            written = instance.origins
            origins.append((instance, [(node, written[id(node)]) for node in nodes if id(node) in written]))
    return result.resources, result.problems, result.notifications, list(positions.values()), origins


def _built_nodes(body: dict, table: dict[int, Any]) -> list:
    """The dicts and lists of a body that have positions: those the body builder made, which are all that
    the locate stage can reach."""
    nodes: list = []
    stack: list = [body]
    while stack:
        node = stack.pop()
        if id(node) in table:
            nodes.append(node)
            children = node.values() if isinstance(node, dict) else node
            stack.extend(child for child in children if isinstance(child, (dict, list)))
    return nodes


def _restored(
    resources: list[Resource],
    problems: list[tuple[str, Problem]],
    notifications: list[Notification],
    positions: list[tuple[Positions, list]],
    origins: list[tuple[TerraformInstance, list]],
) -> Instantiated:
    for kept, pairs in positions:
        kept.table = {id(node): entry for node, entry in pairs}
    for instance, pairs in origins:
        instance.origins = {id(node): entry for node, entry in pairs}
    return Instantiated(resources, problems, notifications)
