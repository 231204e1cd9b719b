"""The calibration of a room: its cameras (intrinsics and poses in one world frame) and its floor.

File formats are read in `orpose_ros.geometry.calibration_files`; this module holds the data model.
A camera whose intrinsics come from a ROS ``camera_info`` topic is a `PendingCamera` until
`RoomCalibration.with_intrinsics` completes it.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from dataclasses import dataclass, field, replace

import numpy as np

from orpose_ros.geometry.camera import CameraModelError, PinholeCamera
from orpose_ros.geometry.transforms import rigidity_problem
from orpose_ros.topics import image_topic_of

#: Rounding allowed when an image was resized with its aspect ratio kept [px].
SIZE_ROUNDING_PX = 1.0


class CalibrationError(ValueError):
    """An invalid or incomplete calibration; the message names the file, the camera and the field."""


@dataclass(frozen=True, eq=False)
class FloorPlane:
    """The floor: points p [m, world frame] with ``normal_world @ p == offset_m``; the normal points up.

    Attributes:
        normal_world: (3,) unit normal, pointing from the floor into the room.
        offset_m: signed distance of the plane from the world origin along the normal [m].
    """

    normal_world: np.ndarray = field(default_factory=lambda: np.array([0.0, 0.0, 1.0]))
    offset_m: float = 0.0

    def __post_init__(self) -> None:
        n = np.array(self.normal_world, dtype=np.float64).reshape(-1)
        norm = float(np.linalg.norm(n)) if n.shape == (3,) and np.all(np.isfinite(n)) else 0.0
        if norm < 1e-9 or not np.isfinite(self.offset_m):
            raise CalibrationError(f"floor: normal must be 3 finite values, not all zero, got {self.normal_world}")
        n = n / norm
        n.setflags(write=False)
        object.__setattr__(self, "normal_world", n)
        object.__setattr__(self, "offset_m", float(self.offset_m))

    @classmethod
    def horizontal(cls, height_m: float = 0.0) -> FloorPlane:
        """The plane z = ``height_m`` of a world frame whose z axis points up."""
        return cls(np.array([0.0, 0.0, 1.0]), height_m)

    def height_of(self, points_world: np.ndarray) -> np.ndarray:
        """(...) heights [m] above the floor of (..., 3) world points."""
        return np.asarray(points_world, dtype=np.float64) @ self.normal_world - self.offset_m


@dataclass(frozen=True, eq=False)
class PendingCamera:
    """A camera whose pose is known but whose intrinsics will come from a camera_info topic.

    Attributes:
        name: camera name.
        T_world_from_camera: (4, 4) rigid pose of the camera optical frame in the world frame [m].
        image_topic, camera_info_topic, frame_id: ROS names from the calibration ("" = not given).
    """

    name: str
    T_world_from_camera: np.ndarray
    image_topic: str = ""
    camera_info_topic: str = ""
    frame_id: str = ""

    def __post_init__(self) -> None:
        problem = rigidity_problem(np.asarray(self.T_world_from_camera, dtype=np.float64))
        if problem:
            raise CameraModelError(f"camera {self.name!r}: T_world_from_camera {problem}")

    def with_intrinsics(
        self, K: np.ndarray | list[float], width: int, height: int, distortion: np.ndarray | list[float] = ()
    ) -> PinholeCamera:
        """The complete camera, from a 3x3 or row-major 9-value K [px] for ``width`` x ``height`` images."""
        return PinholeCamera.from_k(
            self.name,
            K,
            width,
            height,
            distortion,
            self.T_world_from_camera,
            image_topic=self.image_topic,
            camera_info_topic=self.camera_info_topic,
            frame_id=self.frame_id,
        )


AnyCamera = PinholeCamera | PendingCamera


@dataclass(frozen=True, eq=False)
class RoomCalibration:
    """Cameras of one room, in order, with their poses in the frame ``world_frame``.

    Attributes:
        world_frame: name of the world frame (a ROS frame id such as "or_room").
        cameras: the cameras in calibration order; names are unique.
        floor: the floor plane in the world frame, or None when unknown.
        source: where the calibration came from (a path), for messages.
    """

    world_frame: str
    cameras: tuple[AnyCamera, ...]
    floor: FloorPlane | None = None
    source: str = "<memory>"

    def __post_init__(self) -> None:
        object.__setattr__(self, "cameras", tuple(self.cameras))
        if not self.cameras:
            raise CalibrationError(f"{self.source}: cameras: the calibration has no camera")
        names = [c.name for c in self.cameras]
        duplicates = sorted({n for n in names if names.count(n) > 1})
        if duplicates:
            raise CalibrationError(f"{self.source}: cameras: duplicate camera names {duplicates}")

    @property
    def names(self) -> tuple[str, ...]:
        """Camera names in calibration order."""
        return tuple(c.name for c in self.cameras)

    @property
    def pending_names(self) -> tuple[str, ...]:
        """Names of the cameras still waiting for their intrinsics (camera_info)."""
        return tuple(c.name for c in self.cameras if isinstance(c, PendingCamera))

    @property
    def is_complete(self) -> bool:
        return not self.pending_names

    def index(self, name: str) -> int:
        """Position of camera ``name``; `CalibrationError` when unknown."""
        for i, camera in enumerate(self.cameras):
            if camera.name == name:
                return i
        raise CalibrationError(f"{self.source}: unknown camera {name!r} (cameras: {', '.join(self.names)})")

    def entry(self, name: str) -> AnyCamera:
        """Camera ``name`` as the calibration holds it, complete or pending; `CalibrationError` when unknown."""
        return self.cameras[self.index(name)]

    def camera(self, name: str) -> PinholeCamera:
        """The complete camera ``name``; `CalibrationError` when unknown or still pending."""
        camera = self.entry(name)
        if isinstance(camera, PendingCamera):
            raise CalibrationError(
                f"{self.source}: camera {name!r}: intrinsics: still waiting for camera_info "
                f"({camera.camera_info_topic or 'no topic given'}); call with_intrinsics first"
            )
        return camera

    def camera_for(self, topic: str, frame_id: str = "") -> AnyCamera | None:
        """The camera whose ``image_topic`` is ``topic`` (raw or its /compressed form), else whose
        ``frame_id`` is ``frame_id``; None when none is."""
        bare = image_topic_of(topic) if topic else ""
        by_topic = next((c for c in self.cameras if c.image_topic and image_topic_of(c.image_topic) == bare), None)
        if by_topic is not None or not frame_id:
            return by_topic
        return next((c for c in self.cameras if c.frame_id == frame_id), None)

    def complete_cameras(self) -> tuple[PinholeCamera, ...]:
        """All cameras; `CalibrationError` naming the first pending one."""
        return tuple(self.camera(c.name) for c in self.cameras)

    def with_camera(self, camera: AnyCamera) -> RoomCalibration:
        """The calibration with camera ``camera.name`` replaced by ``camera``."""
        i = self.index(camera.name)
        return replace(self, cameras=(*self.cameras[:i], camera, *self.cameras[i + 1 :]))

    def with_intrinsics(
        self,
        name: str,
        K: np.ndarray | list[float],
        width: int,
        height: int,
        distortion: np.ndarray | list[float] = (),
    ) -> RoomCalibration:
        """The calibration with camera ``name``'s intrinsics set (e.g. from camera_info; K 9 values row-major).

        Works on pending and complete cameras (a new camera_info replaces the old intrinsics).
        """
        camera = self.entry(name)
        pending = (
            camera
            if isinstance(camera, PendingCamera)
            else PendingCamera(
                camera.name, camera.T_world_from_camera, camera.image_topic, camera.camera_info_topic, camera.frame_id
            )
        )
        try:
            return self.with_camera(pending.with_intrinsics(K, width, height, distortion))
        except CameraModelError as exc:
            raise CalibrationError(f"{self.source}: {exc}") from None

    def with_pose(self, name: str, T_world_from_camera: np.ndarray) -> RoomCalibration:
        """The calibration with camera ``name`` moved to the (4, 4) rigid ``T_world_from_camera`` [m] (its optical
        frame in the world frame; e.g. from static TF); `CalibrationError` when not rigid."""
        try:
            return self.with_camera(replace(self.entry(name), T_world_from_camera=T_world_from_camera))
        except CameraModelError as exc:
            raise CalibrationError(f"{self.source}: {exc}") from None

    def without(self, names: Collection[str]) -> RoomCalibration:
        """The calibration without the cameras ``names`` (e.g. those whose pose is not known yet); at least one
        camera must be left."""
        return replace(self, cameras=tuple(c for c in self.cameras if c.name not in names))

    def with_floor(self, floor: FloorPlane | None) -> RoomCalibration:
        return replace(self, floor=floor)

    def for_image_sizes(self, sizes: Mapping[str, tuple[int, int]]) -> RoomCalibration:
        """The calibration with each named camera rescaled to its images' (width, height) [px].

        Images may be smaller or larger than the calibrated size (privacy downsampling, restoring) but
        must keep its aspect ratio up to one pixel of rounding; `CalibrationError` otherwise.
        """
        calibration = self
        for name, (width, height) in sizes.items():
            camera = self.camera(name)
            if (width, height) == (camera.width, camera.height):
                continue
            fits = (
                width >= 1
                and height >= 1
                and (
                    abs(width - camera.width * height / camera.height) <= SIZE_ROUNDING_PX
                    or abs(height - camera.height * width / camera.width) <= SIZE_ROUNDING_PX
                )
            )
            if not fits:
                raise CalibrationError(
                    f"{self.source}: camera {name!r}: image size {width}x{height} does not match the calibrated "
                    f"width x height {camera.width}x{camera.height} (different aspect ratio: cropped images?)"
                )
            calibration = calibration.with_camera(camera.scaled_to(width, height))
        return calibration
