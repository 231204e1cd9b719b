"""What every pose backend checks alike: the privacy factor of its frames and the person score threshold.

Both backends (`model.OrPosePredictor`, `backends.ExportedBackend`) inherit `FrameSettings`, so the two
rules have one home: a factor is an integer >= 1 fixed when the backend is made, a threshold is within
0..1 and may change at run time (a node parameter), and a frame is taken when `privacy.check_frame`
takes it.
"""

from __future__ import annotations

import numpy as np

from orpose_ros import privacy
from orpose_ros.privacy import RestoreSize


class FrameSettings:
    """The privacy factor S (1 = off) and the score threshold of a backend, validated."""

    def __init__(self, downsample_factor: int, score_threshold: float) -> None:
        if isinstance(downsample_factor, bool) or not isinstance(downsample_factor, int) or downsample_factor < 1:
            raise ValueError(f"downsample_factor must be an integer >= 1, got {downsample_factor!r}")
        self._downsample_factor = downsample_factor
        self.score_threshold = score_threshold

    @property
    def downsample_factor(self) -> int:
        """Privacy factor S (1 = off): full-resolution frames are shrunk by S before the model sees them."""
        return self._downsample_factor

    @property
    def score_threshold(self) -> float:
        """Persons scoring at most this are dropped (0..1)."""
        return self._score_threshold

    @score_threshold.setter
    def score_threshold(self, threshold: float) -> None:
        if not 0.0 <= float(threshold) <= 1.0:
            raise ValueError(f"score_threshold must be within 0..1, got {threshold!r}")
        self._score_threshold = float(threshold)

    def check_frame(self, frame: np.ndarray, restore_to: RestoreSize = None) -> int:
        """The privacy factor of ``frame`` in `predict`; ValueError when it cannot be taken (see
        `privacy.check_frame`)."""
        return privacy.check_frame(frame, self._downsample_factor, restore_to)
