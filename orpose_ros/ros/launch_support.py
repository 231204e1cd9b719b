"""What launch/orpose.launch.py needs beyond wiring, kept here so that it is tested without ROS 2
``launch`` (which CI cannot install): the launch arguments and their help (read from the nodes'
parameter declarations), what to start for given arguments (`plan_launch`), launch arguments -> typed
parameters, and node exit checks."""

from __future__ import annotations

import signal
from collections.abc import Mapping
from dataclasses import dataclass, replace
from pathlib import Path

import yaml

from orpose_ros.geometry.calibration import CalibrationError, RoomCalibration
from orpose_ros.geometry.calibration_files import load_calibration
from orpose_ros.ros.node_config import NodeConfig
from orpose_ros.ros.parameters import ParameterSet
from orpose_ros.zones import ZoneError, load_zones

#: orpose_node parameters that a launch argument of the same name overrides when it is given.
NODE_ARGUMENTS = ("image_topics", "camera_info_topics", "weights", "stats", "downsample_factor", "restore_size",
                  "device", "random_weights_seed")
#: Arguments that name files: a missing one stops the launch before anything starts.
FILE_ARGUMENTS = ("params_file", "calibration", "weights", "stats", "zones")
#: Values of the ``demo`` argument.
DEMOS = ("room",)
_TRUE, _FALSE = ("true", "1", "yes", "on"), ("false", "0", "no", "off")


class LaunchError(RuntimeError):
    """The launch cannot do what was asked: raised while the launch description is being built (or from
    an exit handler), ``ros2 launch`` logs the one-line message, stops what runs and exits non-zero."""


class LaunchedNodeError(LaunchError):
    """A launched node exited with an error."""


@dataclass(frozen=True)
class LaunchArgument:
    """One argument of orpose.launch.py: its name, default ('' = not given) and help."""

    name: str
    description: str
    default: str = ""


def launch_arguments() -> list[LaunchArgument]:
    """Every argument of orpose.launch.py; the help of those that set a node parameter is that
    parameter's declared description."""
    node = ParameterSet(NodeConfig)
    overrides = [LaunchArgument(name, f"{node.spec(name).description} Not given: the params file's value.")
                 for name in NODE_ARGUMENTS]
    return [
        LaunchArgument("params_file", "Parameters file of orpose_node. Not given: config/orpose.yaml of the package."),
        LaunchArgument("namespace", "Namespace of the started nodes."),
        LaunchArgument("calibration", f"{node.spec('calibration').description} Its cameras' image and "
                       "camera_info topics are used unless image_topics is given; the fusion node reads it too."),
        LaunchArgument("fusion", "true: also start orpose_fusion_node on the calibration (needs calibration, "
                       "except with demo:=room). Not given: true with demo:=room, else false."),
        LaunchArgument("demo", "room: no model and no camera: synthetic people walk through the calibration's "
                       "room (default: config/cameras.example.yaml) and their poses are published as "
                       "orpose_node would, for the fusion node, its markers and RViz."),
        LaunchArgument("zones", "Zones file (config/zones.example.yaml, in the calibration's world frame): also "
                       "start orpose_zone_monitor on the fused people (needs the fusion node)."),
        LaunchArgument("rviz", "true: start RViz (a warning when RViz is not installed): with the fusion node "
                       "config/room.rviz (the room: TF of cameras and bodies, people, zones), else config/orpose.rviz.",
                       "false"),
        LaunchArgument("autostart", "true: the lifecycle nodes started (orpose_node, orpose_fusion_node, "
                       "orpose_zone_monitor) configure and activate themselves; false: they start unconfigured "
                       "and wait for a lifecycle manager (ros2 lifecycle set /orpose_node configure, then "
                       "activate). Sets their autostart parameter (params_file's autostart is overridden).", "true"),
        *overrides,
    ]


@dataclass(frozen=True)
class LaunchPlan:
    """What to start, from the launch arguments.

    Attributes:
        pose_node: orpose_node's parameters on top of the params file; None: no orpose_node (demo:=room).
        fusion_node: orpose_fusion_node's parameters; None: no fusion node.
        room_demo: the room demo's parameters; None: no demo.
        rviz: start RViz.
        params_file: orpose_node's parameters file ('' without orpose_node).
        rviz_fixed_frame: RViz's fixed frame: the calibration's world frame when the fusion node runs, so
            that the fused people show at once; '' = config/orpose.rviz's.
        autostart: the ``autostart`` parameter of every lifecycle node started (`lifecycle_parameters`).
        zone_monitor: orpose_zone_monitor's parameters; None: no zone monitor.
        rviz_config: the RViz config file: config/room.rviz when the fusion node runs, else config/orpose.rviz.
    """

    pose_node: dict[str, object] | None = None
    fusion_node: dict[str, object] | None = None
    room_demo: dict[str, object] | None = None
    rviz: bool = False
    params_file: str = ""
    rviz_fixed_frame: str = ""
    autostart: bool = True
    zone_monitor: dict[str, object] | None = None
    rviz_config: str = ""

    def lifecycle_parameters(self) -> dict[str, object]:
        """The parameters every lifecycle node gets from the launch, after its own."""
        return {"autostart": self.autostart}


def _flag(arguments: Mapping[str, str], name: str, default: bool) -> bool:
    text = arguments.get(name, "").strip().lower()
    if not text:
        return default
    if text not in _TRUE + _FALSE:
        raise LaunchError(f"{name}:={arguments[name]}: expected true or false")
    return text in _TRUE


def plan_launch(arguments: Mapping[str, str], share: Path) -> LaunchPlan:
    """The nodes to start for ``arguments`` (launch argument name -> text, '' = not given).

    Raises:
        LaunchError: the arguments ask for something that cannot start (fusion without a calibration, a
            missing file, an unknown demo, a model argument with demo:=room, ...): one line naming it.
    """
    given = {name: text.strip() for name, text in arguments.items() if text.strip()}
    for name in FILE_ARGUMENTS:
        if name in given and not Path(given[name]).expanduser().is_file():
            raise LaunchError(f"{name}:={given[name]}: no such file")
    demo = given.get("demo", "")
    if demo and demo not in DEMOS:
        raise LaunchError(f"demo:={demo}: unknown demo; expected one of {', '.join(DEMOS)}")
    fusion = _flag(arguments, "fusion", default=bool(demo))
    rviz = _flag(arguments, "rviz", default=False)
    autostart = _flag(arguments, "autostart", default=True)
    node_given = {name: given[name] for name in NODE_ARGUMENTS if name in given}
    if demo:
        ignored = sorted(node_given) + (["params_file"] if "params_file" in given else [])
        if ignored:
            raise LaunchError(f"demo:={demo} starts no orpose_node (it publishes poses itself): "
                              f"{', '.join(a + ':=' for a in ignored)} would be ignored; drop them or the demo")
        calibration = given.get("calibration", str(share / "config" / "cameras.example.yaml"))
        calibration_overrides(calibration, {})  # raises unless it is readable and names image topics
        return _room_view(LaunchPlan(None, {"calibration": calibration} if fusion else None,
                                     {"calibration": calibration}, rviz,
                                     rviz_fixed_frame=_read_calibration(calibration).world_frame if fusion else "",
                                     autostart=autostart),
                          given, share)
    calibration = given.get("calibration", "")
    if fusion and not calibration:
        raise LaunchError("fusion:=true needs calibration:=FILE (the room's cameras; config/cameras.example.yaml "
                          "shows the format), or demo:=room")
    overrides = parameter_overrides(node_given)
    if calibration:
        overrides.update(calibration_overrides(calibration, overrides))
    return _room_view(LaunchPlan(overrides, {"calibration": calibration} if fusion else None, None, rviz,
                                 given.get("params_file", str(share / "config" / "orpose.yaml")),
                                 _read_calibration(calibration).world_frame if fusion else "", autostart), given, share)


def _room_view(plan: LaunchPlan, given: Mapping[str, str], share: Path) -> LaunchPlan:
    """``plan`` with the zone monitor (``zones:=FILE``, beside the fusion node only) and the RViz config: the
    room's when the fusion node runs. Raises `LaunchError` for zones without fusion, or a zones file that cannot
    be used (the loader's line, naming the zone and the field) or is not in the calibration's world frame."""
    zones = given.get("zones", "")
    monitor = None
    if zones:
        if plan.fusion_node is None:
            raise LaunchError(f"zones:={zones} needs the fusion node (fusion:=true with calibration:=FILE, or "
                              "demo:=room): the zone monitor reads its people")
        try:
            frame = load_zones(Path(zones).expanduser()).frame_id
        except ZoneError as error:
            raise LaunchError(f"zones:={zones}: cannot be used: {error}") from None
        if frame != plan.rviz_fixed_frame:  # with the fusion node: the calibration's world frame
            raise LaunchError(f"zones:={zones}: frame_id '{frame}' is not the calibration's world frame "
                              f"'{plan.rviz_fixed_frame}': the monitor would use no people message")
        monitor = {"zones_file": zones}
    config = share / "config" / "room.rviz" if plan.fusion_node is not None else share / "config" / "orpose.rviz"
    return replace(plan, zone_monitor=monitor, rviz_config=str(config) if plan.rviz else "")


def parameter_overrides(arguments: Mapping[str, str]) -> dict[str, object]:
    """The launch arguments that were given (non-empty), as typed parameter values.

    Values are read as YAML, as launch_ros reads parameter values (``12`` is an integer, ``12.0``
    a float, ``[a, b]`` a list), so that a wrong type reaches the node, which names the parameter.
    A bare comma list (``/a,/b``) is a list of strings too. A value that YAML does not read as a
    scalar or a list (``a: b``, or no valid YAML at all) stays a string.
    """
    overrides: dict[str, object] = {}
    for name, text in arguments.items():
        text = text.strip()
        if not text:
            continue
        try:
            value = yaml.safe_load(text)
        except yaml.YAMLError:
            value = text
        if value is None or not isinstance(value, (bool, int, float, str, list)):
            value = text
        if isinstance(value, str) and "," in value and not value.startswith("["):
            value = [part.strip() for part in value.split(",") if part.strip()]
        overrides[name] = value
    return overrides


def check_exit(process_name: str, returncode: int | None) -> None:
    """Raise `LaunchedNodeError` unless the process ended cleanly (code 0) or was ended by a SIGINT (-2).

    Our nodes exit 0 on SIGINT from their first ~0.1 s on; a Ctrl-C within that first instant (the
    interpreter's own start) ends one by the signal, which is what the user asked for, not a failure.
    """
    if returncode and returncode != -signal.SIGINT:
        raise LaunchedNodeError(f"{process_name} exited with code {returncode} (its error is logged above)")


def _read_calibration(path: str) -> RoomCalibration:
    try:
        return load_calibration(Path(path).expanduser())
    except (CalibrationError, OSError, ValueError) as error:
        raise LaunchError(f"calibration:={path}: {' '.join(str(error).split())}") from None


def calibration_overrides(path: str, given: Mapping[str, object]) -> dict[str, object]:
    """orpose_node's parameters for a room calibration file: the file itself, and its cameras' image and
    camera_info topics unless ``given`` (the overrides already given) names image topics.

    Raises:
        LaunchError: the calibration cannot be read (its message names the file and the field).
    """
    calibration = _read_calibration(path)
    overrides: dict[str, object] = {"calibration": path}
    if "image_topics" not in given:
        cameras = [c for c in calibration.cameras if c.image_topic]
        if not cameras:
            raise LaunchError(f"calibration:={path}: no camera has an image_topic; give image_topics:=")
        overrides["image_topics"] = [c.image_topic for c in cameras]
        info = [c.camera_info_topic for c in cameras]
        overrides["camera_info_topics"] = info if any(info) else [""]
    return overrides
