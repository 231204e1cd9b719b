"""Grouping per-camera results taken at the same moment: the fusion node's input side, ROS-free.

Cameras are rarely triggered together and each result arrives when its model run ends, so results
are grouped by their capture stamps: a group holds at most one result per camera, all within
``tolerance_s`` of the group's earliest stamp. A group is complete when every camera is in it; it is
given up waiting for the others when each missing camera has already sent a later result, or when
its earliest result has waited ``max_wait_s`` (wall clock) for them.

Before grouping, each result's stamp is judged against the other cameras' (`fusion.clocks`): an
implausible one (a camera whose clock is wrong) is refused alone with `ImplausibleStampError`. When time
jumps (the whole room at once, or a single camera going back by more than ``max_clock_offset_s``; or
every camera's results late, twice in a row: a short replay looping) the grouping restarts: what was
pending is dropped and groups' stamps start again from the new timeline (the tracker downstream sees
them go back and restarts its tracks).
"""

from __future__ import annotations

from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from orpose_ros.fusion.clocks import JUMP_CONFIRMATIONS, CameraClocks, ClockOffsets

#: Default bound on a camera's stamp offset from the others [s] (docs/fusion.md, "Clock faults").
MAX_CLOCK_OFFSET_S = 5.0


class ImplausibleStampError(ValueError):
    """A result whose stamp is implausibly far from the other cameras': refused alone."""

    def __init__(self, camera: str, stamp_s: float, offset_s: float, bound_s: float) -> None:
        super().__init__(f"{camera}: result stamped {offset_s:+.3f} s from the other cameras' latest stamps "
                         f"(bound {bound_s:g} s): ignored (a wrong clock?)")
        self.camera, self.stamp_s, self.offset_s = camera, stamp_s, offset_s


@dataclass(frozen=True)
class Group:
    """Results of the cameras taken at one moment.

    Attributes:
        stamp_s: the latest capture stamp of its results [s].
        items: camera name -> that camera's result.
        missing: the cameras without a result in it.
    """

    stamp_s: float
    items: dict[str, Any]
    missing: tuple[str, ...]


class StampGrouper:
    """Collects results per camera and hands out groups in stamp order (see the module doc)."""

    def __init__(self, cameras: Sequence[str], tolerance_s: float, max_wait_s: float, backlog: int = 30,
                 max_clock_offset_s: float = MAX_CLOCK_OFFSET_S) -> None:
        if tolerance_s < 0 or max_wait_s <= 0:
            raise ValueError("tolerance_s must be >= 0 and max_wait_s > 0")
        self.cameras = tuple(cameras)
        self.clocks = CameraClocks(self.cameras, max_clock_offset_s)
        self.offsets = ClockOffsets(self.cameras)  # each camera's stamps against the others' nearest
        self._stamps: dict[str, deque[float]] = {c: deque(maxlen=backlog) for c in self.cameras}  # accepted
        self.tolerance_s = tolerance_s
        self.max_wait_s = max_wait_s
        # per camera: (stamp [s], arrival [s, wall], result), stamp-ordered; bounded so it cannot grow
        self._pending: dict[str, deque[tuple[float, float, Any]]] = {c: deque(maxlen=backlog) for c in self.cameras}
        self.late = 0  # results older than a group already handed out: dropped
        self.implausible = dict.fromkeys(self.cameras, 0)  # results refused by the clock rule, per camera
        self.restarts = 0  # time jumps: the grouping started again
        self._last_stamp: float | None = None
        self._late_runs = dict.fromkeys(self.cameras, 0)  # consecutive late results per camera
        self._heard: dict[str, float] = {}  # camera -> wall time [s] of its latest result of plausible stamp

    def add(self, camera: str, stamp_s: float, item: Any, now_s: float) -> list[Group]:
        """Take a result; the groups it completes. KeyError for an unknown camera; `ImplausibleStampError` (the
        result is dropped, nothing else changes) for a stamp the other cameras' stamps contradict."""
        queue = self._pending[camera]
        verdict = self.clocks.judge(camera, stamp_s, now_s)
        if not verdict.accepted:
            self.implausible[camera] += 1
            raise ImplausibleStampError(camera, stamp_s, verdict.offset_s, self.clocks.max_offset_s)
        self._heard[camera] = now_s
        if verdict.jump or (self._last_stamp is not None and stamp_s < self._last_stamp - self.clocks.max_offset_s):
            self._restart()
        if self._last_stamp is not None and stamp_s <= self._last_stamp:
            self._late_runs[camera] += 1
            if not self._looped(now_s):
                self.late += 1
                return []
            self._restart()
        self._late_runs[camera] = 0
        self._stamps[camera].append(stamp_s)
        queue.append((stamp_s, now_s, item))
        if len(queue) > 1 and queue[-2][0] > stamp_s:  # out of order within a camera: keep the queue sorted
            ordered = sorted(queue, key=lambda entry: entry[0])
            queue.clear()
            queue.extend(ordered)
        return self.flush(now_s)

    def _looped(self, now_s: float) -> bool:
        """Every camera heard recently (``max_clock_offset_s``, wall) sent only late results lately: time went
        back by less than the clock bound (a short replay looping), not a straggler."""
        recent = [c for c, heard in self._heard.items() if now_s - heard <= self.clocks.max_offset_s]
        return all(self._late_runs[c] >= JUMP_CONFIRMATIONS for c in recent)

    def _restart(self) -> None:
        """Time jumped: forget the old timeline (its pending results and the stamp of the last group)."""
        for queue in (*self._pending.values(), *self._stamps.values()):
            queue.clear()
        self._last_stamp = None
        self._late_runs = dict.fromkeys(self.cameras, 0)
        self.restarts += 1

    def flush(self, now_s: float) -> list[Group]:
        """The groups ready at wall time ``now_s`` (call it periodically: groups also complete by waiting)."""
        groups = []
        while True:
            group = self._next_group(now_s)
            if group is None:
                return groups
            groups.append(group)

    def _next_group(self, now_s: float) -> Group | None:
        heads = [(queue[0][0], queue[0][1]) for queue in self._pending.values() if queue]
        if not heads:
            return None
        anchor, arrival = min(heads)
        chosen: dict[str, tuple[float, float, Any]] = {}
        waiting = False
        # Every queue is stamp-sorted and the anchor is the earliest head: a camera's head is its result closest
        # to the anchor, and a camera whose head is beyond the tolerance has moved past this moment.
        for camera, queue in self._pending.items():
            if not queue:
                waiting = True  # this camera may still send a result of this moment
            elif queue[0][0] - anchor <= self.tolerance_s:
                chosen[camera] = queue[0]
        if waiting and now_s - arrival < self.max_wait_s:
            return None
        stamp = max(entry[0] for entry in chosen.values())
        for queue in self._pending.values():  # drop what this group used, and anything older
            while queue and queue[0][0] <= stamp:
                queue.popleft()
        self._last_stamp = stamp
        for camera, entry in chosen.items():
            self._measure_offset(camera, entry[0], now_s)
        missing = tuple(c for c in self.cameras if c not in chosen)
        return Group(stamp, {c: entry[2] for c, entry in chosen.items()}, missing)

    def _measure_offset(self, camera: str, stamp_s: float, now_s: float) -> None:
        """``camera``'s offset: its stamp [s] minus the median over the other cameras of their nearest stamp."""
        nearest = [min(stamps, key=lambda s: abs(s - stamp_s)) for c, stamps in self._stamps.items()
                   if c != camera and stamps]
        if nearest:
            self.offsets.add(camera, stamp_s - float(np.median(nearest)), now_s)
