"""How a person moves and how sure the tracker is of it: the tracking state of one person at one moment.

Metres and seconds, in the frame of the tracked positions: for a fused person the calibration's world frame
(z up) and the body centre (mean of the placed shoulders and hips); for a person of one camera its optical frame
and the pelvis. The tracker (`fusion.tracking`) follows each position with a constant-velocity Kalman filter;
this is its estimate at the moment a person is published.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

import numpy as np

from orpose_ros.fusion.tracking import Track


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
    """The tracker's estimate of a person's tracked position at the moment they are published (module doc).

    Attributes:
        state: `TrackingState`.
        centre: (3,) filtered (or predicted) tracked position [m] (a fused person's body centre, world frame).
        velocity: (3,) its velocity [m/s], same frame.
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

    @classmethod
    def of_track(cls, track: Track, stamp_s: float, state: TrackingState) -> PersonMotion:
        """A track's estimate after the tracker's update at ``stamp_s`` [s], published with ``state``."""
        return cls(state, track.position, track.velocity, track.position_covariance, track.velocity_covariance,
                   stamp_s - track.last_seen_s)


def measured_state(track: Track, confirmed_id: bool) -> TrackingState:
    """The state of a person measured now on ``track``: NEW at its first measurement or while its id is not yet
    confirmed (``confirmed_id`` False), else MEASURED."""
    return TrackingState.NEW if track.hits == 1 or not confirmed_id else TrackingState.MEASURED
