"""Grouping per-camera results by capture stamp: complete groups, tolerance, waiting, late results."""

from __future__ import annotations

import pytest

from orpose_ros.fusion.clocks import HEALTH_WINDOW_S
from orpose_ros.fusion.grouping import ImplausibleStampError, StampGrouper

CAMERAS = ("cam1", "cam2", "cam3")


def test_a_group_is_handed_out_when_every_camera_sent_its_result() -> None:
    grouper = StampGrouper(CAMERAS, tolerance_s=0.05, max_wait_s=1.0)
    assert grouper.add("cam1", 10.00, "a", now_s=0.0) == []
    assert grouper.add("cam3", 10.02, "c", now_s=0.1) == []
    (group,) = grouper.add("cam2", 9.98, "b", now_s=0.2)
    assert group.items == {"cam1": "a", "cam2": "b", "cam3": "c"}
    assert group.missing == ()
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
    assert group.items == {"cam1": "a", "cam2": "b"}
    assert group.missing == ("cam3",)


def test_late_and_out_of_order_results() -> None:
    grouper = StampGrouper(("cam1", "cam2"), tolerance_s=0.01, max_wait_s=1.0)
    grouper.add("cam1", 2.0, "a2", 0.0)
    grouper.add("cam1", 1.0, "a1", 0.0)  # arrived after a later one: sorted in
    (first,) = grouper.add("cam2", 1.0, "b1", 0.1)
    assert first.items == {"cam1": "a1", "cam2": "b1"}
    (second,) = grouper.add("cam2", 2.0, "b2", 0.2)
    assert second.items == {"cam1": "a2", "cam2": "b2"}
    assert grouper.add("cam1", 1.5, "too late", 0.3) == []
    assert grouper.late == 1
    with pytest.raises(KeyError):
        grouper.add("cam9", 3.0, "x", 0.4)


def test_bad_settings_are_refused() -> None:
    with pytest.raises(ValueError):
        StampGrouper(CAMERAS, tolerance_s=-1.0, max_wait_s=1.0)


def _moments(grouper: StampGrouper, start_s: float, count: int, now_s: float, period_s: float = 0.1) -> list:
    """``count`` moments of all cameras, stamps from ``start_s``, arriving at ``now_s`` onwards (wall)."""
    groups = []
    for k in range(count):
        for camera in grouper.cameras:
            groups += grouper.add(camera, start_s + k * period_s, (camera, k), now_s + k * period_s)
    return groups


def test_one_future_stamp_costs_only_its_own_result() -> None:
    grouper = StampGrouper(CAMERAS, tolerance_s=0.02, max_wait_s=1.0, max_clock_offset_s=5.0)
    groups = _moments(grouper, 100.0, 3, now_s=0.0)
    wrong_clock = r"cam2: result stamped \+3599\.950 s from the other cameras"
    with pytest.raises(ImplausibleStampError, match=wrong_clock) as error:
        grouper.add("cam2", 3700.2, "wrong clock", 0.25)
    assert (error.value.camera, error.value.stamp_s) == ("cam2", 3700.2)
    groups += _moments(grouper, 100.3, 3, now_s=0.3)
    groups += grouper.flush(10.0)
    assert [g.stamp_s for g in groups] == pytest.approx([100.0 + 0.1 * k for k in range(6)])
    assert all(g.missing == () for g in groups)
    assert grouper.implausible == {"cam1": 0, "cam2": 1, "cam3": 0}
    assert grouper.late == 0
    assert grouper.restarts == 0


@pytest.mark.parametrize(("offset_s", "refused"), [(4.99, False), (5.01, True), (-4.99, False), (-5.01, True)])
def test_the_clock_bound_from_both_sides(offset_s: float, refused: bool) -> None:
    grouper = StampGrouper(("cam1", "cam2"), tolerance_s=0.02, max_wait_s=1.0, max_clock_offset_s=5.0)
    grouper.add("cam1", 100.0, "a", 50.0)
    grouper.add("cam2", 100.0, "b", 50.0)
    # cam1's stamp is moved forward by the wall time since it arrived (0.5 s): the offset is judged from 100.5
    try:
        grouper.add("cam2", 100.5 + offset_s, "c", 50.5)
    except ImplausibleStampError as error:
        assert refused
        assert error.offset_s == pytest.approx(offset_s)
    else:
        assert not refused
    assert grouper.implausible["cam2"] == int(refused)


def test_interleaved_wrong_stamps_of_every_camera_never_move_the_timeline() -> None:
    grouper = StampGrouper(CAMERAS, tolerance_s=0.02, max_wait_s=1.0)
    served = []
    for k in range(20):
        for camera in CAMERAS:
            served += grouper.add(camera, 100.0 + 0.1 * k, k, 0.1 * k)
            if k % 2:  # every other moment, every camera also sends a result stamped an hour ahead
                with pytest.raises(ImplausibleStampError):
                    grouper.add(camera, 3700.0 + 0.1 * k, "wrong", 0.1 * k)
    served += grouper.flush(100.0)
    assert len(served) == 20
    assert all(g.missing == () for g in served)
    assert grouper.implausible == dict.fromkeys(CAMERAS, 10)
    assert grouper.restarts == 0


def test_a_replay_looping_back_restarts_the_grouping_after_two_moments() -> None:
    grouper = StampGrouper(CAMERAS, tolerance_s=0.02, max_wait_s=1.0, max_clock_offset_s=5.0)
    first = _moments(grouper, 160.0, 5, now_s=0.0) + grouper.flush(0.45)
    refused = 0
    served = []
    for k in range(5):  # the bag starts again at 100 s
        for camera in CAMERAS:
            try:
                served += grouper.add(camera, 100.0 + 0.1 * k, k, 0.5 + 0.1 * k)
            except ImplausibleStampError:
                refused += 1
    served += grouper.flush(10.0)
    assert len(first) == 5
    assert grouper.restarts == 1
    # each camera's first result of the new timeline and the first two cameras' second are refused: then
    # the third camera's second result confirms the jump
    assert refused == 5
    assert [g.stamp_s for g in served] == pytest.approx([100.1, 100.2, 100.3, 100.4])
    assert [g.missing for g in served] == [("cam1", "cam2"), (), (), ()]


def test_a_single_camera_going_back_is_a_time_jump() -> None:
    grouper = StampGrouper(("cam1",), tolerance_s=0.02, max_wait_s=1.0, max_clock_offset_s=5.0)
    assert [g.stamp_s for g in grouper.add("cam1", 200.0, "a", 0.0)] == [200.0]
    assert grouper.add("cam1", 195.5, "half a second back, within the bound: late", 0.1) == []
    assert grouper.late == 1
    assert grouper.restarts == 0
    assert [g.stamp_s for g in grouper.add("cam1", 194.9, "back by more than the bound", 0.2)] == [194.9]
    assert grouper.restarts == 1


@pytest.mark.parametrize(("back_s", "restarted"), [(5.0, False), (5.0 + 2.0**-20, True)])
def test_a_single_camera_going_back_by_exactly_the_bound_is_late(back_s: float, restarted: bool) -> None:
    grouper = StampGrouper(("cam1",), tolerance_s=0.02, max_wait_s=1.0, max_clock_offset_s=5.0)
    grouper.add("cam1", 200.0, "a", 0.0)
    groups = grouper.add("cam1", 200.0 - back_s, "b", 0.125)
    assert (grouper.restarts, grouper.late, len(groups)) == ((1, 0, 1) if restarted else (0, 1, 0))


def test_every_time_jump_counts_and_the_room_jumping_forward_is_one() -> None:
    grouper = StampGrouper(("cam1", "cam2"), tolerance_s=0.02, max_wait_s=1.0, max_clock_offset_s=5.0)
    assert len(_moments(grouper, 100.0, 3, now_s=0.0)) == 3
    grouper.add("cam1", 100.3, "waits for cam2", 0.3)  # pending when time jumps: dropped by the restart
    refused = 0
    for jump, now_s in ((3600.0, 0.4), (7200.0, 0.8)):  # the room's clock jumps forward an hour, twice
        groups = []
        for k in range(3):
            for camera in ("cam1", "cam2"):
                try:
                    groups += grouper.add(camera, 100.4 + jump + 0.1 * k, (camera, k), now_s + 0.1 * k)
                except ImplausibleStampError:
                    refused += 1
        assert [g.stamp_s for g in groups] == pytest.approx([100.5 + jump, 100.6 + jump])
    assert grouper.restarts == 2
    assert refused == 6  # each jump: both cameras' first results, then cam1's second; cam2's second confirms it


def _late_stragglers(now_base_s: float) -> StampGrouper:
    grouper = StampGrouper(CAMERAS, tolerance_s=0.02, max_wait_s=0.05)
    for k in range(10):  # cam3's results always come after its moment was given up
        now_s = now_base_s + 0.1 * k
        for camera in ("cam1", "cam2"):
            grouper.add(camera, 100.0 + 0.1 * k, k, now_s)
        grouper.flush(now_s + 0.06)
        grouper.add("cam3", 100.0 + 0.1 * k, k, now_s + 0.07)
    return grouper


@pytest.mark.parametrize("now_base_s", [0.0, 1.7e9], ids=["wall_from_zero", "wall_since_1970"])
def test_stragglers_of_one_camera_stay_late_whatever_the_wall_clock_reads(now_base_s: float) -> None:
    grouper = _late_stragglers(now_base_s)
    assert (grouper.late, grouper.restarts) == (10, 0)


def test_a_camera_heard_exactly_the_clock_bound_ago_still_vetoes_a_time_jump() -> None:
    # cam2 falls silent at wall 1.0; cam1's results are late twice, the second exactly 5 s (the bound) later:
    # cam2 still counts as heard recently and has no late results, so time did not jump: cam1's are late
    grouper = StampGrouper(("cam1", "cam2"), tolerance_s=0.02, max_wait_s=1.0, max_clock_offset_s=5.0)
    grouper.add("cam1", 100.0, "a", 1.0)
    grouper.add("cam2", 100.0, "b", 1.0)
    grouper.add("cam1", 100.0, "late again", 5.5)
    grouper.add("cam1", 100.0, "late, 5 s after cam2's last", 6.0)  # offset -5.0: just within the clock bound
    assert (grouper.late, grouper.restarts) == (2, 0)


def test_one_late_result_is_never_a_time_jump_not_even_a_cameras_first() -> None:
    grouper = StampGrouper(("cam1", "cam2"), tolerance_s=0.02, max_wait_s=1.0, max_clock_offset_s=5.0)
    grouper.add("cam1", 10.0, "a", 0.0)
    assert [g.missing for g in grouper.flush(1.5)] == [("cam2",)]
    assert grouper.add("cam2", 9.5, "cam2's first result, older than the moment handed out", 20.0) == []
    assert (grouper.late, grouper.restarts) == (1, 0)


def test_after_a_time_jump_each_camera_counts_its_late_results_from_zero() -> None:
    grouper = StampGrouper(("cam1", "cam2"), tolerance_s=0.02, max_wait_s=1.0, max_clock_offset_s=5.0)
    _moments(grouper, 200.0, 1, now_s=0.0)
    for stamp_s, now_s in ((190.0, 0.1), (190.1, 0.2)):  # the room goes back 10 s: confirmed by cam2's second
        for camera in ("cam1", "cam2"):
            try:
                grouper.add(camera, stamp_s, camera, now_s)
            except ImplausibleStampError:
                pass
    assert grouper.restarts == 1
    assert [g.stamp_s for g in grouper.flush(1.5)] == [190.1]  # cam2's result, cam1 missing
    grouper.add("cam2", 190.0, "late", 1.6)
    grouper.add("cam2", 190.0, "late again", 1.7)
    grouper.add("cam1", 190.0, "cam1's first late result since the jump: not a second jump", 1.8)
    assert (grouper.late, grouper.restarts) == (3, 1)


def test_clock_offsets_per_camera() -> None:
    grouper = StampGrouper(("cam1", "cam2"), tolerance_s=0.02, max_wait_s=1.0)
    groups = []
    for k in range(10):  # cam2's clock is 0.04 s behind: beyond the tolerance, its frames are never grouped
        groups += grouper.add("cam1", 100.0 + 0.1 * k, k, 0.1 * k)
        groups += grouper.add("cam2", 99.96 + 0.1 * k, k, 0.1 * k)
    groups += grouper.flush(10.0)
    assert len(groups) == 20
    assert all(len(g.items) == 1 for g in groups)
    summary = grouper.offsets.summary("cam2", now_s=10.0)
    assert summary.count == 10
    assert summary.median_s == pytest.approx(-0.04)
    assert summary.max_abs_s == pytest.approx(0.04)
    assert grouper.offsets.summary("cam1", now_s=10.0).median_s == pytest.approx(0.04)
    # offsets are measured against the nearest frame: beyond half a frame period they alias (0.06 -> -0.04)
    assert grouper.offsets.summary("cam1", now_s=10.0 + HEALTH_WINDOW_S + 1.0).count == 0  # older than the window


def test_a_short_replay_looping_restarts_the_grouping_after_two_moments() -> None:
    """A 1 s bag played in a loop: time goes back by less than the clock bound, every result is late."""
    grouper = StampGrouper(CAMERAS, tolerance_s=0.02, max_wait_s=1.0, max_clock_offset_s=5.0)
    first = _moments(grouper, 100.0, 10, now_s=0.0)
    second = _moments(grouper, 100.0, 10, now_s=1.0) + grouper.flush(10.0)
    assert len(first) == 10
    assert grouper.restarts == 1
    # each camera's first two results of the second pass are late, but the last of them restarts the grouping
    assert grouper.late == 5
    assert [g.stamp_s for g in second] == pytest.approx([100.1 + 0.1 * k for k in range(9)])
    assert [g.missing for g in second][:2] == [("cam1", "cam2"), ()]

