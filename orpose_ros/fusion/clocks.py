"""Whose clock is wrong: the stamp of each camera's result judged against the other cameras' (ROS-free).

The rule (docs/fusion.md, "Clock faults"): a result's stamp is compared with the latest *accepted* stamps
of the other cameras heard within the last ``max_offset_s`` of wall time, each moved forward by the wall
time since it arrived (a camera at 1 Hz is not "behind" one at 30 Hz). Its offset is the difference to
the median of those; beyond ``max_offset_s`` the result is rejected alone. Stamps are compared with
stamps, never with the node's clock, so the rule holds for live cameras, ``use_sim_time`` and replays of
any epoch alike. With no other camera heard recently there is nothing to judge against: the result is
accepted (one camera's jumps are time jumps, handled downstream).

When the whole room's time moves (a replay looping back, every clock corrected), every camera is rejected
for a while: once each camera heard recently has had at least ``JUMP_CONFIRMATIONS`` consecutive results
rejected, all agreeing with each other, the new timeline is taken (a time jump). A single wrong stamp, or
wrong stamps interleaved with good ones, never makes such a run, so it costs only its own result.

`ClockOffsets` keeps, for the diagnostics, each camera's offsets from the other cameras' nearest stamps
(measured by the grouper when it hands a moment out: stamps against stamps, no wall clock involved).
"""

from __future__ import annotations

from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

#: Consecutive rejected results per camera, all cameras agreeing, that make a time jump.
JUMP_CONFIRMATIONS = 2
#: Clock offsets are summarised over this much wall time [s].
HEALTH_WINDOW_S = 10.0


@dataclass(frozen=True)
class StampVerdict:
    """What `CameraClocks.judge` decided about one result.

    Attributes:
        accepted: the stamp is plausible (or starts a new timeline, see ``jump``).
        offset_s: the stamp minus the median of the other cameras' latest accepted stamps (moved forward
            by the wall time since they arrived) [s]; NaN when no other camera was heard recently.
        jump: the room's time jumped and this result starts the new timeline.
    """

    accepted: bool
    offset_s: float
    jump: bool = False


@dataclass(frozen=True)
class OffsetSummary:
    """A camera's clock offsets [s] over the last `HEALTH_WINDOW_S` (NaN when none)."""

    median_s: float
    max_abs_s: float
    count: int


class CameraClocks:
    """Judges each result's stamp against the other cameras' (see the module doc)."""

    def __init__(self, cameras: Sequence[str], max_offset_s: float) -> None:
        if not max_offset_s > 0:
            raise ValueError(f"max_offset_s must be positive, got {max_offset_s}")
        self.cameras = tuple(cameras)
        self.max_offset_s = max_offset_s
        self._accepted: dict[str, tuple[float, float]] = {}  # camera -> (stamp [s], arrival [s, wall])
        self._rejected: dict[str, tuple[float, float, int]] = {}  # camera -> (stamp, arrival, consecutive)

    def judge(self, camera: str, stamp_s: float, now_s: float) -> StampVerdict:
        """Accept or reject the stamp [s] of ``camera``'s result that arrived at wall time ``now_s`` [s]."""
        if camera not in self.cameras:
            raise KeyError(camera)
        offset = self._offset(camera, stamp_s, now_s)
        if not abs(offset) > self.max_offset_s:  # NaN (nobody to judge against) is accepted
            self._accepted[camera] = (stamp_s, now_s)
            self._rejected.pop(camera, None)
            return StampVerdict(True, offset)
        previous = self._rejected.get(camera)
        run = previous[2] + 1 if previous is not None and self._agrees(stamp_s, now_s, previous[:2]) else 1
        self._rejected[camera] = (stamp_s, now_s, run)
        if not self._time_jumped(stamp_s, now_s):
            return StampVerdict(False, offset)
        self._accepted = {c: (s, a) for c, (s, a, _) in self._rejected.items()}
        self._rejected.clear()
        return StampVerdict(True, offset, jump=True)

    def _recent(self, arrival_s: float, now_s: float) -> bool:
        return now_s - arrival_s <= self.max_offset_s

    def _agrees(self, stamp_s: float, now_s: float, other: tuple[float, float]) -> bool:
        """Whether ``stamp_s`` is within the bound of another result (stamp, arrival) moved forward to now."""
        return abs(stamp_s - (other[0] + now_s - other[1])) <= self.max_offset_s

    def _offset(self, camera: str, stamp_s: float, now_s: float) -> float:
        others = [s + now_s - a for c, (s, a) in self._accepted.items() if c != camera and self._recent(a, now_s)]
        return stamp_s - float(np.median(others)) if others else float("nan")

    def _time_jumped(self, stamp_s: float, now_s: float) -> bool:
        """Every camera heard recently has a run of rejected results agreeing with ``stamp_s``."""
        for camera in self.cameras:
            accepted, rejected = self._accepted.get(camera), self._rejected.get(camera)
            if rejected is None:  # (accepting a result forgets the camera's rejected ones)
                if accepted is not None and self._recent(accepted[1], now_s):
                    return False  # heard recently, on the old timeline
                continue
            if self._recent(rejected[1], now_s) and (
                    rejected[2] < JUMP_CONFIRMATIONS or not self._agrees(stamp_s, now_s, rejected[:2])):
                return False
        return True


class ClockOffsets:
    """Per camera, its stamp offsets [s] from the other cameras, over the last `HEALTH_WINDOW_S` of wall time."""

    def __init__(self, cameras: Sequence[str]) -> None:
        self._offsets: dict[str, deque[tuple[float, float]]] = {c: deque() for c in cameras}

    def add(self, camera: str, offset_s: float, now_s: float) -> None:
        """One offset [s] of ``camera``, measured at wall time ``now_s`` [s]."""
        self._offsets[camera].append((now_s, offset_s))

    def summary(self, camera: str, now_s: float) -> OffsetSummary:
        """``camera``'s offsets measured in the last `HEALTH_WINDOW_S` before ``now_s`` [s, wall]."""
        window = self._offsets[camera]
        while window and window[0][0] < now_s - HEALTH_WINDOW_S:
            window.popleft()
        values = np.array([offset for _, offset in window])
        if not len(values):
            return OffsetSummary(float("nan"), float("nan"), 0)
        return OffsetSummary(float(np.median(values)), float(np.abs(values).max()), len(values))
