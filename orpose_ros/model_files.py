"""Where the ORPose model files live: the weights, ``h36stats.json`` and the models folder.

The models folder is ``$ORPOSE_MODELS_DIR`` when set (``scripts/env.sh`` points it at the
repository's ``models/``), else ``$XDG_DATA_HOME/orpose_ros/models`` (``~/.local/share/...``).
Nothing here depends on where the package is installed, and nothing imports torch.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

from orpose_ros.h36m_stats import StatsError

MODELS_DIR_VARIABLE = "ORPOSE_MODELS_DIR"
CHECKPOINT_NAMES: tuple[str, ...] = tuple(f"orpose_fixed_{s}x_model_final.pth" for s in (8, 10, 12))
DEFAULT_CHECKPOINT = "orpose_fixed_12x_model_final.pth"
STATS_FILE_NAME = "h36stats.json"
HOW_TO_GET = "Get the official files with `orpose-download-models` (see models/README.md)."

_FACTOR_IN_NAME = re.compile(r"orpose_fixed_(\d+)x")


def default_models_dir() -> Path:
    """``$ORPOSE_MODELS_DIR``, else ``$XDG_DATA_HOME/orpose_ros/models`` (default ``~/.local/share``)."""
    if os.environ.get(MODELS_DIR_VARIABLE):
        return Path(os.environ[MODELS_DIR_VARIABLE]).expanduser()
    data_home = Path(os.environ.get("XDG_DATA_HOME") or Path.home() / ".local" / "share")
    return data_home / "orpose_ros" / "models"


def downsample_factor_from_name(path: str | Path) -> int | None:
    """The privacy factor in an official file name: ``orpose_fixed_12x_model_final.pth`` -> 12, else None."""
    match = _FACTOR_IN_NAME.search(Path(path).name)
    return int(match.group(1)) if match and int(match.group(1)) > 0 else None


def resolve_stats_path(weights: str | Path | None, stats: str | Path | None = None) -> Path:
    """Find ``h36stats.json``: the explicit ``stats`` path if given, else beside ``weights``, else in
    the models folder (`default_models_dir`).

    Raises:
        StatsError: listing every place that was tried.
    """
    if stats is not None:
        candidates = [Path(stats)]
    else:
        candidates = [Path(weights).parent / STATS_FILE_NAME] if weights is not None else []
        candidates.append(default_models_dir() / STATS_FILE_NAME)
    for candidate in candidates:
        if candidate.is_file():
            return candidate
    tried = ", ".join(str(c) for c in dict.fromkeys(candidates))
    raise StatsError(
        f"Human3.6M statistics ({STATS_FILE_NAME}) not found; looked at: {tried}. The 3D lifting cannot "
        f"run without them. {HOW_TO_GET}"
    )
