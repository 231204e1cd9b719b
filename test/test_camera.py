"""PinholeCamera: projection, back-projection, distortion, rescaling, nominal cameras and validation."""

from __future__ import annotations

import math

import numpy as np
import pytest
from fusion_data import look_at

from orpose_ros.geometry.camera import CameraModelError, PinholeCamera, stacked_cameras

K = np.array([[540.0, 0.0, 315.8], [0.0, 538.2, 241.9], [0.0, 0.0, 1.0]])
# Strong radial terms like MVOR's cameras, in OpenCV order (k1, k2, p1, p2, k3).
DISTORTION = np.array([0.03, -0.6, 0.0004, -0.0002, 2.5])


def posed_camera(distortion: np.ndarray | tuple = ()) -> PinholeCamera:
    return PinholeCamera("cam", 640, 480, K, np.asarray(distortion), look_at(np.array([2.0, -1.0, 2.5]), [0, 0, 1]))


def scene_points(n: int = 50) -> np.ndarray:
    rng = np.random.default_rng(1)
    return rng.uniform([-1.0, -1.0, 0.0], [1.0, 1.0, 2.0], (n, 3))


def test_projection_matrix_and_project_agree() -> None:
    cam = posed_camera()
    X = scene_points()
    uvw = np.c_[X, np.ones(len(X))] @ cam.projection_matrix.T
    np.testing.assert_allclose(cam.project(X), uvw[:, :2] / uvw[:, 2:], atol=1e-9)


def test_back_projection_inverts_projection() -> None:
    cam = posed_camera()
    X = scene_points()
    X_cam = cam.to_camera(X)
    uv = cam.project(X)
    np.testing.assert_allclose(cam.back_project(uv, X_cam[:, 2]), X_cam, atol=1e-9)
    np.testing.assert_allclose(cam.to_world(cam.back_project(uv, X_cam[:, 2])), X, atol=1e-9)


def test_rays_pass_through_the_points() -> None:
    cam = posed_camera(DISTORTION)
    X = scene_points()
    rays = cam.rays_world(cam.project(X))
    to_points = X - cam.centre_world
    np.testing.assert_allclose(np.linalg.norm(rays, axis=-1), 1.0)
    np.testing.assert_allclose(np.cross(rays, to_points), 0.0, atol=1e-8)
    np.testing.assert_allclose(cam.optical_axis_world, cam.T_world_from_camera[:3, 2])


def test_points_behind_the_camera_or_nan_do_not_project() -> None:
    cam = posed_camera(DISTORTION)
    behind = cam.to_world(np.array([[0.1, 0.2, -1.0], [0.0, 0.0, 0.0]]))
    assert np.isnan(cam.project(behind)).all()
    assert np.isnan(cam.project(np.array([np.nan, 0.0, 1.0]))).all()
    out = cam.project(np.stack([behind[0], scene_points(1)[0]]))
    assert np.isnan(out[0]).all()
    assert np.isfinite(out[1]).all()


def test_undistortion_inverts_distortion_to_a_small_fraction_of_a_pixel() -> None:
    distorted = posed_camera(DISTORTION)
    pinhole = posed_camera()
    X = scene_points(200)
    uv_distorted = distorted.project(X)
    assert np.abs(uv_distorted - pinhole.project(X)).max() > 5.0  # the distortion matters here
    np.testing.assert_allclose(distorted.undistort_pixels(uv_distorted), pinhole.project(X), atol=1e-6)
    X_cam = distorted.to_camera(X)
    np.testing.assert_allclose(distorted.back_project(uv_distorted, X_cam[:, 2]), X_cam, atol=1e-8)
    # no distortion: a copy
    uv = pinhole.project(X)
    assert pinhole.undistort_pixels(uv) is not uv
    np.testing.assert_array_equal(pinhole.undistort_pixels(uv), uv)


def test_shapes_broadcast_over_leading_axes() -> None:
    cam = posed_camera(DISTORTION)
    X = scene_points(12).reshape(2, 2, 3, 3)
    assert cam.project(X).shape == (2, 2, 3, 2)
    assert cam.back_project(cam.project(X), 2.0).shape == (2, 2, 3, 3)
    assert cam.rays_world(cam.project(X)).shape == (2, 2, 3, 3)


@pytest.mark.parametrize(("width", "height"), [(53, 40), (320, 240), (1280, 960), (64, 48)])
def test_scaled_camera_sees_the_resized_image(width: int, height: int) -> None:
    cam = posed_camera(DISTORTION)
    small = cam.scaled_to(width, height)
    X = scene_points()
    sx, sy = width / 640, height / 480
    expected = (cam.project(X) + 0.5) * [sx, sy] - 0.5  # pixel centres as cv2.resize maps them
    np.testing.assert_allclose(small.project(X), expected, atol=1e-9)
    np.testing.assert_allclose(small.scaled_to(640, 480).K, cam.K, atol=1e-12)
    assert (small.width, small.height, small.name) == (width, height, "cam")
    np.testing.assert_array_equal(small.distortion, cam.distortion)
    assert cam.scaled_to(640, 480) is cam


def test_nominal_camera_from_horizontal_field_of_view() -> None:
    cam = PinholeCamera.nominal("webcam", 640, 480, 90.0)
    assert cam.K[0, 0] == pytest.approx(320.0)
    assert cam.K[1, 1] == pytest.approx(320.0)
    np.testing.assert_allclose(cam.back_project(np.array([319.5, 239.5]), 3.0), [0.0, 0.0, 3.0])
    # the right border of the image (right edge of the last pixel) is 45 degrees off-axis
    x, _, z = cam.back_project(np.array([639.5, 239.5]), 2.0)
    assert math.degrees(math.atan2(x, z)) == pytest.approx(45.0)
    assert not cam.has_distortion
    np.testing.assert_array_equal(cam.T_world_from_camera, np.eye(4))


@pytest.mark.parametrize("fov", [0.0, 180.0, -5.0, float("nan")])
def test_impossible_field_of_view_is_refused(fov: float) -> None:
    with pytest.raises(CameraModelError, match=r"'webcam'.*field of view"):
        PinholeCamera.nominal("webcam", 640, 480, fov)


def test_from_k_reads_row_major_values() -> None:
    cam = PinholeCamera.from_k("c", [500, 0, 330, 0, 510, 250, 0, 0, 1], 640, 480, frame_id="c_optical")
    np.testing.assert_allclose(cam.back_project(np.array([830.0, 250.0]), 1.0), [1.0, 0.0, 1.0])
    assert cam.frame_id == "c_optical"
    assert cam.image_topic == ""
    half = cam.scaled_to(320, 240)
    np.testing.assert_allclose(half.K[0], [250.0, 0.0, 164.75])


def _rotation_about_z(deg: float) -> np.ndarray:
    T = np.eye(4)
    c, s = math.cos(math.radians(deg)), math.sin(math.radians(deg))
    T[:2, :2] = [[c, -s], [s, c]]
    return T


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"K": [0.0] * 9}, "K is singular"),
        ({"K": [500, 0, 320, 0, -500, 240, 0, 0, 1]}, "K is singular"),
        ({"K": [500, 0, 320, 0, float("nan"), 240, 0, 0, 1]}, "K has non-finite"),
        ({"K": [500, 0, 320, 0, 500, 240]}, "K must be 9 numbers"),
        ({"K": [500, 0, 320, 0, 500, 240, 0, 0, 2]}, "K must have the form"),
        ({"width": 0}, "width must be a positive integer"),
        ({"height": 480.5}, "height must be a positive integer"),
        ({"distortion": [0.1, 0.2, 0.3]}, "distortion must hold"),
        ({"distortion": [0.1, float("inf"), 0, 0]}, "distortion has non-finite"),
        ({"T_world_from_camera": np.diag([2.0, 1.0, 1.0, 1.0])}, "T_world_from_camera rotation is not orthonormal"),
        ({"T_world_from_camera": np.diag([-1.0, 1.0, 1.0, 1.0])}, "T_world_from_camera rotation has det"),
        ({"T_world_from_camera": np.eye(3)}, "T_world_from_camera must be a 4x4"),
        ({"T_world_from_camera": np.full((4, 4), np.nan)}, "T_world_from_camera has non-finite"),
    ],
)
def test_invalid_cameras_are_refused_naming_camera_and_field(kwargs: dict, message: str) -> None:
    args = {"K": [500, 0, 320, 0, 500, 240, 0, 0, 1], "width": 640, "height": 480} | kwargs
    with pytest.raises(CameraModelError, match=f"camera 'left': {message}"):
        PinholeCamera.from_k("left", **args)


def test_nearly_rigid_pose_is_accepted() -> None:
    T = _rotation_about_z(30.0)
    T[:3, :3] += 1e-7  # rounding of printed values
    PinholeCamera.from_k("c", [500, 0, 320, 0, 500, 240, 0, 0, 1], 640, 480, T_world_from_camera=T)


def test_camera_arrays_are_read_only() -> None:
    cam = posed_camera()
    with pytest.raises(ValueError, match="read-only"):
        cam.K[0, 0] = 1.0
    with pytest.raises(AttributeError):
        cam.width = 3  # type: ignore[misc]


def test_a_skewed_camera_projects_and_back_projects_with_its_skew() -> None:
    fx, s, cx, fy, cy = 500.0, 12.0, 320.0, 480.0, 240.0
    cam = PinholeCamera.from_k("skewed", [fx, s, cx, 0, fy, cy, 0, 0, 1], 640, 480)
    X_cam = np.array([[0.3, -0.2, 2.0], [-0.5, 0.4, 4.0]])
    x, y = X_cam[:, 0] / X_cam[:, 2], X_cam[:, 1] / X_cam[:, 2]
    uv = np.stack([fx * x + s * y + cx, fy * y + cy], axis=-1)
    np.testing.assert_allclose(cam.project_camera(X_cam), uv, rtol=1e-12)
    np.testing.assert_allclose(cam.normalised_coordinates(uv), np.stack([x, y], axis=-1), rtol=1e-12)
    np.testing.assert_allclose(cam.back_project(uv, X_cam[:, 2]), X_cam, rtol=1e-12)
    assert np.isnan(cam.project_camera(np.array([0.01, 0.02, 0.0]))).all()  # on the focal plane: not even inf


def test_world_and_camera_frames_are_related_by_the_pose_in_the_named_direction() -> None:
    # a camera at (1, 2, 3) whose optical axis (z) is world +x, its x axis world -y, its y axis world -z
    T = np.eye(4)
    T[:3, :3] = np.array([[0.0, 0.0, 1.0], [-1.0, 0.0, 0.0], [0.0, -1.0, 0.0]])
    T[:3, 3] = [1.0, 2.0, 3.0]
    cam = PinholeCamera.from_k("c", [500, 0, 320, 0, 500, 240, 0, 0, 1], 640, 480, T_world_from_camera=T)
    world = np.array([[5.0, 1.0, 2.5]])  # 4 m ahead, 1 m to its right (-y), 0.5 m below (-z)
    np.testing.assert_allclose(cam.to_camera(world), [[1.0, 0.5, 4.0]], atol=1e-12)
    np.testing.assert_allclose(cam.to_world(np.array([[1.0, 0.5, 4.0]])), world, atol=1e-12)
    np.testing.assert_allclose(cam.project(world), [[320.0 + 500 * 0.25, 240.0 + 500 * 0.125]], atol=1e-9)
    np.testing.assert_allclose(cam.centre_world, [1.0, 2.0, 3.0])
    np.testing.assert_allclose(cam.optical_axis_world, [1.0, 0.0, 0.0])
    np.testing.assert_allclose(cam.rays_world(np.array([320.0, 240.0])), [1.0, 0.0, 0.0], atol=1e-12)


@pytest.mark.parametrize("distortion", [(), DISTORTION])
def test_only_points_strictly_in_front_of_the_optical_centre_project(distortion: tuple) -> None:
    cam = PinholeCamera("cam", 640, 480, K, np.asarray(distortion))
    uv = cam.project_camera(np.array([[0.01, 0.02, 0.0], [0.0, 0.0, 1e-12], [0.01, 0.0, -1e-12]]))
    assert np.isnan(uv[0]).all()
    np.testing.assert_allclose(uv[1], K[:2, 2])
    assert np.isnan(uv[2]).all()


@pytest.mark.parametrize(
    ("last_row", "valid"), [((0.0, 0.0, 1.0 + 0.9e-9), True), ((0.0, 0.0, 1.0 + 1.1e-9), False),
                            ((0.9e-9, 0.0, 1.0), True), ((0.0, -1.1e-9, 1.0), False)]
)  # fmt: skip
def test_the_last_row_of_k_is_checked_to_one_part_in_a_billion(last_row: tuple, valid: bool) -> None:
    k = [500.0, 0.0, 320.0, 0.0, 500.0, 240.0, *last_row]
    if valid:
        np.testing.assert_array_equal(PinholeCamera.from_k("c", k, 640, 480).K[2], last_row)
    else:
        with pytest.raises(CameraModelError, match="K must have the form"):
            PinholeCamera.from_k("c", k, 640, 480)


def test_a_skew_below_the_diagonal_is_refused() -> None:
    with pytest.raises(CameraModelError, match="K must have the form"):
        PinholeCamera.from_k("c", [500, 0, 320, 1e-6, 500, 240, 0, 0, 1], 640, 480)


@pytest.mark.parametrize("size", [0, 4, 5, 8, 12, 14])
def test_every_opencv_distortion_length_is_accepted_and_zeros_are_no_distortion(size: int) -> None:
    cam = PinholeCamera("c", 640, 480, K, np.zeros(size))
    assert cam.distortion.shape == (size,)
    assert not cam.has_distortion
    if size:
        assert PinholeCamera("c", 640, 480, K, np.r_[np.zeros(size - 1), 1e-3]).has_distortion


@pytest.mark.parametrize("size", [1, 6, 13, 15])
def test_other_distortion_lengths_are_refused(size: int) -> None:
    with pytest.raises(CameraModelError, match=r"distortion must hold one of \(0, 4, 5, 8, 12, 14\)"):
        PinholeCamera("c", 640, 480, K, np.zeros(size))


def test_smallest_valid_sizes_and_focal_lengths_are_accepted() -> None:
    cam = PinholeCamera.from_k("c", [0.5, 0, 0, 0, 0.25, 0, 0, 0, 1], 1, 1)
    assert (cam.width, cam.height, cam.K[0, 0], cam.K[1, 1]) == (1, 1, 0.5, 0.25)
    with pytest.raises(CameraModelError, match=r"focal lengths fx=0\.5, fy=0\.0 must be positive"):
        PinholeCamera.from_k("c", [0.5, 0, 0, 0, 0.0, 0, 0, 0, 1], 1, 1)
    with pytest.raises(CameraModelError, match=r"focal lengths fx=0\.0, fy=0\.25 must be positive"):
        PinholeCamera.from_k("c", [0.0, 0, 0, 0, 0.25, 0, 0, 0, 1], 1, 1)


def test_arrays_given_as_lists_of_integers_are_stored_as_read_only_floats() -> None:
    pose = [[1, 0, 0, 2], [0, 1, 0, 0], [0, 0, 1, 0], [0, 0, 0, 1]]
    cam = PinholeCamera("c", 640, 480, [[500, 0, 320], [0, 500, 240], [0, 0, 1]], [0, 0, 0, 1], pose)
    for array in (cam.K, cam.distortion, cam.T_world_from_camera):
        assert isinstance(array, np.ndarray)
        assert array.dtype == np.float64
        assert not array.flags.writeable
    np.testing.assert_array_equal(cam.centre_world, [2.0, 0.0, 0.0])


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"K": np.eye(4)}, r"camera 'left': K must be 3x3, got shape \(4, 4\)$"),
        ({"K": [[500, 0, 320], [0, 500, 240], [0, 0, 2]]},
         r"camera 'left': K must have the form \[fx, s, cx; 0, fy, cy; 0, 0, 1\], "
         r"got rows \[\[0\.0, 500\.0, 240\.0\], \[0\.0, 0\.0, 2\.0\]\]$"),
        ({"K": "abc"}, r"camera 'left': K, distortion and pose must be numbers"),
    ],
)  # fmt: skip
def test_constructor_errors_name_the_camera_field_and_values(kwargs: dict, message: str) -> None:
    with pytest.raises(CameraModelError, match=message):
        PinholeCamera(**({"name": "left", "width": 640, "height": 480, "K": K} | kwargs))


def test_k_that_is_not_numbers_is_refused_by_from_k() -> None:
    with pytest.raises(CameraModelError, match=r"camera 'x': K must be 9 numbers \(row-major 3x3\)$"):
        PinholeCamera.from_k("x", ["a"] * 9, 640, 480)


def test_a_nominal_camera_has_the_focal_length_of_its_field_of_view_and_keeps_its_pose() -> None:
    pose = look_at(np.array([2.0, -1.0, 2.5]), [0, 0, 1])
    cam = PinholeCamera.nominal("n", 640, 480, 60.0, pose, frame_id="n_optical")
    f = 320.0 / math.tan(math.radians(30.0))  # half the width over tan(half the field of view): ~554 px
    np.testing.assert_allclose(cam.K, [[f, 0.0, 319.5], [0.0, f, 239.5], [0.0, 0.0, 1.0]], rtol=1e-12)
    np.testing.assert_array_equal(cam.T_world_from_camera, pose)
    assert (cam.name, cam.frame_id) == ("n", "n_optical")
    assert PinholeCamera.nominal("narrow", 640, 480, 0.5).K[0, 0] == pytest.approx(320.0 / math.tan(math.radians(0.25)))


def test_scaling_one_side_only_and_moving_a_camera() -> None:
    cam = posed_camera()
    taller = cam.scaled_to(640, 240)
    np.testing.assert_allclose(taller.K[1], [0.0, K[1, 1] / 2, (K[1, 2] + 0.5) / 2 - 0.5])
    np.testing.assert_array_equal(taller.K[0], K[0])
    moved = cam.with_pose(np.eye(4))
    np.testing.assert_array_equal(moved.T_world_from_camera, np.eye(4))
    np.testing.assert_array_equal(moved.K, K)


def test_a_missing_pixel_does_not_stop_the_others_from_being_undistorted() -> None:
    cam = posed_camera(DISTORTION)
    X = scene_points(2)
    uv = cam.project(X)
    uv[0] = np.nan
    xy = cam.normalised_coordinates(uv)
    assert np.isnan(xy[0]).all()
    X_cam = cam.to_camera(X[1])
    np.testing.assert_allclose(xy[1], X_cam[:2] / X_cam[2], atol=1e-9)


def test_a_distortion_row_and_integer_pixels_are_read_as_numbers() -> None:
    row = posed_camera(DISTORTION[None])  # OpenCV files store the coefficients as a 1 x N matrix
    assert row.distortion.shape == (5,)
    np.testing.assert_allclose(row.normalised_coordinates(np.array([[400, 300]])),
                               row.normalised_coordinates(np.array([[400.0, 300.0]])), rtol=1e-12)  # fmt: skip


def test_stacked_cameras_hold_each_cameras_constants_in_order_read_only_and_built_once() -> None:
    first = posed_camera()
    K2 = np.array([[800.0, 0.0, 300.0], [0.0, 200.0, 250.0], [0.0, 0.0, 1.0]])  # fx != fy: the geometric mean
    second = PinholeCamera("other", 640, 480, K2, np.zeros(0), look_at(np.array([-3.0, 0.5, 2.0]), [0, 0, 1]))
    stacked = stacked_cameras((first, second))
    np.testing.assert_array_equal(stacked.projection[1], second.projection_matrix)
    np.testing.assert_array_equal(stacked.projection[0], first.projection_matrix)
    np.testing.assert_array_equal(stacked.K[1], K2)
    np.testing.assert_array_equal(stacked.T_world_from_camera[0], first.T_world_from_camera)
    np.testing.assert_array_equal(stacked.centres_world, [[2.0, -1.0, 2.5], [-3.0, 0.5, 2.0]])
    np.testing.assert_allclose(stacked.focal_px, [math.sqrt(540.0 * 538.2), 400.0], rtol=1e-15)
    assert second.focal_px == 400.0  # sqrt(800 * 200): neither fx, fy nor their mean (500)
    assert first.focal_px == pytest.approx(math.sqrt(540.0 * 538.2), rel=1e-15)
    for array in vars(stacked).values():
        assert not array.flags.writeable
    assert stacked_cameras((first, second)) is stacked  # cached per tuple of cameras
    assert stacked_cameras((second, first)).centres_world[0].tolist() == [-3.0, 0.5, 2.0]
    assert stacked_cameras(()).projection.shape == (0, 3, 4)
