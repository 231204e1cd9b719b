"""NodeConfig -> OrPosePredictor, with the messages a user needs when that fails.

The model (torch, detectron2: seconds to import) is imported only when it is loaded, so that the
node reports parameter mistakes at once.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from rclpy.impl.rcutils_logger import RcutilsLogger

from orpose_ros.h36m_stats import StatsError
from orpose_ros.ros.node_config import NodeConfig

if TYPE_CHECKING:
    from orpose_ros.model import OrPosePredictor

HOW_TO_GET_WEIGHTS = (
    "Get the official checkpoints with 'orpose-download-models' (see models/README.md) and set the "
    "parameter 'weights' (e.g. weights:=models/orpose_fixed_12x_model_final.pth); for a demo without "
    "them, set random_weights_seed:=0 (meaningless poses)."
)


class ModelLoadError(RuntimeError):
    """The node cannot get a model to run: the message says why and what to do."""


def load_predictor(config: NodeConfig, logger: RcutilsLogger) -> OrPosePredictor:
    """Build the predictor; falls back to CPU (loudly) when the requested GPU is absent."""
    from orpose_ros.model import DeviceUnavailableError

    options = dict(device=config.device, fp16=config.fp16, score_threshold=config.score_threshold)
    if config.factor is not None:  # else: from the weights name (orpose_fixed_12x -> 12), or 1
        options["downsample_factor"] = config.factor
    try:
        return _build(config, logger, options)
    except DeviceUnavailableError as error:
        logger.error(f"{error}; falling back to the CPU (slow){' without fp16' if config.fp16 else ''}")
        return _build(config, logger, {**options, "device": "cpu", "fp16": False})


def _build(config: NodeConfig, logger: RcutilsLogger, options: dict) -> OrPosePredictor:
    from orpose_ros.model import CheckpointError, OrPosePredictor

    try:
        if config.weights_path is not None:
            if not config.weights_path.is_file():
                raise ModelLoadError(f"weights file not found: {config.weights_path}. {HOW_TO_GET_WEIGHTS}")
            if config.seed is not None:
                logger.warning("both 'weights' and 'random_weights_seed' are set: using the weights file")
            return OrPosePredictor.from_files(config.weights_path, config.stats_path, **options)
        if config.seed is not None:
            logger.warning(
                f"RANDOM WEIGHTS (seed {config.seed}): the poses are meaningless; for demos and tests only. "
                "Real poses need the official checkpoints: 'orpose-download-models' (models/README.md)."
            )
            return OrPosePredictor.with_random_weights(config.seed, config.stats_path, **options)
    except (CheckpointError, StatsError, FileNotFoundError) as error:
        raise ModelLoadError(f"cannot load the model: {error}. {HOW_TO_GET_WEIGHTS}") from error
    except ValueError as error:  # fp16 on CPU, bad factor...
        raise ModelLoadError(f"invalid model settings: {error}") from error
    raise ModelLoadError(f"no model weights configured. {HOW_TO_GET_WEIGHTS}")
