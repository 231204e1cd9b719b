"""One factory for every pose backend: `BackendOptions` -> `PoseBackend`, with one rule for weights,
random weights and a missing device, and messages a user can act on.

The runtimes (torch, detectron2: seconds to import) are imported only when a backend is built, so
that callers report their own argument mistakes at once.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path

from orpose_ros.backends.protocol import BackendError, PoseBackend

logger = logging.getLogger(__name__)

#: The runtimes `build_backend` knows.
BACKEND_KINDS = ("detectron2",)

HOW_TO_GET_WEIGHTS = (
    "Get the official checkpoints with 'orpose-download-models' (see models/README.md) and give one "
    "(the nodes' parameter weights:=models/orpose_fixed_12x_model_final.pth, the tools' --weights); for a demo "
    "without them, use random weights (random_weights_seed:=0, or --random-weights 0: meaningless poses)."
)


@dataclass(frozen=True)
class BackendOptions:
    """What a backend is built from (the node's parameters and the CLIs' options map onto it).

    Attributes:
        weights: the model file (an official ``orpose_fixed_Sx_model_final.pth``); wins over ``random_seed``.
        random_seed: random weights of the official layout with this seed (demos and tests ONLY).
        stats: h36stats.json; None: beside the weights, then the models folder.
        kind: the runtime, one of `BACKEND_KINDS`.
        device: 'auto', 'cpu', 'cuda' or 'cuda:N'; a missing GPU falls back to the CPU with an error log.
        fp16: half-precision inference (CUDA only; dropped with a CPU fallback).
        downsample_factor: privacy factor S >= 1; None: the S in the weights' name, else 1.
        score_threshold: persons scoring at most this are dropped (0..1).
    """

    weights: Path | None = None
    random_seed: int | None = None
    stats: Path | None = None
    kind: str = "detectron2"
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
        if not options.weights.is_file():
            raise BackendError(f"weights file not found: {options.weights}. {HOW_TO_GET_WEIGHTS}")
        if options.random_seed is not None:
            log.warning("both 'weights' and 'random_weights_seed' are set: using the weights file")
            options = replace(options, random_seed=None)
    elif options.random_seed is None:
        raise BackendError(f"no model weights configured. {HOW_TO_GET_WEIGHTS}")
    return _with_cpu_fallback(_build_detectron2, options, log)


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
