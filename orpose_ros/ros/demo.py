"""orpose_demo: the README's main job. Starts orpose_node and a camera replay, prints poses as they arrive;
with --room, the room demo instead: no model, synthetic people in a calibrated room, fused and tracked.

    orpose_demo [--weights W | --random-weights SEED] [--source synthetic|DIR|VIDEO] [--size WxH]
                [--cameras N] [--rate HZ] [--duration S] [--count N] [--device D] [--downsample S]
                [--domain-id N]
    orpose_demo --room [--calibration FILE] [--rate HZ] [--duration S] [--count N] [--domain-id N]

Without --weights it looks for orpose_fixed_12x_model_final.pth in the models folder
($ORPOSE_MODELS_DIR, else ~/.local/share/orpose_ros/models). Random weights are used
only when asked for with --random-weights (the poses are then meaningless). DDS stays on this
machine (ROS_AUTOMATIC_DISCOVERY_RANGE=LOCALHOST) in its own domain; the banner says how to watch
the topics from another shell. --room starts orpose_room_demo (the poses of synthetic people seen by the
calibration's cameras; default: the shipped config/cameras.example.yaml) and orpose_fusion_node on the same
calibration, and prints the people it locates.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

import rclpy
from rclpy.executors import ExternalShutdownException

from orpose_msgs.msg import People3D, Person3D, PersonPoseArray
from orpose_ros.arguments import parse_size
from orpose_ros.model_files import DEFAULT_CHECKPOINT, default_models_dir
from orpose_ros.ros import processes
from orpose_ros.ros.dds import share_directory


def _arguments(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="orpose_demo", description=__doc__.split("\n")[0])
    weights = parser.add_mutually_exclusive_group()
    weights.add_argument("--weights", type=Path,
                         help=f"ORPose checkpoint (default: {DEFAULT_CHECKPOINT} in the models folder)")
    weights.add_argument("--random-weights", type=int, metavar="SEED", help="demo without weights: random model")
    parser.add_argument("--stats", type=Path, help="h36stats.json (default: beside the weights, then models/)")
    parser.add_argument("--source", default="synthetic", help="frames: a folder of images, a video, or 'synthetic'")
    parser.add_argument("--size", type=parse_size, help="resize source frames to WxH (e.g. 640x480 for 12x frames)")
    parser.add_argument("--cameras", type=int, default=1, help="number of simulated cameras")
    parser.add_argument("--rate", type=float, help="frames per second per camera (default 2)")
    parser.add_argument("--duration", type=float, default=0.0, help="stop after S seconds (0 = Ctrl-C)")
    parser.add_argument("--count", type=int, default=0, metavar="N",
                        help="stop after N pose messages (0 = no limit), or at --duration if sooner")
    parser.add_argument("--device", default="auto")
    parser.add_argument("--downsample", type=int, default=0,
                        help="privacy factor (0 = from the weights name; 12 with --random-weights)")
    parser.add_argument("--domain-id", type=int, help="ROS_DOMAIN_ID (default: a random one)")
    parser.add_argument("--room", action="store_true",
                        help="the room demo: no model, synthetic people in a calibrated room, fused (--count: "
                             "People3D messages; --rate: moments per second, default 10)")
    parser.add_argument("--calibration", type=Path, help="with --room: the room (default: config/cameras.example.yaml)")
    args = parser.parse_args(argv)
    if args.cameras < 1 or (args.rate is not None and args.rate <= 0) or args.count < 0:
        parser.error("--cameras must be >= 1, --rate > 0 and --count >= 0")
    model_options = {"--weights": args.weights is not None, "--random-weights": args.random_weights is not None,
                     "--stats": args.stats is not None, "--source": args.source != "synthetic",
                     "--size": args.size is not None, "--cameras": args.cameras != 1, "--device": args.device != "auto",
                     "--downsample": args.downsample != 0}
    if args.room and any(model_options.values()):
        parser.error(f"--room starts no model and no camera: {', '.join(k for k, v in model_options.items() if v)} "
                     "would be ignored")
    if args.calibration is not None and not args.room:
        parser.error("--calibration is for --room")
    if args.calibration is not None and not args.calibration.is_file():
        parser.error(f"--calibration {args.calibration}: no such file")
    args.rate = args.rate or (10.0 if args.room else 2.0)
    return args


def _node_command(args: argparse.Namespace, topics: list[str]) -> list[str]:
    params = {"image_topics": topics, "device": args.device, "downsample_factor": args.downsample,
              **processes.model_parameters(args.weights, args.random_weights, args.stats)}
    return processes.node_command("orpose_ros.ros.node", params,
                                  params_file=share_directory() / "config" / "orpose.yaml")


def _replay_commands(args: argparse.Namespace, topics: list[str]) -> list[list[str]]:
    source = args.source if args.source == "synthetic" else str(Path(args.source).resolve())
    commands = []
    for i, topic in enumerate(topics):
        command = [sys.executable, "-m", "orpose_ros.ros.camera_replay", "--source", source, "--topic", topic,
                   "--rate", str(args.rate), "--frame-id", f"camera_{i}_optical_frame"]
        if args.size:
            command += ["--size", f"{args.size[0]}x{args.size[1]}"]
        commands.append(command)
    return commands


def _print_poses(msg: PersonPoseArray) -> None:
    stamp = msg.header.stamp.sec + msg.header.stamp.nanosec * 1e-9
    latency = time.time() - stamp
    scores = ", ".join(f"{p.score:.2f}" for p in msg.persons[:5])
    print(f"{msg.source_topic} [{msg.header.frame_id}] {msg.image_width}x{msg.image_height} "
          f"x{msg.downsample_factor}: {len(msg.persons)} person(s) [{scores}]  latency {latency * 1000:.0f} ms",
          flush=True)


def _print_people(msg: People3D) -> None:
    placed, predicted = [], 0
    for person in msg.people:
        hips = [(j.position.x, j.position.y) for j in (person.joints[11], person.joints[12])]
        x, y = (sum(v) / 2 for v in zip(*hips, strict=True))
        if person.tracking_state == Person3D.TRACKING_PREDICTED:
            predicted += 1
            placed.append(f"#{person.id} predicted at ({x:.2f}, {y:.2f}) m")
        else:
            placed.append(f"#{person.id} at ({x:.2f}, {y:.2f}) m, {len(person.cameras)} camera(s)")
    seen = len(msg.people) - predicted
    print(f"[{msg.header.frame_id}] {seen} person(s) seen, {predicted} predicted: {'; '.join(placed)}", flush=True)


def _listen(args: argparse.Namespace, group: processes.ProcessGroup, watched: dict[str, object], kind: type,
            topic: str, show) -> int:
    """Print every message of ``topic`` until --duration, --count or a watched process exits; the exit code."""
    rclpy.init()
    listener = rclpy.create_node("orpose_demo_listener")
    printed = []
    listener.create_subscription(kind, topic, lambda m: printed.append(show(m)), 10)
    end = time.monotonic() + args.duration if args.duration > 0 else float("inf")
    code = 0
    try:
        while time.monotonic() < end and not (args.count and len(printed) >= args.count):
            rclpy.spin_once(listener, timeout_sec=0.2)
            exited = [(name, p) for name, p in watched.items() if p.poll() is not None]
            if exited:
                name, process = exited[0]
                print(f"orpose_demo: {name} exited with code {process.returncode}", file=sys.stderr)
                code = process.returncode or 1
                break
    except (KeyboardInterrupt, ExternalShutdownException):
        pass
    finally:
        listener.destroy_node()
        rclpy.try_shutdown()
    return code


def _room(args: argparse.Namespace) -> int:
    env = processes.ros_child_env(domain_id=args.domain_id)
    calibration = (args.calibration or share_directory() / "config" / "cameras.example.yaml").resolve()
    print(f"Room demo: no model; synthetic people walk through {calibration.name}.\n"
          f"ROS_DOMAIN_ID={env['ROS_DOMAIN_ID']} (loopback only). Watch with:\n"
          f"  ROS_DOMAIN_ID={env['ROS_DOMAIN_ID']} ROS_AUTOMATIC_DISCOVERY_RANGE=LOCALHOST ros2 topic echo "
          "/orpose/people\n  (RViz: /orpose/people_markers, Fixed Frame = the calibration's world_frame)", flush=True)
    os.environ.update({k: env[k] for k in ("ROS_AUTOMATIC_DISCOVERY_RANGE", "ROS_DOMAIN_ID")})
    with processes.ProcessGroup(env, log_dir=None) as group:
        watched = {"orpose_fusion_node": group.start("orpose_fusion_node", processes.node_command(
                       "orpose_ros.ros.fusion_node", {"calibration": calibration})),
                   "orpose_room_demo": group.start("orpose_room_demo", processes.node_command(
                       "orpose_ros.ros.room_demo", {"calibration": calibration, "rate_hz": args.rate}))}
        return _listen(args, group, watched, People3D, "/orpose/people", _print_people)


def main(argv: list[str] | None = None) -> int:
    args = _arguments(argv)
    if args.room:
        return _room(args)
    if args.weights is None and args.random_weights is None:
        default_weights = default_models_dir() / DEFAULT_CHECKPOINT
        if not default_weights.exists():
            print(f"orpose_demo: no weights: {default_weights} does not exist.\n"
                  "  Get them with 'orpose-download-models' (models/README.md), or pass --weights FILE;\n"
                  "  to try the pipeline without them, ask for random weights: --random-weights 0", file=sys.stderr)
            return 2
        args.weights = default_weights
    if args.random_weights is not None:
        args.downsample = args.downsample or 12  # show the privacy pipeline, as the 12x model would
        print("=" * 78 + "\n  RANDOM WEIGHTS (asked for with --random-weights): poses are meaningless.\n"
              "  Real poses need the ORPose checkpoints: orpose-download-models\n" + "=" * 78, flush=True)

    env = processes.ros_child_env(domain_id=args.domain_id)
    domain_id = env["ROS_DOMAIN_ID"]
    topics = [f"/camera_{i}/image_raw" for i in range(args.cameras)] if args.cameras > 1 else ["/camera/image_raw"]
    print(f"ROS_DOMAIN_ID={domain_id} (loopback only). Watch with:\n"
          f"  ROS_DOMAIN_ID={domain_id} ROS_AUTOMATIC_DISCOVERY_RANGE=LOCALHOST ros2 topic echo /orpose/poses",
          flush=True)
    os.environ.update({k: env[k] for k in ("ROS_AUTOMATIC_DISCOVERY_RANGE", "ROS_DOMAIN_ID")})
    with processes.ProcessGroup(env, log_dir=None) as group:
        node = group.start("orpose_node", _node_command(args, topics))
        for i, command in enumerate(_replay_commands(args, topics)):
            group.start(f"camera_replay_{i}", command)
        return _listen(args, group, {"orpose_node": node}, PersonPoseArray, "/orpose/poses", _print_poses)


if __name__ == "__main__":
    sys.exit(main())
