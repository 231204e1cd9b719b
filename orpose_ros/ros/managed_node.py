"""The lifecycle plumbing of orpose_ros's managed nodes (orpose_node, orpose_fusion_node,
orpose_privacy_filter, orpose_zone_monitor), written once.

A node derives from `ManagedNode` and fills in four steps; the base runs them inside the ROS 2
lifecycle transitions (``rclpy.lifecycle``: the ``<node>/change_state`` and ``<node>/get_state``
services that ``ros2 lifecycle`` and lifecycle managers call):

- configure: the parameters are read and validated (`ParameterSet.load`), then ``load(config)``
  loads what they name (model, calibration, zones);
- activate: ``start()`` creates the subscriptions, publishers and timers (with the node's usual
  ``create_*``: the base notes what was made, to destroy it) and starts any worker;
- deactivate: ``stop()`` stops the worker, then the base destroys everything ``start`` created: no
  subscription is left, what configure loaded is kept;
- cleanup: ``stop()`` if needed, then ``release()`` frees what configure loaded; the config is
  forgotten (every parameter may be set again);
- shutdown (from any state): as deactivate and cleanup.

A step that fails leaves the node in the state it came from, with everything that step made undone,
and logs ONE line (ERROR; FATAL while the entry point autostarts the node, which then exits 1).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Generic, TypeVar

from rclpy.lifecycle import LifecycleNode, LifecycleState, TransitionCallbackReturn
from rclpy.publisher import Publisher
from rclpy.subscription import Subscription
from rclpy.timer import Timer

from orpose_ros.ros.entry_point import one_line
from orpose_ros.ros.parameters import ConfigError, ParameterSet

ConfigT = TypeVar("ConfigT")
SUCCESS, FAILURE = TransitionCallbackReturn.SUCCESS, TransitionCallbackReturn.FAILURE


class ManagedNode(LifecycleNode, Generic[ConfigT]):
    """A lifecycle node whose parameters are a config dataclass with an ``autostart`` field.

    Subclasses implement `load`, `start`, `stop` and `release`; ``expected_errors`` are the errors a
    bad parameter or file raises (logged as one line; any other error is logged with its type).
    """

    expected_errors: tuple[type[BaseException], ...] = (ConfigError,)

    def __init__(self, name: str, config_type: type[ConfigT],
                 on_change: Callable[[ConfigT, ConfigT], None] | None = None) -> None:
        """Declare the parameters (none is validated before configure).

        Raises:
            ConfigError: rclpy refused a value given at start (wrong type, outside the declared range).
        """
        super().__init__(name)
        self.parameters: ParameterSet[ConfigT] = ParameterSet(config_type)
        self.parameters.declare_parameters(self, on_change, managed=True)
        #: Failure lines are FATAL while the entry point autostarts the node (the process then exits 1).
        self.fatal_failures = False
        self._active: list[Publisher | Subscription | Timer] = []
        self._started = False
        self._loaded = False

    @property
    def config(self) -> ConfigT:
        """The validated parameters; None while the node is unconfigured."""
        return self.parameters.config

    @property
    def autostart(self) -> bool:
        """The ``autostart`` parameter: configure and activate at start."""
        return bool(self.get_parameter("autostart").value)

    # --- what each node fills in ----------------------------------------------------------
    def load(self, config: ConfigT) -> str:
        """Load what ``config`` names; returns what was loaded, in a few words (for the log)."""
        raise NotImplementedError

    def start(self) -> str:
        """Create the subscriptions, publishers and timers and start the work; returns what the node does
        now, in a few words (logged after "ready: ")."""
        raise NotImplementedError

    def stop(self) -> None:
        """Stop the work `start` started (threads); the base destroys the ROS entities afterwards."""

    def release(self) -> None:
        """Free what `load` loaded (also after a `load` that failed half-way)."""

    def interrupt(self) -> None:
        """Make a running `stop` or `release` return soon (the process is being stopped: SIGINT, SIGTERM)."""

    # --- entities that live while the node is active ------------------------------------------
    def _entities(self) -> list[Publisher | Subscription | Timer]:
        return [*self.publishers, *self.subscriptions, *self.timers]

    def _destroy_active(self) -> None:
        for entity in reversed(self._active):
            if isinstance(entity, Publisher):
                self.destroy_publisher(entity)
            elif isinstance(entity, Subscription):
                self.destroy_subscription(entity)
            else:
                self.destroy_timer(entity)
        self._active.clear()

    # --- the transitions ------------------------------------------------------------------
    def on_configure(self, state: LifecycleState) -> TransitionCallbackReturn:
        return self._transition("configure", self._configure, self._unload)

    def on_activate(self, state: LifecycleState) -> TransitionCallbackReturn:
        result = self._transition("activate", self._start, self._halt)
        return super().on_activate(state) if result == SUCCESS else result  # the managed entities, if any

    def on_deactivate(self, state: LifecycleState) -> TransitionCallbackReturn:
        result = self._transition("deactivate", self._halt, lambda: None)
        return super().on_deactivate(state) if result == SUCCESS else result

    def on_cleanup(self, state: LifecycleState) -> TransitionCallbackReturn:
        return self._transition("cleanup", self._unload, lambda: None)

    def on_shutdown(self, state: LifecycleState) -> TransitionCallbackReturn:
        return self._transition("shut down", self.close, lambda: None)

    def on_error(self, state: LifecycleState) -> TransitionCallbackReturn:
        """A transition raised (none should: `_transition` catches): free everything, back to unconfigured."""
        self._unload()
        return SUCCESS

    def _transition(self, name: str, step: Callable[[], str | None], undo: Callable[[], None]) -> \
            TransitionCallbackReturn:
        try:
            done = step()
        except self.expected_errors as error:
            self._fail(f"{name} failed: {one_line(error)}", undo)
            return FAILURE
        except Exception as error:  # a bug or an unforeseen library error: still one line, still a defined state
            self._fail(f"{name} failed: {type(error).__name__}: {one_line(error)}", undo)
            return FAILURE
        if done:
            self.get_logger().info(done)
        return SUCCESS

    def _fail(self, line: str, undo: Callable[[], None]) -> None:
        try:
            undo()
        finally:
            (self.get_logger().fatal if self.fatal_failures else self.get_logger().error)(line)

    def _configure(self) -> str:
        config = self.parameters.load()
        self._loaded = True
        return f"configured: {self.load(config)}"

    def _start(self) -> str:
        before = set(self._entities())
        self._started = True
        try:
            return f"ready: {self.start()}"
        finally:  # whatever start made, also when it failed half-way
            self._active = [entity for entity in self._entities() if entity not in before]

    def _halt(self) -> None:
        if self._started:
            self._started = False
            self.stop()
        self._destroy_active()

    def _unload(self) -> None:
        self._halt()
        if self._loaded:
            self._loaded = False
            self.release()
        self.parameters.unload()

    # --- start and end of the process ---------------------------------------------------------
    def start_up(self) -> bool:
        """The entry point's first step: with ``autostart``, configure and activate (a failure is one FATAL
        line). Returns False when the node cannot run (the process should exit 1)."""
        if not self.autostart:
            self.get_logger().info("unconfigured (autostart is false): waiting for a lifecycle manager, e.g. "
                                   f"ros2 lifecycle set {self.get_fully_qualified_name()} configure")
            return True
        self.fatal_failures = True
        try:
            return self.trigger_configure() == SUCCESS and self.trigger_activate() == SUCCESS
        finally:
            self.fatal_failures = False

    def close(self) -> None:
        """Stop and free everything, whatever the state (the process ends: SIGINT, SIGTERM, shutdown)."""
        self.interrupt()
        self._unload()
