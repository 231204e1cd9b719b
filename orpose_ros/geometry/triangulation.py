"""Multi-view triangulation of all joints of a person at once, robust to one outlying view.

All functions take pinhole projection matrices P = K [R | t] (world -> undistorted pixels) and
undistorted pixel coordinates: undistort keypoints first (`PinholeCamera.undistort_pixels`).
Shapes: V views, J joints (or any number of independent points).
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

import numpy as np

from orpose_ros.geometry import vectors

#: Default smallest angle between two rays of a triangulated point [deg]: below it depth is ill-posed.
MIN_RAY_ANGLE_DEG = 2.0
#: Default distance [m] beyond which a view's ray is an outlier (a joint is about 0.1 m across).
OUTLIER_DISTANCE_M = 0.15


@dataclass(frozen=True, eq=False)
class Triangulation:
    """Triangulated points and their quality.

    Attributes:
        points: (J, 3) points in the world frame [m]; NaN where not triangulated.
        reprojection_error_px: (J,) mean reprojection error over the views used [px]; NaN where not triangulated.
        ray_distance_m: (V, J) distance between each point and each view's ray [m] (about error_px * depth / f);
            NaN where the view has no observation or the point is NaN.
        used: (V, J) bool, the views each point was triangulated from.
        num_views: (J,) int, number of views used (0 where not triangulated).
        confidence: (J,) mean weight of the views used (0 where not triangulated).
    """

    points: np.ndarray
    reprojection_error_px: np.ndarray
    ray_distance_m: np.ndarray
    used: np.ndarray
    num_views: np.ndarray
    confidence: np.ndarray


def _rows(P: np.ndarray, uv: np.ndarray) -> np.ndarray:
    """(..., J, 2V, 4) DLT rows u P3 - P1 and v P3 - P2 of (..., V, J, 2) pixels; a row's dot with [X, 1] is
    the pixel error times the depth."""
    uv = np.where(np.isfinite(uv), uv, 0.0)
    rows = uv[..., None] * P[:, None, None, 2, :] - P[:, None, :2, :]  # (..., V, J, 2, 4)
    rows = np.swapaxes(rows, -4, -3)  # (..., J, V, 2, 4)
    return rows.reshape((*rows.shape[:-3], -1, 4))


def _outer_rows(rows: np.ndarray) -> np.ndarray:
    """(..., J, 2V, 16) outer products r r^T (flattened 4x4) of DLT rows (..., J, 2V, 4): the weighted normal
    matrix of any weights is then one small matrix product (`_solve_dlt`)."""
    return (rows[..., :, None] * rows[..., None, :]).reshape((*rows.shape[:-1], 16))


def _solve_dlt(outer: np.ndarray, w: np.ndarray) -> np.ndarray:
    """(..., J, 3) weighted least-squares points [m] of the rows' outer products (..., J, 2V, 16)
    (`_outer_rows`) and weights (..., V, J).

    The homogeneous coordinate is fixed to 1 (points in a room are never at infinity): the 3x3 normal
    equations are solved for all points at once. Singular systems (fewer than 2 views) give NaN.
    """
    w2 = np.repeat(np.swapaxes(w, -1, -2), 2, axis=-1) ** 2  # (..., J, 2V)
    M = (w2[..., None, :] @ outer)[..., 0, :].reshape((*w2.shape[:-1], 4, 4))  # sum of w^2 r r^T: (..., J, 4, 4)
    H, g = M[..., :3, :3], M[..., :3, 3]
    solution, det = solve_symmetric3(H, g)
    points = -solution
    points[~solvable(H, det)] = np.nan
    return points


#: A symmetric 3x3 system H x = b is solvable when |det(H)| > this times (trace(H) / 3)^3: a rule free of the
#: scale of the weights and of the units.
RELATIVE_DET_MIN = 1e-12


def solvable(H: np.ndarray, det: np.ndarray) -> np.ndarray:
    """(...) whether each symmetric 3x3 system H (..., 3, 3) of determinant ``det`` (...) is solvable
    (`RELATIVE_DET_MIN`); False for an all-zero H and for NaN."""
    scale = np.trace(H, axis1=-2, axis2=-1) / 3.0
    return np.abs(det) > RELATIVE_DET_MIN * scale**3


def solve_symmetric3(H: np.ndarray, b: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Solutions x (..., 3) of H x = b for symmetric 3x3 matrices H (..., 3, 3) and b (..., 3), and det(H) (...).

    Cramer's rule on the six distinct entries, as plain array operations: for the few hundred 3x3 systems of a
    frame it is several times faster than `np.linalg.det` + `np.linalg.solve`. Where det(H) is 0 the solution
    is inf or NaN: callers test the determinant (`solvable`).
    """
    h00, h01, h02 = H[..., 0, 0], H[..., 0, 1], H[..., 0, 2]
    h11, h12, h22 = H[..., 1, 1], H[..., 1, 2], H[..., 2, 2]
    c00, c11, c22 = h11 * h22 - h12 * h12, h00 * h22 - h02 * h02, h00 * h11 - h01 * h01
    c01, c02, c12 = h02 * h12 - h01 * h22, h01 * h12 - h02 * h11, h01 * h02 - h00 * h12
    det = h00 * c00 + h01 * c01 + h02 * c02
    b0, b1, b2 = b[..., 0], b[..., 1], b[..., 2]
    x0 = c00 * b0 + c01 * b1 + c02 * b2
    x = np.empty((*x0.shape, 3))
    x[..., 0] = x0
    x[..., 1] = c01 * b0 + c11 * b1 + c12 * b2
    x[..., 2] = c02 * b0 + c12 * b1 + c22 * b2
    with np.errstate(invalid="ignore", divide="ignore"):
        x /= det[..., None]
    return x, det


def _depths(P: np.ndarray, points: np.ndarray) -> np.ndarray:
    """(..., V, J) depth [m] of (..., J, 3) points in each view (P's last row is [r3, t3] with |r3| = 1)."""
    return np.swapaxes(points @ P[:, 2, :3].T, -1, -2) + P[:, 2, 3][:, None]


def triangulate_dlt(P: np.ndarray, uv: np.ndarray, w: np.ndarray) -> np.ndarray:
    """Weighted linear triangulation, then one reweighting by depth (Hartley & Sturm's iterative LS).

    Args:
        P: (V, 3, 4) pinhole projection matrices (world -> undistorted px), K[2] = (0, 0, 1), R rigid.
        uv: (..., V, J, 2) undistorted pixel observations [px] (NaN where missing).
        w: (..., V, J) non-negative weights (0 where missing), e.g. keypoint scores.

    Returns:
        (..., J, 3) points [m] in the world frame; NaN where fewer than 2 views have weight or degenerate.
    """
    w = np.where(np.all(np.isfinite(uv), axis=-1), w, 0.0)
    outer = _outer_rows(_rows(P, uv))
    points = _solve_dlt(outer, w)
    # NaN where the first solve refused the system: its weights stay, so the second solve refuses it too (a depth
    # guessed from elsewhere, e.g. the world origin, would make the answer depend on the choice of world frame).
    depth = _depths(P, points)
    # The algebraic residual of a row is error_px * depth: dividing by depth approximates pixel errors.
    reweighted = np.where(depth > 1e-9, w / np.where(depth > 1e-9, depth, 1.0), w)
    points = _solve_dlt(outer, reweighted)
    points[(w > 0).sum(axis=-2) < 2] = np.nan
    return points


def refine_points(P: np.ndarray, uv: np.ndarray, w: np.ndarray, points: np.ndarray, iterations: int = 2) -> np.ndarray:
    """Gauss-Newton steps on the weighted pixel reprojection error of each point, all points at once.

    Args:
        P: (V, 3, 4) projection matrices; uv: (V, J, 2) undistorted px; w: (V, J) weights; points: (J, 3) [m].

    Returns:
        (J, 3) refined points [m]; points that are NaN, or whose normal equations are not `solvable`, are
        unchanged.
    """
    finite = np.isfinite(uv)
    w = np.where(np.all(finite, axis=-1), w, 0.0)
    uv = np.where(finite, uv, 0.0)
    ok = np.all(np.isfinite(points), axis=-1)
    X = np.where(ok[:, None], points, 0.0)
    Pt = np.swapaxes(P, -1, -2)  # (V, 4, 3)
    for _ in range(iterations):
        proj = X @ Pt[:, :3] + Pt[:, 3:]  # (V, J, 3)
        z = proj[..., 2]
        valid = (z > 1e-9) & (w > 0)
        z_safe = np.where(valid, z, 1.0)[..., None]
        uv_hat = proj[..., :2] / z_safe
        residual = uv_hat - uv  # (V, J, 2)
        # d(u, v)/dX = (P[:2] - (u, v) P3) / z over the 3 coordinates: (V, J, 2, 3).
        jac = (P[:, None, :2, :3] - uv_hat[..., None] * P[:, None, 2:3, :3]) / z_safe[..., None]
        weighted = jac * np.where(valid, w, 0.0)[..., None, None]  # rows of sqrt(weight) J: w (not w^2)
        # one (3 x 2V) @ (2V x 3) product per point, the views' rows side by side
        rows = np.moveaxis(weighted, 0, 1).reshape(len(X), -1, 3)  # (J, 2V, 3)
        wres = (residual * np.where(valid, w, 0.0)[..., None]).swapaxes(0, 1).reshape(len(X), -1)  # (J, 2V)
        rows_t = np.swapaxes(rows, -1, -2)
        H = rows_t @ rows  # (J, 3, 3)
        g = (rows_t @ wres[..., None])[..., 0]  # (J, 3)
        step, det = solve_symmetric3(H, g)
        X = X - np.where((ok & solvable(H, det))[:, None], step, 0.0)
    return np.where(ok[:, None], X, np.nan)


def focal_lengths(P: np.ndarray) -> np.ndarray:
    """(V,) geometric mean sqrt(fx * fy) [px] of (V, 3, 4) projection matrices K [R | t] (skew ignored).

    With M = K R, M M^T = K K^T, whose entries give cx, cy (last column), fy^2 + cy^2 and fx^2 + cx^2.
    """
    KKt = np.einsum("vik,vjk->vij", P[:, :, :3], P[:, :, :3])
    fx2 = KKt[:, 0, 0] - KKt[:, 0, 2] ** 2
    fy2 = KKt[:, 1, 1] - KKt[:, 1, 2] ** 2
    return np.sqrt(np.sqrt(np.maximum(fx2, 0.0) * np.maximum(fy2, 0.0)))


@functools.lru_cache(maxsize=32)
def _view_constants(P_bytes: bytes, V: int) -> tuple[np.ndarray, np.ndarray]:
    """(V,) focal lengths [px] (`focal_lengths`) and (V, 3) optical centres [m] of the (V, 3, 4) projection
    matrices whose bytes are ``P_bytes``: computed once per set of cameras, not once per call."""
    P = np.frombuffer(P_bytes, dtype=np.float64).reshape(V, 3, 4)
    # Camera centre C solves P [C, 1] = 0: C = -M^-1 p4 for M = P[:, :3].
    centres = -np.linalg.solve(P[:, :, :3], P[:, :, 3:4])[..., 0]
    focal = focal_lengths(P)
    for array in (centres, focal):
        array.setflags(write=False)
    return focal, centres


def _constants(P: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    return _view_constants(np.ascontiguousarray(P, dtype=np.float64).tobytes(), len(P))


def _errors(P: np.ndarray, uv: np.ndarray, points: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Pixel errors, ray distances [m] and depths [m], each (..., V, J), of points (..., J, 3) in every view."""
    Pt = np.swapaxes(P, -1, -2)  # (V, 4, 3)
    proj = points[..., None, :, :] @ Pt[:, :3] + Pt[:, 3:]  # (..., V, J, 3)
    depth = proj[..., 2]
    with np.errstate(invalid="ignore", divide="ignore"):
        error_px = vectors.norm(proj[..., :2] / depth[..., None] - uv)
        distance_m = error_px * depth / _constants(P)[0][:, None]
    return error_px, distance_m, depth


def _ray_angle_ok(P: np.ndarray, points: np.ndarray, used: np.ndarray, min_angle_deg: float) -> np.ndarray:
    """(J,) whether some pair of used views sees each point under rays at least ``min_angle_deg`` apart."""
    centres = _constants(P)[1]  # (V, 3)
    rays = np.nan_to_num(points)[None] - centres[:, None]  # (V, J, 3)
    rays /= np.maximum(vectors.norm(rays), 1e-12)[..., None]
    cosines = np.einsum("ajk,bjk->abj", rays, rays)
    pair_used = used[:, None] & used[None, :]
    smallest_cosine = np.where(pair_used, cosines, 1.0).min(axis=(0, 1))
    return smallest_cosine <= np.cos(np.radians(min_angle_deg))


def triangulate(
    P: np.ndarray,
    uv: np.ndarray,
    w: np.ndarray,
    *,
    outlier_distance_m: float = OUTLIER_DISTANCE_M,
    min_ray_angle_deg: float = MIN_RAY_ANGLE_DEG,
    refine_iterations: int = 2,
) -> Triangulation:
    """Robust weighted triangulation of J points seen in V views.

    Steps: weighted DLT (`triangulate_dlt`); for points seen in >= 3 views, one outlying view is dropped: a
    view whose ray passes farther than ``outlier_distance_m`` from the point triangulated from the other
    views, while those agree within ``outlier_distance_m`` (the best such view when several qualify);
    ``refine_iterations`` Gauss-Newton steps on the pixel error
    (`refine_points`); points behind a used camera, or seen under rays closer than ``min_ray_angle_deg``,
    become NaN.

    Args:
        P: (V, 3, 4) pinhole projection matrices (world -> undistorted px).
        uv: (V, J, 2) undistorted pixel observations [px]; NaN where missing.
        w: (V, J) weights >= 0 (e.g. keypoint scores; 0 = not seen).

    Returns:
        A `Triangulation` (points in the world frame [m], errors, views used, confidence).
    """
    P = np.asarray(P, dtype=np.float64)
    uv = np.asarray(uv, dtype=np.float64)
    w = np.asarray(w, dtype=np.float64)
    V, J = w.shape
    if P.shape != (V, 3, 4) or uv.shape != (V, J, 2):
        raise ValueError(
            f"triangulate: expected P (V, 3, 4), uv (V, J, 2), w (V, J); got {P.shape}, {uv.shape}, {w.shape}"
        )
    w = np.where(np.all(np.isfinite(uv), axis=-1) & (w > 0), w, 0.0)
    used = w > 0
    # All views, and every view left out in turn (d = 0..V-1), in one batch: (1 + V, V, J) weights.
    w_all = np.repeat(w[None], 1 + V, axis=0)
    w_all[1 + np.arange(V), np.arange(V)] = 0.0
    all_points = triangulate_dlt(P, uv, w_all) if V >= 3 and (used.sum(axis=0) >= 3).any() else None
    points = triangulate_dlt(P, uv, w) if all_points is None else all_points[0]

    candidates = (used.sum(axis=0) >= 3) & np.all(np.isfinite(points), axis=-1)
    if candidates.any():
        # Leave-one-out for the points seen >= 3 times: view d dropped.
        cols = np.flatnonzero(candidates)
        w_loo = w_all[1:, :, cols]  # (V dropped, V, S)
        loo_points = all_points[1:, cols]  # (V dropped, S, 3)
        _, loo_distance, _ = _errors(P, uv[:, cols], loo_points)  # (V dropped, V, S)
        kept_worst = np.where(w_loo > 0, loo_distance, -np.inf).max(axis=1)  # (V dropped, S)
        dropped_distance = loo_distance[np.arange(V), np.arange(V)]  # (V dropped, S)
        # View d is an outlier when the other views agree within the threshold and d's ray misses their point.
        outlier = used[:, cols] & (dropped_distance > outlier_distance_m) & (kept_worst <= outlier_distance_m)
        if outlier.any():
            best = np.where(outlier, np.nan_to_num(kept_worst, nan=np.inf), np.inf).argmin(axis=0)
            has = outlier.any(axis=0)
            drop_views, drop_cols = best[has], cols[has]
            w[drop_views, drop_cols] = 0.0
            used[drop_views, drop_cols] = False
            points[drop_cols] = loo_points[drop_views, np.flatnonzero(has)]

    if refine_iterations > 0:
        points = refine_points(P, uv, w, points, refine_iterations)
    error_px, distance, depth = _errors(P, uv, points)
    in_front = np.all(~used | (depth > 0), axis=0)
    valid = (used.sum(axis=0) >= 2) & np.all(np.isfinite(points), axis=-1) & in_front
    valid &= _ray_angle_ok(P, points, used & valid[None], min_ray_angle_deg)
    points[~valid] = np.nan
    used &= valid[None]
    num_views = used.sum(axis=0)
    with np.errstate(invalid="ignore"):
        mean_error = np.where(valid, np.where(used, error_px, 0.0).sum(axis=0) / np.maximum(num_views, 1), np.nan)
        confidence = np.where(valid, np.where(used, w, 0.0).sum(axis=0) / np.maximum(num_views, 1), 0.0)
    distance = np.where(np.isfinite(uv).all(axis=-1) & valid[None], distance, np.nan)
    return Triangulation(points, mean_error, distance, used, num_views, confidence)
