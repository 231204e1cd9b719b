"""Fusion over a stream of synchronised frames: `fuse_frame`, joint uncertainty, tracking (with each person's
motion and tracking state), optional smoothing, and the people the tracker still predicts."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace

import numpy as np

from orpose_ros.fusion.detections import PersonDetection
from orpose_ros.fusion.motion import PersonMotion, TrackingState
from orpose_ros.fusion.pipeline import TRIANGULATED, FusedPerson, FusionOptions, fuse_frame
from orpose_ros.fusion.smoothing import JointSmoother, OneEuroOptions
from orpose_ros.fusion.tracking import Track, Tracker, TrackerOptions
from orpose_ros.fusion.uncertainty import UncertaintyOptions, joint_covariances
from orpose_ros.geometry.calibration import RoomCalibration


@dataclass(frozen=True)
class StreamOptions:
    """Options of `FusionStream`.

    Attributes:
        fusion: per-frame fusion.
        tracking: tracks of the people's centres [m] in the world frame.
        smoothing: One-Euro smoothing of the tracked joints; None (default): off.
        uncertainty: the joint uncertainty model (its pixel noise is at least the association's
            ``keypoint_noise_px``, which the fusion node sets to the privacy factor).
        predicted: also return, as `TrackingState.PREDICTED`, the people of confirmed tracks not measured
            in a frame (unseen for at most ``tracking.max_age_s``).
    """

    fusion: FusionOptions = field(default_factory=FusionOptions)
    tracking: TrackerOptions = field(default_factory=TrackerOptions)
    smoothing: OneEuroOptions | None = None
    uncertainty: UncertaintyOptions = field(default_factory=UncertaintyOptions)
    predicted: bool = False


def track_people(tracker: Tracker, stamp_s: float, people: Sequence[FusedPerson]) -> list[FusedPerson]:
    """``people`` with the ids ``tracker`` gives their centres [m] at ``stamp_s`` [s] (-1: not yet confirmed)."""
    centres = np.stack([p.centre for p in people]) if people else np.zeros((0, 3))
    ids = tracker.update(stamp_s, centres)
    return [p.with_id(i) for p, i in zip(people, ids, strict=True)]


def with_joint_covariance(person: FusedPerson, calibration: RoomCalibration, options: UncertaintyOptions,
                          keypoint_noise_px: float) -> FusedPerson:
    """``person`` with its joints' covariances (`fusion.uncertainty`); unchanged without ``joint_views``."""
    if person.joint_views is None:
        return person
    cameras = [calibration.camera(name) for name in person.cameras]
    covariance = joint_covariances(cameras, person.joints, person.joint_views, person.placement == TRIANGULATED,
                                   options, keypoint_noise_px)
    return replace(person, joint_covariance=covariance)


def _motion(track: Track, stamp_s: float, state: TrackingState) -> PersonMotion:
    return PersonMotion(state, track.position, track.velocity, track.position_covariance, track.velocity_covariance,
                        stamp_s - track.last_seen_s)


class FusionStream:
    """Fuses, tracks and (optionally) smooths frames in stamp order; keeps the state between them.

    Each returned person carries its joint covariances and its ``motion`` (`PersonMotion`: body centre,
    velocity, their covariances, `TrackingState`). With ``options.predicted``, the people of confirmed tracks
    that no detection of the frame measured follow the measured ones: their last published skeleton moved by
    the track's predicted displacement, joint covariances grown by the growth of the centre's covariance,
    ``cameras`` and ``detection_indices`` empty (no detection of this moment).
    """

    def __init__(self, calibration: RoomCalibration, options: StreamOptions | None = None) -> None:
        self.calibration = calibration
        self.options = options or StreamOptions()
        self.tracker = Tracker(self.options.tracking)
        self.smoother = (
            JointSmoother(self.options.smoothing, self.options.tracking.max_age_s) if self.options.smoothing else None
        )
        self._last: dict[int, FusedPerson] = {}  # track id -> the person last measured on it

    def process(self, stamp_s: float, detections: Mapping[str, Sequence[PersonDetection]]) -> list[FusedPerson]:
        """The tracked people of the frame taken at ``stamp_s`` [s] (see `fuse_frame`), then the predicted ones."""
        noise_px = max(self.options.uncertainty.keypoint_noise_px, self.options.fusion.association.keypoint_noise_px)
        fused = [with_joint_covariance(p, self.calibration, self.options.uncertainty, noise_px)
                 for p in fuse_frame(self.calibration, detections, self.options.fusion)]
        people = track_people(self.tracker, stamp_s, fused)
        tracks = {t.id: t for t in self.tracker.tracks}
        rows = self.tracker.row_tracks
        people = [
            replace(p, motion=_motion(tracks[r], stamp_s, TrackingState.NEW if tracks[r].hits == 1 or p.id < 0
                                      else TrackingState.MEASURED)) if r >= 0 else p
            for p, r in zip(people, rows, strict=True)
        ]
        if self.smoother is not None:
            self.smoother.prune(stamp_s)
            people = [replace(p, joints=self.smoother(stamp_s, p.id, p.joints)) for p in people]
        measured = {int(r) for r in rows if r >= 0}
        self._last = {i: p for i, p in self._last.items() if i in tracks and i not in measured}
        self._last.update({int(r): p for p, r in zip(people, rows, strict=True) if r >= 0 and p.motion is not None})
        if not self.options.predicted:
            return people
        return people + [self._predicted(self._last[i], tracks[i], stamp_s)
                         for i in sorted(self._last) if i not in measured and tracks[i].confirmed]

    @staticmethod
    def _predicted(last: FusedPerson, track: Track, stamp_s: float) -> FusedPerson:
        """``last`` (as last measured) where ``track`` predicts it at ``stamp_s``."""
        assert last.motion is not None
        shift = track.position - last.motion.centre
        growth = track.position_covariance - last.motion.centre_covariance
        covariance = None if last.joint_covariance is None else last.joint_covariance + growth
        return replace(last, joints=last.joints + shift, joint_covariance=covariance, cameras=(),
                       detection_indices=(), joint_views=None,
                       motion=_motion(track, stamp_s, TrackingState.PREDICTED))
