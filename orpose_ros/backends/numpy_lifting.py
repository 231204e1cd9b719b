"""ORPose's 2D -> 3D lifting in numpy, for the exported backends (no torch).

The same maths as ``orpose_ros.model.keypoint_head.StandardKeypoints3DHead.lift``: each COCO keypoint
set goes to the Human3.6M layout (`orpose_ros.skeleton.coco_to_h36m`), loses its neck row, is
normalised with the Human3.6M 2D statistics and goes through its lifting network (Martinez et al.'s
"simple baseline" in eval mode: Linear, batch norm with running statistics, ReLU, two residual
stages, Linear); the two 48-value outputs are averaged and un-normalised to millimetres.

It stays in numpy rather than in a graph: 0.3 % of the frame's time, no data-dependent shapes, and
any runtime (ONNX Runtime, OpenVINO, a GPU provider) gets the same 3D joints. Computed in float64,
so it is never less exact than detectron2's float32.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np

from orpose_ros.h36m_stats import NUM_JOINTS, H36MStats
from orpose_ros.skeleton import LIFTING_INPUT_ROWS, coco_to_h36m

#: The two lifting networks of the checkpoint (under ``roi_heads.keypoint_head.``): hard and soft branch.
NETWORKS = ("nw2Dto3D_hard", "nw2Dto3D_soft")
#: torch's BatchNorm1d default epsilon (the published model keeps it).
BATCH_NORM_EPS = 1e-5
_MM_PER_M = 1000.0


class LiftingNetwork:
    """One lifting network from its parameters (the checkpoint's names below the network's prefix).

    Args:
        params: ``w1.weight`` (1024, 32), ``w1.bias``, ``batch_norm1.{weight,bias,running_mean,running_var}``,
            ``linear_stages.{0,1}.{w1,w2,batch_norm1,batch_norm2}.*``, ``w2.weight`` (48, 1024), ``w2.bias``.
        num_stages: residual stages (2 in the published model).
    """

    def __init__(self, params: Mapping[str, np.ndarray], num_stages: int = 2) -> None:
        self._p = {k: np.asarray(v, np.float64) for k, v in params.items()}
        self._stages = [f"linear_stages.{i}." for i in range(num_stages)]
        missing = [k for k in self.parameter_names(num_stages) if k not in self._p]
        if missing:
            raise ValueError(f"lifting network parameters missing: {', '.join(missing[:3])}...")

    @staticmethod
    def parameter_names(num_stages: int = 2) -> list[str]:
        """Every parameter the network reads, relative to its prefix."""
        def bn(prefix: str) -> list[str]:
            return [f"{prefix}.{n}" for n in ("weight", "bias", "running_mean", "running_var")]

        names = ["w1.weight", "w1.bias", *bn("batch_norm1"), "w2.weight", "w2.bias"]
        for i in range(num_stages):
            s = f"linear_stages.{i}."
            names += [s + "w1.weight", s + "w1.bias", s + "w2.weight", s + "w2.bias", *bn(s + "batch_norm1"),
                      *bn(s + "batch_norm2")]
        return names

    def _linear(self, x: np.ndarray, name: str) -> np.ndarray:
        return x @ self._p[f"{name}.weight"].T + self._p[f"{name}.bias"]

    def _bn_relu(self, x: np.ndarray, name: str) -> np.ndarray:
        p = self._p
        y = (x - p[f"{name}.running_mean"]) / np.sqrt(p[f"{name}.running_var"] + BATCH_NORM_EPS)
        return np.maximum(y * p[f"{name}.weight"] + p[f"{name}.bias"], 0.0)

    def __call__(self, x: np.ndarray) -> np.ndarray:
        """(R, 32) normalised 2D -> (R, 48) normalised 3D (float64)."""
        y = self._bn_relu(self._linear(x, "w1"), "batch_norm1")
        for s in self._stages:
            z = self._bn_relu(self._linear(y, s + "w1"), s + "batch_norm1")
            z = self._bn_relu(self._linear(z, s + "w2"), s + "batch_norm2")
            y = y + z
        return self._linear(y, "w2")


class Lifting:
    """The hard and soft lifting networks with the Human3.6M statistics: COCO 2D -> Human3.6M 3D.

    Args:
        params: ``nw2Dto3D_hard.*`` and ``nw2Dto3D_soft.*`` parameters (see `LiftingNetwork`).
        stats: the Human3.6M statistics the weights were trained with.
    """

    def __init__(self, params: Mapping[str, np.ndarray], stats: H36MStats) -> None:
        self.networks = [
            LiftingNetwork({k[len(n) + 1:]: v for k, v in params.items() if k.startswith(n + ".")}) for n in NETWORKS
        ]
        self.stats = stats
        self._mean_2d, self._std_2d = stats.mean_2d_used, stats.std_2d_used

    def __call__(self, kpts_hard: np.ndarray, kpts_soft: np.ndarray) -> np.ndarray:
        """Lift the hard and soft keypoint sets and average them.

        Args:
            kpts_hard, kpts_soft: (R, 17, 3) x, y [network-input px], score; COCO order.

        Returns:
            (R, 17, 3) float32 x, y, z [m], pelvis-relative, camera-aligned axes, Human3.6M-17 order.
        """
        outputs = []
        for net, kpts in zip(self.networks, (kpts_hard, kpts_soft), strict=True):
            h36m = coco_to_h36m(np.asarray(kpts, np.float32))
            flat = h36m[:, list(LIFTING_INPUT_ROWS), 0:2].reshape(len(h36m), -1).astype(np.float64)
            outputs.append(net((flat - self._mean_2d) / self._std_2d))
        return (self._unnormalise((outputs[0] + outputs[1]) / 2.0) / _MM_PER_M).astype(np.float32)

    def _unnormalise(self, out: np.ndarray) -> np.ndarray:
        """(R, 48) -> (R, 17, 3) millimetres, as the published evaluation un-normalises."""
        s = self.stats
        full = np.zeros((out.shape[0], s.data_mean_3d.shape[0]))
        full[:, s.dim_to_use_3d] = out
        full = full * s.data_std_3d + s.data_mean_3d
        keep = np.concatenate([np.arange(3), s.dim_to_use_3d])
        return full[:, keep].reshape(out.shape[0], NUM_JOINTS, 3)
