"""Tracker: ids over time with a constant-velocity model, gating, occlusions, confirmation, errors."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.stats import chi2

from orpose_ros.fusion.tracking import Tracker, TrackerOptions, TrackingError, published_id


def walk(start: tuple[float, float], velocity: tuple[float, float], t: float) -> np.ndarray:
    return np.array([start[0] + velocity[0] * t, start[1] + velocity[1] * t, 1.0])


def test_two_people_walking_keep_their_ids_in_any_order() -> None:
    tracker = Tracker()
    rng = np.random.default_rng(0)
    first = None
    for k in range(30):
        t = 0.1 * k
        positions = np.stack([walk((0.0, 0.0), (1.0, 0.0), t), walk((3.0, 0.5), (-1.0, 0.0), t)])
        order = rng.permutation(2)
        ids = tracker.update(t, positions[order])[np.argsort(order)]
        first = ids if first is None else first
        np.testing.assert_array_equal(ids, first)  # they cross at t = 1.5 s, 0.5 m apart
    assert set(first) == {0, 1}
    track = next(tr for tr in tracker.tracks if tr.id == first[0])
    np.testing.assert_allclose(track.velocity, [1.0, 0.0, 0.0], atol=0.05)


def test_an_occlusion_shorter_than_max_age_keeps_the_id_and_a_longer_one_does_not() -> None:
    tracker = Tracker(TrackerOptions(max_age_s=1.0))
    assert tracker.update(0.0, walk((0, 0), (1, 0), 0.0)[None])[0] == 0
    assert tracker.update(0.1, walk((0, 0), (1, 0), 0.1)[None])[0] == 0
    assert tracker.update(0.5, np.zeros((0, 3))).size == 0  # hidden
    assert tracker.update(1.0, walk((0, 0), (1, 0), 1.0)[None])[0] == 0  # back after 0.9 s, where predicted
    tracker.update(2.1, np.zeros((0, 3)))  # 1.1 s unseen: ended
    assert tracker.tracks == []
    assert tracker.update(2.2, walk((0, 0), (1, 0), 2.2)[None])[0] == 1  # a new id, never a reused one


def test_a_far_jump_is_a_new_person() -> None:
    tracker = Tracker()
    tracker.update(0.0, np.array([[0.0, 0.0, 1.0]]))
    ids = tracker.update(0.1, np.array([[2.0, 0.0, 1.0], [0.02, 0.0, 1.0]]))
    np.testing.assert_array_equal(ids, [1, 0])


def test_confirmation_and_nan_rows() -> None:
    tracker = Tracker(TrackerOptions(min_hits=3))
    p = np.array([[0.0, 0.0, 1.0], [np.nan, 0.0, 1.0]])
    np.testing.assert_array_equal(tracker.update(0.0, p), [-1, -1])
    np.testing.assert_array_equal(tracker.update(0.1, p), [-1, -1])
    np.testing.assert_array_equal(tracker.update(0.2, p), [0, -1])
    # a tentative track that misses one frame ends
    tracker.update(0.3, np.array([[0.0, 0.0, 1.0], [5.0, 5.0, 1.0]]))
    tracker.update(0.4, np.array([[0.0, 0.0, 1.0]]))
    assert [t.id for t in tracker.tracks] == [0]


def test_any_number_of_coordinates_and_equal_stamps() -> None:
    tracker = Tracker()
    assert tracker.update(1.0, np.array([[0.5, 0.2]]))[0] == 0  # e.g. a position on the floor plane
    assert tracker.update(1.0, np.array([[0.5, 0.21]]))[0] == 0
    with pytest.raises(TrackingError, match=r"3 coordinates, the tracks 2$"):
        tracker.update(1.1, np.zeros((1, 3)))


def test_time_going_backwards_is_refused_until_reset() -> None:
    tracker = Tracker()
    tracker.update(5.0, np.zeros((1, 3)))
    with pytest.raises(TrackingError, match=r"before the previous 5\.000000 s; call reset"):
        tracker.update(4.0, np.zeros((1, 3)))
    tracker.reset()
    assert tracker.update(4.0, np.zeros((1, 3)))[0] == 1
    with pytest.raises(TrackingError, match=r"\(N, D\)"):
        tracker.update(4.1, np.zeros(3))


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [({"max_age_s": 0.0}, "max_age_s"), ({"min_hits": 0}, "min_hits"), ({"gate_probability": 1.0}, "gate_probability")],
)
def test_invalid_options(kwargs: dict, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        TrackerOptions(**kwargs)


class ReferenceKalman:
    """The textbook constant-velocity Kalman filter for one track, written out with H and the identity."""

    def __init__(self, position: np.ndarray, options: TrackerOptions) -> None:
        D = len(position)
        self.o, self.D = options, D
        self.x = np.r_[position, np.zeros(D)]
        self.P = np.diag([options.measurement_noise_m**2] * D + [options.initial_speed_mps**2] * D)
        self.H = np.hstack([np.eye(D), np.zeros((D, D))])

    def predict(self, dt: float) -> None:
        D = self.D
        F = np.block([[np.eye(D), dt * np.eye(D)], [np.zeros((D, D)), np.eye(D)]])
        # white-noise acceleration: G = [dt^2 / 2, dt], Q = G G^T sigma_a^2 per axis
        G = np.vstack([0.5 * dt**2 * np.eye(D), dt * np.eye(D)])
        self.x = F @ self.x
        self.P = F @ self.P @ F.T + G @ G.T * self.o.acceleration_noise_mps2**2

    def innovation_covariance(self) -> np.ndarray:
        return self.H @ self.P @ self.H.T + self.o.measurement_noise_m**2 * np.eye(self.D)

    def correct(self, z: np.ndarray) -> None:
        S = self.innovation_covariance()
        K = self.P @ self.H.T @ np.linalg.inv(S)
        self.x = self.x + K @ (z - self.H @ self.x)
        self.P = (np.eye(2 * self.D) - K @ self.H) @ self.P


def test_states_follow_the_textbook_kalman_filter_for_each_track() -> None:
    options = TrackerOptions(acceleration_noise_mps2=1.5, measurement_noise_m=0.08, initial_speed_mps=1.2)
    tracker = Tracker(options)
    rng = np.random.default_rng(1)
    starts = np.array([[0.0, 0.0, 1.0], [4.0, 1.0, 0.9]])
    velocities = np.array([[0.8, 0.3, 0.0], [-0.5, 0.6, 0.05]])
    tracker.update(0.0, starts)
    references = [ReferenceKalman(p, options) for p in starts]
    t = 0.0
    for k in range(1, 25):
        dt = rng.uniform(0.05, 0.25)
        t += dt
        measured = starts + velocities * t + rng.normal(0.0, 0.05, (2, 3))
        seen = [0, 1] if k % 5 else [0]  # the second person is hidden every 5th frame
        np.testing.assert_array_equal(tracker.update(t, measured[seen]), seen)
        for i, reference in enumerate(references):
            reference.predict(dt)
            if i in seen:
                reference.correct(measured[i])
    for track, reference in zip(sorted(tracker.tracks, key=lambda tr: tr.id), references, strict=True):
        np.testing.assert_allclose(track.position, reference.x[:3], rtol=1e-9, atol=1e-12)
        np.testing.assert_allclose(track.velocity, reference.x[3:], rtol=1e-9, atol=1e-12)


def test_a_steady_noisy_walker_is_filtered_to_the_steady_state_error_of_the_model() -> None:
    # the gain shrinks as the covariance does: the error ends at the Riccati equation's steady state
    # (a little below it: this walker never accelerates, the model allows 2 m/s^2), far below the 0.1 m noise
    reference = ReferenceKalman(np.zeros(3), TrackerOptions())
    for _ in range(500):
        reference.predict(0.1)
        reference.correct(np.zeros(3))
    steady_std = np.sqrt(reference.P[0, 0])  # ~0.068 m
    tracker = Tracker()
    rng = np.random.default_rng(2)
    errors = []
    for k in range(200):
        t = 0.1 * k
        truth = walk((0.0, 0.0), (0.5, 0.2), t)
        tracker.update(t, (truth + rng.normal(0.0, 0.1, 3))[None])
        errors.append(tracker.tracks[0].position - truth)
    rms = np.sqrt(np.mean(np.square(errors[50:])))
    assert rms < 1.05 * steady_std
    assert rms > 0.8 * steady_std


@pytest.mark.parametrize(
    ("dt", "kwargs"),
    [
        (0.1, {}),  # the defaults: the initial speed dominates
        (1.0, {"initial_speed_mps": 0.1, "acceleration_noise_mps2": 2.0}),  # the acceleration noise dominates
        (0.5, {"gate_probability": 0.9, "measurement_noise_m": 0.3}),
    ],
)
@pytest.mark.parametrize("D", [2, 3])
def test_the_gate_is_the_chi_square_quantile_of_the_predicted_position(dt: float, kwargs: dict, D: int) -> None:
    options = TrackerOptions(**kwargs)
    r2, v2, q = options.measurement_noise_m**2, options.initial_speed_mps**2, options.acceleration_noise_mps2**2
    S = r2 + dt**2 * v2 + dt**4 / 4 * q + r2  # per axis: predicted position variance plus measurement noise
    edge = np.sqrt(chi2.ppf(options.gate_probability, D) * S)  # Mahalanobis^2 == the gate
    direction = np.ones(D) / np.sqrt(D)
    for factor, expected in ((1.0 - 1e-6, [0]), (1.0 + 1e-6, [1])):
        tracker = Tracker(options)
        tracker.update(0.0, np.zeros((1, D)))
        np.testing.assert_array_equal(tracker.update(dt, (factor * edge * direction)[None]), expected)


def test_a_track_unseen_for_exactly_max_age_lives_and_a_moment_longer_ends() -> None:
    for unseen, alive in ((0.75, True), (0.75 + 1e-9, False)):
        tracker = Tracker(TrackerOptions(max_age_s=0.75))
        tracker.update(0.25, np.zeros((1, 3)))
        tracker.update(0.25 + unseen, np.zeros((0, 3)))
        assert [t.id for t in tracker.tracks] == ([0] if alive else [])


def test_a_track_is_confirmed_at_exactly_min_hits_and_keeps_its_id() -> None:
    tracker = Tracker(TrackerOptions(min_hits=2))
    assert tracker.update(0.0, np.zeros((1, 2)))[0] == -1
    assert [t.confirmed for t in tracker.tracks] == [False]
    assert tracker.update(0.1, np.zeros((1, 2)))[0] == 0
    track = tracker.tracks[0]
    assert (track.id, track.hits, track.confirmed, track.last_seen_s) == (0, 2, True, 0.1)
    assert tracker.update(0.2, np.zeros((0, 2))).size == 0  # a confirmed track that misses a frame lives on
    assert tracker.update(0.3, np.zeros((1, 2)))[0] == 0


def test_a_track_confirmed_by_its_first_hit_survives_a_missed_frame() -> None:
    tracker = Tracker()  # min_hits 1
    assert tracker.update(0.0, np.zeros((1, 3)))[0] == 0
    tracker.update(0.1, np.zeros((0, 3)))
    assert tracker.update(0.2, np.zeros((1, 3)))[0] == 0


def test_ids_count_up_over_people_added_together_and_apart() -> None:
    tracker = Tracker()
    np.testing.assert_array_equal(tracker.update(0.0, np.array([[0.0, 0.0], [5.0, 0.0]])), [0, 1])
    np.testing.assert_array_equal(tracker.update(0.1, np.array([[0.0, 0.0], [5.0, 0.0], [0.0, 5.0]])), [0, 1, 2])
    ids = tracker.update(0.2, np.array([[0.0, 0.0], [5.0, 0.0], [0.0, 5.0], [5.0, 5.0], [9.0, 9.0]]))
    np.testing.assert_array_equal(ids, [0, 1, 2, 3, 4])


@pytest.mark.parametrize(
    ("kwargs", "valid"),
    [
        ({"max_age_s": 1e-9}, True),
        ({"acceleration_noise_mps2": 0.0}, False),
        ({"acceleration_noise_mps2": 1e-9}, True),
        ({"measurement_noise_m": 0.0}, False),
        ({"measurement_noise_m": 1e-9}, True),
        ({"initial_speed_mps": 0.0}, False),
        ({"initial_speed_mps": 1e-9}, True),
        ({"min_hits": 1}, True),
        ({"gate_probability": 0.0}, False),
        ({"gate_probability": 1e-9}, True),
        ({"gate_probability": 1.0 - 1e-9}, True),
    ],
)
def test_option_bounds_on_both_sides(kwargs: dict, valid: bool) -> None:
    if valid:
        name, value = next(iter(kwargs.items()))
        assert getattr(TrackerOptions(**kwargs), name) == value
    else:
        with pytest.raises(ValueError, match=f"^{next(iter(kwargs))} must be"):
            TrackerOptions(**kwargs)


def test_published_ids_are_the_tracker_id_plus_one() -> None:
    assert [published_id(i) for i in (-1, 0, 41)] == [0, 1, 42]
