"""orpose_zone_monitor: who is in which zone of the operating room, from the fused people.

Subscribes to /orpose/people (orpose_msgs/People3D, from orpose_fusion_node) and, for every message, publishes
the state of every zone of its zones file (`orpose_ros.zones`) on /orpose/zones (orpose_msgs/ZoneStates, the
people's header), each enter or leave on /orpose/zone_events (orpose_msgs/ZoneEvent, in order), the zones
as markers coloured by occupancy on /orpose/zone_markers, and diagnostics at 1 Hz. People the fusion only
predicts (occluded, still tracked) count like measured ones. A lifecycle node (`ManagedNode`): the zones
file is loaded at configure; it subscribes and publishes only while active.
"""

from __future__ import annotations

import sys
from pathlib import Path

from diagnostic_msgs.msg import DiagnosticArray, DiagnosticStatus
from rclpy.qos import HistoryPolicy, QoSProfile, ReliabilityPolicy
from std_msgs.msg import Header
from visualization_msgs.msg import MarkerArray

from orpose_msgs.msg import People3D, ZoneEvent, ZoneStates
from orpose_ros import topics
from orpose_ros.ros.diagnostics import key_value
from orpose_ros.ros.entry_point import run_node
from orpose_ros.ros.log_bridge import ThrottledWarnings
from orpose_ros.ros.managed_node import ManagedNode
from orpose_ros.ros.parameters import ConfigError
from orpose_ros.ros.rate_stats import RateMeter
from orpose_ros.ros.stamps import stamp_seconds
from orpose_ros.ros.zone_config import ZoneMonitorConfig
from orpose_ros.ros.zone_messages import (
    people_in_room,
    zone_event_to_msg,
    zone_markers,
    zone_states_to_msg,
)
from orpose_ros.zones import ZoneMonitor, load_zones

RELIABLE = QoSProfile(depth=10, reliability=ReliabilityPolicy.RELIABLE, history=HistoryPolicy.KEEP_LAST)
#: Events are few and each matters: a deeper queue than the states'.
EVENTS_QOS = QoSProfile(depth=100, reliability=ReliabilityPolicy.RELIABLE, history=HistoryPolicy.KEEP_LAST)


class ZoneMonitorNode(ManagedNode[ZoneMonitorConfig]):
    """configure: load the zones file; activate: subscribe and publish; cleanup: forget the zones."""

    def __init__(self) -> None:
        super().__init__("orpose_zone_monitor", ZoneMonitorConfig, on_change=self._on_change)
        self.monitor: ZoneMonitor | None = None
        self._warnings = ThrottledWarnings(self.get_logger())
        self._rate = RateMeter()
        self._counts = {"people_messages": 0, "wrong_frame": 0, "late": 0, "events": 0}
        self._last_stamp: float | None = None

    def load(self, config: ZoneMonitorConfig) -> str:
        self.monitor = ZoneMonitor(load_zones(Path(config.zones_file).expanduser()))
        self._last_stamp = None
        zones = self.monitor.zones
        return f"{len(zones.zones)} zone(s) {list(zones.names)} in frame '{zones.frame_id}' from {zones.source}"

    def start(self) -> str:
        self._states_pub = self.create_publisher(ZoneStates, topics.ZONES, RELIABLE)
        self._events_pub = self.create_publisher(ZoneEvent, topics.ZONE_EVENTS, EVENTS_QOS)
        self._markers_pub = self.create_publisher(MarkerArray, topics.ZONE_MARKERS, RELIABLE)
        self._diagnostics_pub = self.create_publisher(DiagnosticArray, topics.DIAGNOSTICS, RELIABLE)
        self.create_subscription(People3D, self.config.people_topic, self._on_people, RELIABLE)
        self.create_timer(1.0, self._publish_diagnostics)
        zones = self.monitor.zones
        return (f"{len(zones.zones)} zone(s) {list(zones.names)} in frame '{zones.frame_id}' from {zones.source}, "
                f"people from {self.config.people_topic}")

    def release(self) -> None:
        self.monitor = None

    def _on_change(self, old: ZoneMonitorConfig, new: ZoneMonitorConfig) -> None:
        if new.zones_file != old.zones_file:  # validated already: the file loads
            self.monitor = ZoneMonitor(load_zones(Path(new.zones_file).expanduser()))
            self.get_logger().info(f"zones reloaded from {new.zones_file}: {list(self.monitor.zones.names)}; "
                                   "people already inside are reported as entering")

    def _on_people(self, msg: People3D) -> None:
        self._counts["people_messages"] += 1
        self._rate.tick()
        zones = self.monitor.zones
        if msg.header.frame_id != zones.frame_id:
            self._counts["wrong_frame"] += 1
            self._warnings.warn("frame", msg.header.frame_id, f"people in frame '{msg.header.frame_id}' but the "
                                f"zones are in '{zones.frame_id}' ({zones.source}): message not used")
            return
        stamp = stamp_seconds(msg.header)
        if self._last_stamp is not None and stamp < self._last_stamp:
            self._counts["late"] += 1
            self._warnings.warn("stamp", "backwards", f"people stamped {stamp:.3f} s, before the previous "
                                f"{self._last_stamp:.3f} s: message not used")
            return
        self._last_stamp = stamp
        states, events = self.monitor.update(stamp, people_in_room(msg))
        self._states_pub.publish(zone_states_to_msg(msg.header, states))
        for event in events:
            self._events_pub.publish(zone_event_to_msg(msg.header, event))
        self._counts["events"] += len(events)
        if self.config.publish_markers:
            self._markers_pub.publish(zone_markers(msg.header, zones, states))

    def _publish_diagnostics(self) -> None:
        values = [key_value("people_hz", self._rate.rate()), *(key_value(k, v) for k, v in self._counts.items()),
                  key_value("zones", len(self.monitor.zones.zones))]
        ignored = self._counts["wrong_frame"] + self._counts["late"]
        status = DiagnosticStatus(level=DiagnosticStatus.WARN if ignored else DiagnosticStatus.OK,
                                  name=f"{self.get_name()}: zones",
                                  message="people messages ignored (see log)" if ignored else "ok", values=values)
        self._diagnostics_pub.publish(DiagnosticArray(header=Header(stamp=self.get_clock().now().to_msg()),
                                                      status=[status]))


def main(args: list[str] | None = None) -> int:
    """Console entry point: 0 after a clean stop, 1 when the node cannot start (e.g. a bad zones file)."""
    return run_node("orpose_zone_monitor", ZoneMonitorNode, (ConfigError,), args)


if __name__ == "__main__":
    sys.exit(main())
