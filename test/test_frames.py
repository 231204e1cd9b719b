"""Frame sources: folders, images and videos read the same way by every tool; the synthetic camera."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest

from orpose_ros.frames import (
    SYNTHETIC,
    FrameSourceError,
    count_frames,
    discover_inputs,
    frame_stream,
    iter_frames,
    load_frames,
)


def _write_video(path: Path, frames: int, size: tuple[int, int] = (64, 48)) -> None:
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"mp4v"), 7.0, size)
    assert writer.isOpened()
    for i in range(frames):
        writer.write(np.full((size[1], size[0], 3), 40 * i, np.uint8))
    writer.release()


def test_discover_inputs_sorts_folders_and_checks_files(tmp_path: Path) -> None:
    folder = tmp_path / "frames"
    folder.mkdir()
    image = np.zeros((8, 8, 3), np.uint8)
    for name in ("b.png", "a.jpg", "c.png"):
        cv2.imwrite(str(folder / name), image)
    (folder / "notes.txt").write_text("ignored")
    video = tmp_path / "clip.mp4"
    _write_video(video, 3)
    found = discover_inputs([folder, video, folder / "c.png"])
    assert [f.path.name for f in found] == ["a.jpg", "b.png", "c.png", "clip.mp4", "c.png"]
    assert [f.is_video for f in found] == [False, False, False, True, False]
    assert found[3].frame_count == 3
    assert found[3].fps == pytest.approx(7.0)
    assert count_frames(found) == 7


@pytest.mark.parametrize("case", ["missing", "garbage", "empty_folder"])
def test_discover_inputs_refuses_bad_inputs(tmp_path: Path, case: str) -> None:
    path = tmp_path / case
    if case == "garbage":
        path = tmp_path / "frame.png"
        path.write_bytes(b"definitely not a png")
    elif case == "empty_folder":
        path.mkdir()
    with pytest.raises(FrameSourceError, match=str(path)):
        discover_inputs([path])


def test_video_frames_are_named_by_index(tmp_path: Path) -> None:
    video = tmp_path / "clip.mp4"
    _write_video(video, 4)
    frames = list(iter_frames(discover_inputs([video])))
    assert [f.source for f in frames] == [f"{video}#{i}" for i in range(4)]
    assert all(f.image.shape == (48, 64, 3) and f.image.dtype == np.uint8 for f in frames)
    assert frames[2].name == "clip_000002"


def test_load_frames_cycles_and_resizes_like_the_published_restore(mvor_frames: list[Path]) -> None:
    from orpose_ros import privacy

    frames = load_frames(mvor_frames[0].parent, count=62, size=(640, 480))
    assert len(frames) == 62
    assert all(f.shape == (480, 640, 3) for f in frames)
    np.testing.assert_array_equal(frames[60], frames[0])  # 60 shared frames, then again from the first
    small = cv2.imread(str(mvor_frames[0]), cv2.IMREAD_COLOR)
    np.testing.assert_array_equal(frames[0], privacy.restore(small, (480, 640)))


def test_synthetic_stream_never_repeats_and_files_loop(tmp_path: Path) -> None:
    stream = frame_stream(SYNTHETIC, (64, 48))
    first, second = next(stream), next(stream)
    assert first.shape == (48, 64, 3)
    assert not np.array_equal(first, second)
    cv2.imwrite(str(tmp_path / "only.png"), np.full((8, 8, 3), 7, np.uint8))
    looped = frame_stream(tmp_path)
    assert [int(next(looped)[0, 0, 0]) for _ in range(3)] == [7, 7, 7]
    assert len(load_frames(SYNTHETIC, count=5)) == 5
