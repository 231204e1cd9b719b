"""rosbag2 in and out without a ROS 2 install: the ``rosbags`` library reads and writes the
containers (sqlite3 and MCAP), rclpy (de)serializes the messages, so that bags carry exactly what
the nodes publish (the same message builders).

Written bags are rosbag2 version 8 (readable by ``ros2 bag info/play`` on Jazzy and Kilted) and embed
the message definitions, orpose_msgs' included.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from ament_index_python.packages import get_package_share_directory
from rclpy.serialization import deserialize_message, serialize_message
from rosbags.highlevel import AnyReader
from rosbags.interfaces import Connection
from rosbags.rosbag2 import StoragePlugin, Writer
from rosbags.typesys import Stores, get_types_from_msg, get_typestore
from rosbags.typesys.store import Typestore
from sensor_msgs.msg import CameraInfo, CompressedImage, Image
from std_msgs.msg import Header

from orpose_ros import topics
from orpose_ros.camera_pipeline import FrameResult
from orpose_ros.ros.image_conversion import bgr_to_image_msg, compressed_msg_to_bgr, image_msg_to_bgr
from orpose_ros.ros.markers import frame_markers
from orpose_ros.ros.pose_messages import frame_result_to_msg
from orpose_ros.ros.privacy_messages import lowres_topic

logger = logging.getLogger(__name__)

IMAGE = "sensor_msgs/msg/Image"
COMPRESSED_IMAGE = "sensor_msgs/msg/CompressedImage"
CAMERA_INFO = "sensor_msgs/msg/CameraInfo"
IMAGE_TYPES = (IMAGE, COMPRESSED_IMAGE)
#: rclpy classes of the message types bags are read into.
_CLASSES: dict[str, type] = {IMAGE: Image, COMPRESSED_IMAGE: CompressedImage, CAMERA_INFO: CameraInfo}
STORAGES = {"sqlite3": StoragePlugin.SQLITE3, "mcap": StoragePlugin.MCAP}
BAG_VERSION = 8


class BagError(ValueError):
    """A bag that cannot be read or written as asked; the message names the file or the topic."""


def storage_of(path: Path) -> str:
    """'mcap' or 'sqlite3': the storage of a bag folder or file."""
    files = [path] if path.is_file() else list(path.iterdir())
    return "mcap" if any(f.suffix.lower() == ".mcap" for f in files) else "sqlite3"


def open_bag(path: Path) -> AnyReader:
    """An opened reader (close it, or use it in a ``with``); BagError naming the file otherwise."""
    if not path.exists():
        raise BagError(f"no bag at {path}")
    reader = AnyReader([path], default_typestore=get_typestore(Stores.ROS2_KILTED))
    try:
        reader.open()
    except Exception as error:  # rosbags raises many types (ReaderError, yaml, sqlite3, mcap)
        raise BagError(f"cannot read the bag {path}: {' '.join(str(error).split())}") from None
    return reader


def image_connections(reader: AnyReader, topics: Sequence[str] | None) -> list[Connection]:
    """The connections of ``topics`` (all image topics when None); BagError naming a missing topic or
    one that holds no images."""
    by_topic: dict[str, list[Connection]] = {}
    for connection in reader.connections:
        by_topic.setdefault(connection.topic, []).append(connection)
    if topics is None:
        chosen = [c for c in reader.connections if c.msgtype in IMAGE_TYPES]
        if not chosen:
            raise BagError(f"{_bag_name(reader)} has no sensor_msgs Image or CompressedImage topic")
        return chosen
    chosen = []
    for topic in topics:
        if topic not in by_topic:
            raise BagError(f"topic {topic} is not in {_bag_name(reader)} (its topics: {', '.join(sorted(by_topic))})")
        for connection in by_topic[topic]:
            if connection.msgtype not in IMAGE_TYPES:
                raise BagError(f"topic {topic} holds {connection.msgtype}, not images")
            chosen.append(connection)
    return chosen


def _bag_name(reader: AnyReader) -> str:
    return ", ".join(str(p) for p in reader.paths)


def deserialize(connection: Connection, rawdata: bytes) -> Any:
    """The rclpy message of a bag record of a known type (images, camera_info); ValueError when broken."""
    try:
        return deserialize_message(rawdata, _CLASSES[connection.msgtype])
    except Exception as error:  # rclpy raises its own types for truncated or corrupt CDR
        raise ValueError(f"cannot deserialize a {connection.msgtype} message: {error}") from None


@dataclass(frozen=True)
class BagRecord:
    """One message of a bag: its topic, its log time [ns] and the raw CDR bytes."""

    connection: Connection
    log_time_ns: int
    rawdata: bytes

    @property
    def topic(self) -> str:
        return self.connection.topic


def records(reader: AnyReader, connections: Iterable[Connection] = ()) -> Iterator[BagRecord]:
    """The bag's messages of ``connections`` (all when empty) in log-time order; a broken file ends
    the iteration with a BagError naming it."""
    try:
        for connection, stamp, rawdata in reader.messages(connections=list(connections)):
            yield BagRecord(connection, stamp, rawdata)
    except Exception as error:  # truncated sqlite3 / mcap files
        raise BagError(f"the bag {_bag_name(reader)} is damaged: {' '.join(str(error).split())}") from None


@dataclass(frozen=True)
class BagFrame:
    """One camera frame of a bag: its topic, log time [ns], header and (H, W, 3) uint8 BGR pixels."""

    topic: str
    log_time_ns: int
    header: Header
    image: np.ndarray

    @property
    def source(self) -> str:
        """``TOPIC@SEC.NANOSEC`` of the image header: where the frame came from."""
        return f"{self.topic}@{self.header.stamp.sec}.{self.header.stamp.nanosec:09d}"

    @property
    def name(self) -> str:
        """A file-name-safe name: ``cam1_image_raw_SEC_NANOSEC``."""
        topic = self.topic.strip("/").replace("/", "_")
        return f"{topic}_{self.header.stamp.sec}_{self.header.stamp.nanosec:09d}"


def bag_frames(reader: AnyReader, connections: Sequence[Connection],
               on_skip: Callable[[str, str, Exception], None]) -> Iterator[BagFrame]:
    """The decoded frames of image ``connections`` in log-time order. A message that cannot be read
    (truncated, unsupported encoding) is skipped: ``on_skip(topic, where, error)`` is called instead."""
    for record in records(reader, connections):
        try:
            msg = deserialize(record.connection, record.rawdata)
            image = compressed_msg_to_bgr(msg) if isinstance(msg, CompressedImage) else image_msg_to_bgr(msg)
        except ValueError as error:  # UnsupportedImageError included
            on_skip(record.topic, f"{record.topic} at {record.log_time_ns} ns", error)
            continue
        yield BagFrame(record.topic, record.log_time_ns, msg.header, image)


def write_results(bag: BagWriter, log_time_ns: int, header: Header, result: FrameResult, marker_depth_m: float,
                  lowres: np.ndarray | None = None) -> None:
    """What orpose_node publishes for a frame, at ``log_time_ns``: its poses and markers (the same
    builders, topics from the root), and the low-resolution frame on its lowres sibling topic when given."""
    bag.write(topics.in_bag(topics.POSES), log_time_ns, frame_result_to_msg(result, header))
    bag.write(topics.in_bag(topics.MARKERS), log_time_ns, frame_markers(result, header, marker_depth_m))
    if lowres is not None:
        bag.write(lowres_topic(topics.image_topic_of(result.source)), log_time_ns, bgr_to_image_msg(lowres, header))


def orpose_typestore() -> Typestore:
    """Kilted's message types plus orpose_msgs', read from the installed .msg files."""
    typestore = get_typestore(Stores.ROS2_KILTED)
    msg_dir = Path(get_package_share_directory("orpose_msgs")) / "msg"
    types = {}
    for path in sorted(msg_dir.glob("*.msg")):
        types.update(get_types_from_msg(path.read_text(), f"orpose_msgs/msg/{path.stem}"))
    if not types:
        raise BagError(f"no orpose_msgs message definitions in {msg_dir}")
    typestore.register(types)
    return typestore


class BagWriter:
    """A rosbag2 being written: topics added on first use, rclpy messages serialized in.

    ``with BagWriter(path, "mcap") as bag: bag.write("/orpose/poses", stamp_ns, msg)``
    """

    def __init__(self, path: Path, storage: str = "sqlite3") -> None:
        if path.exists():
            raise BagError(f"{path} exists already: give a new folder for the output bag")
        if storage not in STORAGES:
            raise BagError(f"unknown bag storage {storage!r}: use {' or '.join(STORAGES)}")
        self.path = path
        self._writer = Writer(path, version=BAG_VERSION, storage_plugin=STORAGES[storage])
        self._typestore: Typestore | None = None
        self._connections: dict[str, Connection] = {}
        self.counts: dict[str, int] = {}

    def __enter__(self) -> BagWriter:
        self._writer.open()
        return self

    def __exit__(self, *exc: object) -> None:
        self._writer.close()

    def _connection(self, topic: str, msgtype: str) -> Connection:
        if topic not in self._connections:
            if self._typestore is None:
                self._typestore = orpose_typestore()
            self._connections[topic] = self._writer.add_connection(topic, msgtype, typestore=self._typestore)
        return self._connections[topic]

    def write(self, topic: str, log_time_ns: int, msg: Any) -> None:
        """Serialize an rclpy message into ``topic`` at ``log_time_ns``."""
        module = type(msg).__module__.split(".")  # e.g. orpose_msgs.msg._person_pose_array
        msgtype = f"{module[0]}/msg/{type(msg).__name__}"
        self._writer.write(self._connection(topic, msgtype), log_time_ns, serialize_message(msg))
        self.counts[topic] = self.counts.get(topic, 0) + 1

    def copy(self, record: BagRecord) -> None:
        """Copy a record of another bag as it is (its definition, QoS and bytes)."""
        source = record.connection
        if record.topic not in self._connections:
            known = bool(source.msgdef.data and source.digest)
            if not known and self._typestore is None:
                self._typestore = orpose_typestore()
            if not known and source.msgtype not in self._typestore.types:
                raise BagError(f"topic {record.topic}: the bag holds no definition of {source.msgtype}")
            self._connections[record.topic] = self._writer.add_connection(
                record.topic, source.msgtype, typestore=None if known else self._typestore,
                msgdef=source.msgdef.data if known else None, rihs01=source.digest if known else None,
                serialization_format=getattr(source.ext, "serialization_format", "cdr"),
                offered_qos_profiles=getattr(source.ext, "offered_qos_profiles", ()),
            )
        self._writer.write(self._connections[record.topic], record.log_time_ns, record.rawdata)
        self.counts[record.topic] = self.counts.get(record.topic, 0) + 1
