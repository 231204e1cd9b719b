"""Frame sources: image files, folders of images, videos and the built-in synthetic camera (and the
test for a rosbag2, whose frames `orpose_ros.ros.bags` reads).

The first stage of the flow. Every tool that reads frames (``orpose-infer``, ``camera_replay``,
``orpose-bench``) goes through this module, so they accept the same inputs. Frames are
(H, W, 3) uint8 BGR arrays; folders are read in name order.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from orpose_ros import privacy
from orpose_ros.synthetic_scene import synthetic_frame

IMAGE_SUFFIXES = frozenset({".png", ".jpg", ".jpeg", ".bmp", ".tif", ".tiff", ".webp", ".ppm", ".pgm"})
VIDEO_SUFFIXES = frozenset({".mp4", ".avi", ".mov", ".mkv", ".webm", ".m4v", ".mpg", ".mpeg", ".wmv"})
#: The source name of the built-in synthetic camera.
SYNTHETIC = "synthetic"


class FrameSourceError(ValueError):
    """An input that cannot be read as frames; the message names it."""


@dataclass(frozen=True)
class InputFile:
    """One input file: an image, or a video with its frame count (0 = unknown) and rate [Hz]."""

    path: Path
    is_video: bool = False
    frame_count: int = 0
    fps: float = 0.0


@dataclass(frozen=True)
class Frame:
    """One frame: where it came from (``path`` or ``path#index``), a short name for files, BGR pixels."""

    source: str
    name: str
    image: np.ndarray


def _probe_video(path: Path) -> InputFile | None:
    """The video at ``path`` with its length and rate, or None unless a first frame can be read."""
    capture = cv2.VideoCapture(str(path))
    try:
        if not capture.isOpened() or not capture.read()[0]:
            return None
        count = max(0, int(capture.get(cv2.CAP_PROP_FRAME_COUNT)))
        fps = float(capture.get(cv2.CAP_PROP_FPS) or 0.0)
        return InputFile(path, is_video=True, frame_count=count, fps=fps if math.isfinite(fps) else 0.0)
    finally:
        capture.release()


def _classify_file(path: Path) -> InputFile:
    """An image by its name (.png, .jpg...), a video by its name, else whatever OpenCV can open."""
    suffix = path.suffix.lower()
    if suffix not in VIDEO_SUFFIXES and cv2.haveImageReader(str(path)):
        return InputFile(path)
    video = _probe_video(path) if suffix not in IMAGE_SUFFIXES else None
    if video is None:
        raise FrameSourceError(f"cannot read {path}: not an image or a video OpenCV can open")
    return video


def is_bag(path: Path) -> bool:
    """A rosbag2 (a folder with metadata.yaml, or an .mcap or .db3 file): read by `orpose_ros.ros.bags`."""
    return (path.is_dir() and (path / "metadata.yaml").is_file()) or (
        path.is_file() and path.suffix.lower() in {".mcap", ".db3"})


def folder_images(folder: Path) -> list[Path]:
    """The image files of ``folder`` (by suffix), sorted by name; raises if there are none."""
    images = sorted(p for p in folder.iterdir() if p.is_file() and p.suffix.lower() in IMAGE_SUFFIXES)
    if not images:
        raise FrameSourceError(f"no images ({', '.join(sorted(IMAGE_SUFFIXES))}) in folder {folder}")
    return images


def discover_inputs(paths: Sequence[Path]) -> list[InputFile]:
    """Expand folders into their images (sorted by name) and check every file can be opened."""
    found: list[InputFile] = []
    for path in paths:
        if path.is_dir():
            found += [_classify_file(p) for p in folder_images(path)]
        elif path.is_file():
            found.append(_classify_file(path))
        else:
            raise FrameSourceError(f"input not found: {path}")
    return found


def count_frames(inputs: Sequence[InputFile]) -> int | None:
    """Total number of frames, or None when a video does not tell its length."""
    if any(f.is_video and f.frame_count == 0 for f in inputs):
        return None
    return sum(f.frame_count if f.is_video else 1 for f in inputs)


def _video_frames(item: InputFile) -> Iterator[Frame]:
    capture = cv2.VideoCapture(str(item.path))
    index = 0
    try:
        while True:
            ok, image = capture.read()
            if not ok:
                break
            yield Frame(f"{item.path}#{index}", f"{item.path.stem}_{index:06d}", image)
            index += 1
    finally:
        capture.release()
    if index == 0:
        raise FrameSourceError(f"cannot read any frame from video {item.path}")


def iter_frames(inputs: Iterable[InputFile]) -> Iterator[Frame]:
    """BGR uint8 frames of all inputs in order; video frames are named ``path#index``."""
    for item in inputs:
        if item.is_video:
            yield from _video_frames(item)
            continue
        image = cv2.imread(str(item.path), cv2.IMREAD_COLOR)
        if image is None:
            raise FrameSourceError(f"cannot read image {item.path}")
        yield Frame(str(item.path), item.path.stem, image)


def load_frames(
    source: str | Path, count: int | None = None, size: tuple[int, int] | None = None
) -> list[np.ndarray]:
    """Frames of ``source`` (a path or `SYNTHETIC`) in memory, e.g. for a replay or a benchmark.

    Args:
        source: an image, a folder of images, a video, or ``"synthetic"``.
        count: how many frames: the source is cycled when shorter; None: all of them (a synthetic
            source then gives 100).
        size: (width, height) to resize every frame to, with PIL bilinear as the published demo
            restores its low-resolution frames (53x40 -> 640x480); None: as read (synthetic: 640x480).
    """
    if str(source) == SYNTHETIC:
        width, height = size or (640, 480)
        return [synthetic_frame(i, width, height) for i in range(100 if count is None else count)]
    frames = [f.image for f in iter_frames(discover_inputs([Path(source)]))]
    if count is not None:
        frames = list(itertools.islice(itertools.cycle(frames), count))
    if size is not None:
        frames = [f if f.shape[:2] == (size[1], size[0]) else privacy.resize(f, (size[1], size[0])) for f in frames]
    return frames


def frame_stream(source: str | Path, size: tuple[int, int] | None = None) -> Iterator[np.ndarray]:
    """Endless frames of ``source`` (see `load_frames`): files loop, the synthetic camera never repeats."""
    if str(source) == SYNTHETIC:
        width, height = size or (640, 480)
        return (synthetic_frame(i, width, height) for i in itertools.count())
    return itertools.cycle(load_frames(source, size=size))
