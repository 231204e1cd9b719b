"""Pictures of fused people (numpy/OpenCV only): a top-down view of the room, and reprojections of the
people onto camera frames. Colours follow track ids, so a person keeps a colour over a sequence.
"""

from __future__ import annotations

import colorsys
from collections.abc import Sequence
from dataclasses import dataclass

import cv2
import numpy as np

from orpose_ros.fusion.pipeline import FusedPerson
from orpose_ros.geometry.calibration import RoomCalibration
from orpose_ros.geometry.camera import PinholeCamera
from orpose_ros.skeleton import COCO_SKELETON

BACKGROUND = (255, 255, 255)
GRID = (225, 225, 225)
INK = (60, 60, 60)
GROUND_TRUTH = (150, 150, 150)
_GOLDEN = 0.618033988749895
_FONT = cv2.FONT_HERSHEY_SIMPLEX


def id_colour(track_id: int) -> tuple[int, int, int]:
    """A BGR colour for a track id, far from its neighbours' (golden-ratio hues); grey for -1 (untracked)."""
    if track_id < 0:
        return (110, 110, 110)
    r, g, b = colorsys.hsv_to_rgb((0.1 + track_id * _GOLDEN) % 1.0, 0.85, 0.85)
    return int(255 * b), int(255 * g), int(255 * r)


@dataclass(frozen=True)
class TopDownView:
    """The world's x, y plane seen from above: x to the right, y up, ``pixels_per_m`` pixels per metre.

    Attributes:
        x_min_m, y_max_m: world coordinates of the image's top-left corner [m].
        pixels_per_m: scale.
        width, height: image size [px].
    """

    x_min_m: float
    y_max_m: float
    pixels_per_m: float
    width: int
    height: int

    @classmethod
    def around(
        cls,
        calibration: RoomCalibration,
        points_world: np.ndarray | None = None,
        size_px: int = 640,
        margin_m: float = 0.5,
    ) -> TopDownView:
        """A view holding every camera and the given (..., 3) points [m], its longer side ``size_px`` pixels."""
        xy = [np.array([c.T_world_from_camera[:2, 3] for c in calibration.cameras])]
        if points_world is not None:
            p = np.asarray(points_world, dtype=np.float64).reshape(-1, 3)[:, :2]
            xy.append(p[np.all(np.isfinite(p), axis=1)])
        xy = np.concatenate(xy)
        low, high = xy.min(axis=0) - margin_m, xy.max(axis=0) + margin_m
        extent = high - low
        scale = size_px / float(extent.max())
        return cls(
            float(low[0]), float(high[1]), scale, int(np.ceil(extent[0] * scale)), int(np.ceil(extent[1] * scale))
        )

    def to_pixels(self, points_world: np.ndarray) -> np.ndarray:
        """(..., 2) pixel coordinates of (..., >=2) world points [m] (their x, y)."""
        p = np.asarray(points_world, dtype=np.float64)
        return np.stack([(p[..., 0] - self.x_min_m), (self.y_max_m - p[..., 1])], axis=-1) * self.pixels_per_m


def _point(uv: np.ndarray) -> tuple[int, int]:
    return round(float(uv[0])), round(float(uv[1]))


def _draw_skeleton(
    canvas: np.ndarray, uv: np.ndarray, edges: Sequence[tuple[int, int]], colour: tuple[int, int, int], thickness: int
) -> None:
    finite = np.all(np.isfinite(uv), axis=-1)
    limit = 4 * max(canvas.shape)
    finite &= np.all(np.abs(np.nan_to_num(uv)) < limit, axis=-1)
    for a, b in edges:
        if finite[a] and finite[b]:
            cv2.line(canvas, _point(uv[a]), _point(uv[b]), colour, thickness, cv2.LINE_AA)
    for i in np.flatnonzero(finite):
        cv2.circle(canvas, _point(uv[i]), thickness + 1, colour, cv2.FILLED, cv2.LINE_AA)


def draw_top_down(
    view: TopDownView,
    calibration: RoomCalibration,
    people: Sequence[FusedPerson],
    *,
    ground_truth: Sequence[np.ndarray] = (),
    ground_truth_edges: Sequence[tuple[int, int]] = (),
    title: str = "",
) -> np.ndarray:
    """(H, W, 3) uint8 BGR top-down picture: 1 m grid, cameras with their viewing directions, people as
    skeletons (x, y of their joints) with their ids, and optional ground-truth skeletons (J, 3) in grey."""
    canvas = np.full((view.height, view.width, 3), BACKGROUND, dtype=np.uint8)
    for x in np.arange(np.ceil(view.x_min_m), view.x_min_m + view.width / view.pixels_per_m):
        u = round((x - view.x_min_m) * view.pixels_per_m)
        cv2.line(canvas, (u, 0), (u, view.height), GRID, 1)
    for y in np.arange(np.floor(view.y_max_m), view.y_max_m - view.height / view.pixels_per_m, -1.0):
        v = round((view.y_max_m - y) * view.pixels_per_m)
        cv2.line(canvas, (0, v), (view.width, v), GRID, 1)
    for camera in calibration.cameras:
        centre = camera.T_world_from_camera[:3, 3]
        axis = camera.T_world_from_camera[:3, 2].copy()
        axis[2] = 0.0
        tip = centre + 0.6 * axis / max(float(np.linalg.norm(axis)), 1e-9)
        c, t = view.to_pixels(centre), view.to_pixels(tip)
        cv2.arrowedLine(canvas, _point(c), _point(t), INK, 2, cv2.LINE_AA, tipLength=0.25)
        cv2.circle(canvas, _point(c), 6, INK, cv2.FILLED, cv2.LINE_AA)
        cv2.putText(canvas, camera.name, _point(c + np.array([8.0, -8.0])), _FONT, 0.45, INK, 1, cv2.LINE_AA)
    for joints in ground_truth:
        _draw_skeleton(canvas, view.to_pixels(joints), ground_truth_edges, GROUND_TRUTH, 1)
    for person in people:
        colour = id_colour(person.id)
        _draw_skeleton(canvas, view.to_pixels(person.joints), COCO_SKELETON, colour, 2)
        centre = person.centre
        if np.all(np.isfinite(centre)):
            label = str(person.id) if person.id >= 0 else person.placement.split()[0][:4]
            cv2.putText(
                canvas,
                label,
                _point(view.to_pixels(centre) + np.array([6.0, -6.0])),
                _FONT,
                0.5,
                colour,
                1,
                cv2.LINE_AA,
            )
    if title:
        cv2.putText(canvas, title, (8, 18), _FONT, 0.5, INK, 1, cv2.LINE_AA)
    return canvas


def draw_reprojections(image_bgr: np.ndarray, camera: PinholeCamera, people: Sequence[FusedPerson]) -> np.ndarray:
    """A copy of a camera's (H, W, 3) uint8 BGR frame with the people's joints projected onto it (id colours).

    ``camera`` must be at the frame's size (`PinholeCamera.scaled_to`).
    """
    canvas = image_bgr.copy()
    thickness = max(1, round(min(canvas.shape[:2]) / 270))
    for person in people:
        _draw_skeleton(canvas, camera.project(person.joints), COCO_SKELETON, id_colour(person.id), thickness)
    return canvas
