"""StampGrouper's numeric rules, each from both sides of its edge: the tolerance, the wait and late stamps.

(Apart from test_grouping.py, which changes with the node's clock handling; stamps here are exact binary
fractions, so an edge is hit exactly.)
"""

from __future__ import annotations

import pytest

from orpose_ros.fusion.grouping import StampGrouper


@pytest.mark.parametrize(("gap", "together"), [(0.25, True), (0.25 + 1e-9, False)])
def test_results_within_the_tolerance_of_the_earliest_are_one_moment(gap: float, together: bool) -> None:
    grouper = StampGrouper(("cam1", "cam2"), tolerance_s=0.25, max_wait_s=1.0)
    assert grouper.add("cam1", 10.0, "a", now_s=0.0) == []
    groups = grouper.add("cam2", 10.0 + gap, "b", now_s=0.1)
    if together:
        assert [(g.items, g.missing, g.stamp_s) for g in groups] == [({"cam1": "a", "cam2": "b"}, (), 10.25)]
    else:  # cam2 has moved past 10.0: that moment is handed out without it, cam2's result waits for cam1
        assert [(g.items, g.missing, g.stamp_s) for g in groups] == [({"cam1": "a"}, ("cam2",), 10.0)]


def test_the_tolerance_counts_from_the_earliest_result_not_from_the_latest() -> None:
    grouper = StampGrouper(("cam1", "cam2", "cam3"), tolerance_s=0.125, max_wait_s=1.0)
    grouper.add("cam1", 1.0, "a", now_s=0.0)
    grouper.add("cam2", 1.125, "b", now_s=0.0)
    groups = grouper.add("cam3", 1.25, "c", now_s=0.0)  # 0.125 after b, 0.25 after a: not in a's moment
    assert [(g.items, g.missing) for g in groups] == [({"cam1": "a", "cam2": "b"}, ("cam3",))]


@pytest.mark.parametrize(("waited", "handed_out"), [(0.5 - 2**-20, False), (0.5, True)])
def test_a_group_is_handed_out_once_its_earliest_result_has_waited_max_wait(waited: float, handed_out: bool) -> None:
    grouper = StampGrouper(("cam1", "cam2"), tolerance_s=0.0625, max_wait_s=0.5)
    grouper.add("cam1", 5.0, "a", now_s=100.0)
    groups = grouper.flush(100.0 + waited)
    assert [(g.items, g.missing) for g in groups] == ([({"cam1": "a"}, ("cam2",))] if handed_out else [])


@pytest.mark.parametrize(("after", "late"), [(0.0, True), (2**-20, False)])
def test_a_result_not_after_the_last_handed_out_stamp_is_late(after: float, late: bool) -> None:
    grouper = StampGrouper(("cam1", "cam2"), tolerance_s=0.0, max_wait_s=1.0)
    grouper.add("cam1", 3.0, "a", now_s=0.0)
    (group,) = grouper.add("cam2", 3.0, "b", now_s=0.0)
    assert group.stamp_s == 3.0
    grouper.add("cam1", 3.0 + after, "next", now_s=0.0)
    assert grouper.late == (1 if late else 0)
    groups = grouper.flush(10.0)  # waited long enough: whatever is pending comes out
    assert [g.items for g in groups] == ([] if late else [{"cam1": "next"}])


@pytest.mark.parametrize(
    ("tolerance_s", "max_wait_s", "valid"),
    [(0.0, 1.0, True), (-1e-9, 1.0, False), (0.05, 1e-9, True), (0.05, 0.0, False)],
)
def test_settings_on_both_sides_of_their_bounds(tolerance_s: float, max_wait_s: float, valid: bool) -> None:
    if valid:
        assert StampGrouper(("cam1",), tolerance_s, max_wait_s).max_wait_s == max_wait_s
    else:
        with pytest.raises(ValueError, match=r"^tolerance_s must be >= 0 and max_wait_s > 0$"):
            StampGrouper(("cam1",), tolerance_s, max_wait_s)


def test_every_late_result_is_counted() -> None:
    """One camera's stragglers are late (a whole room going back would be a time jump: test_grouping.py)."""
    grouper = StampGrouper(("cam1", "cam2"), tolerance_s=0.0, max_wait_s=1.0)
    grouper.add("cam1", 3.0, "a", now_s=0.0)
    assert len(grouper.add("cam2", 3.0, "b", now_s=0.0)) == 1
    for stamp in (2.0, 2.5, 3.0):
        assert grouper.add("cam1", stamp, "late", now_s=0.0) == []
    assert grouper.late == 3


def test_a_camera_keeps_its_latest_30_results_while_another_is_silent() -> None:
    grouper = StampGrouper(("cam1", "cam2"), tolerance_s=0.0, max_wait_s=1000.0)
    for k in range(31):
        grouper.add("cam1", float(k), k, now_s=0.0)
    groups = grouper.flush(5000.0)  # everything has waited long enough
    assert [g.items["cam1"] for g in groups] == list(range(1, 31))  # the oldest of 31 was dropped


def test_two_results_of_one_camera_out_of_order_are_sorted() -> None:
    grouper = StampGrouper(("cam1", "cam2"), tolerance_s=0.01, max_wait_s=1.0)
    grouper.add("cam1", 2.0, "a2", now_s=0.0)
    grouper.add("cam1", 1.0, "a1", now_s=0.0)
    (first,) = grouper.add("cam2", 1.0, "b1", now_s=0.0)
    assert first.items == {"cam1": "a1", "cam2": "b1"}
    # cam1 is known to be past 1.5 (its latest result is 2.0): the moment 1.5 is handed out without it
    (second,) = grouper.add("cam2", 1.5, "b15", now_s=0.0)
    assert (second.items, second.missing) == ({"cam2": "b15"}, ("cam1",))


def test_results_of_one_camera_with_one_stamp_keep_their_arrival_order_when_sorted() -> None:
    # Sorting the queue by stamp only: results are never compared (a camera's results are lists or messages,
    # which have no order), and of two with the same stamp the first to arrive stays first and is chosen.
    grouper = StampGrouper(("cam1", "cam2"), tolerance_s=0.01, max_wait_s=1.0)
    first, second = {"people": [1]}, {"people": [2]}
    grouper.add("cam1", 2.0, {"people": [0]}, now_s=0.0)
    grouper.add("cam1", 1.0, first, now_s=0.0)
    grouper.add("cam1", 1.0, second, now_s=0.0)  # out of order again: the queue is sorted
    (group,) = grouper.add("cam2", 1.0, "b1", now_s=0.0)
    assert group.items["cam1"] is first


def test_of_two_results_near_the_moment_the_closest_in_stamp_is_chosen() -> None:
    grouper = StampGrouper(("cam1", "cam2"), tolerance_s=0.02, max_wait_s=100.0)
    grouper.add("cam2", 1.012, "far", now_s=1.0)  # arrived first
    grouper.add("cam2", 1.004, "near", now_s=50.0)
    (group,) = grouper.add("cam1", 1.0, "a", now_s=50.0)
    assert group.items == {"cam1": "a", "cam2": "near"}
    assert group.stamp_s == 1.004


def test_results_beyond_the_backlog_are_forgotten_for_grouping_and_for_clock_offsets() -> None:
    # cam2 runs 31 results ahead of cam1 with a backlog of 30: its first one (10.0) is forgotten, so cam1's
    # 10.0 is handed out without cam2 and its offset is measured against cam2's oldest kept stamp, 10 + 1/64
    grouper = StampGrouper(("cam1", "cam2"), tolerance_s=0.001, max_wait_s=100.0, backlog=30)
    for k in range(31):
        grouper.add("cam2", 10.0 + k / 64, k, now_s=0.0)
    (group,) = grouper.add("cam1", 10.0, "a", now_s=0.0)
    assert (group.items, group.missing) == ({"cam1": "a"}, ("cam2",))
    assert grouper.offsets.summary("cam1", now_s=0.0).median_s == -1 / 64
