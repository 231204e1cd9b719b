"""Pictures of fused people (numpy/OpenCV only): a top-down view of the room, and reprojections of the
people onto camera frames. Colours follow track ids, so a person keeps a colour over a sequence.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import cv2
import numpy as np

from orpose_ros.fusion.pipeline import FusedPerson
from orpose_ros.fusion.tracking import published_id
from orpose_ros.geometry.calibration import FloorPlane, RoomCalibration
from orpose_ros.geometry.camera import PinholeCamera
from orpose_ros.skeleton import COCO_SKELETON, rgb_to_bgr8, track_colour
from orpose_ros.zones import FREE_RGBA, OCCUPIED_RGBA, Zone, ZoneState

BACKGROUND = (255, 255, 255)
GRID = (225, 225, 225)
FLOOR_SEEN = (200, 170, 120)
INK = (60, 60, 60)
GROUND_TRUTH = (150, 150, 150)
_FONT = cv2.FONT_HERSHEY_SIMPLEX


def id_colour(person_id: int) -> tuple[int, int, int]:
    """The BGR 0..255 colour of a published id (0: unconfirmed): the colour RViz gives the same person
    (`skeleton.track_colour`), so that pictures and RViz agree."""
    return rgb_to_bgr8(track_colour(person_id))


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

    def outside(self, people: Sequence[FusedPerson]) -> list[FusedPerson]:
        """The people whose centre is not inside the picture (they are drawn at its border)."""
        out = []
        for person in people:
            uv = self.to_pixels(person.centre)
            if np.all(np.isfinite(uv)) and not (0 <= uv[0] < self.width and 0 <= uv[1] < self.height):
                out.append(person)
        return out


def floor_seen(camera: PinholeCamera, floor: FloorPlane, max_range_m: float = 15.0, samples: int = 24) -> np.ndarray:
    """(N, 3) world points [m] on the floor outlining the part of it ``camera`` sees: its image border cast onto
    the floor, cut at ``max_range_m`` from the point under the camera (rays above the horizon end there);
    empty when it sees no floor."""
    w, h = camera.width - 1.0, camera.height - 1.0
    t = np.linspace(0.0, 1.0, samples, endpoint=False)
    border = np.concatenate([np.c_[t * w, np.zeros_like(t)], np.c_[np.full_like(t, w), t * h],
                             np.c_[(1 - t) * w, np.full_like(t, h)], np.c_[np.zeros_like(t), (1 - t) * h]])
    rays = camera.rays_world(border)
    n = floor.normal_world
    centre = camera.centre_world
    foot = centre - (centre @ n - floor.offset_m) * n  # under the camera, on the floor
    down = rays @ n < -1e-9
    if not down.any():
        return np.zeros((0, 3))
    with np.errstate(divide="ignore", invalid="ignore"):
        hit = centre + ((floor.offset_m - centre @ n) / (rays @ n))[:, None] * rays
    horizontal = rays - (rays @ n)[:, None] * n
    horizontal /= np.maximum(np.linalg.norm(horizontal, axis=1, keepdims=True), 1e-12)
    offset = np.where(down[:, None], hit - foot, max_range_m * horizontal)
    distance = np.linalg.norm(offset, axis=1, keepdims=True)
    return foot + offset * np.minimum(1.0, max_range_m / np.maximum(distance, 1e-12))


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


def zone_colour(state: ZoneState) -> tuple[tuple[int, int, int], float]:
    """The BGR 0..255 colour and opacity 0..1 of a zone in this state: the RViz markers' (free green,
    occupied red)."""
    r, g, b, a = OCCUPIED_RGBA if state.count else FREE_RGBA
    return rgb_to_bgr8((r, g, b)), a


def draw_zones(canvas: np.ndarray, view: TopDownView, zones: Sequence[tuple[Zone, ZoneState]]) -> None:
    """Draw each zone's footprint onto ``canvas`` (in place): filled translucent in its occupancy colour, outlined,
    and labelled ``name: count`` (with the ids inside)."""
    for zone, state in zones:
        colour, opacity = zone_colour(state)
        ring = np.round(view.to_pixels(np.asarray(zone.footprint.exterior.coords))).astype(np.int32)
        overlay = canvas.copy()
        cv2.fillPoly(overlay, [ring], colour, cv2.LINE_AA)
        cv2.addWeighted(overlay, opacity, canvas, 1.0 - opacity, 0.0, dst=canvas)
        cv2.polylines(canvas, [ring], True, colour, 2, cv2.LINE_AA)
        ids = f" ({', '.join(map(str, state.ids))})" if state.ids else ""
        centre = view.to_pixels(np.array(zone.footprint.centroid.coords[0]))
        cv2.putText(canvas, f"{zone.name}: {state.count}{ids}", _point(centre + np.array([-20.0, 4.0])), _FONT, 0.4,
                    colour, 1, cv2.LINE_AA)


def draw_top_down(
    view: TopDownView,
    calibration: RoomCalibration,
    people: Sequence[FusedPerson],
    *,
    ground_truth: Sequence[np.ndarray] = (),
    ground_truth_edges: Sequence[tuple[int, int]] = (),
    title: str = "",
    zones: Sequence[tuple[Zone, ZoneState]] = (),
) -> np.ndarray:
    """(H, W, 3) uint8 BGR top-down picture: a 1 m grid labelled in metres, a 1 m scale bar, the floor each
    camera sees (outlined, with a calibrated floor), optional zones coloured by occupancy (`draw_zones`),
    cameras with their viewing directions, people as skeletons (x, y of their joints) with their ids, and
    optional ground-truth skeletons (J, 3) in grey. People whose centre lies outside the picture are marked at
    its border and counted in the title."""
    canvas = np.full((view.height, view.width, 3), BACKGROUND, dtype=np.uint8)
    for x in np.arange(np.ceil(view.x_min_m), view.x_min_m + view.width / view.pixels_per_m):
        u = round((x - view.x_min_m) * view.pixels_per_m)
        cv2.line(canvas, (u, 0), (u, view.height), GRID, 1)
        cv2.putText(canvas, f"{x:g}", (u + 2, view.height - 6), _FONT, 0.35, INK, 1, cv2.LINE_AA)
    for y in np.arange(np.floor(view.y_max_m), view.y_max_m - view.height / view.pixels_per_m, -1.0):
        v = round((view.y_max_m - y) * view.pixels_per_m)
        cv2.line(canvas, (0, v), (view.width, v), GRID, 1)
        cv2.putText(canvas, f"{y:g}", (2, v - 3), _FONT, 0.35, INK, 1, cv2.LINE_AA)
    bar = round(view.pixels_per_m)
    x0, y0 = view.width - bar - 12, view.height - 24
    cv2.line(canvas, (x0, y0), (x0 + bar, y0), INK, 2)
    for end in (x0, x0 + bar):
        cv2.line(canvas, (end, y0 - 4), (end, y0 + 4), INK, 2)
    cv2.putText(canvas, "1 m (grid: x, y in m)", (max(x0 - 60, 0), y0 - 8), _FONT, 0.4, INK, 1, cv2.LINE_AA)
    if calibration.floor is not None:
        for camera in calibration.complete_cameras():
            outline = floor_seen(camera, calibration.floor)
            if len(outline) > 2:
                cv2.polylines(canvas, [np.round(view.to_pixels(outline)).astype(np.int32)], True, FLOOR_SEEN, 1,
                              cv2.LINE_AA)
    draw_zones(canvas, view, zones)
    for camera in calibration.cameras:
        centre = camera.T_world_from_camera[:3, 3]
        axis = camera.T_world_from_camera[:3, 2].copy()
        axis[2] = 0.0
        tip = centre + 0.6 * axis / max(float(np.linalg.norm(axis)), 1e-9)
        c, t = view.to_pixels(centre), view.to_pixels(tip)
        cv2.arrowedLine(canvas, _point(c), _point(t), INK, 2, cv2.LINE_AA, tipLength=0.25)
        cv2.circle(canvas, _point(c), 6, INK, cv2.FILLED, cv2.LINE_AA)
        (text_width, _), _ = cv2.getTextSize(camera.name, _FONT, 0.45, 1)
        left = c[0] + 8.0 + text_width > view.width  # keep the name inside the picture
        at = c + np.array([-8.0 - text_width if left else 8.0, -8.0])
        cv2.putText(canvas, camera.name, _point(at), _FONT, 0.45, INK, 1, cv2.LINE_AA)
    for joints in ground_truth:
        _draw_skeleton(canvas, view.to_pixels(joints), ground_truth_edges, GROUND_TRUTH, 1)
    for person in people:
        colour = id_colour(published_id(person.id))
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
    outside = view.outside(people)
    for person in outside:
        uv = np.clip(view.to_pixels(person.centre), 8, [view.width - 9, view.height - 9])
        colour = id_colour(published_id(person.id))
        cv2.drawMarker(canvas, _point(uv), colour, cv2.MARKER_TRIANGLE_UP, 14, 2, cv2.LINE_AA)
    if outside:
        title = f"{title}  ({len(outside)} outside the picture, at its border)".strip()
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
        colour = id_colour(published_id(person.id))
        _draw_skeleton(canvas, camera.project(person.joints), COCO_SKELETON, colour, thickness)
    return canvas
