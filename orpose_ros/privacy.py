"""Privacy resampling: the low-resolution frames ORPose was trained on, at the camera's own size.

A frame of H x W is shrunk by the factor S to ``(int(H / S), int(W / S))`` and restored to H x W,
both with PIL's bilinear filter on uint8 (antialiased when shrinking), as the published demo does
through detectron2's ``ResizeTransform``. Only numpy and Pillow are imported, so a privacy filter
beside the camera loads neither torch nor the model. Frames are (H, W, C) uint8 arrays.
"""

from __future__ import annotations

import numpy as np
from PIL import Image

#: (height, width) [px] a frame that arrives already shrunk is restored to; None: a full-resolution frame.
RestoreSize = tuple[int, int] | None

#: The published factors (one model each); any integer >= 1 works (1 = no privacy resampling).
PUBLISHED_FACTORS = (8, 10, 12)


def shrunk_size(h: int, w: int, factor: int) -> tuple[int, int]:
    """``(int(h / factor), int(w / factor))``: the published size rule (640x480 at 12x -> 53x40).

    Raises:
        ValueError: for a factor below 1, or a frame too small to shrink (a side would be 0 px).
    """
    if isinstance(factor, bool) or not isinstance(factor, int) or factor < 1:
        raise ValueError(f"downsample factor must be an integer >= 1, got {factor!r}")
    size = (int(h / factor), int(w / factor))
    if min(size) < 1:
        raise ValueError(f"a {w}x{h} frame is too small to shrink by {factor} (to {size[1]}x{size[0]})")
    return size


def resize(frame: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """Resize an (H, W, C) or (H, W) uint8 frame to ``size`` = (height, width) with PIL bilinear.

    Equal to detectron2's ``ResizeTransform(h, w, *size).apply_image`` for uint8 frames (tested).
    """
    if frame.dtype != np.uint8 or frame.ndim not in (2, 3):
        raise ValueError(f"expected an (H, W[, C]) uint8 frame, got {frame.shape} {frame.dtype}")
    single = frame.ndim == 3 and frame.shape[2] == 1
    image = Image.fromarray(frame[:, :, 0] if single else frame)
    out = np.asarray(image.resize((size[1], size[0]), Image.Resampling.BILINEAR))
    return out[:, :, None] if single else out


def shrink(frame: np.ndarray, factor: int) -> np.ndarray:
    """(H, W, C) uint8 -> (int(H / factor), int(W / factor), C) uint8, PIL bilinear (antialiased)."""
    return resize(frame, shrunk_size(frame.shape[0], frame.shape[1], factor))


def restore(small: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """Upsample a shrunk frame back to ``size`` = (height, width) with PIL bilinear."""
    return resize(small, size)


def shrink_and_restore(frame: np.ndarray, factor: int) -> np.ndarray:
    """The frame the model sees in privacy mode: shrunk by ``factor``, restored to the frame's size."""
    return restore(shrink(frame, factor), frame.shape[:2])


def shrink_factor(small: tuple[int, int], full: tuple[int, int]) -> int:
    """The factor S with ``shrunk_size(*full, S) == small`` (sizes as (height, width)): how much a frame
    that arrives already shrunk was shrunk. The smallest such S when several fit.

    Raises:
        ValueError: no integer factor maps ``full`` onto ``small``.
    """
    for factor in range(1, max(full) + 1):
        size = (int(full[0] / factor), int(full[1] / factor))
        if size == tuple(small):
            return factor
        if size[0] < small[0] or size[1] < small[1]:
            break
    raise ValueError(
        f"a {small[1]}x{small[0]} frame is not an integer shrink of {full[1]}x{full[0]} (width x height)"
    )


def check_frame(frame: np.ndarray, factor: int, restore_to: RestoreSize = None) -> int:
    """The privacy factor ``frame`` goes through the model with; ValueError when it cannot.

    A full-resolution frame must be (H, W, 3) uint8 and large enough to shrink by ``factor``; a
    frame that arrives shrunk (``restore_to`` given) must be an integer shrink of ``restore_to``
    (`shrink_factor`), whose factor is returned instead.
    """
    if not isinstance(frame, np.ndarray):
        raise ValueError(f"expected a numpy array, got {type(frame).__name__}")
    if frame.ndim != 3 or frame.shape[2] != 3:
        raise ValueError(f"expected shape (H, W, 3) BGR, got {frame.shape}")
    if frame.dtype != np.uint8:
        raise ValueError(f"expected dtype uint8, got {frame.dtype}")
    if frame.size == 0:
        raise ValueError(f"empty frame of shape {frame.shape}")
    if restore_to is None:
        shrunk_size(frame.shape[0], frame.shape[1], factor)
        return factor
    return shrink_factor(frame.shape[:2], restore_to)


def model_view(frame: np.ndarray, factor: int, restore_to: RestoreSize = None) -> np.ndarray:
    """The (H, W, 3) uint8 frame the model sees: restored to ``restore_to`` when the frame arrives
    shrunk, else shrunk by ``factor`` and restored (the frame itself at factor 1)."""
    if restore_to is not None:
        return restore(frame, restore_to)
    return shrink_and_restore(frame, factor) if factor > 1 else frame
