"""The console entry point shared by the package's nodes: init, spin, one-line fatal errors, clean stop.

Works the same on Humble, Jazzy and Kilted: Ctrl-C (KeyboardInterrupt) and SIGTERM
(ExternalShutdownException) end the spin, the node's ``close()`` (when it has one) and
``destroy_node()`` run, and the exit code is 0; a start-up error is one FATAL line and exit code 1.
"""

from __future__ import annotations

import logging
import os
import re
import sys
from collections.abc import Callable

import rclpy
from rclpy.executors import ExternalShutdownException
from rclpy.node import Node

#: Seconds ``ros2 launch`` waits after SIGINT before it escalates; our nodes exit well within it.
SIGINT_GRACE_S = 5.0


def one_line(error: BaseException) -> str:
    """An exception as one line, without the source locations rcl appends."""
    text = re.sub(r",? at /\S+:\d+", "", " ".join(str(error).split()))
    return text or type(error).__name__


def run_node(name: str, make_node: Callable[[], Node], fatal: tuple[type[BaseException], ...],
             args: list[str] | None = None, exit_at_once: bool = False) -> int:
    """Create the node with ``make_node`` and spin it; ``fatal`` errors raised while creating it are
    reported as one line. Returns the exit code.

    With ``exit_at_once`` the process ends as soon as the node is down and ROS is shut down, without
    the interpreter's teardown: with torch loaded, freeing every module's objects takes seconds of
    CPU (measured: 2.5 s on this project's 2-core machine, more under load), which alone would
    overrun the 5 s that ``ros2 launch`` grants after SIGINT.
    """
    try:
        rclpy.init(args=args)
    except Exception as error:  # rclpy's RCLError, UnknownROSArgsError: malformed --ros-args
        what = "unknown ROS arguments" if type(error).__name__ == "UnknownROSArgsError" else "bad ROS arguments"
        print(f"[FATAL] [{name}]: {what}: {one_line(error)}", file=sys.stderr)
        return 1
    node: Node | None = None
    code = 0
    try:
        node = make_node()
        rclpy.spin(node)
    except fatal as error:
        rclpy.logging.get_logger(name).fatal(one_line(error))
        code = 1
    except (KeyboardInterrupt, ExternalShutdownException):
        pass
    finally:
        if node is not None:
            close = getattr(node, "close", None)
            if close is not None:
                close()
            node.destroy_node()
        rclpy.try_shutdown()
    if exit_at_once:
        logging.shutdown()
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(code)
    return code
