"""`OrPosePredictor`: the inference API of the ORPose student for the ROS node and the CLI.

One call takes a batch of BGR uint8 frames (one per camera, any sizes) and returns one
`FramePoses` per frame, in the frame's own pixels. The stages are small functions:

    validate_frames -> privacy shrink/restore (if factor > 1) -> resize to the network input
    (ResizeShortestEdge 800/1333 as detectron2's DefaultPredictor) -> ONE forward per frame size
    under torch.inference_mode() -> detector_postprocess (inside the model) maps boxes and 2D
    keypoints back to the source frame -> instances_to_persons.

Batching: frames of the same size share one forward; frames of other sizes go in separate
forwards. Padding them together would change results: detectron2 pads a batch to its largest
image (rounded up to 32 px). Measured with random detecting weights: each of the shared frames
000020, 000022 and 000024 restored to 640x360 (network input 750x1333) and batched with itself
restored to 640x480 (800x1067, so padded together to 800x1344): for 000022 and 000024 the 640x360
frame's detections differed from those of a call of its own (box coordinates up to 361 px apart,
scores up to 0.24; for 000020 only by float noise, 2e-5), while the 640x480 frame's results
stayed the same. Same-size frames batched give the
results of single calls to within float tolerance (measured: boxes, scores and 2D keypoints
identical, 3D joints within 3e-7 m; tested).
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import torch
from torch import nn

from orpose_ros import privacy
from orpose_ros.poses import FramePoses, PersonPose

from . import detectron2_compat  # noqa: F401  (must precede every detectron2 import)

# isort: split
from detectron2.data.transforms import ResizeShortestEdge
from detectron2.structures import Instances

from orpose_ros.h36m_stats import H36MStats

from .checkpoint import (
    DEFAULT_MODELS_DIR,
    STATS_FILE_NAME,
    downsample_factor_from_name,
    load_state_dict_strict,
    read_state_dict,
    resolve_stats_path,
)
from .config import build_orpose_model, get_orpose_cfg
from .random_weights import random_state_dict

logger = logging.getLogger(__name__)

#: detectron2 DefaultPredictor's test-time resize of the published config (INPUT.MIN/MAX_SIZE_TEST).
MIN_SIZE_TEST = 800
MAX_SIZE_TEST = 1333


class DeviceUnavailableError(RuntimeError):
    """The requested torch device does not exist on this machine (e.g. CUDA without a GPU)."""


def resolve_device(device: str | torch.device) -> torch.device:
    """Turn "cpu", "cuda", "cuda:N" or "auto" (CUDA when available) into a usable `torch.device`.

    Raises:
        DeviceUnavailableError: CUDA requested but unavailable, or no GPU N.
        ValueError: any other device string.
    """
    if str(device) == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    try:
        dev = torch.device(device)
    except (RuntimeError, TypeError) as exc:
        raise ValueError(f"unknown device {device!r}: use 'cpu', 'cuda', 'cuda:N' or 'auto'") from exc
    if dev.type == "cpu":
        return dev
    if dev.type != "cuda":
        raise ValueError(f"unsupported device {device!r}: use 'cpu', 'cuda', 'cuda:N' or 'auto'")
    if not torch.cuda.is_available():
        raise DeviceUnavailableError(
            f"device {device!r} was requested but CUDA is not available here (torch {torch.__version__}, "
            f"{torch.cuda.device_count()} GPU(s) visible); use device='cpu' or 'auto'"
        )
    if dev.index is not None and dev.index >= torch.cuda.device_count():
        raise DeviceUnavailableError(
            f"device {device!r} was requested but only {torch.cuda.device_count()} GPU(s) are visible"
        )
    return dev


def validate_frames(frames: Sequence[np.ndarray]) -> None:
    """Raise ValueError naming the first bad frame: not an (H, W, 3) uint8 numpy array, or empty."""
    if isinstance(frames, np.ndarray) or not isinstance(frames, Sequence):
        raise ValueError("frames must be a sequence of (H, W, 3) uint8 BGR arrays (one per camera)")
    for i, frame in enumerate(frames):
        if not isinstance(frame, np.ndarray):
            raise ValueError(f"frame {i}: expected a numpy array, got {type(frame).__name__}")
        if frame.ndim != 3 or frame.shape[2] != 3:
            raise ValueError(f"frame {i}: expected shape (H, W, 3) BGR, got {frame.shape}")
        if frame.dtype != np.uint8:
            raise ValueError(f"frame {i}: expected dtype uint8, got {frame.dtype}")
        if frame.size == 0:
            raise ValueError(f"frame {i}: empty frame of shape {frame.shape}")


def network_input_size(h: int, w: int) -> tuple[int, int]:
    """(height, width) of the network input for an h x w frame: shortest edge 800, longest <= 1333."""
    return ResizeShortestEdge.get_output_shape(h, w, MIN_SIZE_TEST, MAX_SIZE_TEST)


def prepare_pil(frame: np.ndarray, factor: int) -> tuple[np.ndarray, torch.Tensor]:
    """The published CPU preprocessing of one frame.

    Returns:
        ``(model_view, image)``: the (H, W, 3) uint8 frame after privacy shrink/restore (the frame
        itself when factor is 1) and the (3, H', W') float32 network input (BGR, 0..255, resized
        with PIL bilinear as detectron2's DefaultPredictor does).
    """
    view = privacy.shrink_and_restore(frame, factor) if factor > 1 else frame
    resized = privacy.resize(view, network_input_size(*view.shape[:2]))
    return view, torch.as_tensor(resized.astype(np.float32).transpose(2, 0, 1))


def prepare_torch(
    frames: Sequence[np.ndarray], factor: int, device: torch.device
) -> tuple[torch.Tensor, torch.Tensor]:
    """The torch preprocessing of same-size frames on ``device`` (the GPU fast path; bit-identical to PIL's).

    Returns:
        ``(model_view, images)``: (N, 3, H, W) uint8 after privacy shrink/restore and (N, 3, H', W')
        float32 network inputs, both on ``device``.
    """
    h, w = frames[0].shape[:2]
    host = torch.empty((len(frames), h, w, 3), dtype=torch.uint8, pin_memory=device.type == "cuda")
    host_np = host.numpy()
    for i, frame in enumerate(frames):
        host_np[i] = frame
    batch = host.to(device, non_blocking=True).permute(0, 3, 1, 2)
    view = privacy.shrink_and_restore_torch(batch, factor) if factor > 1 else batch
    return view, privacy.resize_torch(view, network_input_size(h, w)).float()


def instances_to_persons(instances: Instances, score_threshold: float) -> tuple[PersonPose, ...]:
    """Model outputs of one frame -> persons scoring above ``score_threshold``, best first.

    Args:
        instances: detectron2 outputs after postprocessing (source-frame pixels): ``pred_boxes``,
            ``scores``, ``pred_keypoints`` (R, 17, 3) and ``pred_keypoints_3d`` (R, 17, 3) [m].
        score_threshold: keep ``score > score_threshold`` (the published demo draws ``score > 0.5``).
    """
    instances = instances.to("cpu")
    scores = instances.scores.float().numpy()
    boxes = instances.pred_boxes.tensor.float().numpy()
    kpts_2d = instances.pred_keypoints.float().numpy()
    kpts_3d = instances.pred_keypoints_3d.float().numpy()
    order = np.argsort(-scores, kind="stable")
    return tuple(
        PersonPose(
            score=float(scores[i]),
            box=boxes[i].astype(np.float32),
            keypoints_2d=kpts_2d[i].astype(np.float32),
            keypoints_3d=kpts_3d[i].astype(np.float32),
        )
        for i in order
        if scores[i] > score_threshold
    )


class OrPosePredictor:
    """Runs the ORPose student on batches of camera frames. Not thread-safe: one caller at a time.

    Args:
        model: the model of `build_orpose_model`, with its weights loaded. It is used in place (not
            copied): moved to ``device``, put in eval mode and given ``stats``.
        stats: Human3.6M statistics of the 3D lifting.
        device: "cpu", "cuda", "cuda:N" or "auto" (CUDA when available).
        fp16: run the network under float16 autocast (CUDA only; decoding and lifting stay float32).
        downsample_factor: privacy factor S >= 1; frames are shrunk by S and restored (1 = off).
        score_threshold: persons scoring at most this are dropped (0..1; the demo's 0.5).
        gpu_preprocess: resample with torch on the device (pinned host memory, one batch per size)
            instead of the published PIL path; default True on CUDA, False on CPU.
    """

    def __init__(
        self,
        model: nn.Module,
        stats: H36MStats,
        *,
        device: str | torch.device = "auto",
        fp16: bool = False,
        downsample_factor: int = 1,
        score_threshold: float = 0.5,
        gpu_preprocess: bool | None = None,
    ) -> None:
        self._device = resolve_device(device)
        if fp16 and self._device.type != "cuda":
            raise ValueError(f"fp16 needs a CUDA device; this predictor runs on {self._device}")
        self.fp16 = bool(fp16)
        self.gpu_preprocess = self._device.type == "cuda" if gpu_preprocess is None else bool(gpu_preprocess)
        self.downsample_factor = downsample_factor
        self.score_threshold = score_threshold
        model.roi_heads.keypoint_head.set_stats(stats)
        self.stats = stats
        self.model = model.to(self._device).eval()

    @classmethod
    def from_files(cls, weights: str | Path, stats: str | Path | None = None, **kw) -> OrPosePredictor:
        """Build the model and load official weights strictly.

        Args:
            weights: an official ``orpose_fixed_Sx_model_final.pth`` (or a file of the same layout).
            stats: h36stats.json; default: beside the weights, else ``<repo>/models``.
            **kw: constructor arguments; ``downsample_factor`` defaults to the S in the weights'
                name (1 when the name has none).

        Raises:
            CheckpointError: missing weights or a layout that is not the official one.
            StatsError: missing or malformed statistics.
        """
        weights = Path(weights)
        state_dict = read_state_dict(weights)  # a missing weights file is reported before missing stats
        h36m = H36MStats.from_json(resolve_stats_path(weights, stats))
        model = build_orpose_model(get_orpose_cfg("cpu"))
        load_state_dict_strict(model, state_dict, source=weights)
        logger.info("loaded ORPose weights %s and statistics %s", weights, h36m.source)
        kw.setdefault("downsample_factor", downsample_factor_from_name(weights) or 1)
        return cls(model, h36m, **kw)

    @classmethod
    def with_random_weights(cls, seed: int, stats: str | Path | None = None, **kw) -> OrPosePredictor:
        """A model with random detecting weights (`random_state_dict`), for tests and demos ONLY.

        Without ``stats``, ``<repo>/models/h36stats.json`` is used when present, else neutral
        placeholder statistics (with a warning).
        """
        logger.warning(
            "ORPose is running with RANDOM WEIGHTS (seed %d): its detections are meaningless; "
            "for tests and demos only", seed,
        )
        default_stats = DEFAULT_MODELS_DIR / STATS_FILE_NAME
        if stats is not None:
            h36m = H36MStats.from_json(stats)
        elif default_stats.is_file():
            h36m = H36MStats.from_json(default_stats)
        else:
            logger.warning("no %s: using placeholder statistics, the 3D joints mean nothing", default_stats)
            h36m = H36MStats.placeholder()
        model = build_orpose_model(get_orpose_cfg("cpu"))
        load_state_dict_strict(model, random_state_dict(model, seed), source=f"random weights (seed {seed})")
        return cls(model, h36m, **kw)

    @property
    def device(self) -> torch.device:
        """The torch device the model runs on."""
        return self._device

    @property
    def downsample_factor(self) -> int:
        """Privacy factor S (1 = off)."""
        return self._downsample_factor

    @downsample_factor.setter
    def downsample_factor(self, factor: int) -> None:
        if isinstance(factor, bool) or not isinstance(factor, int) or factor < 1:
            raise ValueError(f"downsample_factor must be an integer >= 1, got {factor!r}")
        self._downsample_factor = factor

    @property
    def score_threshold(self) -> float:
        """Persons scoring at most this are dropped."""
        return self._score_threshold

    @score_threshold.setter
    def score_threshold(self, threshold: float) -> None:
        if not 0.0 <= float(threshold) <= 1.0:
            raise ValueError(f"score_threshold must be within 0..1, got {threshold!r}")
        self._score_threshold = float(threshold)

    def predict(self, frames: Sequence[np.ndarray], *, return_model_view: bool = False) -> list[FramePoses]:
        """Detect people and their 2D/3D poses in each frame.

        Args:
            frames: (H, W, 3) uint8 BGR frames, one per camera, of any sizes (each at least
                ``downsample_factor`` pixels on both sides).
            return_model_view: also return the (H, W, 3) uint8 frame the model saw (in privacy mode
                the shrunk-and-restored frame, never the original).

        Returns:
            One `FramePoses` per frame, in order; keypoints and boxes in that frame's pixels.
            Frames of the same size share one forward; frames of different sizes are not padded
            together (that changes results, see the module docstring).

        Raises:
            ValueError: a frame is not (H, W, 3) uint8, is empty, or is too small to shrink.
        """
        validate_frames(frames)
        factor = self._downsample_factor
        for i, frame in enumerate(frames):
            try:
                privacy.shrunk_size(frame.shape[0], frame.shape[1], factor)
            except ValueError as exc:
                raise ValueError(f"frame {i}: {exc}") from None
        groups: dict[tuple[int, int], list[int]] = {}  # source size -> frame indices
        for i, frame in enumerate(frames):
            groups.setdefault(frame.shape[:2], []).append(i)
        results: list[FramePoses | None] = [None] * len(frames)
        for indices in groups.values():
            group = [frames[i] for i in indices]
            views, outputs = self._run_group(group, return_model_view)
            for i, view, instances in zip(indices, views, outputs, strict=True):
                h, w = frames[i].shape[:2]
                results[i] = FramePoses(
                    width=w,
                    height=h,
                    downsample_factor=factor,
                    persons=instances_to_persons(instances, self._score_threshold),
                    model_view=view,
                )
        return results  # type: ignore[return-value]

    def _run_group(
        self, frames: list[np.ndarray], want_views: bool
    ) -> tuple[list[np.ndarray | None], list[Instances]]:
        """Preprocess same-size frames and run one batched forward; returns views and instances."""
        h, w = frames[0].shape[:2]
        if self.gpu_preprocess:
            view_batch, images = prepare_torch(frames, self._downsample_factor, self._device)
            views = list(view_batch.permute(0, 2, 3, 1).cpu().numpy()) if want_views else [None] * len(frames)
            image_list = list(images)
        else:
            prepared = [prepare_pil(f, self._downsample_factor) for f in frames]
            views = [v.copy() if want_views else None for v, _ in prepared]
            image_list = [img for _, img in prepared]
        inputs = [{"image": img, "height": h, "width": w} for img in image_list]
        autocast = (
            torch.autocast(device_type="cuda", dtype=torch.float16) if self.fp16 else contextlib.nullcontext()
        )
        with torch.inference_mode(), autocast:
            outputs = self.model(inputs)
        return views, [out["instances"] for out in outputs]
