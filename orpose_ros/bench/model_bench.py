"""Model-only benchmark: the published pipeline against `OrPosePredictor`, same weights, frames, device.

(a) "published": detectron2's `DefaultPredictor` built from our config, loading the checkpoint
    with `DetectionCheckpointer` as the published demo does, called once per frame on the
    CPU-preprocessed frame (PIL resize to 800 px), fp32. In privacy mode (factor S > 1) the timed
    call also does the demo's CPU shrink/restore.
(b) "orpose": `OrPosePredictor` (built from the same file), with 1 camera (one frame per call) and
    with N cameras batched (N frames per call), in every requested variant (fp32 with the published
    PIL preprocessing, torch/GPU preprocessing, fp16).

Every (b) output is compared with (a)'s output of the same frame: boxes, scores, 2D keypoints (and
the 3D joints, which the published model computes the same way). fp32 with PIL preprocessing must
agree within `FP32_TOLERANCE`; the other variants report their deviation. No ROS types here.
"""

from __future__ import annotations

import contextlib
import logging
import math
import tempfile
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import torch

from orpose_ros.backends.comparison import FrameArrays, compare_outputs, match_detections  # noqa: F401  (re-exported)
from orpose_ros.model import PLACEHOLDER_STATS, OrPosePredictor, PublishedPipeline, write_random_checkpoint
from orpose_ros.model.predictor import resolve_device
from orpose_ros.model_files import resolve_stats_path

from .report import latency_summary

if TYPE_CHECKING:
    pass

logger = logging.getLogger(__name__)


#: Largest deviations (our predictor vs DefaultPredictor) that still count as "the same output" in
#: fp32 with the published preprocessing. Batched convolutions may sum in another order than single
#: ones, so exact bit equality is not expected; a wrong mapping, resize or threshold is far above these.
FP32_TOLERANCE = {
    "box_px": 0.05,
    "score": 1e-4,
    "keypoint_xy_px": 0.05,
    "keypoint_score": 1e-2,
    "joint_3d_m": 1e-3,
}


# ------------------------------------------------------------------------------------------
# Frames


# ------------------------------------------------------------------------------------------
# The two pipelines


@dataclass(frozen=True)
class Variant:
    """One way of running `OrPosePredictor`."""

    fp16: bool = False
    gpu_preprocess: bool = False
    channels_last: bool = False
    cudnn_benchmark: bool = False

    @property
    def suffix(self) -> str:
        parts = ["fp16" if self.fp16 else "fp32"]
        if self.gpu_preprocess:
            parts.append("torch-preprocess")
        if self.channels_last:
            parts.append("channels-last")
        if self.cudnn_benchmark:
            parts.append("cudnn-benchmark")
        return "+".join(parts)

    @property
    def exact(self) -> bool:
        """Whether this variant must give the published outputs (fp32, PIL preprocessing, stock layout)."""
        return not (self.fp16 or self.gpu_preprocess or self.channels_last)


@dataclass(frozen=True)
class ModelBenchOptions:
    """What the model benchmark runs.

    Attributes:
        weights: checkpoint file; None with ``random_weights_seed`` set: detecting random weights.
        random_weights_seed: seed of `random_state_dict` (tests and demos only).
        stats: h36stats.json; None: beside the weights, then models/, else placeholder statistics.
        device: "cpu", "cuda", "cuda:N" or "auto".
        cameras: camera counts to run our predictor with (frames per predict call).
        variants: ways of running our predictor (the first should be the exact fp32 one).
        downsample_factor: privacy factor applied by both pipelines inside the timed call (1 = off).
        passes: how many times every frame goes through each setup.
        warmup: untimed calls before each setup (first calls pay one-time costs).
    """

    weights: Path | None = None
    random_weights_seed: int | None = 0
    stats: Path | None = None
    device: str = "cpu"
    cameras: tuple[int, ...] = (1, 3)
    variants: tuple[Variant, ...] = (Variant(),)
    downsample_factor: int = 1
    passes: int = 1
    warmup: int = 1
    extra: dict = field(default_factory=dict)


def _stats_file(options: ModelBenchOptions) -> str:
    """h36stats.json for both pipelines, or "placeholder" when none is given or found (random weights)."""
    if options.stats is not None or options.weights is not None:
        return str(resolve_stats_path(options.weights, options.stats))
    try:
        return str(resolve_stats_path(None, None))
    except ValueError:
        logger.warning("no h36stats.json given or found: placeholder statistics, the 3D joints mean nothing")
        return PLACEHOLDER_STATS


@contextlib.contextmanager
def _checkpoint_file(options: ModelBenchOptions) -> Iterator[tuple[Path, str]]:
    """The weights file both pipelines load, and its description; random weights go to a temp file."""
    if options.weights is not None:
        yield Path(options.weights), str(options.weights)
        return
    if options.random_weights_seed is None:
        raise ValueError("give a weights file or a random-weights seed")
    seed = options.random_weights_seed
    logger.warning("RANDOM WEIGHTS (seed %d): timings are valid, the poses are meaningless", seed)
    with tempfile.TemporaryDirectory(prefix="orpose_bench_") as tmp:
        path = write_random_checkpoint(Path(tmp) / f"random_seed{seed}_model_final.pth", seed)
        yield path, f"random detecting weights, seed {seed}"


def _our_predictor(checkpoint: Path, stats_file: str, device: torch.device, variant: Variant,
                   downsample_factor: int) -> OrPosePredictor:
    return OrPosePredictor.from_checkpoint(checkpoint, stats_file, device=device, fp16=variant.fp16,
                                           downsample_factor=downsample_factor, score_threshold=0.0,
                                           gpu_preprocess=variant.gpu_preprocess, channels_last=variant.channels_last)


# ------------------------------------------------------------------------------------------
# Timing


def _batches(count: int, batch: int, passes: int) -> list[list[int]]:
    """Frame indices of each call: consecutive frames, cycling, until every frame was seen ``passes`` times."""
    calls = passes * math.ceil(count / batch)
    return [[(k * batch + j) % count for j in range(batch)] for k in range(calls)]


def time_calls(
    run: Callable[[list[np.ndarray]], list[FrameArrays]],
    frames: Sequence[np.ndarray],
    batches: Sequence[Sequence[int]],
    warmup: int,
    device: torch.device,
) -> tuple[list[float], dict[int, FrameArrays]]:
    """Call ``run`` on each batch of frames; returns per-call latencies [ms] and the output of each frame."""

    def sync() -> None:
        if device.type == "cuda":
            torch.cuda.synchronize(device)

    for k in range(warmup):
        run([frames[i] for i in batches[k % len(batches)]])
    sync()
    latencies, outputs = [], {}
    for batch in batches:
        chosen = [frames[i] for i in batch]
        sync()
        start = time.perf_counter()
        result = run(chosen)
        sync()
        latencies.append((time.perf_counter() - start) * 1000.0)
        for i, out in zip(batch, result, strict=True):
            outputs.setdefault(i, out)
    return latencies, outputs


def _setup_result(name: str, pipeline: str, cameras: int, latencies: list[float], outputs: dict[int, FrameArrays],
                  **extra: object) -> dict:
    frames = cameras * len(latencies)
    total_s = sum(latencies) / 1000.0
    return {
        "name": name,
        "pipeline": pipeline,
        "cameras": cameras,
        "calls": len(latencies),
        "frames": frames,
        "total_s": total_s,
        "frames_per_s": frames / total_s if total_s > 0 else float("nan"),
        "latency_ms": latency_summary(latencies),
        "latencies_ms": latencies,
        "persons_per_frame": float(np.mean([len(o.scores) for o in outputs.values()])) if outputs else 0.0,
        **extra,
    }


@contextlib.contextmanager
def _cudnn_benchmark(enabled: bool) -> Iterator[None]:
    previous = torch.backends.cudnn.benchmark
    torch.backends.cudnn.benchmark = enabled
    try:
        yield
    finally:
        torch.backends.cudnn.benchmark = previous


def run_model_bench(frames: Sequence[np.ndarray], options: ModelBenchOptions) -> dict:
    """Run (a) and every (b) setup on ``frames``; returns the JSON-ready ``model`` section of bench.json."""
    device = resolve_device(options.device)
    stats = _stats_file(options)
    n = len(frames)
    setups, agreement = [], {}
    with _checkpoint_file(options) as (checkpoint, checkpoint_desc):
        logger.info("(a) published pipeline: DefaultPredictor on %s, %d frame(s)", device, n)
        published = PublishedPipeline(checkpoint, stats, device, options.downsample_factor)
        latencies, reference = time_calls(published, frames, _batches(n, 1, options.passes), options.warmup, device)
        setups.append(_setup_result("published", "detectron2 DefaultPredictor (per frame, CPU preprocessing)", 1,
                                    latencies, reference, precision="fp32"))
        for variant in options.variants:
            predictor = _our_predictor(checkpoint, stats, device, variant, options.downsample_factor)
            same_weights = published.loaded_the_same_weights_as(predictor)

            def run(batch: list[np.ndarray], p: OrPosePredictor = predictor) -> list[FrameArrays]:
                return [FrameArrays.from_frame_poses(r) for r in p.predict(batch)]

            for cameras in options.cameras:
                name = f"orpose_{cameras}cam_{variant.suffix}"
                logger.info("(b) %s: %d frame(s) per call", name, cameras)
                with _cudnn_benchmark(variant.cudnn_benchmark):
                    latencies, outputs = time_calls(run, frames, _batches(n, cameras, options.passes),
                                                    options.warmup, device)
                setups.append(_setup_result(name, "OrPosePredictor", cameras, latencies, outputs,
                                            precision="fp16" if variant.fp16 else "fp32", variant=asdict(variant)))
                check = compare_outputs([reference[i] for i in range(n)], [outputs[i] for i in range(n)],
                                        FP32_TOLERANCE if variant.exact else None)
                agreement[name] = {"exact_check": variant.exact, "same_weights": same_weights, **check}
            del predictor
        del published
    base = setups[0]["frames_per_s"]
    for setup in setups:
        setup["speedup_vs_published"] = setup["frames_per_s"] / base if base > 0 else float("nan")
    return {
        "device": str(device),
        "device_name": torch.cuda.get_device_name(device) if device.type == "cuda" else "cpu",
        "torch_threads": torch.get_num_threads(),
        "checkpoint": checkpoint_desc,
        "stats": stats,
        "frames": n,
        "frame_size": [int(frames[0].shape[1]), int(frames[0].shape[0])],
        "downsample_factor": options.downsample_factor,
        "passes": options.passes,
        "warmup_calls": options.warmup,
        "setups": setups,
        "agreement": agreement,
        **options.extra,
    }
