"""One factory for every pose backend: `BackendOptions` -> `PoseBackend`, with one rule for weights,
random weights and a missing device, and messages a user can act on.

The runtimes (torch, detectron2: seconds to import) are imported only when a backend is built, so
that callers report their own argument mistakes at once.
"""

from __future__ import annotations

import importlib.util
import logging
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path

from orpose_ros.backends.protocol import BackendError, PoseBackend

logger = logging.getLogger(__name__)

#: The runtimes `build_backend` knows; ``auto``: detectron2 for a checkpoint, the fastest installed
#: runtime that was verified equal at export for an exported folder.
BACKEND_KINDS = ("auto", "detectron2", "onnxruntime", "openvino")
#: Runtimes of exported model folders (`orpose-export`), fastest first on a CPU (docs/benchmark.md).
EXPORTED_KINDS = ("openvino", "onnxruntime")
HOW_TO_EXPORT = "export one with 'orpose-export --weights W.pth --out DIR' and give DIR as the weights"

HOW_TO_GET_WEIGHTS = (
    "Get the official checkpoints with 'orpose-download-models' (see models/README.md) and give one "
    "(the nodes' parameter weights:=models/orpose_fixed_12x_model_final.pth, the tools' --weights); for a demo "
    "without them, use random weights (random_weights_seed:=0, or --random-weights 0: meaningless poses)."
)


@dataclass(frozen=True)
class BackendOptions:
    """What a backend is built from (the node's parameters and the CLIs' options map onto it).

    Attributes:
        weights: the model: an official ``orpose_fixed_Sx_model_final.pth`` checkpoint, or a folder written
            by ``orpose-export``; wins over ``random_seed``.
        random_seed: random weights of the official layout with this seed (demos and tests ONLY).
        stats: h36stats.json; None: beside the weights, then the models folder.
        kind: the runtime, one of `BACKEND_KINDS` (detectron2 needs a checkpoint, onnxruntime and
            openvino an exported folder, auto takes either).
        device: 'auto', 'cpu', 'cuda' or 'cuda:N'; a missing GPU falls back to the CPU with an error log.
        fp16: half-precision inference (CUDA only; dropped with a CPU fallback).
        downsample_factor: privacy factor S >= 1; None: the S in the weights' name, else 1.
        score_threshold: persons scoring at most this are dropped (0..1).
    """

    weights: Path | None = None
    random_seed: int | None = None
    stats: Path | None = None
    kind: str = "auto"
    device: str = "auto"
    fp16: bool = False
    downsample_factor: int | None = None
    score_threshold: float = 0.5


def build_backend(options: BackendOptions, log: logging.Logger | None = None) -> PoseBackend:
    """The backend ``options`` ask for.

    Rules: a weights file wins over a random seed (with a warning when both are given); neither is an
    error; a requested GPU that is absent falls back to the CPU (logged as an error: it is slow).

    Raises:
        BackendError: unknown runtime, missing or invalid weights or statistics, invalid settings.
    """
    log = log or logger
    if options.kind not in BACKEND_KINDS:
        raise BackendError(f"unknown backend {options.kind!r}; expected one of {', '.join(BACKEND_KINDS)}")
    if options.weights is not None:
        if not options.weights.exists():
            raise BackendError(f"weights file not found: {options.weights}. {HOW_TO_GET_WEIGHTS}")
        if options.random_seed is not None:
            log.warning("both 'weights' and 'random_weights_seed' are set: using the weights file")
            options = replace(options, random_seed=None)
    elif options.random_seed is None:
        raise BackendError(f"no model weights configured. {HOW_TO_GET_WEIGHTS}")
    exported = options.weights is not None and options.weights.is_dir()
    kind = options.kind
    if kind == "auto":
        kind = _fastest_verified(options.weights, options.device) if exported else "detectron2"
    if kind == "detectron2":
        if exported:
            raise BackendError(f"the detectron2 backend needs a checkpoint (.pth); {options.weights} is an exported "
                               "model folder: use backend onnxruntime, openvino or auto")
        return _with_cpu_fallback(_build_detectron2, options, log)
    if not exported:
        given = options.weights or f"random weights (seed {options.random_seed})"
        raise BackendError(f"backend {kind} runs an exported model folder, not {given}; {HOW_TO_EXPORT}")
    return _with_cpu_fallback(lambda o: _build_exported(o, kind, log), options, log)


def installed_runtimes() -> list[str]:
    """The exported-model runtimes installed here, fastest first on a CPU (`EXPORTED_KINDS` order)."""
    return [kind for kind in EXPORTED_KINDS if importlib.util.find_spec(kind) is not None]


def _fastest_verified(folder: Path, device: str) -> str:
    """``auto`` on a folder: the first installed runtime whose export verification passed (a GPU device
    prefers onnxruntime, the one with GPU providers)."""
    from orpose_ros.backends.model_folder import ExportedModel

    verified = ExportedModel.open(folder, check_hashes=False).verified_runtimes
    candidates = installed_runtimes()
    if str(device).startswith(("cuda", "tensorrt")):
        candidates.sort(key=lambda kind: kind != "onnxruntime")
    for kind in candidates:
        if verified.get(kind, {}).get("within_tolerance"):
            return kind
    raise BackendError(
        f"backend auto: no installed runtime ({', '.join(candidates) or 'none'}) was verified equal to detectron2 "
        f"when {folder} was exported (verified: {', '.join(verified) or 'none'}); install onnxruntime or "
        "openvino and export again, or name the backend"
    )


def open_exported(folder: Path, kind: str, *, device: str = "cpu", downsample_factor: int | None = None,
                  score_threshold: float = 0.5, threads: int = 0, precision: str = "fp32",
                  check_verified: bool = True, log: logging.Logger | None = None) -> PoseBackend:
    """An `ExportedBackend` on ``folder`` run by ``kind`` (onnxruntime or openvino).

    Args:
        downsample_factor: None: the factor the weights were trained for (from the folder), else 1; a
            factor other than the recorded one is refused.
        threads: runtime threads (0: the runtime's default).
        precision: fp32 (default); bf16 or fp16 only with openvino, only when asked.
        check_verified: warn when the export's verification did not cover ``kind``.

    Raises:
        BackendError: a bad folder, a missing runtime, another factor; `DeviceUnavailableError` for a
            device the runtime cannot use here.
    """
    from orpose_ros.backends.exported import ExportedBackend
    from orpose_ros.backends.model_folder import ExportedModel

    log = log or logger
    model = ExportedModel.open(folder)
    trained = model.downsample_factor
    if downsample_factor is not None and trained is not None and downsample_factor != trained:
        raise BackendError(f"{folder} was exported from weights trained for {trained}x frames, not "
                           f"{downsample_factor}x: use downsample factor {trained} (or 0: from the model), or export "
                           f"the {downsample_factor}x checkpoint")
    factor = downsample_factor if downsample_factor is not None else (trained or 1)
    if check_verified and not model.verified_runtimes.get(kind, {}).get("within_tolerance"):
        log.warning("%s was not verified equal to detectron2 with %s at export; run orpose-export again where "
                    "%s is installed", folder, kind, kind)
    if importlib.util.find_spec(kind) is None:
        raise BackendError(f"backend {kind} is not installed: pip install {kind} (see README, 'Exported models')")
    if kind == "onnxruntime":
        if precision != "fp32":
            raise BackendError(f"onnxruntime runs the FP32 graph only, not {precision}")
        from orpose_ros.backends.onnxruntime_backend import OnnxRuntimeRunner

        runner = OnnxRuntimeRunner(model, device=device, threads=threads)
    elif kind == "openvino":
        from orpose_ros.backends.openvino_backend import OpenVinoRunner

        runner = OpenVinoRunner(model, device=device, threads=threads, precision=precision)
    else:
        raise BackendError(f"unknown exported-model runtime {kind!r}; expected one of {', '.join(EXPORTED_KINDS)}")
    try:
        return ExportedBackend(model, runner, downsample_factor=factor, score_threshold=score_threshold)
    except ValueError as error:
        runner.close()
        raise BackendError(f"invalid model settings: {error}") from error


def _build_exported(options: BackendOptions, kind: str, log: logging.Logger) -> PoseBackend:
    if options.fp16:
        from orpose_ros.backends.onnxruntime_backend import providers_for

        if kind == "onnxruntime":
            providers_for(options.device)  # a missing GPU first: the CPU fallback then drops fp16
        raise BackendError(f"fp16 is not available with the {kind} backend (FP32 graph); use detectron2 for fp16")
    return open_exported(options.weights, kind, device=options.device, downsample_factor=options.downsample_factor,
                         score_threshold=options.score_threshold, log=log)


def _with_cpu_fallback(build: Callable[[BackendOptions], PoseBackend], options: BackendOptions,
                       log: logging.Logger) -> PoseBackend:
    from orpose_ros.backends.protocol import DeviceUnavailableError

    try:
        return build(options)
    except DeviceUnavailableError as error:
        log.error(f"{error}; falling back to the CPU (slow){' without fp16' if options.fp16 else ''}")
        return build(replace(options, device="cpu", fp16=False))


def _build_detectron2(options: BackendOptions) -> PoseBackend:
    from orpose_ros.h36m_stats import StatsError
    from orpose_ros.model import CheckpointError, OrPosePredictor

    settings: dict[str, object] = dict(device=options.device, fp16=options.fp16,
                                       score_threshold=options.score_threshold)
    if options.downsample_factor is not None:
        settings["downsample_factor"] = options.downsample_factor
    try:
        if options.weights is not None:
            return OrPosePredictor.from_files(options.weights, options.stats, **settings)
        return OrPosePredictor.with_random_weights(options.random_seed, options.stats, **settings)
    except (CheckpointError, StatsError, FileNotFoundError) as error:
        raise BackendError(f"cannot load the model: {_one_line(error)}. {HOW_TO_GET_WEIGHTS}") from error
    except ValueError as error:  # fp16 on CPU, bad factor, bad device string...
        raise BackendError(f"invalid model settings: {_one_line(error)}") from error


def _one_line(error: Exception) -> str:
    """The error's text on one line (torch's unpickling errors span many)."""
    return " ".join(str(error).split())
