"""ros2 launch orpose_ros orpose.launch.py [image_topics:=...] [weights:=...] [calibration:=... fusion:=true]

Starts orpose_node with config/orpose.yaml (or params_file:=...). Launch arguments left empty keep
the params file's value; given ones override it. With calibration:=FILE the node places people with
the room's calibration, and its cameras' topics come from the file unless image_topics:= is given;
fusion:=true also starts orpose_fusion_node on the same file. Optionally starts RViz.
When a node exits with an error, the launch stops and exits non-zero.
"""

from pathlib import Path

from ament_index_python.packages import PackageNotFoundError, get_package_prefix, get_package_share_directory
from launch import LaunchDescription
from launch.actions import (
    DeclareLaunchArgument,
    LogInfo,
    OpaqueFunction,
    RegisterEventHandler,
    SetEnvironmentVariable,
)
from launch.conditions import IfCondition
from launch.event_handlers import OnProcessExit
from launch.substitutions import EnvironmentVariable, LaunchConfiguration
from launch_ros.actions import Node

from orpose_ros.ros.launch_support import calibration_overrides, check_exit, parameter_overrides

SHARE = Path(get_package_share_directory("orpose_ros"))

# Arguments that override the params file when given (parameter name = argument name).
OVERRIDES = {
    "image_topics": "Camera image topics, e.g. \"['/cam1/image_raw', '/cam2/image_raw']\" or /a,/b",
    "camera_info_topics": "CameraInfo topics, one per image topic",
    "weights": "ORPose checkpoint (.pth)",
    "stats": "h36stats.json (default: beside the weights, then the models folder)",
    "downsample_factor": "Privacy downsampling factor (1 = off; 0 = from the weights name)",
    "restore_size": "Frames arrive shrunk: restore them to WxH, or 'camera_info'",
    "device": "auto, cpu, cuda or cuda:N",
}


def _failing_the_launch(node: Node) -> RegisterEventHandler:
    return RegisterEventHandler(OnProcessExit(target_action=node, on_exit=lambda event, _: check_exit(
        event.action.name, event.returncode)))


def _nodes(context) -> list:
    """orpose_node with the params file and the given overrides; the fusion node when asked for."""
    overrides = parameter_overrides({name: LaunchConfiguration(name).perform(context) for name in OVERRIDES})
    calibration = LaunchConfiguration("calibration").perform(context).strip()
    if calibration:
        overrides.update(calibration_overrides(calibration, overrides))
    namespace = LaunchConfiguration("namespace")
    nodes = [Node(package="orpose_ros", executable="orpose_node", name="orpose_node", namespace=namespace,
                  parameters=[LaunchConfiguration("params_file"), overrides], output="screen", emulate_tty=True)]
    if LaunchConfiguration("fusion").perform(context).lower() in ("true", "1", "yes"):
        if not calibration:
            return [LogInfo(msg="fusion:=true needs calibration:=FILE")]
        nodes.append(Node(package="orpose_ros", executable="orpose_fusion_node", name="orpose_fusion_node",
                          namespace=namespace, parameters=[{"calibration": calibration}], output="screen",
                          emulate_tty=True))
    return [*nodes, *(_failing_the_launch(node) for node in nodes)]


def _rviz_if_installed(context) -> list:
    """RViz with config/orpose.rviz; a warning instead when rviz2 is not installed (the nodes run on)."""
    try:
        get_package_prefix("rviz2")
    except PackageNotFoundError:
        return [LogInfo(msg="rviz:=true but rviz2 is not installed: starting without RViz")]
    return [Node(package="rviz2", executable="rviz2", arguments=["-d", str(SHARE / "config" / "orpose.rviz")],
                 output="screen")]


def generate_launch_description() -> LaunchDescription:
    return LaunchDescription(
        [
            DeclareLaunchArgument("params_file", default_value=str(SHARE / "config" / "orpose.yaml"),
                                  description="Parameters of orpose_node"),
            DeclareLaunchArgument("namespace", default_value="", description="Namespace of the nodes"),
            DeclareLaunchArgument("calibration", default_value="",
                                  description="Room calibration file (config/cameras.example.yaml)"),
            DeclareLaunchArgument("fusion", default_value="false",
                                  description="Also start orpose_fusion_node (needs calibration)"),
            DeclareLaunchArgument("rviz", default_value="false", description="Start RViz with config/orpose.rviz"),
            *(DeclareLaunchArgument(name, default_value="", description=text) for name, text in OVERRIDES.items()),
            # Large images need a bigger shared-memory segment than Fast DDS's default; keep the
            # user's own profile when one is set.
            SetEnvironmentVariable(
                "FASTDDS_DEFAULT_PROFILES_FILE",
                EnvironmentVariable("FASTDDS_DEFAULT_PROFILES_FILE",
                                    default_value=str(SHARE / "config" / "fastdds_shm.xml")),
            ),
            OpaqueFunction(function=_nodes),
            OpaqueFunction(function=_rviz_if_installed, condition=IfCondition(LaunchConfiguration("rviz"))),
        ]
    )
