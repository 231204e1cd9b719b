"""The parameters of orpose_zone_monitor, declared once (`orpose_ros.ros.parameters`)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from orpose_ros.ros import parameter_groups as groups
from orpose_ros.ros.parameters import parameter
from orpose_ros.zones import ZoneError, load_zones


def zones_file_problem(path: str) -> str:
    """What is wrong with a zones file (the loader's one line, naming the zone and the field), or ''."""
    if not path:
        return "is empty"
    try:
        load_zones(Path(path).expanduser())
    except ZoneError as error:
        return f"cannot be used: {error}"
    return ""


@dataclass(frozen=True)
class ZoneMonitorConfig:
    """The validated parameters of orpose_zone_monitor."""

    autostart: bool = groups.autostart()
    zones_file: str = parameter(
        "", "Zones file (YAML: named zones in the world frame; config/zones.example.yaml); required. A file that "
        "cannot be used is refused with the reason (at run time the zones in use stay).",
        dynamic=True, check=zones_file_problem, expect="a zones file")
    people_topic: str = parameter("orpose/people", "orpose_msgs/People3D topic of orpose_fusion_node.",
                                  pattern=r"\S+", expect="a topic name")
    publish_markers: bool = parameter(True, "Publish the zones as RViz markers on orpose/zone_markers (green: "
                                      "free, red: occupied).", dynamic=True)
