"""Newest-frame-per-camera hand-over between fast producers (ROS callbacks) and one slow consumer.

Producers never block and the store never grows: putting a frame into a camera slot that still
holds an unprocessed one replaces it and counts a drop. The consumer takes the newest frame of
every camera that has one, all at once, so one batched forward serves all cameras.
"""

from __future__ import annotations

import threading
from collections.abc import Hashable
from dataclasses import dataclass
from typing import Generic, TypeVar

T = TypeVar("T")


@dataclass
class SlotCounters:
    """Per-camera counts since start."""

    received: int = 0
    dropped: int = 0  # replaced before the consumer took them
    taken: int = 0


class LatestFrameStore(Generic[T]):
    """Thread-safe: one slot per camera, each holding at most the newest unprocessed item."""

    def __init__(self) -> None:
        self._slots: dict[Hashable, T] = {}
        self._counters: dict[Hashable, SlotCounters] = {}
        self._ready = threading.Condition()
        self._closed = False

    def put(self, camera: Hashable, item: T) -> bool:
        """Store ``item`` as the newest of ``camera``; True when it replaced an unprocessed one."""
        with self._ready:
            counters = self._counters.setdefault(camera, SlotCounters())
            counters.received += 1
            replaced = camera in self._slots
            if replaced:
                counters.dropped += 1
            self._slots[camera] = item
            self._ready.notify()
            return replaced

    def take_all(self, timeout: float | None = None) -> dict[Hashable, T]:
        """Wait up to ``timeout`` s for at least one item, then empty every slot and return them.

        Returns an empty dict on timeout or once the store is closed.
        """
        with self._ready:
            if not self._slots and not self._closed:
                self._ready.wait(timeout)
            items, self._slots = self._slots, {}
            for camera in items:
                self._counters[camera].taken += 1
            return items

    def close(self) -> None:
        """Wake the consumer for good (shutdown)."""
        with self._ready:
            self._closed = True
            self._ready.notify_all()

    @property
    def closed(self) -> bool:
        return self._closed

    def counters(self, camera: Hashable) -> SlotCounters:
        """A copy of the counters of ``camera`` (zeros when it never sent anything)."""
        with self._ready:
            c = self._counters.get(camera, SlotCounters())
            return SlotCounters(c.received, c.dropped, c.taken)
