"""camera_replay: publish frames from a folder, a video or the synthetic camera at a fixed rate.

    camera_replay [--source DIR|VIDEO|synthetic] [--topic /camera/image_raw] [--rate 10] [--size 640x480]
                  [--frame-id camera_optical_frame] [--compressed] [--encoding bgr8] [--count N] [--reliable]

Each message is stamped with the publishing time. Frames loop until --count frames were sent.
Uses the shipped Fast DDS shared-memory profile unless FASTDDS_DEFAULT_PROFILES_FILE is set.
"""

from __future__ import annotations

import argparse
import itertools
import os
import re
import sys

import cv2
import numpy as np
import rclpy
from rclpy.executors import ExternalShutdownException
from rclpy.qos import HistoryPolicy, QoSProfile, ReliabilityPolicy
from sensor_msgs.msg import CompressedImage, Image
from std_msgs.msg import Header

from orpose_ros.arguments import parse_size
from orpose_ros.frames import FrameSourceError, frame_stream
from orpose_ros.ros.dds import use_shipped_profile
from orpose_ros.ros.image_conversion import bgr_to_compressed_msg, pixels_to_image_msg

_FROM_BGR = {"bgr8": None, "rgb8": cv2.COLOR_BGR2RGB, "bgra8": cv2.COLOR_BGR2BGRA, "rgba8": cv2.COLOR_BGR2RGBA,
             "mono8": cv2.COLOR_BGR2GRAY}


def to_message(frame: np.ndarray, header: Header, encoding: str, compressed: bool) -> Image | CompressedImage:
    if compressed:
        return bgr_to_compressed_msg(frame, "jpeg", header)
    conversion = _FROM_BGR[encoding]
    pixels = frame if conversion is None else cv2.cvtColor(frame, conversion)
    return pixels_to_image_msg(pixels, encoding, header)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="camera_replay", description=__doc__.split("\n")[0])
    parser.add_argument("--source", default="synthetic", help="folder of images, video file, or 'synthetic'")
    parser.add_argument("--topic", default="/camera/image_raw")
    parser.add_argument("--rate", type=float, default=10.0, help="frames per second")
    parser.add_argument("--size", type=parse_size, default=None, help="resize frames to WxH")
    parser.add_argument("--frame-id", default="camera_optical_frame")
    parser.add_argument("--compressed", action="store_true", help="publish sensor_msgs/CompressedImage (jpeg)")
    parser.add_argument("--encoding", choices=sorted(_FROM_BGR), default="bgr8")
    parser.add_argument("--count", type=int, default=0, help="stop after this many frames (0 = never)")
    parser.add_argument("--reliable", action="store_true", help="reliable QoS (default best effort)")
    args, ros_args = parser.parse_known_args(argv)
    if args.rate <= 0:
        parser.error("--rate must be positive")
    try:
        frames = frame_stream(args.source, args.size)
        first = next(frames)
    except (FrameSourceError, OSError) as error:
        print(f"camera_replay: {error}", file=sys.stderr)
        return 2

    use_shipped_profile(os.environ)  # the segment belongs to the sender: without it most frames are lost
    rclpy.init(args=ros_args)
    node = rclpy.create_node("camera_replay_" + (re.sub(r"\W+", "_", args.topic).strip("_") or "camera"))
    qos = QoSProfile(depth=1, history=HistoryPolicy.KEEP_LAST,
                     reliability=ReliabilityPolicy.RELIABLE if args.reliable else ReliabilityPolicy.BEST_EFFORT)
    publisher = node.create_publisher(CompressedImage if args.compressed else Image, args.topic, qos)
    pending = itertools.chain([first], frames)
    sent = 0

    def publish() -> None:
        nonlocal sent
        header = Header(stamp=node.get_clock().now().to_msg(), frame_id=args.frame_id)
        publisher.publish(to_message(next(pending), header, args.encoding, args.compressed))
        sent += 1
        if args.count and sent >= args.count:
            raise SystemExit(0)

    node.create_timer(1.0 / args.rate, publish)
    node.get_logger().info(f"publishing {args.source} on {args.topic} at {args.rate:g} Hz")
    try:
        rclpy.spin(node)
    except (KeyboardInterrupt, ExternalShutdownException, SystemExit):
        pass
    finally:
        node.destroy_node()
        rclpy.try_shutdown()
    return 0


if __name__ == "__main__":
    sys.exit(main())
