"""NodeConfig -> OrPosePredictor, with the messages a user needs when that fails."""

from __future__ import annotations

from rclpy.impl.rcutils_logger import RcutilsLogger

from orpose_ros.model import CheckpointError, DeviceUnavailableError, OrPosePredictor, StatsError
from orpose_ros.ros.parameters import NodeConfig

HOW_TO_GET_WEIGHTS = (
    "Get the official checkpoints with 'orpose-download-models' (see models/README.md) and set the "
    "parameter 'weights' (e.g. weights:=models/orpose_fixed_12x_model_final.pth); for a demo without "
    "them, set random_weights_seed:=0 (meaningless poses)."
)


class ModelLoadError(RuntimeError):
    """The node cannot get a model to run: the message says why and what to do."""


def load_predictor(config: NodeConfig, logger: RcutilsLogger) -> OrPosePredictor:
    """Build the predictor; falls back to CPU (loudly) when the requested GPU is absent."""
    options = dict(device=config.device, fp16=config.fp16, score_threshold=config.score_threshold)
    if config.downsample_factor is not None:  # else: from the weights name (orpose_fixed_12x -> 12), or 1
        options["downsample_factor"] = config.downsample_factor
    try:
        return _build(config, logger, options)
    except DeviceUnavailableError as error:
        logger.error(f"{error}; falling back to the CPU (slow){' without fp16' if config.fp16 else ''}")
        return _build(config, logger, {**options, "device": "cpu", "fp16": False})


def _build(config: NodeConfig, logger: RcutilsLogger, options: dict) -> OrPosePredictor:
    try:
        if config.weights is not None:
            if not config.weights.is_file():
                raise ModelLoadError(f"weights file not found: {config.weights}. {HOW_TO_GET_WEIGHTS}")
            if config.random_weights_seed is not None:
                logger.warning("both 'weights' and 'random_weights_seed' are set: using the weights file")
            return OrPosePredictor.from_files(config.weights, config.stats, **options)
        if config.random_weights_seed is not None:
            logger.warning(
                f"RANDOM WEIGHTS (seed {config.random_weights_seed}): the poses are meaningless; for demos and "
                "tests only. Real poses need the official checkpoints: 'orpose-download-models' (models/README.md)."
            )
            return OrPosePredictor.with_random_weights(config.random_weights_seed, config.stats, **options)
    except (CheckpointError, StatsError, FileNotFoundError) as error:
        raise ModelLoadError(f"cannot load the model: {error}. {HOW_TO_GET_WEIGHTS}") from error
    except ValueError as error:  # fp16 on CPU, bad factor...
        raise ModelLoadError(f"invalid model settings: {error}") from error
    raise ModelLoadError(f"no model weights configured. {HOW_TO_GET_WEIGHTS}")
