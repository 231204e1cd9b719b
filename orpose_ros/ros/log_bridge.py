"""Logging of the nodes: the ROS-free core's Python ``logging`` (``orpose_ros.*``) into a node's logger
(hence ``/rosout``), and warnings throttled per cause so that a bad stream cannot flood the log."""

from __future__ import annotations

import logging
import time

from rclpy.impl.rcutils_logger import RcutilsLogger


class NodeLogHandler(logging.Handler):
    """Hands each record to the node's logger at the same severity."""

    def __init__(self, ros_logger: RcutilsLogger) -> None:
        super().__init__()
        self._ros_logger = ros_logger

    def emit(self, record: logging.LogRecord) -> None:
        try:
            text = f"[{record.name}] {record.getMessage()}"
            if record.levelno >= logging.CRITICAL:
                self._ros_logger.fatal(text)
            elif record.levelno >= logging.ERROR:
                self._ros_logger.error(text)
            elif record.levelno >= logging.WARNING:
                self._ros_logger.warning(text)
            elif record.levelno >= logging.INFO:
                self._ros_logger.info(text)
            else:
                self._ros_logger.debug(text)
        except Exception:  # a log line must never take the node down
            self.handleError(record)


def bridge_core_logging(ros_logger: RcutilsLogger, level: int = logging.INFO) -> NodeLogHandler:
    """Route the ``orpose_ros`` logger (every core module's) to ``ros_logger``; returns the handler
    so that `unbridge_core_logging` can remove it."""
    handler = NodeLogHandler(ros_logger)
    core = logging.getLogger("orpose_ros")
    core.addHandler(handler)
    core.setLevel(level)
    core.propagate = False  # not a second time on stderr
    return handler


def unbridge_core_logging(handler: NodeLogHandler) -> None:
    core = logging.getLogger("orpose_ros")
    core.removeHandler(handler)
    core.propagate = True


class ThrottledWarnings:
    """Warnings logged at most once every ``every_s`` seconds per (source, cause)."""

    def __init__(self, ros_logger: RcutilsLogger, every_s: float = 5.0) -> None:
        self._ros_logger = ros_logger
        self._every_s = every_s
        self._last: dict[tuple[str, str], float] = {}

    def warn(self, source: str, cause: str, text: str) -> None:
        now = time.monotonic()
        if now - self._last.get((source, cause), -self._every_s) >= self._every_s:
            self._last[(source, cause)] = now
            self._ros_logger.warning(text)


def cause_of(error: Exception) -> str:
    """What kind of problem an error reports, for throttling: its type and first words (not its values)."""
    return " ".join([type(error).__name__, *str(error).split()[:2]])
