"""Grouping per-camera results taken at the same moment: the fusion node's input side, ROS-free.

Cameras are rarely triggered together and each result arrives when its model run ends, so results
are grouped by their capture stamps: a group holds at most one result per camera, all within
``tolerance_s`` of the group's earliest stamp. A group is complete when every camera is in it; it is
given up waiting for the others when each missing camera has already sent a later result, or when
its earliest result has waited ``max_wait_s`` (wall clock) for them.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any


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

    def __init__(self, cameras: Sequence[str], tolerance_s: float, max_wait_s: float, backlog: int = 30) -> None:
        if tolerance_s < 0 or max_wait_s <= 0:
            raise ValueError("tolerance_s must be >= 0 and max_wait_s > 0")
        self.cameras = tuple(cameras)
        self.tolerance_s = tolerance_s
        self.max_wait_s = max_wait_s
        # per camera: (stamp [s], arrival [s, wall], result), stamp-ordered; bounded so it cannot grow
        self._pending: dict[str, deque[tuple[float, float, Any]]] = {c: deque(maxlen=backlog) for c in self.cameras}
        self.late = 0  # results older than a group already handed out: dropped
        self._last_stamp: float | None = None

    def add(self, camera: str, stamp_s: float, item: Any, now_s: float) -> list[Group]:
        """Take a result; the groups it completes. KeyError for an unknown camera."""
        queue = self._pending[camera]
        if self._last_stamp is not None and stamp_s <= self._last_stamp:
            self.late += 1
            return []
        queue.append((stamp_s, now_s, item))
        if len(queue) > 1 and queue[-2][0] > stamp_s:  # out of order within a camera: keep the queue sorted
            ordered = sorted(queue, key=lambda entry: entry[0])
            queue.clear()
            queue.extend(ordered)
        return self.flush(now_s)

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
        for camera, queue in self._pending.items():
            near = [entry for entry in queue if abs(entry[0] - anchor) <= self.tolerance_s]
            if near:
                chosen[camera] = min(near, key=lambda entry: abs(entry[0] - anchor))
            elif not queue or queue[-1][0] <= anchor + self.tolerance_s:
                waiting = True  # this camera may still send a result of this moment
        if waiting and now_s - arrival < self.max_wait_s:
            return None
        stamp = max(entry[0] for entry in chosen.values())
        for queue in self._pending.values():  # drop what this group used, and anything older
            while queue and queue[0][0] <= stamp:
                queue.popleft()
        self._last_stamp = stamp
        missing = tuple(c for c in self.cameras if c not in chosen)
        return Group(stamp, {c: entry[2] for c, entry in chosen.items()}, missing)
