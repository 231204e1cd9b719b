"""Export the ORPose student once (needs torch and detectron2) into a folder the exported backends run.

What goes in the graph and what stays in numpy, and why:

* **graph** (``detector.onnx``): normalisation and padding, backbone + FPN, RPN, box head with its
  score threshold, NMS and top-100 (RoiAlign and NonMaxSuppression are standard ONNX ops), then,
  for the boxes scoring above the graph's ``min_score`` input only, the keypoint ROI pooling, the
  eight convolutions (3.7 GMAC per person), both deconvolutions and their x2 upsampling: 99 % of the
  arithmetic, where a runtime's kernels pay. ``min_score`` is the caller's score threshold: persons at
  or below it are never published, and each person's keypoints depend on its own box alone, so
  skipping them changes no published output (detectron2 runs the head on every box above 0.05).
  Traced with the legacy exporter (``torch.onnx.export(dynamo=False)``, opset 17): ``torch.export``
  stops on a data-dependent guard in detectron2, and ``detectron2.export`` needs caffe2.
* **numpy** (`numpy_decoding`, `numpy_lifting`): heatmap decoding (detectron2's per-person bicubic
  upsampling and arg-max does not export: ``aten::index``; as two matrix products per person it is
  3x faster than detectron2's loop), the detector post-processing (scale, clip, empty boxes) and
  the lifting (0.3 % of the time; its in-place indexed assignment exports into a graph ONNX Runtime
  refuses). Small, exact, portable: every runtime shares it, and it runs only on the persons kept.

`export_model` writes the folder beside its destination, verifies it against detectron2 on a few
frames with each installed runtime (same people, 2D within 0.01 px, 3D within 0.01 mm) and only then
moves it into place: a failed verification leaves no folder behind and raises `ExportError`.
"""

from __future__ import annotations

import json
import logging
import shutil
import tempfile
import time
import warnings
from collections.abc import Sequence
from importlib import metadata
from pathlib import Path

# orpose_ros.model first: it installs the detectron2 compatibility shims before detectron2 is imported.
from orpose_ros.model import OrPosePredictor

# isort: split
import numpy as np
import torch
from detectron2.layers.wrappers import shapes_to_tensor
from detectron2.structures import Boxes, ImageList
from torch import nn

from orpose_ros.backends import model_folder as mf
from orpose_ros.backends.comparison import EXPORT_TOLERANCE, FrameArrays, compare_outputs
from orpose_ros.backends.factory import installed_runtimes, open_exported
from orpose_ros.backends.numpy_decoding import network_input_size
from orpose_ros.backends.protocol import BackendError
from orpose_ros.h36m_stats import H36MStats
from orpose_ros.model.keypoint_head import PLACEHOLDER_STATS
from orpose_ros.synthetic_scene import synthetic_frame

logger = logging.getLogger(__name__)

OPSET = 17


class ExportError(BackendError):
    """The export failed, or the exported model does not give detectron2's outputs (one line)."""


class DetectorGraph(nn.Module):
    """The traced part of ORPose: one network-input image -> boxes, scores, hard and soft heatmaps.

    ``forward((1, 3, H, W) float32 BGR 0..255, (1,) min_score)`` returns, for the R detections scoring
    above ``min_score``, boxes (R, 4) [network-input px], scores (R,), and the two (R, 17, 56, 56)
    heatmap logit sets: what detectron2's model computes for them before its keypoint decoding
    (`orpose_ros.model.keypoint_head`).
    """

    def __init__(self, model: nn.Module) -> None:
        super().__init__()
        self.model = model

    def forward(self, image: torch.Tensor, min_score: torch.Tensor
                ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
        m = self.model
        images = self._normalise_and_pad(image[0])
        features = m.backbone(images.tensor)
        proposals, _ = m.proposal_generator(images, features, None)
        roi = m.roi_heads
        instances = roi._forward_box(features, proposals)[0]
        keep = instances.scores > min_score
        boxes, scores = instances.pred_boxes.tensor[keep], instances.scores[keep]
        pooled = roi.keypoint_pooler([features[f] for f in roi.keypoint_in_features], [Boxes(boxes)])
        hard, soft = roi.keypoint_head.layers(pooled)
        return boxes, scores, hard, soft

    def _normalise_and_pad(self, image: torch.Tensor) -> ImageList:
        """detectron2's ``preprocess_image`` for one (3, H, W) image: normalise, then pad with zeros to a
        multiple of the backbone's size divisibility at the bottom and right.

        detectron2 pads with ``F.pad`` and pads computed from the shape; OpenVINO 2026.4 mis-infers the
        shape of that exported Pad (it fails on any size that needs padding), so the zeros are
        concatenated instead: the same values, shapes every runtime infers.
        """
        m = self.model
        x = (image - m.pixel_mean) / m.pixel_std
        h, w = x.shape[-2], x.shape[-1]
        d = m.backbone.size_divisibility
        pad_h, pad_w = (h + (d - 1)) // d * d - h, (w + (d - 1)) // d * d - w
        x = torch.cat([x, x.new_zeros((x.shape[0], pad_h, w))], dim=1)
        x = torch.cat([x, x.new_zeros((x.shape[0], x.shape[1], pad_w))], dim=2)
        return ImageList(x[None], [shapes_to_tensor([h, w])])


def model_config(predictor: OrPosePredictor, downsample_factor: int | None,
                 fixed_frame_size: tuple[int, int] | None = None) -> dict:
    """config.json: everything the exported backends need around the graph (see `model_folder`)."""
    cfg = predictor.cfg
    stats_file = cfg.MODEL.ROI_KEYPOINTS3D_HEAD.STATS_FILE
    stats = H36MStats.placeholder() if stats_file == PLACEHOLDER_STATS else H36MStats.from_json(stats_file)
    return {
        "format": mf.FORMAT,
        "format_version": mf.FORMAT_VERSION,
        "downsample_factor": downsample_factor,
        "score_threshold": predictor.score_threshold,
        "input": {
            "format": cfg.INPUT.FORMAT,
            "min_size": int(cfg.INPUT.MIN_SIZE_TEST),
            "max_size": int(cfg.INPUT.MAX_SIZE_TEST),
            "resize": "PIL bilinear on uint8, shortest edge to min_size, longest at most max_size (half up)",
            "fixed_frame_size": list(fixed_frame_size) if fixed_frame_size else None,
            "pixel_mean": [float(v) for v in cfg.MODEL.PIXEL_MEAN],
            "pixel_std": [float(v) for v in cfg.MODEL.PIXEL_STD],
            "size_divisibility": int(predictor.model.backbone.size_divisibility),
            "normalised_in_graph": True,
        },
        "graph": {
            "file": mf.GRAPH_FILE,
            "opset": OPSET,
            "inputs": [mf.GRAPH_INPUT, mf.GRAPH_MIN_SCORE],
            "outputs": list(mf.GRAPH_OUTPUTS),
            "box_score_threshold": float(cfg.MODEL.ROI_HEADS.SCORE_THRESH_TEST),
            "box_nms_threshold": float(cfg.MODEL.ROI_HEADS.NMS_THRESH_TEST),
            "detections_per_image": int(cfg.TEST.DETECTIONS_PER_IMAGE),
        },
        "decoding": {
            "heatmap_size": 56,
            "num_keypoints": int(cfg.MODEL.ROI_KEYPOINTS3D_HEAD.NUM_KEYPOINTS),
            "keypoints_2d": "detectron2 heatmaps_to_keypoints((hard + soft) / 2), columns x, y, score",
            "bicubic_a": -0.75,
        },
        "lifting": {"file": mf.LIFTING_FILE, "num_stages": 2, "batch_norm_eps": 1e-5},
        "h36m_stats": mf.stats_to_json(stats),
    }


def _lifting_params(predictor: OrPosePredictor) -> dict[str, np.ndarray]:
    head = predictor.model.roi_heads.keypoint_head
    return {f"{net}.{k}": v.detach().cpu().numpy() for net in ("nw2Dto3D_hard", "nw2Dto3D_soft")
            for k, v in getattr(head, net).state_dict().items() if not k.endswith("num_batches_tracked")}


def export_graph(predictor: OrPosePredictor, path: Path, example_size: tuple[int, int],
                 dynamic: bool = True) -> None:
    """Trace the detector of ``predictor`` on a (1, 3, *example_size) input into ``path`` (ONNX, opset 17).

    ``dynamic``: the graph takes any input height and width (else only ``example_size``).
    """
    graph = DetectorGraph(predictor.model).eval()
    example = (torch.zeros((1, 3, *example_size), dtype=torch.float32), torch.zeros(1, dtype=torch.float32))
    axes = {mf.GRAPH_INPUT: {2: "height", 3: "width"}} if dynamic else {}
    axes.update({name: {0: "persons"} for name in mf.GRAPH_OUTPUTS})
    with warnings.catch_warnings(), torch.no_grad():
        warnings.simplefilter("ignore")  # tracing warnings about Python values: expected, checked below
        try:
            torch.onnx.export(graph, example, str(path), opset_version=OPSET, dynamo=False,
                              input_names=[mf.GRAPH_INPUT, mf.GRAPH_MIN_SCORE], output_names=list(mf.GRAPH_OUTPUTS),
                              dynamic_axes=axes)
        except Exception as error:  # the exporter raises many types; the user needs one line
            raise ExportError(f"torch.onnx.export failed: {' '.join(str(error).split())[:300]}") from error


def _versions() -> dict[str, str]:
    out = {}
    for name in ("orpose_ros", "torch", "detectron2", "pb1-detectron2", "onnx", "onnxruntime", "openvino"):
        try:
            out[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            pass
    return out


def verification_frames(count: int = 2, size: tuple[int, int] = (480, 640)) -> list[np.ndarray]:
    """Frames to verify an export on when the user gives none: the built-in synthetic camera's, with
    seeded sensor-like noise (+-2 grey levels).

    Without the noise, the synthetic frames' perfectly flat regions give thousands of anchors exactly
    the same RPN score; detectron2's ``torch.topk`` and ONNX's TopK keep different ones among the tied
    (both valid), and a few low-score boxes then differ (measured: 2 of 73 detections above 0.05 with
    random weights). Camera frames have sensor noise and no such ties; with the noise the same
    frames agree to 1e-4 px.
    """
    rng = np.random.default_rng(15)
    frames = [synthetic_frame(i * 7, width=size[1], height=size[0]) for i in range(count)]
    return [np.clip(f.astype(np.int16) + rng.integers(-2, 3, f.shape), 0, 255).astype(np.uint8) for f in frames]


def verify(predictor: OrPosePredictor, folder: Path, frames: Sequence[np.ndarray], runtimes: Sequence[str],
           device: str = "cpu") -> dict:
    """Compare every detection (score above the graph's 0.05) of each runtime with detectron2's.

    Returns:
        ``{"frames": n, "tolerance": ..., "runtimes": {name: compare_outputs(...) + seconds}}``.
    """
    threshold = predictor.score_threshold
    predictor.score_threshold = 0.0
    try:
        reference = [FrameArrays.from_frame_poses(predictor.predict([f])[0]) for f in frames]
    finally:
        predictor.score_threshold = threshold
    results = {}
    for runtime in runtimes:
        backend = open_exported(folder, runtime, device=device, downsample_factor=predictor.downsample_factor,
                                score_threshold=0.0, check_verified=False)
        try:
            start = time.perf_counter()
            tested = [FrameArrays.from_frame_poses(backend.predict([f])[0]) for f in frames]
            seconds = time.perf_counter() - start
        finally:
            backend.close()
        results[runtime] = {**compare_outputs(reference, tested, EXPORT_TOLERANCE), "seconds": round(seconds, 3)}
    return {"frames": len(frames), "frame_size": list(frames[0].shape[:2]) if frames else None,
            "tolerance": dict(EXPORT_TOLERANCE), "runtimes": results}


def export_model(predictor: OrPosePredictor, out: Path, *, checkpoint: Path | None,
                 downsample_factor: int | None, frames: Sequence[np.ndarray] | None = None,
                 runtimes: Sequence[str] | None = None, fixed_frame_size: tuple[int, int] | None = None,
                 overwrite: bool = False) -> dict:
    """Export ``predictor``'s model into the folder ``out``, verified; returns its manifest.

    Args:
        predictor: a CPU `OrPosePredictor` with the weights loaded (its config gives the input rule).
        out: the folder to create (must not exist unless ``overwrite``).
        checkpoint: the source weights file (its sha256 goes into the manifest); None: in-memory weights.
        downsample_factor: the privacy factor the weights were trained for (None: unknown).
        frames: (H, W, 3) uint8 BGR frames to verify on (default: 2 synthetic 640x480 frames); they go
            through the privacy path as the backend's frames do.
        runtimes: runtimes to verify (default: every installed one); at least one must be installed.
        fixed_frame_size: (height, width): export for this frame size only (the privacy path's fixed
            size lets the runtime plan its memory once); default: any size.

    Raises:
        ExportError: ``out`` exists, no runtime is installed, or a runtime's outputs differ from
            detectron2's beyond `EXPORT_TOLERANCE` (nothing is left at ``out`` then).
    """
    out = Path(out)
    if out.exists() and not overwrite:
        raise ExportError(f"{out} exists; remove it or choose another --out")
    runtimes = list(runtimes) if runtimes is not None else installed_runtimes()
    if not runtimes:
        raise ExportError("neither onnxruntime nor openvino is installed: the export cannot be verified")
    frames = list(frames) if frames is not None else verification_frames(
        size=fixed_frame_size or (480, 640))
    view_size = fixed_frame_size or frames[0].shape[:2]
    cfg = predictor.cfg
    example = network_input_size(*view_size, cfg.INPUT.MIN_SIZE_TEST, cfg.INPUT.MAX_SIZE_TEST)
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{out.name}.", dir=out.parent))
    try:
        start = time.perf_counter()
        export_graph(predictor, tmp / mf.GRAPH_FILE, example, dynamic=fixed_frame_size is None)
        np.savez(tmp / mf.LIFTING_FILE, **_lifting_params(predictor))
        (tmp / mf.CONFIG_FILE).write_text(json.dumps(model_config(predictor, downsample_factor, fixed_frame_size),
                                                     indent=1))
        export_s = time.perf_counter() - start
        manifest = {
            "format": mf.FORMAT,
            "format_version": mf.FORMAT_VERSION,
            "checkpoint": ({"name": checkpoint.name, **mf.file_entry(checkpoint)} if checkpoint is not None
                           else {"name": "in-memory weights"}),
            "files": {name: mf.file_entry(tmp / name) for name in (mf.GRAPH_FILE, mf.LIFTING_FILE, mf.CONFIG_FILE)},
            "created": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
            "versions": _versions(),
            "export_seconds": round(export_s, 1),
        }
        (tmp / mf.MANIFEST_FILE).write_text(json.dumps(manifest, indent=1))
        verification = verify(predictor, tmp, frames, runtimes)
        manifest["verification"] = verification
        (tmp / mf.MANIFEST_FILE).write_text(json.dumps(manifest, indent=1))
        failed = {name: r for name, r in verification["runtimes"].items() if not r["within_tolerance"]}
        if failed:
            details = "; ".join(f"{name}: {r['unmatched']} unmatched, max deviations {r['max_abs']}"
                                for name, r in failed.items())
            raise ExportError(f"the exported model differs from detectron2 on {len(frames)} frame(s): {details}")
        if out.exists():
            shutil.rmtree(out)
        tmp.rename(out)
    finally:
        if tmp.exists():
            shutil.rmtree(tmp)
    logger.info("exported %s (verified: %s)", out, ", ".join(runtimes))
    return manifest
