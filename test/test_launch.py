"""The launch file, without ROS 2 `launch` (not installable here): it parses, names shipped files,
declares the documented arguments, and the shipped parameters file starts the node."""

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

from orpose_ros.ros.launch_support import LaunchedNodeError, calibration_overrides, check_exit, parameter_overrides
from orpose_ros.ros.node_config import NodeConfig
from orpose_ros.ros.parameters import ParameterSet

pytestmark = pytest.mark.ros

LAUNCH = REPO / "launch" / "orpose.launch.py"
DOCUMENTED_ARGUMENTS = {"params_file", "namespace", "rviz", "calibration", "fusion", "image_topics",
                        "camera_info_topics", "weights", "stats", "downsample_factor", "restore_size", "device"}


def _tree() -> ast.Module:
    return ast.parse(LAUNCH.read_text())


def test_launch_file_declares_the_documented_arguments() -> None:
    source = LAUNCH.read_text()
    overrides = ast.literal_eval(next(
        node.value for node in ast.walk(_tree())
        if isinstance(node, ast.Assign) and getattr(node.targets[0], "id", "") == "OVERRIDES"
    ))
    declared = set(re.findall(r'DeclareLaunchArgument\("(\w+)"', source)) | set(overrides)
    assert declared == DOCUMENTED_ARGUMENTS
    readme = (REPO / "README.md").read_text()
    for name in DOCUMENTED_ARGUMENTS:
        assert f"`{name}`" in readme, f"launch argument {name} is not documented in README.md"


def test_files_named_by_the_launch_file_are_shipped_and_installed() -> None:
    source = LAUNCH.read_text()
    named = re.findall(r'SHARE / "config" / "([\w.]+)"', source)
    assert set(named) == {"orpose.yaml", "fastdds_shm.xml", "orpose.rviz"}
    setup = (REPO / "setup.py").read_text()
    for name in named:
        assert (REPO / "config" / name).is_file()
        assert f"config/*{Path(name).suffix}" in setup, f"config/{name} would not be installed"
    assert "FASTDDS_DEFAULT_PROFILES_FILE" in source and 'executable="orpose_node"' in source


def test_every_override_argument_is_a_node_parameter() -> None:
    overrides = ast.literal_eval(next(
        node.value for node in ast.walk(_tree())
        if isinstance(node, ast.Assign) and getattr(node.targets[0], "id", "") == "OVERRIDES"
    ))
    assert set(overrides) <= set(ParameterSet(NodeConfig).fields)


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
    with pytest.raises(LaunchedNodeError, match=r"calibration:=.*nowhere\.yaml"):
        calibration_overrides(str(tmp_path / "nowhere.yaml"), {})


def test_a_failed_node_fails_the_launch() -> None:
    check_exit("orpose_node-1", 0)
    check_exit("orpose_node-1", None)
    with pytest.raises(LaunchedNodeError, match="orpose_node-1 exited with code 1"):
        check_exit("orpose_node-1", 1)
    source = LAUNCH.read_text()
    assert "OnProcessExit" in source and "check_exit" in source


def test_shipped_config_files_parse() -> None:
    params = yaml.safe_load((REPO / "config" / "orpose.yaml").read_text())["/**"]["ros__parameters"]
    assert params["image_topics"] == ["/camera/image_raw"] and params["score_threshold"] == 0.5
    profile = ET.parse(REPO / "config" / "fastdds_shm.xml").getroot()
    ns = {"d": "http://www.eprosima.com"}
    segment = profile.find(".//d:transport_descriptor[d:type='SHM']/d:segment_size", ns)
    assert segment is not None and int(segment.text) >= 32 * 1024 * 1024
    rviz = yaml.safe_load((REPO / "config" / "orpose.rviz").read_text())
    topics = {d.get("Topic", {}).get("Value") for d in rviz["Visualization Manager"]["Displays"]}
    assert {"/orpose/markers", "/orpose/people_markers", "/orpose/debug_image"} <= topics


@pytest.mark.timeout(120)
def test_node_reads_the_shipped_parameters_file(tmp_path: Path, ros_env: dict) -> None:
    """Every parameter in config/orpose.yaml is one the node declares (else rclpy refuses it)."""
    command = [*node_command({}), "--params-file", str(REPO / "config" / "orpose.yaml")]
    result = subprocess.run(command, env=ros_env, capture_output=True, text=True, timeout=90)
    # no weights in the shipped file: the node must stop with the instructions, not a parameter error
    assert result.returncode == 1, result.stdout + result.stderr
    assert "no model weights configured" in result.stdout + result.stderr
