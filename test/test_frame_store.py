"""LatestFrameStore keeps only the newest frame per camera and counts what it dropped."""

from __future__ import annotations

import threading
import time

from orpose_ros.ros.frame_store import LatestFrameStore


def test_only_the_newest_item_per_camera_is_kept_and_drops_are_counted() -> None:
    store: LatestFrameStore[int] = LatestFrameStore()
    assert store.put("a", 1) is False
    assert store.put("a", 2) is True
    assert store.put("a", 3) is True
    store.put("b", 10)
    assert store.take_all(timeout=0) == {"a": 3, "b": 10}
    assert store.take_all(timeout=0) == {}
    a = store.counters("a")
    assert (a.received, a.dropped, a.taken) == (3, 2, 1)
    assert store.counters("never").received == 0


def test_take_all_waits_for_a_producer_and_close_releases_it() -> None:
    store: LatestFrameStore[str] = LatestFrameStore()
    threading.Timer(0.1, store.put, args=("cam", "frame")).start()
    started = time.monotonic()
    assert store.take_all(timeout=5.0) == {"cam": "frame"}
    assert time.monotonic() - started < 4.0

    threading.Timer(0.1, store.close).start()
    assert store.take_all(timeout=5.0) == {}
    assert store.closed


def test_memory_stays_bounded_under_a_flood() -> None:
    store: LatestFrameStore[bytes] = LatestFrameStore()
    for i in range(10_000):
        store.put(i % 3, bytes(10))
    assert len(store.take_all(timeout=0)) == 3
    assert sum(store.counters(c).dropped for c in range(3)) == 10_000 - 3
