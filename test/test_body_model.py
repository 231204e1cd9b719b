"""Body model (geometry.body_model): body-to-camera rotations per heading, written out for level, tilted and
straight-down cameras, and the upright template from a tilted camera-axes pose."""

from __future__ import annotations

import math

import numpy as np

from orpose_ros.geometry.body_model import (
    body_to_camera_rotations,
    coco_from_h36m,
    standing_template_h36m,
    upright_template_from_camera_pose,
)


def columns(right: tuple, forward: tuple, up: tuple) -> np.ndarray:
    """(3, 3) rotation body -> camera whose columns are the body's x (right), y (forward), z (up) in camera axes."""
    return np.stack([np.asarray(right, float), np.asarray(forward, float), np.asarray(up, float)], axis=-1)


def test_a_level_camera_sees_heading_0_facing_it_and_positive_headings_turning_left() -> None:
    up = (0.0, -1.0, 0.0)  # camera y points down
    R = body_to_camera_rotations(np.array(up), np.radians([0.0, 90.0, -90.0, 180.0]))
    # heading 0: forward against the camera's z, so the person's right is the camera's -x (a mirror image)
    np.testing.assert_allclose(R[0], columns((-1, 0, 0), (0, 0, -1), up), atol=1e-12)
    # a quarter turn to the left (counter-clockwise from above): forward is where their left was (camera +x)
    np.testing.assert_allclose(R[1], columns((0, 0, -1), (1, 0, 0), up), atol=1e-12)
    np.testing.assert_allclose(R[2], columns((0, 0, 1), (-1, 0, 0), up), atol=1e-12)
    np.testing.assert_allclose(R[3], columns((1, 0, 0), (0, 0, 1), up), atol=1e-12)


def test_the_up_direction_is_normalised() -> None:
    headings = np.radians([0.0, 30.0])
    np.testing.assert_allclose(body_to_camera_rotations(np.array([0.0, -2.5, 0.0]), headings),
                               body_to_camera_rotations(np.array([0.0, -1.0, 0.0]), headings), atol=1e-12)


def test_a_camera_pitched_down_faces_the_person_along_its_horizontal_view() -> None:
    t = 0.5  # pitched down by t: the world's up is (0, -cos t, -sin t) in camera axes
    up = (0.0, -math.cos(t), -math.sin(t))
    view = (0.0, -math.sin(t), math.cos(t))  # the camera's z, made horizontal
    (R,) = body_to_camera_rotations(np.array(up), np.array([0.0]))
    forward = -np.array(view)
    right = np.cross(forward, up)
    np.testing.assert_allclose(R, columns(right, forward, up), atol=1e-12)
    np.testing.assert_allclose(right, [-1.0, 0.0, 0.0], atol=1e-12)


def test_a_camera_looking_straight_down_takes_its_x_axis_made_horizontal() -> None:
    (R,) = body_to_camera_rotations(np.array([0.0, 0.0, -1.0]), np.array([0.0]))
    np.testing.assert_allclose(R, columns((0, -1, 0), (-1, 0, 0), (0, 0, -1)), atol=1e-12)
    # nearly straight down (the horizontal view is shorter than 1e-6): x made horizontal against this up
    e = 1e-7
    up = np.array([math.sin(e), 0.0, -math.cos(e)])
    (R,) = body_to_camera_rotations(up, np.array([0.0]))
    view = np.array([1.0, 0.0, 0.0]) - up[0] * up
    forward = -view / np.linalg.norm(view)
    np.testing.assert_allclose(R, columns(np.cross(forward, up), forward, up), atol=1e-15)
    np.testing.assert_allclose(R.T @ R, np.eye(3), atol=1e-12)


def test_rotations_are_proper_for_any_camera_and_heading() -> None:
    rng = np.random.default_rng(2)
    for _ in range(5):
        up = rng.normal(size=3)
        R = body_to_camera_rotations(up, rng.uniform(-np.pi, np.pi, 4))
        np.testing.assert_allclose(R @ np.swapaxes(R, -1, -2), np.broadcast_to(np.eye(3), R.shape), atol=1e-12)
        np.testing.assert_allclose(np.linalg.det(R), 1.0, atol=1e-12)
        np.testing.assert_allclose(R[:, :, 2], np.broadcast_to(up / np.linalg.norm(up), (4, 3)), atol=1e-12)


def test_the_upright_template_undoes_the_tilt_of_a_camera_axes_pose() -> None:
    body = standing_template_h36m()  # x right, y forward, z up; the left and right sides differ in sign
    limbs = np.ones(17, dtype=bool)
    limbs[[0, 8]] = False  # not the pelvis and the thorax: the spine stays in the body's y-z plane
    body[limbs, 0] += np.linspace(0.01, 0.05, 15)  # an asymmetric pose, pelvis-relative
    a = 0.3  # the person seen by a camera looking down: turned about its right axis
    Rx = np.array([[1.0, 0.0, 0.0], [0.0, math.cos(a), -math.sin(a)], [0.0, math.sin(a), math.cos(a)]])
    tilted = body @ Rx.T
    np.testing.assert_array_equal(body[0], 0.0)
    assert body[8, 0] == 0.0  # the spine lies in the y-z plane, so Rx is the smallest turn back to upright
    # camera axes of a person facing the camera: x = -right, y = -up, z = -forward
    camera = np.stack([-tilted[:, 0], -tilted[:, 2], -tilted[:, 1]], axis=-1)
    np.testing.assert_allclose(upright_template_from_camera_pose(camera), coco_from_h36m(body), atol=1e-12)
