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


@pytest.mark.parametrize(("h", "w", "size"), [(6, 8, (4, 6)), (6, 8, (8, 6)), (5, 9, (5, 7))])
def test_resize_torch_matches_pil_when_a_side_equals_the_other_target_side(h: int, w: int, size: tuple) -> None:
    # each side is compared with its own target: a height of 6 is shrunk to 4 or grown to 8 although the target
    # width is 6 too; a height equal to its target (5) is left as it is
    rng = np.random.default_rng(h * w + size[0])
    noise = rng.integers(0, 256, (h, w, 3), dtype=np.uint8)
    out = _hwc(resample.resize_torch(_nchw(noise), size))
    assert out.shape == (size[0], size[1], 3)
    np.testing.assert_array_equal(out, privacy.resize(noise, size))


def test_resize_torch_keeps_the_batch_on_its_device() -> None:
    # "uint8 on the batch's device": the meta device (shapes, no data) stands in for a GPU here; an index or
    # weight tensor left on the CPU fails as it would on a GPU
    batch = torch.zeros(2, 3, 6, 8, dtype=torch.uint8, device="meta")
    out = resample.resize_torch(batch, (4, 6))
    assert out.device == batch.device
    assert out.shape == (2, 3, 4, 6)
    assert out.dtype == torch.uint8
