"""One synchronised frame of several calibrated cameras -> the people in the room, in the world frame.

Stages (each a function of plain arrays, see their modules):

0. repeated detections of one person in one image are dropped (`fusion.detections.duplicate_mask`);
1. association (`fusion.association`): detections of the same person across cameras;
2. triangulation (`geometry.triangulation`) of every group seen by >= 2 cameras, all joints at once;
   keypoints only one camera of the group sees are placed at the depth of their nearest triangulated
   neighbour on the skeleton;
3. single-camera placement (`geometry.placement`) of the people only one camera sees;
4. duplicates removed: a single-camera detection whose rays pass through a triangulated person's joints
   is that person, and two people whose centres are closer than two bodies allow are one.

`fuse_frame` keeps no state; `fusion.stream.FusionStream` adds tracking and smoothing over time.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace

import numpy as np

from orpose_ros.compiled import compiled
from orpose_ros.fusion.association import (
    AssociationOptions,
    associate,
    median_cost,
    noise_normalised,
    normalised_rays,
)
from orpose_ros.fusion.detections import PersonDetection, duplicate_masks, stack_keypoints
from orpose_ros.fusion.motion import PersonMotion
from orpose_ros.geometry import vectors
from orpose_ros.geometry.calibration import CalibrationError, FloorPlane, RoomCalibration
from orpose_ros.geometry.camera import PinholeCamera, stacked_cameras
from orpose_ros.geometry.placement import PlacementOptions, estimate_floor, place_people_of_cameras
from orpose_ros.geometry.triangulation import MIN_RAY_ANGLE_DEG, OUTLIER_DISTANCE_M, triangulate
from orpose_ros.skeleton import COCO_KEYPOINT_NAMES, COCO_SKELETON, NUM_KEYPOINTS

log = logging.getLogger(__name__)

TRIANGULATED = "triangulated"
SINGLE_VIEW = "single-view"
_TORSO = np.array([n.endswith(("shoulder", "hip")) for n in COCO_KEYPOINT_NAMES])


def _hop_distances(edges: tuple[tuple[int, int], ...], n: int) -> np.ndarray:
    """(n, n) number of bones between joints of a skeleton (Floyd-Warshall on its edges)."""
    hops = np.full((n, n), np.inf)
    np.fill_diagonal(hops, 0.0)
    for a, b in edges:
        hops[a, b] = hops[b, a] = 1.0
    for k in range(n):
        hops = np.minimum(hops, hops[:, k : k + 1] + hops[k : k + 1, :])
    return hops


_COCO_HOPS = _hop_distances(COCO_SKELETON, NUM_KEYPOINTS)


@dataclass(frozen=True)
class FusionOptions:
    """How `fuse_frame` turns detections into people (defaults are physical sizes, not tuned numbers).

    Attributes:
        min_person_score: detections scoring below are ignored.
        association: matching across cameras (its ``min_joint_score`` also selects the keypoints
            triangulated, and its ``max_ray_distance_m`` the detections that duplicate a triangulated person).
        outlier_distance_m: a view whose ray misses a joint triangulated from the other views by more is
            dropped for that joint [m] (a joint is about 0.1 m across).
        min_ray_angle_deg: joints seen under rays closer than this are not triangulated [deg].
        refine_iterations: Gauss-Newton steps on the reprojection error after the linear triangulation.
        min_triangulated_joints: a group with fewer triangulated joints is treated as single-camera people.
        fill_single_view_joints: place keypoints that only one camera of a group sees (see module doc).
        single_view: place people seen by one camera only (`geometry.placement`).
        placement: single-camera placement options.
        min_person_distance_m: two people whose centres (mean of shoulders and hips) are closer on the floor
            plane are one person [m]: two bodies (about 0.25 m deep, 0.45 m wide) cannot be closer.
        room_margin_m: the plausible room volume is the box spanned by the cameras' optical centres grown by
            this on every side [m] (`room_volume`); `FusionStream` unplaces joints outside it.
    """

    min_person_score: float = 0.0
    association: AssociationOptions = field(default_factory=AssociationOptions)
    outlier_distance_m: float = OUTLIER_DISTANCE_M
    min_ray_angle_deg: float = MIN_RAY_ANGLE_DEG
    refine_iterations: int = 2
    min_triangulated_joints: int = 3
    fill_single_view_joints: bool = True
    single_view: bool = True
    placement: PlacementOptions = field(default_factory=PlacementOptions)
    min_person_distance_m: float = 0.35
    room_margin_m: float = 10.0

    def __post_init__(self) -> None:
        if not 0.0 <= self.min_person_score <= 1.0:
            raise ValueError(f"min_person_score must be in [0, 1], got {self.min_person_score}")
        for name in ("outlier_distance_m", "min_person_distance_m", "room_margin_m"):
            if not getattr(self, name) > 0:
                raise ValueError(f"{name} must be positive, got {getattr(self, name)}")
        if not 0.0 <= self.min_ray_angle_deg < 90.0:
            raise ValueError(f"min_ray_angle_deg must be in [0, 90), got {self.min_ray_angle_deg}")
        if self.refine_iterations < 0 or self.min_triangulated_joints < 1:
            raise ValueError("refine_iterations must be >= 0 and min_triangulated_joints >= 1")


@dataclass(frozen=True, eq=False)
class FusedPerson:
    """A person in the world frame.

    Attributes:
        joints: (17, 3) COCO-17 joints in the world frame [m]; NaN where not placed.
        confidence: (17,) joint confidence 0..1 (mean keypoint score of the views used; 0 where not placed).
        num_views: (17,) int, cameras each joint was placed from (0 = not placed).
        reprojection_error_px: (17,) mean reprojection error over those views [px]; NaN where unknown.
        score: mean detection score of the contributing detections.
        cameras: names of the contributing cameras.
        detection_indices: the contributing detections' ``index``, one per camera.
        placement: ``triangulated`` or ``single-view <method>`` (``skeleton``, ``floor``, ``skeleton+floor``).
        id: track id, -1 until tracked.
        joint_views: (C, 17) bool, which of ``cameras`` each joint was placed from; None when unknown.
        joint_covariance: (17, 3, 3) covariance of each joint in the world frame [m^2] (`fusion.uncertainty`),
            NaN where not placed; None until estimated (`fusion.stream.FusionStream`).
        motion: the tracker's estimate of the body centre (`fusion.motion.PersonMotion`); None until tracked.
    """

    joints: np.ndarray
    confidence: np.ndarray
    num_views: np.ndarray
    reprojection_error_px: np.ndarray
    score: float
    cameras: tuple[str, ...]
    detection_indices: tuple[int, ...]
    placement: str
    id: int = -1
    joint_views: np.ndarray | None = None
    joint_covariance: np.ndarray | None = None
    motion: PersonMotion | None = None

    @property
    def centre(self) -> np.ndarray:
        """(3,) mean of the placed shoulders and hips [m] (of all placed joints when none is); NaN if none."""
        return person_centres(self.joints[None])[0]

    def with_id(self, track_id: int) -> FusedPerson:
        return replace(self, id=int(track_id))


def person_centres(joints: np.ndarray) -> np.ndarray:
    """(N, 3) centres [m] of (N, 17, 3) COCO-17 joints: mean of placed shoulders and hips, else of all placed."""
    placed = np.all(np.isfinite(joints), axis=-1)
    use = np.where((placed & _TORSO).any(axis=-1, keepdims=True), placed & _TORSO, placed)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(use[..., None], joints, 0.0).sum(axis=-2) / use.sum(axis=-1)[..., None]


def room_volume(calibration: RoomCalibration, margin_m: float) -> tuple[np.ndarray, np.ndarray]:
    """(3,) lowest and (3,) highest corner [m, world frame] of the plausible room volume: the axis-aligned box
    spanned by the optical centres of all the calibration's cameras (pending ones too), grown by ``margin_m``."""
    centres = np.stack([np.asarray(c.T_world_from_camera, dtype=np.float64)[:3, 3] for c in calibration.cameras])
    return centres.min(axis=0) - margin_m, centres.max(axis=0) + margin_m


def within_room(person: FusedPerson, low: np.ndarray, high: np.ndarray) -> tuple[FusedPerson | None, int]:
    """``person`` with its joints outside the box ``low``..``high`` [m] unplaced (NaN, confidence 0, 0 views),
    None when none is left placed; and how many joints were unplaced."""
    placed = np.all(np.isfinite(person.joints), axis=-1)
    outside = placed & np.any((person.joints < low) | (person.joints > high), axis=-1)
    if not outside.any():
        return person, 0
    if not (placed & ~outside).any():
        return None, int(outside.sum())
    return replace(
        person,
        joints=np.where(outside[:, None], np.nan, person.joints),
        confidence=np.where(outside, 0.0, person.confidence),
        num_views=np.where(outside, 0, person.num_views),
        reprojection_error_px=np.where(outside, np.nan, person.reprojection_error_px),
    ), int(outside.sum())


def _fill_from_neighbours(
    T_world_from_camera: np.ndarray, xy: np.ndarray, joints: np.ndarray, fill: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Joints back-projected at the depth of their nearest placed joint on the skeleton, for M people at once.

    Args:
        T_world_from_camera: (M, 4, 4) pose of each person's camera.
        xy: (M, 17, 2) undistorted normalised image coordinates of the person's keypoints in that camera.
        joints: (M, 17, 3) world joints [m], NaN where not placed.
        fill: (M, 17) the joints to place.

    Returns:
        (M, 17, 3) joints with the filled ones placed, and (M, 17) which ones were (in front of the camera).
    """
    placed = np.all(np.isfinite(joints), axis=-1)
    nearest = np.argmin(np.where(placed[:, None, :], _COCO_HOPS, np.inf), axis=2)  # (M, 17); 0 when none placed
    rows = np.arange(len(joints))[:, None]
    R, t = T_world_from_camera[:, :3, :3], T_world_from_camera[:, :3, 3]
    # depth of the nearest joint in the camera: its z in the camera frame (the third row of R^T)
    depth = vectors.dot(joints[rows, nearest] - t[:, None], R[:, None, :, 2])  # (M, 17)
    camera_points = np.concatenate([xy * depth[..., None], depth[..., None]], axis=-1)
    filled = camera_points @ R.transpose(0, 2, 1) + t[:, None]
    with np.errstate(invalid="ignore"):
        newly = fill & (depth > 0) & np.all(np.isfinite(filled), axis=-1)
    return np.where(newly[..., None], filled, joints), newly


def _triangulate_groups(
    cameras: Sequence[PinholeCamera],
    keypoints: Sequence[np.ndarray],
    normalised: Sequence[np.ndarray],
    groups: list[list[tuple[int, int]]],
    options: FusionOptions,
) -> list[tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]]:
    """Per group: joints (17, 3) [m], confidence (17,), num_views (17,), reprojection error (17,) [px], and
    which of the group's views placed each joint (len(group), 17). ``normalised``: per camera, (N_v, 17, 2)
    undistorted normalised coordinates of its keypoints."""
    V, G, J = len(cameras), len(groups), NUM_KEYPOINTS
    constants = stacked_cameras(tuple(cameras))
    P, K = constants.projection, constants.K
    uv = np.full((V, G, J, 2), np.nan)
    w = np.zeros((V, G, J))
    min_score = options.association.min_joint_score
    members = [(g, v, i) for g, group in enumerate(groups) for v, i in group]
    g_of, v_of = np.array(members)[:, :2].T
    kp = np.stack([keypoints[v][i] for _, v, i in members])  # (M, J, 3)
    xy = np.stack([normalised[v][i] for _, v, i in members])  # (M, J, 2)
    distorted = np.array([cameras[v].has_distortion for v in v_of])
    Km = K[v_of]
    # undistorted pixels: the observed ones without distortion, else K applied to the normalised coordinates
    ideal = xy @ Km[:, :2, :2].transpose(0, 2, 1) + Km[:, None, :2, 2]
    uv[v_of, g_of] = np.where(distorted[:, None, None], ideal, kp[..., :2])
    w[v_of, g_of] = np.where(kp[..., 2] >= min_score, kp[..., 2], 0.0)
    result = triangulate(
        P,
        uv.reshape(V, G * J, 2),
        w.reshape(V, G * J),
        outlier_distance_m=options.outlier_distance_m,
        min_ray_angle_deg=options.min_ray_angle_deg,
        refine_iterations=options.refine_iterations,
    )
    joints = result.points.reshape(G, J, 3).copy()
    confidence = result.confidence.reshape(G, J).copy()
    views = result.num_views.reshape(G, J).copy()
    error = result.reprojection_error_px.reshape(G, J)
    used = result.used.reshape(V, G, J).transpose(1, 0, 2).copy()  # (G, V, J)
    if options.fill_single_view_joints:
        # each group's views by decreasing keypoint score sum (ties: group order); rank r of all groups at once
        score_sum = kp[..., 2].sum(axis=1)
        order = sorted(range(len(members)), key=lambda m: (g_of[m], -score_sum[m]))
        rank = np.zeros(len(members), dtype=np.int64)
        for previous, m in zip([-1, *order[:-1]], order, strict=True):
            rank[m] = rank[previous] + 1 if previous >= 0 and g_of[previous] == g_of[m] else 0
        T = constants.T_world_from_camera
        for r in range(int(rank.max()) + 1):
            m = np.flatnonzero(rank == r)
            g, v = g_of[m], v_of[m]
            fill = (views[g] == 0) & (kp[m, :, 2] >= min_score)
            if not fill.any():
                continue
            placed, newly = _fill_from_neighbours(T[v], xy[m], joints[g], fill)
            joints[g] = placed
            views[g] = np.where(newly, 1, views[g])
            confidence[g] = np.where(newly, kp[m, :, 2], confidence[g])
            used[g, v] |= newly
    return [(joints[g], confidence[g], views[g], error[g], used[g, [v for v, _ in group]])
            for g, group in enumerate(groups)]


def _single_view_duplicates(
    cameras: Sequence[PinholeCamera], views: np.ndarray, rays: np.ndarray, people: list[FusedPerson],
    options: FusionOptions,
) -> np.ndarray:
    """(N,) whether each of N detections, of ``cameras[views[n]]``, has its keypoint rays (N, 17, 3)
    (`keypoint_rays`) through the joints of one of ``people`` (median point-to-ray distance <= the association
    threshold); all cameras at once."""
    if not people or not len(rays):
        return np.zeros(len(rays), dtype=bool)
    constants = stacked_cameras(tuple(cameras))
    association = options.association
    return _rays_through_people(np.stack([p.joints for p in people]), constants.centres_world[views], rays,
                                constants.focal_px[views], association.max_ray_distance_m,
                                association.keypoint_noise_px, association.min_depth_m, association.min_common_joints)


def _rays_through_people(joints: np.ndarray, centres: np.ndarray, rays: np.ndarray, focal: np.ndarray,
                         max_ray_distance_m: float, keypoint_noise_px: float, min_depth_m: float,
                         min_common_joints: int) -> np.ndarray:
    """(N,) whether the (N, 17, 3) unit keypoint rays (NaN where not seen) of N detections, from camera centres
    (N, 3) [m] of focal lengths (N,) [px], pass through the (F, 17, 3) joints [m] of one of F people: the median
    over the keypoints of the noise-normalised point-to-ray distance (`noise_normalised`; inf for a joint nearer
    than ``min_depth_m`` along its ray or behind it) is at most ``max_ray_distance_m``, with at least
    ``min_common_joints`` keypoints compared (`median_cost`)."""
    N, J = rays.shape[0], rays.shape[1]
    through = np.zeros(N, dtype=np.bool_)
    distances = np.empty(J)
    for n in range(N):
        for f in range(joints.shape[0]):
            count = 0
            for j in range(J):
                along = 0.0
                for k in range(3):
                    along += (joints[f, j, k] - centres[n, k]) * rays[n, j, k]
                if not np.isfinite(along):
                    continue
                distance2 = 0.0
                for k in range(3):
                    distance2 += (joints[f, j, k] - centres[n, k] - along * rays[n, j, k]) ** 2
                if along > min_depth_m:
                    distances[count] = noise_normalised(np.sqrt(distance2), along / focal[n], 0.0, max_ray_distance_m,
                                                        keypoint_noise_px)
                else:
                    distances[count] = np.inf
                count += 1
            if median_cost(distances, count, min_common_joints) <= max_ray_distance_m:
                through[n] = True
                break
    return through


_rays_through_people = compiled(_rays_through_people)


def _remove_close_people(people: list[FusedPerson], up: np.ndarray, min_distance_m: float) -> list[FusedPerson]:
    """Keep people whose centres, on the floor plane, are at least ``min_distance_m`` from every person kept
    before them (most views, then most joints, then highest score first)."""
    if not people:
        return []
    keys = [(-p.num_views.max(initial=0), -int((p.num_views > 0).sum()), -p.score) for p in people]
    centres = person_centres(np.stack([p.joints for p in people]))  # (N, 3), all at once
    flat = centres - (centres @ up)[:, None] * up
    finite = np.all(np.isfinite(centres), axis=1)
    kept: list[int] = []
    for k in sorted(range(len(people)), key=keys.__getitem__):
        if finite[k] and (not kept or bool(np.all(vectors.norm(flat[kept] - flat[k]) >= min_distance_m))):
            kept.append(k)
    return [people[k] for k in kept]


def fuse_frame(
    calibration: RoomCalibration,
    detections: Mapping[str, Sequence[PersonDetection]],
    options: FusionOptions | None = None,
) -> list[FusedPerson]:
    """The people of one synchronised frame, in the calibration's world frame.

    Args:
        calibration: cameras named as the keys of ``detections`` (complete, at the detections' image size:
            see `RoomCalibration.for_image_sizes`), and the floor when known.
        detections: camera name -> that camera's detections (cameras without an entry saw nothing).
        options: `FusionOptions`.

    Returns:
        People seen by >= 2 cameras (triangulated) first, then single-camera people, by decreasing score.
    """
    options = options or FusionOptions()
    unknown = [name for name in detections if name not in calibration.names]
    if unknown:
        raise CalibrationError(
            f"{calibration.source}: unknown camera {unknown[0]!r} (cameras: {', '.join(calibration.names)})"
        )
    names = [name for name in calibration.names if name in detections]
    cameras = [calibration.camera(name) for name in names]
    kept, keypoints, skeletons = [], [], []
    scored = [[d for d in detections[name] if d.score >= options.min_person_score] for name in names]
    stacked = [stack_keypoints(dets) for dets in scored]
    repeated = duplicate_masks([kp2 for kp2, _ in stacked], [np.array([d.score for d in dets]) for dets in scored],
                               options.association.min_joint_score)  # pose NMS of every camera at once
    for dets, (kp2, kp3), duplicate in zip(scored, stacked, repeated, strict=True):
        unique = ~duplicate
        kept.append([d for d, u in zip(dets, unique, strict=True) if u])
        keypoints.append(kp2[unique])
        skeletons.append(kp3[unique])

    normalised = [c.normalised_coordinates(k[..., :2]) for c, k in zip(cameras, keypoints, strict=True)]
    rays = [normalised_rays(c, xy, k[..., 2], options.association.min_joint_score)
            for c, xy, k in zip(cameras, normalised, keypoints, strict=True)]  # (N_v, 17, 3) per camera
    clusters = associate(cameras, keypoints, options.association, rays)
    groups = [c for c in clusters if len(c) >= 2]
    singles = [c[0] for c in clusters if len(c) == 1]
    people: list[FusedPerson] = []
    for group, (joints, confidence, views, error, used) in zip(
        groups, _triangulate_groups(cameras, keypoints, normalised, groups, options) if groups else [], strict=True
    ):
        if int((views >= 2).sum()) < options.min_triangulated_joints:
            singles.extend(group)
            continue
        people.append(
            FusedPerson(
                joints,
                confidence,
                views,
                error,
                float(np.mean([kept[v][i].score for v, i in group])),
                tuple(names[v] for v, _ in group),
                tuple(kept[v][i].index for v, i in group),
                TRIANGULATED,
                joint_views=used,
            )
        )

    if options.single_view and singles:
        up = calibration.floor.normal_world if calibration.floor is not None else np.array([0.0, 0.0, 1.0])
        # (camera, detection) of the single-camera people to place, camera by camera, without those whose rays
        # pass through a triangulated person (all cameras at once)
        candidates = [(v, i) for v in sorted({v for v, _ in singles}) for u, i in singles if u == v]
        duplicate = _single_view_duplicates(cameras, np.array([v for v, _ in candidates]),
                                            np.stack([rays[v][i] for v, i in candidates]), people, options)
        members = [(v, int(i)) for (v, i), d in zip(candidates, duplicate, strict=True) if not d]
        if members:
            views = np.array([v for v, _ in members])
            placed = place_people_of_cameras(  # all cameras' single-camera people in one batch
                cameras,
                views,
                np.stack([keypoints[v][i] for v, i in members]),
                np.stack([skeletons[v][i] for v, i in members]),
                floor=calibration.floor,
                up_world=up,
                options=options.placement,
            )
            for k, (v, i) in enumerate(members):
                if not placed.success[k]:
                    continue
                joints_world = cameras[v].to_world(placed.joints_coco[k])
                found = np.all(np.isfinite(joints_world), axis=-1)
                people.append(
                    FusedPerson(
                        joints_world,
                        np.where(found, keypoints[v][i, :, 2], 0.0),
                        found.astype(np.int64),
                        np.where(found, placed.joint_residual_px[k], np.nan),
                        kept[v][i].score,
                        (names[v],),
                        (kept[v][i].index,),
                        f"{SINGLE_VIEW} {placed.method[k]}",
                        joint_views=found[None],
                    )
                )
    up = calibration.floor.normal_world if calibration.floor is not None else np.array([0.0, 0.0, 1.0])
    people = _remove_close_people(people, up, options.min_person_distance_m)
    return sorted(people, key=lambda p: (p.placement != TRIANGULATED, -p.score))


def self_calibrated_floor(calibration: RoomCalibration, frames: Iterable[Mapping[str, Sequence[PersonDetection]]],
                          options: FusionOptions | None = None) -> FloorPlane | None:
    """The floor under the people triangulated in ``frames`` (a first fusion pass without a floor, world z up);
    None when nobody is triangulated. No ground truth involved."""
    options = options or FusionOptions()
    calibration = calibration.with_floor(None)
    joints = [p.joints for detections in frames for p in fuse_frame(calibration, detections, options)
              if p.placement == TRIANGULATED]  # fmt: skip
    return floor_under(joints, options.placement.stature_m)


def floor_under(joints: Sequence[np.ndarray], stature_m: float) -> FloorPlane | None:
    """The floor (world z up) under people standing, from their (17, 3) joints [m] (`placement.estimate_floor`);
    None without people."""
    return estimate_floor(np.array(joints), np.array([0.0, 0.0, 1.0]), stature_m) if len(joints) else None
