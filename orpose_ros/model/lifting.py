"""2D -> 3D lifting of ORPose: joint mapping, normalisation and the lifting network.

Pure functions on torch tensors (the joint mapping also works on numpy arrays) plus the
"simple baseline" lifting network of Martinez et al. (ICCV 2017), as the published model uses it.

Coordinate conventions:
    * 2D inputs are keypoints in the pixels of the image the detector saw (x right, y down).
    * 3D outputs are Human3.6M-17 joints, pelvis-relative, camera-aligned axes (x right, y down,
      z forward), in millimetres as the statistics are; callers convert to metres.
"""

from __future__ import annotations

import logging

import torch
from torch import nn

from orpose_ros.h36m_stats import NUM_JOINTS, USED_2D_VALUES, USED_3D_VALUES
from orpose_ros.skeleton import COCO_TO_H36M_ROWS, LIFTING_INPUT_ROWS, coco_to_h36m  # noqa: F401  (their home)

LIFTING_INPUT_SIZE = USED_2D_VALUES  # 32: x, y of LIFTING_INPUT_ROWS
LIFTING_OUTPUT_SIZE = USED_3D_VALUES  # 48: every joint but the pelvis (root)

logger = logging.getLogger(__name__)


def lifting_input(h36m: torch.Tensor) -> torch.Tensor:
    """Drop the neck row and flatten x, y: (..., 17, >=2) -> (..., 32) as x0, y0, x1, y1, ..."""
    return h36m[..., list(LIFTING_INPUT_ROWS), 0:2].reshape(*h36m.shape[:-2], LIFTING_INPUT_SIZE)


def normalize_2d(flat: torch.Tensor, mean: torch.Tensor, std: torch.Tensor) -> torch.Tensor:
    """``(flat - mean) / std`` with the 32 used 2D statistics; shapes (..., 32), (32,), (32,)."""
    return (flat - mean) / std


def unnormalize_3d(
    out: torch.Tensor, mean_3d: torch.Tensor, std_3d: torch.Tensor, dim_to_use_3d: torch.Tensor
) -> torch.Tensor:
    """Turn lifting-network outputs into 17 pelvis-relative 3D joints, as the published evaluation does.

    The 48 values go into a 96-vector of zeros at ``dim_to_use_3d``, which is multiplied by
    ``std_3d`` and shifted by ``mean_3d``; then indices ``[0, 1, 2] + dim_to_use_3d`` are kept.

    Args:
        out: (..., 48) normalised network outputs.
        mean_3d, std_3d: (96,) statistics (``data_mean_3d``, ``data_std_3d``).
        dim_to_use_3d: (48,) integer indices into the 96-vector.

    Returns:
        (..., 17, 3) x, y, z in millimetres, Human3.6M-17 order; row 0 (pelvis) is the root.
    """
    dims = dim_to_use_3d.to(device=out.device, dtype=torch.long)
    full = out.new_zeros(*out.shape[:-1], mean_3d.shape[-1])
    full[..., dims] = out
    full = full * std_3d + mean_3d
    keep = torch.cat([torch.arange(3, device=dims.device), dims])
    return full[..., keep].reshape(*out.shape[:-1], NUM_JOINTS, 3)


class ResidualStage(nn.Module):
    """One residual block: x + ReLU(BN(W2 ReLU(BN(W1 x)))), dropout after each ReLU (off in eval)."""

    def __init__(self, size: int = 1024, p_dropout: float = 0.5) -> None:
        super().__init__()
        self.w1 = nn.Linear(size, size)
        self.batch_norm1 = nn.BatchNorm1d(size)
        self.w2 = nn.Linear(size, size)
        self.batch_norm2 = nn.BatchNorm1d(size)
        self.relu = nn.ReLU(inplace=True)
        self.dropout = nn.Dropout(p_dropout)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = self.dropout(self.relu(self.batch_norm1(self.w1(x))))
        y = self.dropout(self.relu(self.batch_norm2(self.w2(y))))
        return x + y


class LinearModel(nn.Module):
    """Martinez et al.'s lifting network: (R, 32) normalised 2D -> (R, 48) normalised 3D.

    ``w1`` Linear(32, 1024) -> ``batch_norm1`` -> ReLU -> ``linear_stages.0``, ``linear_stages.1``
    -> ``w2`` Linear(1024, 48). The published model runs it in eval mode (running batch-norm
    statistics, dropout off); the parameter names are those of the official checkpoints.
    """

    def __init__(self, linear_size: int = 1024, num_stages: int = 2, p_dropout: float = 0.5) -> None:
        super().__init__()
        self.w1 = nn.Linear(LIFTING_INPUT_SIZE, linear_size)
        self.batch_norm1 = nn.BatchNorm1d(linear_size)
        self.linear_stages = nn.ModuleList(ResidualStage(linear_size, p_dropout) for _ in range(num_stages))
        self.w2 = nn.Linear(linear_size, LIFTING_OUTPUT_SIZE)
        self.relu = nn.ReLU(inplace=True)
        self.dropout = nn.Dropout(p_dropout)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = self.dropout(self.relu(self.batch_norm1(self.w1(x))))
        for stage in self.linear_stages:
            y = stage(y)
        return self.w2(y)
