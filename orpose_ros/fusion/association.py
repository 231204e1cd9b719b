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

from orpose_ros.fusion.robust import nan_median
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


def noise_normalised(
    distance_m: np.ndarray, ranges_over_focal: list[np.ndarray], options: AssociationOptions
) -> np.ndarray:
    """Distances [m] rescaled so that ``max_ray_distance_m`` also allows for pixel noise: each view adds
    (3 keypoint_noise_px * range / focal)^2 to the squared allowance; ``ranges_over_focal`` [m/px] per view."""
    allowance2 = options.max_ray_distance_m**2 + sum(
        (3.0 * options.keypoint_noise_px * r) ** 2 for r in ranges_over_focal
    )
    return distance_m * options.max_ray_distance_m / np.sqrt(allowance2)


def closest_points(
    centre_a: np.ndarray, rays_a: np.ndarray, centre_b: np.ndarray, rays_b: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Closest points between rays from ``centre_a`` along ``rays_a`` and from ``centre_b`` along ``rays_b``, ray by
    ray (all four broadcast against each other).

    Args:
        centre_a, centre_b: (..., 3) optical centres [m]; rays_a, rays_b: (..., 3) unit directions.

    Returns:
        distance (...) [m], ranges along the rays of a and b (...) [m], midpoints (..., 3) [m]; NaN where a ray
        is missing or the rays are parallel.
    """
    baseline = centre_b - centre_a
    ab = vectors.dot(rays_a, rays_b)
    a_base = vectors.dot(rays_a, baseline)
    b_base = vectors.dot(rays_b, baseline)
    denom = 1.0 - ab**2  # unit rays (or NaN, which passes through silently)
    denom = np.where(denom < 1e-12, np.nan, denom)
    range_a = (a_base - ab * b_base) / denom
    range_b = (ab * a_base - b_base) / denom
    point_a = centre_a + range_a[..., None] * rays_a
    point_b = centre_b + range_b[..., None] * rays_b
    return vectors.norm(point_a - point_b), range_a, range_b, 0.5 * (point_a + point_b)


def body_scales(joints: np.ndarray, min_limbs: int = 3) -> np.ndarray:
    """(...) median ratio of the limb lengths of (..., 17, 3) COCO-17 joints [m] to the template's; NaN with
    fewer than ``min_limbs`` limbs (bones between shoulders, elbows, wrists, hips, knees, ankles) placed."""
    lengths = vectors.norm(joints[..., _LIMBS[:, 0], :] - joints[..., _LIMBS[:, 1], :]) / _LIMB_LENGTHS
    return nan_median(lengths, min_limbs)


def pair_costs(distances: np.ndarray, min_common_joints: int) -> np.ndarray:
    """(...) median over the last axis of per-keypoint distances (..., 17) [m], NaN where a keypoint is not seen
    by both; inf with fewer than ``min_common_joints`` seen (or when the median is infinite)."""
    median = nan_median(distances, min_common_joints)
    return np.where(np.isnan(median), np.inf, median)


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
    ``rays``: per camera (N_v, 17, 3) unit keypoint rays), in one set of array operations; NaN between
    detections of the same camera.

    A pair's cost is the median over the keypoints both see of the noise-normalised distance between their
    rays; inf where fewer than ``min_common_joints`` keypoints are comparable, where rays meet behind or too
    near a camera, or where they meet in a skeleton of implausible size.
    """
    offset = np.cumsum([0] + [len(r) for r in rays])
    table = np.full((offset[-1], offset[-1]), np.nan)
    blocks = [(va, vb) for va in range(len(rays)) for vb in range(va + 1, len(rays)) if len(rays[va]) and len(rays[vb])]
    if not blocks:
        return table
    # pair k of block (va, vb) is detection ia of va with detection ib of vb, row-major over (N_va, N_vb)
    counts = np.array([(va, vb, len(rays[va]), len(rays[vb])) for va, vb in blocks])  # (B, 4)
    sizes = np.concatenate([[0], np.cumsum(counts[:, 2] * counts[:, 3])])
    block = np.repeat(np.arange(len(blocks)), counts[:, 2] * counts[:, 3])
    ia, ib = np.divmod(np.arange(sizes[-1]) - sizes[block], counts[block, 3])
    va_of, vb_of = counts[block, 0], counts[block, 1]
    row, col = offset[va_of] + ia, offset[vb_of] + ib
    every = np.concatenate(rays)
    constants = stacked_cameras(tuple(cameras))
    centres, focal = constants.centres_world, constants.focal_px
    distance, range_a, range_b, midpoints = closest_points(centres[va_of][:, None], every[row],
                                                           centres[vb_of][:, None], every[col])  # (K, J)
    distance = noise_normalised(distance, [range_a / focal[va_of][:, None], range_b / focal[vb_of][:, None]],
                                options)
    in_front = (range_a >= options.min_depth_m) & (range_b >= options.min_depth_m)
    distance = np.where(np.isnan(distance), np.nan, np.where(in_front, distance, np.inf))
    costs = pair_costs(distance, options.min_common_joints)
    scale = body_scales(midpoints)
    low, high = options.body_scale_range
    table[row, col] = table[col, row] = np.where(np.isnan(scale) | ((scale >= low) & (scale <= high)), costs, np.inf)
    return table


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
