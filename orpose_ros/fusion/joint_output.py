"""Which fused joints are output: a policy on each joint's number of views and stated uncertainty.

Each output joint says what it is (``num_views``, ``joint_covariance``; `fusion.joint_kinds`), and a consumer
chooses what it wants to receive:

- ``min_views``: in a person seen by several cameras, a joint placed from fewer cameras is not output
  (2: triangulated joints only, the joints one camera of the group saw and that were filled in at their
  neighbour's depth are dropped). People placed from one camera are output whole (their joints all come
  from one view and say so); they are governed by ``FusionOptions.single_view`` and the support rule
  (`fusion.support`);
- ``max_sigma_m``: a joint whose standard deviation along its least certain direction (`fusion.uncertainty`)
  exceeds this is not output, whatever its kind (a single-camera person far from its camera loses its
  joints, and the person with them when none is left).

A joint not output is NaN with confidence 0, 0 views, NaN reprojection error and NaN covariance, as a joint
that was never placed; a person with no joint left is not output.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace

import numpy as np

from orpose_ros.fusion.pipeline import TRIANGULATED, FusedPerson
from orpose_ros.fusion.uncertainty import largest_sigma_m


@dataclass(frozen=True)
class JointOutputOptions:
    """The joints output (see module doc).

    Attributes:
        min_views: a joint of a person seen by several cameras is output when placed from at least this many
            (1: all, filled joints included; 2: triangulated joints only).
        max_sigma_m: a joint is output when its standard deviation along its least certain direction is at
            most this [m]; ``inf``: no cap. Joints without a covariance (not estimated) are kept.
    """

    min_views: int = 1
    max_sigma_m: float = math.inf

    def __post_init__(self) -> None:
        if self.min_views < 1:
            raise ValueError(f"min_views must be >= 1, got {self.min_views}")
        if not self.max_sigma_m > 0:
            raise ValueError(f"max_sigma_m must be positive (inf: no cap), got {self.max_sigma_m}")

    @property
    def keeps_everything(self) -> bool:
        """Whether every placed joint is output."""
        return self.min_views <= 1 and math.isinf(self.max_sigma_m)


def output_joints(person: FusedPerson, options: JointOutputOptions) -> FusedPerson | None:
    """``person`` with the joints ``options`` does not output unplaced; None when no joint is left."""
    if options.keeps_everything:
        return person
    placed = np.all(np.isfinite(person.joints), axis=-1) & (person.num_views > 0)
    drop = np.zeros(len(placed), dtype=bool)
    if person.placement == TRIANGULATED:
        drop |= person.num_views < options.min_views
    if person.joint_covariance is not None and math.isfinite(options.max_sigma_m):
        sigma = largest_sigma_m(person.joint_covariance)
        drop |= np.isfinite(sigma) & (sigma > options.max_sigma_m)
    drop &= placed
    if not drop.any():
        return person
    if not (placed & ~drop).any():
        return None
    covariance = person.joint_covariance
    if covariance is not None:
        covariance = np.where(drop[:, None, None], np.nan, covariance)
    joint_views = None if person.joint_views is None else person.joint_views & ~drop[None]
    return replace(
        person,
        joints=np.where(drop[:, None], np.nan, person.joints),
        confidence=np.where(drop, 0.0, person.confidence),
        num_views=np.where(drop, 0, person.num_views),
        reprojection_error_px=np.where(drop, np.nan, person.reprojection_error_px),
        joint_views=joint_views,
        joint_covariance=covariance,
    )
