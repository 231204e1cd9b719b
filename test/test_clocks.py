"""Whose clock is wrong (fusion.clocks): offsets against the other cameras' latest accepted stamps moved forward
by wall time, the bound and the "heard recently" window from both sides (binary-exact stamps), time jumps after
JUMP_CONFIRMATIONS agreeing rejections per camera, and the offset summary's window."""

from __future__ import annotations

import math
import warnings

import numpy as np
import pytest

from orpose_ros.fusion.clocks import HEALTH_WINDOW_S, JUMP_CONFIRMATIONS, CameraClocks, ClockOffsets

TINY = 2.0**-20  # exact in binary next to the stamps used here


def test_the_bound_must_be_positive_and_cameras_known() -> None:
    with pytest.raises(ValueError, match=r"^max_offset_s must be positive, got 0.0$"):
        CameraClocks(("a",), 0.0)
    assert CameraClocks(("a",), TINY).max_offset_s == TINY
    with pytest.raises(KeyError, match="unknown_camera"):
        CameraClocks(("a",), 0.5).judge("unknown_camera", 1.0, 0.0)


def test_with_nobody_to_judge_against_a_result_is_accepted_without_offset() -> None:
    clocks = CameraClocks(("a", "b"), 0.5)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # and no median of nothing (a RuntimeWarning) is taken
        verdict = clocks.judge("a", 1e6, 0.0)
    assert verdict.accepted
    assert math.isnan(verdict.offset_s)
    assert not verdict.jump
    assert clocks.judge("a", -1e6, 0.1).accepted  # its own stamps are not judged against each other


def test_the_offset_is_from_the_median_of_the_others_moved_forward_by_wall_time() -> None:
    clocks = CameraClocks(("a", "b", "c", "d"), 0.5)
    assert clocks.judge("a", 100.0, 0.0).accepted  # moved forward to now 0.25: 100.25
    assert clocks.judge("b", 100.375, 0.125).accepted  # -> 100.5
    assert clocks.judge("c", 100.25, 0.0625).accepted  # -> 100.4375
    verdict = clocks.judge("d", 100.75, 0.25)
    assert verdict.accepted
    assert verdict.offset_s == 100.75 - float(np.median([100.25, 100.5, 100.4375]))  # 0.3125, not the mean's
    assert verdict.offset_s == 0.3125


@pytest.mark.parametrize(("offset_s", "accepted"), [(0.5, True), (0.5 + TINY, False), (-0.5, True),
                                                    (-0.5 - TINY, False)])  # fmt: skip
def test_a_result_is_rejected_exactly_beyond_the_bound(offset_s: float, accepted: bool) -> None:
    clocks = CameraClocks(("a", "b"), 0.5)
    clocks.judge("a", 10.0, 2.0)
    verdict = clocks.judge("b", 10.0 + offset_s, 2.0)
    assert verdict.accepted == accepted
    assert verdict.offset_s == offset_s
    assert not verdict.jump


@pytest.mark.parametrize(("since_s", "counted"), [(0.5, True), (0.5 + TINY, False)])
def test_the_others_count_when_heard_within_the_bound_of_wall_time(since_s: float, counted: bool) -> None:
    clocks = CameraClocks(("a", "b"), 0.5)
    clocks.judge("a", 10.0, 1.0)
    verdict = clocks.judge("b", 50.0, 1.0 + since_s)
    assert verdict.accepted != counted
    assert math.isnan(verdict.offset_s) != counted


def test_a_rejected_result_is_not_a_reference_for_the_others() -> None:
    clocks = CameraClocks(("a", "b", "c"), 0.5)
    clocks.judge("a", 10.0, 0.0)
    assert not clocks.judge("b", 20.0, 0.0).accepted
    verdict = clocks.judge("c", 10.25, 0.0)  # judged against a's 10.0 only, not the median with b's 20.0
    assert verdict.offset_s == 0.25


def looped_room(cameras: tuple[str, ...] = ("a", "b")) -> CameraClocks:
    """Every camera accepted on the timeline 100 s at wall time 0.875."""
    clocks = CameraClocks(cameras, 0.5)
    for camera in cameras:
        assert clocks.judge(camera, 100.0, 0.875).accepted
    return clocks


def test_the_room_takes_a_new_timeline_after_two_agreeing_rejections_per_camera() -> None:
    assert JUMP_CONFIRMATIONS == 2
    clocks = looped_room()
    # a replay loops back to 0: one rejection each is not enough
    assert not clocks.judge("a", 0.0, 1.0).accepted
    assert not clocks.judge("b", 0.0, 1.0).accepted
    assert not clocks.judge("a", 0.125, 1.125).accepted  # a has 2, b still 1
    verdict = clocks.judge("b", 0.125, 1.125)
    assert verdict.accepted
    assert verdict.jump
    assert verdict.offset_s == 0.125 - (100.0 + 1.125 - 0.875)
    after = clocks.judge("a", 0.25, 1.25)  # the new timeline is the reference now (b's 0.125 moved forward)
    assert after.accepted
    assert after.offset_s == 0.0
    assert not after.jump


@pytest.mark.parametrize(("step_s", "jumps"), [(0.125 + 0.5, True), (0.125 + 0.5 + TINY, False)])
def test_a_camera_s_rejections_agree_within_the_bound(step_s: float, jumps: bool) -> None:
    clocks = looped_room()
    clocks.judge("b", 0.0, 1.0)
    clocks.judge("b", 0.125, 1.125)  # b: two agreeing rejections
    clocks.judge("a", 0.0, 1.0)
    # a's second stamp moved by step_s in 0.125 s of wall time: its run goes on only within the bound
    verdict = clocks.judge("a", step_s, 1.125)
    assert verdict.jump == jumps


def test_the_new_stamp_must_agree_with_every_camera_s_run() -> None:
    clocks = looped_room()
    for k, now in enumerate((1.0, 1.125)):
        clocks.judge("b", 0.125 * k, now)
        clocks.judge("a", 50.0 + 0.125 * k, now)  # a jumped elsewhere: runs of 2 each, but not agreeing
    assert not clocks.judge("a", 50.25, 1.25).jump


def test_wrong_stamps_interleaved_with_good_ones_never_make_a_jump() -> None:
    clocks = looped_room()
    for k in range(6):
        now = 1.0 + 0.125 * k
        assert clocks.judge("b", 100.0 + now - 0.875, now).accepted  # b stays on the timeline
        wrong = clocks.judge("a", 0.125 * k, now)  # a keeps sending a wrong clock
        assert not wrong.accepted
        assert not wrong.jump
        assert clocks.judge("a", 100.0 + now - 0.875, now).accepted  # a good one in between ends the run


def test_cameras_not_heard_recently_do_not_hold_a_jump_back() -> None:
    clocks = looped_room(("a", "b", "c"))
    for camera in ("a", "b"):  # c falls silent at wall time 0.875; a and b go on, then loop back
        assert clocks.judge(camera, 100.375, 1.25).accepted
    for k, now in enumerate((1.5, 1.625)):  # at 1.625 c was last heard 0.75 s ago: not recently
        assert not clocks.judge("a", 0.125 * k, now).accepted
        verdict = clocks.judge("b", 0.125 * k, now)
    assert verdict.jump
    # ... while one rejected run heard recently on another stamp does hold it back
    clocks = looped_room(("a", "b", "c"))
    clocks.judge("c", 40.0, 1.0)
    for k, now in enumerate((1.25, 1.375)):
        clocks.judge("a", 0.125 * k, now)
        verdict = clocks.judge("b", 0.125 * k, now)
    assert not verdict.jump


def test_a_silent_camera_is_skipped_and_the_others_are_still_asked() -> None:
    clocks = looped_room(("c", "a", "b"))  # c, first in the list, falls silent at 0.875
    for camera in ("a", "b"):
        assert clocks.judge(camera, 100.375, 1.25).accepted
    for camera, stamp, now in (("a", 0.0, 1.5), ("b", 0.0, 1.5), ("b", 0.125, 1.625)):
        verdict = clocks.judge(camera, stamp, now)  # b's second has two rejections, a one: no jump
        assert not verdict.accepted
        assert not verdict.jump


@pytest.mark.parametrize(("c_rejected_at", "jumps"), [(1.125, False), (1.125 - TINY, True)])
def test_a_rejected_run_holds_a_jump_back_while_heard_within_the_bound(c_rejected_at: float, jumps: bool) -> None:
    clocks = looped_room(("a", "b", "c"))
    assert not clocks.judge("c", 40.0, c_rejected_at).accepted  # then c falls silent
    for camera in ("a", "b"):
        assert clocks.judge(camera, 100.5, 1.375).accepted
    for k, now in enumerate((1.5, 1.625)):  # at 1.625, c's rejection is 0.5 s old (recent) or just more
        clocks.judge("a", 0.125 * k, now)
        verdict = clocks.judge("b", 0.125 * k, now)
    assert verdict.jump == jumps


def test_the_offset_summary_keeps_exactly_the_health_window() -> None:
    offsets = ClockOffsets(("a", "b"))
    empty = offsets.summary("a", 0.0)
    assert math.isnan(empty.median_s)
    assert math.isnan(empty.max_abs_s)
    assert empty.count == 0
    offsets.add("a", 9.0, 0.0)  # leaves the window first
    for now, offset in ((1.0, 0.25), (2.0, -0.75), (3.0, 0.5)):
        offsets.add("a", offset, now)
    offsets.add("b", 3.0, 3.0)
    summary = offsets.summary("a", 1.0 + HEALTH_WINDOW_S)  # 1.0 is exactly HEALTH_WINDOW_S old: kept
    assert summary.count == 3
    assert summary.median_s == 0.25
    assert summary.max_abs_s == 0.75
    later = offsets.summary("a", 1.0 + HEALTH_WINDOW_S + TINY)
    assert later.count == 2
    assert later.median_s == float(np.median([-0.75, 0.5]))
