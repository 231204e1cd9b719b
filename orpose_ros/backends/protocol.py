"""The pose-backend seam: what every inference runtime offers the nodes, the CLIs and the benchmark.

A backend takes a batch of BGR uint8 camera frames (plain numpy, one per camera, any sizes) and
returns one `FramePoses` per frame in that frame's pixels, after the privacy path (shrink and restore,
or restore of a frame that arrives already shrunk). Nothing outside a backend's own module imports
its runtime (detectron2, torch, ONNX Runtime...).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol, runtime_checkable

import numpy as np

from orpose_ros.poses import FramePoses
from orpose_ros.privacy import RestoreSize


class BackendError(RuntimeError):
    """A backend cannot be built or run as asked: the message says why and what to do (one line)."""


class DeviceUnavailableError(BackendError):
    """The requested device does not exist on this machine (e.g. CUDA without a GPU)."""


class InferenceCancelledError(RuntimeError):
    """`PoseBackend.cancel` stopped an inference (shutdown)."""


@runtime_checkable
class PoseBackend(Protocol):
    """An ORPose runtime. Not thread-safe: one caller at a time, `cancel` excepted (any thread)."""

    @property
    def name(self) -> str:
        """The runtime's name, e.g. 'detectron2'."""

    @property
    def device(self) -> object:
        """Where it runs (printable: 'cpu', 'cuda:0'...)."""

    @property
    def downsample_factor(self) -> int:
        """Privacy factor S >= 1 applied to full-resolution frames (1 = off)."""

    score_threshold: float
    """Persons scoring at most this are dropped (0..1); may change between calls."""

    def check_frame(self, frame: np.ndarray, restore_to: RestoreSize = None) -> int:
        """The privacy factor ``frame`` goes through the model with; ValueError when it cannot take it."""

    def predict(self, frames: Sequence[np.ndarray], *, restore_to: Sequence[RestoreSize] | None = None,
                return_model_view: bool = False) -> list[FramePoses]:
        """One `FramePoses` per frame, in order. ValueError for a frame that fails `check_frame`;
        `InferenceCancelledError` after `cancel`."""

    def cancel(self) -> None:
        """Stop a running `predict` soon, and every later one."""

    def close(self) -> None:
        """Cancel and release the model and its device memory; the backend cannot be used again."""
