"""Topic names and the rules on them, ROS-free so that the node, the bags and the tools agree.

The pose node publishes its outputs under names relative to its namespace (``orpose/poses``); a bag
has no namespace, so the tools write the same names from the root (``/orpose/poses``).
"""

from __future__ import annotations

POSES = "orpose/poses"
MARKERS = "orpose/markers"
DEBUG_IMAGE = "orpose/debug_image"
PEOPLE = "orpose/people"
PEOPLE_MARKERS = "orpose/people_markers"
PEOPLE_TRACKED = "orpose/people/tracked"
ZONES = "orpose/zones"
ZONE_EVENTS = "orpose/zone_events"
ZONE_MARKERS = "orpose/zone_markers"
DIAGNOSTICS = "/diagnostics"
#: tf2's topics (absolute, as tf2_ros's broadcasters and listeners use them).
TF = "/tf"
TF_STATIC = "/tf_static"

#: The image_transport suffix of sensor_msgs/CompressedImage topics.
COMPRESSED_SUFFIX = "/compressed"


def in_bag(name: str) -> str:
    """The name a node's relative output topic has in a bag (written from the root)."""
    return name if name.startswith("/") else f"/{name}"


def is_compressed(topic: str) -> bool:
    """Whether ``topic`` carries sensor_msgs/CompressedImage (its name ends in /compressed)."""
    return topic.rstrip("/").endswith(COMPRESSED_SUFFIX)


def image_topic_of(topic: str) -> str:
    """The raw image topic behind a topic: ``/cam/image_raw/compressed`` -> ``/cam/image_raw``."""
    topic = topic.rstrip("/")
    return topic.removesuffix(COMPRESSED_SUFFIX) if is_compressed(topic) else topic


def marker_namespace(source_topic: str, index: int = 0) -> str:
    """The marker namespace of a camera's people: its topic without the leading slash
    (``camera_<index>`` for an empty topic)."""
    return source_topic.strip("/") or f"camera_{index}"
