"""Start and stop ROS 2 helper processes from tests."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from orpose_ros.ros.processes import stop, wait_until

__all__ = ["read_records", "record", "start", "stop", "wait_for", "wait_until"]

TOOLS = Path(__file__).resolve().parent


def start(args: list[str], env: dict[str, str], log: Path) -> subprocess.Popen:
    """Start ``python ARGS`` with its output in ``log``."""
    handle = log.open("w")
    return subprocess.Popen([sys.executable, *args], env=env, stdout=handle, stderr=subprocess.STDOUT)


def record(topic: str, msg_type: str, out: Path, env: dict[str, str], count: int = 1, timeout: float = 60.0,
           best_effort: bool = False) -> subprocess.Popen:
    args = [str(TOOLS / "record_topic.py"), topic, msg_type, str(out), "--count", str(count), "--timeout", str(timeout)]
    if best_effort:
        args.append("--best-effort")
    return start(args, env, out.with_suffix(".log"))


def wait_for(process: subprocess.Popen, timeout: float) -> int:
    try:
        return process.wait(timeout)
    except subprocess.TimeoutExpired:
        stop(process)
        raise


def read_records(out: Path) -> list[dict]:
    return json.loads(out.read_text()) if out.exists() else []
