"""Grouping per-camera results by capture stamp: complete groups, tolerance, waiting, late results."""

from __future__ import annotations

import pytest

from orpose_ros.fusion.grouping import StampGrouper

CAMERAS = ("cam1", "cam2", "cam3")


def test_a_group_is_handed_out_when_every_camera_sent_its_result() -> None:
    grouper = StampGrouper(CAMERAS, tolerance_s=0.05, max_wait_s=1.0)
    assert grouper.add("cam1", 10.00, "a", now_s=0.0) == []
    assert grouper.add("cam3", 10.02, "c", now_s=0.1) == []
    (group,) = grouper.add("cam2", 9.98, "b", now_s=0.2)
    assert group.items == {"cam1": "a", "cam2": "b", "cam3": "c"} and group.missing == ()
    assert group.stamp_s == 10.02  # the latest stamp of the group


def test_results_farther_apart_than_the_tolerance_are_different_moments() -> None:
    grouper = StampGrouper(("cam1", "cam2"), tolerance_s=0.05, max_wait_s=1.0)
    grouper.add("cam1", 10.0, "a0", 0.0)
    groups = grouper.add("cam2", 10.2, "b1", 0.1)  # cam2 moved past 10.0: that moment is given up at once
    groups += grouper.add("cam1", 10.2, "a1", 0.2)
    assert [(g.items, g.missing) for g in groups] == [({"cam1": "a0"}, ("cam2",)),
                                                      ({"cam1": "a1", "cam2": "b1"}, ())]


def test_a_silent_camera_is_waited_for_at_most_max_wait() -> None:
    grouper = StampGrouper(CAMERAS, tolerance_s=0.05, max_wait_s=0.5)
    grouper.add("cam1", 5.0, "a", 100.0)
    grouper.add("cam2", 5.01, "b", 100.1)
    assert grouper.flush(100.4) == []
    (group,) = grouper.flush(100.6)
    assert group.items == {"cam1": "a", "cam2": "b"} and group.missing == ("cam3",)


def test_late_and_out_of_order_results() -> None:
    grouper = StampGrouper(("cam1", "cam2"), tolerance_s=0.01, max_wait_s=1.0)
    grouper.add("cam1", 2.0, "a2", 0.0)
    grouper.add("cam1", 1.0, "a1", 0.0)  # arrived after a later one: sorted in
    (first,) = grouper.add("cam2", 1.0, "b1", 0.1)
    assert first.items == {"cam1": "a1", "cam2": "b1"}
    (second,) = grouper.add("cam2", 2.0, "b2", 0.2)
    assert second.items == {"cam1": "a2", "cam2": "b2"}
    assert grouper.add("cam1", 1.5, "too late", 0.3) == [] and grouper.late == 1
    with pytest.raises(KeyError):
        grouper.add("cam9", 3.0, "x", 0.4)


def test_bad_settings_are_refused() -> None:
    with pytest.raises(ValueError):
        StampGrouper(CAMERAS, tolerance_s=-1.0, max_wait_s=1.0)
