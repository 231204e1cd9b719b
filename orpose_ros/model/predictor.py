"""`OrPosePredictor`: the inference API of the ORPose student for the ROS node and the CLIs.

One call takes a batch of BGR uint8 frames (one per camera, any sizes) and returns one
`FramePoses` per frame, in the frame's own pixels:

    check_frame -> privacy (shrink and restore a full-resolution frame, or restore a frame that
    arrives already shrunk) -> resize to the network input (as detectron2's DefaultPredictor)
    -> ONE forward per frame size -> instances_to_persons.

Frames of the same size share one forward; frames of other sizes are not padded together, which
would change their results (docs/predictor.md has the measurements).
"""

from __future__ import annotations

import contextlib
import logging
import threading
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import torch
from detectron2.config import CfgNode
from detectron2.data.transforms import ResizeShortestEdge
from detectron2.structures import Instances
from torch import nn

from orpose_ros import privacy
from orpose_ros.backends.frame_settings import FrameSettings
from orpose_ros.backends.protocol import DeviceUnavailableError, InferenceCancelledError
from orpose_ros.model_files import downsample_factor_from_name, resolve_stats_path
from orpose_ros.poses import DetectedPerson, FramePoses
from orpose_ros.privacy import RestoreSize, model_view

from . import resample
from .checkpoint import load_state_dict_strict, load_weights, read_state_dict
from .config import build_orpose_model, get_orpose_cfg
from .keypoint_head import PLACEHOLDER_STATS
from .random_weights import random_state_dict

logger = logging.getLogger(__name__)

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


def network_input_size(h: int, w: int, cfg: CfgNode) -> tuple[int, int]:
    """(height, width) of the network input for an h x w frame (INPUT.MIN/MAX_SIZE_TEST of ``cfg``)."""
    return ResizeShortestEdge.get_output_shape(h, w, cfg.INPUT.MIN_SIZE_TEST, cfg.INPUT.MAX_SIZE_TEST)


def prepare_pil(
    frame: np.ndarray, factor: int, restore_to: RestoreSize, cfg: CfgNode
) -> tuple[np.ndarray, torch.Tensor]:
    """The published CPU preprocessing of one frame.

    Returns:
        ``(model_view, image)``: the frame the model sees (see `model_view`) and the (3, H', W')
        float32 network input (BGR, 0..255, resized with PIL bilinear as DefaultPredictor does).
    """
    view = model_view(frame, factor, restore_to)
    resized = privacy.resize(view, network_input_size(*view.shape[:2], cfg))
    return view, torch.as_tensor(resized.astype(np.float32).transpose(2, 0, 1))


def prepare_torch(
    frames: Sequence[np.ndarray], factor: int, restore_to: RestoreSize, device: torch.device, cfg: CfgNode
) -> tuple[torch.Tensor, torch.Tensor]:
    """The torch preprocessing of same-size frames on ``device`` (the GPU fast path; bit-identical to PIL's).

    Returns:
        ``(model_view, images)``: (N, 3, H, W) uint8 frames the model sees and (N, 3, H', W') float32
        network inputs, both on ``device``.
    """
    h, w = frames[0].shape[:2]
    host = torch.empty((len(frames), h, w, 3), dtype=torch.uint8, pin_memory=device.type == "cuda")
    host_np = host.numpy()
    for i, frame in enumerate(frames):
        host_np[i] = frame
    batch = host.to(device, non_blocking=True).permute(0, 3, 1, 2)
    if restore_to is not None:
        view = resample.resize_torch(batch, restore_to)
    else:
        view = resample.shrink_and_restore_torch(batch, factor) if factor > 1 else batch
    return view, resample.resize_torch(view, network_input_size(*view.shape[-2:], cfg)).float()


def instances_to_persons(instances: Instances, score_threshold: float) -> tuple[DetectedPerson, ...]:
    """Model outputs of one frame -> persons scoring above ``score_threshold``, best first.

    Args:
        instances: detectron2 outputs after postprocessing (model-view pixels): ``pred_boxes``,
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
        DetectedPerson(
            score=float(scores[i]),
            bbox=boxes[i].astype(np.float32),
            keypoints_2d=kpts_2d[i].astype(np.float32),
            keypoints_3d=kpts_3d[i].astype(np.float32),
        )
        for i in order
        if scores[i] > score_threshold
    )


class OrPosePredictor(FrameSettings):
    """Runs the ORPose student on batches of camera frames. Not thread-safe: one caller at a time
    (`cancel` excepted).

    Args:
        model: built by `build_orpose_model` from ``cfg``, with its weights loaded. It is used in
            place (not copied): moved to ``device`` and put in eval mode.
        cfg: the model's frozen config; the network input size comes from its ``INPUT`` keys.
        device: "cpu", "cuda", "cuda:N" or "auto" (CUDA when available).
        fp16: run the network under float16 autocast (CUDA only; decoding and lifting stay float32).
        downsample_factor: privacy factor S >= 1; frames are shrunk by S and restored (1 = off).
        score_threshold: persons scoring at most this are dropped (0..1; the demo's 0.5).
        gpu_preprocess: resample with torch on the device (pinned host memory, one batch per size)
            instead of the published PIL path; default True on CUDA, False on CPU.
        channels_last: keep the network's tensors in the channels-last memory format (same results).
    """

    def __init__(
        self,
        model: nn.Module,
        cfg: CfgNode,
        *,
        device: str | torch.device = "auto",
        fp16: bool = False,
        downsample_factor: int = 1,
        score_threshold: float = 0.5,
        gpu_preprocess: bool | None = None,
        channels_last: bool = False,
    ) -> None:
        self._device = resolve_device(device)
        if fp16 and self._device.type != "cuda":
            raise ValueError(f"fp16 needs a CUDA device; this predictor runs on {self._device}")
        self.cfg = cfg
        self.fp16 = bool(fp16)
        self.gpu_preprocess = self._device.type == "cuda" if gpu_preprocess is None else bool(gpu_preprocess)
        super().__init__(downsample_factor, score_threshold)
        self.model: nn.Module | None = model.to(self._device).eval()
        if channels_last:
            self.model.to(memory_format=torch.channels_last)
        self._cancelled = threading.Event()

    @classmethod
    def from_files(cls, weights: str | Path, stats: str | Path | None = None, **kw) -> OrPosePredictor:
        """Build the model and load official weights strictly.

        Args:
            weights: an official ``orpose_fixed_Sx_model_final.pth`` (or a file of the same layout).
            stats: h36stats.json; default: beside the weights, else in the models folder.
            **kw: constructor arguments; ``downsample_factor`` defaults to the S in the weights'
                name (1 when the name has none).

        Raises:
            CheckpointError: missing weights or a layout that is not the official one.
            StatsError: missing or malformed statistics.
        """
        weights = Path(weights)
        state_dict = read_state_dict(weights)  # a missing weights file is reported before missing stats
        cfg = get_orpose_cfg(stats_file=resolve_stats_path(weights, stats))
        model = build_orpose_model(cfg)
        load_state_dict_strict(model, state_dict, source=weights)
        logger.info("loaded ORPose weights %s and statistics %s", weights, cfg.MODEL.ROI_KEYPOINTS3D_HEAD.STATS_FILE)
        kw.setdefault("downsample_factor", downsample_factor_from_name(weights) or 1)
        return cls(model, cfg, **kw)

    @classmethod
    def from_checkpoint(cls, checkpoint: str | Path, stats_file: str | Path, **kw) -> OrPosePredictor:
        """The model with the weights of ``checkpoint`` loaded as detectron2 loads them (`load_weights`), the
        statistics ``stats_file`` (or `PLACEHOLDER_STATS`) used as given; ``kw``: constructor arguments. For
        comparisons with the published pipeline on the same files (orpose-bench)."""
        cfg = get_orpose_cfg(stats_file=str(stats_file))
        model = build_orpose_model(cfg)
        load_weights(model, checkpoint)
        return cls(model, cfg, **kw)

    @classmethod
    def with_random_weights(cls, seed: int, stats: str | Path | None = None, **kw) -> OrPosePredictor:
        """A model with random detecting weights (`random_state_dict`), for tests and demos ONLY.

        Without ``stats``, the models folder's h36stats.json is used when present, else neutral
        placeholder statistics (with a warning).
        """
        logger.warning(
            "ORPose is running with RANDOM WEIGHTS (seed %d): its detections are meaningless; for tests "
            "and demos only. Real poses need the official checkpoints: 'orpose-download-models' "
            "(models/README.md)", seed,
        )  # fmt: skip
        try:
            stats_file: str | Path = resolve_stats_path(None, stats)
        except ValueError as error:
            if stats is not None:
                raise
            logger.warning("%s Using placeholder statistics: the 3D joints mean nothing", error)
            stats_file = PLACEHOLDER_STATS
        cfg = get_orpose_cfg(stats_file=stats_file)
        model = build_orpose_model(cfg)
        load_state_dict_strict(model, random_state_dict(model, seed), source=f"random weights (seed {seed})")
        return cls(model, cfg, **kw)

    name = "detectron2"  # the PoseBackend's runtime

    @property
    def device(self) -> torch.device:
        """The torch device the model runs on."""
        return self._device

    def predict(
        self,
        frames: Sequence[np.ndarray],
        *,
        restore_to: Sequence[RestoreSize] | None = None,
        return_model_view: bool = False,
    ) -> list[FramePoses]:
        """Detect people and their 2D/3D poses in each frame.

        Args:
            frames: (H, W, 3) uint8 BGR frames, one per camera, of any sizes.
            restore_to: per frame, None for a full-resolution frame (shrunk by ``downsample_factor``
                and restored here), or the (height, width) to restore a frame that arrives already
                shrunk (by a privacy filter beside the camera); its results are then in the pixels
                of that size and its factor is the one it was shrunk by.
            return_model_view: also return the (H, W, 3) uint8 frame the model saw (in privacy mode
                the shrunk-and-restored frame, never the original).

        Returns:
            One `FramePoses` per frame, in order; keypoints and boxes in the model view's pixels.

        Raises:
            ValueError: a frame fails `check_frame` (the message names its index).
            InferenceCancelledError: `cancel` was called.
        """
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
        groups: dict[tuple, list[int]] = {}  # (input size, restore size) -> frame indices
        for i, frame in enumerate(frames):
            groups.setdefault((frame.shape[:2], restores[i]), []).append(i)
        results: list[FramePoses | None] = [None] * len(frames)
        for (_, restore), indices in groups.items():
            views, outputs = self._run_group([frames[i] for i in indices], restore, return_model_view)
            for i, view, instances in zip(indices, views, outputs, strict=True):
                h, w = restore if restore is not None else frames[i].shape[:2]
                results[i] = FramePoses(
                    width=w,
                    height=h,
                    downsample_factor=factors[i],
                    persons=instances_to_persons(instances, self._score_threshold),
                    model_view=view,
                )
        return results  # type: ignore[return-value]

    def _run_group(
        self, frames: list[np.ndarray], restore: RestoreSize, want_views: bool
    ) -> tuple[list[np.ndarray | None], list[Instances]]:
        """Preprocess same-size frames and run one batched forward; returns views and instances."""
        if self.model is None or self._cancelled.is_set():
            raise InferenceCancelledError("the predictor was cancelled or closed")
        factor = self._downsample_factor
        if self.gpu_preprocess:
            view_batch, images = prepare_torch(frames, factor, restore, self._device, self.cfg)
            views = list(view_batch.permute(0, 2, 3, 1).cpu().numpy()) if want_views else [None] * len(frames)
            image_list = list(images)
        else:
            prepared = [prepare_pil(f, factor, restore, self.cfg) for f in frames]
            views = [v.copy() if want_views else None for v, _ in prepared]
            image_list = [img for _, img in prepared]
        h, w = restore or frames[0].shape[:2]  # detectron2 maps its outputs back to this size
        inputs = [{"image": img, "height": h, "width": w} for img in image_list]
        autocast = (
            torch.autocast(device_type="cuda", dtype=torch.float16) if self.fp16 else contextlib.nullcontext()
        )
        # Cancellation points before every layer, for this call only (the model may be shared).
        hooks = [m.register_forward_pre_hook(self._raise_if_cancelled) for m in self.model.modules()]
        try:
            with torch.inference_mode(), autocast:
                outputs = self.model(inputs)
        finally:
            for hook in hooks:
                hook.remove()
        return views, [out["instances"] for out in outputs]

    def _raise_if_cancelled(self, *_: object) -> None:
        if self._cancelled.is_set():
            raise InferenceCancelledError("inference cancelled")

    def cancel(self) -> None:
        """Stop the forward pass running in another thread at its next layer, and every later one.

        Safe to call from any thread (e.g. a shutdown handler): `predict` then raises
        `InferenceCancelledError`, usually within a few hundred milliseconds on a CPU.
        """
        self._cancelled.set()

    def close(self) -> None:
        """Cancel, drop the model and release its GPU memory (the predictor cannot be used again)."""
        self.cancel()
        on_cuda = self._device.type == "cuda"
        self.model = None
        if on_cuda:
            torch.cuda.empty_cache()
