"""Privacy shrink/restore (PIL): the published transform, its size rule, and a light import."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest
from PIL import Image

from orpose_ros import privacy


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
    import orpose_ros.model  # noqa: F401  (makes detectron2 importable: its compatibility shim)

    # isort: split
    from detectron2.data import transforms

    for _, frame in restored_frames[:3]:
        steps = [transforms.Resize((40, 53), Image.BILINEAR), transforms.Resize((480, 640), Image.BILINEAR)]
        published, _ = transforms.apply_transform_gens(steps, frame)  # as the published MVORDatasetMapper
        ours = privacy.shrink_and_restore(frame, 12)
        assert ours.shape == frame.shape
        assert ours.dtype == np.uint8
        np.testing.assert_array_equal(ours, published)
        assert not np.array_equal(ours, frame)  # the restored frame lost detail


def test_restore_keeps_the_input_untouched(restored_frames) -> None:
    small, _ = restored_frames[1]
    before = small.copy()
    privacy.restore(small, (480, 640))
    np.testing.assert_array_equal(small, before)


def test_resize_equals_detectron2_resize_transform_on_odd_sizes() -> None:
    import orpose_ros.model  # noqa: F401  (makes detectron2 importable: its compatibility shim)

    # isort: split
    from detectron2.data.transforms import ResizeTransform

    rng = np.random.default_rng(7)
    for h, w, size in ((481, 643, (40, 53)), (37, 91, (800, 1967)), (480, 640, (480, 640))):
        frame = rng.integers(0, 256, (h, w, 3), dtype=np.uint8)
        np.testing.assert_array_equal(privacy.resize(frame, size), ResizeTransform(h, w, *size).apply_image(frame))
    gray = rng.integers(0, 256, (48, 64, 1), dtype=np.uint8)
    np.testing.assert_array_equal(privacy.resize(gray, (4, 5)), ResizeTransform(48, 64, 4, 5).apply_image(gray))


def test_privacy_imports_neither_torch_nor_the_model() -> None:
    """The privacy filter beside the camera must start fast: shrinking loads no torch or detectron2."""
    code = (
        "import sys, numpy as np; from orpose_ros import privacy; "
        "privacy.shrink_and_restore(np.zeros((480, 640, 3), np.uint8), 12); "
        "print(sorted(m for m in sys.modules if m.split('.')[0] in ('torch', 'detectron2', 'orpose_ros')))"
    )
    loaded = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert loaded.strip() == "['orpose_ros', 'orpose_ros.privacy']"


@pytest.mark.parametrize(("h", "w", "factor"), [(480, 640, 12), (480, 640, 8), (40, 53, 1), (37, 50, 37)])
def test_a_frame_shrunk_to_exactly_one_pixel_high_is_accepted_and_less_is_refused(h: int, w: int, factor: int) -> None:
    size = privacy.shrunk_size(h, w, factor)
    assert size == (h // factor, w // factor)
    edge = privacy.shrunk_size(factor, 2 * factor, factor)  # int(factor / factor) = 1 px high
    assert edge == (1, 2)
    with pytest.raises(ValueError, match=rf"^a {2 * factor}x{factor - 1} frame is too small to shrink by "
                                         rf"{factor} \(to 2x0\)$"):  # fmt: skip
        privacy.shrunk_size(factor - 1, 2 * factor, factor)


@pytest.mark.parametrize("factor", [1, 2, 8, 10, 12, 37])
def test_the_shrink_factor_is_recovered_from_the_two_sizes(factor: int) -> None:
    full = (480, 640)
    assert privacy.shrink_factor(privacy.shrunk_size(*full, factor), full) == factor
    # a 1280-wide frame shrunk by 2 has the size of a 640-wide one: the smallest factor is the answer
    assert privacy.shrink_factor((240, 320), (480, 640)) == 2


@pytest.mark.parametrize(("small", "full"), [((41, 53), (480, 640)), ((40, 54), (480, 640)), ((481, 640), (480, 640))])
def test_a_size_that_no_factor_gives_is_refused_naming_both_sizes(small: tuple, full: tuple) -> None:
    with pytest.raises(ValueError, match=rf"^a {small[1]}x{small[0]} frame is not an integer shrink of "
                                         rf"{full[1]}x{full[0]} \(width x height\)$"):  # fmt: skip
        privacy.shrink_factor(small, full)


def test_the_smallest_shrink_factor_of_a_one_pixel_result() -> None:
    assert privacy.shrink_factor((1, 1), (7, 7)) == 4  # int(7 / 4) = 1, while int(7 / 3) = 2
    assert privacy.shrink_factor((1, 1), (1, 1)) == 1


@pytest.mark.parametrize(
    "frame",
    [np.zeros((4, 4, 3), dtype=np.float32), np.zeros(4, dtype=np.uint8), np.zeros((2, 2, 2, 2), dtype=np.uint8)],
)
def test_resize_refuses_frames_that_are_not_uint8_images(frame: np.ndarray) -> None:
    with pytest.raises(ValueError, match=r"^expected an \(H, W\[, C\]\) uint8 frame, got "):
        privacy.resize(frame, (2, 2))


@pytest.mark.parametrize("shape", [(48, 64), (48, 64, 1), (48, 64, 3)])
def test_shrink_and_restore_keeps_the_frame_shape(shape: tuple) -> None:
    frame = np.random.default_rng(0).integers(0, 256, shape, dtype=np.uint8)
    assert privacy.shrink(frame, 8).shape == (6, 8, *shape[2:])
    assert privacy.shrink_and_restore(frame, 8).shape == shape


def test_shrink_factors_of_portrait_and_very_wide_frames() -> None:
    assert privacy.shrink_factor((53, 40), (640, 480)) == 12  # a portrait frame: heights and widths not mixed
    # 1 px high for every factor from 51 to 100: the width decides (int(1000 / 63) = 15)
    assert privacy.shrink_factor((1, 15), (100, 1000)) == 63
