"""ROS parameters declared once: a frozen dataclass whose fields carry name, type, default, range,
description and whether they may change at run time. Declaration, validation, the frozen config
and runtime updates are all derived from it (`ParameterSet`).

    @dataclass(frozen=True)
    class MyConfig:
        rate_hz: float = parameter(10.0, "Publishing rate [Hz].", dynamic=True, float_range=(0.1, 100.0))

`orpose_ros.ros.parameter_docs` writes every node's README table and YAML file from the same source
(a test checks they agree).
"""

from __future__ import annotations

import dataclasses
import re
import textwrap
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from rcl_interfaces.msg import FloatingPointRange, IntegerRange, ParameterDescriptor, SetParametersResult
from rclpy.exceptions import ParameterException, ParameterUninitializedException
from rclpy.node import Node
from rclpy.parameter import Parameter

ConfigT = TypeVar("ConfigT")


class ConfigError(ValueError):
    """A parameter value the node cannot run with; the message names the parameter, the value and
    what is expected."""


@dataclass(frozen=True)
class Spec:
    """What a parameter accepts, besides its type (that of its default)."""

    description: str
    dynamic: bool = False
    int_range: tuple[int, int] | None = None
    float_range: tuple[float, float] | None = None
    choices: tuple[str, ...] = ()
    pattern: str = ""  # a full-match regular expression for strings
    check: Callable[[Any], str] | None = None  # returns what is wrong ("has duplicates"), or ""
    expect: str = ""  # what a value must be, in words, when the type and range do not say it

    def expected(self, default: object) -> str:
        """What a value must be, in words (for error messages)."""
        if self.expect:
            return self.expect
        kind = _KIND[type(default)]
        if self.choices:
            return f"one of {', '.join(self.choices)}"
        if self.int_range or self.float_range:
            lo, hi = self.int_range or self.float_range
            return f"{kind} in [{lo}, {hi}]"
        return kind

    def problem(self, value: object) -> str:
        """What is wrong with ``value`` ('' when nothing is): choices, pattern, ranges, own check."""
        if self.choices and value not in self.choices:
            return "is not an accepted value"
        if self.pattern and not re.fullmatch(self.pattern, str(value)):
            return "is not of the accepted form"
        span = self.int_range or self.float_range
        if span and not span[0] <= value <= span[1]:
            return "is out of range"
        return self.check(value) if self.check else ""


_KIND = {bool: "a boolean", int: "an integer", float: "a number", str: "a string", tuple: "a list of strings"}


def parameter(default: object, description: str, **spec: Any) -> Any:
    """A dataclass field that is a ROS parameter (see `Spec` for the keywords)."""
    meta = {"spec": Spec(description, **spec)}
    if isinstance(default, tuple):
        return dataclasses.field(default_factory=lambda: default, metadata=meta)
    return dataclasses.field(default=default, metadata=meta)


def topics_problem(topics: tuple[str, ...]) -> str:
    """What is wrong with a list of topics (empty, blank names, duplicates), or ''."""
    if not topics or any(not t.strip() for t in topics):
        return "must list at least one topic, none empty"
    return "has duplicates" if len(set(topics)) != len(topics) else ""


def _ros_value(value: object) -> object:
    return list(value) if isinstance(value, tuple) else value


def _shown(value: object) -> str:
    return repr(list(value)) if isinstance(value, (tuple, list)) else repr(value)


class ParameterSet(Generic[ConfigT]):
    """The parameters of a config dataclass, declared on a node and kept as a frozen config.

    Runtime changes of dynamic parameters are validated in the on-set callback and applied after it
    (post-set: ``config`` is replaced, then ``on_change(old, new)`` runs). rclpy refuses changes of
    read-only parameters itself. On Humble, which has no post-set callbacks, changes are applied at
    the end of the on-set callback instead. A lifecycle node's parameters (``managed``) may all be set
    while it is unconfigured (``config`` is None) and are validated when it configures (`load`).
    """

    def __init__(self, config_type: type[ConfigT]) -> None:
        self.config_type = config_type
        self.fields = {f.name: f for f in dataclasses.fields(config_type) if "spec" in f.metadata}
        self.config: ConfigT | None = None
        self._node: Node | None = None
        self._on_change: Callable[[ConfigT, ConfigT], None] | None = None
        self._managed = False

    def spec(self, name: str) -> Spec:
        return self.fields[name].metadata["spec"]

    def default(self, name: str) -> object:
        f = self.fields[name]
        return f.default_factory() if f.default is dataclasses.MISSING else f.default

    def declare(self, node: Node, on_change: Callable[[ConfigT, ConfigT], None] | None = None) -> ConfigT:
        """Declare every parameter on ``node``, validate them and return the frozen config (a plain node:
        the parameters that are not dynamic are read-only).

        Raises:
            ConfigError: a value of the wrong type, out of range or otherwise unusable (one line).
        """
        self.declare_parameters(node, on_change)
        return self.load()

    def declare_parameters(self, node: Node, on_change: Callable[[ConfigT, ConfigT], None] | None = None,
                           managed: bool = False) -> None:
        """Declare every parameter on ``node`` without validating them (`load` does).

        ``managed`` (a lifecycle node): every parameter may be set while there is no config (the node is
        unconfigured; `load` validates them at configure); once loaded, only the dynamic ones may change.
        Otherwise the parameters that are not dynamic are declared read-only.

        Raises:
            ConfigError: rclpy refused a value given at start (wrong type, outside the declared range).
        """
        self._node, self._on_change, self._managed = node, on_change, managed
        for name in self.fields:
            spec, default = self.spec(name), self.default(name)
            descriptor = ParameterDescriptor(description=spec.description,
                                             read_only=not (spec.dynamic or managed))
            if spec.int_range:
                descriptor.integer_range = [IntegerRange(from_value=spec.int_range[0], to_value=spec.int_range[1],
                                                         step=1)]
            if spec.float_range:
                descriptor.floating_point_range = [FloatingPointRange(from_value=spec.float_range[0],
                                                                      to_value=spec.float_range[1], step=0.0)]
            if spec.choices:
                descriptor.additional_constraints = f"one of: {', '.join(spec.choices)}"
            try:
                node.declare_parameter(name, _ros_value(default), descriptor)
            except ParameterException as error:
                raise ConfigError(self._message(name, _given(error))) from None
        node.add_on_set_parameters_callback(self._validate_change)
        if hasattr(node, "add_post_set_parameters_callback"):  # Iron and newer
            node.add_post_set_parameters_callback(self._apply_change)

    def load(self) -> ConfigT:
        """The node's current parameter values, validated, as the frozen config (kept in ``config``).

        Raises:
            ConfigError: a value the node cannot run with (one line naming the parameter); ``config`` is
                left as it was.
        """
        assert self._node is not None, "declare the parameters first"
        values = {name: self._converted(name, self._value(name)) for name in self.fields}
        config = self.config_type(**values)
        self._check_all(config)
        self.config = config
        return config

    def _value(self, name: str) -> object:
        try:
            return self._node.get_parameter(name).value
        except ParameterUninitializedException:  # declared without a value: what rcl makes of [] given at start
            return None

    def unload(self) -> None:
        """Forget the config (a managed node's cleanup): every parameter may be set again until `load`."""
        self.config = None

    def _converted(self, name: str, value: object) -> object:
        """A parameter value as the config holds it (string arrays as tuples); ConfigError on a wrong type."""
        default = self.default(name)
        if isinstance(default, tuple):
            if value is None:  # what rcl makes of [] on the command line
                raise ConfigError(self._message(name, "got an empty list"))
            if not isinstance(value, (list, tuple)) or not all(isinstance(v, str) for v in value):
                raise ConfigError(self._message(name, f"got {_shown(value)}"))
            return tuple(value)
        if type(value) is not type(default):
            raise ConfigError(self._message(name, f"got {_shown(value)} ({type(value).__name__})"))
        return value

    def _message(self, name: str, what: str) -> str:
        spec = self.spec(name)
        return f"parameter '{name}': {what}; expected {spec.expected(self.default(name))}"

    def _check_all(self, config: ConfigT) -> None:
        for name in self.fields:
            value = getattr(config, name)
            problem = self.spec(name).problem(value)
            if problem:
                raise ConfigError(self._message(name, f"{_shown(value)} {problem}"))
        check = getattr(config, "check", None)  # checks across parameters
        if check is not None:
            check()

    def _candidate(self, params: Iterable[Parameter]) -> ConfigT:
        changes = {p.name: self._converted(p.name, p.value) for p in params if p.name in self.fields}
        candidate = dataclasses.replace(self.config, **changes)
        self._check_all(candidate)
        return candidate

    def _validate_change(self, params: list[Parameter]) -> SetParametersResult:
        ours = [p for p in params if p.name in self.fields]
        if self._managed and self.config is None:  # unconfigured: any value of the right type, checked at load
            try:
                for p in ours:
                    self._converted(p.name, p.value)
            except ConfigError as error:
                return SetParametersResult(successful=False, reason=str(error))
            return SetParametersResult(successful=True)
        fixed = [p.name for p in ours if not self.spec(p.name).dynamic]
        if fixed:  # a managed node's (a plain node's are read-only descriptors, refused by rclpy)
            return SetParametersResult(successful=False, reason=(
                f"parameter '{fixed[0]}' is read-only while the node is configured; set it while the node is "
                "unconfigured (lifecycle transition cleanup), then configure"))
        try:
            candidate = self._candidate(params)
        except ConfigError as error:
            return SetParametersResult(successful=False, reason=str(error))
        if not hasattr(self._node, "add_post_set_parameters_callback"):  # Humble: apply now
            self._replace(candidate)
        return SetParametersResult(successful=True)

    def _apply_change(self, params: list[Parameter]) -> None:
        if self.config is None:  # a managed node while unconfigured: `load` reads the values at configure
            return
        self._replace(self._candidate(params))

    def _replace(self, new: ConfigT) -> None:
        old, self.config = self.config, new
        if self._on_change is not None:
            self._on_change(old, new)

    # --- documentation written from the same source ----------------------------------------
    def markdown_table(self) -> str:
        """The README table: | parameter | default | meaning |."""
        rows = ["| parameter | default | meaning |", "|---|---|---|"]
        for name in self.fields:
            spec = self.spec(name)
            runtime = " Changeable at run time." if spec.dynamic else ""
            rows.append(f"| `{name}` | `{_yaml(self.default(name))}` | {spec.description}{runtime} |")
        return "\n".join(rows)

    def yaml_body(self) -> str:
        """The ``ros__parameters`` entries with their descriptions as comments."""
        lines = []
        for name in self.fields:
            spec = self.spec(name)
            text = spec.description + (" Changeable at run time." if spec.dynamic else "")
            lines += textwrap.wrap(text, 100, initial_indent="    # ", subsequent_indent="    # ")
            lines.append(f"    {name}: {_yaml(self.default(name))}")
        return "\n".join(lines)


def _yaml(value: object) -> str:
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, tuple):
        return "[" + ", ".join(f'"{v}"' for v in value) + "]"
    if isinstance(value, str):
        return f'"{value}"'
    return repr(value)


def _given(error: ParameterException) -> str:
    """What rclpy refused in a declaration, in a few words: the value given and why."""
    text = " ".join(str(error).split())
    wrong_type = re.search(r"to '(.*)' of type '(\w+)'", text)
    if wrong_type:
        return f"got {wrong_type.group(1)} (of type {wrong_type.group(2).lower()})"
    out_of_range = re.search(r"Invalid parameter value \((.*?)\)", text)
    if out_of_range:
        return f"{out_of_range.group(1)} is out of range"
    return text
