"""One camera from frame to people, ROS-free: the spine that orpose_node, orpose-infer (files, videos,
bags) and the benchmark share.

    frame check -> pose backend (one batched call for every camera of a moment) -> camera model
    -> placement -> tracking -> optional smoothing -> `FrameResult`

Each output (the PersonPoseArray message, the RViz markers, the debug image, a bag record, the JSON
of orpose-infer) is a pure function of a `FrameResult`, so the tools cannot drift apart.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

from orpose_ros.backends.protocol import PoseBackend
from orpose_ros.camera_people import CameraPeople, CameraPerson
from orpose_ros.geometry.calibration import AnyCamera, FloorPlane, PendingCamera, RoomCalibration
from orpose_ros.geometry.camera import PinholeCamera
from orpose_ros.poses import DetectedPerson, FramePoses
from orpose_ros.privacy import RestoreSize
from orpose_ros.skeleton import coco_pelvis
from orpose_ros.topics import marker_namespace

#: Horizontal field of view [deg] assumed for a camera of unknown intrinsics.
NOMINAL_HFOV_DEG = 60.0


@dataclass
class CameraModels:
    """The one rule for a camera's model: the room calibration's camera (its intrinsics completed by
    camera_info when the file says so), else the latest camera_info's, else a nominal camera.

    Attributes:
        name: the camera's name in messages (its calibration name, else its marker namespace).
        calibrated: this camera in the room calibration, or None.
        floor: the room's floor in the world frame, known when the camera is calibrated.
        info_camera: the model of the latest valid camera_info; replaced whole (never mutated) by
            whoever receives camera_info, read by whoever processes frames.
        nominal_hfov_deg: the field of view of the nominal camera [deg].
    """

    name: str
    calibrated: AnyCamera | None = None
    floor: FloorPlane | None = None
    info_camera: PinholeCamera | None = None
    nominal_hfov_deg: float = NOMINAL_HFOV_DEG

    @classmethod
    def of_topic(cls, topic: str, calibration: RoomCalibration | None, index: int = 0,
                 nominal_hfov_deg: float = NOMINAL_HFOV_DEG) -> CameraModels:
        """The models of the camera publishing ``topic`` (found in ``calibration`` by its ``camera_for``)."""
        calibrated = calibration.camera_for(topic) if calibration is not None else None
        name = calibrated.name if calibrated is not None else marker_namespace(topic, index)
        floor = calibration.floor if calibrated is not None else None
        return cls(name, calibrated, floor, nominal_hfov_deg=nominal_hfov_deg)

    def at(self, width: int, height: int) -> tuple[PinholeCamera, bool]:
        """The camera model for ``width`` x ``height`` [px] images and whether it is metric (real intrinsics)."""
        camera = self.calibrated
        if isinstance(camera, PendingCamera) and self.info_camera is not None:
            info = self.info_camera
            camera = camera.with_intrinsics(info.K, info.width, info.height, info.distortion)
        if not isinstance(camera, PinholeCamera):
            camera = self.info_camera
        if camera is None:
            return PinholeCamera.nominal(self.name, width, height, self.nominal_hfov_deg), False
        return camera.scaled_to(width, height), True


@dataclass(frozen=True, eq=False)
class PersonResult:
    """One person of a frame: what the model found and where they are (camera optical frame).

    Attributes:
        detection: the model's person (box, 2D keypoints [px], pelvis-relative 3D joints [m]).
        location: the person's placement and identity (`CameraPerson`: id >= 1, 0 while unconfirmed).
    """

    detection: DetectedPerson
    location: CameraPerson

    @property
    def id(self) -> int:
        return self.location.id


@dataclass(frozen=True, eq=False)
class FrameResult:
    """Everything one processed camera frame produced.

    Attributes:
        stamp_ns: the frame's capture stamp [ns] (its header stamp; a bag's log time without one).
        source: where the frame came from: its image topic (or file name).
        frame_id: the camera's optical frame id (from the image header; '' when unknown).
        width, height: the size [px] that every 2D coordinate refers to (the restored size in privacy mode).
        downsample_factor: the privacy factor the frame went through (1 = none).
        camera: the camera model used to place the people, at ``width`` x ``height``.
        metric: whether ``camera`` has real intrinsics (else nobody is placed and markers use a fixed depth).
        people: the people, best score first.
        model_view: (H, W, 3) uint8 BGR frame the model saw (never above the privacy resolution in privacy
            mode), when it was asked for.
    """

    stamp_ns: int
    source: str
    frame_id: str
    width: int
    height: int
    downsample_factor: int
    camera: PinholeCamera
    metric: bool
    people: tuple[PersonResult, ...] = ()
    model_view: np.ndarray | None = field(default=None, repr=False)

    @property
    def poses(self) -> FramePoses:
        """The model's output alone (for drawing)."""
        return FramePoses(self.width, self.height, self.downsample_factor,
                          tuple(p.detection for p in self.people), self.model_view)

    def skeletons_to_draw(self, fallback_depth_m: float) -> list[tuple[int, np.ndarray]]:
        """(id, (17, 3) Human3.6M joints [m], camera frame) per person: the placed skeleton, or for a person
        who could not be placed, their pelvis-relative skeleton moved to ``fallback_depth_m`` along the ray
        through their 2D pelvis."""
        drawn = []
        for person in self.people:
            if person.location.placed:
                joints = person.location.joints_h36m
            else:
                keypoints = np.asarray(person.detection.keypoints_2d, dtype=float)
                anchor = self.camera.back_project(coco_pelvis(keypoints)[:2], fallback_depth_m)
                joints = np.asarray(person.detection.keypoints_3d, dtype=float) + anchor
            drawn.append((person.id, joints))
        return drawn


@dataclass
class CameraPipeline:
    """The state of one camera over time: its camera models and its people (placement, identities,
    smoothing). Frames of several cameras go through `process_frames` together.

    Attributes:
        source: the camera's image topic (or input name).
        models: which camera model its frames use.
        people: its people over time.
    """

    source: str
    models: CameraModels
    people: CameraPeople = field(default_factory=CameraPeople)

    def result(self, stamp_ns: int, frame_id: str, poses: FramePoses) -> FrameResult:
        """Place and track the model's people of one frame (stamps increasing; a jump back restarts the tracks)."""
        camera, metric = self.models.at(poses.width, poses.height)
        placed = self.people.update(stamp_ns * 1e-9, poses.persons, camera, metric, self.models.floor)
        people = tuple(PersonResult(d, p) for d, p in zip(poses.persons, placed, strict=True))
        return FrameResult(stamp_ns, self.source, frame_id, poses.width, poses.height, poses.downsample_factor,
                           camera, metric, people, poses.model_view)


@dataclass(frozen=True)
class CameraFrame:
    """One frame to process: its camera, its (H, W, 3) uint8 BGR pixels, stamp [ns], frame id, and the
    (height, width) it is restored to when it arrives shrunk (None: a full-resolution frame)."""

    pipeline: CameraPipeline
    image: np.ndarray
    stamp_ns: int
    frame_id: str = ""
    restore_to: RestoreSize = None


def process_frames(backend: PoseBackend, frames: Sequence[CameraFrame],
                   return_model_view: bool = False) -> list[FrameResult]:
    """One batched inference for the frames of several cameras, then each camera's placement and tracking.

    Check each frame first with `check_frame` (the callers do: a bad frame must cost its camera alone);
    ValueError here means a frame that fails it, `InferenceCancelledError` a cancelled backend.
    """
    if not frames:
        return []
    poses = backend.predict([f.image for f in frames], restore_to=[f.restore_to for f in frames],
                            return_model_view=return_model_view)
    return [f.pipeline.result(f.stamp_ns, f.frame_id, p) for f, p in zip(frames, poses, strict=True)]


def check_frame(backend: PoseBackend, pipeline: CameraPipeline, image: np.ndarray, stamp_ns: int,
                frame_id: str = "", restore_to: RestoreSize = None) -> CameraFrame:
    """The frame ready for `process_frames`; ValueError (one line) when the backend cannot take it."""
    backend.check_frame(image, restore_to)
    return CameraFrame(pipeline, image, stamp_ns, frame_id, restore_to)
