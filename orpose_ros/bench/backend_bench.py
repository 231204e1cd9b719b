"""Backends side by side: detectron2 eager (the published pipeline) and the exported runtimes, one run.

Every setup gets the same frames in round-robin order (frame batch k through setup A, then B, then C,
then batch k+1...), so that a busy shared machine slows them alike; per setup the median ms per frame
and its spread are reported. Each setup's outputs (persons above the node's score threshold) are
checked against the published pipeline's: FP32 runtimes must agree within
`orpose_ros.backends.comparison.EXPORT_TOLERANCE` (issue 15: same people, 0.01 px, 0.01 mm); reduced
precisions (OpenVINO bf16 / fp16) only report their deviation.

The checkpoint (or random weights) is exported once into a temporary folder unless ``exported`` is
given; the export's own verification runs on the first frame.
"""

from __future__ import annotations

import logging
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from orpose_ros.backends.comparison import EXPORT_TOLERANCE, FrameArrays, compare_outputs

from .report import latency_summary

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class BackendBenchOptions:
    """What the backend comparison runs.

    Attributes:
        backends: runtimes besides the published pipeline: detectron2 (our predictor), onnxruntime, openvino.
        precisions: OpenVINO precisions (fp32 always; bf16, fp16 report their deviation).
        cameras: frames per call (1 and 3 cameras).
        downsample_factor: privacy factor inside every timed call (12: the 12x path).
        passes: times each frame goes through each setup; warmup: untimed calls per setup first.
        score_threshold: persons compared and decoded: the node's (the demo draws above 0.5).
        threads: runtime threads of the exported backends (0: the runtime's default).
        exported: an exported folder to use instead of exporting the checkpoint.
        device: where detectron2 and onnxruntime run ("cpu", "cuda[:N]", "tensorrt[:N]" for onnxruntime's
            TensorRT provider, then CUDA for detectron2); openvino runs on the CPU only and is skipped otherwise.
    """

    backends: tuple[str, ...] = ("onnxruntime", "openvino")
    precisions: tuple[str, ...] = ("fp32",)
    cameras: tuple[int, ...] = (1, 3)
    downsample_factor: int = 12
    passes: int = 2
    warmup: int = 1
    score_threshold: float = 0.5
    threads: int = 0
    exported: Path | None = None
    device: str = "cpu"


def _above(arrays: FrameArrays, threshold: float) -> FrameArrays:
    keep = arrays.scores > threshold
    return FrameArrays(arrays.boxes[keep], arrays.scores[keep], arrays.keypoints[keep], arrays.joints_3d[keep])


def run_backend_bench(frames: Sequence[np.ndarray], checkpoint: Path, stats_file: str,
                      options: BackendBenchOptions) -> dict:
    """Time every setup round-robin on ``frames``; returns the JSON-ready ``backends`` section."""
    from orpose_ros.backends.factory import open_exported
    from orpose_ros.model import PublishedPipeline
    from orpose_ros.model.export import export_model
    from orpose_ros.model.predictor import resolve_device

    from .model_bench import Variant, _our_predictor

    device = resolve_device(options.device.replace("tensorrt", "cuda"))
    factor = options.downsample_factor
    published = PublishedPipeline(checkpoint, stats_file, device, factor)
    setups: dict[str, tuple[int, str, Callable[[list[np.ndarray]], list[FrameArrays]]]] = {}
    closers = []

    def add(name: str, precision: str, predict: Callable) -> None:
        for cameras in options.cameras:
            setups[f"{name}_{cameras}cam"] = (cameras, precision, predict)

    add("published", "fp32", published)
    with tempfile.TemporaryDirectory(prefix="orpose_bench_export_") as tmp:
        folder = options.exported
        export_s = None
        if folder is None and any(b != "detectron2" for b in options.backends):
            exporter = _our_predictor(checkpoint, stats_file, resolve_device("cpu"), Variant(), factor)
            start = time.perf_counter()
            export_model(exporter, Path(tmp) / "model", checkpoint=checkpoint, downsample_factor=factor,
                         frames=frames[:1], runtimes=[b for b in options.backends if b != "detectron2"])
            export_s = time.perf_counter() - start
            folder = Path(tmp) / "model"
            del exporter
        for kind in options.backends:
            if kind == "detectron2":  # our predictor (same model as the published pipeline, batched)
                predictor = _our_predictor(checkpoint, stats_file, device, Variant(), factor)
                add("detectron2", "fp32", lambda b, p=predictor: [FrameArrays.from_frame_poses(r)
                                                                for r in p.predict(b)])
                continue
            precisions = options.precisions if kind == "openvino" else ("fp32",)
            if kind == "openvino" and device.type != "cpu":
                logger.warning("openvino runs on the CPU only: skipped on %s", options.device)
                continue
            for precision in precisions:
                backend = open_exported(folder, kind, device=options.device, downsample_factor=factor,
                                        score_threshold=options.score_threshold, threads=options.threads,
                                        precision=precision, check_verified=False)
                closers.append(backend.close)
                add(f"{kind}_{precision}", precision,
                    lambda b, be=backend: [FrameArrays.from_frame_poses(r) for r in be.predict(b)])
        result = _round_robin(frames, setups, options)
        result["export_seconds"] = export_s
        for close in closers:
            close()
    return result


def _round_robin(frames: Sequence[np.ndarray], setups: dict, options: BackendBenchOptions) -> dict:
    n = len(frames)
    latencies: dict[str, list[float]] = {name: [] for name in setups}
    outputs: dict[str, dict[int, FrameArrays]] = {name: {} for name in setups}
    for cameras, _, predict in setups.values():
        for _ in range(options.warmup):
            predict([frames[j % n] for j in range(cameras)])
    for p in range(options.passes):
        for k in range(n):
            for name, (cameras, _, predict) in setups.items():
                batch = [(k + j) % n for j in range(cameras)]
                start = time.perf_counter()
                result = predict([frames[i] for i in batch])
                latencies[name].append((time.perf_counter() - start) * 1000.0 / cameras)
                for i, out in zip(batch, result, strict=True):
                    outputs[name].setdefault(i, _above(out, options.score_threshold))
            logger.info("pass %d/%d, frame %d/%d done", p + 1, options.passes, k + 1, n)
    base = {c: float(np.median(latencies[f"published_{c}cam"])) for c in options.cameras}
    rows, agreement = [], {}
    for name, (cameras, precision, _) in setups.items():
        summary = latency_summary(latencies[name])
        median = float(np.median(latencies[name]))
        # Each round's published call and this setup's call ran back to back: their ratio is what the
        # machine's load (others' jobs on a shared CPU) disturbs least.
        paired = np.asarray(latencies[f"published_{cameras}cam"]) / np.asarray(latencies[name])
        rows.append({"name": name, "cameras": cameras, "precision": precision, "ms_per_frame": summary,
                     "ms_per_frame_values": latencies[name], "median_ms_per_frame": median,
                     "speedup_vs_published": base[cameras] / median,
                     "paired_speedup": {"median": float(np.median(paired)), "min": float(paired.min()),
                                        "max": float(paired.max())}})
        if not name.startswith("published"):
            reference = [outputs[f"published_{cameras}cam"][i] for i in range(n)]
            check = compare_outputs(reference, [outputs[name][i] for i in range(n)],
                                    EXPORT_TOLERANCE if precision == "fp32" else None)
            agreement[name] = {"exact_check": precision == "fp32", **check}
    return {"device": options.device,
            "frames": n, "frame_size": list(frames[0].shape[:2]), "downsample_factor": options.downsample_factor,
            "passes": options.passes, "score_threshold": options.score_threshold, "setups": rows,
            "agreement": agreement}
