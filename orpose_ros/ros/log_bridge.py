"""Python ``logging`` of the ROS-free core (``orpose_ros.*``) into a node's logger, hence ``/rosout``."""

from __future__ import annotations

import logging

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
