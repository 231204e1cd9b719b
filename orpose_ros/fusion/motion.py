"""How a fused person moves and how sure the tracker is of it: the tracking state of one person at one moment.

World frame of the calibration (z up), metres and seconds. The tracker (`fusion.tracking`) follows each
person's body centre (mean of the placed shoulders and hips) with a constant-velocity Kalman filter; this is
its estimate at the moment a person is published.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

import numpy as np


class TrackingState(StrEnum):
    """Where a published person's position comes from at this moment."""

    #: measured now, and the first measurement of the track (or the track is not yet confirmed): velocity
    #: unknown (0, with the prior's covariance).
    NEW = "new"
    #: measured now by the cameras, track established.
    MEASURED = "measured"
    #: not measured now (occluded, out of view, a camera missing) but unseen for at most the track's max
    #: age: the last measured skeleton moved to where the track predicts its centre.
    PREDICTED = "predicted"


@dataclass(frozen=True, eq=False)
class PersonMotion:
    """The tracker's estimate of a person's body centre at the moment they are published.

    Attributes:
        state: `TrackingState`.
        centre: (3,) filtered (or predicted) body centre in the world frame [m].
        velocity: (3,) velocity of the body centre in the world frame [m/s].
        centre_covariance: (3, 3) covariance of ``centre`` [m^2].
        velocity_covariance: (3, 3) covariance of ``velocity`` [m^2/s^2].
        since_measured_s: time since the person was last measured [s]; 0 when measured now.
    """

    state: TrackingState
    centre: np.ndarray
    velocity: np.ndarray
    centre_covariance: np.ndarray
    velocity_covariance: np.ndarray
    since_measured_s: float = 0.0
