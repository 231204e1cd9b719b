"""Starting and stopping ROS 2 processes: the one home of what the demo, the benchmarks and the
tests need to run nodes beside each other on this machine.

Every child gets DDS on loopback only (``ROS_AUTOMATIC_DISCOVERY_RANGE=LOCALHOST``), its group's
own random ``ROS_DOMAIN_ID``, and never inherits the ROS wheels' re-exec guard (each Python must
set its own library path). Processes stop like ``ros2 launch`` stops them: SIGINT, then SIGKILL; a node
also stops when the process that started it dies (`entry_point.EXIT_WITH_PARENT`).
"""

from __future__ import annotations

import logging
import os
import random
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path

from orpose_ros.ros.dds import PROFILE_VARIABLE, shipped_profile
from orpose_ros.ros.entry_point import EXIT_WITH_PARENT

logger = logging.getLogger(__name__)

#: Set by the ROS wheels' bootstrapper once it has re-executed Python with its library path.
_REEXEC_GUARD = "_ROS_WHEELS_BOOTSTRAP_COMPLETE"


def ros_child_env(
    base: Mapping[str, str] | None = None,
    *,
    domain_id: int | None = None,
    log_dir: Path | None = None,
    dds_profile: Path | bool | None = True,
    exit_with_parent: bool = True,
) -> dict[str, str]:
    """The environment of ROS 2 children started together.

    Args:
        base: the environment to start from (default: this process's).
        domain_id: ``ROS_DOMAIN_ID``; None: a random one in 1..101 (valid for loopback discovery).
        log_dir: ``ROS_LOG_DIR`` (rcl otherwise writes to ~/.ros/log); None: unchanged.
        dds_profile: True: the shipped Fast DDS profile unless ``base`` names one; a path: that
            profile; None or False: none (Fast DDS defaults).
        exit_with_parent: nodes end (SIGTERM) when the process that started them dies, even by SIGKILL.
    """
    env = dict(os.environ if base is None else base)
    env.pop(_REEXEC_GUARD, None)
    env["ROS_AUTOMATIC_DISCOVERY_RANGE"] = "LOCALHOST"
    env["ROS_DOMAIN_ID"] = str(random.SystemRandom().randint(1, 101) if domain_id is None else domain_id)
    env["PYTHONUNBUFFERED"] = "1"
    env[EXIT_WITH_PARENT] = "1" if exit_with_parent else "0"
    if log_dir is not None:
        env["ROS_LOG_DIR"] = str(log_dir)
    if dds_profile is True:
        env.setdefault(PROFILE_VARIABLE, str(shipped_profile()))
    elif dds_profile:
        env[PROFILE_VARIABLE] = str(dds_profile)
    else:
        env.pop(PROFILE_VARIABLE, None)
    return env


def format_parameter(value: object) -> str:
    """A parameter value as ``--ros-args -p name:=VALUE`` reads it (YAML): booleans lower-case, lists
    as [a,b] with their strings quoted (so that '' stays an element)."""
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, (list, tuple)):
        return "[" + ",".join(f"'{v}'" if isinstance(v, (str, Path)) else format_parameter(v) for v in value) + "]"
    return str(value)


def node_command(
    module: str,
    params: Mapping[str, object] | None = None,
    *,
    params_file: Path | None = None,
    node_name: str | None = None,
) -> list[str]:
    """``python -m orpose_ros.ros.entry_point MODULE --ros-args [--params-file F] [-r __node:=NAME] -p n:=v ...``:
    the node module ``MODULE`` started as its console script starts it (a Ctrl-C is a clean stop from the first
    moment, its imports included)."""
    command = [sys.executable, "-m", "orpose_ros.ros.entry_point", module, "--ros-args"]
    if params_file is not None:
        command += ["--params-file", str(params_file)]
    if node_name is not None:
        command += ["-r", f"__node:={node_name}"]
    for name, value in (params or {}).items():
        command += ["-p", f"{name}:={format_parameter(value)}"]
    return command


def model_parameters(weights: Path | None, random_weights_seed: int | None, stats: Path | None) -> dict[str, object]:
    """orpose_node's model parameters for a child: the weights file (absolute), else random weights;
    the statistics file when given."""
    params: dict[str, object] = {}
    if weights is not None:
        params["weights"] = Path(weights).resolve()
    else:
        params["random_weights_seed"] = random_weights_seed
    if stats is not None:
        params["stats"] = Path(stats).resolve()
    return params


#: Seconds a child that ignored SIGINT gets to print its threads' stacks (SIGUSR1) before SIGKILL.
STACKS_S = 2.0


def stop(process: subprocess.Popen, timeout: float = 10.0) -> int:
    """SIGINT, then SIGKILL after ``timeout`` s; returns the exit code. A node of this package that ignored
    SIGINT is first asked (SIGUSR1) to print where its threads wait, into its own output."""
    if process.poll() is None:
        process.send_signal(signal.SIGINT)
        try:
            process.wait(timeout)
        except subprocess.TimeoutExpired:
            logger.warning("pid %d ignored SIGINT for %.0f s: its stacks (SIGUSR1), then SIGKILL", process.pid,
                           timeout)
            process.send_signal(signal.SIGUSR1)
            try:
                process.wait(STACKS_S)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
    return process.returncode


def wait_until(predicate: Callable[[], bool], timeout: float, interval: float = 0.2) -> bool:
    """Poll ``predicate`` until it holds or ``timeout`` s passed; its last value."""
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if predicate():
            return True
        time.sleep(interval)
    return predicate()


class ProcessGroup:
    """Child processes sharing one environment, all stopped on exit (errors included).

    Each child's output goes to ``log_dir/NAME.log``, or to this process's terminal without a log_dir.
    """

    def __init__(self, env: Mapping[str, str], log_dir: Path | None) -> None:
        self.env = dict(env)
        self.log_dir = log_dir
        self.processes: dict[str, subprocess.Popen] = {}
        if log_dir is not None:
            log_dir.mkdir(parents=True, exist_ok=True)

    def start(self, name: str, args: Sequence[str], cwd: Path | None = None,
              extra_env: Mapping[str, str] | None = None) -> subprocess.Popen:
        """Start ``args`` as the child called ``name`` (``extra_env``: variables of this child only)."""
        env = {**self.env, **(extra_env or {})}
        if self.log_dir is None:
            process = subprocess.Popen(list(args), env=env, cwd=cwd)
        else:
            with (self.log_dir / f"{name}.log").open("w") as log:
                process = subprocess.Popen(list(args), env=env, cwd=cwd or self.log_dir, stdout=log,
                                           stderr=subprocess.STDOUT)
        self.processes[name] = process
        logger.debug("started %s (pid %d): %s", name, process.pid, " ".join(args))
        return process

    def log(self, name: str) -> str:
        """Everything the child ``name`` printed so far."""
        path = self.log_dir / f"{name}.log" if self.log_dir is not None else None
        return path.read_text(errors="replace") if path is not None and path.exists() else ""

    def log_tail(self, name: str, lines: int = 15) -> str:
        """The last ``lines`` lines of ``log``."""
        return "\n".join(self.log(name).splitlines()[-lines:])

    def stop_all(self, timeout: float = 10.0) -> dict[str, int]:
        """Stop every child, the last started first; their exit codes."""
        return {name: stop(p, timeout) for name, p in reversed(list(self.processes.items()))}

    def __enter__(self) -> ProcessGroup:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop_all()
