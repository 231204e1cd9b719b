"""Drive a lifecycle node of another process through its real lifecycle_msgs services, as ``ros2 lifecycle``
and lifecycle managers do, and look at what it subscribes to and publishes through the ROS graph."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import rclpy
from lifecycle_msgs.msg import Transition
from lifecycle_msgs.srv import ChangeState, GetAvailableTransitions, GetState
from rcl_interfaces.srv import SetParameters
from rclpy.parameter import Parameter
from rclpy.qos import QoSProfile, ReliabilityPolicy

from orpose_ros.ros.background_node import BackgroundNode
from orpose_ros.ros.processes import wait_until

RELIABLE = QoSProfile(depth=10, reliability=ReliabilityPolicy.RELIABLE)
#: What every lifecycle node has in any state (besides its services), left out of `topics`.
ALWAYS = {"/rosout", "/parameter_events"}
TRANSITIONS = {"configure": Transition.TRANSITION_CONFIGURE, "activate": Transition.TRANSITION_ACTIVATE,
               "deactivate": Transition.TRANSITION_DEACTIVATE, "cleanup": Transition.TRANSITION_CLEANUP}
#: The shutdown transition from each primary state.
SHUTDOWN = {"unconfigured": Transition.TRANSITION_UNCONFIGURED_SHUTDOWN,
            "inactive": Transition.TRANSITION_INACTIVE_SHUTDOWN, "active": Transition.TRANSITION_ACTIVE_SHUTDOWN}


class LifecyclePeer:
    """An rclpy node in the test process that talks to the lifecycle node ``/<name>``; it may also publish
    on ``publish`` topics and record ``listen`` topics (in ``inbox[topic]``)."""

    def __init__(self, env: dict[str, str], name: str, publish: dict[str, type] | None = None,
                 listen: dict[str, type] | None = None) -> None:
        self.name = name
        self.ros = BackgroundNode(env, "orpose_lifecycle_peer")
        self.node = self.ros.node
        self._change = self.node.create_client(ChangeState, f"/{name}/change_state")
        self._get = self.node.create_client(GetState, f"/{name}/get_state")
        self._available = self.node.create_client(GetAvailableTransitions, f"/{name}/get_available_transitions")
        self._parameters = self.node.create_client(SetParameters, f"/{name}/set_parameters")
        self.publishers = {t: self.node.create_publisher(kind, t, RELIABLE) for t, kind in (publish or {}).items()}
        self.inbox: dict[str, list] = {}
        for topic, kind in (listen or {}).items():
            self.inbox[topic] = []
            self.node.create_subscription(kind, topic, self.inbox[topic].append, RELIABLE)
        self.ros.start()

    def _call(self, client, request, timeout: float):
        assert client.wait_for_service(timeout_sec=timeout), f"no service {client.srv_name}"
        future = client.call_async(request)
        assert wait_until(future.done, timeout), f"{client.srv_name} did not answer"
        return future.result()

    def state(self, timeout: float = 60.0) -> str:
        """The node's current state's label (unconfigured, inactive, active, finalized)."""
        return self._call(self._get, GetState.Request(), timeout).current_state.label

    def available(self, timeout: float = 60.0) -> set[str]:
        """The labels of the transitions the node offers now."""
        answer = self._call(self._available, GetAvailableTransitions.Request(), timeout)
        return {t.transition.label for t in answer.available_transitions}

    def change(self, transition: str, timeout: float = 300.0) -> bool:
        """Ask for ``transition`` (configure, activate, deactivate, cleanup, shutdown); True on success."""
        transition_id = SHUTDOWN[self.state()] if transition == "shutdown" else TRANSITIONS[transition]
        request = ChangeState.Request(transition=Transition(id=transition_id))
        return self._call(self._change, request, timeout).success

    def set_parameters(self, timeout: float = 60.0, **values: object) -> list:
        request = SetParameters.Request(parameters=[Parameter(k, value=v).to_parameter_msg()
                                                    for k, v in values.items()])
        return list(self._call(self._parameters, request, timeout).results)

    def topics(self) -> tuple[set[str], set[str]]:
        """(subscribed, published) topics of the node as the ROS graph knows them, without `ALWAYS` and the
        lifecycle's own transition_event publisher."""
        own = {f"/{self.name}/transition_event"} | ALWAYS
        subscribed = {t for t, _ in self.node.get_subscriber_names_and_types_by_node(self.name, "/")} - own
        published = {t for t, _ in self.node.get_publisher_names_and_types_by_node(self.name, "/")} - own
        return subscribed, published

    def wait_for_topics(self, subscribed: set[str], published: set[str], timeout: float = 60.0) -> bool:
        """Until the graph shows exactly these topics of the node (it is eventually consistent)."""
        def matches() -> bool:
            try:
                return self.topics() == (subscribed, published)
            except rclpy.node.NodeNameNonExistentError:  # not discovered yet
                return False
        return wait_until(matches, timeout)

    def publish_until(self, topic: str, make: Callable[[], object], answered: Callable[[], bool],
                      timeout: float = 120.0, every_s: float = 0.2) -> bool:
        """Publish ``make()`` on ``topic`` again and again until ``answered()`` (discovery may lose the first)."""
        return wait_until(lambda: self.publishers[topic].publish(make()) or answered(), timeout, every_s)

    def close(self) -> None:
        self.ros.close()


def failure_lines(log: Path, transition: str) -> list[str]:
    """The log lines that say ``transition`` failed."""
    return [line for line in log.read_text().splitlines() if f"{transition} failed" in line]


def rss_mb(pid: int) -> float:
    """The resident memory of process ``pid`` [MiB] (Linux /proc)."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError(f"no VmRSS for process {pid}")
