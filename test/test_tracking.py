"""Tracker: ids over time with a constant-velocity model, gating, occlusions, confirmation, errors."""

from __future__ import annotations

import numpy as np
import pytest

from orpose_ros.fusion.tracking import Tracker, TrackerOptions, TrackingError


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
    with pytest.raises(TrackingError, match="3 coordinates, the tracks 2"):
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
