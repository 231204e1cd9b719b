"""Which fused people are published: a person must be supported before it is output (phantom people stay
tentative: tracked, not published).

Support of one frame (`frame_support`):

- a triangulated person is supported: detections of >= 2 cameras agree on its rays (the association's
  epipolar test) and >= ``min_triangulated_joints`` joints were triangulated;
- a person placed from one camera is supported when its torso was seen: both shoulders and at least one hip
  confident (score >= the placement's ``min_joint_score``). Why the torso: single-camera placement takes
  the person's depth from the skeleton's apparent size and its height above the floor (`geometry.placement`),
  and the torso (shoulder width, shoulder-to-hip length, the pelvis) is what fixes both. Without it the depth
  rests on a head, an arm or a leg, and the placement is a guess; such detections are also what a detector
  produces on half-visible people at the image borders, behind equipment, or on clutter.

Track history (`SupportGate`, used by `fusion.stream.FusionStream`): a track is *established* once one of
its measurements was published; an established track's people are published on every later measurement,
supported or not (a person known from several cameras keeps being output when only one camera sees their
arm). A track that has only single-camera measurements is published once it has been measured, supported,
in ``single_view_min_frames`` consecutive frames of the stream: a detector's one-frame phantom never gets
there, and neither do phantoms that flicker (a frame missed restarts the count), whereas a real person seen by
one camera is measured in every frame.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from orpose_ros.fusion.pipeline import TRIANGULATED, FusedPerson
from orpose_ros.geometry.placement import PlacementOptions
from orpose_ros.skeleton import COCO_KEYPOINT_NAMES

_SHOULDERS = np.array([COCO_KEYPOINT_NAMES.index(n) for n in ("left_shoulder", "right_shoulder")])
_HIPS = np.array([COCO_KEYPOINT_NAMES.index(n) for n in ("left_hip", "right_hip")])


@dataclass(frozen=True)
class SupportOptions:
    """What a person needs to be published (see module doc).

    Attributes:
        single_view_torso: a person placed from one camera needs both shoulders and a hip confident.
        min_joint_score: a keypoint is confident from this score (the placement's ``min_joint_score``).
        single_view_min_frames: a track with only single-camera measurements is published once it has been
            measured, supported, in this many consecutive frames (1: at once); triangulated people are published
            at once. 2 (default): a detector's phantom of one frame is never published, and a real person seen
            by one camera only is published one frame late (0.1 s at 10 Hz).
    """

    single_view_torso: bool = True
    min_joint_score: float = PlacementOptions.min_joint_score
    single_view_min_frames: int = 2

    def __post_init__(self) -> None:
        if not 0.0 <= self.min_joint_score <= 1.0:
            raise ValueError(f"min_joint_score must be in [0, 1], got {self.min_joint_score}")
        if self.single_view_min_frames < 1:
            raise ValueError(f"single_view_min_frames must be >= 1, got {self.single_view_min_frames}")


def frame_support(person: FusedPerson, options: SupportOptions) -> bool:
    """Whether ``person`` is supported by the frame it was fused from alone (see module doc)."""
    if person.placement == TRIANGULATED or not options.single_view_torso:
        return True
    seen = (person.confidence >= options.min_joint_score) & (person.num_views > 0)
    return bool(seen[_SHOULDERS].all() and seen[_HIPS].any())


class SupportGate:
    """Publishes the people of a tracked stream that are supported, per frame and over their track's history."""

    def __init__(self, options: SupportOptions | None = None) -> None:
        self.options = options or SupportOptions()
        self._established: set[int] = set()  # tracks with a published measurement
        self._supported_frames: dict[int, int] = {}  # track -> supported measurements in consecutive frames

    def reset(self) -> None:
        """Forget the history (the tracks started over)."""
        self._established.clear()
        self._supported_frames.clear()

    def publish(self, people: Sequence[FusedPerson], tracks: Sequence[int], live: set[int]) -> list[bool]:
        """Whether each of ``people`` is published; ``tracks``: the track of each (-1: none), ``live``: the tracks
        that still exist (the history of the others is forgotten)."""
        self._established &= live
        measured = set(tracks)
        # a run of supported frames ends when the track missed this frame (or was not supported in it)
        self._supported_frames = {t: n for t, n in self._supported_frames.items() if t in live and t in measured}
        out = []
        for person, track in zip(people, tracks, strict=True):
            supported = frame_support(person, self.options)
            if track < 0:  # not tracked (no centre): the frame alone decides
                out.append(supported and (person.placement == TRIANGULATED or self.options.single_view_min_frames <= 1))
                continue
            if supported:
                self._supported_frames[track] = self._supported_frames.get(track, 0) + 1
            else:
                self._supported_frames.pop(track, None)
            published = track in self._established or (supported and (
                person.placement == TRIANGULATED
                or self._supported_frames[track] >= self.options.single_view_min_frames))
            if published:
                self._established.add(track)
            out.append(published)
        return out
