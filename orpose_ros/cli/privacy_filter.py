"""``orpose-privacy-filter IN_BAG OUT_BAG --factor 12``: a recorded session, made shareable.

The offline twin of the ``orpose_privacy_filter`` node, with the same message transforms: every
sensor_msgs Image and CompressedImage is shrunk by the factor (same topic, type and header),
every CameraInfo is rescaled to match, and every other message is copied as it is, except messages
that can carry pictures the filter cannot shrink: images it cannot read (depth encodings...), types
that embed an Image, CompressedImage or PointCloud2 (whose colours can be a full-resolution
picture), and types named like images or video packets. Those are dropped and listed. A message
that cannot be read is skipped and counted, never fatal.
"""

from __future__ import annotations

import argparse
import sys
from collections import Counter
from collections.abc import Sequence
from pathlib import Path

from tqdm import tqdm

PROG = "orpose-privacy-filter"
#: Fields of these types can hold a picture: a message type that embeds one is never copied.
PICTURE_FIELDS = ("sensor_msgs/Image", "sensor_msgs/CompressedImage", "sensor_msgs/PointCloud2",
                  "sensor_msgs/msg/Image", "sensor_msgs/msg/CompressedImage", "sensor_msgs/msg/PointCloud2")
#: Words in a type name that say it is a picture or a video stream (theora, ffmpeg packets...).
PICTURE_WORDS = ("image", "video", "packet", "theora", "ffmpeg", "h264", "h265", "pointcloud")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog=PROG, description=__doc__.split("\n")[0].strip("`: "))
    parser.add_argument("input", type=Path, metavar="IN_BAG", help="rosbag2 folder or .mcap file")
    parser.add_argument("output", type=Path, metavar="OUT_BAG", help="new rosbag2 folder to write")
    parser.add_argument("--factor", type=int, default=12, metavar="S",
                        help="privacy factor (>= 2): W x H frames become int(W/S) x int(H/S) (default: %(default)s)")
    parser.add_argument("--storage", choices=("sqlite3", "mcap"), help="output storage (default: the input's)")
    return parser


def carries_pictures(msgtype: str, definition: str) -> bool:
    """Whether messages of a type other than Image, CompressedImage and CameraInfo may hold pictures:
    its definition (with its dependencies) embeds a picture field, or its name says so."""
    name = msgtype.rpartition("/")[2].lower()
    return any(word in name for word in PICTURE_WORDS) or any(field in definition for field in PICTURE_FIELDS)


def rewrite(input_bag: Path, output_bag: Path, factor: int, storage: str | None) -> Counter:
    """Write the shrunk copy of ``input_bag``; counts per outcome ("shrunk", "rescaled", "copied",
    "dropped (...)")."""
    from orpose_ros.ros.bags import CAMERA_INFO, IMAGE_TYPES, BagWriter, deserialize, open_bag, records, storage_of
    from orpose_ros.ros.privacy_messages import shrink_camera_msg, shrunk_camera_info

    counts: Counter = Counter()
    writer = BagWriter(output_bag, storage or storage_of(input_bag) if input_bag.exists() else "sqlite3")
    reader = open_bag(input_bag)
    try:
        total = sum(c.msgcount for c in reader.connections)
        with writer as bag, tqdm(total=total, unit="msg", desc=PROG, file=sys.stderr) as progress:
            for record in records(reader):
                progress.update(1)
                msgtype = record.connection.msgtype
                try:
                    if msgtype in IMAGE_TYPES:
                        bag.write(record.topic, record.log_time_ns,
                                  shrink_camera_msg(deserialize(record.connection, record.rawdata), factor))
                        counts["shrunk"] += 1
                    elif msgtype == CAMERA_INFO:
                        bag.write(record.topic, record.log_time_ns,
                                  shrunk_camera_info(deserialize(record.connection, record.rawdata), factor))
                        counts["rescaled"] += 1
                    elif carries_pictures(msgtype, record.connection.msgdef.data):
                        counts[f"dropped ({msgtype} on {record.topic})"] += 1
                    else:
                        bag.copy(record)
                        counts["copied"] += 1
                except ValueError as error:  # unreadable, or an image the filter cannot shrink
                    key = f"dropped (unreadable on {record.topic})"
                    if not counts[key]:
                        tqdm.write(f"{PROG}: {record.topic}: {error}; such messages are dropped", file=sys.stderr)
                    counts[key] += 1
    finally:
        reader.close()
    return counts


def main(argv: Sequence[str] | None = None) -> int:
    """Console entry point: 0 done, 2 bad arguments or an unreadable input."""
    args = build_parser().parse_args(argv)
    if args.factor < 2:
        print(f"{PROG}: error: --factor must be at least 2, got {args.factor}", file=sys.stderr)
        return 2
    from orpose_ros.ros.bags import BagError

    try:
        counts = rewrite(args.input, args.output, args.factor, args.storage)
    except BagError as error:
        print(f"{PROG}: error: {error}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(f"{PROG}: interrupted; {args.output} is incomplete", file=sys.stderr)
        return 130
    summary = ", ".join(f"{n} {what}" for what, n in sorted(counts.items()))
    print(f"{PROG}: {args.output} written (x{args.factor}): {summary or 'no messages'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
