"""orpose-bench-privacy: what privacy at the source costs, measured (never asserted).

    orpose-bench-privacy [--frames 300] [--starts 5] [--out bench_results/privacy.json]

1. The filter's work per 640x480 frame on ONE core (this process pinned to one CPU): a bgr8 Image,
   a JPEG and a PNG CompressedImage, shrunk by 12 into a message (`shrink_camera_msg`), and the
   shrink alone (`privacy.shrink` on a bgr8 array: Pillow's bilinear resize, the bit-exact floor).
2. The filter's start time: from launching ``orpose_privacy_filter`` to its "ready" line, beside a
   bare rclpy node (one publisher, nothing of ours) timed the same way: the floor of any rclpy node.
3. Bag throughput without the model: reading and decoding the frames of a session bag (what
   ``orpose-infer BAG`` does around the model) and ``orpose-privacy-filter``'s rewrite (in this
   process, so without its start-up), in frames/s, for sqlite3 and MCAP bags of raw 640x480 frames.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
from builtin_interfaces.msg import Time
from std_msgs.msg import Header

from orpose_ros import privacy
from orpose_ros.cli.privacy_filter import rewrite
from orpose_ros.frames import load_frames
from orpose_ros.ros import processes
from orpose_ros.ros.bags import BagWriter, bag_frames, image_connections, open_bag
from orpose_ros.ros.image_conversion import bgr_to_compressed_msg, pixels_to_image_msg
from orpose_ros.ros.privacy_messages import shrink_camera_msg

from .report import latency_summary

FACTOR = 12
#: A bare rclpy node with one publisher that says "ready:" like ours: the start-up floor of any node.
BARE_NODE = ("import rclpy, rclpy.node; from sensor_msgs.msg import Image; rclpy.init(); "
             "node = rclpy.create_node('bare'); node.create_publisher(Image, 'image', 1); print('ready:', flush=True); "
             "rclpy.spin(node)")


def per_frame_cost(frames: list[np.ndarray], repeats: int) -> dict[str, dict]:
    """Milliseconds per `shrink_camera_msg` call, per input kind, on the current CPU set."""
    header = Header(stamp=Time(sec=1, nanosec=0), frame_id="cam")
    kinds = {
        "Image bgr8": [pixels_to_image_msg(f, "bgr8", header) for f in frames],
        "CompressedImage jpeg": [bgr_to_compressed_msg(f, "jpeg", header) for f in frames],
        "CompressedImage png": [bgr_to_compressed_msg(f, "png", header) for f in frames],
    }
    results = {}
    for kind, messages in kinds.items():
        for msg in messages[:5]:  # warm-up
            shrink_camera_msg(msg, FACTOR)
        times = []
        for i in range(repeats):
            msg = messages[i % len(messages)]
            started = time.perf_counter()
            shrink_camera_msg(msg, FACTOR)
            times.append((time.perf_counter() - started) * 1000.0)
        results[kind] = latency_summary(times)
    times = []
    for i in range(repeats + 5):
        started = time.perf_counter()
        privacy.shrink(frames[i % len(frames)], FACTOR)
        times.append((time.perf_counter() - started) * 1000.0)
    results["shrink only (bgr8 array)"] = latency_summary(times[5:])
    return results


def start_times(starts: int, work: Path, command: list[str]) -> list[float]:
    """Seconds from launching ``command`` (a node) to its "ready" line, ``starts`` times."""
    env = processes.ros_child_env(log_dir=work / "ros_log")
    seconds = []
    for _ in range(starts):
        with processes.ProcessGroup(env, Path(tempfile.mkdtemp(prefix="start_", dir=work))) as group:
            started = time.monotonic()
            group.start("filter", command)
            if not processes.wait_until(lambda group=group: "ready:" in group.log("filter"), 60, interval=0.01):
                raise RuntimeError("the filter did not start:\n" + group.log_tail("filter"))
            seconds.append(time.monotonic() - started)
    return seconds


def bag_throughput(frames: list[np.ndarray], count: int, storage: str, work: Path) -> dict[str, float]:
    """Frames/s of reading + decoding a bag of ``count`` raw frames, and of rewriting it shrunk."""
    bag = work / f"session_{storage}"
    with BagWriter(bag, storage) as writer:
        for i in range(count):
            header = Header(stamp=Time(sec=100 + i // 30, nanosec=(i % 30) * 33_000_000), frame_id="cam")
            msg = pixels_to_image_msg(frames[i % len(frames)], "bgr8", header)
            writer.write("/cam/image_raw", (100 * 30 + i) * 33_333_333, msg)
    reader = open_bag(bag)
    started = time.perf_counter()
    decoded = sum(1 for _ in bag_frames(reader, image_connections(reader, None), lambda *a: None))
    read_fps = decoded / (time.perf_counter() - started)
    reader.close()
    started = time.perf_counter()
    counts = rewrite(bag, work / f"x12_{storage}", FACTOR, None)
    rewrite_fps = count / (time.perf_counter() - started)
    return {"frames": count, "read_decode_fps": read_fps, "privacy_rewrite_fps": rewrite_fps,
            "rewrite_counts": dict(counts), "bag_mb": sum(p.stat().st_size for p in bag.iterdir()) / 1e6}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="orpose-bench-privacy", description=__doc__.split("\n")[0])
    parser.add_argument("--frames", type=int, default=300, help="frames per measurement (default: %(default)s)")
    parser.add_argument("--starts", type=int, default=5, help="filter launches timed (default: %(default)s)")
    parser.add_argument("--out", type=Path, default=Path("bench_results/privacy.json"))
    args = parser.parse_args(argv)
    frames = load_frames("synthetic", count=30, size=(640, 480))
    os.sched_setaffinity(0, {min(os.sched_getaffinity(0))})  # one core: the camera machine's budget
    result: dict = {"factor": FACTOR}
    result["per_frame_ms"] = per_frame_cost(frames, args.frames)
    with tempfile.TemporaryDirectory(prefix="orpose_bench_privacy_") as tmp:
        filter_node = processes.node_command("orpose_ros.ros.privacy_filter_node", {"image_topics": ["/bench/image"]})
        for name, command in (("start_ms", filter_node), ("bare_rclpy_start_ms", [sys.executable, "-c", BARE_NODE])):
            result[name] = latency_summary([1000.0 * s for s in start_times(args.starts, Path(tmp), command)])
        result["bags"] = {storage: bag_throughput(frames, args.frames, storage, Path(tmp))
                          for storage in ("sqlite3", "mcap")}
    result["cpu"] = {"model": _cpu_model(), "cores_used": 1}
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=1) + "\n")
    print(markdown(result))
    return 0


def _cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return "unknown"


def markdown(result: dict) -> str:
    """The tables of docs/privacy.md."""
    lines = [f"Filter work per 640x480 frame, x{result['factor']}, one core ({result['cpu']['model']}):", "",
             "| input | p50 ms | p95 ms | mean ms |", "|---|---|---|---|"]
    for kind, s in result["per_frame_ms"].items():
        lines.append(f"| {kind} | {s['p50']:.3f} | {s['p95']:.3f} | {s['mean']:.3f} |")
    start, bare = result["start_ms"], result["bare_rclpy_start_ms"]
    lines += ["", f"Filter start to ready: p50 {start['p50']:.0f} ms, max {start['max']:.0f} ms "
              f"({start['n']} launches); a bare rclpy node with one publisher: p50 {bare['p50']:.0f} ms, "
              f"max {bare['max']:.0f} ms.", "",
              "| bag storage | frames | read + decode frames/s | privacy rewrite frames/s |", "|---|---|---|---|"]
    for storage, b in result["bags"].items():
        lines.append(f"| {storage} | {b['frames']} | {b['read_decode_fps']:.0f} | {b['privacy_rewrite_fps']:.0f} |")
    return "\n".join(lines)


if __name__ == "__main__":
    sys.exit(main())
