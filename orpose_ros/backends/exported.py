"""`ExportedBackend`: an exported model folder run by a graph runtime (ONNX Runtime, OpenVINO), no torch.

Per frame, in stages (cancellation is checked between them, and a runner stops a running graph):

    check_frame -> privacy view (PIL, `orpose_ros.privacy`) -> resize to the network input (PIL
    bilinear, as detectron2's DefaultPredictor) -> GRAPH (normalisation, padding, backbone, RPN, box
    head with NMS, keypoint convolutions) -> heatmap decoding and detector post-processing (numpy,
    `numpy_decoding`) -> lifting (numpy, `numpy_lifting`) -> persons above the threshold, best first.

The graph takes one frame at a time: on a CPU a batch does not pay (docs/predictor.md: 0.88x per
frame with detectron2), so the frames of a call run one after the other through the same session.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Sequence
from typing import Protocol

import numpy as np

from orpose_ros import privacy
from orpose_ros.backends.frame_settings import FrameSettings
from orpose_ros.backends.model_folder import ExportedModel
from orpose_ros.backends.numpy_decoding import decode_heatmaps, network_input_size, to_frame_pixels
from orpose_ros.backends.numpy_lifting import Lifting
from orpose_ros.backends.protocol import InferenceCancelledError
from orpose_ros.poses import DetectedPerson, FramePoses
from orpose_ros.privacy import RestoreSize

logger = logging.getLogger(__name__)


class GraphRunner(Protocol):
    """One runtime's session on ``detector.onnx``."""

    name: str
    device: str

    def run(self, image: np.ndarray, min_score: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """(1, 3, H, W) float32 BGR 0..255 network input and a (1,) float32 score threshold -> for the
        persons scoring above it: boxes (R, 4) [network-input px], scores (R,), hard and soft heatmap
        logits (R, 17, 56, 56). `InferenceCancelledError` after `cancel`."""

    def cancel(self) -> None:
        """Stop a running `run` (any thread) and every later one."""

    def close(self) -> None:
        """Release the session."""


class ExportedBackend(FrameSettings):
    """A `PoseBackend` on an exported model. Not thread-safe: one caller at a time (`cancel` excepted).

    Args:
        model: the opened folder.
        runner: the runtime session on its graph.
        downsample_factor: privacy factor S >= 1 (1 = off); must be the one the weights were
            trained for when the folder records it.
        score_threshold: persons scoring at most this are dropped (0..1).
    """

    def __init__(self, model: ExportedModel, runner: GraphRunner, *, downsample_factor: int,
                 score_threshold: float = 0.5) -> None:
        self.model = model
        self._runner: GraphRunner | None = runner
        self._lifting = Lifting(model.lifting_params, model.stats)
        rule = model.input_rule
        self._min_size, self._max_size = int(rule["min_size"]), int(rule["max_size"])
        fixed = rule.get("fixed_frame_size")
        self._fixed_size = tuple(fixed) if fixed else None
        super().__init__(downsample_factor, score_threshold)
        self._cancelled = threading.Event()

    @property
    def name(self) -> str:
        return self._runner.name if self._runner is not None else "closed"

    @property
    def device(self) -> str:
        return self._runner.device if self._runner is not None else "none"

    def check_frame(self, frame: np.ndarray, restore_to: RestoreSize = None) -> int:
        """The privacy factor of ``frame``; ValueError when it cannot be taken (also a frame size other
        than the one a fixed-size graph was exported for)."""
        factor = super().check_frame(frame, restore_to)
        size = tuple(restore_to) if restore_to is not None else frame.shape[:2]
        if self._fixed_size is not None and size != self._fixed_size:
            raise ValueError(
                f"the graph in {self.model.folder} was exported for {self._fixed_size[1]}x{self._fixed_size[0]} "
                f"frames, this one is {size[1]}x{size[0]}; export it without --fixed-size"
            )
        return factor

    def predict(self, frames: Sequence[np.ndarray], *, restore_to: Sequence[RestoreSize] | None = None,
                return_model_view: bool = False) -> list[FramePoses]:
        """One `FramePoses` per frame, in order (see `PoseBackend.predict`)."""
        if isinstance(frames, np.ndarray) or not isinstance(frames, Sequence):
            raise ValueError("frames must be a sequence of (H, W, 3) uint8 BGR arrays (one per camera)")
        restores = list(restore_to) if restore_to is not None else [None] * len(frames)
        if len(restores) != len(frames):
            raise ValueError(f"restore_to has {len(restores)} entries for {len(frames)} frames")
        factors = []
        for i, (frame, restore) in enumerate(zip(frames, restores, strict=True)):
            try:
                factors.append(self.check_frame(frame, restore))
            except ValueError as exc:
                raise ValueError(f"frame {i}: {exc}") from None
        return [self._predict_one(frame, restore, factor, return_model_view)
                for frame, restore, factor in zip(frames, restores, factors, strict=True)]

    def _stage(self) -> GraphRunner:
        """The runner, or `InferenceCancelledError` once cancelled or closed (called between stages)."""
        if self._runner is None or self._cancelled.is_set():
            raise InferenceCancelledError("the backend was cancelled or closed")
        return self._runner

    def _predict_one(self, frame: np.ndarray, restore: RestoreSize, factor: int, want_view: bool) -> FramePoses:
        runner = self._stage()
        view = privacy.model_view(frame, self._downsample_factor, restore)
        input_size = network_input_size(view.shape[0], view.shape[1], self._min_size, self._max_size)
        image = privacy.resize(view, input_size).astype(np.float32).transpose(2, 0, 1)[None]
        boxes, scores, hard, soft = runner.run(np.ascontiguousarray(image), self._graph_threshold())
        self._stage()
        persons = self.postprocess(boxes, scores, hard, soft, input_size, view.shape[:2])
        return FramePoses(width=view.shape[1], height=view.shape[0], downsample_factor=factor, persons=persons,
                          model_view=view.copy() if want_view else None)

    def _graph_threshold(self) -> np.ndarray:
        """The threshold as the graph's (1,) float32, rounded down: the graph keeps a superset of the
        persons above the exact threshold, which `postprocess` then applies."""
        value = np.float32(self._score_threshold)
        if float(value) > self._score_threshold:
            value = np.nextafter(value, np.float32(-1.0))
        return np.array([value], np.float32)

    def postprocess(self, boxes: np.ndarray, scores: np.ndarray, hard: np.ndarray, soft: np.ndarray,
                    input_size: tuple[int, int], frame_size: tuple[int, int]) -> tuple[DetectedPerson, ...]:
        """Graph outputs [network-input px] -> persons above the threshold in frame pixels, best first."""
        boxes = np.asarray(boxes, np.float32).reshape(-1, 4)
        scores = np.asarray(scores, np.float32).reshape(-1)
        frame_boxes, _, keep = to_frame_pixels(boxes, np.zeros((len(boxes), 0, 3), np.float32), input_size,
                                               frame_size)
        # Only the persons that are published are decoded and lifted: each person's keypoints depend
        # on its own box and heatmaps alone, so the others' work would be thrown away.
        chosen = [i for i in np.argsort(-scores, kind="stable") if keep[i] and scores[i] > self._score_threshold]
        if not chosen:
            return ()
        averaged, kpts_hard, kpts_soft = decode_heatmaps(hard[chosen], soft[chosen], boxes[chosen])
        self._stage()
        joints = self._lifting(kpts_hard, kpts_soft)
        _, keypoints, _ = to_frame_pixels(boxes[chosen], averaged, input_size, frame_size)
        return tuple(
            DetectedPerson(score=float(scores[i]), bbox=frame_boxes[i], keypoints_2d=keypoints[k],
                           keypoints_3d=joints[k])
            for k, i in enumerate(chosen)
        )

    def cancel(self) -> None:
        """Stop a running `predict` at its next stage (the graph itself is interrupted), and every later one."""
        self._cancelled.set()
        if self._runner is not None:
            self._runner.cancel()

    def close(self) -> None:
        """Cancel and release the session (the backend cannot be used again)."""
        self.cancel()
        runner, self._runner = self._runner, None
        if runner is not None:
            runner.close()
