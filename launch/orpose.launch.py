"""ros2 launch orpose_ros orpose.launch.py [image_topics:=...] [weights:=... | random_weights_seed:=0]
                                          [calibration:=... fusion:=true [zones:=...]] [demo:=room] [rviz:=true]
                                          [autostart:=false]

Starts orpose_node with config/orpose.yaml (or params_file:=...); launch arguments that are given
override its parameters. With calibration:=FILE the node places people with the room's calibration
and its cameras' topics come from the file unless image_topics:= is given; fusion:=true also starts
orpose_fusion_node on it, and zones:=FILE orpose_zone_monitor beside it. The nodes configure and activate
themselves; autostart:=false leaves them unconfigured for a lifecycle manager. demo:=room starts no model:
synthetic people in the calibration's room (default: the example) are published as poses, fused by
orpose_fusion_node. Optionally RViz: the room view (config/room.rviz) with the fusion node, else
config/orpose.rviz.
``ros2 launch orpose_ros orpose.launch.py --show-args`` lists every argument with its help.

All decisions are made in orpose_ros.ros.launch_support (tested without `launch`): arguments that
cannot start what they ask for stop the launch with one line and a non-zero exit, and so does a node
that exits with an error.
"""

from pathlib import Path

from ament_index_python.packages import PackageNotFoundError, get_package_prefix, get_package_share_directory
from launch import LaunchDescription
from launch.actions import DeclareLaunchArgument, LogInfo, OpaqueFunction, RegisterEventHandler, SetEnvironmentVariable
from launch.event_handlers import OnProcessExit
from launch.substitutions import EnvironmentVariable, LaunchConfiguration
from launch_ros.actions import Node

from orpose_ros.ros.launch_support import check_exit, launch_arguments, plan_launch

SHARE = Path(get_package_share_directory("orpose_ros"))
ARGUMENTS = launch_arguments()


def _failing_the_launch(node: Node) -> RegisterEventHandler:
    return RegisterEventHandler(OnProcessExit(target_action=node, on_exit=lambda event, _: check_exit(
        event.action.name, event.returncode)))


def _node(executable: str, parameters: list, namespace: LaunchConfiguration) -> Node:
    return Node(package="orpose_ros", executable=executable, name=executable, namespace=namespace,
                parameters=parameters, output="screen", emulate_tty=True)


def _rviz(config: str, fixed_frame: str) -> list:
    """RViz with ``config`` (and ``fixed_frame`` when given); a warning instead when rviz2 is not installed (the
    nodes run on)."""
    try:
        get_package_prefix("rviz2")
    except PackageNotFoundError:
        return [LogInfo(msg="rviz:=true but rviz2 is not installed: starting without RViz")]
    frame = ["-f", fixed_frame] if fixed_frame else []
    return [Node(package="rviz2", executable="rviz2", arguments=["-d", config, *frame], output="screen")]


def _actions(context) -> list:
    """The nodes that plan_launch asks for, each failing the launch when it exits with an error."""
    plan = plan_launch({a.name: LaunchConfiguration(a.name).perform(context) for a in ARGUMENTS}, SHARE)
    namespace = LaunchConfiguration("namespace")
    nodes = []
    managed = plan.lifecycle_parameters()  # autostart, for every lifecycle node
    if plan.pose_node is not None:
        nodes.append(_node("orpose_node", [plan.params_file, plan.pose_node, managed], namespace))
    if plan.room_demo is not None:
        nodes.append(_node("orpose_room_demo", [plan.room_demo], namespace))
    if plan.fusion_node is not None:
        nodes.append(_node("orpose_fusion_node", [plan.fusion_node, managed], namespace))
    if plan.zone_monitor is not None:
        nodes.append(_node("orpose_zone_monitor", [plan.zone_monitor, managed], namespace))
    rviz = _rviz(plan.rviz_config, plan.rviz_fixed_frame) if plan.rviz else []
    return [*nodes, *(_failing_the_launch(node) for node in nodes), *rviz]


def generate_launch_description() -> LaunchDescription:
    return LaunchDescription(
        [
            *(DeclareLaunchArgument(a.name, default_value=a.default, description=a.description) for a in ARGUMENTS),
            # Large images need a bigger shared-memory segment than Fast DDS's default; keep the
            # user's own profile when one is set.
            SetEnvironmentVariable(
                "FASTDDS_DEFAULT_PROFILES_FILE",
                EnvironmentVariable("FASTDDS_DEFAULT_PROFILES_FILE",
                                    default_value=str(SHARE / "config" / "fastdds_shm.xml")),
            ),
            OpaqueFunction(function=_actions),
        ]
    )
