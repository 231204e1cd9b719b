"""Loading the official ORPose checkpoints strictly, and finding the files that go with them.

The official files (``orpose_fixed_{8,10,12}x_model_final.pth``) are detectron2 checkpoints: a
dict with the model's state dict under ``"model"``. A bare state dict is accepted too. Every key
and shape must match the model built by `build_orpose_model`; anything else is a `CheckpointError`.
"""

from __future__ import annotations

import logging
import pickle
from collections.abc import Mapping
from pathlib import Path

import torch
from torch import nn

from orpose_ros.model_files import HOW_TO_GET

logger = logging.getLogger(__name__)

#: key -> (shape, dtype) of a state dict.
Layout = dict[str, tuple[tuple[int, ...], torch.dtype]]

_MAX_LISTED = 5


class CheckpointError(RuntimeError):
    """A weights file is missing, unreadable, or does not have the official ORPose layout."""


def layout_of(state_dict: Mapping[str, torch.Tensor]) -> Layout:
    """Key -> (shape, dtype) of a state dict (or of ``module.state_dict()``)."""
    return {k: (tuple(v.shape), v.dtype) for k, v in state_dict.items()}


def read_layout_tsv(path: str | Path) -> Layout:
    """Read a layout table such as checkpoint_layout.tsv: ``key<TAB>(d0, d1, ...)<TAB>dtype`` lines,
    ``#`` comments ignored."""
    layout: Layout = {}
    for line in Path(path).read_text().splitlines():
        if not line.strip() or line.startswith("#"):
            continue
        key, shape, dtype = line.split("\t")
        dims = tuple(int(d) for d in shape.strip("() ").split(",") if d.strip())
        layout[key] = (dims, getattr(torch, dtype.strip()))
    return layout


def read_state_dict(path: str | Path, *, allow_pickle: bool = False) -> dict[str, torch.Tensor]:
    """Read a weights file: a detectron2 checkpoint (state dict under "model") or a bare state dict.

    Args:
        path: the ``.pth`` file.
        allow_pickle: also accept files that need full unpickling (arbitrary code can run: only for
            files you trust). By default files are read with ``torch.load(weights_only=True)``.

    Raises:
        CheckpointError: the file is missing (saying where it was looked for and how to get it),
            unreadable, or holds no state dict of tensors.
    """
    path = Path(path)
    if not path.is_file():
        raise CheckpointError(f"weights file not found: {path.resolve()}. {HOW_TO_GET}")
    try:
        data = torch.load(path, map_location="cpu", weights_only=not allow_pickle)
    except pickle.UnpicklingError as exc:
        raise CheckpointError(
            f"{path}: refused to unpickle non-tensor objects with weights_only=True ({exc}). If you trust "
            "the file, load it with allow_pickle=True."
        ) from exc
    except Exception as exc:  # zip/EOF/format errors of torch.load come in many types
        why = f"{type(exc).__name__}: {exc}"
        raise CheckpointError(f"{path}: not a readable PyTorch checkpoint ({why})") from exc
    if isinstance(data, Mapping) and isinstance(data.get("model"), Mapping):
        data = data["model"]
    if not isinstance(data, Mapping) or not data:
        raise CheckpointError(f"{path}: holds no state dict (expected a dict, or one with a 'model' entry)")
    not_tensors = [k for k, v in data.items() if not isinstance(v, torch.Tensor)]
    if not_tensors:
        raise CheckpointError(f"{path}: state dict entries that are not tensors: {_first(not_tensors)}")
    return dict(data)


def check_layout(expected: Layout, state_dict: Mapping[str, torch.Tensor], source: str | Path) -> None:
    """Raise `CheckpointError` unless ``state_dict`` has exactly the keys and shapes of ``expected``.

    The message names ``source`` and the first few missing keys, unexpected keys and shape mismatches.
    """
    missing = [k for k in expected if k not in state_dict]
    unexpected = [k for k in state_dict if k not in expected]
    wrong_shape = [
        f"{k}: {tuple(v.shape)} in the file, {expected[k][0]} expected"
        for k, v in state_dict.items()
        if k in expected and tuple(v.shape) != expected[k][0]
    ]
    problems = []
    if missing:
        problems.append(f"{len(missing)} missing key(s): {_first(missing)}")
    if unexpected:
        problems.append(f"{len(unexpected)} unexpected key(s): {_first(unexpected)}")
    if wrong_shape:
        problems.append(f"{len(wrong_shape)} shape mismatch(es): {_first(wrong_shape)}")
    if problems:
        raise CheckpointError(
            f"{source}: not an ORPose checkpoint of the official layout; " + "; ".join(problems)
        )


def load_weights(model: nn.Module, path: str | Path, *, allow_pickle: bool = False) -> None:
    """Load a weights file into ``model`` strictly (see `read_state_dict` and `check_layout`)."""
    state_dict = read_state_dict(path, allow_pickle=allow_pickle)
    load_state_dict_strict(model, state_dict, source=path)
    logger.info("loaded %d tensors from %s", len(state_dict), path)


def load_state_dict_strict(
    model: nn.Module, state_dict: Mapping[str, torch.Tensor], source: str | Path
) -> None:
    """Check ``state_dict`` against ``model``'s layout, then copy it in (dtypes converted by copy)."""
    check_layout(layout_of(model.state_dict()), state_dict, source)
    model.load_state_dict(state_dict, strict=True)


def _first(items: list[str]) -> str:
    shown = ", ".join(items[:_MAX_LISTED])
    return shown + (f", ... ({len(items) - _MAX_LISTED} more)" if len(items) > _MAX_LISTED else "")
