"""The console entry point shared by the package's nodes: init, spin, one-line fatal errors, clean stop.

Works the same on Humble, Jazzy and Kilted: Ctrl-C and SIGTERM end the spin, the node's ``close()``
(when it has one) and ``destroy_node()`` run, and the exit code is 0; a start-up error is one FATAL
line and exit code 1.

Ctrl-C in a terminal reaches a launched node at least twice: the terminal signals the whole process
group, then ``ros2 launch`` forwards its own SIGINT, and users press it again. Only the first SIGINT
may stop anything: `StopRequests` turns it into a stop (a KeyboardInterrupt while the node is being
built, else rclpy's own handler, which shuts the context down and so ends the spin), and every later
one is only counted, so that no KeyboardInterrupt can break the node's shutdown (where it used to
end in ``terminate called without an active exception``, exit -6, or exit -2).

The nodes' console scripts (and `processes.node_command`) start through `console_main`, which installs
`StopRequests` before the node's module is imported: importing torch takes a second or more, and a
Ctrl-C then used to end in a traceback and exit -2. This module imports rclpy only when a node runs.
"""

from __future__ import annotations

import ctypes
import faulthandler
import importlib
import logging
import os
import re
import signal
import sys
from collections.abc import Callable
from types import FrameType
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from rclpy.executors import Executor
    from rclpy.node import Node

#: The nodes' modules by console script name; each has ``main(args=None) -> int``.
NODE_MODULES = {
    "orpose_node": "orpose_ros.ros.node",
    "orpose_fusion_node": "orpose_ros.ros.fusion_node",
    "orpose_privacy_filter": "orpose_ros.ros.privacy_filter_node",
    "orpose_room_demo": "orpose_ros.ros.room_demo",
    "orpose_zone_monitor": "orpose_ros.ros.zone_monitor_node",
}

#: Seconds ``ros2 launch`` waits after SIGINT before it escalates; our nodes exit well within it.
SIGINT_GRACE_S = 5.0

#: Longest a spinning node waits before it checks whether a signal shut ROS down [s]. rclpy's signal thread
#: first wakes the executor, then shuts the context down: an executor that wakes in between finds ROS still
#: up and waits again, and a node with no timer (a lifecycle node unconfigured, inactive or finalized) then
#: waited for ever on one SIGINT (seen in CI on Jazzy; the same on Kilted).
SHUTDOWN_CHECK_S = 0.25

#: Environment variable: "1" makes `console_main` ask the kernel to send the node SIGTERM when the process that
#: started it dies, even by SIGKILL (a killed tool or test run then leaves no node behind in its ROS domain);
#: "0" or unset: the node outlives its parent. `processes.ros_child_env` sets "1".
EXIT_WITH_PARENT = "ORPOSE_EXIT_WITH_PARENT"
_PR_SET_PDEATHSIG = 1  # linux/prctl.h


def one_line(error: BaseException) -> str:
    """An exception as one line, without the source locations rcl appends."""
    text = re.sub(r",? at /\S+:\d+", "", " ".join(str(error).split()))
    return text or type(error).__name__


class StopRequests:
    """The Python-level SIGINT handler of a node process: the first SIGINT raises KeyboardInterrupt only
    while the node is being built (``starting``); later ones, and all of them once it spins, are counted.

    It is installed before ``rclpy.init``, so that rclpy's handler (installed by init) chains to it: while
    spinning, rclpy's handler alone stops the node (it shuts the context down; the spin then raises
    ExternalShutdownException). Once ROS is shut down, `run_node` ignores SIGINT for the rest of the
    process (the interpreter's teardown).
    """

    def __init__(self) -> None:
        self.count = 0
        self.starting = True

    def install(self) -> None:
        signal.signal(signal.SIGINT, self)

    @classmethod
    def installed(cls) -> StopRequests:
        """The StopRequests handling SIGINT (installing one when none does yet)."""
        current = signal.getsignal(signal.SIGINT)
        if isinstance(current, cls):
            return current
        stops = cls()
        stops.install()
        return stops

    def __call__(self, signum: int, frame: FrameType | None) -> None:
        self.count += 1
        if self.count == 1 and self.starting:
            self.starting = False  # set before raising: a second SIGINT cannot raise again
            raise KeyboardInterrupt


def print_stacks_on_sigusr1() -> None:
    """From now on ``kill -USR1 PID`` prints every thread's Python stack to stderr and the process runs on:
    where a node that does not stop, or does not answer, is waiting. `processes.stop` asks for it before it
    kills a child that ignored SIGINT."""
    faulthandler.register(signal.SIGUSR1, all_threads=True)


def request_exit_with_parent() -> bool:
    """When `EXIT_WITH_PARENT` is "1", ask the kernel for SIGTERM to this process once its parent dies (Linux
    ``prctl``; the parent is the thread that started it). Returns whether the parent is gone already (this
    process was adopted by init before the request took effect). Any other value than "0", "1" or unset is
    reported and ignored (returns False)."""
    value = os.environ.get(EXIT_WITH_PARENT, "0")
    if value == "0":
        return False
    if value != "1":
        print(f"[WARN] {EXIT_WITH_PARENT}={value!r} is neither 0 nor 1: the node will outlive its parent",
              file=sys.stderr)
        return False
    if not sys.platform.startswith("linux") or ctypes.CDLL(None).prctl(_PR_SET_PDEATHSIG, signal.SIGTERM, 0, 0, 0):
        print(f"[WARN] {EXIT_WITH_PARENT}=1 is not supported here: the node will outlive its parent", file=sys.stderr)
        return False
    return os.getppid() == 1


def console_main(module: str) -> int:
    """Run node module ``module``'s ``main()``, with SIGINT a clean stop (exit 0) from this moment on, its
    imports included, SIGUSR1 a dump of every thread's stack and, with `EXIT_WITH_PARENT`, an end with its
    parent."""
    StopRequests.installed()
    print_stacks_on_sigusr1()
    if request_exit_with_parent():  # the parent is gone already
        print("[WARN] the process that started this node is gone: not starting", file=sys.stderr)
        return 0
    try:
        main = importlib.import_module(module).main
    except KeyboardInterrupt:
        signal.signal(signal.SIGINT, signal.SIG_IGN)  # stopped before the node existed; teardown left
        return 0
    return main()


def orpose_node() -> int:
    """Console script orpose_node."""
    return console_main(NODE_MODULES["orpose_node"])


def orpose_fusion_node() -> int:
    """Console script orpose_fusion_node."""
    return console_main(NODE_MODULES["orpose_fusion_node"])


def orpose_privacy_filter() -> int:
    """Console script orpose_privacy_filter."""
    return console_main(NODE_MODULES["orpose_privacy_filter"])


def orpose_room_demo() -> int:
    """Console script orpose_room_demo."""
    return console_main(NODE_MODULES["orpose_room_demo"])


def orpose_zone_monitor() -> int:
    """Console script orpose_zone_monitor."""
    return console_main(NODE_MODULES["orpose_zone_monitor"])


def spin_until_shutdown(executor: Executor) -> None:
    """Spin ``executor`` until ROS is shut down (a signal: SIGINT, SIGTERM), looking every `SHUTDOWN_CHECK_S`;
    ExternalShutdownException when the shutdown comes while it waits. Use it, not ``executor.spin()``."""
    import rclpy

    while rclpy.ok():
        executor.spin_once(timeout_sec=SHUTDOWN_CHECK_S)


def run_node(name: str, make_node: Callable[[], Node], fatal: tuple[type[BaseException], ...],
             args: list[str] | None = None, exit_at_once: bool = False) -> int:
    """Create the node with ``make_node`` and spin it; ``fatal`` errors raised while creating it are
    reported as one line. Returns the exit code.

    A lifecycle node (`ManagedNode`, with ``start_up``) is configured and activated first when its
    ``autostart`` parameter is true: a failure there is one FATAL line and exit code 1, as for a plain
    node. With autostart false it spins unconfigured, and a failed transition only logs its line.

    With ``exit_at_once`` the process ends as soon as the node is down and ROS is shut down, without
    the interpreter's teardown: with torch loaded, freeing every module's objects takes seconds of
    CPU (measured: 2.5 s on this project's 2-core machine, more under load), which alone would
    overrun the 5 s that ``ros2 launch`` grants after SIGINT.
    """
    import rclpy
    from rclpy.executors import ExternalShutdownException, SingleThreadedExecutor

    stops = StopRequests.installed()
    try:
        rclpy.init(args=args)
    except KeyboardInterrupt:  # Ctrl-C before the node existed
        rclpy.try_shutdown()
        return 0
    except Exception as error:  # rclpy's RCLError, UnknownROSArgsError: malformed --ros-args
        what = "unknown ROS arguments" if type(error).__name__ == "UnknownROSArgsError" else "bad ROS arguments"
        print(f"[FATAL] [{name}]: {what}: {one_line(error)}", file=sys.stderr)
        return 1
    node: Node | None = None
    code = 0
    executor: SingleThreadedExecutor | None = None
    try:
        # made before the node: an executor created after a SIGINT shut the context down fails half-built
        executor = SingleThreadedExecutor()
        node = make_node()
        start_up = getattr(node, "start_up", None)  # a lifecycle node: configure and activate when autostart
        if start_up is not None and not start_up():
            code = 1  # its one FATAL line is logged
        else:
            stops.starting = False
            executor.add_node(node)
            spin_until_shutdown(executor)
    except fatal as error:
        rclpy.logging.get_logger(name).fatal(one_line(error))
        code = 1
    except (KeyboardInterrupt, ExternalShutdownException):
        pass
    except Exception:
        if rclpy.ok():
            raise
        # a signal shut the context down while the node was being built: its next ROS call failed
    finally:
        if node is not None:
            close = getattr(node, "close", None)
            if close is not None:
                close()
            if executor is not None:
                executor.remove_node(node)
            node.destroy_node()
        if executor is not None:
            executor.shutdown()
        rclpy.try_shutdown()
        # Python's finalisation resets a handler function to SIG_DFL (a late SIGINT would then kill the
        # process, exit -2), but leaves SIG_IGN: nothing is left to stop.
        signal.signal(signal.SIGINT, signal.SIG_IGN)
    if exit_at_once:
        logging.shutdown()
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(code)
    return code


if __name__ == "__main__":  # python -m orpose_ros.ros.entry_point MODULE [--ros-args ...]
    sys.exit(console_main(sys.argv.pop(1)))
