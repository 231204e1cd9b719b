"""The Human3.6M statistics that travel with the ORPose weights (``h36stats.json``), without torch.

The lifting network normalises its 2D input and un-normalises its 3D output with them; the geometry
uses their 3D mean as a template body. Only numpy and json here, so that light tools (calibration,
fusion) can read them without loading the model.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np

#: 2D values the lifting network reads (16 joints x (x, y)) and 3D values it predicts (16 x 3).
USED_2D_VALUES = 32
USED_3D_VALUES = 48
NUM_JOINTS = 17
_MM_PER_M = 1000.0

#: The six arrays of the file and their published lengths (32 Human3.6M joints x 2 or x 3 values).
_LENGTHS = {
    "data_mean_2d": 64,
    "data_std_2d": 64,
    "dim_to_use_2d": USED_2D_VALUES,
    "data_mean_3d": 96,
    "data_std_3d": 96,
    "dim_to_use_3d": USED_3D_VALUES,
}
_FIELDS = tuple(_LENGTHS)


class StatsError(ValueError):
    """The Human3.6M statistics file (h36stats.json) is missing or malformed."""


@dataclass(frozen=True, eq=False)
class H36MStats:
    """Human3.6M normalisation statistics of the lifting networks (``h36stats.json``).

    Attributes:
        data_mean_2d, data_std_2d: (64,) float64 pixel statistics of 32 joints' x, y.
        dim_to_use_2d: (32,) int64 indices of the 16 joints the network sees.
        data_mean_3d, data_std_3d: (96,) float64 millimetre statistics of 32 joints' x, y, z.
        dim_to_use_3d: (48,) int64 indices of the 16 non-root joints the network predicts.
        source: where the values came from (a path, or "placeholder").
    """

    data_mean_2d: np.ndarray
    data_std_2d: np.ndarray
    dim_to_use_2d: np.ndarray
    data_mean_3d: np.ndarray
    data_std_3d: np.ndarray
    dim_to_use_3d: np.ndarray
    source: str = "placeholder"

    def __post_init__(self) -> None:
        _check_stats(self)

    @property
    def mean_2d_used(self) -> np.ndarray:
        """(32,) ``data_mean_2d[dim_to_use_2d]``: the mean the network input is normalised with."""
        return self.data_mean_2d[self.dim_to_use_2d]

    @property
    def std_2d_used(self) -> np.ndarray:
        """(32,) ``data_std_2d[dim_to_use_2d]``."""
        return self.data_std_2d[self.dim_to_use_2d]

    def mean_pose_m(self) -> np.ndarray:
        """(17, 3) the mean 3D pose [m]: pelvis-relative, camera-aligned axes, Human3.6M-17 order."""
        keep = np.concatenate([np.arange(3), self.dim_to_use_3d])
        return self.data_mean_3d[keep].reshape(NUM_JOINTS, 3) / _MM_PER_M

    @classmethod
    def from_json(cls, path: str | Path) -> H36MStats:
        """Load ``h36stats.json``; raises `StatsError` naming the file when missing or malformed."""
        path = Path(path)
        try:
            raw = json.loads(path.read_text())
        except FileNotFoundError:
            raise StatsError(
                f"Human3.6M statistics not found: {path}. The 3D lifting needs h36stats.json, which travels "
                "with the ORPose weights: run `orpose-download-models` (see models/README.md)."
            ) from None
        except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise StatsError(f"cannot read Human3.6M statistics {path}: {exc}") from exc
        if not isinstance(raw, dict):
            raise StatsError(f"malformed Human3.6M statistics {path}: expected a JSON object")
        missing = [f for f in _FIELDS if f not in raw]
        if missing:
            raise StatsError(f"malformed Human3.6M statistics {path}: missing {', '.join(missing)}")
        values = {}
        for f in _FIELDS:
            try:
                value = np.asarray(raw[f])
                if f.startswith("dim"):
                    if value.dtype.kind not in "iu":
                        raise ValueError("expected a list of integer indices")
                    value = value.astype(np.int64)
                else:
                    value = value.astype(np.float64)
            except (TypeError, ValueError) as exc:
                raise StatsError(f"malformed Human3.6M statistics {path}: {f}: {exc}") from None
            values[f] = value
        return cls(**values, source=str(path))

    @classmethod
    def placeholder(cls) -> H36MStats:
        """Neutral statistics (means 0, stds 1) for random-weight demos ONLY; callers must warn.

        With them the network sees raw pixel coordinates and its outputs are taken as millimetres:
        the 3D joints mean nothing, but shapes and plumbing are exercised.
        """
        return cls(
            data_mean_2d=np.zeros(64),
            data_std_2d=np.ones(64),
            dim_to_use_2d=np.arange(USED_2D_VALUES, dtype=np.int64),
            data_mean_3d=np.zeros(96),
            data_std_3d=np.ones(96),
            dim_to_use_3d=np.arange(3, 3 + USED_3D_VALUES, dtype=np.int64),
            source="placeholder",
        )


def _check_stats(s: H36MStats) -> None:
    """Validate shapes, index ranges and finiteness; raises `StatsError` naming ``s.source``."""

    def fail(why: str) -> None:
        raise StatsError(f"malformed Human3.6M statistics {s.source}: {why}")

    for name in _FIELDS:
        value = getattr(s, name)
        if not isinstance(value, np.ndarray) or value.ndim != 1:
            fail(f"{name} must be a flat list of numbers")
        if not np.all(np.isfinite(value)):
            fail(f"{name} has non-finite values")
    for name, length in _LENGTHS.items():
        if getattr(s, name).shape[0] != length:
            fail(f"{name} has {getattr(s, name).shape[0]} values, expected {length}")
    for name, dims, table in (("dim_to_use_2d", s.dim_to_use_2d, s.data_mean_2d),
                              ("dim_to_use_3d", s.dim_to_use_3d, s.data_mean_3d)):
        if dims.min() < 0 or dims.max() >= table.shape[0]:
            fail(f"{name} indexes outside its {table.shape[0]}-value statistics")
    if np.any(s.data_std_2d[s.dim_to_use_2d] == 0):
        fail("data_std_2d is zero at a used dimension (division by zero)")
