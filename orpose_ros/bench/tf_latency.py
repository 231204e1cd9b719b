"""orpose-bench-tf-latency: the latency the fusion node adds, from the last camera frame of a moment to /tf.

    orpose-bench-tf-latency [--moments 300] [--rate-hz 10] [--people 5] [--calibration FILE] [--json OUT.json]

orpose_fusion_node runs as a separate process (real DDS on loopback, the shipped Fast DDS profile, its own
ROS_DOMAIN_ID) on a 3-camera calibration (default: the shipped config/cameras.example.yaml; a camera whose
intrinsics come from camera_info gets nominal ones, published before each moment as the room demo does).
This process plays the pose nodes: at ``rate_hz`` it publishes one orpose_msgs/PersonPoseArray per camera of a
moment of `room_scene.RoomScene` (``people`` walkers, detector noise and misses), stamped with the wall clock,
and listens to /tf. For each moment the latency is the time from just after publishing its last camera's
message to the receipt of the /tf message carrying its stamp (both `time.perf_counter` in this process: it
includes DDS both ways, grouping, fusion, tracking and TF building). The first ``warmup`` moments are not
counted; moments whose /tf never came (nobody placed, or lost) are counted apart. Measured, never asserted.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import threading
import time
from collections.abc import Sequence
from pathlib import Path

from orpose_ros.bench.report import latency_summary
from orpose_ros.ros import processes
from orpose_ros.ros.processes import ProcessGroup, wait_until

PROG = "orpose-bench-tf-latency"


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog=PROG, description=__doc__.split("\n\n")[0])
    parser.add_argument("--moments", type=int, default=300, help="moments measured (after the warm-up)")
    parser.add_argument("--warmup", type=int, default=20, help="first moments not counted")
    parser.add_argument("--rate-hz", type=float, default=10.0, help="moments per second")
    parser.add_argument("--people", type=int, default=5, help="synthetic people (1..6)")
    parser.add_argument("--calibration", type=Path, default=None,
                        help="room calibration (default: the shipped config/cameras.example.yaml)")
    parser.add_argument("--json", type=Path, default=None, help="also write the figures here")
    parser.add_argument("--log-dir", type=Path, default=None, help="the fusion node's log (default: a temporary one)")
    args = parser.parse_args(argv)
    if args.moments < 1 or args.warmup < 0 or not 0.1 <= args.rate_hz <= 100 or not 1 <= args.people <= 6:
        parser.error("expected --moments >= 1, --warmup >= 0, --rate-hz in [0.1, 100], --people in [1, 6]")
    return args


class Player:
    """The pose nodes of every camera and a /tf listener, in this process (own rclpy context)."""

    def __init__(self, env: dict[str, str], calibration_path: Path, people: int) -> None:
        from sensor_msgs.msg import CameraInfo

        from orpose_msgs.msg import PersonPoseArray
        from orpose_ros.geometry.calibration import PendingCamera
        from orpose_ros.geometry.calibration_files import load_calibration
        from orpose_ros.room_scene import RoomScene, with_nominal_intrinsics
        from orpose_ros.ros.background_node import BackgroundNode
        from orpose_ros.ros.room_demo import RELIABLE
        from orpose_ros.ros.tf_messages import TFMessage
        from orpose_ros.ros.tf_publishing import TF_QOS

        loaded = load_calibration(calibration_path)
        self.pending = [c.name for c in loaded.cameras if isinstance(c, PendingCamera) and c.camera_info_topic]
        self.calibration = with_nominal_intrinsics(loaded)
        self.scene = RoomScene(self.calibration, people)
        self.ros = BackgroundNode(env, "orpose_tf_latency_bench")
        self.node = self.ros.node
        self.poses = self.node.create_publisher(PersonPoseArray, "/orpose/poses", RELIABLE)
        self.infos = {name: self.node.create_publisher(CameraInfo, self.calibration.camera(name).camera_info_topic,
                                                       RELIABLE) for name in self.pending}
        self.received: dict[tuple[int, int], float] = {}  # stamp -> perf_counter at receipt
        self._lock = threading.Lock()
        self.tf = self.node.create_subscription(TFMessage, "/tf", self._on_tf, TF_QOS)
        self.ros.start()

    def _on_tf(self, msg) -> None:
        now = time.perf_counter()
        with self._lock:
            for t in msg.transforms:
                self.received.setdefault((t.header.stamp.sec, t.header.stamp.nanosec), now)

    def latencies_ms(self, sent: dict[tuple[int, int], float]) -> list[float]:
        """Per moment ``sent`` (stamp -> perf_counter after its last message), the time to its /tf [ms]; the
        moments without a /tf message are left out."""
        with self._lock:
            return [1e3 * (self.received[s] - t) for s, t in sent.items() if s in self.received]

    def moment(self) -> tuple[tuple[int, int], list]:
        """The messages of one moment stamped now (the camera_infos first, then the poses of every camera)."""
        from std_msgs.msg import Header

        from orpose_ros.ros.pose_messages import frame_result_to_msg
        from orpose_ros.ros.room_demo import camera_info_msg, detected
        from orpose_ros.ros.stamps import stamp_ns

        stamp = self.node.get_clock().now().to_msg()
        messages = []
        for name in self.pending:
            camera = self.calibration.camera(name)
            messages.append((self.infos[name], camera_info_msg(camera, Header(stamp=stamp, frame_id=camera.frame_id
                                                                               or name))))
        detections = self.scene.detections(stamp_ns(Header(stamp=stamp)) * 1e-9)
        for camera in self.calibration.complete_cameras():
            header = Header(stamp=stamp, frame_id=camera.frame_id or camera.name)
            messages.append((self.poses, frame_result_to_msg(detected(detections[camera.name], camera, header),
                                                             header)))
        return (stamp.sec, stamp.nanosec), messages

    def close(self) -> None:
        self.ros.close()


def run(args: argparse.Namespace, log_dir: Path) -> dict:
    """Start the node, play the moments, and return the figures."""
    from orpose_ros.ros.dds import share_directory

    calibration = args.calibration or share_directory() / "config" / "cameras.example.yaml"
    env = processes.ros_child_env(log_dir=log_dir / "ros")
    with ProcessGroup(env, log_dir) as group:
        group.start("fusion", processes.node_command("orpose_ros.ros.fusion_node", {
            "calibration": Path(calibration).resolve(), "publish_markers": False}))
        player = Player(env, Path(calibration), args.people)
        try:
            if not wait_until(lambda: player.poses.get_subscription_count() > 0
                              and player.tf.get_publisher_count() > 0, 120):
                raise RuntimeError("the fusion node did not come up: " + group.log_tail("fusion"))
            sent: dict[tuple[int, int], float] = {}
            period = 1.0 / args.rate_hz
            start = time.perf_counter()
            for k in range(args.warmup + args.moments):
                wait = start + k * period - time.perf_counter()
                if wait > 0:
                    time.sleep(wait)
                stamp, messages = player.moment()
                for publisher, msg in messages:
                    publisher.publish(msg)
                if k >= args.warmup:
                    sent[stamp] = time.perf_counter()
            wait_until(lambda: all(s in player.received for s in sent), 5.0)  # stragglers; absent ones stay absent
            latencies = player.latencies_ms(sent)
        finally:
            player.close()
        group.stop_all()
    summary = latency_summary(latencies)
    return {"cameras": len(player.calibration.names), "people": args.people, "rate_hz": args.rate_hz,
            "moments": args.moments, "without_tf": args.moments - len(latencies), "latency_ms": summary}


def main(argv: Sequence[str] | None = None) -> int:
    """Console entry point: prints the median and p95 latency [ms]; 0 when measured, 1 on failure."""
    args = parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="orpose_tf_latency_") as tmp:
        log_dir = args.log_dir or Path(tmp)
        try:
            result = run(args, log_dir)
        except RuntimeError as error:
            print(f"{PROG}: {error}", file=sys.stderr)
            return 1
    latency = result["latency_ms"]
    print(f"{PROG}: last camera frame -> /tf, {result['cameras']} cameras, {result['people']} people, "
          f"{latency['n']} moments at {result['rate_hz']:g} Hz ({result['without_tf']} without /tf): "
          f"median {latency['p50']:.1f} ms, p95 {latency['p95']:.1f} ms, max {latency['max']:.1f} ms")
    if args.json is not None:
        args.json.write_text(json.dumps(result, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
