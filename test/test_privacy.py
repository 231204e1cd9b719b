"""Privacy shrink/restore: the published PIL path and the torch path that must match it."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from orpose_ros import privacy
from orpose_ros.model.predictor import network_input_size

torch.set_num_threads(2)


def _read_bgr(path: Path) -> np.ndarray:
    return np.ascontiguousarray(np.asarray(Image.open(path).convert("RGB"))[:, :, ::-1])


def _nchw(frame: np.ndarray) -> torch.Tensor:
    return torch.from_numpy(frame).permute(2, 0, 1)[None].contiguous()


def _hwc(batch: torch.Tensor) -> np.ndarray:
    return batch[0].permute(1, 2, 0).numpy()


def _max_diff(a: np.ndarray, b: np.ndarray) -> int:
    assert a.shape == b.shape and a.dtype == b.dtype == np.uint8
    return int(np.abs(a.astype(np.int16) - b.astype(np.int16)).max())


@pytest.fixture(scope="module")
def restored_frames(mvor_frames: list[Path]) -> list[tuple[np.ndarray, np.ndarray]]:
    """(53x40 shared frame, its 640x480 restoration) for every sixth shared frame."""
    pairs = []
    for path in mvor_frames[::6]:
        small = _read_bgr(path)
        pairs.append((small, privacy.restore(small, (480, 640))))
    return pairs


@pytest.mark.parametrize(("factor", "size"), [(12, (40, 53)), (10, (48, 64)), (8, (60, 80)), (1, (480, 640))])
def test_shrunk_size_of_a_vga_frame(factor: int, size: tuple[int, int]) -> None:
    assert privacy.shrunk_size(480, 640, factor) == size
    frame = np.zeros((480, 640, 3), np.uint8)
    assert privacy.shrink(frame, factor).shape == (*size, 3)


def test_shared_frames_are_the_published_12x_size(restored_frames) -> None:
    small, big = restored_frames[0]
    assert small.shape == (40, 53, 3)
    assert privacy.shrink(big, 12).shape == small.shape


@pytest.mark.parametrize("factor", [0, -2, 1.5, True, "12"])
def test_bad_factors_are_rejected(factor) -> None:
    with pytest.raises(ValueError, match="integer >= 1"):
        privacy.shrunk_size(480, 640, factor)


def test_too_small_frame_is_rejected() -> None:
    with pytest.raises(ValueError, match="too small"):
        privacy.shrink(np.zeros((11, 640, 3), np.uint8), 12)


def test_shrink_and_restore_is_detectron2_resize_applied_twice(restored_frames) -> None:
    # detectron2 is imported only after orpose_ros (its compat shims must come first).
    from detectron2.data import transforms

    for _, frame in restored_frames[:3]:
        steps = [transforms.Resize((40, 53), Image.BILINEAR), transforms.Resize((480, 640), Image.BILINEAR)]
        published, _ = transforms.apply_transform_gens(steps, frame)  # as the published MVORDatasetMapper
        ours = privacy.shrink_and_restore(frame, 12)
        assert ours.shape == frame.shape and ours.dtype == np.uint8
        np.testing.assert_array_equal(ours, published)
        assert not np.array_equal(ours, frame)  # the restored frame lost detail


def test_restore_keeps_the_input_untouched(restored_frames) -> None:
    small, _ = restored_frames[1]
    before = small.copy()
    privacy.restore(small, (480, 640))
    np.testing.assert_array_equal(small, before)


def test_torch_path_matches_pil_on_the_shared_frames(restored_frames) -> None:
    """The contract is <= 1 grey level; the integer implementation is in fact bit-identical."""
    worst = 0
    for small, big in restored_frames:
        worst = max(worst, _max_diff(_hwc(privacy.resize_torch(_nchw(small), (480, 640))), big))
        pil = privacy.shrink_and_restore(big, 12)
        worst = max(worst, _max_diff(_hwc(privacy.shrink_and_restore_torch(_nchw(big), 12)), pil))
        size = network_input_size(480, 640)
        assert size == (800, 1067)
        worst = max(worst, _max_diff(_hwc(privacy.resize_torch(_nchw(big), size)), privacy.resize(big, size)))
    assert worst <= 1
    assert worst == 0


@pytest.mark.parametrize(("h", "w"), [(480, 640), (720, 1280), (37, 91), (481, 643)])
def test_torch_path_matches_pil_on_random_images(h: int, w: int) -> None:
    rng = np.random.default_rng(h * w)
    noise = rng.integers(0, 256, (h, w, 3), dtype=np.uint8)
    worst = _max_diff(_hwc(privacy.resize_torch(_nchw(noise), network_input_size(h, w))),
                      privacy.resize(noise, network_input_size(h, w)))  # fmt: skip
    for factor in (2, 8, 10, 12):
        if min(h, w) // factor < 1:
            continue
        shrunk = privacy.shrunk_size(h, w, factor)
        torch_shrunk = _hwc(privacy.resize_torch(_nchw(noise), shrunk))
        worst = max(worst, _max_diff(torch_shrunk, privacy.shrink(noise, factor)))
        worst = max(
            worst,
            _max_diff(_hwc(privacy.shrink_and_restore_torch(_nchw(noise), factor)),
                      privacy.shrink_and_restore(noise, factor)),
        )  # fmt: skip
    assert worst <= 1
    assert worst == 0


def test_torch_path_batches_frames_independently(restored_frames) -> None:
    batch = torch.cat([_nchw(big) for _, big in restored_frames[:3]])
    out = privacy.shrink_and_restore_torch(batch, 10)
    assert out.shape == (3, 3, 480, 640) and out.dtype == torch.uint8
    for i, (_, big) in enumerate(restored_frames[:3]):
        np.testing.assert_array_equal(out[i].permute(1, 2, 0).numpy(), privacy.shrink_and_restore(big, 10))


def test_resize_torch_rejects_non_uint8() -> None:
    with pytest.raises(ValueError, match="uint8"):
        privacy.resize_torch(torch.zeros(1, 3, 8, 8), (4, 4))
