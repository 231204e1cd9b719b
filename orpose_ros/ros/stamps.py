"""ROS time stamps <-> plain numbers (the ROS-free code counts in nanoseconds or seconds)."""

from __future__ import annotations

from builtin_interfaces.msg import Time
from std_msgs.msg import Header


def stamp_ns(header: Header) -> int:
    """The header's stamp [ns], exact."""
    return header.stamp.sec * 1_000_000_000 + header.stamp.nanosec


def stamp_seconds(header: Header) -> float:
    """The header's stamp [s] (float: ~100 ns resolution at today's epoch; copy headers, never rebuild them)."""
    return header.stamp.sec + header.stamp.nanosec * 1e-9


def time_msg(nanoseconds: int) -> Time:
    """A builtin_interfaces/Time of a stamp [ns]."""
    seconds, nanosec = divmod(int(nanoseconds), 1_000_000_000)
    return Time(sec=seconds, nanosec=nanosec)
