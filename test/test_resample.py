"""The torch resampling of the GPU path: bit-identical to the published PIL path."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from orpose_ros import privacy
from orpose_ros.model import get_orpose_cfg, resample
from orpose_ros.model.predictor import network_input_size

torch.set_num_threads(2)
CFG = get_orpose_cfg()


def _nchw(frame: np.ndarray) -> torch.Tensor:
    return torch.from_numpy(frame.copy()).permute(2, 0, 1)[None].contiguous()


def _hwc(batch: torch.Tensor) -> np.ndarray:
    return batch[0].permute(1, 2, 0).numpy()


def _max_diff(a: np.ndarray, b: np.ndarray) -> int:
    assert a.shape == b.shape
    assert a.dtype == b.dtype == np.uint8
    return int(np.abs(a.astype(np.int16) - b.astype(np.int16)).max())


def test_torch_path_matches_pil_on_the_shared_frames(restored_frames) -> None:
    """The contract is <= 1 grey level; the integer implementation is in fact bit-identical."""
    worst = 0
    for small, big in restored_frames:
        worst = max(worst, _max_diff(_hwc(resample.resize_torch(_nchw(small), (480, 640))), big))
        pil = privacy.shrink_and_restore(big, 12)
        worst = max(worst, _max_diff(_hwc(resample.shrink_and_restore_torch(_nchw(big), 12)), pil))
        size = network_input_size(480, 640, CFG)
        assert size == (800, 1067)
        worst = max(worst, _max_diff(_hwc(resample.resize_torch(_nchw(big), size)), privacy.resize(big, size)))
    assert worst <= 1
    assert worst == 0


@pytest.mark.parametrize(("h", "w"), [(480, 640), (720, 1280), (37, 91), (481, 643)])
def test_torch_path_matches_pil_on_random_images(h: int, w: int) -> None:
    rng = np.random.default_rng(h * w)
    noise = rng.integers(0, 256, (h, w, 3), dtype=np.uint8)
    worst = _max_diff(_hwc(resample.resize_torch(_nchw(noise), network_input_size(h, w, CFG))),
                      privacy.resize(noise, network_input_size(h, w, CFG)))  # fmt: skip
    for factor in (2, 8, 10, 12):
        if min(h, w) // factor < 1:
            continue
        shrunk = privacy.shrunk_size(h, w, factor)
        torch_shrunk = _hwc(resample.resize_torch(_nchw(noise), shrunk))
        worst = max(worst, _max_diff(torch_shrunk, privacy.shrink(noise, factor)))
        worst = max(
            worst,
            _max_diff(_hwc(resample.shrink_and_restore_torch(_nchw(noise), factor)),
                      privacy.shrink_and_restore(noise, factor)),
        )  # fmt: skip
    assert worst <= 1
    assert worst == 0


def test_torch_path_batches_frames_independently(restored_frames) -> None:
    batch = torch.cat([_nchw(big) for _, big in restored_frames[:3]])
    out = resample.shrink_and_restore_torch(batch, 10)
    assert out.shape == (3, 3, 480, 640)
    assert out.dtype == torch.uint8
    for i, (_, big) in enumerate(restored_frames[:3]):
        np.testing.assert_array_equal(out[i].permute(1, 2, 0).numpy(), privacy.shrink_and_restore(big, 10))


def test_resize_torch_rejects_non_uint8() -> None:
    with pytest.raises(ValueError, match="uint8"):
        resample.resize_torch(torch.zeros(1, 3, 8, 8), (4, 4))
