"""An rclpy node with its own context, spun by a background thread: how a test, a benchmark or a tool talks
to orpose's nodes running as other processes while its own thread waits, publishes and checks."""

from __future__ import annotations

import os
import threading
from collections.abc import Mapping

import rclpy
from rclpy.executors import SingleThreadedExecutor
from rclpy.node import Node

from orpose_ros.ros.dds import PROFILE_VARIABLE

#: The environment variables that decide which ROS graph a node joins, where it logs and its Fast DDS profile
#: (read when the process's first participant is created), copied from the other processes' environment.
GRAPH_VARIABLES = ("ROS_AUTOMATIC_DISCOVERY_RANGE", "ROS_DOMAIN_ID", "ROS_LOG_DIR", PROFILE_VARIABLE)


class BackgroundNode:
    """A node ``name`` in the graph of ``env`` (its `GRAPH_VARIABLES` are set in this process's environment).

    Create its publishers, subscriptions and clients on ``node``, then `start` spinning it; `close` stops the
    thread and shuts its context down. Callbacks run on the spinning thread.
    """

    def __init__(self, env: Mapping[str, str], name: str) -> None:
        for key in GRAPH_VARIABLES:
            if key in env:
                os.environ[key] = env[key]
        self.context = rclpy.Context()
        rclpy.init(context=self.context)
        self.node: Node = rclpy.create_node(name, context=self.context)
        self.executor = SingleThreadedExecutor(context=self.context)
        self.executor.add_node(self.node)
        self._running = False
        self._thread = threading.Thread(target=self._spin, name=f"{name}_spin", daemon=True)

    def start(self) -> None:
        """Spin the node in the background (every 50 ms at least, so that `close` is prompt)."""
        self._running = True
        self._thread.start()

    def _spin(self) -> None:
        while self._running and self.context.ok():
            self.executor.spin_once(timeout_sec=0.05)

    def close(self) -> None:
        """Stop spinning and shut the node and its context down."""
        self._running = False
        if self._thread.is_alive():
            self._thread.join(5)
        self.executor.shutdown()
        self.node.destroy_node()
        rclpy.try_shutdown(context=self.context)
