"""Rigid transforms between frames as 4x4 homogeneous matrices, named ``T_<to>_from_<from>``.

A transform ``T_a_from_b`` maps coordinates of a point in frame ``b`` to frame ``a``:
``p_a = T_a_from_b @ [p_b, 1]``. Translations are in metres. Quaternions use ROS order (x, y, z, w).
"""

from __future__ import annotations

import numpy as np
from scipy.spatial.transform import Rotation

#: Largest |R^T R - I| entry, and |det R - 1|, accepted for a rotation matrix.
ROTATION_TOLERANCE = 1e-5
#: Largest | |q| - 1 | accepted for a unit quaternion (values written with ~4 decimals pass).
QUATERNION_NORM_TOLERANCE = 1e-3


def rigidity_problem(T: np.ndarray, tolerance: float = ROTATION_TOLERANCE) -> str | None:
    """Why ``T`` is not a rigid 4x4 transform (rotation + translation), or None when it is."""
    T = np.asarray(T)
    if T.shape != (4, 4):
        return f"must be a 4x4 matrix, got shape {T.shape}"
    if not np.all(np.isfinite(T)):
        return "has non-finite values"
    if np.abs(T[3] - (0.0, 0.0, 0.0, 1.0)).max() > tolerance:
        return f"last row must be [0, 0, 0, 1], got {T[3].tolist()}"
    R = T[:3, :3]
    orthonormality = float(np.abs(R.T @ R - np.eye(3)).max())
    if orthonormality > tolerance:
        return f"rotation is not orthonormal (max |R^T R - I| = {orthonormality:.2g})"
    det = float(np.linalg.det(R))
    if abs(det - 1.0) > tolerance:
        return f"rotation has det {det:.6g}, not 1 (a reflection?)"
    return None


def invert_rigid(T_a_from_b: np.ndarray) -> np.ndarray:
    """(4, 4) ``T_b_from_a`` from a rigid (4, 4) ``T_a_from_b`` (exact: R^T, -R^T t)."""
    R, t = T_a_from_b[:3, :3], T_a_from_b[:3, 3]
    T = np.eye(4)
    T[:3, :3] = R.T
    T[:3, 3] = -R.T @ t
    return T


def transform_points(T_a_from_b: np.ndarray, points_b: np.ndarray) -> np.ndarray:
    """(..., 3) points in frame ``a`` from (..., 3) points in frame ``b``; NaN stays NaN."""
    points_b = np.asarray(points_b, dtype=np.float64)
    return points_b @ T_a_from_b[:3, :3].T + T_a_from_b[:3, 3]


def rigid_from_translation_quaternion(translation: np.ndarray, quaternion_xyzw: np.ndarray) -> np.ndarray:
    """(4, 4) transform from a (3,) translation [m] and a unit (4,) quaternion (x, y, z, w).

    The quaternion is normalised; check its norm first with `quaternion_norm_problem`.
    """
    T = np.eye(4)
    T[:3, :3] = Rotation.from_quat(np.asarray(quaternion_xyzw, dtype=np.float64)).as_matrix()
    T[:3, 3] = translation
    return T


def translation_quaternion_from_rigid(T: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(3,) translation [m] and (4,) unit quaternion (x, y, z, w) of a rigid (4, 4) transform."""
    return T[:3, 3].copy(), Rotation.from_matrix(T[:3, :3]).as_quat()


def quaternion_norm_problem(quaternion_xyzw: np.ndarray, tolerance: float = QUATERNION_NORM_TOLERANCE) -> str | None:
    """Why a (4,) quaternion (x, y, z, w) is not a unit quaternion, or None when it is."""
    q = np.asarray(quaternion_xyzw, dtype=np.float64)
    if q.shape != (4,):
        return f"must hold 4 values (x, y, z, w), got {q.size}"
    if not np.all(np.isfinite(q)):
        return "has non-finite values"
    norm = float(np.linalg.norm(q))
    if abs(norm - 1.0) > tolerance:
        return f"norm is {norm:.6g}, expected 1 (x, y, z, w order)"
    return None
