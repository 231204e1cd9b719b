"""What the geometry knows about human bodies: joint correspondences and an upright standing template.

Heights and widths are fractions of the stature H from anthropometric tables (segment proportions of
Drillis & Contini, 1966, as tabulated in D. A. Winter, "Biomechanics and Motor Control of Human
Movement"): shoulder (acromion) 0.818 H, elbow 0.630 H, wrist 0.485 H, hip (greater trochanter)
0.530 H, knee 0.285 H, ankle 0.039 H, eyes 0.936 H, chin 0.870 H, shoulder width 0.259 H, hip width
0.191 H. Joint centres sit inside those outer widths.

Body frame of the template: origin at the pelvis, x to the person's right, y forward (where the person
faces), z up, metres.
"""

from __future__ import annotations

import numpy as np
from scipy.spatial.transform import Rotation

from orpose_ros.skeleton import COCO_KEYPOINT_NAMES, H36M_JOINT_NAMES

#: Default stature [m]: about the mean of adult men and women in Europe.
DEFAULT_STATURE_M = 1.72

#: For each COCO-17 keypoint, the Human3.6M-17 joint standing for it (face keypoints -> neck/nose or head).
COCO_TO_H36M: tuple[int, ...] = tuple(
    H36M_JOINT_NAMES.index(n)
    for n in (
        "neck_nose", "head", "head", "head", "head",
        "left_shoulder", "right_shoulder", "left_elbow", "right_elbow", "left_wrist", "right_wrist",
        "left_hip", "right_hip", "left_knee", "right_knee", "left_ankle", "right_ankle",
    )
)  # fmt: skip

#: COCO-17 keypoints with a Human3.6M joint at the same body point (the face keypoints are only near theirs).
COCO_SHARED_WITH_H36M = np.array([name not in ("nose", "left_eye", "right_eye", "left_ear", "right_ear")
                                  for name in COCO_KEYPOINT_NAMES])  # fmt: skip

#: COCO-17 keypoints whose height above the floor is predictable for a standing person (not the arms).
COCO_RIGID_WHEN_STANDING = np.array([not name.endswith(("elbow", "wrist")) for name in COCO_KEYPOINT_NAMES])

# Template: (right +, forward +, height above the floor) as fractions of the stature, per H36M joint.
_H36M_TEMPLATE_FRACTIONS = {
    "pelvis": (0.0, 0.0, 0.530),
    "right_hip": (0.075, 0.0, 0.530),
    "right_knee": (0.060, 0.0, 0.285),
    "right_ankle": (0.060, -0.010, 0.039),
    "left_hip": (-0.075, 0.0, 0.530),
    "left_knee": (-0.060, 0.0, 0.285),
    "left_ankle": (-0.060, -0.010, 0.039),
    "spine": (0.0, -0.010, 0.640),
    "thorax": (0.0, 0.0, 0.830),
    "neck_nose": (0.0, 0.050, 0.910),
    "head": (0.0, 0.010, 0.960),
    "left_shoulder": (-0.105, -0.005, 0.818),
    "left_elbow": (-0.115, -0.005, 0.630),
    "left_wrist": (-0.115, 0.020, 0.485),
    "right_shoulder": (0.105, -0.005, 0.818),
    "right_elbow": (0.115, -0.005, 0.630),
    "right_wrist": (0.115, 0.020, 0.485),
}
# Face keypoints are not H36M joints: (right +, forward +, height) as fractions of the stature.
_COCO_FACE_FRACTIONS = {
    "nose": (0.0, 0.060, 0.910),
    "left_eye": (-0.018, 0.050, 0.936),
    "right_eye": (0.018, 0.050, 0.936),
    "left_ear": (-0.045, 0.0, 0.930),
    "right_ear": (0.045, 0.0, 0.930),
}


def standing_template_h36m(stature_m: float = DEFAULT_STATURE_M) -> np.ndarray:
    """(17, 3) upright standing Human3.6M-17 joints [m], pelvis-relative, in the body frame (x right, y fwd, z up)."""
    fractions = np.array([_H36M_TEMPLATE_FRACTIONS[name] for name in H36M_JOINT_NAMES])
    joints = fractions * stature_m
    joints[:, 2] -= _H36M_TEMPLATE_FRACTIONS["pelvis"][2] * stature_m
    return joints


def standing_template_coco(stature_m: float = DEFAULT_STATURE_M) -> np.ndarray:
    """(17, 3) upright standing COCO-17 keypoints [m], pelvis-relative, in the body frame (x right, y fwd, z up)."""
    fractions = np.array([_COCO_FACE_FRACTIONS.get(name) or _H36M_TEMPLATE_FRACTIONS[name]
                          for name in COCO_KEYPOINT_NAMES])  # fmt: skip
    joints = fractions * stature_m
    joints[:, 2] -= _H36M_TEMPLATE_FRACTIONS["pelvis"][2] * stature_m
    return joints


def standing_heights_coco(stature_m: float = DEFAULT_STATURE_M) -> np.ndarray:
    """(17,) heights above the floor [m] of the COCO-17 keypoints of an upright standing person."""
    return standing_template_coco(stature_m)[:, 2] + pelvis_height_m(stature_m)


def pelvis_height_m(stature_m: float = DEFAULT_STATURE_M) -> float:
    """Height of the pelvis (hip joints) of a standing person above the floor [m]."""
    return _H36M_TEMPLATE_FRACTIONS["pelvis"][2] * stature_m


def body_to_camera_rotations(up_camera: np.ndarray, headings_rad: np.ndarray) -> np.ndarray:
    """(K, 3, 3) rotations from the body frame to the camera frame for K headings.

    Heading 0 faces the camera (the body's forward axis points against the camera's horizontal viewing
    direction); positive headings turn the person to their left (counter-clockwise seen from above).

    Args:
        up_camera: (3,) unit up direction (floor normal) in camera coordinates.
        headings_rad: (K,) headings [rad].
    """
    up = np.asarray(up_camera, dtype=np.float64)
    up = up / np.linalg.norm(up)
    view = np.array([0.0, 0.0, 1.0]) - up[2] * up  # camera z axis projected on the horizontal plane
    if np.linalg.norm(view) < 1e-6:  # camera looking straight down or up: any horizontal axis
        view = np.array([1.0, 0.0, 0.0]) - up[0] * up
    view /= np.linalg.norm(view)
    facing = -view  # heading 0: facing the camera
    right0 = np.cross(facing, up)  # x = y x z for a right-handed (x right, y forward, z up) frame
    c, s = np.cos(headings_rad)[:, None], np.sin(headings_rad)[:, None]
    forward = c * facing - s * right0  # turning left moves forward towards -right
    right = c * right0 + s * facing  # = forward x up, both turned by the same heading
    return np.stack([right, forward, np.broadcast_to(up, right.shape)], axis=-1)


def coco_from_h36m(joints_h36m: np.ndarray) -> np.ndarray:
    """(..., 17, 3) COCO-17 joints standing in for (..., 17, 3) Human3.6M-17 joints (face -> nose/head)."""
    return joints_h36m[..., COCO_TO_H36M, :]


def upright_template_from_camera_pose(pose_h36m_camera: np.ndarray) -> np.ndarray:
    """(17, 3) COCO-17 template in the body frame from a pelvis-relative (17, 3) Human3.6M-17 pose [m] in the
    axes of a level camera facing the person (x right, y down, z forward), e.g. `H36MStats.mean_pose_m()`.

    The pose is turned so that its pelvis-to-thorax direction is vertical (the Human3.6M cameras looked down).
    """
    p = np.asarray(pose_h36m_camera, dtype=np.float64)
    # camera axes of a person facing the camera -> body frame: right = -x_cam, forward = -z_cam, up = -y_cam
    body = np.stack([-p[:, 0], -p[:, 2], -p[:, 1]], axis=-1)
    spine = body[H36M_JOINT_NAMES.index("thorax")] - body[H36M_JOINT_NAMES.index("pelvis")]
    rotation, _ = Rotation.align_vectors([[0.0, 0.0, 1.0]], [spine])  # the spine onto the vertical
    return coco_from_h36m(rotation.apply(body))
