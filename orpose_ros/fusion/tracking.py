"""Identities over time: a constant-velocity Kalman filter per track and one global assignment per frame.

Generic over a position in any metric frame with D coordinates: a person's centre in the room [m] for the
fusion node, or their pelvis in the camera frame [m] for a single-camera node. Time comes from the frames'
stamps [s], never from the wall clock. Ids are never reused within a tracker's life (a monotonic counter;
with ``min_hits`` > 1, tentative tracks that end unconfirmed leave gaps in the numbering).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.optimize import linear_sum_assignment
from scipy.special import gammaincinv

_UNMATCHED = 1e9


class TrackingError(ValueError):
    """Tracker misuse, e.g. stamps going backwards."""


def published_id(track_id: int) -> int:
    """The id a message carries for a tracker id: >= 1 for a track, 0 for an unconfirmed one (tracker id -1)."""
    return int(track_id) + 1


@dataclass(frozen=True)
class TrackerOptions:
    """How tracks are kept.

    Attributes:
        max_age_s: a track not seen for longer is ended [s] (occlusions up to this long keep their id).
        min_hits: updates before a track is confirmed and its id reported (1: at once).
        acceleration_noise_mps2: standard deviation of a person's acceleration [m/s^2] (walking starts and
            stops: about 2).
        measurement_noise_m: standard deviation of a measured position [m] (about 0.1 for fused people; more
            for single-camera ones).
        initial_speed_mps: standard deviation of a new track's unknown velocity [m/s] (walking: about 1.5).
        gate_probability: a measurement farther than this quantile of the predicted position's distribution
            (Mahalanobis, chi-square with D degrees of freedom) cannot join the track.
    """

    max_age_s: float = 1.0
    min_hits: int = 1
    acceleration_noise_mps2: float = 2.0
    measurement_noise_m: float = 0.1
    initial_speed_mps: float = 1.5
    gate_probability: float = 0.999

    def __post_init__(self) -> None:
        for name in ("max_age_s", "acceleration_noise_mps2", "measurement_noise_m", "initial_speed_mps"):
            if not getattr(self, name) > 0:
                raise ValueError(f"{name} must be positive, got {getattr(self, name)}")
        if self.min_hits < 1:
            raise ValueError(f"min_hits must be >= 1, got {self.min_hits}")
        if not 0.0 < self.gate_probability < 1.0:
            raise ValueError(f"gate_probability must be in (0, 1), got {self.gate_probability}")


@dataclass(frozen=True, eq=False)
class Track:
    """A track's state after the last update.

    Attributes:
        id: track id (>= 0).
        position, velocity: (D,) estimated position [m] and velocity [m/s] at the tracker's last update
            (`Tracker.stamp_s`): filtered when measured then, predicted when not.
        last_seen_s: stamp of its last measurement [s].
        hits: number of measurements.
        confirmed: whether ``hits`` reached ``min_hits``.
        position_covariance: (D, D) covariance of ``position`` [m^2].
        velocity_covariance: (D, D) covariance of ``velocity`` [m^2/s^2].
    """

    id: int
    position: np.ndarray
    velocity: np.ndarray
    last_seen_s: float
    hits: int
    confirmed: bool
    position_covariance: np.ndarray
    velocity_covariance: np.ndarray


class Tracker:
    """Assigns ids to positions frame after frame (see module doc)."""

    def __init__(self, options: TrackerOptions | None = None) -> None:
        self.options = options or TrackerOptions()
        self._next_id = 0
        self.reset()

    def reset(self) -> None:
        """Forget every track (e.g. when a recording loops); ids keep counting up."""
        self._ids = np.zeros(0, dtype=np.int64)
        self._x = np.zeros((0, 0))  # (T, 2D) position, velocity
        self._P = np.zeros((0, 0, 0))  # (T, 2D, 2D) covariance
        self._stamp: float | None = None
        self._last_seen = np.zeros(0)
        self._hits = np.zeros(0, dtype=np.int64)
        self._row_tracks = np.zeros(0, dtype=np.int64)

    @property
    def tracks(self) -> list[Track]:
        """The live tracks (tentative ones included: ``confirmed`` False)."""
        D = self._x.shape[1] // 2
        return [
            Track(int(i), x[:D].copy(), x[D:].copy(), float(s), int(h), bool(h >= self.options.min_hits),
                  P[:D, :D].copy(), P[D:, D:].copy())
            for i, x, P, s, h in zip(self._ids, self._x, self._P, self._last_seen, self._hits, strict=True)
        ]

    @property
    def stamp_s(self) -> float | None:
        """Stamp of the last update [s]; None before the first."""
        return self._stamp

    @property
    def row_tracks(self) -> np.ndarray:
        """(N,) track id of each row of the last update's positions, tentative tracks included; -1 for NaN rows."""
        return self._row_tracks.copy()

    def _predict(self, dt: float) -> None:
        D = self._x.shape[1] // 2
        F = np.eye(2 * D)
        F[:D, D:] = dt * np.eye(D)
        q = self.options.acceleration_noise_mps2**2
        Q = np.kron(np.array([[dt**4 / 4, dt**3 / 2], [dt**3 / 2, dt**2]]) * q, np.eye(D))
        self._x = self._x @ F.T
        self._P = F @ self._P @ F.T + Q

    def update(self, stamp_s: float, positions: np.ndarray) -> np.ndarray:
        """Assign ids to the (N, D) positions [m] measured at ``stamp_s`` [s].

        Returns:
            (N,) int64 ids; -1 for rows with NaN and for tracks not yet confirmed.
        """
        positions = np.asarray(positions, dtype=np.float64)
        if positions.ndim != 2:
            raise TrackingError(f"positions must be (N, D), got shape {positions.shape}")
        N, D = positions.shape
        if self._stamp is not None:
            if stamp_s < self._stamp:
                raise TrackingError(f"stamp {stamp_s:.6f} s is before the previous {self._stamp:.6f} s; call reset()")
            if len(self._ids) and self._x.shape[1] != 2 * D:
                raise TrackingError(f"positions have {D} coordinates, the tracks {self._x.shape[1] // 2}")
            self._predict(stamp_s - self._stamp)
        self._stamp = float(stamp_s)
        self._keep(stamp_s - self._last_seen <= self.options.max_age_s)  # end tracks unseen for too long

        valid = np.all(np.isfinite(positions), axis=1)
        rows = np.flatnonzero(valid)
        ids = np.full(N, -1, dtype=np.int64)
        assigned_track = np.full(N, -1, dtype=np.int64)
        if len(self._ids) and len(rows):
            # Mahalanobis distances between predicted and measured positions: (T, M)
            R = self.options.measurement_noise_m**2 * np.eye(D)
            S = self._P[:, :D, :D] + R
            innovation = positions[rows][None] - self._x[:, None, :D]  # (T, M, D)
            solved = np.linalg.solve(S[:, None], innovation[..., None])[..., 0]
            d2 = np.sum(innovation * solved, axis=-1)
            gate = 2.0 * gammaincinv(D / 2.0, self.options.gate_probability)  # chi-square quantile, D dof
            t_idx, m_idx = linear_sum_assignment(np.where(d2 <= gate, d2, _UNMATCHED))
            for t, m in zip(t_idx, m_idx, strict=True):
                if d2[t, m] <= gate:
                    assigned_track[rows[m]] = t
            matched = assigned_track >= 0
            if matched.any():
                self._correct(assigned_track[matched], positions[matched], S)
        new = valid & (assigned_track < 0)
        first_new = len(self._ids)
        self._add(positions[new])
        assigned_track[new] = np.arange(first_new, len(self._ids))
        tracked = assigned_track >= 0
        self._last_seen[assigned_track[tracked]] = stamp_s
        self._hits[assigned_track[tracked]] += 1
        confirmed = self._hits[assigned_track[tracked]] >= self.options.min_hits
        ids[np.flatnonzero(tracked)[confirmed]] = self._ids[assigned_track[tracked][confirmed]]
        self._row_tracks = np.where(tracked, self._ids[np.maximum(assigned_track, 0)] if len(self._ids) else -1, -1)
        # a tentative track that missed this frame ends
        self._keep((self._hits >= self.options.min_hits) | (self._last_seen == stamp_s))
        return ids

    def _correct(self, tracks: np.ndarray, measured: np.ndarray, S: np.ndarray) -> None:
        """Kalman update of ``tracks`` (K,) with positions (K, D), given their innovation covariances S (T, D, D)."""
        D = measured.shape[1]
        P = self._P[tracks]
        gain = np.swapaxes(np.linalg.solve(S[tracks], P[:, :D, :]), -1, -2)  # P H^T S^-1 = (S^-1 H P)^T
        innovation = measured - self._x[tracks, :D]
        self._x[tracks] += (gain @ innovation[..., None])[..., 0]
        self._P[tracks] = P - gain @ P[:, :D, :]

    def _add(self, positions: np.ndarray) -> None:
        K, D = positions.shape
        if not len(self._ids):
            self._x, self._P = np.zeros((0, 2 * D)), np.zeros((0, 2 * D, 2 * D))
        if K == 0:
            return
        x = np.concatenate([positions, np.zeros((K, D))], axis=1)
        P = np.diag(
            np.r_[np.full(D, self.options.measurement_noise_m**2), np.full(D, self.options.initial_speed_mps**2)]
        )
        self._ids = np.r_[self._ids, np.arange(self._next_id, self._next_id + K)]
        self._next_id += K
        self._x = np.concatenate([self._x, x])
        self._P = np.concatenate([self._P, np.broadcast_to(P, (K, 2 * D, 2 * D))])
        self._last_seen = np.r_[self._last_seen, np.full(K, np.nan)]
        self._hits = np.r_[self._hits, np.zeros(K, dtype=np.int64)]

    def _keep(self, alive: np.ndarray) -> None:
        self._ids, self._x, self._P = self._ids[alive], self._x[alive], self._P[alive]
        self._last_seen, self._hits = self._last_seen[alive], self._hits[alive]
