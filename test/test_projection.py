"""Pinhole intrinsics and back-projection used to place skeleton markers."""

from __future__ import annotations

import math

import numpy as np
import pytest

from orpose_ros.projection import Intrinsics


def test_nominal_fov_camera_has_its_centre_on_the_optical_axis() -> None:
    cam = Intrinsics.from_horizontal_fov(640, 480, 90.0)
    assert cam.fx == pytest.approx(320.0) and cam.fy == pytest.approx(320.0)
    np.testing.assert_allclose(cam.back_project(320, 240, 3.0), [0.0, 0.0, 3.0])
    # the right image border is 45 degrees off-axis at 90 degrees FOV
    x, _, z = cam.back_project(640, 240, 2.0)
    assert math.degrees(math.atan2(x, z)) == pytest.approx(45.0)


def test_camera_matrix_and_rescaling() -> None:
    cam = Intrinsics.from_k([500, 0, 330, 0, 510, 250, 0, 0, 1], 640, 480)
    np.testing.assert_allclose(cam.back_project(830, 250, 1.0), [1.0, 0.0, 1.0])
    half = cam.scaled_to(320, 240)
    assert (half.fx, half.fy, half.cx, half.cy) == (250.0, 255.0, 165.0, 125.0)
    np.testing.assert_allclose(half.back_project(415, 125, 1.0), [1.0, 0.0, 1.0])


@pytest.mark.parametrize("fov", [0.0, 180.0, -5.0])
def test_impossible_field_of_view_is_refused(fov: float) -> None:
    with pytest.raises(ValueError, match="field of view"):
        Intrinsics.from_horizontal_fov(640, 480, fov)


def test_uncalibrated_camera_info_is_refused() -> None:
    with pytest.raises(ValueError, match="focal length"):
        Intrinsics.from_k([0.0] * 9, 640, 480)
