"""The launch file, without ROS 2 `launch` (not installable here): it declares the documented arguments
(help from the parameter declarations), names shipped files, starts what the arguments ask for or
stops with one line, and the shipped parameters file starts the node."""

from __future__ import annotations

import ast
import re
import subprocess
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
import yaml
from conftest import REPO
from ros_tools.node_harness import node_command

from orpose_ros import topics
from orpose_ros.ros.launch_support import (
    NODE_ARGUMENTS,
    LaunchedNodeError,
    LaunchError,
    calibration_overrides,
    check_exit,
    launch_arguments,
    parameter_overrides,
    plan_launch,
)
from orpose_ros.ros.node_config import NodeConfig
from orpose_ros.ros.parameters import ParameterSet

pytestmark = pytest.mark.ros

LAUNCH = REPO / "launch" / "orpose.launch.py"
SUPPORT = REPO / "orpose_ros" / "ros" / "launch_support.py"
SHARE = REPO  # the installed share directory has the same config/ layout
EXAMPLE = str(REPO / "config" / "cameras.example.yaml")
#: What a user must be able to set from the command line (issue 18), plus restore_size and params_file.
REQUIRED_ARGUMENTS = {"random_weights_seed", "device", "weights", "stats", "downsample_factor", "image_topics",
                      "camera_info_topics", "calibration", "fusion", "demo", "rviz", "namespace", "params_file",
                      "restore_size", "autostart", "zones"}


def test_launch_file_declares_every_argument_with_help_from_the_parameter_declarations() -> None:
    source = LAUNCH.read_text()
    assert "ARGUMENTS = launch_arguments()" in source
    assert "DeclareLaunchArgument(a.name, default_value=a.default, description=a.description)" in source
    arguments = {a.name: a for a in launch_arguments()}
    assert set(arguments) == REQUIRED_ARGUMENTS
    node = ParameterSet(NodeConfig)
    for name in NODE_ARGUMENTS:
        assert arguments[name].description.startswith(node.spec(name).description), name
        assert arguments[name].default == ""  # not given: the params file's value
    assert arguments["calibration"].description.startswith(node.spec("calibration").description)
    readme = (REPO / "README.md").read_text()
    for name in arguments:
        assert f"`{name}`" in readme, f"launch argument {name} is not documented in README.md"


def test_files_named_by_the_launch_are_shipped_and_installed() -> None:
    named = set()
    for path in (LAUNCH, SUPPORT):
        named |= set(re.findall(r'(?:SHARE|share) / "config" / "([\w.]+)"', path.read_text()))
    assert named == {"orpose.yaml", "fastdds_shm.xml", "orpose.rviz", "room.rviz", "cameras.example.yaml"}
    setup = (REPO / "setup.py").read_text()
    for name in named:
        assert (REPO / "config" / name).is_file()
        assert f"config/*{Path(name).suffix}" in setup, f"config/{name} would not be installed"
    source = LAUNCH.read_text()
    assert "FASTDDS_DEFAULT_PROFILES_FILE" in source
    for executable in ("orpose_node", "orpose_fusion_node", "orpose_room_demo", "orpose_zone_monitor"):
        assert f'"{executable}"' in source, executable
        assert f"{executable} = orpose_ros.ros." in setup, executable


def test_every_override_argument_is_a_node_parameter() -> None:
    assert set(NODE_ARGUMENTS) <= set(ParameterSet(NodeConfig).fields)


def _plan(**arguments: str):
    return plan_launch({a.name: arguments.pop(a.name, a.default) for a in launch_arguments()}, SHARE)


def test_what_the_node_suggests_can_be_launched() -> None:
    """The node without weights says "random_weights_seed:=0": the launch takes it (and device)."""
    plan = _plan(random_weights_seed="0", device="cpu")
    assert plan.pose_node == {"random_weights_seed": 0, "device": "cpu"}
    assert plan.params_file == str(REPO / "config" / "orpose.yaml")
    assert plan.fusion_node is None
    assert plan.room_demo is None
    assert not plan.rviz
    assert _plan().pose_node == {}  # nothing given: the params file alone


def test_fusion_starts_on_the_calibration_and_refuses_to_start_without_one() -> None:
    plan = _plan(calibration=EXAMPLE, fusion="true", rviz="True")
    assert plan.fusion_node == {"calibration": EXAMPLE}
    assert plan.rviz
    assert plan.rviz_fixed_frame == "or_room"  # the fused people show in RViz at once
    assert _plan(calibration=EXAMPLE, rviz="true").rviz_fixed_frame == ""  # the config's, for camera frames
    assert plan.pose_node["image_topics"] == ["/ceiling_left/image_raw", "/ceiling_right/image_raw",
                                              "/ceiling_back/image_raw"]
    assert _plan(calibration=EXAMPLE).fusion_node is None
    assert _plan(calibration=EXAMPLE, fusion="0").fusion_node is None
    with pytest.raises(LaunchError, match=r"^fusion:=true needs calibration:=FILE"):
        _plan(fusion="true")
    with pytest.raises(LaunchError, match=r"^fusion:=maybe: expected true or false$"):
        _plan(fusion="maybe", calibration=EXAMPLE)


def test_autostart_reaches_every_lifecycle_node() -> None:
    assert {a.name: a.default for a in launch_arguments()}["autostart"] == "true"
    assert _plan().autostart
    assert _plan(autostart="true").lifecycle_parameters() == {"autostart": True}
    off = _plan(autostart="false", calibration=EXAMPLE, fusion="true")
    assert off.lifecycle_parameters() == {"autostart": False}
    assert not _plan(demo="room", autostart="False").autostart  # the demo's fusion node waits too
    with pytest.raises(LaunchError, match=r"^autostart:=later: expected true or false$"):
        _plan(autostart="later")
    source = LAUNCH.read_text()
    assert source.count(", managed]") == 3  # orpose_node, orpose_fusion_node, orpose_zone_monitor, after their own


@pytest.mark.parametrize("name", ["weights", "stats", "calibration", "params_file", "zones"])
def test_a_missing_file_stops_the_launch_with_one_line(tmp_path: Path, name: str) -> None:
    missing = str(tmp_path / "nowhere.pth")
    with pytest.raises(LaunchError, match=rf"^{name}:=.*nowhere\.pth: no such file$"):
        _plan(**{name: missing})


def test_the_room_demo_replaces_the_pose_node_and_fuses_by_default(tmp_path: Path) -> None:
    plan = _plan(demo="room")
    assert plan.pose_node is None
    assert plan.room_demo == {"calibration": EXAMPLE}
    assert plan.fusion_node == {"calibration": EXAMPLE}
    assert plan.rviz_fixed_frame == "or_room"
    assert _plan(demo="room", fusion="false").fusion_node is None
    from fusion_data import ceiling_room, write_calibration_yaml

    room = str(write_calibration_yaml(ceiling_room(2), tmp_path / "room.yaml"))
    assert _plan(demo="room", calibration=room).room_demo == {"calibration": room}
    with pytest.raises(LaunchError, match=r"demo:=room starts no orpose_node .*device:=, weights:= would be ignored"):
        _plan(demo="room", weights=EXAMPLE, device="cpu")
    with pytest.raises(LaunchError, match=r"^demo:=video: unknown demo; expected one of room$"):
        _plan(demo="video")


def test_launch_arguments_become_typed_parameters_as_launch_ros_reads_them() -> None:
    given = {"image_topics": "['/a/image_raw', '/b/image_raw']", "weights": "", "downsample_factor": "12.0",
             "device": "cuda:0", "camera_info_topics": "/a/camera_info, /b/camera_info", "stats": "  "}
    assert parameter_overrides(given) == {
        "image_topics": ["/a/image_raw", "/b/image_raw"],
        "downsample_factor": 12.0,  # a float: the node then names the parameter and what it expects
        "device": "cuda:0",
        "camera_info_topics": ["/a/camera_info", "/b/camera_info"],
    }
    assert parameter_overrides({"downsample_factor": "12", "restore_size": "640x480"}) == {
        "downsample_factor": 12, "restore_size": "640x480"}
    assert parameter_overrides({"weights": "/m/orpose: bad [yaml"}) == {"weights": "/m/orpose: bad [yaml"}


def test_a_calibration_gives_the_node_its_cameras_topics(tmp_path: Path) -> None:
    from fusion_data import ceiling_room, write_calibration_yaml

    path = str(write_calibration_yaml(ceiling_room(2), tmp_path / "room.yaml", pending=("cam2",)))
    assert calibration_overrides(path, {}) == {
        "calibration": path, "image_topics": ["/cam1/image_raw", "/cam2/image_raw"],
        "camera_info_topics": ["", "/cam2/camera_info"]}
    assert calibration_overrides(path, {"image_topics": ["/mine"]}) == {"calibration": path}
    with pytest.raises(LaunchError, match=r"calibration:=.*nowhere\.yaml"):
        calibration_overrides(str(tmp_path / "nowhere.yaml"), {})


def test_a_failed_node_fails_the_launch() -> None:
    check_exit("orpose_node-1", 0)
    check_exit("orpose_node-1", None)
    check_exit("orpose_node-1", -2)  # ended by the user's Ctrl-C before Python could handle it
    with pytest.raises(LaunchedNodeError, match="orpose_node-1 exited with code 1"):
        check_exit("orpose_node-1", 1)
    for code in (-6, -15, -9, 2):  # an abort, SIGTERM (launch's escalation), SIGKILL, an error
        with pytest.raises(LaunchedNodeError, match=f"exited with code {code}"):
            check_exit("orpose_node-1", code)
    source = LAUNCH.read_text()
    assert "OnProcessExit" in source
    assert "check_exit" in source


def test_shipped_config_files_parse() -> None:
    params = yaml.safe_load((REPO / "config" / "orpose.yaml").read_text())["/**"]["ros__parameters"]
    assert params["image_topics"] == ["/camera/image_raw"]
    assert params["score_threshold"] == 0.5
    profile = ET.parse(REPO / "config" / "fastdds_shm.xml").getroot()
    ns = {"d": "http://www.eprosima.com"}
    segment = profile.find(".//d:transport_descriptor[d:type='SHM']/d:segment_size", ns)
    assert segment is not None
    assert int(segment.text) >= 32 * 1024 * 1024
    rviz = yaml.safe_load((REPO / "config" / "orpose.rviz").read_text())
    shown = {d.get("Topic", {}).get("Value") for d in rviz["Visualization Manager"]["Displays"]}
    assert {"/orpose/markers", "/orpose/people_markers", "/orpose/debug_image"} <= shown


@pytest.mark.timeout(120)
def test_node_reads_the_shipped_parameters_file(tmp_path: Path, ros_env: dict) -> None:
    """Every parameter in config/orpose.yaml is one the node declares (else rclpy refuses it)."""
    command = [*node_command({}), "--params-file", str(REPO / "config" / "orpose.yaml")]
    result = subprocess.run(command, env=ros_env, capture_output=True, text=True, timeout=90)
    # no weights in the shipped file: the node must stop with the instructions, not a parameter error
    assert result.returncode == 1, result.stdout + result.stderr
    assert "no model weights configured" in result.stdout + result.stderr


# ---- zones and the room view ---------------------------------------------------------------------------------

ZONES_EXAMPLE = str(REPO / "config" / "zones.example.yaml")  # frame_id or_room, as the example calibration


def test_zones_start_the_zone_monitor_beside_the_fusion_node() -> None:
    plan = _plan(calibration=EXAMPLE, fusion="true", zones=ZONES_EXAMPLE)
    assert plan.zone_monitor == {"zones_file": ZONES_EXAMPLE}
    assert plan.fusion_node == {"calibration": EXAMPLE}
    assert _plan(demo="room", zones=ZONES_EXAMPLE).zone_monitor == {"zones_file": ZONES_EXAMPLE}
    assert _plan(calibration=EXAMPLE, fusion="true").zone_monitor is None  # not given: no monitor
    source = LAUNCH.read_text()
    assert 'nodes.append(_node("orpose_zone_monitor", [plan.zone_monitor, managed], namespace))' in source


def test_zones_without_the_fusion_node_are_refused_in_one_line() -> None:
    for arguments in ({"calibration": EXAMPLE}, {"calibration": EXAMPLE, "fusion": "false"},
                      {"demo": "room", "fusion": "false"}, {}):
        with pytest.raises(LaunchError, match=r"^zones:=.*zones\.example\.yaml needs the fusion node \(fusion:=true"):
            _plan(zones=ZONES_EXAMPLE, **arguments)


@pytest.mark.parametrize(("content", "message"), [
    ("frame_id: or_room\nzones:\n  - {name: door, cylinder: {centre: [0, 0], radius: -1.0}, z: [0, 2]}\n",
     r"zone 'door': cylinder\.radius: must be positive, got -1\.0$"),
    ("frame_id: or_room\nzones: []\n", r"'zones' must be a non-empty list$"),
    ("frame_id: room_b\nzones:\n  - {name: door, cylinder: {centre: [0, 0], radius: 1.0}, z: [0, 2]}\n",
     r"frame_id 'room_b' is not the calibration's world frame 'or_room'"),
])
def test_a_bad_zones_file_stops_the_launch_with_one_line(tmp_path: Path, content: str, message: str) -> None:
    zones = tmp_path / "zones.yaml"
    zones.write_text(content)
    with pytest.raises(LaunchError, match=rf"^zones:={re.escape(str(zones))}: ") as error:
        _plan(calibration=EXAMPLE, fusion="true", zones=str(zones))
    assert re.search(message, str(error.value)), error.value
    assert "\n" not in str(error.value)


def test_rviz_shows_the_room_when_the_fusion_node_runs_and_the_camera_view_otherwise() -> None:
    room, camera = str(REPO / "config" / "room.rviz"), str(REPO / "config" / "orpose.rviz")
    assert _plan(calibration=EXAMPLE, fusion="true", rviz="true").rviz_config == room
    assert _plan(demo="room", rviz="true").rviz_config == room
    assert _plan(calibration=EXAMPLE, rviz="true").rviz_config == camera
    assert _plan(rviz="true").rviz_config == camera
    assert _plan(demo="room", fusion="false", rviz="true").rviz_config == camera
    assert _plan(calibration=EXAMPLE, fusion="true").rviz_config == ""  # no RViz
    assert 'arguments=["-d", config, *frame]' in LAUNCH.read_text()


def _published_topics() -> set[str]:
    """Every topic a node of ours creates a publisher for, from the source (``create_publisher(Type, NAME, ...)``
    with NAME a string or a constant of orpose_ros.topics), as seen from the root (`topics.in_bag`)."""
    published = set()
    for path in (REPO / "orpose_ros" / "ros").glob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if not (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)
                    and node.func.attr == "create_publisher" and len(node.args) >= 2):
                continue
            name = node.args[1]
            if isinstance(name, ast.Constant) and isinstance(name.value, str):
                published.add(topics.in_bag(name.value))
            elif isinstance(name, ast.Attribute) and isinstance(name.value, ast.Name) and name.value.id == "topics":
                published.add(topics.in_bag(getattr(topics, name.attr)))
    return published


def _displays(name: str) -> list[dict]:
    return yaml.safe_load((REPO / "config" / name).read_text())["Visualization Manager"]["Displays"]


@pytest.mark.parametrize("config", ["orpose.rviz", "room.rviz"])
def test_every_topic_an_rviz_config_displays_is_one_our_nodes_publish(config: str) -> None:
    published = _published_topics()
    # the finder sees the publishers of every node (guards the reader against finding nothing)
    assert {topics.in_bag(t) for t in (topics.POSES, topics.MARKERS, topics.DEBUG_IMAGE, topics.PEOPLE,
                                       topics.PEOPLE_MARKERS, topics.ZONES, topics.ZONE_EVENTS,
                                       topics.ZONE_MARKERS)} | {topics.TF, topics.TF_STATIC} <= published
    shown = [d["Topic"]["Value"] for d in _displays(config) if "Topic" in d]
    assert shown
    assert [t for t in shown if t not in published] == []


def test_the_room_view_shows_tf_people_and_zones_in_the_world_frame() -> None:
    room = yaml.safe_load((REPO / "config" / "room.rviz").read_text())["Visualization Manager"]
    enabled = {d["Class"]: d for d in room["Displays"] if d["Enabled"]}
    assert enabled["rviz_default_plugins/TF"]["Frames"]["All Enabled"] is True  # cameras and body_<id>
    shown = {d["Topic"]["Value"] for d in room["Displays"] if d["Enabled"] and "Topic" in d}
    assert shown == {topics.in_bag(topics.PEOPLE_MARKERS), topics.in_bag(topics.ZONE_MARKERS)}
    # the world frame of the example calibration (and of the example zones); the launch sets the real one
    assert room["Global Options"]["Fixed Frame"] == _plan(demo="room").rviz_fixed_frame == "or_room"
    grid = next(d for d in room["Displays"] if d["Class"] == "rviz_default_plugins/Grid")
    assert grid["Plane"] == "XY"  # the floor: the world frame is z up
