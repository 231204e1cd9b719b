"""Fusion over a stream of synchronised frames: implausible detections set aside, `fuse_frame`, joints
outside the room volume unplaced, joint uncertainty, tracking (with each person's motion and tracking
state), optional smoothing, and the people the tracker still predicts."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace

import numpy as np

from orpose_ros.fusion.detections import PersonDetection, implausibility
from orpose_ros.fusion.floor import OnlineFloor
from orpose_ros.fusion.joint_output import JointOutputOptions, output_joints
from orpose_ros.fusion.motion import PersonMotion, TrackingState, measured_state
from orpose_ros.fusion.pipeline import TRIANGULATED, FusedPerson, FusionOptions, fuse_frame, room_volume, within_room
from orpose_ros.fusion.smoothing import JointSmoother, OneEuroOptions
from orpose_ros.fusion.support import SupportGate, SupportOptions
from orpose_ros.fusion.tracking import Track, Tracker, TrackerOptions, TrackingError
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
        output: which joints are output (`fusion.joint_output`: views, uncertainty cap); tracking and
            prediction use every fused joint.
        support: which people are published (`fusion.support`): the others are tracked as tentative people
            (not returned, not predicted) until their support (views, torso, track history) suffices.
        floor_moments: 0 (default): the calibration's floor (or none) as given; N >= 1: the floor is
            self-calibrated (`fusion.floor.OnlineFloor`) under the people triangulated in the first N moments
            that have any, the calibration's own floor ignored; until then moments are fused without a floor.
    """

    fusion: FusionOptions = field(default_factory=FusionOptions)
    tracking: TrackerOptions = field(default_factory=TrackerOptions)
    smoothing: OneEuroOptions | None = None
    uncertainty: UncertaintyOptions = field(default_factory=UncertaintyOptions)
    predicted: bool = False
    output: JointOutputOptions = field(default_factory=JointOutputOptions)
    support: SupportOptions = field(default_factory=SupportOptions)
    floor_moments: int = 0

    def __post_init__(self) -> None:
        if self.floor_moments < 0:
            raise ValueError(f"floor_moments must be >= 0, got {self.floor_moments}")


OUTSIDE_ROOM = "joints outside the room volume"


@dataclass(frozen=True)
class Rejection:
    """A detection (or fused joints) set aside by `FusionStream.process`.

    Attributes:
        camera: the camera whose detection it was (cameras joined by ',' for a fused person).
        cause: what was wrong, a short constant (``detections.NON_FINITE``..., `OUTSIDE_ROOM`): for counting
            and for logging once per cause.
        detail: one line saying what and where.
    """

    camera: str
    cause: str
    detail: str


@dataclass(frozen=True)
class CameraMoment:
    """One camera's part of a moment, as its pose node sent it.

    Attributes:
        detections: its people (2D keypoints in pixels of ``width`` x ``height``).
        width, height: the size [px] its keypoints refer to (the calibration is rescaled to it).
        downsample_factor: the privacy factor its frame went through: its keypoints are that many
            pixels coarse, and the matching across cameras is widened to match.
    """

    detections: Sequence[PersonDetection]
    width: int
    height: int
    downsample_factor: int = 1


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
    return PersonMotion.of_track(track, stamp_s, state)


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
        self._last: dict[int, FusedPerson] = {}  # track id -> the person last measured (and published) on it
        self.support = SupportGate(self.options.support)
        self.rejections: list[Rejection] = []  # of the last frame processed
        self.restarts = 0  # times the stamps went backwards and the tracks started over
        self._base_noise_px = self.options.fusion.association.keypoint_noise_px
        self.online_floor = (OnlineFloor(self.options.floor_moments, self.options.fusion.placement.stature_m)
                             if self.options.floor_moments else None)

    def reset(self) -> None:
        """Start the tracks (and their smoothing) over; ids are still never reused."""
        self.tracker.reset()
        self._last = {}
        self.support.reset()
        if self.smoother is not None:
            self.smoother = JointSmoother(self.smoother.options, self.options.tracking.max_age_s)
        self.restarts += 1

    def process_moment(self, stamp_s: float, cameras: Mapping[str, CameraMoment],
                       calibration: RoomCalibration | None = None) -> list[FusedPerson]:
        """The tracked people of one moment as the pose nodes sent it (see `process`). Rules applied here,
        whoever calls: the calibration (``calibration``, else the stream's own) is rescaled to each camera's
        image size; the matching across cameras is widened to the coarsest privacy factor (that many
        pixels, at least the options' own ``keypoint_noise_px``); stamps going backwards (a replay looping)
        restart the tracks and their smoothing.

        Raises:
            CalibrationError: a camera still waiting for its intrinsics, or an image size that is not its camera's.
        """
        base = calibration if calibration is not None else self.calibration
        sized = base.for_image_sizes({name: (m.width, m.height) for name, m in cameras.items()})
        factor = max((m.downsample_factor for m in cameras.values()), default=1)
        fusion = self.options.fusion
        noise = float(max(factor, self._base_noise_px))
        if fusion.association.keypoint_noise_px != noise:
            association = replace(fusion.association, keypoint_noise_px=noise)
            self.options = replace(self.options, fusion=replace(fusion, association=association))
        detections = {name: m.detections for name, m in cameras.items()}
        try:
            return self.process(stamp_s, detections, sized)
        except TrackingError:
            self.reset()
            return self.process(stamp_s, detections, sized)

    def process(self, stamp_s: float, detections: Mapping[str, Sequence[PersonDetection]],
                calibration: RoomCalibration | None = None) -> list[FusedPerson]:
        """The tracked people of the frame taken at ``stamp_s`` [s] (see `fuse_frame`), then the predicted ones;
        what was set aside (implausible detections: `detections.implausibility`; joints outside `room_volume`)
        in ``rejections``.

        ``calibration`` (default: the stream's) must be at the detections' image sizes (see
        `RoomCalibration.for_image_sizes`); `process_moment` rescales it.
        """
        calibration = calibration if calibration is not None else self.calibration
        if self.online_floor is not None:  # none until self-calibrated, then the fixed estimate
            calibration = calibration.with_floor(self.online_floor.floor)
        self.rejections = []
        plausible = {}
        for name, people in detections.items():
            camera = calibration.camera(name)
            plausible[name] = []
            for detection in people:
                problem = implausibility(detection, camera.width, camera.height)
                if problem is None:
                    plausible[name].append(detection)
                else:
                    self.rejections.append(Rejection(name, problem[0], f"{name}: {problem[1]}: ignored"))
        fused = []
        low, high = room_volume(calibration, self.options.fusion.room_margin_m)
        frame = fuse_frame(calibration, plausible, self.options.fusion)
        if self.online_floor is not None and not self.online_floor.fixed:
            self.online_floor.add(frame)  # fused without a floor: applies from the next moment on
        for person in frame:
            kept, unplaced = within_room(person, low, high)
            if unplaced:
                cameras = ",".join(person.cameras)
                self.rejections.append(Rejection(cameras, OUTSIDE_ROOM, (
                    f"{cameras}: {unplaced} fused joint(s) outside the room volume (x, y, z in "
                    f"{np.round(low, 1).tolist()}..{np.round(high, 1).tolist()} m): unplaced"
                    + ("; nothing left of the person" if kept is None else ""))))
            if kept is not None:
                fused.append(kept)
        noise_px = max(self.options.uncertainty.keypoint_noise_px, self.options.fusion.association.keypoint_noise_px)
        fused = [with_joint_covariance(p, calibration, self.options.uncertainty, noise_px) for p in fused]
        people = track_people(self.tracker, stamp_s, fused)
        tracks = {t.id: t for t in self.tracker.tracks}
        rows = self.tracker.row_tracks
        people = [
            replace(p, motion=_motion(tracks[r], stamp_s, measured_state(tracks[r], p.id >= 0))) if r >= 0 else p
            for p, r in zip(people, rows, strict=True)
        ]
        if self.smoother is not None:
            self.smoother.prune(stamp_s)
            people = [replace(p, joints=self.smoother(stamp_s, p.id, p.joints)) for p in people]
        published = self.support.publish(people, [int(r) for r in rows], set(tracks))
        measured = {int(r) for r in rows if r >= 0}
        self._last = {i: p for i, p in self._last.items() if i in tracks and i not in measured}
        self._last.update({int(r): p for p, r, ok in zip(people, rows, published, strict=True)
                           if ok and r >= 0 and p.motion is not None})
        people = [p for p, ok in zip(people, published, strict=True) if ok]
        if self.options.predicted:
            people = people + [self._predicted(self._last[i], tracks[i], stamp_s)
                               for i in sorted(self._last) if i not in measured and tracks[i].confirmed]
        return self._output(people)

    def _output(self, people: list[FusedPerson]) -> list[FusedPerson]:
        """``people`` with the joints the output policy keeps (`fusion.joint_output`); those left empty dropped."""
        if self.options.output.keeps_everything:
            return people
        kept = (output_joints(p, self.options.output) for p in people)
        return [p for p in kept if p is not None]

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
