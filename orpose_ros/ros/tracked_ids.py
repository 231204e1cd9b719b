"""orpose_msgs/TrackedIds: which people (and which body_<id> TF frames) one moment of the fusion published."""

from __future__ import annotations

from collections.abc import Collection, Sequence

from std_msgs.msg import Header

from orpose_msgs.msg import TrackedIds
from orpose_ros.fusion.pipeline import FusedPerson
from orpose_ros.fusion.tracking import published_id
from orpose_ros.geometry.body_frame import body_frame_id


def tracked_ids_msg(header: Header, people: Sequence[FusedPerson], frames: Collection[str]) -> TrackedIds:
    """The ids (>= 1; unconfirmed tracks have none) of ``people`` with ``header`` (the people message's), each with
    its body frame when that is in ``frames`` (the child frames published on /tf this moment), else ''."""
    ids = [person_id for person_id in (published_id(person.id) for person in people) if person_id >= 1]
    return TrackedIds(header=header, ids=ids,
                      frame_ids=[body_frame_id(i) if body_frame_id(i) in frames else "" for i in ids])
