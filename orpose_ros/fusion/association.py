"""Which detections in different cameras show the same person.

Two detections of one person have their keypoints on the same body points, so the rays back-projected
through a keypoint in both cameras nearly meet (the epipolar constraint). Their closest distance, in
metres at the person, is the epipolar distance scaled to the scene: one threshold, a physical size,
holds at any distance to the cameras (a pixel-noise term widens it for low-resolution images). The cost
of a pair of detections is the median of that distance over the keypoints both see with confidence.
Where the rays meet, they draw a skeleton: a pair drawing one far smaller or larger than an adult is
no match (two views of different people can satisfy the epipolar constraint, not at a human size).

Clusters consistent over all cameras are grown camera by camera: each camera's detections are assigned
to the existing clusters with `scipy.optimize.linear_sum_assignment` on the mean cost against every
member already in the cluster; a pair costing more than the threshold is no match, and unmatched
detections start new clusters.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from scipy.optimize import linear_sum_assignment

from orpose_ros.compiled import compiled
from orpose_ros.fusion.robust import median_in_place
from orpose_ros.geometry import vectors
from orpose_ros.geometry.body_model import standing_template_coco
from orpose_ros.geometry.camera import PinholeCamera, stacked_cameras
from orpose_ros.skeleton import COCO_KEYPOINT_NAMES, COCO_SKELETON

#: A detection in a cluster: (camera index, detection index).
Member = tuple[int, int]
_UNMATCHABLE = 1e6
_FACE = ("nose", "eye", "ear")
#: Limbs whose lengths measure a body's size: COCO bones between shoulders, elbows, wrists, hips, knees, ankles.
_LIMBS = np.array(
    [e for e in COCO_SKELETON if not any(COCO_KEYPOINT_NAMES[j].endswith(_FACE) for j in e)], dtype=np.int64
)
_LIMB_LENGTHS = np.linalg.norm(standing_template_coco()[_LIMBS[:, 0]] - standing_template_coco()[_LIMBS[:, 1]], axis=-1)


@dataclass(frozen=True)
class AssociationOptions:
    """Matching people across cameras.

    Attributes:
        min_joint_score: keypoints scoring below are not compared.
        min_common_joints: fewest keypoints both detections must see to be compared.
        max_ray_distance_m: largest median distance between the rays of corresponding keypoints for a match
            [m]: a joint is about 0.1 m across, while the same joint seen by two calibrated cameras gives rays
            about 0.03 m apart (keypoint noise, calibration error).
        keypoint_noise_px: keypoint noise in pixels of the detections' images; three times it, seen at the
            person's distance, widens ``max_ray_distance_m`` (negligible at 640x480, dominant for images
            shrunk for privacy: set it to the shrink factor when keypoints are in restored pixels).
        min_depth_m: keypoints whose rays meet closer than this to a camera (or behind it) do not match.
        body_scale_range: a pair whose rays meet in a skeleton smaller or larger than these multiples of the
            template adult's (median over its limbs) is no match: adults' statures span 0.84-1.16 times
            1.72 m, widened by 20 % for the noise of limb lengths measured from two views.
    """

    min_joint_score: float = 0.2
    min_common_joints: int = 3
    max_ray_distance_m: float = 0.1
    keypoint_noise_px: float = 1.0
    min_depth_m: float = 0.3
    body_scale_range: tuple[float, float] = (0.67, 1.4)

    def __post_init__(self) -> None:
        if not 0.0 <= self.min_joint_score <= 1.0:
            raise ValueError(f"min_joint_score must be in [0, 1], got {self.min_joint_score}")
        if self.min_common_joints < 1:
            raise ValueError(f"min_common_joints must be >= 1, got {self.min_common_joints}")
        if not (self.max_ray_distance_m > 0 and self.keypoint_noise_px >= 0 and self.min_depth_m >= 0):
            raise ValueError("max_ray_distance_m must be positive, keypoint_noise_px and min_depth_m non-negative")
        low, high = self.body_scale_range
        if not 0 <= low < high:
            raise ValueError(f"body_scale_range must be (low, high) with 0 <= low < high, got {self.body_scale_range}")


def keypoint_rays(camera: PinholeCamera, keypoints_2d: np.ndarray, min_score: float) -> np.ndarray:
    """(N, 17, 3) unit world directions of the rays through (N, 17, 3) keypoints [px]; NaN where not confident."""
    xy = camera.normalised_coordinates(keypoints_2d[..., :2])
    return normalised_rays(camera, xy, keypoints_2d[..., 2], min_score)


def normalised_rays(camera: PinholeCamera, xy: np.ndarray, scores: np.ndarray, min_score: float) -> np.ndarray:
    """(..., 3) unit world directions of the rays through (..., 2) undistorted normalised image coordinates
    (`PinholeCamera.normalised_coordinates`); NaN where ``scores`` (...) are below ``min_score``."""
    d = np.concatenate([xy, np.ones((*xy.shape[:-1], 1))], axis=-1)
    d /= vectors.norm(d)[..., None]
    rays = d @ camera.T_world_from_camera[:3, :3].T
    return np.where((scores[..., None] >= max(min_score, 1e-9)), rays, np.nan)


def noise_normalised(distance_m: float, range_over_focal_a: float, range_over_focal_b: float,
                     max_ray_distance_m: float, keypoint_noise_px: float) -> float:
    """A ray distance [m] rescaled so that ``max_ray_distance_m`` also allows for pixel noise: each of the two
    views adds (3 keypoint_noise_px * range / focal)^2 to the squared allowance (range / focal [m/px] of each
    view; 0 for a view without range, e.g. a known point against one ray)."""
    allowance2 = max_ray_distance_m**2 + ((3.0 * keypoint_noise_px * range_over_focal_a) ** 2
                                          + (3.0 * keypoint_noise_px * range_over_focal_b) ** 2)
    return distance_m * max_ray_distance_m / np.sqrt(allowance2)


def ray_gap(centre_a: np.ndarray, ray_a: np.ndarray, centre_b: np.ndarray, ray_b: np.ndarray,
            midpoint: np.ndarray) -> tuple[float, float, float]:
    """Closest points of the ray from ``centre_a`` along unit ``ray_a`` and the ray from ``centre_b`` along unit
    ``ray_b`` (all (3,) [m]): (distance between them [m], range along ray a [m], range along ray b [m]); writes
    their midpoint into (3,) ``midpoint``. All NaN where a ray is NaN or the rays are parallel (the sine of their
    angle below 1e-6)."""
    ab = ray_a[0] * ray_b[0] + ray_a[1] * ray_b[1] + ray_a[2] * ray_b[2]
    a_base = b_base = 0.0
    for k in range(3):
        a_base += ray_a[k] * (centre_b[k] - centre_a[k])
        b_base += ray_b[k] * (centre_b[k] - centre_a[k])
    denom = 1.0 - ab**2
    if denom < 1e-12:
        denom = np.nan
    range_a, range_b = (a_base - ab * b_base) / denom, (ab * a_base - b_base) / denom
    distance2 = 0.0
    for k in range(3):
        point_a, point_b = centre_a[k] + range_a * ray_a[k], centre_b[k] + range_b * ray_b[k]
        distance2 += (point_a - point_b) ** 2
        midpoint[k] = 0.5 * (point_a + point_b)
    return np.sqrt(distance2), range_a, range_b


def median_cost(values: np.ndarray, count: int, min_count: int) -> float:
    """Median of the first ``count`` (non-NaN) entries of ``values`` (sorted in place), inf with fewer than
    ``min_count`` of them: the cost of a pair of detections from its per-keypoint distances [m]."""
    if count < max(min_count, 1):
        return np.inf
    return median_in_place(values, count)


def body_scale(joints: np.ndarray, min_limbs: int, lengths: np.ndarray) -> float:
    """Median ratio of the limb lengths of (17, 3) COCO-17 joints [m] to the template's; NaN with fewer than
    ``min_limbs`` limbs (bones between shoulders, elbows, wrists, hips, knees, ankles) placed; ``lengths``
    (number of limbs,) scratch."""
    count = 0
    for limb in range(_LIMBS.shape[0]):
        a, b = _LIMBS[limb, 0], _LIMBS[limb, 1]
        length = np.sqrt((joints[a, 0] - joints[b, 0]) ** 2 + (joints[a, 1] - joints[b, 1]) ** 2
                         + (joints[a, 2] - joints[b, 2]) ** 2) / _LIMB_LENGTHS[limb]
        if not np.isnan(length):
            lengths[count] = length
            count += 1
    if count < max(min_limbs, 1):
        return np.nan
    return median_in_place(lengths, count)


def _cost_table(rays: np.ndarray, camera: np.ndarray, centres: np.ndarray, focal: np.ndarray,
                max_ray_distance_m: float, keypoint_noise_px: float, min_depth_m: float, min_common_joints: int,
                scale_low: float, scale_high: float) -> np.ndarray:
    """`cost_table` of N detections' (N, 17, 3) unit keypoint rays (NaN where not seen), of the cameras
    ``camera`` (N,) (in increasing order) whose centres (V, 3) [m] and focal lengths (V,) [px] are given."""
    N, J = rays.shape[0], rays.shape[1]
    table = np.full((N, N), np.nan)
    midpoints, distances, lengths = np.empty((J, 3)), np.empty(J), np.empty(_LIMBS.shape[0])
    for a in range(N):
        va = camera[a]
        for b in range(a + 1, N):
            vb = camera[b]
            if vb == va:
                continue
            count = 0
            for j in range(J):
                distance, range_a, range_b = ray_gap(centres[va], rays[a, j], centres[vb], rays[b, j], midpoints[j])
                if np.isnan(distance):
                    continue
                if range_a >= min_depth_m and range_b >= min_depth_m:
                    distances[count] = noise_normalised(distance, range_a / focal[va], range_b / focal[vb],
                                                        max_ray_distance_m, keypoint_noise_px)
                else:
                    distances[count] = np.inf
                count += 1
            cost = median_cost(distances, count, min_common_joints)
            scale = body_scale(midpoints, 3, lengths)
            if not (np.isnan(scale) or scale_low <= scale <= scale_high):
                cost = np.inf
            table[a, b] = table[b, a] = cost
    return table


noise_normalised = compiled(noise_normalised)
ray_gap = compiled(ray_gap)
median_cost = compiled(median_cost)
body_scale = compiled(body_scale)
_cost_table = compiled(_cost_table)


def view_pair_costs(
    camera_a: PinholeCamera,
    rays_a: np.ndarray,
    camera_b: PinholeCamera,
    rays_b: np.ndarray,
    options: AssociationOptions,
) -> np.ndarray:
    """(Na, Nb) costs [m] of pairing the detections of two cameras (their keypoint rays (N, 17, 3)): their block
    of `cost_table`."""
    return cost_table([camera_a, camera_b], [rays_a, rays_b], options)[: len(rays_a), len(rays_a) :]


def cost_table(cameras: Sequence[PinholeCamera], rays: Sequence[np.ndarray], options: AssociationOptions) -> np.ndarray:
    """(N, N) symmetric costs [m] of every pair of the N detections of all cameras (camera after camera, as in
    ``rays``: per camera (N_v, 17, 3) unit keypoint rays); NaN between detections of the same camera.

    A pair's cost is the median over the keypoints both see of the noise-normalised distance between their
    rays (`ray_gap`, `noise_normalised`); inf where fewer than ``min_common_joints`` keypoints are comparable,
    where rays meet behind or too near a camera, or where they meet in a skeleton of implausible size
    (`body_scale`). Compiled loops: a frame has a few dozen pairs of 17 keypoints, too few for array operations
    to pay their per-call cost.
    """
    constants = stacked_cameras(tuple(cameras))
    camera = np.repeat(np.arange(len(rays)), [len(r) for r in rays])
    every = np.concatenate([np.zeros((0, 17, 3))] + [np.asarray(r, dtype=np.float64).reshape(-1, 17, 3) for r in rays])
    low, high = options.body_scale_range
    return _cost_table(every, camera, constants.centres_world, constants.focal_px, options.max_ray_distance_m,
                       options.keypoint_noise_px, options.min_depth_m, options.min_common_joints, low, high)


def associate(
    cameras: Sequence[PinholeCamera],
    keypoints_2d: Sequence[np.ndarray],
    options: AssociationOptions | None = None,
    rays: Sequence[np.ndarray] | None = None,
) -> list[list[Member]]:
    """Group detections of the same person across cameras.

    Args:
        cameras: V cameras.
        keypoints_2d: per camera, (N_v, 17, 3) keypoints x, y [px], score.
        options: `AssociationOptions`.
        rays: per camera, the (N_v, 17, 3) `keypoint_rays` of its keypoints when already computed.

    Returns:
        Clusters, each a list of (camera index, detection index) with at most one detection per camera,
        in order of the cameras; every detection is in exactly one cluster (possibly alone).
    """
    options = options or AssociationOptions()
    V = len(cameras)
    if rays is None:
        rays = [keypoint_rays(c, np.asarray(k, dtype=np.float64).reshape(-1, 17, 3), options.min_joint_score)
                for c, k in zip(cameras, keypoints_2d, strict=True)]  # fmt: skip
    pair_table = cost_table(cameras, rays, options)
    offset = np.cumsum([0] + [len(r) for r in rays])
    clusters: list[list[Member]] = []
    for view in range(V):
        n = len(rays[view])
        if n == 0:
            continue
        if clusters:
            # every member of every cluster against this view's detections, summed per cluster at once
            members = [offset[v] + i for cluster in clusters for v, i in cluster]
            member_costs = pair_table[members, offset[view] : offset[view + 1]]  # (members, n)
            starts = np.cumsum([0] + [len(cluster) for cluster in clusters[:-1]])
            finite = np.isfinite(member_costs)
            total = np.add.reduceat(np.where(finite, member_costs, 0.0), starts, axis=0)  # (clusters, n)
            count = np.add.reduceat(finite.astype(np.int64), starts, axis=0)
            # A candidate must agree with every member it can be compared with.
            disagree = np.add.reduceat((finite & (member_costs > options.max_ray_distance_m)).astype(np.int64),
                                       starts, axis=0)
            with np.errstate(invalid="ignore", divide="ignore"):
                table = np.where((count > 0) & (disagree == 0), total / count, _UNMATCHABLE)
            rows, cols = linear_sum_assignment(table)
            matched = set()
            for r, c in zip(rows, cols, strict=True):
                if table[r, c] <= options.max_ray_distance_m:
                    clusters[r].append((view, int(c)))
                    matched.add(int(c))
            clusters.extend([[(view, i)] for i in range(n) if i not in matched])
        else:
            clusters = [[(view, i)] for i in range(n)]
    return clusters
