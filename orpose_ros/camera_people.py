"""People of one camera over time: metric placement in the camera frame, identities, optional smoothing.

What orpose_node does for each camera after the model: `place_people` puts each person's skeleton
where it projects onto its 2D keypoints, a `Tracker` of the pelvis positions keeps identities over
frames, and a `JointSmoother` may smooth the placed joints. ROS-free.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from orpose_ros.fusion.motion import PersonMotion, TrackingState, measured_state
from orpose_ros.fusion.smoothing import JointSmoother, OneEuroOptions
from orpose_ros.fusion.tracking import Tracker, TrackerOptions, TrackingError, published_id
from orpose_ros.geometry.calibration import FloorPlane
from orpose_ros.geometry.camera import PinholeCamera
from orpose_ros.geometry.placement import PlacementOptions, place_people
from orpose_ros.poses import DetectedPerson
from orpose_ros.skeleton import coco_pelvis

#: Per-camera people are noisier than fused ones: about 0.3 m along the ray (MVOR, single-camera placement).
SINGLE_CAMERA_NOISE_M = 0.3
#: Where a person who cannot be placed stands, along the ray through their 2D pelvis [m].
FALLBACK_DEPTH_M = 3.0


@dataclass(frozen=True, eq=False)
class CameraPerson:
    """One person of a camera frame, placed and tracked; camera optical frame (x right, y down, z forward).

    Attributes:
        id: identity in this camera (>= 1), kept over frames; 0 while a new track is unconfirmed.
        placed: whether the metric placement succeeded (with the camera's real intrinsics).
        method: how it was placed: ``skeleton``, ``floor`` or ``skeleton+floor``; "" when not placed.
        pelvis: (3,) [m]; NaN when not placed.
        joints_h36m: (17, 3) the placed Human3.6M-17 joints [m]; NaN when not placed.
        residual_px: RMS reprojection error of the placed skeleton [px]; NaN when unknown.
        motion: the camera tracker's estimate of the tracked pelvis (`fusion.motion.PersonMotion`, camera
            optical frame; NEW or MEASURED: every person of a frame is measured now); None when not tracked.
    """

    id: int
    placed: bool
    method: str
    pelvis: np.ndarray
    joints_h36m: np.ndarray
    residual_px: float
    motion: PersonMotion | None = None

    @classmethod
    def unplaced(cls, person_id: int = 0) -> CameraPerson:
        """A person nobody placed (NaN everywhere), with identity ``person_id`` (0: none)."""
        return cls(person_id, False, "", np.full(3, np.nan), np.full((17, 3), np.nan), float("nan"))

    @property
    def tracking_state(self) -> TrackingState | None:
        """NEW or MEASURED; None when not tracked."""
        return None if self.motion is None else self.motion.state

    @property
    def since_measured_s(self) -> float:
        """Time since the person was last measured [s]: 0 (measured now); NaN when not tracked."""
        return float("nan") if self.motion is None else float(self.motion.since_measured_s)

    @property
    def velocity(self) -> np.ndarray:
        """(3,) velocity of the pelvis [m/s], camera optical frame; NaN when not placed in this frame (an unplaced
        person is tracked at a nominal depth: not metric) or not tracked."""
        if self.motion is None or not self.placed:
            return np.full(3, np.nan)
        return np.asarray(self.motion.velocity, dtype=np.float64).copy()


class CameraPeople:
    """Places and tracks the people of one camera, frame after frame (stamps in seconds, increasing).

    Args:
        tracking: how identities are kept (positions: pelvis in the camera frame [m]).
        placement: how people are placed.
        smoothing: One-Euro smoothing of the placed joints per identity; None: off.
        fallback_depth_m: for tracking only, a person who cannot be placed stands at this depth along
            the ray through their 2D pelvis.
    """

    def __init__(self, tracking: TrackerOptions | None = None, placement: PlacementOptions | None = None,
                 smoothing: OneEuroOptions | None = None, fallback_depth_m: float = FALLBACK_DEPTH_M) -> None:
        self.tracking = tracking or TrackerOptions(measurement_noise_m=SINGLE_CAMERA_NOISE_M)
        self.tracker = Tracker(self.tracking)
        self.placement = placement or PlacementOptions()
        self.smoother = JointSmoother(smoothing, self.tracking.max_age_s) if smoothing else None
        self.fallback_depth_m = fallback_depth_m
        self.restarts = 0  # times the stamps went backwards (a replay looping) and the tracks were reset

    def update(self, stamp_s: float, persons: Sequence[DetectedPerson], camera: PinholeCamera, metric: bool,
               floor: FloorPlane | None = None) -> list[CameraPerson]:
        """Place and track the people of one frame.

        Args:
            stamp_s: the frame's stamp [s].
            persons: the model's people, with 2D keypoints in ``camera``'s pixels.
            camera: the camera at the frame's resolution (a nominal one when its intrinsics are unknown).
            metric: whether ``camera`` has real intrinsics; otherwise nobody is reported as placed (the
                placement still feeds the tracker).
            floor: the room's floor in the camera's world frame, when calibrated.
        """
        if not persons:
            self._track(stamp_s, np.zeros((0, 3)))
            return []
        keypoints = np.stack([p.keypoints_2d for p in persons]).astype(np.float64)
        skeletons = np.stack([p.keypoints_3d for p in persons]).astype(np.float64)
        placement = place_people(camera, keypoints, skeletons, floor=floor, options=self.placement)
        pelvis_px = coco_pelvis(keypoints)[:, :2]
        fallback = camera.back_project(pelvis_px, self.fallback_depth_m)
        positions = np.where(placement.success[:, None], placement.pelvis, fallback)
        ids = self._track(stamp_s, positions)
        tracks = {t.id: t for t in self.tracker.tracks}
        rows = self.tracker.row_tracks
        people = []
        for i, track_id in enumerate(ids):
            track = tracks.get(int(rows[i])) if rows[i] >= 0 else None
            motion = None if track is None else PersonMotion.of_track(track, stamp_s,
                                                                      measured_state(track, track_id >= 0))
            placed = bool(metric and placement.success[i])
            joints = placement.joints_h36m[i]
            if placed and self.smoother is not None and track_id >= 0:
                joints = self.smoother(stamp_s, int(track_id), joints)
            people.append(CameraPerson(
                id=published_id(track_id),
                placed=placed,
                method=str(placement.method[i]) if placed else "",
                pelvis=joints[0] if placed else np.full(3, np.nan),
                joints_h36m=joints if placed else np.full((17, 3), np.nan),
                residual_px=float(placement.residual_px[i]) if placed else float("nan"),
                motion=motion,
            ))
        return people

    def _track(self, stamp_s: float, positions: np.ndarray) -> np.ndarray:
        try:
            ids = self.tracker.update(stamp_s, positions)
        except TrackingError:  # stamps went backwards: a replay restarted
            self.tracker.reset()
            if self.smoother is not None:
                self.smoother = JointSmoother(self.smoother.options, self.tracking.max_age_s)
            self.restarts += 1
            ids = self.tracker.update(stamp_s, positions)
        if self.smoother is not None:
            self.smoother.prune(stamp_s)
        return ids
