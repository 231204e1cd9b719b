"""The exported model folder that `orpose-export` writes and the exported backends read (no torch).

    DIR/
      detector.onnx   the graph: (1, 3, H, W) float32 BGR image and the score threshold -> boxes, scores,
                      hard and soft heatmaps of the persons above it
      lifting.npz     the two lifting networks' parameters (checkpoint names, float32)
      config.json     what runs around the graph: input size rule, pixel mean/std, thresholds,
                      decoding constants, the Human3.6M statistics, the downsampling factor
      manifest.json   the source checkpoint's sha256, every file's sha256 and size, versions, and the
                      verification against detectron2 made at export

`ExportedModel.open` checks the manifest before anything is loaded, so a truncated or corrupted file,
a missing manifest or a folder of another format version is one clear line, never a runtime's traceback.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from orpose_ros.backends.protocol import BackendError
from orpose_ros.h36m_stats import H36MStats, StatsError

FORMAT = "orpose-exported-model"
FORMAT_VERSION = 1
GRAPH_FILE = "detector.onnx"
LIFTING_FILE = "lifting.npz"
CONFIG_FILE = "config.json"
MANIFEST_FILE = "manifest.json"
#: Graph inputs and outputs, by name: the (1, 3, H, W) image and a (1,) float32 score threshold.
GRAPH_INPUT = "image"
GRAPH_MIN_SCORE = "min_score"
GRAPH_OUTPUTS = ("boxes", "scores", "heatmaps_hard", "heatmaps_soft")
_STATS_FIELDS = ("data_mean_2d", "data_std_2d", "dim_to_use_2d", "data_mean_3d", "data_std_3d", "dim_to_use_3d")


class ModelFolderError(BackendError):
    """The exported model folder is missing, incomplete, corrupted or of another format (one line)."""


def sha256_of(path: Path, chunk: int = 1 << 22) -> str:
    """Hex sha256 of a file, read in 4 MiB chunks."""
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        while block := f.read(chunk):
            digest.update(block)
    return digest.hexdigest()


def file_entry(path: Path) -> dict:
    """The manifest entry of one file: its size [bytes] and sha256."""
    return {"bytes": path.stat().st_size, "sha256": sha256_of(path)}


def is_exported_model(path: Path) -> bool:
    """Whether ``path`` is a folder (the exported form) rather than a checkpoint file."""
    return Path(path).is_dir()


def stats_to_json(stats: H36MStats) -> dict:
    """The six arrays of ``h36stats.json``, as JSON lists."""
    return {name: getattr(stats, name).tolist() for name in _STATS_FIELDS}


@dataclass(frozen=True)
class ExportedModel:
    """An opened, checked model folder.

    Attributes:
        folder: the folder.
        config: config.json (see `orpose_ros.model.export.model_config` for its keys).
        manifest: manifest.json.
        stats: the Human3.6M statistics of the lifting (from config.json).
        lifting_params: the lifting networks' parameters (``nw2Dto3D_{hard,soft}.*``).
    """

    folder: Path
    config: dict
    manifest: dict
    stats: H36MStats
    lifting_params: dict[str, np.ndarray]

    @property
    def graph_path(self) -> Path:
        return self.folder / GRAPH_FILE

    @property
    def downsample_factor(self) -> int | None:
        """The factor the weights were trained for (None: unknown, e.g. a checkpoint named otherwise)."""
        return self.config.get("downsample_factor")

    @property
    def input_rule(self) -> dict:
        """``min_size``, ``max_size`` (detectron2's INPUT.MIN/MAX_SIZE_TEST) and ``fixed_frame_size``
        ([height, width] the graph was exported for, or None for any size)."""
        return self.config["input"]

    @property
    def verified_runtimes(self) -> dict[str, dict]:
        """Runtime name -> its verification at export (``within_tolerance`` and the deviations)."""
        return self.manifest.get("verification", {}).get("runtimes", {})

    @classmethod
    def open(cls, folder: Path, check_hashes: bool = True) -> ExportedModel:
        """Open ``folder`` after checking its manifest (sizes always, sha256 unless ``check_hashes`` is False).

        Raises:
            ModelFolderError: a missing folder or manifest, a missing, truncated or corrupted file, an
                unknown format version, malformed statistics.
        """
        folder = Path(folder)
        how = f"export it again with 'orpose-export --weights W.pth --out {folder}'"
        if not folder.is_dir():
            raise ModelFolderError(f"exported model folder not found: {folder}")
        manifest = _read_json(folder / MANIFEST_FILE, f"{folder} is not an exported ORPose model "
                                                      f"(no {MANIFEST_FILE}); {how}")
        if manifest.get("format") != FORMAT or manifest.get("format_version") != FORMAT_VERSION:
            raise ModelFolderError(
                f"{folder}: format {manifest.get('format')!r} version {manifest.get('format_version')!r}, this "
                f"orpose_ros reads {FORMAT!r} version {FORMAT_VERSION}; {how}"
            )
        files = manifest.get("files", {})
        for name in (GRAPH_FILE, LIFTING_FILE, CONFIG_FILE):
            path, entry = folder / name, files.get(name)
            if entry is None:
                raise ModelFolderError(f"{folder / MANIFEST_FILE} does not list {name}; {how}")
            if not path.is_file():
                raise ModelFolderError(f"{path} is missing; {how}")
            if path.stat().st_size != entry.get("bytes"):
                raise ModelFolderError(
                    f"{path} is truncated or altered ({path.stat().st_size} bytes, the manifest says "
                    f"{entry.get('bytes')}); {how}"
                )
            if check_hashes and sha256_of(path) != entry.get("sha256"):
                raise ModelFolderError(f"{path} is corrupted (its sha256 differs from the manifest's); {how}")
        config = _read_json(folder / CONFIG_FILE, f"{folder / CONFIG_FILE} is unreadable; {how}")
        try:
            stats = H36MStats(**{k: np.asarray(config["h36m_stats"][k], np.int64 if k.startswith("dim") else
                                               np.float64) for k in _STATS_FIELDS},
                              source=str(folder / CONFIG_FILE))
        except (KeyError, TypeError, ValueError, StatsError) as error:
            raise ModelFolderError(f"{folder / CONFIG_FILE}: bad Human3.6M statistics: {error}") from None
        try:
            with np.load(folder / LIFTING_FILE) as npz:
                params = {k: npz[k] for k in npz.files}
        except (OSError, ValueError) as error:
            raise ModelFolderError(f"{folder / LIFTING_FILE} is unreadable ({error}); {how}") from None
        return cls(folder=folder, config=config, manifest=manifest, stats=stats, lifting_params=params)


def _read_json(path: Path, missing: str) -> dict:
    if not path.is_file():
        raise ModelFolderError(missing)
    try:
        value = json.loads(path.read_text())
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as error:
        raise ModelFolderError(f"{path} is not valid JSON ({error})") from None
    if not isinstance(value, dict):
        raise ModelFolderError(f"{path} is not a JSON object")
    return value
