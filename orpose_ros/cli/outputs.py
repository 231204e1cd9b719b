"""What the offline tools write: JSON results (never half a file) and renderings (a PNG per frame
into a folder, or an mp4 video)."""

from __future__ import annotations

import json
import logging
import os
from pathlib import Path
from typing import Any

import cv2
import numpy as np

from orpose_ros.arguments import CliError

log = logging.getLogger(__name__)


def write_json_atomic(path: Path, content: Any, **dump_options: Any) -> None:
    """Write ``content`` as strict JSON through a temporary file, so a crash never leaves half a file."""
    partial = path.with_name(f".{path.name}.part")
    try:
        with partial.open("w", encoding="utf-8") as out:
            json.dump(content, out, allow_nan=False, **dump_options)
            out.write("\n")
    except (ValueError, TypeError):
        partial.unlink(missing_ok=True)
        raise
    os.replace(partial, path)


class PngSink:
    """One PNG per frame in a folder: ``<index>_<name>.png``."""

    def __init__(self, folder: Path) -> None:
        if folder.exists() and not folder.is_dir():
            raise CliError(f"--render {folder}: exists and is not a folder (use a .mp4 name for a video)")
        folder.mkdir(parents=True, exist_ok=True)
        self.folder = folder
        self.count = 0

    def write(self, name: str, image: np.ndarray) -> None:
        """Save one drawn frame."""
        path = self.folder / f"{self.count:06d}_{name}.png"
        if not cv2.imwrite(str(path), image):
            raise CliError(f"cannot write {path}")
        self.count += 1

    def close(self) -> None:
        """Nothing to flush."""


class Mp4Sink:
    """An mp4 (mp4v) video; its size is the first frame's, later frames of another size are resized."""

    def __init__(self, path: Path, fps: float) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self.path, self.fps = path, fps
        self.writer: cv2.VideoWriter | None = None
        self.size: tuple[int, int] | None = None
        self.count = 0
        self.warned = False

    def write(self, name: str, image: np.ndarray) -> None:
        """Append one drawn frame."""
        height, width = image.shape[:2]
        if self.writer is None:
            self.size = (width, height)
            fourcc = cv2.VideoWriter_fourcc(*"mp4v")
            self.writer = cv2.VideoWriter(str(self.path), fourcc, self.fps, self.size)
            if not self.writer.isOpened():
                raise CliError(f"cannot write video {self.path}")
        elif (width, height) != self.size:
            if not self.warned:
                log.warning("%s is %dx%d, the video %dx%d: resized", name, width, height, *self.size)
                self.warned = True
            image = cv2.resize(image, self.size, interpolation=cv2.INTER_AREA)
        self.writer.write(image)
        self.count += 1

    def close(self) -> None:
        """Finish the video file."""
        if self.writer is not None:
            self.writer.release()


def open_render_sink(path: Path, fps: float) -> PngSink | Mp4Sink:
    """An mp4 video at ``fps`` for a ``*.mp4`` path, else a folder of PNGs."""
    return Mp4Sink(path, fps) if path.suffix.lower() == ".mp4" else PngSink(path)
