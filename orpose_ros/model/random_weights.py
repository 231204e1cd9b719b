"""Random weights in the official ORPose layout, for tests and demos (never for real use).

`random_state_dict` fills every tensor of a layout (taken from a model, a state dict or
checkpoint_layout.tsv) with seeded random values. With ``detecting=True`` the values are crafted so
that the model behaves like a detector on real frames: a few person boxes of varied scores above
0.5, heatmap logits of a few units (untamed deconvolution weights give logits near 800, which make
detectron2's `heatmaps_to_keypoints` fail its assertion), positive batch-norm variances.
"""

from __future__ import annotations

import math
import zlib
from collections.abc import Mapping
from pathlib import Path

import torch
from torch import nn

from .checkpoint import Layout, layout_of, read_layout_tsv

# Crafted values of the detecting variant (found by measuring on the shared OR frames).
_PERSON_LOGIT_BIAS = -1.0  # roi_heads.box_predictor.cls_score.bias[0]; index 1 is background
_PERSON_LOGIT_STD = 1.5  # typical spread of the person logit over proposals
_BOX_GROWTH = 2.0  # predicted boxes grow this much around their proposals: fewer survive NMS
_HEATMAP_LOGIT_STD = 2.0  # typical spread of the heatmap logits


def random_state_dict(
    model_or_layout: nn.Module | Mapping[str, torch.Tensor] | Layout | str | Path,
    seed: int,
    detecting: bool = True,
) -> dict[str, torch.Tensor]:
    """Seeded random tensors for every key of a layout.

    Args:
        model_or_layout: a module (its ``state_dict()``), a state dict, a `Layout` (key -> (shape,
            dtype)), or the path of a layout table (checkpoint_layout.tsv).
        seed: same seed, same values (each key has its own generator, so the order does not matter).
        detecting: craft the values so that people are detected and heatmaps stay finite (see the
            module docstring); False gives plain scaled-normal values, on which a forward pass may
            detect nobody or make `heatmaps_to_keypoints` assert.

    Returns:
        key -> CPU tensor with the layout's shape and dtype.
    """
    layout = _as_layout(model_or_layout)
    return {key: _random_tensor(key, shape, dtype, seed, detecting) for key, (shape, dtype) in layout.items()}


def _as_layout(source: nn.Module | Mapping | str | Path) -> Layout:
    if isinstance(source, nn.Module):
        return layout_of(source.state_dict())
    if isinstance(source, (str, Path)):
        return read_layout_tsv(source)
    if all(isinstance(v, torch.Tensor) for v in source.values()):
        return layout_of(source)
    return {k: (tuple(shape), dtype) for k, (shape, dtype) in source.items()}


def _generator(seed: int, key: str) -> torch.Generator:
    return torch.Generator().manual_seed((seed * 1_000_003 + zlib.crc32(key.encode())) % 2**63)


def _random_tensor(
    key: str, shape: tuple[int, ...], dtype: torch.dtype, seed: int, detecting: bool
) -> torch.Tensor:
    g = _generator(seed, key)

    def normal(std: float, mean: float = 0.0) -> torch.Tensor:
        return torch.randn(shape, generator=g) * std + mean

    def uniform(low: float, high: float) -> torch.Tensor:
        return torch.rand(shape, generator=g) * (high - low) + low

    name = key.rsplit(".", 1)[-1]
    if not dtype.is_floating_point:  # num_batches_tracked
        return torch.randint(1, 100_000, shape, generator=g, dtype=dtype)
    if name == "running_var":
        value = uniform(0.5, 1.5)
    elif name == "running_mean":
        value = normal(0.1)
    elif ".norm." in key or "batch_norm" in key:  # affine batch-norm parameters
        value = uniform(0.5, 1.0) if name == "weight" else normal(0.1)
    elif name == "bias":
        value = normal(0.01)
    else:  # weights of convolutions, deconvolutions and linear layers: variance-preserving
        fan_in = math.prod(shape[1:]) if "score_lowres" not in key else shape[0] * shape[2] * shape[3] / 4
        value = normal(math.sqrt(1.0 / fan_in))
    if detecting:
        value = _craft_for_detection(key, value, g)
    return value.to(dtype)


def _craft_for_detection(key: str, value: torch.Tensor, g: torch.Generator) -> torch.Tensor:
    """Override the few tensors that decide whether and how people are detected."""
    if key.endswith("box_predictor.cls_score.weight"):
        # person logit (row 0) varies with the box features; background logit (row 1) is 0.
        value = torch.zeros_like(value)
        value[0] = torch.randn(value.shape[1], generator=g) * _PERSON_LOGIT_STD / math.sqrt(value.shape[1])
    elif key.endswith("box_predictor.cls_score.bias"):
        value = torch.tensor([_PERSON_LOGIT_BIAS, 0.0])
    elif key.endswith("box_predictor.bbox_pred.weight"):
        value = value * 1e-3
    elif key.endswith("box_predictor.bbox_pred.bias"):
        # deltas (dx, dy, dw, dh) with detectron2's weights (10, 10, 5, 5): grow width and height.
        value = torch.tensor([0.0, 0.0, 5.0 * math.log(_BOX_GROWTH), 5.0 * math.log(_BOX_GROWTH)])
    elif key.endswith("rpn_head.anchor_deltas.weight"):
        value = value * 1e-3
    elif "score_lowres" in key and key.endswith("weight"):
        value = value * _HEATMAP_LOGIT_STD
    return value


def write_random_checkpoint(path: Path, seed: int) -> Path:
    """Write a checkpoint of the official layout with `random_state_dict` weights (seed ``seed``) to ``path``
    (as detectron2 saves them: the state dict under "model"), for tests and benchmarks ONLY."""
    from .config import build_orpose_model, get_orpose_cfg
    from .keypoint_head import PLACEHOLDER_STATS

    torch.save({"model": random_state_dict(build_orpose_model(get_orpose_cfg(PLACEHOLDER_STATS)), seed)}, path)
    return path
