"""Multi-view triangulation of all joints of a person at once, robust to one outlying view.

All functions take pinhole projection matrices P = K [R | t] (world -> undistorted pixels) and
undistorted pixel coordinates: undistort keypoints first (`PinholeCamera.undistort_pixels`).
Shapes: V views, J joints (or any number of independent points).

The work on each point (a handful of 3x3 systems over V <= ~10 views) is too small for array operations to
pay their per-call cost, so it runs as compiled loops (`orpose_ros.compiled`): one call triangulates a whole frame.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

import numpy as np

from orpose_ros.compiled import compiled

#: Default smallest angle between two rays of a triangulated point [deg]: below it depth is ill-posed.
MIN_RAY_ANGLE_DEG = 2.0
#: Default distance [m] beyond which a view's ray is an outlier (a joint is about 0.1 m across).
OUTLIER_DISTANCE_M = 0.15
#: A symmetric 3x3 system H x = b is solvable when |det(H)| > this times (trace(H) / 3)^3: a rule free of the
#: scale of the weights and of the units.
RELATIVE_DET_MIN = 1e-12
#: Depths [m] at or below this are behind the camera (or on its centre) for depth weighting and refinement.
_MIN_DEPTH_M = 1e-9


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


def solve_symmetric3(H: np.ndarray, b: np.ndarray, x: np.ndarray) -> bool:
    """Whether H x = b, for a symmetric (3, 3) H (upper triangle read) and b (3,), is solvable
    (`RELATIVE_DET_MIN`); writes its solution, by Cramer's rule, into x (3,): NaN when it is not (no division by
    zero)."""
    h00, h01, h02, h11, h12, h22 = H[0, 0], H[0, 1], H[0, 2], H[1, 1], H[1, 2], H[2, 2]
    c00, c11, c22 = h11 * h22 - h12 * h12, h00 * h22 - h02 * h02, h00 * h11 - h01 * h01
    c01, c02, c12 = h02 * h12 - h01 * h22, h01 * h12 - h02 * h11, h01 * h02 - h00 * h12
    det = h00 * c00 + h01 * c01 + h02 * c02
    if not abs(det) > RELATIVE_DET_MIN * ((h00 + h11 + h22) / 3.0) ** 3:  # False for NaN too
        x[:] = np.nan
        return False
    x[0] = (c00 * b[0] + c01 * b[1] + c02 * b[2]) / det
    x[1] = (c01 * b[0] + c11 * b[1] + c12 * b[2]) / det
    x[2] = (c02 * b[0] + c12 * b[1] + c22 * b[2]) / det
    return True


def _project(Pv: np.ndarray, X: np.ndarray) -> tuple[float, float, float]:
    """Homogeneous pixel P [X, 1] of point X (3,) [m] in the view of projection matrix Pv (3, 4) (its third
    entry is X's depth [m] when Pv's rotation is rigid)."""
    x, y, z = X[0], X[1], X[2]
    return (Pv[0, 0] * x + Pv[0, 1] * y + Pv[0, 2] * z + Pv[0, 3],
            Pv[1, 0] * x + Pv[1, 1] * y + Pv[1, 2] * z + Pv[1, 3],
            Pv[2, 0] * x + Pv[2, 1] * y + Pv[2, 2] * z + Pv[2, 3])


def _add_dlt_rows(Pv: np.ndarray, uv: np.ndarray, weight: float, H: np.ndarray, g: np.ndarray) -> None:
    """Adds weight^2 r r^T of one view's DLT rows r = u P3 - P1 and v P3 - P2 to H (3, 3) (their first three
    entries; upper triangle only) and g (3,) (first three times the last): the normal equations of the point
    with homogeneous coordinate 1, whose solution is -H^-1 g. A row's dot with [X, 1] is the pixel error times
    the depth."""
    w2 = weight * weight
    for k in range(2):
        c = uv[k]
        r0, r1, r2 = c * Pv[2, 0] - Pv[k, 0], c * Pv[2, 1] - Pv[k, 1], c * Pv[2, 2] - Pv[k, 2]
        r3 = c * Pv[2, 3] - Pv[k, 3]
        H[0, 0] += w2 * r0 * r0
        H[0, 1] += w2 * r0 * r1
        H[0, 2] += w2 * r0 * r2
        H[1, 1] += w2 * r1 * r1
        H[1, 2] += w2 * r1 * r2
        H[2, 2] += w2 * r2 * r2
        g[0] += w2 * r0 * r3
        g[1] += w2 * r1 * r3
        g[2] += w2 * r2 * r3


def _dlt_point(P: np.ndarray, uv: np.ndarray, w: np.ndarray, out: np.ndarray) -> None:
    """Writes into out (3,) the point [m] of one joint's (V, 2) undistorted pixels and (V,) weights (> 0 where
    seen): weighted linear triangulation, then one reweighting of each view by 1 / depth (Hartley & Sturm's
    iterative LS: a row's residual is pixel error times depth). NaN when fewer than 2 views have weight or a
    system is not solvable (a depth guessed from elsewhere, e.g. the world origin, would make the answer depend
    on the world frame)."""
    H, g = np.zeros((3, 3)), np.zeros(3)
    seen = 0
    for v in range(len(w)):
        if w[v] > 0:
            _add_dlt_rows(P[v], uv[v], w[v], H, g)
            seen += 1
    if not solve_symmetric3(H, g, out) or seen < 2:
        out[:] = np.nan
        return
    out *= -1.0  # the point solves H X = -g
    H[:], g[:] = 0.0, 0.0
    for v in range(len(w)):
        if w[v] > 0:
            depth = _project(P[v], out)[2]
            _add_dlt_rows(P[v], uv[v], w[v] / depth if depth > _MIN_DEPTH_M else w[v], H, g)
    solve_symmetric3(H, g, out)
    out *= -1.0


def _refine_point(P: np.ndarray, uv: np.ndarray, w: np.ndarray, X: np.ndarray, iterations: int) -> None:
    """Takes ``iterations`` Gauss-Newton steps from point X (3,) [m], in place, on the weighted pixel
    reprojection error of the views with weight (> 0) that see it in front (depth > 1e-9 m); a step whose
    normal equations are not solvable is not taken."""
    H, g, step = np.zeros((3, 3)), np.zeros(3), np.empty(3)
    for _ in range(iterations):
        H[:], g[:] = 0.0, 0.0
        for v in range(len(w)):
            if not w[v] > 0:
                continue
            proj = _project(P[v], X)
            z = proj[2]
            if not z > _MIN_DEPTH_M:
                continue
            for k in range(2):
                predicted = proj[k] / z
                # the row of sqrt(weight) d(pixel)/dX, with weight w^2, and its weighted residual
                row0 = (P[v, k, 0] - predicted * P[v, 2, 0]) / z * w[v]
                row1 = (P[v, k, 1] - predicted * P[v, 2, 1]) / z * w[v]
                row2 = (P[v, k, 2] - predicted * P[v, 2, 2]) / z * w[v]
                residual = (predicted - uv[v, k]) * w[v]
                H[0, 0] += row0 * row0
                H[0, 1] += row0 * row1
                H[0, 2] += row0 * row2
                H[1, 1] += row1 * row1
                H[1, 2] += row1 * row2
                H[2, 2] += row2 * row2
                g[0] += row0 * residual
                g[1] += row1 * residual
                g[2] += row2 * residual
        if solve_symmetric3(H, g, step):
            X -= step


def _view_errors(Pv: np.ndarray, uv: np.ndarray, focal: float, X: np.ndarray) -> tuple[float, float, float]:
    """Pixel error, ray distance [m] (pixel error * depth / focal) and depth [m] of point X [m] in one view
    (NaN where the pixel uv is missing or X is NaN)."""
    proj = _project(Pv, X)
    depth = proj[2]
    du, dv = proj[0] / depth - uv[0], proj[1] / depth - uv[1]
    error = np.sqrt(du * du + dv * dv)
    return error, error * depth / focal, depth


def _drop_outlier(P: np.ndarray, uv: np.ndarray, w: np.ndarray, focal: np.ndarray, outlier_m: float
                  ) -> tuple[int, np.ndarray]:
    """The view to drop from a point seen by >= 3 views, and the point of the others; (-1, NaN) when none.

    View d is an outlier when its ray passes farther than ``outlier_m`` from the point triangulated without it,
    while every other view's ray passes within ``outlier_m`` of that point; of several, the one whose remaining
    views agree best (smallest worst distance) is dropped.
    """
    best, best_worst, best_point, point = -1, np.inf, np.full(3, np.nan), np.empty(3)
    others = w.copy()
    for d in range(len(w)):
        if not w[d] > 0:
            continue
        others[d] = 0.0
        _dlt_point(P, uv, others, point)
        others[d] = w[d]
        missed = _view_errors(P[d], uv[d], focal[d], point)[1]
        worst = -np.inf
        for v in range(len(w)):
            if v != d and w[v] > 0:
                distance = _view_errors(P[v], uv[v], focal[v], point)[1]
                worst = np.nan if np.isnan(distance) or np.isnan(worst) else max(worst, distance)
        if missed > outlier_m and worst <= outlier_m and worst < best_worst:
            best, best_worst = d, worst
            best_point[:] = point
    return best, best_point


def _sees_under_enough_angle(centres: np.ndarray, X: np.ndarray, used: np.ndarray, min_cosine: float) -> bool:
    """Whether some pair of the used views (V,) sees point X [m] under rays whose angle's cosine is at most
    ``min_cosine``; ``centres``: (V, 3) optical centres [m]."""
    V = len(used)
    rays = np.zeros((V, 3))
    for v in range(V):
        dx, dy, dz = X[0] - centres[v, 0], X[1] - centres[v, 1], X[2] - centres[v, 2]
        length = max(np.sqrt(dx * dx + dy * dy + dz * dz), 1e-12)
        rays[v, 0], rays[v, 1], rays[v, 2] = dx / length, dy / length, dz / length
    for a in range(V):
        for b in range(a + 1, V):
            cosine = rays[a, 0] * rays[b, 0] + rays[a, 1] * rays[b, 1] + rays[a, 2] * rays[b, 2]
            if used[a] and used[b] and cosine <= min_cosine:
                return True
    return False


def _triangulate_all(P: np.ndarray, uv: np.ndarray, w: np.ndarray, focal: np.ndarray, centres: np.ndarray,
                     outlier_m: float, min_cosine: float, iterations: int) -> tuple[np.ndarray, ...]:
    """The arrays of a `Triangulation` of (V, J, 2) pixels and (V, J) weights (0 where not seen; `triangulate`)."""
    V, J = w.shape
    points = np.full((J, 3), np.nan)
    error_px, confidence = np.full(J, np.nan), np.zeros(J)
    distance = np.full((V, J), np.nan)
    used = np.zeros((V, J), dtype=np.bool_)
    num_views = np.zeros(J, dtype=np.int64)
    X, errors = np.empty(3), np.empty(V)
    for j in range(J):
        uv_j, w_j = uv[:, j].copy(), w[:, j].copy()
        _dlt_point(P, uv_j, w_j, X)
        if (w_j > 0).sum() >= 3 and np.isfinite(X).all():
            drop, kept = _drop_outlier(P, uv_j, w_j, focal, outlier_m)
            if drop >= 0:
                w_j[drop] = 0.0
                X[:] = kept
        if iterations > 0 and np.isfinite(X).all():
            _refine_point(P, uv_j, w_j, X, iterations)
        used_j = w_j > 0
        valid = used_j.sum() >= 2 and np.isfinite(X).all()
        for v in range(V):
            errors[v], distance[v, j], depth = _view_errors(P[v], uv_j[v], focal[v], X)
            valid = valid and (not used_j[v] or depth > 0)
        valid = valid and _sees_under_enough_angle(centres, X, used_j, min_cosine)
        if not valid:
            distance[:, j] = np.nan
            continue
        points[j] = X
        used[:, j] = used_j
        num_views[j] = used_j.sum()
        error_sum, weight_sum = 0.0, 0.0
        for v in range(V):
            if used_j[v]:
                error_sum += errors[v]
                weight_sum += w_j[v]
        error_px[j], confidence[j] = error_sum / num_views[j], weight_sum / num_views[j]
    return points, error_px, distance, used, num_views, confidence


def _dlt_points(P: np.ndarray, uv: np.ndarray, w: np.ndarray) -> np.ndarray:
    """(B, J, 3) `_dlt_point` of (B, V, J, 2) pixels and (B, V, J) weights."""
    B, J = len(w), w.shape[2]
    points = np.empty((B, J, 3))
    for i in range(B):
        for j in range(J):
            _dlt_point(P, uv[i, :, j].copy(), w[i, :, j].copy(), points[i, j])
    return points


def _refine_points(P: np.ndarray, uv: np.ndarray, w: np.ndarray, points: np.ndarray, iterations: int) -> np.ndarray:
    """(J, 3) `_refine_point` of each finite point of (J, 3); NaN points stay NaN."""
    refined = points.copy()
    for j in range(len(points)):
        if np.isfinite(points[j]).all():
            _refine_point(P, uv[:, j].copy(), w[:, j].copy(), refined[j], iterations)
    return refined


solve_symmetric3 = compiled(solve_symmetric3)
_project = compiled(_project)
_add_dlt_rows = compiled(_add_dlt_rows)
_dlt_point = compiled(_dlt_point)
_refine_point = compiled(_refine_point)
_view_errors = compiled(_view_errors)
_drop_outlier = compiled(_drop_outlier)
_sees_under_enough_angle = compiled(_sees_under_enough_angle)
_triangulate_all = compiled(_triangulate_all)
_dlt_points = compiled(_dlt_points)
_refine_points = compiled(_refine_points)


def _seen_weights(uv: np.ndarray, w: np.ndarray) -> np.ndarray:
    """(..., V, J) float64 weights, 0 where the pixel (..., V, J, 2) is missing or the weight is not > 0."""
    return np.where(np.all(np.isfinite(uv), axis=-1) & (w > 0), w, 0.0)


def _float64(*arrays: np.ndarray) -> list[np.ndarray]:
    return [np.ascontiguousarray(a, dtype=np.float64) for a in arrays]


def triangulate_dlt(P: np.ndarray, uv: np.ndarray, w: np.ndarray) -> np.ndarray:
    """Weighted linear triangulation, then one reweighting by depth (Hartley & Sturm's iterative LS).

    Args:
        P: (V, 3, 4) pinhole projection matrices (world -> undistorted px), K[2] = (0, 0, 1), R rigid.
        uv: (..., V, J, 2) undistorted pixel observations [px] (NaN where missing).
        w: (..., V, J) weights, e.g. keypoint scores (<= 0 where missing).

    Returns:
        (..., J, 3) points [m] in the world frame; NaN where fewer than 2 views have weight or degenerate.
    """
    P, uv, w = _float64(P, uv, w)
    V, J = w.shape[-2:]
    points = _dlt_points(P, uv.reshape(-1, V, J, 2), _seen_weights(uv, w).reshape(-1, V, J))
    return points.reshape((*w.shape[:-2], J, 3))


def refine_points(P: np.ndarray, uv: np.ndarray, w: np.ndarray, points: np.ndarray, iterations: int = 2) -> np.ndarray:
    """Gauss-Newton steps on the weighted pixel reprojection error of each point.

    Args:
        P: (V, 3, 4) projection matrices; uv: (V, J, 2) undistorted px; w: (V, J) weights; points: (J, 3) [m].

    Returns:
        (J, 3) refined points [m]; NaN points stay NaN; a step whose normal equations are not solvable is not
        taken (a point without weighted views in front of their cameras is unchanged).
    """
    P, uv, w, points = _float64(P, uv, w, points)
    return _refine_points(P, uv, _seen_weights(uv, w), points, int(iterations))


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

    Steps, point by point: weighted DLT (`triangulate_dlt`); for points seen in >= 3 views, one outlying view
    is dropped: a view whose ray passes farther than ``outlier_distance_m`` from the point triangulated from
    the other views, while those agree within ``outlier_distance_m`` (the best such view when several
    qualify); ``refine_iterations`` Gauss-Newton steps on the pixel error (`refine_points`); points behind a
    used camera, or seen under rays closer than ``min_ray_angle_deg``, become NaN.

    Args:
        P: (V, 3, 4) pinhole projection matrices (world -> undistorted px).
        uv: (V, J, 2) undistorted pixel observations [px]; NaN where missing.
        w: (V, J) weights >= 0 (e.g. keypoint scores; 0 = not seen).

    Returns:
        A `Triangulation` (points in the world frame [m], errors, views used, confidence).
    """
    P, uv, w = _float64(P, uv, w)
    V, J = w.shape
    if P.shape != (V, 3, 4) or uv.shape != (V, J, 2):
        raise ValueError(
            f"triangulate: expected P (V, 3, 4), uv (V, J, 2), w (V, J); got {P.shape}, {uv.shape}, {w.shape}"
        )
    focal, centres = _view_constants(P.tobytes(), V)
    arrays = _triangulate_all(P, uv, _seen_weights(uv, w), focal, centres, float(outlier_distance_m),
                              float(np.cos(np.radians(min_ray_angle_deg))), int(refine_iterations))
    return Triangulation(*arrays)
