"""What each fused joint is: triangulated, filled from one camera of a triangulated person, or part of a
person placed from one camera only.

The three kinds differ in accuracy by a factor of 2-4 (docs/fusion.md, "Honest per-joint output"), so the
evaluation reports them apart and `fusion.joint_output` lets a consumer choose which are output.
"""

from __future__ import annotations

import numpy as np

from orpose_ros.fusion.pipeline import TRIANGULATED, FusedPerson

#: A joint placed from >= 2 cameras (triangulated).
TRIANGULATED_JOINT = "triangulated"
#: A joint of a triangulated person that only one of its cameras saw, back-projected at the depth of its
#: nearest triangulated neighbour on the skeleton.
FILLED_JOINT = "filled"
#: A joint of a person placed from one camera only (skeleton and floor, `geometry.placement`).
SINGLE_CAMERA_JOINT = "single-camera"
#: The kinds, from the most to the least accurate.
JOINT_KINDS = (TRIANGULATED_JOINT, FILLED_JOINT, SINGLE_CAMERA_JOINT)


def joint_kinds(person: FusedPerson) -> np.ndarray:
    """(17,) the kind (`JOINT_KINDS`) of each of ``person``'s joints; '' where a joint is not placed."""
    placed = np.all(np.isfinite(person.joints), axis=-1) & (person.num_views > 0)
    if person.placement != TRIANGULATED:
        return np.where(placed, SINGLE_CAMERA_JOINT, "")
    return np.where(placed, np.where(person.num_views >= 2, TRIANGULATED_JOINT, FILLED_JOINT), "")
